//! The REST API under `/api/v1`: the same operations as the console, through the
//! same change path. `Idempotency-Key` is the op id (a replay gets the stored
//! answer and changes nothing), `If-Match` carries the version a change is made
//! against (stale: 409 with the current entity). Auth is the session cookie or
//! `Authorization: Bearer` with an API token. Errors are JSON with a stable
//! `code` and a `message`. The OpenAPI document is generated from these
//! handlers and the model types: `GET /api/v1/openapi.json`.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Extension, Json, Router,
};
use serde::Deserialize;
use utoipa::{
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
    Modify, OpenApi, ToSchema,
};

use super::{
    auth::{json_error, CurrentUser},
    changes, devices, log,
    state::AppState,
    stream,
};
use crate::{
    error::AppError,
    model::{Change, Device, DevicePatch, DevicesSnapshot, EventBody, Op, OpAck},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/devices", get(list_devices).post(create_device))
        .route(
            "/api/v1/devices/{id}",
            get(get_device).patch(update_device).delete(delete_device),
        )
        .route("/api/v1/devices/{id}/plays", get(device_plays))
        .route("/api/v1/ops", post(apply_op))
        .route("/api/v1/openapi.json", get(openapi))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vizora API",
        description = "Manage a fleet of digital-signage displays. Every change is idempotent \
                       (Idempotency-Key) and versioned (If-Match); every change is also pushed \
                       on the event stream (GET /api/v1/stream, WebSocket) and the long-poll \
                       GET /api/v1/events."
    ),
    paths(list_devices, get_device, create_device, update_device, delete_device, device_plays, apply_op, stream::poll_handler),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = [])),
    tags((name = "devices", description = "Displays"), (name = "changes", description = "The op path and the event log"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
            components.add_security_scheme(
                "session",
                SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                    utoipa::openapi::security::ApiKeyValue::new(super::auth::SESSION_COOKIE),
                )),
            );
        }
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::library::LibraryDoc::openapi());
    doc.merge(super::health::HealthDoc::openapi());
    Json(doc)
}

/// An answer or an error, both as JSON.
pub(super) struct Answer(pub(super) Result<Response, AppError>);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(res) => res,
            Err(err) => json_error(&err),
        }
    }
}

pub(super) fn who(user: Option<Extension<CurrentUser>>) -> Result<CurrentUser, AppError> {
    user.map(|Extension(u)| u)
        .ok_or_else(AppError::unauthenticated)
}

/// The op id: the `Idempotency-Key` header, or a fresh one (then a retry is a new op).
pub(super) fn op_id(headers: &HeaderMap) -> Result<String, AppError> {
    match headers.get("idempotency-key") {
        Some(v) => v
            .to_str()
            .map(|s| s.trim().to_string())
            .map_err(|_| AppError::validation("Idempotency-Key must be plain text.")),
        None => Ok(super::db::new_id()),
    }
}

/// The version from `If-Match` (`"3"`, `W/"3"` or `3`), required for changes.
pub(super) fn if_match(headers: &HeaderMap) -> Result<i64, AppError> {
    let raw = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::validation("If-Match is required: send the version you read (its ETag) so a change made since is not overwritten."))?;
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| {
            AppError::validation(format!(
                "If-Match '{raw}' is not a version; use the ETag from GET."
            ))
        })
}

pub(super) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

fn device_response(status: StatusCode, device: &Device) -> Response {
    (status, [(header::ETAG, etag(device.version))], Json(device)).into_response()
}

fn device_of(ack: &OpAck) -> Option<&Device> {
    match &ack.event.body {
        EventBody::DeviceUpserted { device } => Some(device),
        _ => None,
    }
}

/// All displays and groups of the organization, with the stream position.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    responses((status = 200, body = DevicesSnapshot), (status = 401, body = AppError)))]
async fn list_devices(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let (epoch, seq) = log::position(&state.db, &user.org_id).await?;
            let snapshot = DevicesSnapshot {
                devices: devices::list(&state.db, &user.org_id).await?,
                groups: devices::list_groups(&state.db, &user.org_id).await?,
                seq,
                epoch,
            };
            Ok(Json(snapshot).into_response())
        }
        .await,
    )
}

