//! The gate in front of everything: refuses cross-origin mutations, finds
//! who asks (a session cookie, or a bearer API token on `/api/v1`), and keeps
//! everything but the public paths behind it: pages redirect to `/login`,
//! APIs answer 401 JSON.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{
    sessions::{lookup_session, session_token},
    tokens,
};
use crate::{
    error::AppError,
    server::core::{credential::Recheck, Core},
};

/// The host part of an `Origin` or `Host` value, lowercased, without scheme.
fn authority(value: &str) -> String {
    value
        .split("://")
        .last()
        .unwrap_or(value)
        .trim_end_matches('/')
        .to_ascii_lowercase()
}

/// Whether a request comes from a page of this site. Requests without `Origin`
/// and `Sec-Fetch-Site` (curl, integrations) are not browser cross-site requests.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin != "null" && authority(origin) == authority(host)
}

fn is_public(path: &str) -> bool {
    path == "/login"
        || path.starts_with("/auth/")
        || path == "/healthz"
        || path == "/readyz"
        || path.starts_with("/pkg/")
        || path.starts_with("/assets/")
        || path == "/favicon.ico"
        || path == "/api/v1/openapi.json"
        // Media URLs are named by the sha256 of their bytes: unguessable without
        // the bytes, immutable, and fetched by <img>, <video> and players.
        || path.starts_with("/media/")
        // Players authenticate inside the protocol (a token, or a pairing code).
        || path == "/device/ws"
        || path == "/player"
        || path == "/player-sw.js"
        || path == "/console-sw.js"
}

/// Refuses cross-origin mutations, finds the session, and keeps everything but
/// the public paths behind it: pages redirect to `/login`, APIs answer 401 JSON.
pub async fn gate(State(core): State<Core>, mut req: Request, next: Next) -> Response {
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let upgrade = req.headers().contains_key(header::UPGRADE);
    if (mutating || upgrade) && !same_origin(req.headers()) {
        tracing::warn!(path = %req.uri().path(), "cross-origin request refused");
        return AppError::forbidden("This request came from another site and was refused.")
            .into_response();
    }
    let path = req.uri().path().to_string();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string());
    let cookie = session_token(req.headers(), core.settings.session_cookie_name());
    let user = match (bearer, cookie) {
        // API tokens are for the REST API (and the metrics) only, never for
        // pages or server functions.
        (Some(secret), _) if path.starts_with("/api/v1/") || path == "/metrics" => {
            match tokens::authenticate(&core.db, &secret, true)
                .await
                .ok()
                .flatten()
            {
                Some(user) => {
                    let db = core.db.clone();
                    req.extensions_mut().insert(Recheck::new(move || {
                        let (db, secret) = (db.clone(), secret.clone());
                        Box::pin(async move { tokens::authenticate(&db, &secret, false).await })
                    }));
                    Some(user)
                }
                None => {
                    return AppError::Unauthenticated {
                        message: "This API token is unknown or has been revoked.".into(),
                    }
                    .into_response()
                }
            }
        }
        // Static assets never need to know who asks: no query for them.
        _ if path.starts_with("/pkg/")
            || path.starts_with("/assets/")
            || path.starts_with("/media/") =>
        {
            None
        }
        (_, Some(token)) => {
            let user = lookup_session(&core.db, &token).await.ok().flatten();
            if user.is_some() {
                let db = core.db.clone();
                req.extensions_mut().insert(Recheck::new(move || {
                    let (db, token) = (db.clone(), token.clone());
                    Box::pin(async move { lookup_session(&db, &token).await })
                }));
            }
            user
        }
        _ => None,
    };
    match user {
        Some(user) => {
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        None if is_public(&path) => next.run(req).await,
        None if path.starts_with("/api/") || path == "/metrics" => {
            AppError::unauthenticated().into_response()
        }
        None => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let location = if target == "/" {
                "/login".to_string()
            } else {
                format!("/login?next={}", encode_component(&target))
            };
            Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, location)
                .body(Body::empty())
                .unwrap_or_default()
        }
    }
}

fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_requests_are_told_apart() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
        assert!(
            same_origin(&h),
            "no Origin: not a browser cross-site request"
        );
        h.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
