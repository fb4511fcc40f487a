//! Sessions: server-side, in an HttpOnly, SameSite=Lax cookie; signing in
//! with the form at `/login` (works without JavaScript) under the sign-in
//! limiter, and signing out.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;
use sqlx::Row;

use super::{
    limiter::{masked, Limits, LoginLimiter},
    passwords::check_credentials,
};
use crate::{
    error::AppError,
    server::core::{
        ids::{random_token, sha256_hex},
        now_ms, Core, CurrentUser, Db,
    },
};

pub const SESSION_COOKIE: &str = "vizora_session";
/// The longest email address there can be (RFC 5321).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longer than any password a person types; refused before hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub async fn create_session(db: &Db, user_id: &str, hours: i64) -> Result<String, AppError> {
    let token = random_token();
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(sha256_hex(&token))
        .bind(user_id)
        .bind(now)
        .bind(now + hours * 3_600_000)
        .execute(&db.pool)
        .await?;
    Ok(token)
}

pub async fn lookup_session(db: &Db, token: &str) -> Result<Option<CurrentUser>, AppError> {
    let row = sqlx::query(
        "SELECT u.id AS user_id, u.org_id, o.name AS org_name, u.email, u.role \
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.org_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(sha256_hex(token))
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.and_then(|r| {
        Some(CurrentUser {
            user_id: r.get("user_id"),
            org_id: r.get("org_id"),
            org_name: r.get("org_name"),
            email: r.get("email"),
            role: r.get::<String, _>("role").parse().ok()?,
        })
    }))
}

pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub next: Option<String>,
}

/// Only same-site paths, so `next` cannot send the operator elsewhere.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
}

fn session_cookie(token: &str, max_age_secs: i64) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}")
}

/// `POST /auth/login`: a plain form post, so signing in works without JavaScript.
pub async fn login(
    State(core): State<Core>,
    State(limiter): State<Arc<LoginLimiter>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let email = form.email.trim().to_lowercase();
    let settings = &core.settings;
    // No account has such an address: refused before any work or any record.
    if email.len() > MAX_EMAIL_BYTES || form.password.len() > MAX_PASSWORD_BYTES {
        return Redirect::to("/login?error=invalid").into_response();
    }
    let address = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let attempt = match limiter.begin(&email, address, Limits::of(settings)) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let minutes = wait.div_ceil(60);
            return Redirect::to(&format!("/login?error=limited&wait={minutes}")).into_response();
        }
    };
    match check_credentials(&core.db, &email, &form.password).await {
        Ok(Some(user_id)) => {
            match create_session(&core.db, &user_id, settings.session_hours).await {
                Ok(token) => {
                    attempt.succeeded();
                    tracing::info!(%email, "signed in");
                    let mut res = Redirect::to(safe_next(form.next.as_deref())).into_response();
                    if let Ok(v) = session_cookie(&token, settings.session_hours * 3600).parse() {
                        res.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    res
                }
                Err(err) => {
                    attempt.abandoned();
                    err.into_response()
                }
            }
        }
        Ok(None) => {
            attempt.failed();
            tracing::info!(email = %masked(&email), "sign-in refused");
            Redirect::to("/login?error=invalid").into_response()
        }
        Err(err) => {
            attempt.abandoned();
            err.into_response()
        }
    }
}

/// `POST /auth/logout`: ends the session on the server and clears the cookie.
pub async fn logout(State(core): State<Core>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        let _ = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(sha256_hex(&token))
            .execute(&core.db.pool)
            .await;
    }
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = session_cookie("", 0).parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_only_accepts_local_paths() {
        assert_eq!(safe_next(Some("/devices")), "/devices");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
