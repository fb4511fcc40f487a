//! Media files: accepting uploads, storing them by content hash, and serving them.
//!
//! The signage players show images (PNG, JPEG, WebP, GIF) and videos (MP4, WebM).
//! An upload arrives as a stream of chunks; [`store_stream`] writes it to a temp
//! file while hashing it, decides the type from the bytes themselves (never from
//! the client's file name or Content-Type), and then moves it to
//! `<media_dir>/<sha256>.<ext>`. Identical bytes are therefore stored once.
//!
//! After storing, images are decoded (with memory limits, on a blocking thread)
//! to learn their size and write a PNG thumbnail to `<media_dir>/thumbs/`; videos
//! are probed by reading only the container headers they need (MP4 `moov/mvhd`,
//! WebM `Segment/Info`) for their duration and, when present, frame size.
//!
//! [`serve_file`] serves a stored file with a strong ETag (the hash), long-lived
//! immutable caching, `If-None-Match` and single byte ranges, which video
//! elements rely on for seeking.
//!
//! File names are validated by [`parse_file_name`], so a request path can only
//! ever name a file directly inside the media directory.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

/// How many leading bytes [`sniff`] needs to decide a file's type.
pub const SNIFF_BYTES: usize = 64;

/// Thumbnails fit in a square of this many pixels.
pub const THUMB_MAX: u32 = 320;

/// Images wider or taller than this are refused rather than decoded.
const MAX_IMAGE_SIDE: u32 = 16_384;

/// The most memory the image decoder may allocate for one image.
const MAX_IMAGE_ALLOC: u64 = 512 * 1024 * 1024;

/// The list of accepted types, as shown to operators.
const ACCEPTED: &str = "PNG, JPEG, WebP, GIF, MP4 and WebM";

/// A type of media the players can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Png,
    Jpeg,
    Webp,
    Gif,
    Mp4,
    Webm,
}

impl MediaKind {
    /// Every kind, in a stable order.
    pub const ALL: [MediaKind; 6] = [
        MediaKind::Png,
        MediaKind::Jpeg,
        MediaKind::Webp,
        MediaKind::Gif,
        MediaKind::Mp4,
        MediaKind::Webm,
    ];

    pub fn mime(&self) -> &'static str {
        match self {
            MediaKind::Png => "image/png",
            MediaKind::Jpeg => "image/jpeg",
            MediaKind::Webp => "image/webp",
            MediaKind::Gif => "image/gif",
            MediaKind::Mp4 => "video/mp4",
            MediaKind::Webm => "video/webm",
        }
    }

    /// The canonical file extension, without the dot.
    pub fn ext(&self) -> &'static str {
        match self {
            MediaKind::Png => "png",
            MediaKind::Jpeg => "jpg",
            MediaKind::Webp => "webp",
            MediaKind::Gif => "gif",
            MediaKind::Mp4 => "mp4",
            MediaKind::Webm => "webm",
        }
    }

    pub fn is_video(&self) -> bool {
        matches!(self, MediaKind::Mp4 | MediaKind::Webm)
    }

    /// The kind for a file extension (case-insensitive; `jpeg` and `m4v` are
    /// accepted as aliases). Only use this for display hints: stored files get
    /// their kind from [`sniff`].
    pub fn from_ext(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "png" => Some(MediaKind::Png),
            "jpg" | "jpeg" => Some(MediaKind::Jpeg),
            "webp" => Some(MediaKind::Webp),
            "gif" => Some(MediaKind::Gif),
            "mp4" | "m4v" => Some(MediaKind::Mp4),
            "webm" => Some(MediaKind::Webm),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Sniffing
// ---------------------------------------------------------------------------

/// Decides the media kind from a file's first bytes ([`SNIFF_BYTES`] are
/// enough; fewer is fine for short files).
///
/// On refusal the error names what the bytes look like, phrased to follow
/// "This file is …", e.g. `"a PDF document"`, `"plain text"`,
/// `"unrecognised binary data"`.
pub fn sniff(head: &[u8]) -> Result<MediaKind, String> {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    let refuse = |what: &str| Err(what.to_string());

    if head.is_empty() {
        return refuse("an empty file");
    }

    // Accepted kinds: unambiguous magic numbers.
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(MediaKind::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(MediaKind::Jpeg);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Ok(MediaKind::Gif);
    }
    if head.starts_with(b"RIFF") {
        return match head.get(8..12) {
            Some(b"WEBP") => Ok(MediaKind::Webp),
            Some(b"WAVE") => refuse("a WAV audio file"),
            Some(b"AVI ") => refuse("an AVI video"),
            _ => refuse("a RIFF file (not WebP)"),
        };
    }
    if head.get(4..8) == Some(b"ftyp") {
        return sniff_iso_bmff(head);
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return match ebml_doc_type(head) {
            Some(doc) if doc == b"webm" => Ok(MediaKind::Webm),
            Some(doc) if doc == b"matroska" => refuse("a Matroska video"),
            _ => refuse("an EBML document (not WebM)"),
        };
    }

    // Refused kinds with magic numbers strong enough to test before the text
    // check (some of them, like PDF, start with printable ASCII).
    const STRONG: &[(&[u8], &str)] = &[
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"PK\x05\x06", "a ZIP archive"),
        (b"PK\x07\x08", "a ZIP archive"),
        (&[0x1F, 0x8B], "a gzip archive"),
        (&[0xFD, b'7', b'z', b'X', b'Z', 0x00], "an xz archive"),
        (&[0x28, 0xB5, 0x2F, 0xFD], "a Zstandard archive"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
        (b"Rar!\x1A\x07", "a RAR archive"),
        (b"II*\0", "a TIFF image"),
        (b"MM\0*", "a TIFF image"),
        (b"8BPS", "a Photoshop image"),
        (&[0xFF, 0x0A], "a JPEG XL image"),
        (b"\0\0\0\x0cJXL \r\n\x87\n", "a JPEG XL image"),
        (b"\0\0\0\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
        (b"OggS", "an Ogg media file"),
        (b"fLaC", "a FLAC audio file"),
        (b"ID3", "an MP3 audio file"),
        (b"\x7fELF", "an ELF executable"),
        (b"\0asm", "a WebAssembly module"),
        (b"SQLite format 3\0", "an SQLite database"),
        (&[0xFF, 0xFE], "UTF-16 text"),
        (&[0xFE, 0xFF], "UTF-16 text"),
    ];
    if let Some((_, what)) = STRONG.iter().find(|(magic, _)| head.starts_with(magic)) {
        return refuse(what);
    }

    if let Some(text) = as_text(head) {
        return refuse(describe_text(text));
    }

    // Short magic numbers: only trusted once the bytes are known not to be text
    // (a text file may well start with "BM" or "MZ").
    if head.starts_with(b"BM") {
        return refuse("a BMP image");
    }
    if head.starts_with(&[0, 0, 1, 0]) {
        return refuse("an icon (ICO) file");
    }
    if head.starts_with(&[0, 0, 2, 0]) {
        return refuse("a cursor (CUR) file");
    }
    if head.starts_with(b"MZ") {
        return refuse("a Windows executable");
    }
    if head.starts_with(b"BZh") {
        return refuse("a bzip2 archive");
    }
    if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
        // An MPEG audio frame sync; ADTS (AAC) sets layer bits to 00.
        return if head[1] & 0x06 == 0 {
            refuse("an AAC audio file")
        } else {
            refuse("an MP3 audio file")
        };
    }
    refuse("unrecognised binary data")
}

/// Brands (major or compatible) of ISO BMFF files that browsers play as MP4.
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
    b"mp42", b"mp71", b"avc1", b"dash", b"M4V ", b"M4VH", b"M4VP", b"mp4v", b"msnv", b"MSNV",
    b"XAVC", b"cmfc", b"cmf2", b"mmp4", b"f4v ", b"NDAS",
];

/// Decides on an ISO BMFF file (`ftyp` at offset 4) by its brands.
fn sniff_iso_bmff(head: &[u8]) -> Result<MediaKind, String> {
    let Some(major) = head.get(8..12) else {
        return Err("a truncated ISO media file".into());
    };
    let what = match major {
        b"qt  " => "a QuickTime movie",
        b"avif" | b"avis" => "an AVIF image",
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" | b"heif" => {
            "a HEIC/HEIF image"
        }
        b"M4A " | b"M4B " | b"M4P " => "an MPEG-4 audio file",
        b"crx " => "a Canon raw image",
        b"jp2 " => "a JPEG 2000 image",
        m if m.starts_with(b"3gp") || m.starts_with(b"3g2") => "a 3GP video",
        m if MP4_BRANDS.iter().any(|b| b.as_slice() == m) => return Ok(MediaKind::Mp4),
        m => {
            // Some cameras use their own major brand but list a standard MP4
            // brand as compatible; those files play as MP4.
            let box_end = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            let compat = head.get(16..box_end.min(head.len())).unwrap_or(&[]);
            if compat
                .chunks_exact(4)
                .any(|c| MP4_BRANDS.iter().any(|b| b.as_slice() == c))
            {
                return Ok(MediaKind::Mp4);
            }
            return Err(format!(
                "an ISO media file of brand '{}'",
                String::from_utf8_lossy(m).trim()
            ));
        }
    };
    Err(what.into())
}

