//! Security headers on every response: a strict Content-Security-Policy on
//! HTML (scripts only from this origin or with this response's nonce, which
//! Leptos puts on every inline script it writes; WebAssembly allowed to
//! compile), `frame-ancestors 'none'` for the console, `nosniff`, a
//! `Referrer-Policy`, and HSTS when the server is reached over HTTPS.
//!
//! The player differs in one way: the web pages it shows are frames of any
//! http(s) address. `Referrer-Policy` is `same-origin`, not `no-referrer`:
//! with `no-referrer` the browser sends `Origin: null` on same-origin posts,
//! which the gate's origin check refuses.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use leptos::{nonce::Nonce, prelude::*};

/// The policy for the console's pages (and anything else that is HTML).
pub fn console_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self'; media-src 'self'; font-src 'self'; \
         connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-src 'none'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy for `/player`, which frames the web pages it plays.
pub fn player_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; \
         manifest-src 'self'; worker-src 'self'; frame-src http: https:; \
         object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The middleware: makes this request's nonce (for [`provide_request_nonce`])
/// and sets the headers on the response. `https` turns HSTS on.
pub async fn headers(https: bool, mut req: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let player = req.uri().path() == "/player";
    let asset = asset_caching(req.uri().path());
    let mut res = next.run(req).await;
    let ok = res.status().is_success();
    let h = res.headers_mut();
    if let (Some(policy), true) = (asset, ok) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        let nonce = nonce.to_string();
        let policy = if player {
            player_policy(&nonce)
        } else {
            console_policy(&nonce)
        };
        if let Ok(v) = HeaderValue::from_str(&policy) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

/// How long a browser may keep a built asset: for ever when its name
/// carries its content's hash (`/pkg/vizora.<hash>.wasm`: a new build is a
/// new name), else only until it asks again (`no-cache` revalidates).
pub fn asset_caching(path: &str) -> Option<&'static str> {
    let file = path.strip_prefix("/pkg/")?;
    let parts: Vec<&str> = file.split('.').collect();
    let hashed = parts.len() >= 3
        && parts[1..parts.len() - 1].iter().any(|p| {
            p.len() >= 16
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    Some(if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    })
}

/// For the server render: replaces the nonce leptos_axum made with this
/// request's, so the inline scripts carry the one the header names.
pub fn provide_request_nonce() {
    if let Some(nonce) = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<Nonce>().cloned())
    {
        provide_context(nonce);
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request, middleware, routing::get, Router};
    use tower::ServiceExt;

    use crate::server::config::Settings;

    async fn hsts(public_url: &str) -> Option<String> {
        let settings = Settings {
            public_url: public_url.into(),
            ..Settings::default()
        };
        let https = settings.https();
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .layer(middleware::from_fn(move |req, next| {
                super::headers(https, req, next)
            }));
        let res = app
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        res.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn hashed_assets_are_immutable_and_others_revalidate() {
        use super::asset_caching;
        assert_eq!(
            asset_caching("/pkg/vizora.Jx3kQ0cV9hG2mNpL4sT7wA.wasm"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(
            asset_caching("/pkg/vizora.Jx3kQ0cV9hG2mNpL4sT7wA.js.br"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(asset_caching("/pkg/vizora.wasm"), Some("no-cache"));
        assert_eq!(asset_caching("/pkg/vizora.css"), Some("no-cache"));
        assert_eq!(asset_caching("/devices"), None);
        assert_eq!(asset_caching("/assets/favicon.svg"), None);
    }

    #[tokio::test]
    async fn hsts_is_sent_exactly_when_the_public_address_is_https() {
        assert_eq!(hsts("").await, None);
        assert_eq!(hsts("http://signage.local").await, None);
        assert_eq!(
            hsts("https://signage.example").await.as_deref(),
            Some("max-age=31536000")
        );
    }
}
