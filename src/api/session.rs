use leptos::prelude::*;

use crate::{error::AppError, model::SessionInfo};

/// The signed-in operator and the stream position, read when the page loads.
#[server(endpoint = "session")]
pub async fn fetch_session() -> Result<SessionInfo, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let state = state()?;
            let (epoch, seq) =
                crate::server::core::log::position(&state.core.db, &user.org_id).await?;
            Ok(SessionInfo {
                email: user.email,
                role: user.role,
                org_name: user.org_name,
                seq,
                epoch,
                outbox_limit: state.core.settings.outbox_limit,
                retry: state.core.settings.retry(),
            })
        }
        .await,
    )
}
