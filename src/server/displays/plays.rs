//! Proof of play and player errors as displays report them: each stored
//! once by its id (a player re-sends what was not acknowledged), and a
//! display's plays read back, newest first.

use axum::extract::State;
use serde::Deserialize;
use sqlx::Row;

use super::socket::Session;
use crate::{
    error::AppError,
    model::Play,
    server::{
        core::{
            http::{in_range, Json, Path, Query},
            now_ms, Core, CurrentUser, Db,
        },
        devices::store as devices,
    },
};

pub(super) async fn record_play(
    core: &Core,
    s: &Session,
    id: &str,
    content_id: &str,
    playlist_id: Option<&str>,
    started_at: i64,
    duration_ms: i64,
) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 64 {
        return Err(AppError::validation(
            "A play event id is 1 to 64 characters.",
        ));
    }
    sqlx::query(
        "INSERT INTO play_events (device_id, id, org_id, content_id, playlist_id, started_at, duration_ms, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (device_id, id) DO NOTHING",
    )
    .bind(&s.device_id)
    .bind(id)
    .bind(&s.org_id)
    .bind(content_id)
    .bind(playlist_id)
    .bind(started_at)
    .bind(duration_ms)
    .bind(now_ms())
    .execute(&core.db.pool)
    .await?;
    Ok(())
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
    .execute(&core.db.pool)
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
        "SELECT id, content_id, playlist_id, started_at, duration_ms, received_at FROM play_events \
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
            playlist_id: r.get("playlist_id"),
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
