//! Who is asking: Argon2id passwords, server-side sessions in an HttpOnly,
//! SameSite=Lax cookie, the sign-in limiter, the origin check on mutating
//! requests, and the gate that keeps pages and APIs behind a session.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{
    db::{new_id, now_ms, Db},
    state::AppState,
};
use crate::{error::AppError, model::Role};

pub const SESSION_COOKIE: &str = "vizora_session";

/// The signed-in operator, put in the request's extensions by [`resolve_session`].
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentUser {
    pub user_id: String,
    pub org_id: String,
    pub org_name: String,
    pub email: String,
    pub role: Role,
}

impl CurrentUser {
    /// Admin-only actions; `what` completes "Only an admin can …".
    pub fn require_admin(&self, what: &str) -> Result<(), AppError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::forbidden(format!("Only an admin can {what}.")))
        }
    }

    /// Viewers read; changing anything needs editor or admin.
    pub fn require_editor(&self) -> Result<(), AppError> {
        if self.role.can_edit() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "Your role (viewer) can look but not change anything. Ask an admin for editor access.",
            ))
        }
    }
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub fn validate_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < 8 {
        return Err("A password needs at least 8 characters.".into());
    }
    Ok(())
}

pub fn sha256_hex(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A long random token (256 bits), hex-encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn create_organization(db: &Db, name: &str) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query("INSERT INTO organizations (id, name, epoch, last_seq, created_at) VALUES ($1, $2, $3, 0, $4)")
        .bind(&id)
        .bind(name)
        .bind(new_id())
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    super::alerts::create_default_rules(db, &id).await?;
    Ok(id)
}

pub async fn create_user(
    db: &Db,
    org_id: &str,
    email: &str,
    password: &str,
    role: Role,
) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return Err(format!("'{email}' is not an email address"));
    }
    validate_new_password(password)?;
    let hash = {
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| e.to_string())??
    };
    let id = new_id();
    sqlx::query(
        "INSERT INTO users (id, org_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(&email)
    .bind(hash)
    .bind(role.as_str())
    .bind(now_ms())
    .execute(&db.pool)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            format!("a user with email {email} already exists")
        }
        other => format!("cannot add user: {other}"),
    })?;
    Ok(id)
}

/// Checks an email and password; `None` for any mismatch, without saying which.
pub async fn check_credentials(
    db: &Db,
    email: &str,
    password: &str,
) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(email.trim().to_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    // Hash even when the email is unknown, so timing does not tell which part was wrong.
    let (user_id, hash) = match row {
        Some(r) => (
            Some(r.get::<String, _>("id")),
            r.get::<String, _>("password_hash"),
        ),
        None => (None, dummy_hash().to_string()),
    };
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    Ok(if ok { user_id } else { None })
}

/// The hash of a random password nobody knows, checked for unknown emails so they
/// take as long to refuse as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

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

/// Counts failed sign-ins per email in a sliding window.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// `Err(seconds to wait)` when the email has used up its attempts.
    pub fn check(&self, email: &str, max: u32, window: Duration) -> Result<(), u64> {
        let map = self.failures.lock().unwrap();
        match map.get(email) {
            Some((count, since)) if *count >= max && since.elapsed() < window => {
                Err((window - since.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }
    pub fn fail(&self, email: &str, window: Duration) {
        let mut map = self.failures.lock().unwrap();
        let entry = map.entry(email.to_string()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
    pub fn succeed(&self, email: &str) {
        self.failures.lock().unwrap().remove(email);
    }
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
pub async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let email = form.email.trim().to_lowercase();
    let settings = &state.settings;
    if let Err(wait) =
        state
            .login_limiter
            .check(&email, settings.login_attempts, settings.login_window())
    {
        let minutes = wait.div_ceil(60);
        return Redirect::to(&format!("/login?error=limited&wait={minutes}")).into_response();
    }
    match check_credentials(&state.db, &email, &form.password).await {
        Ok(Some(user_id)) => {
            match create_session(&state.db, &user_id, settings.session_hours).await {
                Ok(token) => {
                    state.login_limiter.succeed(&email);
                    tracing::info!(%email, "signed in");
                    let mut res = Redirect::to(safe_next(form.next.as_deref())).into_response();
                    if let Ok(v) = session_cookie(&token, settings.session_hours * 3600).parse() {
                        res.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    res
                }
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
        Ok(None) => {
            state.login_limiter.fail(&email, settings.login_window());
            tracing::info!(%email, "sign-in refused");
            Redirect::to("/login?error=invalid").into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `POST /auth/logout`: ends the session on the server and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        let _ = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(sha256_hex(&token))
            .execute(&state.db.pool)
            .await;
    }
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = session_cookie("", 0).parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

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

pub fn json_error(err: &AppError) -> Response {
    let status =
        StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(err).unwrap_or_default(),
    )
        .into_response()
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
}

/// Refuses cross-origin mutations, finds the session, and keeps everything but
/// the public paths behind it: pages redirect to `/login`, APIs answer 401 JSON.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let upgrade = req.headers().contains_key(header::UPGRADE);
    if (mutating || upgrade) && !same_origin(req.headers()) {
        tracing::warn!(path = %req.uri().path(), "cross-origin request refused");
        return json_error(&AppError::forbidden(
            "This request came from another site and was refused.",
        ));
    }
    let path = req.uri().path().to_string();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string());
    let user = match (bearer, session_token(req.headers())) {
        // API tokens are for the REST API only, never for pages or server functions.
        (Some(secret), _) if path.starts_with("/api/v1/") => {
            match super::tokens::authenticate(&state.db, &secret)
                .await
                .ok()
                .flatten()
            {
                Some(user) => Some(user),
                None => {
                    return json_error(&AppError::Unauthenticated {
                        message: "This API token is unknown or has been revoked.".into(),
                    })
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
        (_, Some(token)) => lookup_session(&state.db, &token).await.ok().flatten(),
        _ => None,
    };
    match user {
        Some(user) => {
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        None if is_public(&path) => next.run(req).await,
        None if path.starts_with("/api/") => json_error(&AppError::unauthenticated()),
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
    fn a_password_verifies_only_against_its_own_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", dummy_hash()));
    }

    #[test]
    fn next_only_accepts_local_paths() {
        assert_eq!(safe_next(Some("/devices")), "/devices");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

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

    #[test]
    fn the_limiter_refuses_after_the_allowed_failures_and_resets_on_success() {
        let l = LoginLimiter::default();
        let w = Duration::from_secs(60);
        for _ in 0..3 {
            assert!(l.check("a@x", 3, w).is_ok());
            l.fail("a@x", w);
        }
        assert!(l.check("a@x", 3, w).is_err());
        assert!(l.check("b@x", 3, w).is_ok(), "per email");
        l.succeed("a@x");
        assert!(l.check("a@x", 3, w).is_ok());
    }
}
