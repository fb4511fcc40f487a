use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{Execution, SchedulesSnapshot, Takeover},
};

/// Schedules, dayparts, takeovers and deploy states, with the stream
/// position they were read at (the Schedules page, a display's detail view).
#[server(endpoint = "schedules/snapshot")]
pub async fn fetch_schedules() -> Result<SchedulesSnapshot, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            crate::server::schedules::snapshot(&state()?.core, &user.org_id).await
        }
        .await,
    )
}

/// The latest switches displays made, newest first (one display's with
/// `device_id`); the page adds new ones from the stream.
#[server(endpoint = "schedules/executions")]
pub async fn fetch_executions(device_id: Option<String>) -> Result<Vec<Execution>, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            crate::server::schedules::deploys::executions(
                &state()?.core.db,
                &user.org_id,
                device_id.as_deref(),
                None,
                50,
            )
            .await
        }
        .await,
    )
}

/// Takeovers not over yet (running, or set to start), for the banner every
/// console page shows: a few rows, where the page's snapshot carries every
/// schedule and deploy.
#[server(endpoint = "schedules/takeovers")]
pub async fn fetch_takeovers() -> Result<Vec<Takeover>, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let now = crate::server::core::now_ms();
            crate::server::schedules::store::list_takeovers(&state()?.core.db, &user.org_id, now)
                .await
        }
        .await,
    )
}
