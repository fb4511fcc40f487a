//! Displays and their groups in the database: reads scoped to one
//! organization, and the validated writes the change path calls inside its
//! transaction (operators' edits, pairing, derived statuses).

use sqlx::{any::AnyRow, Any, Row, Transaction};

use crate::{
    error::AppError,
    model::{
        validate_device_name, validate_tags, Device, DeviceGroup, DevicePatch, DeviceStatus,
        EventBody,
    },
    server::{
        core::{change::check_version, db, ids::validate_id, now_ms, Db},
        library::playlists,
    },
};

const COLUMNS: &str =
    "id, name, group_id, tags, timezone, status, last_seen, playlist_id, token_hash, version";

fn device_from_row(row: &AnyRow) -> Result<Device, AppError> {
    let tags: String = row.get("tags");
    let status: String = row.get("status");
    Ok(Device {
        id: row.get("id"),
        name: row.get("name"),
        group_id: row.get("group_id"),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        timezone: row.get("timezone"),
        status: status.parse().map_err(|_| AppError::internal())?,
        last_seen: row.get("last_seen"),
        playlist_id: row.get("playlist_id"),
        paired: row.get::<Option<String>, _>("token_hash").is_some(),
        version: row.get("version"),
    })
}

pub async fn list(db: &Db, org_id: &str) -> Result<Vec<Device>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM devices WHERE org_id = $1 ORDER BY name, id"
    ))
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(device_from_row).collect()
}

/// The Devices page's search and filters, from its query string (`q`,
/// `group`, `status`), for a first screen read in the database.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub status: String,
}

/// `Filters` in SQL, binds $2 (group), $3 (status) and $4 (a LIKE pattern,
/// `%` for no search). Lower-case matching is ASCII's in SQLite; the page
/// searches the whole fleet again once it runs.
const FILTERED: &str = "($2 = '' OR ($2 = 'none' AND group_id IS NULL) OR group_id = $2) \
     AND ($3 = '' OR status = $3) \
     AND ($4 = '%' OR LOWER(name) LIKE $4 ESCAPE '\\' OR LOWER(timezone) LIKE $4 ESCAPE '\\' \
          OR LOWER(tags) LIKE $4 ESCAPE '\\' OR group_id IN \
          (SELECT id FROM device_groups WHERE org_id = $1 AND LOWER(name) LIKE $4 ESCAPE '\\'))";

impl Filters {
    fn pattern(&self) -> String {
        let q = self.q.trim().to_lowercase();
        let mut pattern = String::from("%");
        for c in q.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        if !q.is_empty() {
            pattern.push('%');
        }
        pattern
    }
}

/// Displays in the organization, and how many of them `filters` let through.
pub async fn count(db: &Db, org_id: &str, filters: &Filters) -> Result<(usize, usize), AppError> {
    let row = sqlx::query(&format!(
        "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN {FILTERED} THEN 1 ELSE 0 END), 0) AS matching \
         FROM devices WHERE org_id = $1"
    ))
    .bind(org_id)
    .bind(&filters.group)
    .bind(&filters.status)
    .bind(filters.pattern())
    .fetch_one(&db.pool)
    .await?;
    let total: i64 = row.get("total");
    let matching: i64 = row.get("matching");
    Ok((total as usize, matching as usize))
}

/// Displays by status, in `DeviceStatus::ALL`'s order.
pub async fn count_by_status(db: &Db, org_id: &str) -> Result<[usize; 4], AppError> {
    let rows =
        sqlx::query("SELECT status, COUNT(*) AS n FROM devices WHERE org_id = $1 GROUP BY status")
            .bind(org_id)
            .fetch_all(&db.pool)
            .await?;
    let mut counts = [0; 4];
    for row in rows {
        let status: String = row.get("status");
        let n: i64 = row.get("n");
        if let Some(i) = DeviceStatus::ALL.iter().position(|s| s.as_str() == status) {
            counts[i] += n as usize;
        }
    }
    Ok(counts)
}

/// The first `n` displays `filters` let through, by name (the index's order).
pub async fn first(
    db: &Db,
    org_id: &str,
    filters: &Filters,
    n: usize,
) -> Result<Vec<Device>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM devices WHERE org_id = $1 AND {FILTERED} ORDER BY name, id LIMIT $5"
    ))
    .bind(org_id)
    .bind(&filters.group)
    .bind(&filters.status)
    .bind(filters.pattern())
    .bind(n as i64)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(device_from_row).collect()
}

