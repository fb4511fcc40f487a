//! Server functions, callable from the pages, one file per domain. Bodies run
//! on the server only; the browser gets a typed client.
//!
//! Every change goes through ONE function, `apply_op(Op)`, not one server
//! function per mutation: the outbox stores ops, replays them after a reload or
//! an outage, and the server answers a replayed `op_id` from its receipt. A
//! per-mutation function would need its own idempotency, versioning and
//! replay; keep the command bus.

pub mod accounts;
pub mod analytics;
pub mod devices;
pub mod health;
pub mod library;
pub mod schedules;
pub mod session;
pub mod tokens;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::use_context;

    use crate::{
        error::AppError,
        server::{core::CurrentUser, state::AppState},
    };

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(AppError::internal)
    }

    /// The operator the session gate found for this request.
    pub fn current_user() -> Result<CurrentUser, AppError> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CurrentUser>().cloned())
            .ok_or_else(AppError::unauthenticated)
    }

    /// Gives a failed server function the HTTP status of its error (422, 403, 409...).
    pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(err) = &result {
            if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
                options.set_status(crate::server::core::http::status_of(err));
            }
        }
        result
    }
}
