//! Health over REST: alerts, a display's detail view, and commands.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{alerts, command, detail};
use crate::{
    error::AppError,
    model::{AlertsSnapshot, DeviceDetail, DisplayCommand},
    server::{
        core::{
            http::{in_range, Json, Path, Query},
            Core, CurrentUser,
        },
        displays::Gateway,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(super::screenshots::screenshot, device_detail, send_command, list_alerts),
    tags((name = "health", description = "Alerts, metric history, screenshots and commands"))
)]
pub struct HealthDoc;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetailQuery {
    /// Hours of metric history, 1 to 168; default 24.
    #[param(minimum = 1, maximum = 168)]
    hours: Option<i64>,
}

/// A display's live heartbeat state, metric history (`hours`, default 24),
/// latest proof of play, and when its latest screenshot was taken.
#[utoipa::path(get, path = "/api/v1/devices/{id}/detail", tag = "health",
    params(("id" = String, Path), DetailQuery),
    responses((status = 200, body = DeviceDetail), (status = 404, body = AppError)))]
pub(super) async fn device_detail(
    State(core): State<Core>,
    State(gateway): State<Arc<Gateway>>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Json<DeviceDetail>, AppError> {
    let hours = in_range(q.hours, "hours", 1, 168, 24)?;
    Ok(Json(
        detail(&core, &gateway, &user.org_id, &id, hours).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommandRequest {
    /// `reload` or `screenshot`.
    command: DisplayCommand,
}

/// Sends a command to a connected display. A screenshot arrives later: a
/// `screenshot_taken` event on the stream, then `GET …/screenshot`.
#[utoipa::path(post, path = "/api/v1/devices/{id}/commands", tag = "health",
    params(("id" = String, Path)), request_body = CommandRequest,
    responses((status = 202, description = "Sent; the body holds the command id"), (status = 422, body = AppError),
              (status = 409, body = AppError, description = "The display is not connected"),
              (status = 429, body = AppError, description = "The display has not taken the commands already sent")))]
pub(super) async fn send_command(
    State(core): State<Core>,
    State(gateway): State<Arc<Gateway>>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<CommandRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let id = command(&core, &gateway, &user, &id, req.command).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))))
}

/// The alert rules, every open alert and those resolved in the last day.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "health",
    responses((status = 200, body = AlertsSnapshot), (status = 401, body = AppError)))]
pub(super) async fn list_alerts(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<AlertsSnapshot>, AppError> {
    Ok(Json(alerts::snapshot(&core, &user.org_id).await?))
}