pub async fn get(db: &Db, org_id: &str, id: &str) -> Result<Option<Device>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM devices WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(device_from_row).transpose()
}

pub async fn list_groups(db: &Db, org_id: &str) -> Result<Vec<DeviceGroup>, AppError> {
    let rows = sqlx::query(
        "SELECT id, name, playlist_id, version FROM device_groups WHERE org_id = $1 ORDER BY name",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(group_from_row).collect())
}

/// A group's default playlist, if it has one.
pub async fn group_playlist(
    db: &Db,
    org_id: &str,
    group_id: &str,
) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT playlist_id FROM device_groups WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(group_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.and_then(|r| r.get("playlist_id")))
}

/// Every group of the organization that has a default playlist, with it.
pub async fn group_playlists(
    db: &Db,
    org_id: &str,
) -> Result<std::collections::HashMap<String, String>, AppError> {
    let rows = sqlx::query(
        "SELECT id, playlist_id FROM device_groups WHERE org_id = $1 AND playlist_id IS NOT NULL",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("playlist_id")))
        .collect())
}

fn group_from_row(r: &AnyRow) -> DeviceGroup {
    DeviceGroup {
        id: r.get("id"),
        name: r.get("name"),
        playlist_id: r.get("playlist_id"),
        version: r.get("version"),
    }
}

/// Sets a group's default playlist (the change path's `UpdateGroup`).
pub async fn update_group(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base_version: Option<i64>,
    playlist_id: Option<&str>,
) -> Result<EventBody, AppError> {
    let row = sqlx::query(
        "SELECT id, name, playlist_id, version FROM device_groups WHERE org_id = $1 AND id = $2",
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let mut group = row
        .as_ref()
        .map(group_from_row)
        .ok_or_else(|| AppError::not_found("This group no longer exists."))?;
    check_version(&group, group.version, &group.name, "a group", base_version)?;
    playlists::check_exists(tx, org_id, playlist_id).await?;
    group.playlist_id = playlist_id.map(str::to_string);
    group.version += 1;
    sqlx::query(
        "UPDATE device_groups SET playlist_id = $1, version = $2 WHERE org_id = $3 AND id = $4",
    )
    .bind(&group.playlist_id)
    .bind(group.version)
    .bind(org_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::GroupUpserted { group })
}

/// A display about to be changed by an operator, with the version of the
/// last operator change (see [`check_edit_version`]).
async fn find_for_edit(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
) -> Result<(Device, i64), AppError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, edited_version FROM devices WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(gone)?;
    Ok((device_from_row(&row)?, row.get("edited_version")))
}

/// The version rule for displays. Status changes (from heartbeats) bump
/// `version`, since every copy orders a display's states by it, but change
/// nothing an operator edits. So a base version read after the last
/// operator's change (`edited`) still holds when only statuses moved since:
/// an integrator's `If-Match` does not fail because a screen blinked offline.
fn check_edit_version(current: &Device, edited: i64, base: Option<i64>) -> Result<(), AppError> {
    let base = match base {
        Some(b) if (edited..=current.version).contains(&b) => Some(current.version),
        other => other,
    };
    check_version(current, current.version, &current.name, "a display", base)
}

fn gone() -> AppError {
    AppError::not_found("This display no longer exists; someone may have deleted it.")
}

fn validate_timezone(tz: &str) -> Result<String, AppError> {
    let tz = tz.trim();
    tz.parse::<chrono_tz::Tz>()
        .map(|_| tz.to_string())
        .map_err(|_| {
            AppError::validation(format!(
                "'{tz}' is not a time zone; use an IANA name such as Europe/Berlin."
            ))
        })
}

