//! Schedules, dayparts and takeovers in the database. A schedule's rule is
//! stored whole as JSON (`spec`); its playlist, target and daypart are also
//! columns, for references and for "who uses this" checks.

use sqlx::{any::AnyRow, Any, Row, Transaction};

use crate::{
    error::AppError,
    model::{
        validate_daypart, validate_takeover_name, Daypart, EventBody, Millis, Schedule,
        ScheduleSpec, Takeover, TimeOfDay,
    },
    server::core::{change::check_version, ids::validate_id, now_ms, Db},
};

pub(super) fn schedule_of(r: &AnyRow) -> Result<Schedule, AppError> {
    let spec: String = r.get("spec");
    Ok(Schedule {
        id: r.get("id"),
        spec: serde_json::from_str(&spec).map_err(|_| AppError::internal())?,
        created_at: r.get("created_at"),
        version: r.get("version"),
    })
}

fn daypart_of(r: &AnyRow) -> Daypart {
    let minute = |c: &str| TimeOfDay(r.get::<i64, _>(c).clamp(0, 1439) as u16);
    Daypart {
        id: r.get("id"),
        name: r.get("name"),
        start: minute("start_minute"),
        end: minute("end_minute"),
        version: r.get("version"),
    }
}

pub(super) fn takeover_of(r: &AnyRow) -> Takeover {
    Takeover {
        id: r.get("id"),
        name: r.get("name"),
        playlist_id: r.get("playlist_id"),
        group_id: r.get("group_id"),
        starts_at: r.get("starts_at"),
        ends_at: r.get("ends_at"),
        ended_at: r.get("ended_at"),
        version: r.get("version"),
    }
}

pub(super) const SCHEDULE_COLUMNS: &str = "id, spec, created_at, version";
const DAYPART_COLUMNS: &str = "id, name, start_minute, end_minute, version";
pub(super) const TAKEOVER_COLUMNS: &str =
    "id, name, playlist_id, group_id, starts_at, ends_at, ended_at, version";

pub async fn list_schedules(db: &Db, org_id: &str) -> Result<Vec<Schedule>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE org_id = $1 ORDER BY name, id"
    ))
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(schedule_of).collect()
}

pub async fn list_dayparts(db: &Db, org_id: &str) -> Result<Vec<Daypart>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {DAYPART_COLUMNS} FROM dayparts WHERE org_id = $1 ORDER BY start_minute, name, id"
    ))
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(daypart_of).collect())
}

/// Takeovers still running or that ended within the last `keep_ms` (the
/// page shows recent ones), newest first.
pub async fn list_takeovers(
    db: &Db,
    org_id: &str,
    since: Millis,
) -> Result<Vec<Takeover>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {TAKEOVER_COLUMNS} FROM takeovers WHERE org_id = $1 \
         AND COALESCE(ended_at, ends_at, $2) >= $2 ORDER BY starts_at DESC, id"
    ))
    .bind(org_id)
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(takeover_of).collect())
}

pub async fn get_schedule(db: &Db, org_id: &str, id: &str) -> Result<Option<Schedule>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(schedule_of).transpose()
}

pub async fn get_daypart(db: &Db, org_id: &str, id: &str) -> Result<Option<Daypart>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {DAYPART_COLUMNS} FROM dayparts WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(daypart_of))
}

pub async fn get_takeover(db: &Db, org_id: &str, id: &str) -> Result<Option<Takeover>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {TAKEOVER_COLUMNS} FROM takeovers WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(takeover_of))
}

async fn find_schedule(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
) -> Result<Schedule, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(r) => schedule_of(&r),
        None => Err(AppError::not_found(
            "This schedule no longer exists; someone may have deleted it.",
        )),
    }
}

async fn find_daypart(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
) -> Result<Daypart, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {DAYPART_COLUMNS} FROM dayparts WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(daypart_of).ok_or_else(|| {
        AppError::not_found("This daypart no longer exists; someone may have deleted it.")
    })
}

async fn find_takeover(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
) -> Result<Takeover, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {TAKEOVER_COLUMNS} FROM takeovers WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref()
        .map(takeover_of)
        .ok_or_else(|| AppError::not_found("No takeover with this id."))
}