/// The DocType of an EBML header at the start of `head`, if it can be seen.
fn ebml_doc_type(head: &[u8]) -> Option<&[u8]> {
    // Parse the header's children properly; a DocType further than `head`
    // reaches falls back to a plain search below.
    let parsed = (|| {
        let mut pos = 4;
        let (size, n) = vint_size(&head[pos..])?;
        pos += n;
        let end = size.map_or(head.len(), |s| {
            (pos as u64 + s).min(head.len() as u64) as usize
        });
        while pos < end {
            let (id, n) = vint_id(&head[pos..])?;
            pos += n;
            let (size, n) = vint_size(&head[pos..])?;
            pos += n;
            let size = size? as usize;
            if id == 0x4282 {
                return head.get(pos..pos + size);
            }
            pos += size;
        }
        None
    })();
    parsed.or_else(|| {
        [b"webm".as_slice(), b"matroska".as_slice()]
            .into_iter()
            .find(|needle| head.windows(needle.len()).any(|w| w == *needle))
    })
}

/// Reads an EBML element ID (marker bit kept) from a slice: (id, length).
fn vint_id(b: &[u8]) -> Option<(u32, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 || b.len() < len {
        return None;
    }
    Some((
        b[..len].iter().fold(0u32, |acc, &x| acc << 8 | x as u32),
        len,
    ))
}

/// Reads an EBML size from a slice: (size or None for "unknown", length).
fn vint_size(b: &[u8]) -> Option<(Option<u64>, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mut v = (first as u64) & (0xFF >> len);
    for &x in &b[1..len] {
        v = v << 8 | x as u64;
    }
    Some((ebml_size_value(v, len), len))
}

/// All value bits set means "unknown size" (used for live streams).
fn ebml_size_value(v: u64, len: usize) -> Option<u64> {
    if v == (1u64 << (7 * len)) - 1 {
        None
    } else {
        Some(v)
    }
}

/// The head as text, if it looks like text: valid UTF-8 (a character cut off
/// at the end is allowed), no NUL and no control characters beyond whitespace.
fn as_text(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1b'));
    (printable && !text.is_empty()).then_some(text)
}

fn describe_text(text: &str) -> &'static str {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.contains("<head")
        || lower.contains("<body")
    {
        "an HTML document"
    } else if lower.contains("<svg") || lower.starts_with("<!doctype svg") {
        "an SVG image"
    } else if lower.starts_with("<?xml") {
        "an XML document"
    } else if t.starts_with('{') || t.starts_with('[') {
        "JSON text"
    } else {
        "plain text"
    }
}

// ---------------------------------------------------------------------------
// Storing
// ---------------------------------------------------------------------------

/// What [`store_stream`] stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Lowercase hex SHA-256 of the bytes; also the file's name.
    pub sha256: String,
    pub kind: MediaKind,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<i64>,
    /// Whether `thumbs/<sha256>.png` exists (images only).
    pub has_thumb: bool,
}

/// Why an upload was refused. `Display` gives a message for operators.
#[derive(Debug)]
pub enum UploadError {
    Empty,
    TooLarge {
        limit: u64,
    },
    /// `found` names what the bytes are, e.g. "a PDF document".
    Unsupported {
        found: String,
    },
    /// A full, operator-facing message.
    Corrupt(String),
    Io(io::Error),
}

impl UploadError {
    /// The HTTP status that fits the error.
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::Empty => StatusCode::BAD_REQUEST,
            UploadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::Unsupported { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::Corrupt(_) => StatusCode::UNPROCESSABLE_ENTITY,
            UploadError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadError::Empty => write!(f, "The file is empty."),
            UploadError::TooLarge { limit } => {
                write!(
                    f,
                    "The file is larger than the {} limit.",
                    human_size(*limit)
                )
            }
            UploadError::Unsupported { found } => {
                write!(f, "This file is {found}; only {ACCEPTED} can be uploaded.")
            }
            UploadError::Corrupt(msg) => write!(f, "{msg}"),
            UploadError::Io(e) => write!(f, "The file could not be received or saved: {e}."),
        }
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UploadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for UploadError {
    fn from(e: io::Error) -> Self {
        UploadError::Io(e)
    }
}

/// "500 MB", "1.5 GB", "1000 bytes" (binary multiples, as operators read them).
fn human_size(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")];
    for (unit, name) in UNITS {
        if n >= unit {
            let v = n as f64 / unit as f64;
            return if n.is_multiple_of(unit) {
                format!("{v:.0} {name}")
            } else {
                format!("{v:.1} {name}")
            };
        }
    }
    format!("{n} bytes")
}

/// The stored file's name: `<sha256>.<ext>`.
pub fn file_name(sha256: &str, kind: MediaKind) -> String {
    format!("{sha256}.{}", kind.ext())
}

/// The thumbnail's name inside `thumbs/`: `<sha256>.png`.
pub fn thumb_file_name(sha256: &str) -> String {
    format!("{sha256}.png")
}

/// Splits a stored file's name into hash and kind. Only exactly 64 lowercase
/// hex digits and a canonical extension pass, so the name can never contain a
/// path separator or `..`.
pub fn parse_file_name(name: &str) -> Option<(String, MediaKind)> {
    let (sha, ext) = name.split_once('.')?;
    if !is_sha256_hex(sha) {
        return None;
    }
    let kind = MediaKind::from_ext(ext)?;
    (kind.ext() == ext).then(|| (sha.to_string(), kind))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A name no other upload (in this or another process) is using.
fn unique_temp_name(suffix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}-{nanos}{suffix}", std::process::id())
}

/// Removes a temp file when dropped, unless disarmed. Cleaning up in `Drop`
/// also covers the upload future being dropped mid-way (client disconnects).
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = std::fs::remove_file(&self.path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %self.path.display(), error = %e, "could not remove temp upload");
                }
            }
        }
    }
}

/// Stores an upload arriving as `stream` in `media_dir`, refusing it as soon
/// as it is known to be unsupported or larger than `limit` bytes. Nothing is
/// left on disk when it fails.
pub async fn store_stream<S, E>(
    media_dir: &Path,
    mut stream: S,
    limit: u64,
) -> Result<Stored, UploadError>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: fmt::Display,
{
    let tmp_dir = media_dir.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await?;
    let mut temp = TempFile {
        path: tmp_dir.join(unique_temp_name(".part")),
        armed: true,
    };
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp.path)
        .await?;
    // Tokio runs every file write on a blocking thread; batching the (often
    // small) network chunks keeps those hand-offs few.
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);

    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut kind: Option<MediaKind> = None;
    let mut size: u64 = 0;

    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| UploadError::Io(io::Error::other(e.to_string())))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(UploadError::TooLarge { limit });
        }
        if kind.is_none() {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == SNIFF_BYTES {
                kind = Some(sniff(&head).map_err(|found| UploadError::Unsupported { found })?);
            }
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await?;
    }
    if size == 0 {
        return Err(UploadError::Empty);
    }
    let kind = match kind {
        Some(k) => k,
        None => sniff(&head).map_err(|found| UploadError::Unsupported { found })?,
    };

    out.flush().await?;
    let file = out.into_inner();
    // The file must be on disk before its name says it is complete.
    file.sync_all().await?;
    drop(file);

    let sha256 = to_hex(&hasher.finalize());
    let final_path = media_dir.join(file_name(&sha256, kind));
    let pre_existed = tokio::fs::try_exists(&final_path).await?;
    if pre_existed {
        // Same bytes stored before; the temp copy goes when `temp` drops.
        tracing::debug!(%sha256, "upload already stored");
    } else {
        // If an identical upload races us here, rename replaces one copy of
        // the bytes with another: harmless.
        tokio::fs::rename(&temp.path, &final_path).await?;
        temp.disarm();
        sync_dir(media_dir).await;
    }
    drop(temp);

    let mut stored = Stored {
        sha256,
        kind,
        size,
        width: None,
        height: None,
        duration_ms: None,
        has_thumb: false,
    };

    if kind.is_video() {
        let path = final_path.clone();
        let info = tokio::task::spawn_blocking(move || probe_video(&path, kind))
            .await
            .map_err(|e| UploadError::Io(io::Error::other(e.to_string())))?;
        stored.duration_ms = info.duration_ms;
        stored.width = info.width;
        stored.height = info.height;
    } else {
        let path = final_path.clone();
        let thumbs = media_dir.join("thumbs");
        let thumb = thumbs.join(thumb_file_name(&stored.sha256));
        let result = tokio::task::spawn_blocking(move || analyse_image(&path, &thumbs, &thumb))
            .await
            .map_err(|e| UploadError::Io(io::Error::other(e.to_string())))?;
        match result {
            Ok(img) => {
                stored.width = Some(img.width);
                stored.height = Some(img.height);
                stored.has_thumb = img.has_thumb;
            }
            Err(msg) => {
                if !pre_existed {
                    if let Err(e) = tokio::fs::remove_file(&final_path).await {
                        tracing::warn!(path = %final_path.display(), error = %e, "could not remove undecodable image");
                    }
                }
                return Err(UploadError::Corrupt(format!(
                    "The image could not be decoded: {msg}"
                )));
            }
        }
    }
    Ok(stored)
}

