//! Playlists on the server. Item edits load the list, apply the same
//! `Playlist::apply_edit` the browser runs, and write the order back, all in the
//! change path's transaction, so concurrent edits serialize on the stream lock
//! and every operator converges on one order.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use crate::{
    error::AppError,
    model::{
        validate_duration, validate_playlist_name, EventBody, ItemEdit, Playlist, PlaylistItem,
    },
    server::core::{change::check_version, ids::validate_id, now_ms, Db},
};

pub async fn list(db: &Db, org_id: &str) -> Result<Vec<Playlist>, AppError> {
    let rows =
        sqlx::query("SELECT id, name, version FROM playlists WHERE org_id = $1 ORDER BY name, id")
            .bind(org_id)
            .fetch_all(&db.pool)
            .await?;
    let items = sqlx::query(
        "SELECT i.playlist_id, i.id, i.content_id, i.duration_ms FROM playlist_items i \
         JOIN playlists p ON p.id = i.playlist_id WHERE p.org_id = $1 ORDER BY i.playlist_id, i.position",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    let mut by_list: HashMap<String, Vec<PlaylistItem>> = HashMap::new();
    for r in &items {
        by_list
            .entry(r.get("playlist_id"))
            .or_default()
            .push(PlaylistItem {
                id: r.get("id"),
                content_id: r.get("content_id"),
                duration_ms: r.get("duration_ms"),
            });
    }
    Ok(rows
        .iter()
        .map(|r| {
            let id: String = r.get("id");
            Playlist {
                items: by_list.remove(&id).unwrap_or_default(),
                id,
                name: r.get("name"),
                version: r.get("version"),
            }
        })
        .collect())
}

pub async fn get(db: &Db, org_id: &str, id: &str) -> Result<Option<Playlist>, AppError> {
    let mut tx = db.pool.begin().await?;
    let found = find(&mut tx, org_id, id).await?;
    tx.rollback().await?;
    Ok(found)
}

async fn find(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
) -> Result<Option<Playlist>, AppError> {
    let row = sqlx::query("SELECT id, name, version FROM playlists WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let items = sqlx::query(
        "SELECT id, content_id, duration_ms FROM playlist_items WHERE playlist_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(Playlist {
        id: row.get("id"),
        name: row.get("name"),
        version: row.get("version"),
        items: items
            .iter()
            .map(|r| PlaylistItem {
                id: r.get("id"),
                content_id: r.get("content_id"),
                duration_ms: r.get("duration_ms"),
            })
            .collect(),
    }))
}

fn gone() -> AppError {
    AppError::not_found("This playlist no longer exists; someone may have deleted it.")
}

/// A playlist id a display or group is about to point at must exist here.
pub async fn check_exists(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: Option<&str>,
) -> Result<(), AppError> {
    let Some(id) = id else { return Ok(()) };
    let found = sqlx::query("SELECT id FROM playlists WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(AppError::not_found("That playlist does not exist.")),
    }
}

/// Names of the playlists that show a library item.
pub async fn names_using(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    content_id: &str,
) -> Result<Vec<String>, AppError> {
    let rows = sqlx::query(
        "SELECT DISTINCT p.name FROM playlists p JOIN playlist_items i ON i.playlist_id = p.id \
         WHERE p.org_id = $1 AND i.content_id = $2 ORDER BY p.name",
    )
    .bind(org_id)
    .bind(content_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(|r| r.get("name")).collect())
}

pub async fn create(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    name: &str,
) -> Result<EventBody, AppError> {
    validate_id(id, "A playlist id")?;
    let name = validate_playlist_name(name).map_err(AppError::validation)?;
    let taken = sqlx::query("SELECT id FROM playlists WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::conflict(
            "A playlist with this id already exists.",
        ));
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO playlists (id, org_id, name, version, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $4)",
    )
    .bind(id)
    .bind(org_id)
    .bind(&name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::PlaylistUpserted {
        playlist: Playlist {
            id: id.to_string(),
            name,
            items: Vec::new(),
            version: 1,
        },
    })
}