async fn check_group(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    group_id: Option<&str>,
) -> Result<(), AppError> {
    let Some(group_id) = group_id else {
        return Ok(());
    };
    let found = sqlx::query("SELECT id FROM device_groups WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(group_id)
        .fetch_optional(&mut **tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(AppError::not_found("That group does not exist.")),
    }
}

pub async fn create(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    name: &str,
    group_id: Option<&str>,
    tags: &[String],
    timezone: &str,
) -> Result<EventBody, AppError> {
    validate_id(id, "A display id")?;
    let name = validate_device_name(name).map_err(AppError::validation)?;
    let tags = validate_tags(tags).map_err(AppError::validation)?;
    let timezone = validate_timezone(timezone)?;
    check_group(tx, org_id, group_id).await?;
    let taken = sqlx::query("SELECT id FROM devices WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::conflict("A display with this id already exists."));
    }
    let now = now_ms();
    let device = Device {
        id: id.to_string(),
        name,
        group_id: group_id.map(str::to_string),
        tags,
        timezone,
        status: crate::model::DeviceStatus::Offline,
        last_seen: None,
        playlist_id: None,
        paired: false,
        version: 1,
    };
    insert(tx, org_id, &device, now).await?;
    Ok(EventBody::DeviceUpserted { device })
}

/// Inserts a display row as given (also used by the demo fleet).
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    d: &Device,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO devices (id, org_id, name, group_id, tags, timezone, status, last_seen, version, created_at, updated_at, playlist_id, edited_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $9)",
    )
    .bind(&d.id)
    .bind(org_id)
    .bind(&d.name)
    .bind(&d.group_id)
    .bind(serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".into()))
    .bind(&d.timezone)
    .bind(d.status.as_str())
    .bind(d.last_seen)
    .bind(d.version)
    .bind(now)
    .bind(&d.playlist_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn update(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base_version: Option<i64>,
    patch: &DevicePatch,
) -> Result<EventBody, AppError> {
    let (current, edited) = find_for_edit(tx, org_id, id).await?;
    check_edit_version(&current, edited, base_version)?;
    if patch.fields().is_empty() {
        return Err(AppError::validation("The change sets no field."));
    }
    let mut patch = patch.clone();
    if let Some(name) = &patch.name {
        patch.name = Some(validate_device_name(name).map_err(AppError::validation)?);
    }
    if let Some(tags) = &patch.tags {
        patch.tags = Some(validate_tags(tags).map_err(AppError::validation)?);
    }
    if let Some(tz) = &patch.timezone {
        patch.timezone = Some(validate_timezone(tz)?);
    }
    if let Some(group) = &patch.group_id {
        check_group(tx, org_id, group.as_deref()).await?;
    }
    if let Some(playlist) = &patch.playlist_id {
        playlists::check_exists(tx, org_id, playlist.as_deref()).await?;
    }
    let mut device = current;
    patch.apply_to(&mut device);
    device.version += 1;
    sqlx::query(
        "UPDATE devices SET name = $1, group_id = $2, tags = $3, timezone = $4, version = $5, edited_version = $5, updated_at = $6, playlist_id = $9 \
         WHERE org_id = $7 AND id = $8",
    )
    .bind(&device.name)
    .bind(&device.group_id)
    .bind(serde_json::to_string(&device.tags).unwrap_or_else(|_| "[]".into()))
    .bind(&device.timezone)
    .bind(device.version)
    .bind(now_ms())
    .bind(org_id)
    .bind(id)
    .bind(&device.playlist_id)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::DeviceUpserted { device })
}

pub async fn delete(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base_version: Option<i64>,
) -> Result<EventBody, AppError> {
    let (current, edited) = find_for_edit(tx, org_id, id).await?;
    check_edit_version(&current, edited, base_version)?;
    let scheduled = sqlx::query(
        "SELECT name FROM schedules WHERE org_id = $1 AND device_id = $2 ORDER BY name",
    )
    .bind(org_id)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    if !scheduled.is_empty() {
        let names: Vec<String> = scheduled
            .iter()
            .map(|r| format!("“{}”", r.get::<String, _>("name")))
            .collect();
        return Err(AppError::validation(format!(
            "“{}” has schedules of its own ({}). Delete them or move them to a group first.",
            current.name,
            names.join(", ")
        )));
    }
    sqlx::query("DELETE FROM manifest_deploys WHERE org_id = $1 AND device_id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM devices WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(EventBody::DeviceDeleted {
        device_id: id.to_string(),
        version: current.version + 1,
    })
}

