//! The request context every handler shares: who asks ([`CurrentUser`], put
//! in the request by the auth gate), the `If-Match` version and the
//! `Idempotency-Key`, as extractors; [`Json`], [`Query`] and [`Path`], which
//! are axum's with every rejection turned into an [`AppError`]; and the one
//! way an [`AppError`] becomes an HTTP answer (JSON `{"code", "message"}` with
//! its status), used by REST, the stream, the long-poll, the sign-in form and
//! server functions alike, and by the `/api/` answers for an unknown path
//! ([`api_not_found`]) or method ([`api_method_not_allowed`]).

use axum::{
    extract::{
        rejection::{JsonRejection, PathRejection, QueryRejection},
        FromRequest, FromRequestParts, Request,
    },
    http::{header, request::Parts, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{de::DeserializeOwned, Serialize};

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
        (status_of(&self), axum::Json(self)).into_response()
    }
}

/// What any JSON body may weigh (uploads stream under their own limit).
pub const MAX_JSON_BODY: usize = 256 * 1024;

/// `axum::Json`, whose refusals are [`AppError`]s: malformed JSON is a 400,
/// JSON of the wrong shape a 422, another `Content-Type` a 415, a body over
/// [`MAX_JSON_BODY`] a 413. As an answer it is `axum::Json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let mut value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_refusal(rejection)),
        };
        // Every body the API takes is an object; serde would also read a
        // struct from an array of its fields, which the document forbids.
        if !value.is_object() {
            return Err(AppError::validation(
                "The JSON body must be an object. See /api/v1/openapi.json.",
            ));
        }
        integral_numbers(&mut value);
        serde_json::from_value(value).map(Json).map_err(|e| {
            AppError::validation(format!(
                "The JSON body does not fit this operation: {e}. See /api/v1/openapi.json."
            ))
        })
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// JSON Schema counts `6995.0` as an integer; serde's i64 does not. So a
/// number with no fraction, in range, is read as the integer it is.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn json_refusal(rejection: JsonRejection) -> AppError {
    match rejection {
        JsonRejection::JsonDataError(e) => AppError::validation(format!(
            "The JSON body does not fit this operation: {}. See /api/v1/openapi.json.",
            source_text(&e)
        )),
        JsonRejection::JsonSyntaxError(e) => {
            AppError::bad_request(format!("The body is not valid JSON: {}.", source_text(&e)))
        }
        JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedType {
            message: "Send the body as JSON, with `Content-Type: application/json`.".into(),
        },
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge {
            message: format!(
                "The body is larger than the {} KiB a JSON request may be.",
                MAX_JSON_BODY / 1024
            ),
        },
        other => {
            AppError::bad_request(format!("The body could not be read: {}", other.body_text()))
        }
    }
}

/// The innermost cause of a rejection: serde's own words ("missing field
/// `name` at line 1 column 2"), without axum's preamble.
fn source_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// `axum::extract::Query`, whose refusal is a 400 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(AppError::bad_request(
                format!("The query string is not valid here: {}.", source_text(&e)),
            )),
            Err(other) => Err(AppError::bad_request(other.body_text())),
        }
    }
}

/// `axum::extract::Path`, whose refusal is a 400 (a route without the
/// parameter is the server's bug: 500).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(AppError::bad_request(
                format!("The path is not valid here: {}.", e.body_text()),
            )),
            Err(other) => {
                tracing::error!(error = %other.body_text(), "path parameters missing");
                Err(AppError::internal())
            }
        }
    }
}

/// A query parameter outside its documented range is refused, not clamped,
/// so the server and its document agree.
pub fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    value: Option<T>,
    name: &str,
    min: T,
    max: T,
    default: T,
) -> Result<T, AppError> {
    match value {
        None => Ok(default),
        Some(v) if v >= min && v <= max => Ok(v),
        Some(v) => Err(AppError::bad_request(format!(
            "`{name}` must be from {min} to {max}; {v} is not."
        ))),
    }
}

/// An unknown path under `/api/`: a JSON 404, not the console's page.
pub async fn api_not_found() -> AppError {
    AppError::not_found("No such API path; the operations are listed in /api/v1/openapi.json.")
}

/// Under `/api/`, a known path asked with a method it does not have answers
/// a JSON 405 that keeps the router's `Allow`.
pub async fn api_method_not_allowed(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let method = req.method().clone();
    let res = next.run(req).await;
    if !api || res.status() != StatusCode::METHOD_NOT_ALLOWED {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let message = match allow.as_ref().and_then(|v| v.to_str().ok()) {
        Some(methods) => format!("{method} is not allowed here; this path takes {methods}."),
        None => format!("{method} is not allowed here."),
    };
    let mut answer = AppError::MethodNotAllowed { message }.into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

/// The version a change is made against, from `If-Match`: `"3"`, `W/"3"` or
/// `3` (a weak tag is taken as its version). Required: without it a change
/// made since would be overwritten (428); another form is a 400.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IfMatch(pub i64);

/// The `If-Match` forms, for the document.
pub const IF_MATCH_PATTERN: &str = r#"^(W/)?"[0-9]{1,18}"$|^[0-9]{1,18}$"#;

fn parse_version(raw: &str) -> Option<i64> {
    let tag = raw.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let digits = match tag.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"')?,
        None if tag.len() == raw.trim().len() => tag,
        None => return None, // W/ without quotes
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Err(AppError::PreconditionRequired {
                message: "If-Match is required: send the version you read (its ETag) so a change made since is not overwritten.".into(),
            });
        };
        let raw = String::from_utf8_lossy(value.as_bytes());
        parse_version(&raw).map(IfMatch).ok_or_else(|| {
            AppError::bad_request(format!(
                "If-Match '{raw}' is not a version: send the ETag from GET (\"3\", W/\"3\" or 3)."
            ))
        })
    }
}

