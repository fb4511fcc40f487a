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

mod image;
mod probe_mp4;
mod probe_webm;
mod serve;
mod sniff;
#[cfg(test)]
mod tests;
mod upload;

use std::{
    io::{self, Read, Seek, SeekFrom},
    path::Path,
};

pub use serve::{media_file, serve_file, thumb_file};
pub use sniff::sniff;
pub use upload::{
    clear_temp, file_name, human_size, parse_file_name, remove, store_stream, thumb_file_name,
    Stored, UploadError,
};

use probe_mp4::probe_mp4;
use probe_webm::probe_webm;

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
