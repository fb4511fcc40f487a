use leptos::{prelude::*, server_fn::codec::Json};

use crate::{
    error::AppError,
    model::{DevicesSnapshot, Op, OpAck},
};

/// Displays and groups of the operator's organization, with the stream position
/// they were read at, so the page can subscribe from there and miss nothing.
///
/// Called while the server renders the Devices page itself, it reads only
/// the first screen of a big fleet (`server::devices::first_screen`, with
/// the page's query string), and for Overview and Health only the counts by status
/// (`counts_screen`); the page then fetches the whole snapshot as data.
/// Every other caller, the browser's included, gets it whole.
#[server(endpoint = "devices/snapshot")]
pub async fn fetch_devices() -> Result<DevicesSnapshot, AppError> {
    use super::ssr::*;
    use crate::server::devices;
    respond(
        async {
            let user = current_user()?;
            let core = &state()?.core;
            let page = use_context::<axum::http::request::Parts>();
            match page.as_ref().map(|parts| (parts.uri.path(), parts)) {
                Some(("/" | "/health", _)) => devices::counts_screen(core, &user.org_id).await,
                Some(("/devices", parts)) => {
                    let filters =
                        axum::extract::Query::<devices::store::Filters>::try_from_uri(&parts.uri)
                            .map(|q| q.0)
                            .unwrap_or_default();
                    devices::first_screen(core, &user.org_id, &filters).await
                }
                _ => devices::snapshot(core, &user.org_id).await,
            }
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
