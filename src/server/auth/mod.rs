//! Who is asking: Argon2id passwords, server-side sessions, API tokens for
//! integrators, accounts through the change path, and the gate that keeps
//! pages and APIs behind them.

pub mod accounts;
pub mod gate;
pub mod limiter;
pub mod passwords;
mod rest;
pub mod sessions;
pub mod tokens;

use std::sync::Arc;

use axum::{
    extract::{DefaultBodyLimit, FromRef},
    routing::{delete, get, post},
    Router,
};

pub use accounts::apply;
pub use limiter::LoginLimiter;
pub use rest::{doc_rules, AccountsDoc};
pub use sessions::SESSION_COOKIE;

use crate::server::core::Core;

/// `POST /auth/login` and `POST /auth/logout`; accounts, sessions and
/// tokens under `/api/v1`.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Core: FromRef<S>,
    Arc<LoginLimiter>: FromRef<S>,
{
    Router::new()
        // A sign-in form is a few hundred bytes.
        .route(
            "/auth/login",
            post(sessions::login).layer(DefaultBodyLimit::max(16 * 1024)),
        )
        .route("/auth/logout", post(sessions::logout))
        .route(
            "/api/v1/users",
            get(rest::list_users).post(rest::create_user),
        )
        .route(
            "/api/v1/users/{id}",
            axum::routing::patch(rest::update_user),
        )
        .route("/api/v1/sessions", get(rest::list_sessions))
        .route("/api/v1/sessions/{id}", delete(rest::end_session))
        .route("/api/v1/me/password", post(rest::change_password))
        .route(
            "/api/v1/tokens",
            get(rest::list_tokens).post(rest::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(rest::revoke_token))
}
