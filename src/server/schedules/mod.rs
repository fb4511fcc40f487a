//! Schedules: what each display plays and when. Schedules, dayparts and
//! takeovers change through the change path (`apply`); a display's timeline
//! is the shared rule (`model::timeline`) over what reaches it
//! (`timeline`); deploy states and executions arrive from the displays and
//! go through the log as system changes (`deploys`).

pub mod deploys;
mod rest;
pub mod store;
pub mod timeline;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};

pub use rest::{doc_rules, SchedulesDoc};

use crate::{
    error::AppError,
    model::{Change, SchedulesSnapshot},
    server::core::{
        change::{Applied, ChangeCtx},
        log, now_ms, Core,
    },
};

/// How long an ended takeover stays in the snapshot (the page lists recent ones).
pub const RECENT_TAKEOVERS_MS: i64 = 7 * 24 * 3_600_000;

/// Applies a schedule, daypart or takeover change inside the change path's transaction.
pub async fn apply(ctx: ChangeCtx<'_>, change: &Change) -> Result<Applied, AppError> {
    let org_id = ctx.user.org_id.as_str();
    let tx = ctx.tx;
    let base = ctx.base_version;
    let body = match change {
        Change::CreateSchedule { schedule_id, spec } => {
            store::create_schedule(tx, org_id, schedule_id, spec).await
        }
        Change::UpdateSchedule { schedule_id, spec } => {
            store::update_schedule(tx, org_id, schedule_id, base, spec).await
        }
        Change::DeleteSchedule { schedule_id } => {
            store::delete_schedule(tx, org_id, schedule_id, base).await
        }
        Change::CreateDaypart {
            daypart_id,
            name,
            start,
            end,
        } => store::create_daypart(tx, org_id, daypart_id, name, *start, *end).await,
        Change::UpdateDaypart {
            daypart_id,
            name,
            start,
            end,
        } => store::update_daypart(tx, org_id, daypart_id, base, name, *start, *end).await,
        Change::DeleteDaypart { daypart_id } => {
            store::delete_daypart(tx, org_id, daypart_id, base).await
        }
        Change::StartTakeover {
            takeover_id,
            name,
            playlist_id,
            group_id,
            starts_at,
            ends_at,
        } => {
            let when = store::When {
                starts_at: *starts_at,
                ends_at: *ends_at,
            };
            store::start_takeover(
                tx,
                org_id,
                takeover_id,
                name,
                playlist_id,
                group_id.as_deref(),
                when,
            )
            .await
        }
        Change::EndTakeover { takeover_id } => {
            store::end_takeover(tx, org_id, takeover_id, base).await
        }
        _ => Err(AppError::internal()),
    }?;
    Ok(body.into())
}

/// Everything the Schedules page needs, with the stream position it was
/// read at. Position first, rows after (rows may be newer, never older).
pub async fn snapshot(core: &Core, org_id: &str) -> Result<SchedulesSnapshot, AppError> {
    let (epoch, seq) = log::position(&core.db, org_id).await?;
    Ok(SchedulesSnapshot {
        schedules: store::list_schedules(&core.db, org_id).await?,
        dayparts: store::list_dayparts(&core.db, org_id).await?,
        takeovers: store::list_takeovers(&core.db, org_id, now_ms() - RECENT_TAKEOVERS_MS).await?,
        deploys: deploys::list(&core.db, org_id).await?,
        seq,
        epoch,
    })
}

/// The schedules, dayparts, takeovers, timeline and executions REST API.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Core: FromRef<S>,
{
    Router::new()
        .route(
            "/api/v1/schedules",
            get(rest::list_schedules).post(rest::create_schedule),
        )
        .route(
            "/api/v1/schedules/{id}",
            get(rest::get_schedule)
                .patch(rest::update_schedule)
                .delete(rest::delete_schedule),
        )
        .route(
            "/api/v1/dayparts",
            get(rest::list_dayparts).post(rest::create_daypart),
        )
        .route(
            "/api/v1/dayparts/{id}",
            get(rest::get_daypart)
                .patch(rest::update_daypart)
                .delete(rest::delete_daypart),
        )
        .route(
            "/api/v1/takeovers",
            get(rest::list_takeovers).post(rest::start_takeover),
        )
        .route("/api/v1/takeovers/{id}", get(rest::get_takeover))
        .route("/api/v1/takeovers/{id}/end", post(rest::end_takeover))
        .route("/api/v1/devices/{id}/timeline", get(rest::device_timeline))
        .route("/api/v1/executions", get(rest::list_executions))
        .route("/api/v1/deploys", get(rest::list_deploys))
}
