//! The content library and playlists over HTTP: media bytes (ETag, immutable
//! caching, ranges), streamed uploads, and the REST endpoints integrators use.
//! Every change goes through the change path like the console's own ops;
//! `Idempotency-Key` and `If-Match` mean what they mean for displays.

use axum::{
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Extension, Json, Router,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    auth::CurrentUser,
    changes, content, log, media, playlists,
    rest::{etag, if_match, op_id, who, Answer},
    state::AppState,
};
use crate::{
    error::AppError,
    model::{
        Change, Content, ContentKind, ContentPatch, DeviceGroup, EventBody, LibrarySnapshot,
        MediaInfo, Op, OpAck, Playlist, PlaylistItem,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(library, list_content, get_content, upload, create_web_page, update_content, delete_content,
          list_playlists, get_playlist, create_playlist, rename_playlist, delete_playlist,
          insert_item, update_item, remove_item, set_group_playlist),
    tags((name = "content", description = "The content library: uploads and web pages"),
         (name = "playlists", description = "Playlists, their items, and group defaults"))
)]
pub struct LibraryDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/media/{file}", get(media_file))
        .route("/media/thumbs/{file}", get(thumb_file))
        .route("/api/v1/library", get(library))
        .route(
            "/api/v1/content",
            get(list_content)
                .post(upload)
                // Uploads stream to disk under their own limit (upload-limit-mb).
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/content/web-pages", post(create_web_page))
        .route(
            "/api/v1/content/{id}",
            get(get_content)
                .patch(update_content)
                .delete(delete_content),
        )
        .route(
            "/api/v1/playlists",
            get(list_playlists).post(create_playlist),
        )
        .route(
            "/api/v1/playlists/{id}",
            get(get_playlist)
                .patch(rename_playlist)
                .delete(delete_playlist),
        )
        .route("/api/v1/playlists/{id}/items", post(insert_item))
        .route(
            "/api/v1/playlists/{id}/items/{item_id}",
            axum::routing::patch(update_item).delete(remove_item),
        )
        .route("/api/v1/groups/{id}/playlist", put(set_group_playlist))
}

// ---------------------------------------------------------------- media bytes

async fn media_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    match media::parse_file_name(&file) {
        Some((sha, kind)) => {
            let path = state.media_dir.join(media::file_name(&sha, kind));
            media::serve_file(&path, &sha, kind.mime(), &headers).await
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn thumb_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let sha = file.strip_suffix(".png");
    match sha {
        Some(sha) if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
            let path = state.media_dir.join("thumbs").join(&file);
            media::serve_file(&path, &format!("{sha}-thumb"), "image/png", &headers).await
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Deletes media files no library item refers to any more. Files younger than
/// an hour are left alone: an upload in progress has its file before its row.
pub async fn sweep_media(state: &AppState) -> Result<usize, AppError> {
    let mut removed = 0;
    let Ok(mut dir) = tokio::fs::read_dir(&state.media_dir).await else {
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
        if old && !content::sha_in_use(&state.db, &sha).await? {
            media::remove(&state.media_dir, &sha, kind).await;
            removed += 1;
        }
    }
    Ok(removed)
}

// ------------------------------------------------------------------ helpers

/// Runs one op through the change path.
async fn run(
    state: &AppState,
    user: &CurrentUser,
    headers: &HeaderMap,
    base_version: Option<i64>,
    change: Change,
) -> Result<OpAck, AppError> {
    let op = Op {
        op_id: op_id(headers)?,
        base_version,
        change,
    };
    changes::apply(state, user, op).await
}

fn entity_response<T: serde::Serialize>(status: StatusCode, version: i64, body: &T) -> Response {
    (status, [(header::ETAG, etag(version))], Json(body)).into_response()
}

fn content_of(ack: OpAck) -> Result<Content, AppError> {
    match ack.event.body {
        EventBody::ContentUpserted { content } => Ok(content),
        _ => Err(AppError::internal()),
    }
}

fn playlist_of(ack: OpAck) -> Result<Playlist, AppError> {
    match ack.event.body {
        EventBody::PlaylistUpserted { playlist } => Ok(playlist),
        _ => Err(AppError::internal()),
    }
}

// ------------------------------------------------------------------ library

/// The library and the playlists, with the stream position they were read at.
#[utoipa::path(get, path = "/api/v1/library", tag = "content",
    responses((status = 200, body = LibrarySnapshot), (status = 401, body = AppError)))]
async fn library(State(state): State<AppState>, user: Option<Extension<CurrentUser>>) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            Ok(Json(snapshot(&state, &user.org_id).await?).into_response())
        }
        .await,
    )
}