/// Makes a rename durable (best effort; not every platform can open a dir).
async fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Deletes leftovers in `media_dir/tmp/` (uploads cut short by a crash or a
/// restart). Call it at start-up, before uploads are accepted.
pub async fn clear_temp(media_dir: &Path) {
    let tmp = media_dir.join("tmp");
    let Ok(mut entries) = tokio::fs::read_dir(&tmp).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        if let Err(e) = tokio::fs::remove_file(entry.path()).await {
            tracing::warn!(path = %entry.path().display(), error = %e, "could not remove temp upload");
        }
    }
}

/// Deletes a stored file and its thumbnail; already missing files are fine.
pub async fn remove(media_dir: &Path, sha256: &str, kind: MediaKind) {
    if !is_sha256_hex(sha256) {
        tracing::warn!(sha256, "refusing to remove media with a malformed hash");
        return;
    }
    let paths = [
        media_dir.join(file_name(sha256, kind)),
        media_dir.join("thumbs").join(thumb_file_name(sha256)),
    ];
    for path in paths {
        if let Err(e) = tokio::fs::remove_file(&path).await {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "could not remove media file");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------

struct ImageInfo {
    width: u32,
    height: u32,
    has_thumb: bool,
}

/// Reads an image's size and writes its thumbnail (blocking). The error is a
/// reason for operators.
fn analyse_image(path: &Path, thumbs: &Path, thumb: &Path) -> Result<ImageInfo, String> {
    let reader = || -> Result<image::ImageReader<io::BufReader<std::fs::File>>, String> {
        let mut r = image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| e.to_string())?;
        // Limits make a decompression bomb fail cleanly instead of exhausting
        // memory; dimensions are checked from the header before allocating.
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_IMAGE_SIDE);
        limits.max_image_height = Some(MAX_IMAGE_SIDE);
        limits.max_alloc = Some(MAX_IMAGE_ALLOC);
        r.limits(limits);
        Ok(r)
    };

    if thumb.exists() {
        // Decoded successfully before; the header is enough now.
        let (width, height) = reader()?.into_dimensions().map_err(describe_image_error)?;
        return Ok(ImageInfo {
            width,
            height,
            has_thumb: true,
        });
    }

    let img = reader()?.decode().map_err(describe_image_error)?;
    let (width, height) = (img.width(), img.height());
    let has_thumb = match write_thumbnail(&img, thumbs, thumb) {
        Ok(()) => true,
        Err(e) => {
            // The image itself is fine; a missing thumbnail only costs the UI
            // a preview, so the upload still succeeds.
            tracing::warn!(path = %thumb.display(), error = %e, "could not write thumbnail");
            false
        }
    };
    Ok(ImageInfo {
        width,
        height,
        has_thumb,
    })
}

fn describe_image_error(e: image::ImageError) -> String {
    match e {
        image::ImageError::Limits(_) => {
            format!("it is too large to process (at most {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} pixels)")
        }
        other => other.to_string(),
    }
}

fn write_thumbnail(img: &image::DynamicImage, thumbs: &Path, thumb: &Path) -> Result<(), String> {
    std::fs::create_dir_all(thumbs).map_err(|e| e.to_string())?;
    let small = if img.width() > THUMB_MAX || img.height() > THUMB_MAX {
        img.thumbnail(THUMB_MAX, THUMB_MAX)
    } else {
        img.clone()
    };
    // 8-bit RGB(A) is always encodable as PNG, whatever the source held.
    let small = if small.color().has_alpha() {
        image::DynamicImage::ImageRgba8(small.to_rgba8())
    } else {
        image::DynamicImage::ImageRgb8(small.to_rgb8())
    };
    // Written under a temp name and renamed, because an existing thumbnail is
    // trusted as complete and never regenerated.
    let tmp = thumbs.join(unique_temp_name(".png.part"));
    let result = small
        .save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&tmp, thumb).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ---------------------------------------------------------------------------
// Videos
// ---------------------------------------------------------------------------

/// What could be read from a video's container headers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct VideoInfo {
    duration_ms: Option<i64>,
    width: Option<u32>,
    height: Option<u32>,
}

/// Reads a stored video's container headers (blocking). Any problem only
/// means the information is unknown.
fn probe_video(path: &Path, kind: MediaKind) -> VideoInfo {
    let result = std::fs::File::open(path).and_then(|mut f| {
        let len = f.metadata()?.len();
        match kind {
            MediaKind::Mp4 => probe_mp4(&mut f, len),
            _ => probe_webm(&mut f, len),
        }
    });
    result.unwrap_or_else(|e| {
        tracing::debug!(path = %path.display(), error = %e, "could not read video headers");
        VideoInfo::default()
    })
}

/// Stop walking a box or element list after this many entries: a real file
/// has few before the ones we need, and a crafted one must not loop for long.
const MAX_ENTRIES: usize = 10_000;

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn read_at<R: Read + Seek>(r: &mut R, pos: u64, buf: &mut [u8]) -> io::Result<()> {
    r.seek(SeekFrom::Start(pos))?;
    r.read_exact(buf)
}

/// An ISO BMFF box: its type and payload range.
#[derive(Debug, Clone, Copy)]
struct Mp4Box {
    kind: [u8; 4],
    start: u64,
    end: u64,
}

fn read_box<R: Read + Seek>(r: &mut R, pos: u64, parent_end: u64) -> io::Result<Mp4Box> {
    let mut h = [0u8; 8];
    read_at(r, pos, &mut h)?;
    let kind = [h[4], h[5], h[6], h[7]];
    let (header_len, size) = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
        // A 64-bit "largesize" follows the type (boxes over 4 GB, e.g. mdat).
        1 => {
            let mut l = [0u8; 8];
            r.read_exact(&mut l)?;
            (16, u64::from_be_bytes(l))
        }
        // Size 0: the box runs to the end of its parent (the file, at top level).
        0 => (8, parent_end - pos),
        n => (8, u64::from(n)),
    };
    let end = pos
        .checked_add(size)
        .filter(|&end| size >= header_len && end <= parent_end)
        .ok_or_else(|| invalid("MP4 box size out of range"))?;
    Ok(Mp4Box {
        kind,
        start: pos + header_len,
        end,
    })
}

/// The first child box of type `kind` within `start..end`.
fn find_box<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
    kind: &[u8; 4],
) -> io::Result<Option<Mp4Box>> {
    let mut pos = start;
    for _ in 0..MAX_ENTRIES {
        if pos + 8 > end {
            return Ok(None);
        }
        let b = read_box(r, pos, end)?;
        if &b.kind == kind {
            return Ok(Some(b));
        }
        pos = b.end;
    }
    Ok(None)
}