/// `what` (a table with `org_id` and `id`) has a row `id` in this organization.
async fn exists(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    org_id: &str,
    id: &str,
) -> Result<bool, AppError> {
    let row = sqlx::query(&format!(
        "SELECT id FROM {table} WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}

/// What a schedule refers to must be in the organization: its playlist,
/// its display or group, its daypart (404 naming the one that is not).
async fn check_refs(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    spec: &ScheduleSpec,
) -> Result<(), AppError> {
    if !exists(tx, "playlists", org_id, &spec.playlist_id).await? {
        return Err(AppError::not_found("That playlist does not exist."));
    }
    if let Some(id) = &spec.device_id {
        if !exists(tx, "devices", org_id, id).await? {
            return Err(AppError::not_found("That display does not exist."));
        }
    }
    if let Some(id) = &spec.group_id {
        if !exists(tx, "device_groups", org_id, id).await? {
            return Err(AppError::not_found("That group does not exist."));
        }
    }
    if let Some(id) = &spec.daypart_id {
        if !exists(tx, "dayparts", org_id, id).await? {
            return Err(AppError::not_found("That daypart does not exist."));
        }
    }
    Ok(())
}

/// The spec as stored: trimmed name, sorted and unique weekdays and dates.
fn normalized(spec: &ScheduleSpec) -> ScheduleSpec {
    let mut spec = spec.clone();
    spec.name = spec.name.trim().to_string();
    if let crate::model::Recurrence::Week { weekdays } = &mut spec.recurrence {
        weekdays.sort();
        weekdays.dedup();
    }
    spec.except.sort();
    spec.except.dedup();
    spec
}

async fn write_schedule(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    s: &Schedule,
    insert: bool,
) -> Result<(), AppError> {
    let spec = serde_json::to_string(&s.spec).map_err(|_| AppError::internal())?;
    let sql = if insert {
        "INSERT INTO schedules (org_id, id, name, playlist_id, device_id, group_id, daypart_id, spec, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
    } else {
        "UPDATE schedules SET name = $3, playlist_id = $4, device_id = $5, group_id = $6, daypart_id = $7, spec = $8, version = $9, updated_at = $10 \
         WHERE org_id = $1 AND id = $2"
    };
    sqlx::query(sql)
        .bind(org_id)
        .bind(&s.id)
        .bind(&s.spec.name)
        .bind(&s.spec.playlist_id)
        .bind(&s.spec.device_id)
        .bind(&s.spec.group_id)
        .bind(&s.spec.daypart_id)
        .bind(spec)
        .bind(s.version)
        .bind(if insert { s.created_at } else { now_ms() })
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn create_schedule(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    spec: &ScheduleSpec,
) -> Result<EventBody, AppError> {
    validate_id(id, "A schedule id")?;
    spec.check().map_err(AppError::validation)?;
    if sqlx::query("SELECT id FROM schedules WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "A schedule with this id already exists.",
        ));
    }
    check_refs(tx, org_id, spec).await?;
    let schedule = Schedule {
        id: id.to_string(),
        spec: normalized(spec),
        created_at: now_ms(),
        version: 1,
    };
    write_schedule(tx, org_id, &schedule, true).await?;
    Ok(EventBody::ScheduleUpserted { schedule })
}

pub async fn update_schedule(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base: Option<i64>,
    spec: &ScheduleSpec,
) -> Result<EventBody, AppError> {
    let mut schedule = find_schedule(tx, org_id, id).await?;
    check_version(
        &schedule,
        schedule.version,
        &schedule.spec.name,
        "a schedule",
        base,
    )?;
    spec.check().map_err(AppError::validation)?;
    check_refs(tx, org_id, spec).await?;
    schedule.spec = normalized(spec);
    schedule.version += 1;
    write_schedule(tx, org_id, &schedule, false).await?;
    Ok(EventBody::ScheduleUpserted { schedule })
}

pub async fn delete_schedule(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base: Option<i64>,
) -> Result<EventBody, AppError> {
    let schedule = find_schedule(tx, org_id, id).await?;
    check_version(
        &schedule,
        schedule.version,
        &schedule.spec.name,
        "a schedule",
        base,
    )?;
    sqlx::query("DELETE FROM schedules WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(EventBody::ScheduleDeleted {
        schedule_id: id.to_string(),
        version: schedule.version + 1,
    })
}

pub async fn create_daypart(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    name: &str,
    start: TimeOfDay,
    end: TimeOfDay,
) -> Result<EventBody, AppError> {
    validate_id(id, "A daypart id")?;
    let name = validate_daypart(name, start, end).map_err(AppError::validation)?;
    if sqlx::query("SELECT id FROM dayparts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some()
    {
        return Err(AppError::conflict("A daypart with this id already exists."));
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO dayparts (id, org_id, name, start_minute, end_minute, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
    )
    .bind(id)
    .bind(org_id)
    .bind(&name)
    .bind(i64::from(start.minutes()))
    .bind(i64::from(end.minutes()))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::DaypartUpserted {
        daypart: Daypart {
            id: id.to_string(),
            name,
            start,
            end,
            version: 1,
        },
    })
}

pub async fn update_daypart(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base: Option<i64>,
    name: &str,
    start: TimeOfDay,
    end: TimeOfDay,
) -> Result<EventBody, AppError> {
    let mut daypart = find_daypart(tx, org_id, id).await?;
    check_version(&daypart, daypart.version, &daypart.name, "a daypart", base)?;
    daypart.name = validate_daypart(name, start, end).map_err(AppError::validation)?;
    daypart.start = start;
    daypart.end = end;
    daypart.version += 1;
    sqlx::query(
        "UPDATE dayparts SET name = $1, start_minute = $2, end_minute = $3, version = $4, updated_at = $5 \
         WHERE org_id = $6 AND id = $7",
    )
    .bind(&daypart.name)
    .bind(i64::from(start.minutes()))
    .bind(i64::from(end.minutes()))
    .bind(daypart.version)
    .bind(now_ms())
    .bind(org_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::DaypartUpserted { daypart })
}

/// Names of what uses a row (`sql` selects `name` with `$1` org and `$2` id),
/// as "“A”, “B” and 3 more", or `None` when nothing does.
pub async fn users_of(
    tx: &mut Transaction<'_, Any>,
    sql: &str,
    org_id: &str,
    id: &str,
) -> Result<Option<String>, AppError> {
    let rows = sqlx::query(sql)
        .bind(org_id)
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = rows
        .iter()
        .take(5)
        .map(|r| format!("“{}”", r.get::<String, _>("name")))
        .collect();
    let more = rows.len().saturating_sub(5);
    Ok(Some(format!(
        "{}{}",
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )))
}

pub async fn delete_daypart(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base: Option<i64>,
) -> Result<EventBody, AppError> {
    let daypart = find_daypart(tx, org_id, id).await?;
    check_version(&daypart, daypart.version, &daypart.name, "a daypart", base)?;
    let sql = "SELECT name FROM schedules WHERE org_id = $1 AND daypart_id = $2 ORDER BY name";
    if let Some(names) = users_of(tx, sql, org_id, id).await? {
        return Err(AppError::validation(format!(
            "“{}” is used by the schedules {names}. Give them another window first.",
            daypart.name
        )));
    }
    sqlx::query("DELETE FROM dayparts WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(EventBody::DaypartDeleted {
        daypart_id: id.to_string(),
        version: daypart.version + 1,
    })
}

/// When a takeover runs: from `starts_at` (now if absent or past) to
/// `ends_at` (until ended if absent).
pub struct When {
    pub starts_at: Option<Millis>,
    pub ends_at: Option<Millis>,
}

pub async fn start_takeover(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    name: &str,
    playlist_id: &str,
    group_id: Option<&str>,
    when: When,
) -> Result<EventBody, AppError> {
    validate_id(id, "A takeover id")?;
    let name = validate_takeover_name(name).map_err(AppError::validation)?;
    let now = now_ms();
    let starts_at = when.starts_at.map_or(now, |s| s.max(now));
    let ends_at = when.ends_at;
    if ends_at.is_some_and(|e| e <= starts_at) {
        return Err(AppError::validation(
            "A takeover's end must be after its start, in the future.",
        ));
    }
    if sqlx::query("SELECT id FROM takeovers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "A takeover with this id already exists.",
        ));
    }
    if !exists(tx, "playlists", org_id, playlist_id).await? {
        return Err(AppError::not_found("That playlist does not exist."));
    }
    if let Some(g) = group_id {
        if !exists(tx, "device_groups", org_id, g).await? {
            return Err(AppError::not_found("That group does not exist."));
        }
    }
    let takeover = Takeover {
        id: id.to_string(),
        name,
        playlist_id: playlist_id.to_string(),
        group_id: group_id.map(str::to_string),
        starts_at,
        ends_at,
        ended_at: None,
        version: 1,
    };
    sqlx::query(
        "INSERT INTO takeovers (id, org_id, name, playlist_id, group_id, starts_at, ends_at, ended_at, version, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 1, $8)",
    )
    .bind(id)
    .bind(org_id)
    .bind(&takeover.name)
    .bind(playlist_id)
    .bind(group_id)
    .bind(starts_at)
    .bind(ends_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::TakeoverUpserted { takeover })
}

pub async fn end_takeover(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base: Option<i64>,
) -> Result<EventBody, AppError> {
    let mut takeover = find_takeover(tx, org_id, id).await?;
    check_version(
        &takeover,
        takeover.version,
        &takeover.name,
        "a takeover",
        base,
    )?;
    let now = now_ms();
    // Running or not started yet (ending that cancels it); not once over.
    if takeover.until().is_some_and(|u| u <= now) {
        return Err(AppError::Conflict {
            message: format!("“{}” has already ended.", takeover.name),
            current: serde_json::to_value(&takeover).ok(),
        });
    }
    takeover.ended_at = Some(now);
    takeover.version += 1;
    sqlx::query("UPDATE takeovers SET ended_at = $1, version = $2 WHERE org_id = $3 AND id = $4")
        .bind(now)
        .bind(takeover.version)
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(EventBody::TakeoverUpserted { takeover })
}