/// Position first, rows after: rows may be newer than the position, never
/// older, and replaying an event the rows already hold changes nothing.
pub async fn snapshot(state: &AppState, org_id: &str) -> Result<LibrarySnapshot, AppError> {
    let (epoch, seq) = log::position(&state.db, org_id).await?;
    Ok(LibrarySnapshot {
        content: content::list(&state.db, org_id).await?,
        playlists: playlists::list(&state.db, org_id).await?,
        seq,
        epoch,
    })
}

/// Every library item, newest first.
#[utoipa::path(get, path = "/api/v1/content", tag = "content",
    responses((status = 200, body = Vec<Content>), (status = 401, body = AppError)))]
async fn list_content(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            Ok(Json(content::list(&state.db, &user.org_id).await?).into_response())
        }
        .await,
    )
}

#[utoipa::path(get, path = "/api/v1/content/{id}", tag = "content",
    params(("id" = String, Path)),
    responses((status = 200, body = Content, headers(("ETag" = String))), (status = 404, body = AppError)))]
async fn get_content(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let item = content::get(&state.db, &user.org_id, &id)
                .await?
                .ok_or_else(|| AppError::not_found("No library item with this id."))?;
            Ok(entity_response(StatusCode::OK, item.version, &item))
        }
        .await,
    )
}

/// `multipart/form-data` with one or more parts named `file`. Each file is
/// streamed to disk and hashed; its type is decided from its bytes (PNG, JPEG,
/// WebP, GIF, MP4, WebM), anything else is refused and nothing is kept.
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<u8>,
}

/// Uploads media. With `Idempotency-Key`, a retried upload returns the items
/// the first one made (the n-th file uses the key with `-n` appended).
#[utoipa::path(post, path = "/api/v1/content", tag = "content",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Vec<Content>), (status = 413, body = AppError),
              (status = 415, body = AppError), (status = 422, body = AppError)))]
async fn upload(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            user.require_editor()?;
            let mut multipart = multipart.map_err(|e| {
                AppError::validation(format!(
                    "Send the files as multipart/form-data in parts named “file” ({e})."
                ))
            })?;
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let mut created = Vec::new();
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| AppError::validation(format!("The upload could not be read: {e}")))?
            {
                if field.name() != Some("file") {
                    continue;
                }
                let file_name = field.file_name().unwrap_or("Untitled").to_string();
                let stored = media::store_stream(
                    &state.media_dir,
                    Box::pin(field),
                    state.settings.upload_limit_bytes(),
                )
                .await;
                let stored = match stored {
                    Ok(stored) => stored,
                    Err(e) => {
                        // Read the rest of the request before answering: a
                        // browser still sending would otherwise see the
                        // connection reset instead of the reason.
                        while let Ok(Some(_)) = multipart.next_field().await {}
                        return Err(upload_error(&file_name, e));
                    }
                };
                let n = created.len();
                let op = Op {
                    op_id: match &key {
                        Some(k) if n == 0 => k.clone(),
                        Some(k) => format!("{k}-{n}"),
                        None => super::db::new_id(),
                    },
                    base_version: None,
                    change: Change::AddMedia {
                        content_id: super::db::new_id(),
                        name: display_name(&file_name),
                        media: MediaInfo {
                            kind: if stored.kind.is_video() {
                                ContentKind::Video
                            } else {
                                ContentKind::Image
                            },
                            mime: stored.kind.mime().to_string(),
                            sha256: stored.sha256.clone(),
                            size: stored.size as i64,
                            width: stored.width.map(i64::from),
                            height: stored.height.map(i64::from),
                            duration_ms: stored.duration_ms,
                        },
                    },
                };
                created.push(content_of(
                    changes::apply_trusted(&state, &user, op).await?,
                )?);
            }
            if created.is_empty() {
                return Err(AppError::validation(
                    "The upload holds no file: send one or more parts named “file”.",
                ));
            }
            Ok((StatusCode::CREATED, Json(created)).into_response())
        }
        .await,
    )
}

/// A file name without its extension, as the item's first name.
fn display_name(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = match base.rsplit_once('.') {
        Some((stem, _)) if !stem.trim().is_empty() => stem,
        _ => base,
    };
    let name: String = stem
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if name.is_empty() {
        "Untitled".into()
    } else {
        name
    }
}

