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
    model::{Change, Op, MAX_EMAIL_BYTES, MAX_PASSWORD_BYTES},
    server::{
        config::Settings,
        core::{
            change,
            credential::Credential,
            ids::{random_token, sha256_hex},
            new_id, now_ms, Core, CurrentUser, Db, ExecuteWrite,
        },
    },
};

/// The session cookie's name over plain HTTP (see `Settings::session_cookie_name`).
pub const SESSION_COOKIE: &str = "vizora_session";
/// How much of a browser's User-Agent a session keeps, for Settings' list.
const MAX_USER_AGENT: usize = 200;

pub async fn create_session(
    db: &Db,
    user_id: &str,
    hours: i64,
    user_agent: Option<&str>,
) -> Result<String, AppError> {
    let token = random_token();
    let now = now_ms();
    let agent = user_agent.map(|a| a.chars().take(MAX_USER_AGENT).collect::<String>());
    sqlx::query("INSERT INTO sessions (token_hash, id, user_id, created_at, expires_at, user_agent) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(sha256_hex(&token))
        .bind(new_id())
        .bind(user_id)
        .bind(now)
        .bind(now + hours * 3_600_000)
        .bind(agent)
        .execute_write(db)
        .await?;
    Ok(token)
}

/// Who a session cookie signs in, while the session holds and its account
/// is active.
pub async fn lookup_session(db: &Db, token: &str) -> Result<Option<CurrentUser>, AppError> {
    let row = sqlx::query(
        "SELECT s.id AS session_id, u.id AS user_id, u.org_id, o.name AS org_name, u.email, u.role \
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.org_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deactivated_at IS NULL",
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
            credential: Credential::Session {
                id: r.get("session_id"),
            },
        })
    }))
}

/// The session cookie's value, under the name the settings give it.
pub fn session_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub next: Option<String>,
}

/// Only same-site paths, so `next` cannot send the operator elsewhere: a
/// `/` then printable ASCII, never a second `/` or a `\` at its start, and
/// no backslash, space or control character anywhere (browsers drop tabs
/// and newlines from a URL, so `/<TAB>/evil.example` would become
/// `//evil.example`, another site). Anything else goes to the Overview.
pub fn safe_next(next: Option<&str>) -> &str {
    let Some(n) = next else { return "/" };
    let printable = n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let rest = n.strip_prefix('/');
    match rest {
        Some(rest) if printable && !rest.starts_with('/') => n,
        _ => "/",
    }
}

/// The `Set-Cookie` value for a session: `Secure` under its `__Host-` name
/// when the settings say the console is served over HTTPS.
pub fn session_cookie(settings: &Settings, token: &str, max_age_secs: i64) -> String {
    let name = settings.session_cookie_name();
    let secure = if settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// `POST /auth/login`: a plain form post, so signing in works without JavaScript.
pub async fn login(
    State(core): State<Core>,
    State(limiter): State<Arc<LoginLimiter>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
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
            let agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            match create_session(&core.db, &user_id, settings.session_hours, agent).await {
                Ok(token) => {
                    attempt.succeeded();
                    tracing::info!(%email, "signed in");
                    let mut res = Redirect::to(safe_next(form.next.as_deref())).into_response();
                    if let Ok(v) =
                        session_cookie(settings, &token, settings.session_hours * 3600).parse()
                    {
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

/// `POST /auth/logout`: ends the session through the change path (so every
/// stream opened with it closes, on every node) and clears the cookie.
pub async fn logout(State(core): State<Core>, headers: HeaderMap) -> Response {
    let name = core.settings.session_cookie_name();
    if let Some(token) = session_token(&headers, name) {
        if let Ok(Some(user)) = lookup_session(&core.db, &token).await {
            if let Some(session_id) = user.credential.session_id() {
                let op = Op {
                    op_id: new_id(),
                    base_version: None,
                    change: Change::EndSession {
                        session_id: session_id.to_string(),
                    },
                };
                if let Err(err) = change::apply(&core, &user, op).await {
                    tracing::warn!(%err, "sign-out could not end the session");
                }
            }
        }
    }
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = session_cookie(&core.settings, "", 0).parse() {
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
        assert_eq!(safe_next(Some("/content?q=a%20b")), "/content?q=a%20b");
        // `next=/%09/evil.example` arrives decoded: a tab, which browsers drop.
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("devices")), "/");
        assert_eq!(safe_next(Some("/dévices")), "/");
    }

    #[test]
    fn the_cookie_is_secure_and_host_bound_over_https() {
        let mut s = Settings::default();
        let plain = session_cookie(&s, "t", 60);
        assert!(plain.starts_with("vizora_session=t;") && !plain.contains("Secure"));
        s.public_url = "https://signage.example".into();
        let secure = session_cookie(&s, "t", 60);
        assert!(
            secure.starts_with("__Host-vizora_session=t; Path=/;"),
            "{secure}"
        );
        assert!(secure.ends_with("; Secure"), "{secure}");
    }
}