/// Up to `max` bytes of a box's payload.
fn box_payload<R: Read + Seek>(r: &mut R, b: &Mp4Box, max: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; (b.end - b.start).min(max) as usize];
    read_at(r, b.start, &mut buf)?;
    Ok(buf)
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads duration (moov/mvhd, or moov/mvex/mehd for fragmented files) and the
/// first visual track's size (moov/trak/tkhd), seeking past everything else.
fn probe_mp4<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<VideoInfo> {
    let mut info = VideoInfo::default();
    // `moov` may come after a multi-gigabyte `mdat`; walking skips it by size.
    let Some(moov) = find_box(r, 0, len, b"moov")? else {
        return Ok(info);
    };

    let mut timescale = None;
    if let Some(mvhd) = find_box(r, moov.start, moov.end, b"mvhd")? {
        let p = box_payload(r, &mvhd, 32)?;
        // version 0: creation(4) modification(4) timescale(4) duration(4);
        // version 1: creation(8) modification(8) timescale(4) duration(8).
        let (ts, dur) = match p.first() {
            Some(1) => (be_u32(&p, 20), be_u64(&p, 24).filter(|&d| d != u64::MAX)),
            Some(0) => (
                be_u32(&p, 12),
                be_u32(&p, 16).filter(|&d| d != u32::MAX).map(u64::from),
            ),
            _ => (None, None),
        };
        timescale = ts.filter(|&t| t > 0);
        info.duration_ms = timescale.zip(dur).and_then(|(t, d)| ticks_to_ms(d, t));
    }

    // Fragmented MP4 leaves mvhd's duration at 0 and may give it in mehd.
    if matches!(info.duration_ms, None | Some(0)) {
        if let Some(mvex) = find_box(r, moov.start, moov.end, b"mvex")? {
            if let Some(mehd) = find_box(r, mvex.start, mvex.end, b"mehd")? {
                let p = box_payload(r, &mehd, 12)?;
                let dur = match p.first() {
                    Some(1) => be_u64(&p, 4),
                    Some(0) => be_u32(&p, 4).map(u64::from),
                    _ => None,
                };
                if let Some(ms) = timescale.zip(dur).and_then(|(t, d)| ticks_to_ms(d, t)) {
                    info.duration_ms = Some(ms);
                }
            }
        }
    }
    if info.duration_ms == Some(0) {
        info.duration_ms = None;
    }

    // Audio tracks have width and height 0 in tkhd; the first non-zero one is
    // the picture. (A rotation matrix is ignored.)
    let mut pos = moov.start;
    for _ in 0..MAX_ENTRIES {
        if pos + 8 > moov.end {
            break;
        }
        let b = read_box(r, pos, moov.end)?;
        pos = b.end;
        if &b.kind != b"trak" {
            continue;
        }
        let Some(tkhd) = find_box(r, b.start, b.end, b"tkhd")? else {
            continue;
        };
        let p = box_payload(r, &tkhd, 96)?;
        // Width and height (16.16 fixed point) are the last 8 bytes:
        // at 76/80 for version 0, 88/92 for version 1.
        let at = if p.first() == Some(&1) { 88 } else { 76 };
        if let (Some(w), Some(h)) = (be_u32(&p, at), be_u32(&p, at + 4)) {
            let (w, h) = (w >> 16, h >> 16);
            if w > 0 && h > 0 {
                info.width = Some(w);
                info.height = Some(h);
                break;
            }
        }
    }
    Ok(info)
}

fn ticks_to_ms(ticks: u64, timescale: u32) -> Option<i64> {
    let ms = (u128::from(ticks) * 1000 + u128::from(timescale) / 2) / u128::from(timescale);
    i64::try_from(ms).ok()
}

// WebM (Matroska) element IDs used below.
const EBML_HEADER: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const CLUSTER: u32 = 0x1F43_B675;

/// An EBML element: its ID and data range (`end` is None for unknown size).
#[derive(Debug, Clone, Copy)]
struct Element {
    id: u32,
    start: u64,
    end: Option<u64>,
}

fn read_element<R: Read + Seek>(r: &mut R, pos: u64) -> io::Result<Element> {
    r.seek(SeekFrom::Start(pos))?;
    let mut byte = [0u8; 1];

    r.read_exact(&mut byte)?;
    let id_len = byte[0].leading_zeros() as usize + 1;
    if id_len > 4 {
        return Err(invalid("bad EBML element ID"));
    }
    let mut id = u32::from(byte[0]);
    for _ in 1..id_len {
        r.read_exact(&mut byte)?;
        id = id << 8 | u32::from(byte[0]);
    }

    r.read_exact(&mut byte)?;
    let size_len = byte[0].leading_zeros() as usize + 1;
    if size_len > 8 {
        return Err(invalid("bad EBML element size"));
    }
    let mut size = u64::from(byte[0]) & (0xFF >> size_len);
    for _ in 1..size_len {
        r.read_exact(&mut byte)?;
        size = size << 8 | u64::from(byte[0]);
    }

    let start = pos + (id_len + size_len) as u64;
    let end = match ebml_size_value(size, size_len) {
        Some(s) => Some(
            start
                .checked_add(s)
                .ok_or_else(|| invalid("EBML size overflow"))?,
        ),
        None => None,
    };
    Ok(Element { id, start, end })
}

/// The children of an element in `start..end`, calling `visit` on each. An
/// unknown-size child ends the walk after its visit, as its end can't be known
/// without parsing it; `visit` returns false to stop early.
fn walk_elements<R, F>(r: &mut R, start: u64, end: u64, mut visit: F) -> io::Result<()>
where
    R: Read + Seek,
    F: FnMut(&mut R, Element, u64) -> io::Result<bool>,
{
    let mut pos = start;
    for _ in 0..MAX_ENTRIES {
        if pos >= end {
            break;
        }
        let el = read_element(r, pos)?;
        if el.start > end {
            break;
        }
        // Clamp to the parent: a truncated file must not send us past it.
        let el_end = el.end.map_or(end, |e| e.min(end));
        if !visit(r, el, el_end)? || el.end.is_none() {
            break;
        }
        pos = el_end;
    }
    Ok(())
}

fn read_payload<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; end.saturating_sub(start) as usize];
    read_at(r, start, &mut buf)?;
    Ok(buf)
}

/// An EBML unsigned integer (0–8 bytes, big-endian).
fn read_uint<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> io::Result<Option<u64>> {
    if end - start > 8 {
        return Ok(None);
    }
    let b = read_payload(r, start, end)?;
    Ok(Some(b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x))))
}

/// Reads WebM duration (Segment/Info) and video size (Segment/Tracks),
/// skipping SeekHead, Void, Cues and the like by their sizes.
fn probe_webm<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<VideoInfo> {
    let header = read_element(r, 0)?;
    let Some(mut pos) = header.end.filter(|_| header.id == EBML_HEADER) else {
        return Err(invalid("no EBML header"));
    };

    // Find the Segment among the top-level elements (Void may precede it).
    let mut segment = None;
    for _ in 0..MAX_ENTRIES {
        if pos >= len {
            break;
        }
        let el = read_element(r, pos)?;
        if el.id == SEGMENT {
            segment = Some(el);
            break;
        }
        match el.end {
            Some(end) => pos = end,
            None => break,
        }
    }
    let Some(segment) = segment else {
        return Ok(VideoInfo::default());
    };
    // A live-recorded Segment has unknown size: it runs to the end of file.
    let seg_end = segment.end.map_or(len, |e| e.min(len));

    let mut info = VideoInfo::default();
    let mut seen_info = false;
    let mut seen_tracks = false;
    walk_elements(r, segment.start, seg_end, |r, el, end| {
        match el.id {
            INFO => {
                seen_info = true;
                info.duration_ms = webm_duration(r, el.start, end)?;
            }
            TRACKS => {
                seen_tracks = true;
                if let Some((w, h)) = webm_video_size(r, el.start, end)? {
                    info.width = Some(w);
                    info.height = Some(h);
                }
            }
            // Clusters hold the media: once Info is known, nothing after
            // them is worth seeking through.
            CLUSTER if seen_info => return Ok(false),
            _ => {}
        }
        Ok(!(seen_info && seen_tracks))
    })?;
    Ok(info)
}