/// One display; its `ETag` is the version to send back in `If-Match`.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "Display id")),
    responses((status = 200, body = Device, headers(("ETag" = String, description = "The version, quoted"))),
              (status = 404, body = AppError)))]
async fn get_device(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let device = devices::get(&state.db, &user.org_id, &id)
                .await?
                .ok_or_else(|| AppError::not_found("No display with this id."))?;
            Ok(device_response(StatusCode::OK, &device))
        }
        .await,
    )
}

/// A display to add. Without `id`, one is made.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDevice {
    pub id: Option<String>,
    pub name: String,
    pub group_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// IANA time zone; default UTC.
    pub timezone: Option<String>,
}

/// Adds a display. Replaying the same `Idempotency-Key` returns the first answer.
#[utoipa::path(post, path = "/api/v1/devices", tag = "devices", request_body = NewDevice,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Device), (status = 422, body = AppError), (status = 403, body = AppError)))]
async fn create_device(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Json(body): Json<NewDevice>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let op = Op {
                op_id: op_id(&headers)?,
                base_version: None,
                change: Change::CreateDevice {
                    device_id: body.id.unwrap_or_else(super::db::new_id),
                    name: body.name,
                    group_id: body.group_id,
                    tags: body.tags,
                    timezone: body.timezone.unwrap_or_else(|| "UTC".into()),
                },
            };
            let ack = changes::apply(&state, &user, op).await?;
            let device = device_of(&ack).ok_or_else(AppError::internal)?;
            Ok(device_response(StatusCode::CREATED, device))
        }
        .await,
    )
}

/// Changes the fields given. `If-Match` is required; a stale one is a 409 whose
/// `current` is the display as it is now.
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices", request_body = DevicePatch,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The version the change is made against"),
           ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Device), (status = 409, body = AppError), (status = 422, body = AppError), (status = 404, body = AppError)))]
async fn update_device(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(patch): Json<DevicePatch>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let op = Op {
                op_id: op_id(&headers)?,
                base_version: Some(if_match(&headers)?),
                change: Change::UpdateDevice {
                    device_id: id,
                    patch,
                },
            };
            let ack = changes::apply(&state, &user, op).await?;
            let device = device_of(&ack).ok_or_else(AppError::internal)?;
            Ok(device_response(StatusCode::OK, device))
        }
        .await,
    )
}

/// Deletes a display. `If-Match` is required.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = AppError), (status = 404, body = AppError)))]
async fn delete_device(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let op = Op {
                op_id: op_id(&headers)?,
                base_version: Some(if_match(&headers)?),
                change: Change::DeleteDevice { device_id: id },
            };
            changes::apply(&state, &user, op).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

/// Proof of play a display reported, newest first (at most `limit`, default 100).
#[utoipa::path(get, path = "/api/v1/devices/{id}/plays", tag = "devices",
    params(("id" = String, Path), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<crate::model::Play>), (status = 404, body = AppError)))]
async fn device_plays(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<PlaysQuery>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            devices::get(&state.db, &user.org_id, &id)
                .await?
                .ok_or_else(|| AppError::not_found("No display with this id."))?;
            let plays = super::gateway::plays(
                &state.db,
                &user.org_id,
                &id,
                q.limit.unwrap_or(100).clamp(1, 10_000),
            )
            .await?;
            Ok(Json(plays).into_response())
        }
        .await,
    )
}

#[derive(Debug, Deserialize)]
pub struct PlaysQuery {
    limit: Option<i64>,
}

/// Applies an op in the console's own shape: what the pages send.
#[utoipa::path(post, path = "/api/v1/ops", tag = "changes", request_body = Op,
    responses((status = 200, body = OpAck), (status = 409, body = AppError), (status = 422, body = AppError)))]
async fn apply_op(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Json(op): Json<Op>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let ack = changes::apply(&state, &user, op).await?;
            Ok(Json(ack).into_response())
        }
        .await,
    )
}
