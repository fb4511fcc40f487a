//! Fleet health beyond status: metric history (sampled from the heartbeats
//! the gateway holds), screenshots displays send when asked, the display
//! detail view's data, and the REST routes for them, alerts and commands.

use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Extension, Json, Router,
};
use base64::Engine;
use serde::Deserialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{
    alerts,
    auth::CurrentUser,
    db::{now_ms, Db},
    devices,
    gateway::Beat,
    log,
    rest::{who, Answer},
    state::AppState,
};
use crate::{
    error::AppError,
    model::{AlertsSnapshot, DeviceDetail, DisplayCommand, EventBody, MetricSample},
};

/// How long metric samples are kept.
pub const METRICS_RETENTION_MS: i64 = 7 * 24 * 3_600_000;
/// The largest screenshot accepted, decoded.
const SCREENSHOT_MAX_BYTES: usize = 768 * 1024;

/// Writes one sample per display that beat within the offline window, in one
/// transaction.
pub async fn sample_metrics(
    db: &Db,
    fleet: &[(String, Beat)],
    now: i64,
    interval_ms: i64,
) -> Result<(), AppError> {
    let fresh: Vec<&(String, Beat)> = fleet
        .iter()
        .filter(|(_, b)| b.last_beat.is_some_and(|at| now - at <= 3 * interval_ms))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool.begin().await?;
    for (device_id, b) in fresh {
        sqlx::query(
            "INSERT INTO device_metrics (device_id, at, org_id, cpu_pct, memory_pct, temperature_c, storage_free_pct) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (device_id, at) DO NOTHING",
        )
        .bind(device_id)
        .bind(now)
        .bind(&b.org_id)
        .bind(b.metrics.cpu_pct)
        .bind(b.metrics.memory_pct)
        .bind(b.metrics.temperature_c)
        .bind(b.metrics.storage_free_pct)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn prune_metrics(db: &Db) -> Result<u64, AppError> {
    let res = sqlx::query("DELETE FROM device_metrics WHERE at < $1")
        .bind(now_ms() - METRICS_RETENTION_MS)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected())
}

/// A display's samples since `since`, oldest first (at most 2,000).
pub async fn metric_history(
    db: &Db,
    org_id: &str,
    device_id: &str,
    since: i64,
) -> Result<Vec<MetricSample>, AppError> {
    let rows = sqlx::query(
        "SELECT at, cpu_pct, memory_pct, temperature_c, storage_free_pct FROM device_metrics \
         WHERE org_id = $1 AND device_id = $2 AND at >= $3 ORDER BY at DESC LIMIT 2000",
    )
    .bind(org_id)
    .bind(device_id)
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    let mut samples: Vec<MetricSample> = rows
        .iter()
        .map(|r| MetricSample {
            at: r.get("at"),
            cpu_pct: r.get("cpu_pct"),
            memory_pct: r.get("memory_pct"),
            temperature_c: r.get("temperature_c"),
            storage_free_pct: r.get("storage_free_pct"),
        })
        .collect();
    samples.reverse();
    Ok(samples)
}

/// What the display detail view shows (`hours` of history).
pub async fn detail(
    state: &AppState,
    org_id: &str,
    device_id: &str,
    hours: i64,
) -> Result<DeviceDetail, AppError> {
    devices::get(&state.db, org_id, device_id)
        .await?
        .ok_or_else(|| AppError::not_found("No display with this id."))?;
    let beat = state.gateway.beat(device_id);
    let since = now_ms() - hours.clamp(1, 24 * 7) * 3_600_000;
    let screenshot_at: Option<i64> = sqlx::query_scalar(
        "SELECT at FROM device_screenshots WHERE org_id = $1 AND device_id = $2",
    )
    .bind(org_id)
    .bind(device_id)
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(DeviceDetail {
        device_id: device_id.to_string(),
        connected: beat.as_ref().is_some_and(|b| b.connected),
        last_beat: beat.as_ref().and_then(|b| b.last_beat),
        metrics: beat.as_ref().map(|b| b.metrics.clone()).unwrap_or_default(),
        playing: beat.and_then(|b| b.playing),
        samples: metric_history(&state.db, org_id, device_id, since).await?,
        plays: super::gateway::plays(&state.db, org_id, device_id, 10).await?,
        screenshot_at,
        sample_seconds: state.settings.metrics_sample_seconds.max(1),
    })
}

/// Checks and stores a screenshot a display sent (a data URL), replacing the
/// previous one, and tells operators with a `screenshot_taken` event.
pub async fn store(
    state: &AppState,
    org_id: &str,
    device_id: &str,
    data_url: &str,
) -> Result<(), AppError> {
    let bytes = decode_data_url(data_url)?;
    let format = image::guess_format(&bytes)
        .map_err(|_| AppError::validation("A screenshot must be a PNG or JPEG image."))?;
    let mime = match format {
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::Jpeg => "image/jpeg",
        _ => {
            return Err(AppError::validation(
                "A screenshot must be a PNG or JPEG image.",
            ))
        }
    };
    let (width, height) = image::ImageReader::with_format(std::io::Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(|_| AppError::validation("The screenshot image could not be read."))?;
    let dir = state.media_dir.join("screens");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|_| AppError::internal())?;
    // Written aside, then renamed: a reader never sees half a file.
    let tmp = dir.join(format!("{device_id}.tmp"));
    tokio::fs::write(&tmp, &bytes)
        .await
        .map_err(|_| AppError::internal())?;
    tokio::fs::rename(&tmp, dir.join(device_id))
        .await
        .map_err(|_| AppError::internal())?;
    let at = now_ms();
    let mut tx = state.db.pool.begin().await?;
    log::lock_stream(&mut tx, org_id).await?;
    sqlx::query(
        "INSERT INTO device_screenshots (device_id, org_id, at, mime, width, height) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (device_id) DO UPDATE SET at = excluded.at, mime = excluded.mime, \
         width = excluded.width, height = excluded.height",
    )
    .bind(device_id)
    .bind(org_id)
    .bind(at)
    .bind(mime)
    .bind(i64::from(width))
    .bind(i64::from(height))
    .execute(&mut *tx)
    .await?;
    let body = EventBody::ScreenshotTaken {
        device_id: device_id.to_string(),
        at,
    };
    super::changes::commit_system(state, org_id, tx, vec![body]).await
}

fn decode_data_url(data_url: &str) -> Result<Vec<u8>, AppError> {
    let b64 = data_url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"))
        .map(|(_, b64)| b64)
        .ok_or_else(|| {
            AppError::validation("A screenshot is sent as a data: URL with base64 content.")
        })?;
    if b64.len() > SCREENSHOT_MAX_BYTES / 3 * 4 + 4 {
        return Err(AppError::validation(format!(
            "A screenshot may be at most {} KiB.",
            SCREENSHOT_MAX_BYTES / 1024
        )));
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| AppError::validation("The screenshot's base64 content is not valid."))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/devices/{id}/screenshot", get(screenshot))
        .route("/api/v1/devices/{id}/detail", get(device_detail))
        .route("/api/v1/devices/{id}/commands", post(send_command))
        .route("/api/v1/alerts", get(list_alerts))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(screenshot, device_detail, send_command, list_alerts),
    tags((name = "health", description = "Alerts, metric history, screenshots and commands"))
)]
pub struct HealthDoc;

