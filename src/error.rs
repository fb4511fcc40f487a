//! One error type for the whole product. It crosses the wire (server functions,
//! REST, stream), so every payload is a plain string the user can act on.

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    /// The input broke a rule; the message says which and how to fix it.
    #[error("{message}")]
    Validation { message: String },
    /// The request itself could not be read: malformed JSON, a path or query
    /// parameter or a header of the wrong form (HTTP 400).
    #[error("{message}")]
    BadRequest { message: String },
    /// No valid session or token.
    #[error("{message}")]
    Unauthenticated { message: String },
    /// Logged in, but the role does not allow this.
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    NotFound { message: String },
    /// The entity changed since the client read it; `current` is what the server has now.
    #[error("{message}")]
    Conflict {
        message: String,
        current: Option<serde_json::Value>,
    },
    /// A change sent without the `If-Match` it needs (HTTP 428).
    #[error("{message}")]
    PreconditionRequired { message: String },
    /// The path exists, the method does not (HTTP 405; `Allow` lists the methods).
    #[error("{message}")]
    MethodNotAllowed { message: String },
    /// A body larger than the configured limit (HTTP 413).
    #[error("{message}")]
    TooLarge { message: String },
    /// An upload of a type Vizora does not play (HTTP 415); the message names it.
    #[error("{message}")]
    UnsupportedType { message: String },
    /// Too many attempts; try again later.
    #[error("{message}")]
    RateLimited { message: String },
    /// The request never got an answer (client side only).
    #[error("{message}")]
    Network { message: String },
    /// Something failed on the server; details are in its log, not here.
    #[error("{message}")]
    Internal { message: String },
}

impl AppError {
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
        }
    }
    /// The current state forbids it (an id already taken): HTTP 409, nothing to merge.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            current: None,
        }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }
    pub fn unauthenticated() -> Self {
        Self::Unauthenticated {
            message: "You are not signed in, or your session has expired. Sign in again.".into(),
        }
    }
    pub fn internal() -> Self {
        Self::Internal {
            message: "The server failed to handle this request; it has been logged.".into(),
        }
    }

    /// The stable code integrators match on (`validation`, `conflict`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation",
            Self::BadRequest { .. } => "bad_request",
            Self::PreconditionRequired { .. } => "precondition_required",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Unauthenticated { .. } => "unauthenticated",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedType { .. } => "unsupported_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Network { .. } => "network",
            Self::Internal { .. } => "internal",
        }
    }

    pub fn status_code(&self) -> u16 {
        match self {
            Self::Validation { .. } => 422,
            Self::BadRequest { .. } => 400,
            Self::PreconditionRequired { .. } => 428,
            Self::MethodNotAllowed { .. } => 405,
            Self::Unauthenticated { .. } => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::TooLarge { .. } => 413,
            Self::UnsupportedType { .. } => 415,
            Self::RateLimited { .. } => 429,
            Self::Network { .. } => 503,
            Self::Internal { .. } => 500,
        }
    }

    /// Transient failures are retried with backoff; permanent ones roll back at once.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Network { .. } | Self::Internal { .. } | Self::RateLimited { .. }
        )
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            // The browser's own wording ("TypeError: Failed to fetch") means nothing to an operator.
            E::Request(_) | E::Response(_) => Self::Network {
                message: "The server could not be reached; the change will be sent when it can be."
                    .into(),
            },
            E::Args(message) | E::MissingArg(message) => Self::Validation { message },
            other => Self::Internal {
                message: other.to_string(),
            },
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "database error");
        Self::internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_with_a_stable_code() {
        let json = serde_json::to_value(AppError::validation("Name is empty")).unwrap();
        assert_eq!(json["code"], "validation");
        assert_eq!(json["message"], "Name is empty");
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!(back, AppError::validation("Name is empty"));
    }

    #[test]
    fn the_json_code_is_the_documented_code() {
        let m = || "m".to_string();
        for err in [
            AppError::validation("m"),
            AppError::bad_request("m"),
            AppError::PreconditionRequired { message: m() },
            AppError::MethodNotAllowed { message: m() },
            AppError::unauthenticated(),
            AppError::forbidden("m"),
            AppError::not_found("m"),
            AppError::Conflict {
                message: m(),
                current: None,
            },
            AppError::TooLarge { message: m() },
            AppError::UnsupportedType { message: m() },
            AppError::RateLimited { message: m() },
            AppError::Network { message: m() },
            AppError::internal(),
        ] {
            let json = serde_json::to_value(&err).unwrap();
            assert_eq!(json["code"], err.code(), "{err:?}");
        }
    }

    #[test]
    fn only_network_and_server_failures_are_transient() {
        assert!(AppError::internal().is_transient());
        assert!(AppError::Network {
            message: "x".into()
        }
        .is_transient());
        assert!(!AppError::validation("x").is_transient());
        assert!(!AppError::forbidden("x").is_transient());
        assert!(!AppError::Conflict {
            message: "x".into(),
            current: None
        }
        .is_transient());
    }
}
