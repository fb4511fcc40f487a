//! Displays over REST: the same operations as the console, through the same
//! change path. `Idempotency-Key` makes the op id (a replay gets the stored
//! answer and changes nothing), `If-Match` carries the version a change is
//! made against (stale: 409 with the current display).

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::store;
use crate::model::device::{MAX_NAME_CHARS, MAX_TAGS, MAX_TAG_CHARS};
use crate::{
    error::AppError,
    model::{Change, Device, DevicePatch, DevicesSnapshot, EventBody, Op, OpAck},
    server::core::{
        apidoc::{self, Rule},
        change,
        http::{versioned, IdempotencyKey, IfMatch, Json, Path},
        Core, CurrentUser,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_devices, get_device, create_device, update_device, delete_device),
    tags((name = "devices", description = "Displays"))
)]
pub struct DevicesDoc;

/// The input rules of displays, for the document.
pub fn doc_rules() -> Vec<Rule> {
    let name = || apidoc::name(MAX_NAME_CHARS);
    let tags = || apidoc::tags(MAX_TAGS, MAX_TAG_CHARS);
    vec![
        Rule::new("NewDevice", "name", name()),
        Rule::new("NewDevice", "tags", tags()),
        Rule::new("NewDevice", "timezone", apidoc::timezone()),
        Rule::new("DevicePatch", "name", name()),
        Rule::new("DevicePatch", "tags", tags()),
        Rule::new("DevicePatch", "timezone", apidoc::timezone()),
        Rule::variant("Change", "create_device", "name", name()),
        Rule::variant("Change", "create_device", "tags", tags()),
        Rule::variant("Change", "create_device", "timezone", apidoc::timezone()),
        Rule::variant("Change", "pair_device", "name", name()),
        Rule::variant("Change", "pair_device", "timezone", apidoc::timezone()),
    ]
}

fn device_of(ack: &OpAck) -> Result<&Device, AppError> {
    match &ack.event.body {
        EventBody::DeviceUpserted { device } => Ok(device),
        _ => Err(AppError::internal()),
    }
}

/// All displays and groups of the organization, with the stream position.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    responses((status = 200, body = DevicesSnapshot), (status = 401, body = AppError)))]
pub(super) async fn list_devices(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<DevicesSnapshot>, AppError> {
    Ok(Json(super::snapshot(&core, &user.org_id).await?))
}

/// One display; its `ETag` is the version to send back in `If-Match`.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "Display id")),
    responses((status = 200, body = Device, headers(("ETag" = String, description = "The version, quoted"))),
              (status = 404, body = AppError)))]
pub(super) async fn get_device(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let device = store::get(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No display with this id."))?;
    Ok(versioned(StatusCode::OK, device.version, &device))
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
pub(super) async fn create_device(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    Json(body): Json<NewDevice>,
) -> Result<Response, AppError> {
    let op = Op {
        op_id: key.op_id(),
        base_version: None,
        change: Change::CreateDevice {
            device_id: body.id.unwrap_or_else(|| key.new_entity_id(0)),
            name: body.name,
            group_id: body.group_id,
            tags: body.tags,
            timezone: body.timezone.unwrap_or_else(|| "UTC".into()),
        },
    };
    let ack = change::apply(&core, &user, op).await?;
    let device = device_of(&ack)?;
    Ok(versioned(StatusCode::CREATED, device.version, device))
}

/// Changes the fields given. `If-Match` is required; a stale one is a 409 whose
/// `current` is the display as it is now.
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices", request_body = DevicePatch,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The version the change is made against"),
           ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Device), (status = 409, body = AppError), (status = 422, body = AppError), (status = 404, body = AppError)))]
pub(super) async fn update_device(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
    Json(patch): Json<DevicePatch>,
) -> Result<Response, AppError> {
    let op = Op {
        op_id: key.op_id(),
        base_version: Some(base),
        change: Change::UpdateDevice {
            device_id: id,
            patch,
        },
    };
    let ack = change::apply(&core, &user, op).await?;
    let device = device_of(&ack)?;
    Ok(versioned(StatusCode::OK, device.version, device))
}

/// Deletes a display. `If-Match` is required.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = AppError), (status = 404, body = AppError)))]
pub(super) async fn delete_device(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
) -> Result<StatusCode, AppError> {
    let op = Op {
        op_id: key.op_id(),
        base_version: Some(base),
        change: Change::DeleteDevice { device_id: id },
    };
    change::apply(&core, &user, op).await?;
    Ok(StatusCode::NO_CONTENT)
}
