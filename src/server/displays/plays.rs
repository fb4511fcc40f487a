//! Proof of play and player errors as displays report them: each stored
//! once by its id (a player re-sends what was not acknowledged), and a
//! display's plays read back, newest first.

use axum::extract::State;
use serde::Deserialize;
use sqlx::Row;

use super::{socket::Session, Gateway};
use crate::{
    error::AppError,
    model::Play,
    server::{
        analytics::ingest,
        core::{
            http::{in_range, Json, Path, Query},
            Core, CurrentUser, Db, ExecuteWrite,
        },
        devices::store as devices,
    },
};

/// Queues a play for the writer, which stores it once by its id with its
/// names as they are now, folded into the rollups (`analytics::ingest`);
/// the answer comes on the returned ack.
#[allow(clippy::too_many_arguments)]
pub(super) async fn queue_play(
    core: &Core,
    gateway: &Gateway,
    s: &Session,
    id: &str,
    content_id: &str,
    playlist_id: Option<&str>,
    started_at: i64,
    duration_ms: i64,
) -> Result<ingest::Ack, AppError> {
    let play = ingest::Play {
        org_id: s.org_id.clone(),
        device_id: s.device_id.clone(),
        id: id.to_string(),
        content_id: content_id.to_string(),
        playlist_id: playlist_id.map(str::to_string),
        started_at,
        duration_ms,
    };
    gateway.plays.submit(core, play).await
}

pub(super) async fn record_error(
    core: &Core,
    s: &Session,
    id: &str,
    at: i64,
    message: &str,
) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 64 {
        return Err(AppError::validation("An error id is 1 to 64 characters."));
    }
    let message: String = message.chars().take(1000).collect();
    sqlx::query(
        "INSERT INTO device_errors (device_id, id, org_id, at, message) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (device_id, id) DO NOTHING",
    )
    .bind(&s.device_id)
    .bind(id)
    .bind(&s.org_id)
    .bind(at)
    .bind(message)
    .execute_write(&core.db)
    .await?;
    Ok(())
}

/// Proof of play of one display, newest first.
pub async fn plays(
    db: &Db,
    org_id: &str,
    device_id: &str,
    limit: i64,
) -> Result<Vec<Play>, AppError> {
    let rows = sqlx::query(
        "SELECT id, content_id, playlist_id, started_at, duration_ms, received_at FROM plays \
         WHERE org_id = $1 AND device_id = $2 ORDER BY started_at DESC, id LIMIT $3",
    )
    .bind(org_id)
    .bind(device_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Play {
            id: r.get("id"),
            content_id: r.get("content_id"),
            playlist_id: Some(r.get::<String, _>("playlist_id")).filter(|p| !p.is_empty()),
            started_at: r.get("started_at"),
            duration_ms: r.get("duration_ms"),
            received_at: r.get("received_at"),
        })
        .collect())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaysQuery {
    /// At most this many, 1 to 10000; default 100.
    #[param(minimum = 1, maximum = 10_000)]
    limit: Option<i64>,
}

/// Proof of play a display reported, newest first (at most `limit`, default 100).
#[utoipa::path(get, path = "/api/v1/devices/{id}/plays", tag = "devices",
    params(("id" = String, Path), PlaysQuery),
    responses((status = 200, body = Vec<Play>), (status = 404, body = AppError)))]
pub(super) async fn device_plays(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<PlaysQuery>,
) -> Result<Json<Vec<Play>>, AppError> {
    devices::get(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No display with this id."))?;
    let limit = in_range(q.limit, "limit", 1, 10_000, 100)?;
    Ok(Json(plays(&core.db, &user.org_id, &id, limit).await?))
}