/// Duration in ms from Info's TimecodeScale (ns per tick, default 1 ms) and
/// Duration (float, in ticks).
fn webm_duration<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> io::Result<Option<i64>> {
    let mut scale: u64 = 1_000_000;
    let mut ticks: Option<f64> = None;
    walk_elements(r, start, end, |r, el, el_end| {
        match el.id {
            TIMECODE_SCALE => {
                if let Some(s) = read_uint(r, el.start, el_end)?.filter(|&s| s > 0) {
                    scale = s;
                }
            }
            DURATION => {
                let b = read_payload(r, el.start, el_end.min(el.start + 8))?;
                ticks = match b.len() {
                    4 => Some(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
                    8 => Some(f64::from_be_bytes(b.try_into().expect("8 bytes"))),
                    _ => None,
                };
            }
            _ => {}
        }
        Ok(true)
    })?;
    let ms = ticks.map(|t| (t * scale as f64 / 1_000_000.0).round());
    Ok(ms
        .filter(|ms| ms.is_finite() && *ms > 0.0 && *ms < i64::MAX as f64)
        .map(|ms| ms as i64))
}

/// PixelWidth/PixelHeight of the first track that has a Video element.
fn webm_video_size<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
) -> io::Result<Option<(u32, u32)>> {
    let mut found = None;
    walk_elements(r, start, end, |r, entry, entry_end| {
        if entry.id == TRACK_ENTRY {
            walk_elements(r, entry.start, entry_end, |r, el, el_end| {
                if el.id == TRACK_VIDEO {
                    let (mut w, mut h) = (None, None);
                    walk_elements(r, el.start, el_end, |r, px, px_end| {
                        match px.id {
                            PIXEL_WIDTH => w = read_uint(r, px.start, px_end)?,
                            PIXEL_HEIGHT => h = read_uint(r, px.start, px_end)?,
                            _ => {}
                        }
                        Ok(true)
                    })?;
                    if let (Some(w), Some(h)) = (w, h) {
                        found = u32::try_from(w).ok().zip(u32::try_from(h).ok());
                    }
                }
                Ok(found.is_none())
            })?;
        }
        Ok(found.is_none())
    })?;
    Ok(found.filter(|&(w, h)| w > 0 && h > 0))
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

/// Serves a stored file with caching headers, conditional requests and a
/// single byte range. `etag` is the bare tag (the hash); it is sent quoted.
pub async fn serve_file(path: &Path, etag: &str, mime: &str, headers: &HeaderMap) -> Response {
    let quoted = format!("\"{etag}\"");

    // Headers every answer carries, 304 included.
    let mut base = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&quoted) {
        base.insert(header::ETAG, v);
    }
    base.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );

    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if if_none_match_hits(inm, &quoted) {
            return respond(StatusCode::NOT_MODIFIED, base, Body::empty());
        }
    }

    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return respond(
                StatusCode::NOT_FOUND,
                HeaderMap::new(),
                Body::from("Not found"),
            );
        }
        Err(e) => return server_error(path, e),
    };
    let total = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => return server_error(path, e),
    };

    let mut h = base;
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );

    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        // If-Range: the range only applies to the representation the client
        // already has part of; otherwise it gets the whole file.
        .filter(|_| if_range_holds(headers, &quoted))
        .and_then(|v| parse_range(v, total));

    match range {
        None => {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
            let body = Body::from_stream(ReaderStream::with_capacity(file, 64 * 1024));
            respond(StatusCode::OK, h, body)
        }
        Some(RangeSpec::Unsatisfiable) => {
            h.insert(
                header::CONTENT_RANGE,
                content_range(format!("bytes */{total}")),
            );
            respond(StatusCode::RANGE_NOT_SATISFIABLE, h, Body::empty())
        }
        Some(RangeSpec::Bytes(first, last)) => {
            if let Err(e) = file.seek(SeekFrom::Start(first)).await {
                return server_error(path, e);
            }
            let len = last - first + 1;
            h.insert(
                header::CONTENT_RANGE,
                content_range(format!("bytes {first}-{last}/{total}")),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            let reader = tokio::io::AsyncReadExt::take(file, len);
            let body = Body::from_stream(ReaderStream::with_capacity(reader, 64 * 1024));
            respond(StatusCode::PARTIAL_CONTENT, h, body)
        }
    }
}

fn respond(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

fn server_error(path: &Path, e: io::Error) -> Response {
    tracing::error!(path = %path.display(), error = %e, "could not read media file");
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        HeaderMap::new(),
        Body::from("Could not read the file"),
    )
}

fn content_range(s: String) -> HeaderValue {
    HeaderValue::from_str(&s).expect("digits, spaces, '-', '/' and '*' are valid header bytes")
}

/// `If-None-Match` uses weak comparison: `W/"x"` matches `"x"`.
fn if_none_match_hits(value: &str, quoted: &str) -> bool {
    let value = value.trim();
    value == "*"
        || value
            .split(',')
            .map(|t| t.trim())
            .any(|t| t.strip_prefix("W/").unwrap_or(t) == quoted)
}

/// `If-Range` needs a strong match; a date (we send no Last-Modified) or a
/// weak tag never matches. Without the header the range applies.
fn if_range_holds(headers: &HeaderMap, quoted: &str) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(v) => v.to_str().is_ok_and(|v| v.trim() == quoted),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RangeSpec {
    /// Inclusive first and last byte, both within the file.
    Bytes(u64, u64),
    Unsatisfiable,
}

