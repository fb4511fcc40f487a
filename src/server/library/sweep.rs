//! Removing media files no library item refers to any more.

use super::{content, media};
use crate::{error::AppError, server::core::Core};

/// Deletes media files no library item refers to. Files younger than an
/// hour are left alone: an upload in progress has its file before its row.
pub async fn sweep_media(core: &Core) -> Result<usize, AppError> {
    let mut removed = 0;
    let Ok(mut dir) = tokio::fs::read_dir(&core.media_dir).await else {
        return Ok(0);
    };
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    while let Ok(Some(entry)) = dir.next_entry().await {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some((sha, kind)) = media::parse_file_name(&name) else {
            continue;
        };
        let old = entry
            .metadata()
            .await
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < hour_ago);
        if old && !content::sha_in_use(&core.db, &sha).await? {
            media::remove(&core.media_dir, &sha, kind).await;
            removed += 1;
        }
    }
    Ok(removed)
}