pub async fn rename(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base_version: Option<i64>,
    name: &str,
) -> Result<EventBody, AppError> {
    let mut playlist = find(tx, org_id, id).await?.ok_or_else(gone)?;
    check_version(
        &playlist,
        playlist.version,
        &playlist.name,
        "a playlist",
        base_version,
    )?;
    playlist.name = validate_playlist_name(name).map_err(AppError::validation)?;
    playlist.version += 1;
    sqlx::query("UPDATE playlists SET name = $1, version = $2, updated_at = $3 WHERE id = $4")
        .bind(&playlist.name)
        .bind(playlist.version)
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(EventBody::PlaylistUpserted { playlist })
}

/// Refused while a display or a group plays it by default, or a schedule or
/// an unended takeover plays it, naming them.
pub async fn delete(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base_version: Option<i64>,
) -> Result<EventBody, AppError> {
    let playlist = find(tx, org_id, id).await?.ok_or_else(gone)?;
    check_version(
        &playlist,
        playlist.version,
        &playlist.name,
        "a playlist",
        base_version,
    )?;
    let users = sqlx::query(
        "SELECT name FROM devices WHERE org_id = $1 AND playlist_id = $2 \
         UNION ALL SELECT name FROM device_groups WHERE org_id = $1 AND playlist_id = $2 \
         UNION ALL SELECT name FROM schedules WHERE org_id = $1 AND playlist_id = $2 \
         UNION ALL SELECT name FROM takeovers WHERE org_id = $1 AND playlist_id = $2 AND ended_at IS NULL",
    )
    .bind(org_id)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    if !users.is_empty() {
        let names: Vec<String> = users
            .iter()
            .take(5)
            .map(|r| format!("“{}”", r.get::<String, _>("name")))
            .collect();
        let more = users.len().saturating_sub(5);
        return Err(AppError::validation(format!(
            "“{}” is used by {}{} (as a default playlist, a schedule or a takeover). Assign another playlist there first.",
            playlist.name,
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )));
    }
    sqlx::query("DELETE FROM playlist_items WHERE playlist_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM playlists WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(EventBody::PlaylistDeleted {
        playlist_id: id.to_string(),
        version: playlist.version + 1,
    })
}

/// Insert, move, remove or retime one item, on top of whatever the list is now.
pub async fn edit_items(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    edit: &ItemEdit<'_>,
) -> Result<EventBody, AppError> {
    let mut playlist = find(tx, org_id, id).await?.ok_or_else(gone)?;
    match edit {
        ItemEdit::Insert { item, .. } => {
            validate_id(&item.id, "A playlist item id")?;
            validate_duration(item.duration_ms).map_err(AppError::validation)?;
            if super::content::find(tx, org_id, &item.content_id)
                .await?
                .is_none()
            {
                return Err(AppError::validation(
                    "That library item no longer exists; someone may have deleted it.",
                ));
            }
        }
        ItemEdit::SetDuration { duration_ms, .. } => {
            validate_duration(*duration_ms).map_err(AppError::validation)?;
        }
        ItemEdit::Move { .. } | ItemEdit::Remove { .. } => {}
    }
    playlist.apply_edit(edit).map_err(|msg| {
        if msg.contains("no longer") {
            AppError::not_found(msg)
        } else if msg.contains("already in the playlist") {
            // An item id already taken: the state forbids it, like any taken id.
            AppError::conflict(msg)
        } else {
            AppError::validation(msg)
        }
    })?;
    playlist.version += 1;
    write_items(tx, &playlist).await?;
    sqlx::query("UPDATE playlists SET version = $1, updated_at = $2 WHERE id = $3")
        .bind(playlist.version)
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(EventBody::PlaylistUpserted { playlist })
}

async fn write_items(tx: &mut Transaction<'_, Any>, playlist: &Playlist) -> Result<(), AppError> {
    sqlx::query("DELETE FROM playlist_items WHERE playlist_id = $1")
        .bind(&playlist.id)
        .execute(&mut **tx)
        .await?;
    for (position, item) in playlist.items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO playlist_items (playlist_id, id, position, content_id, duration_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&playlist.id)
        .bind(&item.id)
        .bind(position as i64)
        .bind(&item.content_id)
        .bind(item.duration_ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
