//! Compression of what the server makes as it answers (pages, JSON, CSV,
//! the long-poll, the OpenAPI document): brotli or gzip, whichever the
//! request's `Accept-Encoding` prefers, with `Vary: Accept-Encoding`.
//!
//! Streaming-safe: whatever part of a body is ready is compressed and
//! flushed before the encoder waits for more, so a page streamed in parts
//! reaches the browser part by part (tower-http's layer holds everything
//! until the body ends). Files under `/pkg` arrive already compressed from
//! the build (`--precompress`, served by the static handler) and pass
//! through with `Vary` added. Media are never touched: they are compressed
//! formats already, and a `Range` answer must stay byte-exact.

use std::{
    io::Write,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};
use futures::{Stream, StreamExt};

/// Below this an answer is sent as it is (the framing would eat the gain).
const MIN_BYTES: u64 = 256;
/// Output is handed on at least this often while input keeps coming.
const CHUNK: usize = 64 * 1024;
/// On-the-fly levels: fast, and most of the gain (the build's files get 11).
const BROTLI_QUALITY: u32 = 4;
const BROTLI_WINDOW: u32 = 22;
const GZIP_LEVEL: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }
}

/// The coding to answer with: the one with the highest `q` the request
/// accepts (`*` counts for both), brotli on a tie; none if neither is.
pub fn choose(headers: &HeaderMap) -> Option<Coding> {
    let (mut br, mut gzip, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| {
                    let p = p.trim();
                    p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
                })
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match coding.as_str() {
                "br" => br = Some(q),
                "gzip" | "x-gzip" => gzip = Some(q),
                "*" => star = Some(q),
                _ => {}
            }
        }
    }
    let br = br.or(star).unwrap_or(0.0);
    let gzip = gzip.or(star).unwrap_or(0.0);
    if br > 0.0 && br >= gzip {
        Some(Coding::Brotli)
    } else if gzip > 0.0 {
        Some(Coding::Gzip)
    } else {
        None
    }
}

/// Whether a content type is text-like enough to be worth compressing.
fn compressible_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let ct = ct.to_ascii_lowercase();
    let ct = ct.split(';').next().unwrap_or("").trim();
    ct.starts_with("text/") && ct != "text/event-stream"
        || matches!(
            ct,
            "application/json"
                | "application/javascript"
                | "application/wasm"
                | "application/xml"
                | "application/manifest+json"
                | "image/svg+xml"
        )
}

/// The middleware (outermost but for the security headers).
pub async fn compress(req: Request, next: Next) -> Response {
    let coding = choose(req.headers());
    let res = next.run(req).await;
    encode(coding, res)
}

/// Compresses `res` with `coding` when it is worth it and not done already.
pub fn encode(coding: Option<Coding>, mut res: Response) -> Response {
    let status = res.status();
    if status == StatusCode::SWITCHING_PROTOCOLS
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || !compressible_type(res.headers())
    {
        return res;
    }
    // The answer depends on Accept-Encoding from here on, sent compressed
    // or not (a cache must not give a gzip body to a client without gzip).
    let h = res.headers_mut();
    if !h.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    }) {
        h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let Some(coding) = coding else { return res };
    if h.contains_key(header::CONTENT_ENCODING) || h.contains_key(header::CONTENT_RANGE) {
        return res;
    }
    if h.get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-transform"))
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let exact = axum::body::HttpBody::size_hint(&body).exact();
    if exact.is_some_and(|n| n < MIN_BYTES) {
        return Response::from_parts(parts, body);
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ACCEPT_RANGES);
    parts.headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(coding.name()),
    );
    // A strong validator names these exact bytes; the encoded ones differ.
    if let Some(etag) = parts.headers.get(header::ETAG).cloned() {
        if let Ok(tag) = etag.to_str() {
            if !tag.starts_with("W/") {
                if let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}")) {
                    parts.headers.insert(header::ETAG, weak);
                }
            }
        }
    }
    let stream = Encoding {
        inner: body.into_data_stream(),
        encoder: Some(Encoder::new(coding)),
        unflushed: false,
    };
    Response::from_parts(parts, Body::from_stream(stream))
}

enum Encoder {
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
}

impl Encoder {
    fn new(coding: Coding) -> Self {
        match coding {
            Coding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                16 * 1024,
                BROTLI_QUALITY,
                BROTLI_WINDOW,
            ))),
            Coding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(GZIP_LEVEL),
            )),
        }
    }
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Encoder::Brotli(w) => w.write_all(data),
            Encoder::Gzip(w) => w.write_all(data),
        }
    }
    /// Everything written so far made decodable (a sync flush).
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Brotli(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
        }
    }
    fn pending(&mut self) -> usize {
        match self {
            Encoder::Brotli(w) => w.get_ref().len(),
            Encoder::Gzip(w) => w.get_ref().len(),
        }
    }
    fn take(&mut self) -> Vec<u8> {
        match self {
            Encoder::Brotli(w) => std::mem::take(w.get_mut()),
            Encoder::Gzip(w) => std::mem::take(w.get_mut()),
        }
    }
    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Encoder::Brotli(w) => Ok(w.into_inner()),
            Encoder::Gzip(w) => w.finish(),
        }
    }
}

