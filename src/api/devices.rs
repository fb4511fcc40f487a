use leptos::{prelude::*, server_fn::codec::Json};

use crate::{
    error::AppError,
    model::{DevicesSnapshot, Op, OpAck},
};

/// Displays and groups of the operator's organization, with the stream position
/// they were read at, so the page can subscribe from there and miss nothing.
#[server(endpoint = "devices/snapshot")]
pub async fn fetch_devices() -> Result<DevicesSnapshot, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let state = state()?;
            // Position first: rows read after it may be newer, never older, and
            // replaying an event the rows already hold is a no-op (versions).
            let (epoch, seq) = crate::server::log::position(&state.db, &user.org_id).await?;
            let devices = crate::server::devices::list(&state.db, &user.org_id).await?;
            let groups = crate::server::devices::list_groups(&state.db, &user.org_id).await?;
            Ok(DevicesSnapshot {
                devices,
                groups,
                seq,
                epoch,
            })
        }
        .await,
    )
}

/// The one entry point for every change (see `server::changes`).
#[server(input = Json, endpoint = "ops/apply")]
pub async fn apply_op(op: Op) -> Result<OpAck, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let state = state()?;
            crate::server::changes::apply(&state, &user, op).await
        }
        .await,
    )
}
