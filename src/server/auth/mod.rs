//! Who is asking: Argon2id passwords, server-side sessions, API tokens for
//! integrators, and the gate that keeps pages and APIs behind them.

pub mod gate;
pub mod limiter;
pub mod passwords;
pub mod sessions;
pub mod tokens;

use std::sync::Arc;

use axum::{
    extract::{DefaultBodyLimit, FromRef},
    routing::post,
    Router,
};

pub use limiter::LoginLimiter;
pub use sessions::SESSION_COOKIE;

use crate::server::core::Core;

/// `POST /auth/login` and `POST /auth/logout`.
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
}
