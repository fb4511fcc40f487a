use leptos::prelude::*;

use crate::{error::AppError, model::LibrarySnapshot};

/// The content library and the playlists, with the stream position they were
/// read at (Content, Playlists, and the playlist pickers on Devices).
#[server(endpoint = "library/snapshot")]
pub async fn fetch_library() -> Result<LibrarySnapshot, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let state = state()?;
            crate::server::library::snapshot(&state.core, &user.org_id).await
        }
        .await,
    )
}