/// `Idempotency-Key`: makes the change's op id, so a retried request is
/// answered from its receipt and changes nothing. Optional; when sent, 1 to
/// [`IDEMPOTENCY_KEY_MAX`] letters, digits, `-` or `_` (a UUID is best), else
/// 400. The key is scoped to the method and path: the op id is a hash of the
/// three, so the same key sent to another operation is another request (and
/// never answered with that operation's outcome).
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyKey(pub Option<String>);

/// The op id a key stands for on `method path`: 40 hex digits.
pub fn scoped_op_id(method: &str, path: &str, key: &str) -> String {
    let mut id = super::ids::sha256_hex(&format!("{method} {path}\n{key}"));
    id.truncate(40);
    id
}

/// Room is left under the 64 characters of an op id for the `-n` suffix
/// an upload of several files adds.
pub const IDEMPOTENCY_KEY_MAX: usize = 60;

/// The `Idempotency-Key` form, for the document.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[A-Za-z0-9_-]{1,60}$";

fn valid_key(key: &str) -> bool {
    (1..=IDEMPOTENCY_KEY_MAX).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl IdempotencyKey {
    /// The key, or a fresh op id (then a retry is a new op).
    pub fn op_id(&self) -> String {
        self.0.clone().unwrap_or_else(new_id)
    }

    /// The id of what the request makes when the client names none: the
    /// key's op id, so a retry with the key makes the very same change (and
    /// gets the first answer); a fresh id without a key.
    pub fn new_entity_id(&self, n: usize) -> String {
        self.nth(n)
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
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        match value.to_str().map(str::trim) {
            Ok(key) if valid_key(key) => Ok(IdempotencyKey(Some(scoped_op_id(
                parts.method.as_str(),
                parts.uri.path(),
                key,
            )))),
            _ => Err(AppError::bad_request(format!(
                "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} letters, digits, '-' or '_' (a UUID is best)."
            ))),
        }
    }
}

/// Runs the one change a REST request asks for through the change path,
/// its op id from the request's `Idempotency-Key`.
pub async fn run_change(
    core: &super::Core,
    user: &CurrentUser,
    key: &IdempotencyKey,
    base_version: Option<i64>,
    change: crate::model::Change,
) -> Result<crate::model::OpAck, AppError> {
    let op = crate::model::Op {
        op_id: key.op_id(),
        base_version,
        change,
    };
    super::change::apply(core, user, op).await
}

/// The `ETag` of a version: the version, quoted.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// An entity as JSON with its version as `ETag`.
pub fn versioned<T: Serialize>(status: StatusCode, version: i64, body: &T) -> Response {
    (status, [(header::ETAG, etag(version))], axum::Json(body)).into_response()
}

/// An optional RFC 3339 query parameter as milliseconds; anything else is
/// a 400 naming the parameter.
pub fn rfc3339_param(
    value: Option<&str>,
    name: &str,
) -> Result<Option<crate::model::Millis>, AppError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|_| {
                    AppError::bad_request(format!(
                        "`{name}` must be an RFC 3339 instant such as 2027-03-27T00:00:00Z."
                    ))
                })
        })
        .transpose()
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
        for bad in ["\"x\"", "W/3", "\"3", "3\"", "", "-1", "*", "\"\""] {
            assert!(
                matches!(if_match(bad).await, Err(AppError::BadRequest { .. })),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn a_change_without_if_match_is_a_428() {
        let (mut parts, _) = axum::http::Request::builder()
            .body(())
            .unwrap()
            .into_parts();
        let err = IfMatch::from_request_parts(&mut parts, &())
            .await
            .unwrap_err();
        assert_eq!(err.status_code(), 428);
    }

    #[test]
    fn the_documented_if_match_pattern_is_what_the_parser_takes() {
        // The pattern's three forms, spelled out.
        for (raw, version) in [("\"7\"", 7), ("W/\"7\"", 7), ("7", 7)] {
            assert_eq!(parse_version(raw), Some(version));
        }
        assert_eq!(parse_version(&"9".repeat(19)), None);
        assert!(IF_MATCH_PATTERN.contains("{1,18}"));
    }

    async fn key(value: &str) -> Result<IdempotencyKey, AppError> {
        let (mut parts, _) = axum::http::Request::builder()
            .header("idempotency-key", value)
            .body(())
            .unwrap()
            .into_parts();
        IdempotencyKey::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn an_idempotency_key_is_a_short_url_safe_word() {
        let uuid = new_id();
        let op_id = scoped_op_id("GET", "/", &uuid);
        assert_eq!(key(&uuid).await, Ok(IdempotencyKey(Some(op_id.clone()))));
        assert_eq!(op_id.len(), 40);
        assert_ne!(
            op_id,
            scoped_op_id("POST", "/", &uuid),
            "scoped to the method"
        );
        assert_ne!(
            op_id,
            scoped_op_id("GET", "/x", &uuid),
            "scoped to the path"
        );
        assert!(key(&"k".repeat(IDEMPOTENCY_KEY_MAX)).await.is_ok());
        for bad in ["", "a b", "a/b", "ä", &"k".repeat(IDEMPOTENCY_KEY_MAX + 1)] {
            assert!(
                matches!(key(bad).await, Err(AppError::BadRequest { .. })),
                "{bad}"
            );
        }
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