/// The body, compressed: input is read while it is ready; when the body
/// has to wait, what it gave so far is flushed and sent.
struct Encoding<S> {
    inner: S,
    encoder: Option<Encoder>,
    unflushed: bool,
}

impl<S> Stream for Encoding<S>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            match this.inner.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    if let Err(e) = encoder.write(&data) {
                        return Poll::Ready(Some(Err(e)));
                    }
                    this.unflushed = true;
                    if encoder.pending() >= CHUNK {
                        return Poll::Ready(Some(Ok(encoder.take().into())));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.encoder = None;
                    return Poll::Ready(Some(Err(std::io::Error::other(e))));
                }
                Poll::Ready(None) => {
                    let Some(encoder) = this.encoder.take() else {
                        return Poll::Ready(None);
                    };
                    return match encoder.finish() {
                        Ok(rest) if rest.is_empty() => Poll::Ready(None),
                        Ok(rest) => Poll::Ready(Some(Ok(rest.into()))),
                        Err(e) => Poll::Ready(Some(Err(e))),
                    };
                }
                Poll::Pending => {
                    if this.unflushed {
                        this.unflushed = false;
                        if let Err(e) = encoder.flush() {
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                    let out = encoder.take();
                    return if out.is_empty() {
                        Poll::Pending
                    } else {
                        Poll::Ready(Some(Ok(out.into())))
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{io::Read, time::Duration};

    use axum::{body::Body, http::Request, middleware, routing::get, Router};
    use tower::ServiceExt;

    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn the_coding_follows_accept_encoding_and_its_weights() {
        assert_eq!(choose(&accept("gzip, deflate, br")), Some(Coding::Brotli));
        assert_eq!(choose(&accept("gzip, deflate")), Some(Coding::Gzip));
        assert_eq!(choose(&accept("br;q=0.5, gzip")), Some(Coding::Gzip));
        assert_eq!(choose(&accept("br;q=0, gzip;q=0")), None);
        assert_eq!(choose(&accept("identity")), None);
        assert_eq!(choose(&accept("*")), Some(Coding::Brotli));
        assert_eq!(choose(&accept("*;q=0.1, gzip")), Some(Coding::Gzip));
        assert_eq!(choose(&HeaderMap::new()), None);
    }

    fn page() -> String {
        (0..2000)
            .map(|i| format!("<tr><td>Display {i}</td></tr>"))
            .collect()
    }

    fn app() -> Router {
        Router::new()
            .route("/page", get(|| async { axum::response::Html(page()) }))
            .route("/tiny", get(|| async { axum::response::Html("<p>hi</p>") }))
            .route(
                "/video",
                get(|| async { ([(header::CONTENT_TYPE, "video/webm")], vec![0u8; 4096]) }),
            )
            // The first part now, the rest in a minute: a streamed page.
            .route(
                "/stream",
                get(|| async {
                    let parts = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(
                        format!("<head>{}</head>", "x".repeat(1000)),
                    ))])
                    .chain(futures::stream::once(async {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        Ok(Bytes::from_static(b"<body>late</body>"))
                    }));
                    (
                        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        Body::from_stream(parts),
                    )
                }),
            )
            .layer(middleware::from_fn(compress))
    }

    async fn get_with(path: &str, accept: &str) -> Response {
        app()
            .oneshot(
                Request::get(path)
                    .header(header::ACCEPT_ENCODING, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap()
    }

    async fn bytes(res: Response) -> Vec<u8> {
        axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn pages_arrive_in_either_coding_and_decode_to_the_same_bytes() {
        let res = get_with("/page", "gzip, br").await;
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(res.headers()[header::VARY], "accept-encoding");
        let body = bytes(res).await;
        assert!(body.len() * 5 < page().len(), "{} bytes", body.len());
        let mut out = String::new();
        brotli::Decompressor::new(&body[..], 4096)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, page());

        let res = get_with("/page", "gzip").await;
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        let body = bytes(res).await;
        let mut out = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, page());

        let res = get_with("/page", "identity").await;
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(res.headers()[header::VARY], "accept-encoding");
        assert_eq!(bytes(res).await, page().into_bytes());
    }

    #[tokio::test]
    async fn small_answers_and_media_are_left_alone() {
        let res = get_with("/tiny", "br").await;
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
        let res = get_with("/video", "br").await;
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
        assert!(res.headers().get(header::VARY).is_none());
        assert_eq!(bytes(res).await.len(), 4096);
    }

    #[tokio::test]
    async fn a_streamed_page_sends_its_first_part_before_the_rest_is_made() {
        for coding in ["br", "gzip"] {
            let res = get_with("/stream", coding).await;
            let mut body = res.into_body().into_data_stream();
            // The first part, decodable, while the second is a minute away.
            let first = tokio::time::timeout(Duration::from_secs(5), body.next())
                .await
                .expect("the first part waited for the end of the body")
                .unwrap()
                .unwrap();
            let mut out = vec![0u8; 1013];
            if coding == "br" {
                brotli::Decompressor::new(&first[..], 4096)
                    .read_exact(&mut out)
                    .unwrap();
            } else {
                flate2::read::GzDecoder::new(&first[..])
                    .read_exact(&mut out)
                    .unwrap();
            }
            assert!(String::from_utf8(out).unwrap().starts_with("<head>xxx"));
        }
    }
}
