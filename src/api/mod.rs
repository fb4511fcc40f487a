//! Server functions, callable from the pages (and the REST API later), one file
//! per domain. Bodies run on the server only; the browser gets a typed client.

pub mod devices;
pub mod health;
pub mod library;
pub mod session;
pub mod tokens;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::use_context;

    use crate::{
        error::AppError,
        server::{auth::CurrentUser, state::AppState},
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
                if let Ok(status) = axum::http::StatusCode::from_u16(err.status_code()) {
                    options.set_status(status);
                }
            }
        }
        result
    }
}