/// Makes a display for a claimed pairing code, holding the hash of the token
/// its player receives.
#[allow(clippy::too_many_arguments)]
pub async fn pair(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    name: &str,
    group_id: Option<&str>,
    timezone: &str,
    token_hash: &str,
) -> Result<EventBody, AppError> {
    let EventBody::DeviceUpserted { mut device } =
        create(tx, org_id, id, name, group_id, &[], timezone).await?
    else {
        return Err(AppError::internal());
    };
    sqlx::query("UPDATE devices SET token_hash = $1 WHERE org_id = $2 AND id = $3")
        .bind(token_hash)
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    device.paired = true;
    Ok(EventBody::DeviceUpserted { device })
}

/// Revokes a display's token; its player is disconnected after commit.
pub async fn unpair(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base_version: Option<i64>,
) -> Result<EventBody, AppError> {
    let (mut device, edited) = find_for_edit(tx, org_id, id).await?;
    check_edit_version(&device, edited, base_version)?;
    if !device.paired {
        return Err(AppError::validation(format!(
            "“{}” is not paired with a player.",
            device.name
        )));
    }
    device.paired = false;
    device.status = crate::model::DeviceStatus::Offline;
    device.version += 1;
    sqlx::query(
        "UPDATE devices SET token_hash = NULL, status = $1, version = $2, edited_version = $2, updated_at = $3 \
         WHERE org_id = $4 AND id = $5",
    )
    .bind(device.status.as_str())
    .bind(device.version)
    .bind(now_ms())
    .bind(org_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::DeviceUpserted { device })
}

/// Displays' derived statuses (and when each was last heard from), each
/// display once: many to a statement, one statement that updates the
/// displays whose status moved and returns them. Returns the event of each
/// display whose status changed.
pub async fn set_statuses(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    changes: &[(String, crate::model::DeviceStatus, Option<i64>)],
) -> Result<Vec<EventBody>, AppError> {
    let mut bodies = Vec::new();
    for chunk in changes.chunks(db::FLEET_ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE devices SET status = v.column2, \
             last_seen = COALESCE(CAST(v.column3 AS BIGINT), devices.last_seen), \
             version = devices.version + 1 \
             FROM (VALUES {}) AS v \
             WHERE devices.org_id = $1 AND devices.id = v.column1 AND devices.status <> v.column2 \
             RETURNING {COLUMNS}",
            db::rows(2, chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for (id, status, last_seen) in chunk {
            q = q.bind(id).bind(status.as_str()).bind(*last_seen);
        }
        for row in q.fetch_all(&mut **tx).await? {
            bodies.push(EventBody::DeviceUpserted {
                device: device_from_row(&row)?,
            });
        }
    }
    Ok(bodies)
}

/// The display a player's token belongs to, with its organization.
pub async fn by_token(db: &Db, token_hash: &str) -> Result<Option<(String, Device)>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT org_id, {COLUMNS} FROM devices WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok(Some((row.get("org_id"), device_from_row(&row)?))),
        None => Ok(None),
    }
}

/// Every paired display with its organization, stored status and last-seen
/// time (the gateway tracks them from startup).
pub async fn paired(
    db: &Db,
) -> Result<Vec<(String, String, crate::model::DeviceStatus, Option<i64>)>, AppError> {
    let rows = sqlx::query(
        "SELECT org_id, id, status, last_seen FROM devices WHERE token_hash IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.get("status");
            Ok((
                r.get("org_id"),
                r.get("id"),
                status.parse().map_err(|_| AppError::internal())?,
                r.get("last_seen"),
            ))
        })
        .collect()
}

/// Heartbeats are kept in memory; this writes their last-seen times, a few
/// hundred displays to a transaction (no events: status changes are the
/// events), so a status change never waits behind the whole fleet's.
pub async fn write_last_seen(db: &Db, seen: &[(String, i64)]) -> Result<(), AppError> {
    for turn in seen.chunks(db::FLEET_ROWS_PER_TURN) {
        let mut tx = db.begin_bulk_write().await?;
        for chunk in turn.chunks(db::FLEET_ROWS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE devices SET last_seen = v.column2 FROM (VALUES {}) AS v WHERE devices.id = v.column1",
                db::rows(1, chunk.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for (id, at) in chunk {
                q = q.bind(id).bind(*at);
            }
            q.execute(&mut **tx).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
