//! The content library and playlists over REST. Every change goes through
//! the change path like the console's own ops; `Idempotency-Key` and
//! `If-Match` mean what they mean for displays.

use axum::{
    extract::{Multipart, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{content, media, playlists, snapshot};
use crate::{
    error::AppError,
    model::{
        Change, Content, ContentPatch, DeviceGroup, EventBody, LibrarySnapshot, Op, OpAck,
        Playlist, PlaylistItem,
    },
    server::core::{
        apidoc::{self, Rule},
        change,
        http::{run_change as run, versioned, IdempotencyKey, IfMatch, Json, Path},
        Core, CurrentUser,
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

/// The input rules of the library, for the document.
pub fn doc_rules() -> Vec<Rule> {
    use crate::model::{content, device, playlist};
    let content_name = || apidoc::name(content::MAX_CONTENT_NAME_CHARS);
    let playlist_name = || apidoc::name(100);
    let url = || apidoc::web_address(content::MAX_URL_CHARS);
    let reload = || {
        apidoc::range(
            *content::RELOAD_SECONDS.start(),
            *content::RELOAD_SECONDS.end(),
        )
    };
    let tags = || apidoc::tags(device::MAX_TAGS, device::MAX_TAG_CHARS);
    let duration = || {
        apidoc::range(
            *playlist::ITEM_DURATION_MS.start(),
            *playlist::ITEM_DURATION_MS.end(),
        )
    };
    let mut rules = Vec::new();
    for schema in ["NewWebPage", "ContentPatch"] {
        rules.push(Rule::new(schema, "name", content_name()));
        rules.push(Rule::new(schema, "url", url()));
        rules.push(Rule::new(schema, "reload_seconds", reload()));
        rules.push(Rule::new(schema, "tags", tags()));
    }
    rules.extend([
        Rule::new("PlaylistName", "name", playlist_name()),
        Rule::new("NewItem", "duration_ms", duration()),
        Rule::new("ItemUpdate", "duration_ms", duration()),
        Rule::new("PlaylistItem", "duration_ms", duration()),
        Rule::new(
            "UploadForm",
            "file",
            serde_json::json!({"minItems": 1, "maxItems": MAX_FILES}),
        ),
        // Parts are named `file`; any other part is refused.
        Rule::closed("UploadForm"),
        Rule::drop_variant("Change", "add_media"),
        Rule::schema("ItemUpdate", item_update_schema()),
        Rule::variant("Change", "create_web_page", "name", content_name()),
        Rule::variant("Change", "create_web_page", "url", url()),
        Rule::variant("Change", "create_web_page", "reload_seconds", reload()),
        Rule::variant("Change", "create_web_page", "tags", tags()),
        Rule::variant("Change", "create_playlist", "name", playlist_name()),
        Rule::variant("Change", "rename_playlist", "name", playlist_name()),
        Rule::variant("Change", "set_item_duration", "duration_ms", duration()),
    ]);
    rules
}

/// Either a move (`after`, or `first: true`) or a duration, never both.
fn item_update_schema() -> serde_json::Value {
    let duration = apidoc::range(
        *crate::model::playlist::ITEM_DURATION_MS.start(),
        *crate::model::playlist::ITEM_DURATION_MS.end(),
    );
    let id = serde_json::json!({"type": ["string", "null"], "pattern": apidoc::ID_PATTERN,
        "description": "Moves the item after this one; `null` moves it first."});
    let mut duration_ms = serde_json::json!({"type": "integer", "format": "int64"});
    if let (Some(d), Some(r)) = (duration_ms.as_object_mut(), duration.as_object()) {
        d.extend(r.clone());
    }
    serde_json::json!({
        "description": "Moves an item (`after`, or `first: true`) or sets its `duration_ms`: one of the two per request.",
        "oneOf": [
            {"title": "Move after", "type": "object", "additionalProperties": false, "required": ["after"],
             "properties": {"after": id, "first": {"const": false}}},
            {"title": "Move first", "type": "object", "additionalProperties": false, "required": ["first"],
             "properties": {"first": {"const": true}}},
            {"title": "Duration", "type": "object", "additionalProperties": false, "required": ["duration_ms"],
             "properties": {"duration_ms": duration_ms, "first": {"const": false}}},
        ],
    })
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
pub(super) async fn library(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    Ok(Json(snapshot(&core, &user.org_id).await?).into_response())
}

/// Every library item, newest first.
#[utoipa::path(get, path = "/api/v1/content", tag = "content",
    responses((status = 200, body = Vec<Content>), (status = 401, body = AppError)))]
pub(super) async fn list_content(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    Ok(Json(content::list(&core.db, &user.org_id).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/content/{id}", tag = "content",
    params(("id" = String, Path)),
    responses((status = 200, body = Content, headers(("ETag" = String))), (status = 404, body = AppError)))]
pub(super) async fn get_content(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let item = content::get(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No library item with this id."))?;
    Ok(versioned(StatusCode::OK, item.version, &item))
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
pub(super) async fn upload(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    user.require_editor()?;
    let mut multipart = multipart.map_err(|e| {
        AppError::bad_request(format!(
            "Send the files as multipart/form-data in parts named “file” ({e})."
        ))
    })?;
    let quota = core.settings.storage_quota_bytes();
    let mut used = content::bytes_used(&core.db, &user.org_id).await?.max(0) as u64;
    let mut created = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::bad_request(format!("The upload could not be read: {e}")))?
    {
        if field.name() != Some("file") {
            let name: String = field.name().unwrap_or("").chars().take(40).collect();
            drain(&mut multipart, core.settings.upload_limit_bytes()).await;
            return Err(AppError::validation(format!(
                "An upload has only parts named “file”; “{name}” is not one."
            )));
        }
        let file_name = field.file_name().unwrap_or("Untitled").to_string();
        if created.len() >= MAX_FILES {
            drain(&mut multipart, core.settings.upload_limit_bytes()).await;
            return Err(AppError::validation(format!(
                "An upload may hold at most {MAX_FILES} files; send the rest in another."
            )));
        }
        let room = quota.saturating_sub(used);
        let limit = core.settings.upload_limit_bytes().min(room);
        let stored = media::store_stream(&core.media_dir, Box::pin(field), limit).await;
        let stored = match stored {
            Ok(stored) => stored,
            Err(e) => {
                // Read a bounded rest of the request before answering, so a
                // browser still sending sees the reason rather than a reset;
                // past that the connection is cut.
                drain(&mut multipart, core.settings.upload_limit_bytes()).await;
                if matches!(e, media::UploadError::TooLarge { .. }) && limit == room {
                    return Err(storage_full(&file_name, used, quota));
                }
                return Err(upload_error(&file_name, e));
            }
        };
        used += stored.size;
        let n = created.len();
        let op = Op {
            op_id: key.nth(n),
            base_version: None,
            change: Change::AddMedia {
                content_id: key.new_entity_id(n),
                name: display_name(&file_name),
                media: stored.media_info(),
            },
        };
        created.push(content_of(change::apply_trusted(&core, &user, op).await?)?);
    }
    if created.is_empty() {
        return Err(AppError::validation(
            "The upload holds no file: send one or more parts named “file”.",
        ));
    }
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Files one upload request may hold.
const MAX_FILES: usize = 100;

/// Reads and drops what is left of a refused upload, at most `budget` bytes
/// and five seconds' worth; the connection is closed after the answer.
async fn drain(multipart: &mut Multipart, budget: u64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut left = budget;
    let read = async {
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(chunk)) = field.chunk().await {
                left = left.saturating_sub(chunk.len() as u64);
                if left == 0 {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout_at(deadline, read).await;
}

fn storage_full(file_name: &str, used: u64, quota: u64) -> AppError {
    AppError::TooLarge {
        message: format!(
            "“{file_name}”: the organization's storage is full ({} of {} used). Delete media you no longer show, or ask for a larger quota.",
            media::human_size(used),
            media::human_size(quota)
        ),
    }
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
pub(super) async fn create_web_page(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    Json(body): Json<NewWebPage>,
) -> Result<Response, AppError> {
    let change = Change::CreateWebPage {
        content_id: body.id.unwrap_or_else(|| key.new_entity_id(0)),
        name: body.name,
        url: body.url,
        reload_seconds: body.reload_seconds.unwrap_or(300),
        tags: body.tags,
    };
    let item = content_of(run(&core, &user, &key, None, change).await?)?;
    Ok(versioned(StatusCode::CREATED, item.version, &item))
}

#[utoipa::path(patch, path = "/api/v1/content/{id}", tag = "content", request_body = ContentPatch,
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Content), (status = 409, body = AppError), (status = 422, body = AppError)))]
pub(super) async fn update_content(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
    Json(patch): Json<ContentPatch>,
) -> Result<Response, AppError> {
    let change = Change::UpdateContent {
        content_id: id,
        patch,
    };
    let item = content_of(run(&core, &user, &key, Some(base), change).await?)?;
    Ok(versioned(StatusCode::OK, item.version, &item))
}

/// Deletes an item; refused (422) while a playlist uses it, naming the playlists.
#[utoipa::path(delete, path = "/api/v1/content/{id}", tag = "content",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = AppError), (status = 422, body = AppError)))]
pub(super) async fn delete_content(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
) -> Result<Response, AppError> {
    let change = Change::DeleteContent { content_id: id };
    run(&core, &user, &key, Some(base), change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- playlists

#[utoipa::path(get, path = "/api/v1/playlists", tag = "playlists",
    responses((status = 200, body = Vec<Playlist>)))]
pub(super) async fn list_playlists(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    Ok(Json(playlists::list(&core.db, &user.org_id).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/playlists/{id}", tag = "playlists", params(("id" = String, Path)),
    responses((status = 200, body = Playlist, headers(("ETag" = String))), (status = 404, body = AppError)))]
pub(super) async fn get_playlist(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let p = playlists::get(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No playlist with this id."))?;
    Ok(versioned(StatusCode::OK, p.version, &p))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlaylistName {
    pub id: Option<String>,
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/playlists", tag = "playlists", request_body = PlaylistName,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Playlist), (status = 422, body = AppError)))]
pub(super) async fn create_playlist(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    Json(body): Json<PlaylistName>,
) -> Result<Response, AppError> {
    let change = Change::CreatePlaylist {
        playlist_id: body.id.unwrap_or_else(|| key.new_entity_id(0)),
        name: body.name,
    };
    let p = playlist_of(run(&core, &user, &key, None, change).await?)?;
    Ok(versioned(StatusCode::CREATED, p.version, &p))
}

/// Renames a playlist (`If-Match` required).
#[utoipa::path(patch, path = "/api/v1/playlists/{id}", tag = "playlists", request_body = PlaylistName,
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Playlist), (status = 409, body = AppError)))]
pub(super) async fn rename_playlist(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
    Json(body): Json<PlaylistName>,
) -> Result<Response, AppError> {
    let change = Change::RenamePlaylist {
        playlist_id: id,
        name: body.name,
    };
    let p = playlist_of(run(&core, &user, &key, Some(base), change).await?)?;
    Ok(versioned(StatusCode::OK, p.version, &p))
}

/// Deletes a playlist; refused (422) while a display or group plays it by default.
#[utoipa::path(delete, path = "/api/v1/playlists/{id}", tag = "playlists",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = AppError), (status = 422, body = AppError)))]
pub(super) async fn delete_playlist(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
) -> Result<Response, AppError> {
    let change = Change::DeletePlaylist { playlist_id: id };
    run(&core, &user, &key, Some(base), change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
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
pub(super) async fn insert_item(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    Json(body): Json<NewItem>,
) -> Result<Response, AppError> {
    let item = content::get(&core.db, &user.org_id, &body.content_id)
        .await?
        .ok_or_else(|| AppError::not_found("No library item with that content_id."))?;
    let list = playlists::get(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No playlist with this id."))?;
    if let Some(a) = &body.after {
        crate::server::core::ids::validate_id(a, "after")?;
    }
    let after = match (body.first, body.after) {
        (true, _) => None,
        (false, Some(a)) => Some(a),
        (false, None) => list.items.last().map(|i| i.id.clone()),
    };
    let change = Change::InsertItem {
        playlist_id: id,
        item: PlaylistItem {
            id: body.id.unwrap_or_else(|| key.new_entity_id(0)),
            content_id: body.content_id,
            duration_ms: body.duration_ms.unwrap_or(item.default_duration_ms()),
        },
        after,
    };
    let p = playlist_of(run(&core, &user, &key, None, change).await?)?;
    Ok(versioned(StatusCode::CREATED, p.version, &p))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
pub(super) async fn update_item(
    State(core): State<Core>,
    user: CurrentUser,
    Path((id, item_id)): Path<(String, String)>,
    key: IdempotencyKey,
    Json(body): Json<ItemUpdate>,
) -> Result<Response, AppError> {
    if let Some(Some(a)) = &body.after {
        crate::server::core::ids::validate_id(a, "after")?;
    }
    if body.first && body.after.is_some() {
        return Err(AppError::validation(
            "Send either first: true or after, not both.",
        ));
    }
    let after = if body.first { Some(None) } else { body.after };
    let change = match (after, body.duration_ms) {
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
        _ => {
            return Err(AppError::validation(
                "Send either where to move the item (after or first) or its duration_ms.",
            ))
        }
    };
    let p = playlist_of(run(&core, &user, &key, None, change).await?)?;
    Ok(versioned(StatusCode::OK, p.version, &p))
}

#[utoipa::path(delete, path = "/api/v1/playlists/{id}/items/{item_id}", tag = "playlists",
    params(("id" = String, Path), ("item_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Playlist), (status = 404, body = AppError)))]
pub(super) async fn remove_item(
    State(core): State<Core>,
    user: CurrentUser,
    Path((id, item_id)): Path<(String, String)>,
    key: IdempotencyKey,
) -> Result<Response, AppError> {
    let change = Change::RemoveItem {
        playlist_id: id,
        item_id,
    };
    let p = playlist_of(run(&core, &user, &key, None, change).await?)?;
    Ok(versioned(StatusCode::OK, p.version, &p))
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
pub(super) async fn set_group_playlist(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
    Json(body): Json<GroupPlaylist>,
) -> Result<Response, AppError> {
    let change = Change::UpdateGroup {
        group_id: id,
        playlist_id: body.playlist_id,
    };
    match run(&core, &user, &key, Some(base), change)
        .await?
        .event
        .body
    {
        EventBody::GroupUpserted { group } => Ok(versioned(StatusCode::OK, group.version, &group)),
        _ => Err(AppError::internal()),
    }
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
