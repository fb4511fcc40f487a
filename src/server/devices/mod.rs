//! Displays as records and their groups: an operator's create, edit, delete
//! and unpair through the change path, a group's default playlist, and the
//! devices REST API. The live side of a display (its socket, heartbeats,
//! what it plays) is `displays`, one layer up.

mod rest;
pub use rest::doc_rules;
pub mod store;

use axum::{extract::FromRef, routing::get, Router};

pub use rest::DevicesDoc;

use crate::{
    error::AppError,
    model::{Change, DevicesSnapshot, FirstScreen},
    server::core::{
        change::{Applied, ChangeCtx},
        log, Core,
    },
};

/// Applies a display or group change inside the change path's transaction.
pub async fn apply(ctx: ChangeCtx<'_>, change: &Change) -> Result<Applied, AppError> {
    let org_id = ctx.user.org_id.as_str();
    let tx = ctx.tx;
    let base = ctx.base_version;
    let body = match change {
        Change::CreateDevice {
            device_id,
            name,
            group_id,
            tags,
            timezone,
        } => {
            store::create(
                tx,
                org_id,
                device_id,
                name,
                group_id.as_deref(),
                tags,
                timezone,
            )
            .await
        }
        Change::UpdateDevice { device_id, patch } => {
            store::update(tx, org_id, device_id, base, patch).await
        }
        Change::DeleteDevice { device_id } => store::delete(tx, org_id, device_id, base).await,
        // Its player hears of it from the event (`displays` reads the log on every node).
        Change::UnpairDevice { device_id } => store::unpair(tx, org_id, device_id, base).await,
        Change::UpdateGroup {
            group_id,
            playlist_id,
        } => store::update_group(tx, org_id, group_id, base, playlist_id.as_deref()).await,
        _ => Err(AppError::internal()),
    }?;
    Ok(body.into())
}

/// `/api/v1/devices` and one display.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Core: FromRef<S>,
{
    Router::new()
        .route(
            "/api/v1/devices",
            get(rest::list_devices).post(rest::create_device),
        )
        .route(
            "/api/v1/devices/{id}",
            get(rest::get_device)
                .patch(rest::update_device)
                .delete(rest::delete_device),
        )
}

/// Displays and groups with the stream position they were read at (position
/// first: rows may be newer, never older).
pub async fn snapshot(core: &Core, org_id: &str) -> Result<DevicesSnapshot, AppError> {
    let (epoch, seq) = log::position(&core.db, org_id).await?;
    Ok(DevicesSnapshot {
        devices: store::list(&core.db, org_id).await?,
        groups: store::list_groups(&core.db, org_id).await?,
        seq,
        epoch,
        first_screen: None,
    })
}

/// Up to this many displays the Devices page is rendered whole.
pub const WHOLE_FLEET: usize = 250;
/// How many displays a first screen holds.
pub const FIRST_SCREEN: usize = 60;

/// What the server render of the Devices page reads: the whole snapshot for
/// a fleet of up to [`WHOLE_FLEET`], else the first [`FIRST_SCREEN`]
/// displays the page's search and filters (its query string) let through,
/// in name order, with the counts, so a page for 20,000 displays is a
/// screenful of markup and the rest arrives as data once it runs.
pub async fn first_screen(
    core: &Core,
    org_id: &str,
    query: &store::Filters,
) -> Result<DevicesSnapshot, AppError> {
    let (epoch, seq) = log::position(&core.db, org_id).await?;
    let (total, matching) = store::count(&core.db, org_id, query).await?;
    if total <= WHOLE_FLEET {
        return snapshot(core, org_id).await;
    }
    Ok(DevicesSnapshot {
        devices: store::first(&core.db, org_id, query, FIRST_SCREEN).await?,
        groups: store::list_groups(&core.db, org_id).await?,
        seq,
        epoch,
        first_screen: Some(FirstScreen {
            total,
            matching,
            by_status: None,
        }),
    })
}

/// What the server render of Overview and Health reads of a fleet over
/// `WHOLE_FLEET` displays: no rows, only the counts by status (the page
/// fetches the whole snapshot as data once it runs).
pub async fn counts_screen(core: &Core, org_id: &str) -> Result<DevicesSnapshot, AppError> {
    let (epoch, seq) = log::position(&core.db, org_id).await?;
    let by_status = store::count_by_status(&core.db, org_id).await?;
    let total = by_status.iter().sum();
    if total <= WHOLE_FLEET {
        return snapshot(core, org_id).await;
    }
    Ok(DevicesSnapshot {
        devices: Vec::new(),
        groups: store::list_groups(&core.db, org_id).await?,
        seq,
        epoch,
        first_screen: Some(FirstScreen {
            total,
            matching: total,
            by_status: Some(by_status),
        }),
    })
}
