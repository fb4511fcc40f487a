//! The request context every handler shares: who asks ([`CurrentUser`], put
//! in the request by the auth gate), the `If-Match` version and the
//! `Idempotency-Key`, as extractors; and the one way an [`AppError`] becomes
//! an HTTP answer (JSON `{"code", "message"}` with its status), used by REST,
//! the stream, the long-poll, the sign-in form and server functions alike.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use super::{credential::Credential, ids::new_id};
use crate::{error::AppError, model::Role};

/// The signed-in operator (or API token) a request acts for.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentUser {
    pub user_id: String,
    pub org_id: String,
    pub org_name: String,
    pub email: String,
    pub role: Role,
    /// What the request was signed in with.
    pub credential: Credential,
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

/// The gate found no session or token for this request.
impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(AppError::unauthenticated)
    }
}

/// The HTTP status of an error (422, 403, 409, …).
pub fn status_of(err: &AppError) -> StatusCode {
    StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (status_of(&self), Json(self)).into_response()
    }
}

/// The version a change is made against, from `If-Match` (`"3"`, `W/"3"`
/// or `3`). Required: without it a change made since would be overwritten.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IfMatch(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let raw = parts
            .headers
            .get(header::IF_MATCH)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| AppError::validation("If-Match is required: send the version you read (its ETag) so a change made since is not overwritten."))?;
        raw.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse()
            .map(IfMatch)
            .map_err(|_| {
                AppError::validation(format!(
                    "If-Match '{raw}' is not a version; use the ETag from GET."
                ))
            })
    }
}

/// `Idempotency-Key`: the op id of the change, so a retried request is
/// answered from its receipt and changes nothing. Optional.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    /// The key, or a fresh op id (then a retry is a new op).
    pub fn op_id(&self) -> String {
        self.0.clone().unwrap_or_else(new_id)
    }

    /// The op id of the `n`-th change one request makes (an upload of several
    /// files): the key itself for the first, `KEY-n` after.
    pub fn nth(&self, n: usize) -> String {
        match &self.0 {
            Some(k) if n == 0 => k.clone(),
            Some(k) => format!("{k}-{n}"),
            None => new_id(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        match parts.headers.get("idempotency-key") {
            Some(v) => v
                .to_str()
                .map(|s| IdempotencyKey(Some(s.trim().to_string())))
                .map_err(|_| AppError::validation("Idempotency-Key must be plain text.")),
            None => Ok(IdempotencyKey(None)),
        }
    }
}

/// The `ETag` of a version: the version, quoted.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// An entity as JSON with its version as `ETag`.
pub fn versioned<T: Serialize>(status: StatusCode, version: i64, body: &T) -> Response {
    (status, [(header::ETAG, etag(version))], Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn if_match(value: &str) -> Result<IfMatch, AppError> {
        let (mut parts, _) = axum::http::Request::builder()
            .header(header::IF_MATCH, value)
            .body(())
            .unwrap()
            .into_parts();
        IfMatch::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn if_match_takes_the_etag_forms_and_refuses_the_rest() {
        assert_eq!(if_match("\"3\"").await, Ok(IfMatch(3)));
        assert_eq!(if_match("W/\"4\"").await, Ok(IfMatch(4)));
        assert_eq!(if_match("5").await, Ok(IfMatch(5)));
        assert!(matches!(
            if_match("\"x\"").await,
            Err(AppError::Validation { .. })
        ));
    }

    #[test]
    fn an_error_answers_with_its_status_and_json_code() {
        let res = AppError::not_found("gone").into_response();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE].to_str().unwrap(),
            "application/json"
        );
    }

    #[test]
    fn the_nth_op_of_a_keyed_request_gets_a_suffix() {
        let key = IdempotencyKey(Some("k".into()));
        assert_eq!(key.nth(0), "k");
        assert_eq!(key.nth(2), "k-2");
        assert_ne!(IdempotencyKey(None).nth(0), IdempotencyKey(None).nth(0));
    }
}
