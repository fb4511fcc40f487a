//! Serving a stored file: strong ETag, immutable caching, `If-None-Match`
//! and single byte ranges (video elements seek with them).

use std::{
    io::{self, SeekFrom},
    path::Path,
};

use axum::{
    body::Body,
    extract::{Path as UrlPath, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use tokio::io::AsyncSeekExt;
use tokio_util::io::ReaderStream;

use super::{file_name, parse_file_name};
use crate::server::core::Core;

/// `GET /media/SHA256.EXT`: an uploaded file.
pub async fn media_file(
    State(core): State<Core>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    match parse_file_name(&file) {
        Some((sha, kind)) => {
            let path = core.media_dir.join(file_name(&sha, kind));
            serve_file(&path, &sha, kind.mime(), &headers).await
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /media/thumbs/SHA256.png`: an image's thumbnail.
pub async fn thumb_file(
    State(core): State<Core>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let sha = file.strip_suffix(".png");
    match sha {
        Some(sha) if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
            let path = core.media_dir.join("thumbs").join(&file);
            serve_file(&path, &format!("{sha}-thumb"), "image/png", &headers).await
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

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

pub(super) fn respond(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

pub(super) fn server_error(path: &Path, e: io::Error) -> Response {
    tracing::error!(path = %path.display(), error = %e, "could not read media file");
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        HeaderMap::new(),
        Body::from("Could not read the file"),
    )
}

pub(super) fn content_range(s: String) -> HeaderValue {
    HeaderValue::from_str(&s).expect("digits, spaces, '-', '/' and '*' are valid header bytes")
}

/// `If-None-Match` uses weak comparison: `W/"x"` matches `"x"`.
pub(super) fn if_none_match_hits(value: &str, quoted: &str) -> bool {
    let value = value.trim();
    value == "*"
        || value
            .split(',')
            .map(|t| t.trim())
            .any(|t| t.strip_prefix("W/").unwrap_or(t) == quoted)
}

/// `If-Range` needs a strong match; a date (we send no Last-Modified) or a
/// weak tag never matches. Without the header the range applies.
pub(super) fn if_range_holds(headers: &HeaderMap, quoted: &str) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(v) => v.to_str().is_ok_and(|v| v.trim() == quoted),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum RangeSpec {
    /// Inclusive first and last byte, both within the file.
    Bytes(u64, u64),
    Unsatisfiable,
}

/// Parses a `Range` header against a file of `total` bytes. None means
/// "ignore it and send the whole file": malformed syntax, another unit, or
/// several ranges (which would need a multipart answer).
pub(super) fn parse_range(value: &str, total: u64) -> Option<RangeSpec> {
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
