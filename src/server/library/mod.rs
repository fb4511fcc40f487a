//! The content library (uploads and web pages), playlists, and the media
//! bytes behind them: the changes of both through the change path, their
//! REST API, serving and sweeping the stored files.

pub mod content;
pub mod media;
pub mod playlists;
mod rest;
pub use rest::doc_rules;
pub mod sweep;

use axum::{
    extract::{DefaultBodyLimit, FromRef},
    routing::{get, patch, post, put},
    Router,
};

pub use rest::LibraryDoc;

use crate::{
    error::AppError,
    model::{Change, LibrarySnapshot},
    server::core::{
        change::{Applied, ChangeCtx},
        log, Core,
    },
};

/// Applies a content or playlist change inside the change path's transaction.
pub async fn apply(ctx: ChangeCtx<'_>, change: &Change) -> Result<Applied, AppError> {
    let org_id = ctx.user.org_id.as_str();
    let tx = ctx.tx;
    let base = ctx.base_version;
    let body = match change {
        Change::CreateWebPage {
            content_id,
            name,
            url,
            reload_seconds,
            tags,
        } => {
            content::create_web_page(tx, org_id, content_id, name, url, *reload_seconds, tags).await
        }
        Change::AddMedia {
            content_id,
            name,
            media,
        } => content::add_media(tx, org_id, content_id, name, media).await,
        Change::UpdateContent { content_id, patch } => {
            content::update(tx, org_id, content_id, base, patch).await
        }
        Change::DeleteContent { content_id } => content::delete(tx, org_id, content_id, base).await,
        Change::CreatePlaylist { playlist_id, name } => {
            playlists::create(tx, org_id, playlist_id, name).await
        }
        Change::RenamePlaylist { playlist_id, name } => {
            playlists::rename(tx, org_id, playlist_id, base, name).await
        }
        Change::DeletePlaylist { playlist_id } => {
            playlists::delete(tx, org_id, playlist_id, base).await
        }
        Change::InsertItem { playlist_id, .. }
        | Change::MoveItem { playlist_id, .. }
        | Change::RemoveItem { playlist_id, .. }
        | Change::SetItemDuration { playlist_id, .. } => {
            let edit = change.item_edit().ok_or_else(AppError::internal)?;
            playlists::edit_items(tx, org_id, playlist_id, &edit).await
        }
        _ => Err(AppError::internal()),
    }?;
    Ok(body.into())
}

/// Media bytes (`/media/…`) and the content and playlist REST API.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Core: FromRef<S>,
{
    Router::new()
        .route("/media/{file}", get(media::media_file))
        .route("/media/thumbs/{file}", get(media::thumb_file))
        .route("/api/v1/library", get(rest::library))
        .route(
            "/api/v1/content",
            get(rest::list_content)
                .post(rest::upload)
                // Uploads stream to disk under their own limit (upload-limit-mb).
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/content/web-pages", post(rest::create_web_page))
        .route(
            "/api/v1/content/{id}",
            get(rest::get_content)
                .patch(rest::update_content)
                .delete(rest::delete_content),
        )
        .route(
            "/api/v1/playlists",
            get(rest::list_playlists).post(rest::create_playlist),
        )
        .route(
            "/api/v1/playlists/{id}",
            get(rest::get_playlist)
                .patch(rest::rename_playlist)
                .delete(rest::delete_playlist),
        )
        .route("/api/v1/playlists/{id}/items", post(rest::insert_item))
        .route(
            "/api/v1/playlists/{id}/items/{item_id}",
            patch(rest::update_item).delete(rest::remove_item),
        )
        .route(
            "/api/v1/groups/{id}/playlist",
            put(rest::set_group_playlist),
        )
}

/// The library and the playlists with the stream position they were read at.
/// Position first, rows after: rows may be newer than the position, never
/// older, and replaying an event the rows already hold changes nothing.
pub async fn snapshot(core: &Core, org_id: &str) -> Result<LibrarySnapshot, AppError> {
    let (epoch, seq) = log::position(&core.db, org_id).await?;
    Ok(LibrarySnapshot {
        content: content::list(&core.db, org_id).await?,
        playlists: playlists::list(&core.db, org_id).await?,
        seq,
        epoch,
        storage_quota: core.settings.storage_quota_bytes() as i64,
    })
}