/// Parses a `Range` header against a file of `total` bytes. None means
/// "ignore it and send the whole file": malformed syntax, another unit, or
/// several ranges (which would need a multipart answer).
fn parse_range(value: &str, total: u64) -> Option<RangeSpec> {
    let (unit, set) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return None;
    }
    let (a, b) = set.trim().split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    // u64::from_str accepts a leading '+', which the grammar does not.
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let spec = if a.is_empty() {
        // Suffix range: the last n bytes.
        let n = num(b)?;
        if n == 0 || total == 0 {
            RangeSpec::Unsatisfiable
        } else {
            RangeSpec::Bytes(total.saturating_sub(n), total - 1)
        }
    } else {
        let first = num(a)?;
        let last = if b.is_empty() { None } else { Some(num(b)?) };
        if last.is_some_and(|l| l < first) {
            return None;
        }
        if first >= total {
            RangeSpec::Unsatisfiable
        } else {
            RangeSpec::Bytes(first, last.map_or(total - 1, |l| l.min(total - 1)))
        }
    };
    Some(spec)
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    // --- building inputs -------------------------------------------------

    fn encode(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    /// A noisy RGB image, so the PNG does not compress to almost nothing.
    fn noisy_rgb(w: u32, h: u32) -> image::DynamicImage {
        let mut seed: u32 = 12345;
        let img = image::RgbImage::from_fn(w, h, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let b = seed.to_be_bytes();
            image::Rgb([b[0], b[1], b[2]])
        });
        image::DynamicImage::ImageRgb8(img)
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        encode(&noisy_rgb(w, h), image::ImageFormat::Png)
    }

    fn chunks(
        data: &[u8],
        size: usize,
    ) -> impl Stream<Item = Result<bytes::Bytes, io::Error>> + Unpin {
        let parts: Vec<_> = data
            .chunks(size)
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(parts)
    }

    fn sha_hex(data: &[u8]) -> String {
        to_hex(&Sha256::digest(data))
    }

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut p = brand.to_vec();
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(b"isommp41");
        mp4_box(b"ftyp", &p)
    }

    fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
        let mut p = vec![0, 0, 0, 0]; // version 0, flags
        p.extend_from_slice(&1u32.to_be_bytes()); // creation
        p.extend_from_slice(&2u32.to_be_bytes()); // modification
        p.extend_from_slice(&timescale.to_be_bytes());
        p.extend_from_slice(&duration.to_be_bytes());
        p.extend_from_slice(&[0u8; 80]); // rate, volume, matrix, ... next_track_ID
        mp4_box(b"mvhd", &p)
    }

    fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
        let mut p = vec![1, 0, 0, 0];
        p.extend_from_slice(&1u64.to_be_bytes());
        p.extend_from_slice(&2u64.to_be_bytes());
        p.extend_from_slice(&timescale.to_be_bytes());
        p.extend_from_slice(&duration.to_be_bytes());
        p.extend_from_slice(&[0u8; 80]);
        mp4_box(b"mvhd", &p)
    }

    fn tkhd_v0(w: u32, h: u32) -> Vec<u8> {
        let mut p = vec![0u8; 4 + 20 + 8 + 8 + 36];
        p.extend_from_slice(&(w << 16).to_be_bytes());
        p.extend_from_slice(&(h << 16).to_be_bytes());
        assert_eq!(p.len(), 84);
        mp4_box(b"tkhd", &p)
    }

    fn mp4_file(mvhd: &[u8], mdat_first: bool) -> Vec<u8> {
        let audio = mp4_box(b"trak", &tkhd_v0(0, 0));
        let video = mp4_box(b"trak", &tkhd_v0(1920, 1080));
        let moov = mp4_box(b"moov", &[mvhd, &audio[..], &video[..]].concat());
        let mdat = mp4_box(b"mdat", &[0xAB; 500]);
        let mut f = ftyp(b"isom");
        if mdat_first {
            f.extend_from_slice(&mdat);
            f.extend_from_slice(&moov);
        } else {
            f.extend_from_slice(&moov);
            f.extend_from_slice(&mdat);
        }
        f
    }

    /// An EBML element with a 1-byte size when it fits, else an 8-byte one.
    fn el(id: u32, payload: &[u8]) -> Vec<u8> {
        let mut b: Vec<u8> = id
            .to_be_bytes()
            .into_iter()
            .skip_while(|&x| x == 0)
            .collect();
        if payload.len() < 127 {
            b.push(0x80 | payload.len() as u8);
        } else {
            b.push(0x01);
            b.extend_from_slice(&(payload.len() as u64).to_be_bytes()[1..]);
        }
        b.extend_from_slice(payload);
        b
    }

    fn ebml_header(doc: &str) -> Vec<u8> {
        let body = [
            el(0x4286, &[1]),
            el(0x42F7, &[1]),
            el(0x42F2, &[4]),
            el(0x42F3, &[8]),
            el(0x4282, doc.as_bytes()),
            el(0x4287, &[4]),
            el(0x4285, &[2]),
        ]
        .concat();
        el(EBML_HEADER, &body)
    }

    fn webm_file(duration: &[u8], scale: Option<u32>, unknown_segment: bool) -> Vec<u8> {
        let mut info = Vec::new();
        if let Some(s) = scale {
            info.extend(el(TIMECODE_SCALE, &s.to_be_bytes()));
        }
        info.extend(el(0x4D80, b"test muxer"));
        info.extend(el(DURATION, duration));
        let video = el(
            TRACK_VIDEO,
            &[
                el(PIXEL_WIDTH, &[0x05, 0x00]),
                el(PIXEL_HEIGHT, &[0x02, 0xD0]),
            ]
            .concat(),
        );
        let audio_track = el(TRACK_ENTRY, &[el(0xD7, &[1]), el(0x83, &[2])].concat());
        let video_track = el(
            TRACK_ENTRY,
            &[el(0xD7, &[2]), el(0x83, &[1]), video].concat(),
        );
        let segment_body = [
            el(0x114D_9B74, &[0u8; 20]), // SeekHead (contents irrelevant here)
            el(0xEC, &[0u8; 200]),       // Void, with an 8-byte size
            el(INFO, &info),
            el(TRACKS, &[audio_track, video_track].concat()),
            el(CLUSTER, &[0u8; 300]),
        ]
        .concat();
        let mut f = ebml_header("webm");
        if unknown_segment {
            f.extend_from_slice(&SEGMENT.to_be_bytes());
            f.push(0xFF); // 1-byte size, all ones: unknown
            f.extend_from_slice(&segment_body);
        } else {
            f.extend(el(SEGMENT, &segment_body));
        }
        f
    }

    fn tmp_entries(media: &Path) -> usize {
        std::fs::read_dir(media.join("tmp")).map_or(0, |d| d.count())
    }

    fn media_files(media: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(media)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    // --- sniffing --------------------------------------------------------

    #[test]
    fn sniff_accepts_supported_kinds() {
        let img = noisy_rgb(8, 8);
        assert_eq!(
            sniff(&encode(&img, image::ImageFormat::Png)),
            Ok(MediaKind::Png)
        );
        assert_eq!(
            sniff(&encode(&img, image::ImageFormat::Jpeg)),
            Ok(MediaKind::Jpeg)
        );
        assert_eq!(
            sniff(&encode(&img, image::ImageFormat::Gif)),
            Ok(MediaKind::Gif)
        );
        assert_eq!(
            sniff(&encode(&img, image::ImageFormat::WebP)),
            Ok(MediaKind::Webp)
        );
        assert_eq!(
            sniff(&mp4_file(&mvhd_v0(1000, 1), false)),
            Ok(MediaKind::Mp4)
        );
        for brand in [b"mp42", b"iso5", b"avc1", b"dash", b"M4V "] {
            assert_eq!(sniff(&ftyp(brand)), Ok(MediaKind::Mp4), "{brand:?}");
        }
        // Unknown major brand, MP4 compatible brand.
        assert_eq!(sniff(&ftyp(b"ABCD")), Ok(MediaKind::Mp4));
        assert_eq!(sniff(&webm_file(&[0; 8], None, false)), Ok(MediaKind::Webm));
    }

    #[test]
    fn sniff_names_refused_kinds() {
        let mut riff_wave = b"RIFF\x24\0\0\0WAVEfmt ".to_vec();
        riff_wave.extend_from_slice(&[0x10, 0, 0, 0]);
        let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
        elf.extend_from_slice(&[0; 8]);
        let mut heic = mp4_box(b"ftyp", b"heic\0\0\0\0mif1heic");
        heic.extend_from_slice(&[0; 8]);
        let mkv = ebml_header("matroska");
        let mut bmp = b"BM\x36\x00\x0c\x00\0\0\0\0\x36\0\0\0".to_vec();
        bmp.extend_from_slice(&[0x28, 0, 0, 0]);

        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "empty"),
            (b"hello world".to_vec(), "plain text"),
            ("héllo wörld ünïcode".as_bytes().to_vec(), "plain text"),
            (
                b"<!DOCTYPE html><html><body>hi</body></html>".to_vec(),
                "HTML document",
            ),
            (
                b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\">".to_vec(),
                "SVG image",
            ),
            (b"<svg width=\"10\"></svg>".to_vec(), "SVG image"),
            (b"{\"a\": [1, 2, 3]}".to_vec(), "JSON"),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(), "PDF document"),
            (b"PK\x03\x04\x14\0\0\0\x08\0".to_vec(), "ZIP archive"),
            (vec![0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0], "gzip"),
            (bmp, "BMP image"),
            (b"II*\0\x08\0\0\0".to_vec(), "TIFF image"),
            (b"MM\0*\0\0\0\x08".to_vec(), "TIFF image"),
            (vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0], "icon"),
            (mp4_box(b"ftyp", b"avif\0\0\0\0avifmif1miaf"), "AVIF image"),
            (heic, "HEIC"),
            (mp4_box(b"ftyp", b"qt  \0\0\x02\0qt  "), "QuickTime movie"),
            (mkv, "Matroska video"),
            (b"OggS\0\x02\0\0\0\0\0\0\0\0".to_vec(), "Ogg"),
            (b"ID3\x04\0\0\0\0\0\x23".to_vec(), "MP3"),
            (vec![0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0], "MP3"),
            (riff_wave, "WAV audio"),
            (b"RIFF\x24\0\0\0AVI LIST".to_vec(), "AVI video"),
            (elf, "ELF executable"),
            (
                vec![0x00, 0x01, 0x02, 0x03, 0xFE, 0x80, 0x00],
                "unrecognised binary data",
            ),
        ];
        for (bytes, expected) in cases {
            let got = sniff(&bytes).expect_err("should be refused");
            assert!(
                got.contains(expected),
                "{bytes:?}: got {got:?}, want {expected:?}"
            );
        }
    }

    #[test]
    fn sniff_text_tolerates_cut_character() {
        // 63 ASCII bytes then the first half of a 2-byte character.
        let mut b = vec![b'a'; 63];
        b.extend_from_slice("é".as_bytes());
        assert_eq!(sniff(&b[..SNIFF_BYTES]), Err("plain text".into()));
    }

    #[test]
    fn kinds_and_file_names() {
        for k in MediaKind::ALL {
            assert_eq!(MediaKind::from_ext(k.ext()), Some(k));
            let sha = "ab".repeat(32);
            assert_eq!(parse_file_name(&file_name(&sha, k)), Some((sha, k)));
        }
        assert!(MediaKind::Webm.is_video() && !MediaKind::Gif.is_video());
        assert_eq!(MediaKind::from_ext("JPEG"), Some(MediaKind::Jpeg));
        assert_eq!(MediaKind::Jpeg.mime(), "image/jpeg");
        let sha = "0f".repeat(32);
        assert_eq!(parse_file_name(&format!("{sha}.jpeg")), None); // not canonical
        assert_eq!(parse_file_name(&format!("{}.png", "AB".repeat(32))), None);
        assert_eq!(parse_file_name(&format!("{}.png", &sha[..63])), None);
        assert_eq!(parse_file_name("../etc/passwd.png"), None);
        assert_eq!(parse_file_name(&format!("{sha}.png.png")), None);
        assert_eq!(parse_file_name(&format!("{sha}.exe")), None);
    }

    #[test]
    fn error_messages() {
        assert_eq!(UploadError::Empty.to_string(), "The file is empty.");
        assert_eq!(
            UploadError::TooLarge {
                limit: 500 * 1024 * 1024
            }
            .to_string(),
            "The file is larger than the 500 MB limit."
        );
        assert_eq!(
            UploadError::Unsupported {
                found: "plain text".into()
            }
            .to_string(),
            "This file is plain text; only PNG, JPEG, WebP, GIF, MP4 and WebM can be uploaded."
        );
        assert_eq!(human_size(1000), "1000 bytes");
        assert_eq!(human_size(3 << 29), "1.5 GB");
    }

    // --- storing ---------------------------------------------------------

    #[tokio::test]
    async fn stores_png_with_thumbnail_once() {
        let dir = tempfile::tempdir().unwrap();
        let media = dir.path();
        let data = png(800, 400);

        let stored = store_stream(media, chunks(&data, 1000), 10 << 20)
            .await
            .unwrap();
        assert_eq!(stored.sha256, sha_hex(&data));
        assert_eq!(stored.kind, MediaKind::Png);
        assert_eq!(stored.size, data.len() as u64);
        assert_eq!((stored.width, stored.height), (Some(800), Some(400)));
        assert_eq!(stored.duration_ms, None);
        assert!(stored.has_thumb);

        let name = file_name(&stored.sha256, MediaKind::Png);
        assert_eq!(std::fs::read(media.join(&name)).unwrap(), data);
        let thumb =
            image::open(media.join("thumbs").join(thumb_file_name(&stored.sha256))).unwrap();
        assert!(thumb.width() <= THUMB_MAX && thumb.height() <= THUMB_MAX);
        assert_eq!((thumb.width(), thumb.height()), (320, 160));

        // The same bytes again (in other chunk sizes): one file, same answer.
        let again = store_stream(media, chunks(&data, 7), 10 << 20)
            .await
            .unwrap();
        assert_eq!(again, stored);
        assert_eq!(media_files(media), vec![name]);
        assert_eq!(tmp_entries(media), 0);
        assert_eq!(std::fs::read_dir(media.join("thumbs")).unwrap().count(), 1);

        remove(media, &stored.sha256, MediaKind::Png).await;
        assert!(media_files(media).is_empty());
        assert_eq!(std::fs::read_dir(media.join("thumbs")).unwrap().count(), 0);
        remove(media, &stored.sha256, MediaKind::Png).await; // missing: fine
    }

    #[tokio::test]
    async fn stores_small_jpeg_gif_webp() {
        let dir = tempfile::tempdir().unwrap();
        let img = noisy_rgb(40, 30);
        for (format, kind) in [
            (image::ImageFormat::Jpeg, MediaKind::Jpeg),
            (image::ImageFormat::Gif, MediaKind::Gif),
            (image::ImageFormat::WebP, MediaKind::Webp),
        ] {
            let data = encode(&img, format);
            let stored = store_stream(dir.path(), chunks(&data, 16), 1 << 20)
                .await
                .unwrap();
            assert_eq!(stored.kind, kind);
            assert_eq!((stored.width, stored.height), (Some(40), Some(30)));
            assert!(stored.has_thumb);
            assert!(dir.path().join(file_name(&stored.sha256, kind)).exists());
        }
    }

    #[tokio::test]
    async fn refuses_text_named_png() {
        let dir = tempfile::tempdir().unwrap();
        let err = store_stream(dir.path(), chunks(b"hello world", 4), 1000)
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Unsupported { .. }));
        assert!(err.to_string().contains("text"), "{err}");
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(tmp_entries(dir.path()), 0);
        assert!(media_files(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn refuses_early_before_reading_everything() {
        // A PDF followed by a stream error: refused on the sniff, so the
        // error after it is never reached.
        let dir = tempfile::tempdir().unwrap();
        let mut parts: Vec<Result<bytes::Bytes, String>> = vec![Ok(bytes::Bytes::from(format!(
            "%PDF-1.4\n{}",
            "x".repeat(100)
        )))];
        parts.push(Err("connection reset".into()));
        let err = store_stream(dir.path(), futures::stream::iter(parts), 1 << 20)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("PDF document"), "{err}");
        assert_eq!(tmp_entries(dir.path()), 0);
    }

    #[tokio::test]
    async fn stream_error_is_io_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let data = png(20, 20);
        let parts: Vec<Result<bytes::Bytes, String>> = vec![
            Ok(bytes::Bytes::copy_from_slice(&data[..100])),
            Err("connection reset".into()),
        ];
        let err = store_stream(dir.path(), futures::stream::iter(parts), 1 << 20)
            .await
            .unwrap_err();
        assert!(matches!(&err, UploadError::Io(e) if e.to_string() == "connection reset"));
        assert_eq!(tmp_entries(dir.path()), 0);
        assert!(media_files(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn empty_stream() {
        let dir = tempfile::tempdir().unwrap();
        let err = store_stream(dir.path(), chunks(b"", 1), 1000)
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Empty));
        assert_eq!(tmp_entries(dir.path()), 0);
    }

    #[tokio::test]
    async fn too_large() {
        let dir = tempfile::tempdir().unwrap();
        let data = png(64, 64);
        assert!(data.len() >= 5000);
        let err = store_stream(dir.path(), chunks(&data[..5000], 256), 1000)
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::TooLarge { limit: 1000 }));
        assert_eq!(
            err.to_string(),
            "The file is larger than the 1000 bytes limit."
        );
        assert_eq!(tmp_entries(dir.path()), 0);
        assert!(media_files(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn corrupt_image_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = png(32, 32);
        data.truncate(100); // valid signature, broken data
        let err = store_stream(dir.path(), chunks(&data, 50), 1 << 20)
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Corrupt(_)));
        assert!(
            err.to_string()
                .starts_with("The image could not be decoded: "),
            "{err}"
        );
        assert!(media_files(dir.path()).is_empty());
        assert_eq!(tmp_entries(dir.path()), 0);
    }

    #[tokio::test]
    async fn oversized_image_is_refused_not_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let wide = image::DynamicImage::ImageLuma8(image::GrayImage::new(MAX_IMAGE_SIDE + 1, 1));
        let data = encode(&wide, image::ImageFormat::Png);
        let err = store_stream(dir.path(), chunks(&data, 4096), 1 << 20)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert!(media_files(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn stores_mp4_with_duration() {
        let dir = tempfile::tempdir().unwrap();
        let data = mp4_file(&mvhd_v0(600, 9000), true);
        let stored = store_stream(dir.path(), chunks(&data, 33), 1 << 20)
            .await
            .unwrap();
        assert_eq!(stored.kind, MediaKind::Mp4);
        assert_eq!(stored.duration_ms, Some(15_000));
        assert_eq!((stored.width, stored.height), (Some(1920), Some(1080)));
        assert!(!stored.has_thumb);
        assert!(dir
            .path()
            .join(file_name(&stored.sha256, MediaKind::Mp4))
            .exists());
        assert!(!dir.path().join("thumbs").exists());
    }

    #[tokio::test]
    async fn stores_webm_with_duration() {
        let dir = tempfile::tempdir().unwrap();
        let data = webm_file(&12_345.0f64.to_be_bytes(), None, false);
        let stored = store_stream(dir.path(), chunks(&data, 10), 1 << 20)
            .await
            .unwrap();
        assert_eq!(stored.kind, MediaKind::Webm);
        assert_eq!(stored.duration_ms, Some(12_345));
        assert_eq!((stored.width, stored.height), (Some(1280), Some(720)));
    }

    // --- video probing -----------------------------------------------------

    fn mp4_info(data: &[u8]) -> VideoInfo {
        probe_mp4(&mut Cursor::new(data), data.len() as u64).unwrap()
    }

    fn webm_info(data: &[u8]) -> VideoInfo {
        probe_webm(&mut Cursor::new(data), data.len() as u64).unwrap()
    }

    #[test]
    fn mp4_mvhd_versions() {
        assert_eq!(
            mp4_info(&mp4_file(&mvhd_v0(1000, 2500), false)).duration_ms,
            Some(2500)
        );
        assert_eq!(
            mp4_info(&mp4_file(&mvhd_v0(90_000, 270_000), true)).duration_ms,
            Some(3000)
        );
        // 64-bit duration larger than u32.
        let v1 = mp4_file(&mvhd_v1(48_000, 48_000 * 100_000), true);
        assert_eq!(mp4_info(&v1).duration_ms, Some(100_000_000));
        // Unknown duration, or no timescale: not known, not an error.
        assert_eq!(
            mp4_info(&mp4_file(&mvhd_v0(1000, u32::MAX), false)).duration_ms,
            None
        );
        assert_eq!(mp4_info(&mp4_file(&mvhd_v0(0, 5), false)).duration_ms, None);
        // No moov at all.
        assert_eq!(mp4_info(&ftyp(b"isom")), VideoInfo::default());
    }

    #[test]
    fn mp4_largesize_and_size_zero() {
        // mdat with a 64-bit largesize header before moov.
        let mut f = ftyp(b"mp42");
        let payload = [0u8; 40];
        f.extend_from_slice(&1u32.to_be_bytes());
        f.extend_from_slice(b"mdat");
        f.extend_from_slice(&(16 + payload.len() as u64).to_be_bytes());
        f.extend_from_slice(&payload);
        // moov as the last box with size 0 ("to end of file").
        let moov = mp4_box(b"moov", &mvhd_v0(1000, 4321));
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&moov[4..]);
        assert_eq!(mp4_info(&f).duration_ms, Some(4321));

        // mdat of size 0 at the end hides nothing, and moov before it counts.
        let mut g = ftyp(b"isom");
        g.extend(mp4_box(b"moov", &mvhd_v1(10, 25)));
        g.extend_from_slice(&[0, 0, 0, 0]);
        g.extend_from_slice(b"mdat");
        g.extend_from_slice(&[1; 30]);
        assert_eq!(mp4_info(&g).duration_ms, Some(2500));

        // A box claiming more than the file holds is an error, not a panic.
        let mut bad = ftyp(b"isom");
        bad.extend_from_slice(&1000u32.to_be_bytes());
        bad.extend_from_slice(b"free");
        assert!(probe_mp4(&mut Cursor::new(&bad), bad.len() as u64).is_err());
    }

    #[test]
    fn mp4_fragmented_uses_mehd() {
        let mut mehd = vec![0, 0, 0, 0];
        mehd.extend_from_slice(&7_000u32.to_be_bytes());
        let mvex = mp4_box(b"mvex", &mp4_box(b"mehd", &mehd));
        let moov = mp4_box(b"moov", &[mvhd_v0(1000, 0), mvex].concat());
        let f = [ftyp(b"iso6"), moov].concat();
        assert_eq!(mp4_info(&f).duration_ms, Some(7000));
    }

    #[test]
    fn webm_durations() {
        // 8-byte float, default scale (1 ms ticks).
        let f = webm_file(&61_500.0f64.to_be_bytes(), None, false);
        assert_eq!(webm_info(&f).duration_ms, Some(61_500));
        // 4-byte float with an explicit scale of 100 µs per tick.
        let f = webm_file(&25_000.0f32.to_be_bytes(), Some(100_000), false);
        let info = webm_info(&f);
        assert_eq!(info.duration_ms, Some(2500));
        assert_eq!((info.width, info.height), (Some(1280), Some(720)));
        // Unknown-size Segment (live recording).
        let f = webm_file(&1_000.0f64.to_be_bytes(), None, true);
        assert_eq!(webm_info(&f).duration_ms, Some(1000));
        // No usable Duration: unknown.
        let f = webm_file(&[1, 2], None, false);
        assert_eq!(webm_info(&f).duration_ms, None);
    }

    #[test]
    fn webm_without_info_before_unknown_cluster() {
        let mut f = ebml_header("webm");
        f.extend_from_slice(&SEGMENT.to_be_bytes());
        f.push(0xFF);
        f.extend_from_slice(&CLUSTER.to_be_bytes());
        f.push(0xFF);
        f.extend_from_slice(&[0u8; 50]);
        assert_eq!(webm_info(&f), VideoInfo::default());
    }

    #[tokio::test]
    async fn clear_temp_removes_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        clear_temp(dir.path()).await; // no tmp dir yet: fine
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::write(dir.path().join("tmp").join("1-2-3.part"), b"partial").unwrap();
        clear_temp(dir.path()).await;
        assert_eq!(tmp_entries(dir.path()), 0);
    }

    #[test]
    fn truncated_inputs_never_panic() {
        let inputs = [
            mp4_file(&mvhd_v1(1000, 5000), true),
            webm_file(&5.0f32.to_be_bytes(), Some(1000), true),
            webm_file(&5.0f64.to_be_bytes(), None, false),
        ];
        for data in &inputs {
            for n in 0..=data.len() {
                let part = &data[..n];
                let _ = sniff(part);
                let _ = probe_mp4(&mut Cursor::new(part), n as u64);
                let _ = probe_webm(&mut Cursor::new(part), n as u64);
            }
            // Flipped bytes, too.
            for i in 0..data.len() {
                let mut bad = data.clone();
                bad[i] ^= 0xFF;
                let _ = sniff(&bad);
                let _ = probe_mp4(&mut Cursor::new(&bad), bad.len() as u64);
                let _ = probe_webm(&mut Cursor::new(&bad), bad.len() as u64);
            }
        }
    }

    // --- serving -----------------------------------------------------------

    async fn serve(
        data: &[u8],
        req: &[(header::HeaderName, &str)],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.mp4");
        std::fs::write(&path, data).unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in req {
            headers.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        let res = serve_file(&path, "abc123", "video/mp4", &headers).await;
        let status = res.status();
        let h = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, h, body.to_vec())
    }

    fn hv(h: &HeaderMap, name: header::HeaderName) -> &str {
        h.get(name).map_or("", |v| v.to_str().unwrap())
    }

    fn data100() -> Vec<u8> {
        (0..100u8).collect()
    }

    #[tokio::test]
    async fn serve_full() {
        let data = data100();
        let (status, h, body) = serve(&data, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, data);
        assert_eq!(hv(&h, header::ETAG), "\"abc123\"");
        assert_eq!(
            hv(&h, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(hv(&h, header::ACCEPT_RANGES), "bytes");
        assert_eq!(hv(&h, header::CONTENT_TYPE), "video/mp4");
        assert_eq!(hv(&h, header::CONTENT_LENGTH), "100");
        assert_eq!(hv(&h, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }

    #[tokio::test]
    async fn serve_ranges() {
        let data = data100();
        let cases = [
            ("bytes=0-9", 0..10),
            ("bytes=10-", 10..100),
            ("bytes=-5", 95..100),
            ("bytes=90-500", 90..100),
            ("bytes=-500", 0..100),
        ];
        for (range, want) in cases {
            let (status, h, body) = serve(&data, &[(header::RANGE, range)]).await;
            assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
            assert_eq!(body, &data[want.clone()], "{range}");
            assert_eq!(
                hv(&h, header::CONTENT_RANGE),
                format!("bytes {}-{}/100", want.start, want.end - 1)
            );
            assert_eq!(hv(&h, header::CONTENT_LENGTH), want.len().to_string());
            assert_eq!(hv(&h, header::ETAG), "\"abc123\"");
        }
    }

    #[tokio::test]
    async fn serve_unsatisfiable_and_malformed() {
        let data = data100();
        for range in ["bytes=100-", "bytes=200-300", "bytes=-0"] {
            let (status, h, body) = serve(&data, &[(header::RANGE, range)]).await;
            assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
            assert_eq!(hv(&h, header::CONTENT_RANGE), "bytes */100");
            assert!(body.is_empty());
        }
        for range in [
            "bytes=9-3",
            "bytes=abc",
            "items=0-5",
            "bytes=+1-2",
            "bytes=0-1,5-6",
        ] {
            let (status, _, body) = serve(&data, &[(header::RANGE, range)]).await;
            assert_eq!(status, StatusCode::OK, "{range}");
            assert_eq!(body, data);
        }
    }

    #[tokio::test]
    async fn serve_conditional() {
        let data = data100();
        for inm in ["\"abc123\"", "*", "\"x\", W/\"abc123\"", "W/\"abc123\""] {
            let (status, h, body) = serve(&data, &[(header::IF_NONE_MATCH, inm)]).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{inm}");
            assert!(body.is_empty());
            assert_eq!(hv(&h, header::ETAG), "\"abc123\"");
            assert!(h.contains_key(header::CACHE_CONTROL));
        }
        let (status, _, _) = serve(&data, &[(header::IF_NONE_MATCH, "\"other\"")]).await;
        assert_eq!(status, StatusCode::OK);

        // If-Range: matching tag honours the range, anything else gets it all.
        let (status, _, body) = serve(
            &data,
            &[
                (header::RANGE, "bytes=0-9"),
                (header::IF_RANGE, "\"abc123\""),
            ],
        )
        .await;
        assert_eq!((status, body.len()), (StatusCode::PARTIAL_CONTENT, 10));
        for if_range in ["\"old\"", "W/\"abc123\"", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            let (status, _, body) = serve(
                &data,
                &[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, if_range)],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{if_range}");
            assert_eq!(body, data);
        }
    }

    #[tokio::test]
    async fn serve_missing_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        let res = serve_file(
            &dir.path().join("nope"),
            "x",
            "image/png",
            &HeaderMap::new(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);

        let (status, h, body) = serve(&[], &[(header::RANGE, "bytes=0-")]).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(hv(&h, header::CONTENT_RANGE), "bytes */0");
        assert!(body.is_empty());
    }
}
