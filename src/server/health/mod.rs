//! Fleet health beyond status: alert rules and the alerts they raise (the
//! evaluator runs on the fleet tick), metric history, screenshots, a
//! display's detail view, commands to displays, and their REST routes.

pub mod alerts;
pub mod evaluator;
pub mod metrics;
mod rest;
pub mod rules;
pub mod screenshots;

use std::sync::Arc;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};

pub use rest::HealthDoc;

use crate::{
    error::AppError,
    model::{Change, DeviceDetail, DisplayCommand},
    server::{
        core::{
            change::{Applied, ChangeCtx},
            now_ms, Core, CurrentUser,
        },
        devices::store as devices,
        displays::{plays, Gateway},
    },
};

/// Applies an alert or rule change inside the change path's transaction.
pub async fn apply(ctx: ChangeCtx<'_>, change: &Change) -> Result<Applied, AppError> {
    let org_id = ctx.user.org_id.as_str();
    let body = match change {
        Change::AcknowledgeAlert { alert_id } => {
            alerts::acknowledge(ctx.tx, org_id, alert_id, &ctx.user.email).await
        }
        // Every node's evaluator drops its cached rules when it reads the event.
        Change::UpdateAlertRule { rule_id, patch } => {
            ctx.user.require_admin("change alert rules")?;
            rules::update_rule(ctx.tx, org_id, rule_id, ctx.base_version, patch).await
        }
        _ => Err(AppError::internal()),
    }?;
    Ok(body.into())
}

/// Alerts, a display's detail and screenshot, and commands.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Core: FromRef<S>,
    Arc<Gateway>: FromRef<S>,
{
    Router::new()
        .route(
            "/api/v1/devices/{id}/screenshot",
            get(screenshots::screenshot),
        )
        .route("/api/v1/devices/{id}/detail", get(rest::device_detail))
        .route("/api/v1/devices/{id}/commands", post(rest::send_command))
        .route("/api/v1/alerts", get(rest::list_alerts))
}

/// What the display detail view shows (`hours` of history, 1 to 168).
pub async fn detail(
    core: &Core,
    gateway: &Gateway,
    org_id: &str,
    device_id: &str,
    hours: i64,
) -> Result<DeviceDetail, AppError> {
    devices::get(&core.db, org_id, device_id)
        .await?
        .ok_or_else(|| AppError::not_found("No display with this id."))?;
    let beat = gateway.beat(device_id);
    let since = now_ms() - hours.clamp(1, 24 * 7) * 3_600_000;
    let screenshot_at: Option<i64> = sqlx::query_scalar(
        "SELECT at FROM device_screenshots WHERE org_id = $1 AND device_id = $2",
    )
    .bind(org_id)
    .bind(device_id)
    .fetch_optional(&core.db.pool)
    .await?;
    Ok(DeviceDetail {
        device_id: device_id.to_string(),
        connected: beat.as_ref().is_some_and(|b| b.connected),
        last_beat: beat.as_ref().and_then(|b| b.last_beat),
        metrics: beat.as_ref().map(|b| b.metrics.clone()).unwrap_or_default(),
        playing: beat.and_then(|b| b.playing),
        samples: metrics::history(&core.db, org_id, device_id, since).await?,
        plays: plays::plays(&core.db, org_id, device_id, 10).await?,
        screenshot_at,
        sample_seconds: core.settings.metrics_sample_seconds.max(1),
    })
}

/// A command from an operator (any role may ask for a screenshot; a reload
/// needs an editor).
pub async fn command(
    core: &Core,
    gateway: &Gateway,
    user: &CurrentUser,
    device_id: &str,
    command: DisplayCommand,
) -> Result<String, AppError> {
    if command == DisplayCommand::Reload {
        user.require_editor()?;
    }
    devices::get(&core.db, &user.org_id, device_id)
        .await?
        .ok_or_else(|| AppError::not_found("No display with this id."))?;
    gateway.command(device_id, command)
}