/// The latest screenshot of a display (PNG or JPEG); 404 before the first.
#[utoipa::path(get, path = "/api/v1/devices/{id}/screenshot", tag = "health",
    params(("id" = String, Path)),
    responses((status = 200, description = "The image", content_type = "image/jpeg"), (status = 404, body = AppError)))]
async fn screenshot(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let mime: Option<String> = sqlx::query_scalar(
                "SELECT mime FROM device_screenshots WHERE org_id = $1 AND device_id = $2",
            )
            .bind(&user.org_id)
            .bind(&id)
            .fetch_optional(&state.db.pool)
            .await?;
            let none = || AppError::not_found("This display has sent no screenshot yet.");
            let mime = mime.ok_or_else(none)?;
            let bytes = tokio::fs::read(state.media_dir.join("screens").join(&id))
                .await
                .map_err(|_| none())?;
            Ok((
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "private, no-store".to_string()),
                ],
                bytes,
            )
                .into_response())
        }
        .await,
    )
}

#[derive(Debug, Deserialize)]
pub struct DetailQuery {
    hours: Option<i64>,
}

/// A display's live heartbeat state, metric history (`hours`, default 24),
/// latest proof of play, and when its latest screenshot was taken.
#[utoipa::path(get, path = "/api/v1/devices/{id}/detail", tag = "health",
    params(("id" = String, Path), ("hours" = Option<i64>, Query)),
    responses((status = 200, body = DeviceDetail), (status = 404, body = AppError)))]
async fn device_detail(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let d = detail(&state, &user.org_id, &id, q.hours.unwrap_or(24)).await?;
            Ok(Json(d).into_response())
        }
        .await,
    )
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
    responses((status = 202, description = "Sent; the body holds the command id"), (status = 422, body = AppError)))]
async fn send_command(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    Json(req): Json<CommandRequest>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let id = command(&state, &user, &id, req.command).await?;
            Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))).into_response())
        }
        .await,
    )
}

/// A command from an operator (any role may ask for a screenshot; a reload
/// needs an editor).
pub async fn command(
    state: &AppState,
    user: &CurrentUser,
    device_id: &str,
    command: DisplayCommand,
) -> Result<String, AppError> {
    if command == DisplayCommand::Reload {
        user.require_editor()?;
    }
    devices::get(&state.db, &user.org_id, device_id)
        .await?
        .ok_or_else(|| AppError::not_found("No display with this id."))?;
    state.gateway.command(device_id, command)
}

/// The alert rules, every open alert and those resolved in the last day.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "health",
    responses((status = 200, body = AlertsSnapshot), (status = 401, body = AppError)))]
async fn list_alerts(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            Ok(Json(alerts::snapshot(&state, &user.org_id).await?).into_response())
        }
        .await,
    )
}
