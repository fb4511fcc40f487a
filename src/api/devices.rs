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
            crate::server::devices::snapshot(&state()?.core, &user.org_id).await
        }
        .await,
    )
}

/// The one entry point for every change (see `server::core::change`).
#[server(input = Json, endpoint = "ops/apply")]
pub async fn apply_op(op: Op) -> Result<OpAck, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let state = state()?;
            crate::server::core::change::apply(&state.core, &user, op).await
        }
        .await,
    )
}