fn upload_error(file_name: &str, err: media::UploadError) -> AppError {
    use media::UploadError as E;
    match err {
        E::Io(e) => {
            tracing::error!(error = %e, "upload failed");
            AppError::Internal {
                message: format!("“{file_name}” could not be stored; try again."),
            }
        }
        E::TooLarge { .. } => AppError::TooLarge {
            message: format!("“{file_name}”: {err}"),
        },
        E::Unsupported { .. } => AppError::UnsupportedType {
            message: format!("“{file_name}”: {err}"),
        },
        E::Empty | E::Corrupt(_) => AppError::validation(format!("“{file_name}”: {err}")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewWebPage {
    pub id: Option<String>,
    pub name: String,
    /// http or https only.
    pub url: String,
    /// Seconds between reloads on the display (10 to 86400); default 300.
    pub reload_seconds: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/content/web-pages", tag = "content", request_body = NewWebPage,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Content), (status = 422, body = AppError)))]
async fn create_web_page(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Json(body): Json<NewWebPage>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let change = Change::CreateWebPage {
                content_id: body.id.unwrap_or_else(super::db::new_id),
                name: body.name,
                url: body.url,
                reload_seconds: body.reload_seconds.unwrap_or(300),
                tags: body.tags,
            };
            let item = content_of(run(&state, &user, &headers, None, change).await?)?;
            Ok(entity_response(StatusCode::CREATED, item.version, &item))
        }
        .await,
    )
}

#[utoipa::path(patch, path = "/api/v1/content/{id}", tag = "content", request_body = ContentPatch,
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Content), (status = 409, body = AppError), (status = 422, body = AppError)))]
async fn update_content(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(patch): Json<ContentPatch>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let change = Change::UpdateContent {
                content_id: id,
                patch,
            };
            let base = Some(if_match(&headers)?);
            let item = content_of(run(&state, &user, &headers, base, change).await?)?;
            Ok(entity_response(StatusCode::OK, item.version, &item))
        }
        .await,
    )
}

/// Deletes an item; refused (422) while a playlist uses it, naming the playlists.
#[utoipa::path(delete, path = "/api/v1/content/{id}", tag = "content",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = AppError), (status = 422, body = AppError)))]
async fn delete_content(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let base = Some(if_match(&headers)?);
            let change = Change::DeleteContent { content_id: id };
            run(&state, &user, &headers, base, change).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

// ---------------------------------------------------------------- playlists

#[utoipa::path(get, path = "/api/v1/playlists", tag = "playlists",
    responses((status = 200, body = Vec<Playlist>)))]
async fn list_playlists(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            Ok(Json(playlists::list(&state.db, &user.org_id).await?).into_response())
        }
        .await,
    )
}

#[utoipa::path(get, path = "/api/v1/playlists/{id}", tag = "playlists", params(("id" = String, Path)),
    responses((status = 200, body = Playlist, headers(("ETag" = String))), (status = 404, body = AppError)))]
async fn get_playlist(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let p = playlists::get(&state.db, &user.org_id, &id)
                .await?
                .ok_or_else(|| AppError::not_found("No playlist with this id."))?;
            Ok(entity_response(StatusCode::OK, p.version, &p))
        }
        .await,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlaylistName {
    pub id: Option<String>,
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/playlists", tag = "playlists", request_body = PlaylistName,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Playlist), (status = 422, body = AppError)))]
async fn create_playlist(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Json(body): Json<PlaylistName>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let change = Change::CreatePlaylist {
                playlist_id: body.id.unwrap_or_else(super::db::new_id),
                name: body.name,
            };
            let p = playlist_of(run(&state, &user, &headers, None, change).await?)?;
            Ok(entity_response(StatusCode::CREATED, p.version, &p))
        }
        .await,
    )
}

/// Renames a playlist (`If-Match` required).
#[utoipa::path(patch, path = "/api/v1/playlists/{id}", tag = "playlists", request_body = PlaylistName,
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Playlist), (status = 409, body = AppError)))]
async fn rename_playlist(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<PlaylistName>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let base = Some(if_match(&headers)?);
            let change = Change::RenamePlaylist {
                playlist_id: id,
                name: body.name,
            };
            let p = playlist_of(run(&state, &user, &headers, base, change).await?)?;
            Ok(entity_response(StatusCode::OK, p.version, &p))
        }
        .await,
    )
}

