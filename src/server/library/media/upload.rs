//! Storing an upload: streamed to a temp file while hashed, typed from its
//! bytes, analysed, then moved to `<media_dir>/<sha256>.<ext>`.

use std::{
    fmt, io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::http::StatusCode;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{image::analyse, probe_video, sniff, MediaKind, ACCEPTED, SNIFF_BYTES};

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

impl Stored {
    /// What the library records of the stored file (`Change::AddMedia`).
    pub fn media_info(&self) -> crate::model::MediaInfo {
        crate::model::MediaInfo {
            kind: if self.kind.is_video() {
                crate::model::ContentKind::Video
            } else {
                crate::model::ContentKind::Image
            },
            mime: self.kind.mime().to_string(),
            sha256: self.sha256.clone(),
            size: self.size as i64,
            width: self.width.map(i64::from),
            height: self.height.map(i64::from),
            duration_ms: self.duration_ms,
        }
    }
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
pub fn human_size(n: u64) -> String {
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

pub(super) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(super) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A name no other upload (in this or another process) is using.
pub(super) fn unique_temp_name(suffix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}-{nanos}{suffix}", std::process::id())
}

/// Removes a temp file when dropped, unless disarmed. Cleaning up in `Drop`
/// also covers the upload future being dropped mid-way (client disconnects).
pub(super) struct TempFile {
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
        match analyse(path, thumbs, thumb).await {
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
pub(super) async fn sync_dir(dir: &Path) {
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