/// Deletes a playlist; refused (422) while a display or group plays it by default.
#[utoipa::path(delete, path = "/api/v1/playlists/{id}", tag = "playlists",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = AppError), (status = 422, body = AppError)))]
async fn delete_playlist(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let base = Some(if_match(&headers)?);
            let change = Change::DeletePlaylist { playlist_id: id };
            run(&state, &user, &headers, base, change).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewItem {
    /// Made when absent.
    pub id: Option<String>,
    pub content_id: String,
    /// The item it goes after; absent or null puts it at the end when `first`
    /// is not set.
    pub after: Option<String>,
    #[serde(default)]
    pub first: bool,
    /// Default: the video's own length, else 10 s for images and 30 s otherwise.
    pub duration_ms: Option<i64>,
}

/// Adds an item. Item edits never conflict: they apply on top of others'.
#[utoipa::path(post, path = "/api/v1/playlists/{id}/items", tag = "playlists", request_body = NewItem,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Playlist), (status = 404, body = AppError), (status = 422, body = AppError)))]
async fn insert_item(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NewItem>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let item = content::get(&state.db, &user.org_id, &body.content_id)
                .await?
                .ok_or_else(|| AppError::validation("No library item with that content_id."))?;
            let list = playlists::get(&state.db, &user.org_id, &id)
                .await?
                .ok_or_else(|| AppError::not_found("No playlist with this id."))?;
            let after = match (body.first, body.after) {
                (true, _) => None,
                (false, Some(a)) => Some(a),
                (false, None) => list.items.last().map(|i| i.id.clone()),
            };
            let change = Change::InsertItem {
                playlist_id: id,
                item: PlaylistItem {
                    id: body.id.unwrap_or_else(super::db::new_id),
                    content_id: body.content_id,
                    duration_ms: body.duration_ms.unwrap_or(item.default_duration_ms()),
                },
                after,
            };
            let p = playlist_of(run(&state, &user, &headers, None, change).await?)?;
            Ok(entity_response(StatusCode::CREATED, p.version, &p))
        }
        .await,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ItemUpdate {
    /// Moves the item after this one (`null` or `first: true` moves it first).
    #[serde(default, deserialize_with = "crate::model::device::present_or_null")]
    #[schema(value_type = Option<String>)]
    pub after: Option<Option<String>>,
    #[serde(default)]
    pub first: bool,
    pub duration_ms: Option<i64>,
}

/// Moves an item and/or sets its duration.
#[utoipa::path(patch, path = "/api/v1/playlists/{id}/items/{item_id}", tag = "playlists", request_body = ItemUpdate,
    params(("id" = String, Path), ("item_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Playlist), (status = 404, body = AppError), (status = 422, body = AppError)))]
async fn update_item(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path((id, item_id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<ItemUpdate>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let after = if body.first { Some(None) } else { body.after };
            let change =
                match (after, body.duration_ms) {
                    (Some(after), None) => Change::MoveItem {
                        playlist_id: id,
                        item_id,
                        after,
                    },
                    (None, Some(duration_ms)) => Change::SetItemDuration {
                        playlist_id: id,
                        item_id,
                        duration_ms,
                    },
                    _ => return Err(AppError::validation(
                        "Send either where to move the item (after or first) or its duration_ms.",
                    )),
                };
            let p = playlist_of(run(&state, &user, &headers, None, change).await?)?;
            Ok(entity_response(StatusCode::OK, p.version, &p))
        }
        .await,
    )
}

#[utoipa::path(delete, path = "/api/v1/playlists/{id}/items/{item_id}", tag = "playlists",
    params(("id" = String, Path), ("item_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Playlist), (status = 404, body = AppError)))]
async fn remove_item(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path((id, item_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let change = Change::RemoveItem {
                playlist_id: id,
                item_id,
            };
            let p = playlist_of(run(&state, &user, &headers, None, change).await?)?;
            Ok(entity_response(StatusCode::OK, p.version, &p))
        }
        .await,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupPlaylist {
    /// `null` clears the group's default playlist.
    pub playlist_id: Option<String>,
}

/// Sets the default playlist of a group (`If-Match`: the group's version).
#[utoipa::path(put, path = "/api/v1/groups/{id}/playlist", tag = "playlists", request_body = GroupPlaylist,
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = DeviceGroup), (status = 409, body = AppError), (status = 422, body = AppError)))]
async fn set_group_playlist(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<GroupPlaylist>,
) -> Answer {
    Answer(
        async {
            let user = who(user)?;
            let base = Some(if_match(&headers)?);
            let change = Change::UpdateGroup {
                group_id: id,
                playlist_id: body.playlist_id,
            };
            match run(&state, &user, &headers, base, change).await?.event.body {
                EventBody::GroupUpserted { group } => {
                    Ok(entity_response(StatusCode::OK, group.version, &group))
                }
                _ => Err(AppError::internal()),
            }
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn display_names_drop_the_extension_and_paths() {
        assert_eq!(super::display_name("Lobby loop.mp4"), "Lobby loop");
        assert_eq!(super::display_name("C:\\x\\menu.board.png"), "menu.board");
        assert_eq!(super::display_name(".png"), ".png");
        assert_eq!(super::display_name(""), "Untitled");
    }
}
