//! Uptime from status intervals: each display's current status and since
//! when, closed into raw history and hourly, daily and weekly rollups whenever the
//! status changes, in the same transaction as the status event.

use std::collections::BTreeMap;

use sqlx::{Any, Row, Transaction};

use super::sql::ROWS_PER_STATEMENT;
use crate::{
    error::AppError,
    model::{split_by_hour, DeviceStatus, Grain, Millis},
    server::core::{db, Db, ExecuteWrite},
};

fn column(status: &str) -> &'static str {
    match status {
        "online" => "online_ms",
        "idle" => "idle_ms",
        "error" => "error_ms",
        _ => "offline_ms",
    }
}

/// A display's status is `status` (in group `group_id`) from `at`: closes
/// the open interval when the status or the group changed.
pub async fn status_changed(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    device_id: &str,
    group_id: &str,
    status: DeviceStatus,
    at: Millis,
) -> Result<(), AppError> {
    statuses_changed(tx, org_id, &[(device_id, group_id, status)], at).await
}

/// `(display, group, status)`: a display's status as of a change.
pub type StatusAt<'a> = (&'a str, &'a str, DeviceStatus);

/// Many displays' statuses from `at` (each display once): their open
/// intervals are read, closed into history and rollups, and moved on a
/// few dozen displays to a statement, so a fleet coming up at once costs a
/// few statements per few dozen displays, not several per display.
pub async fn statuses_changed(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    changes: &[StatusAt<'_>],
    at: Millis,
) -> Result<(), AppError> {
    for chunk in changes.chunks(db::FLEET_ROWS_PER_STATEMENT) {
        let marks = db::list(2, chunk.len());
        let sql = format!(
            "SELECT device_id, group_id, status, since FROM status_intervals \
             WHERE org_id = $1 AND device_id IN ({marks})"
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for (device_id, ..) in chunk {
            q = q.bind(*device_id);
        }
        let open: std::collections::HashMap<String, (String, String, Millis)> = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| {
                (
                    r.get("device_id"),
                    (r.get("group_id"), r.get("status"), r.get("since")),
                )
            })
            .collect();
        let mut fresh: Vec<StatusAt> = Vec::new();
        let mut closed: Vec<Closed> = Vec::new();
        let mut moved: Vec<(StatusAt, Millis)> = Vec::new();
        for &(device_id, group_id, status) in chunk {
            match open.get(device_id) {
                None => fresh.push((device_id, group_id, status)),
                Some((was_group, was, since)) => {
                    if was == status.as_str() && was_group == group_id {
                        continue;
                    }
                    closed.push(Closed {
                        device_id,
                        group_id: was_group,
                        status: was,
                        since: *since,
                        until: at,
                    });
                    moved.push(((device_id, group_id, status), at.max(*since)));
                }
            }
        }
        if !fresh.is_empty() {
            let values: Vec<String> = (0..fresh.len())
                .map(|r| {
                    let m = 3 + 3 * r;
                    format!("($1, ${m}, ${}, ${}, $2)", m + 1, m + 2)
                })
                .collect();
            let sql = format!(
                "INSERT INTO status_intervals (org_id, device_id, group_id, status, since) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(org_id).bind(at);
            for (device_id, group_id, status) in &fresh {
                q = q.bind(*device_id).bind(*group_id).bind(status.as_str());
            }
            q.execute(&mut **tx).await?;
        }
        close(tx, org_id, &closed).await?;
        if !moved.is_empty() {
            let sql = format!(
                "UPDATE status_intervals SET group_id = v.column2, status = v.column3, since = v.column4 \
                 FROM (VALUES {}) AS v WHERE status_intervals.org_id = $1 AND status_intervals.device_id = v.column1",
                db::rows(2, moved.len(), 4)
            );
            let mut q = sqlx::query(&sql).bind(org_id);
            for ((device_id, group_id, status), since) in &moved {
                q = q
                    .bind(*device_id)
                    .bind(*group_id)
                    .bind(status.as_str())
                    .bind(*since);
            }
            q.execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// An interval `[since, until)` of one display in one status, closing.
struct Closed<'a> {
    device_id: &'a str,
    group_id: &'a str,
    status: &'a str,
    since: Millis,
    until: Millis,
}

/// Folds closed intervals into history and rollups.
async fn close(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    closed: &[Closed<'_>],
) -> Result<(), AppError> {
    let closed: Vec<&Closed> = closed.iter().filter(|c| c.until > c.since).collect();
    if closed.is_empty() {
        return Ok(());
    }
    for chunk in closed.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let m = 2 + 5 * r;
                format!("($1, ${m}, ${}, ${}, ${}, ${})", m + 1, m + 2, m + 3, m + 4)
            })
            .collect();
        let sql = format!(
            "INSERT INTO status_history (org_id, device_id, group_id, status, started_at, ended_at) \
             VALUES {} ON CONFLICT (org_id, device_id, started_at) DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for c in chunk {
            q = q
                .bind(c.device_id)
                .bind(c.group_id)
                .bind(c.status)
                .bind(c.since)
                .bind(c.until);
        }
        q.execute(&mut **tx).await?;
    }
    // Each rollup's rows, by the status column they add to.
    for (table, time, grain) in [
        ("status_hours", "hour", None),
        ("status_days", "day", Some(Grain::Day)),
        ("status_weeks", "week", Some(Grain::Week)),
    ] {
        let mut by_col: BTreeMap<&str, Vec<Rollup>> = BTreeMap::new();
        for c in &closed {
            let mut sums: BTreeMap<Millis, i64> = BTreeMap::new();
            for (hour, ms) in split_by_hour(c.since, c.until - c.since) {
                *sums
                    .entry(grain.map_or(hour, |g| g.start(hour)))
                    .or_default() += ms;
            }
            by_col.entry(column(c.status)).or_default().extend(
                sums.into_iter()
                    .map(|(at, ms)| (c.device_id, c.group_id, at, ms)),
            );
        }
        for (col, rows) in by_col {
            add(tx, table, time, col, org_id, &rows).await?;
        }
    }
    Ok(())
}

/// `(display, group, hour/day/week, ms)`: time to add to a rollup row.
type Rollup<'a> = (&'a str, &'a str, Millis, i64);

/// Adds each row's ms to the `col` time of its display's rollup row in
/// `table`, a few dozen rows to a statement (a week online closes into 168
/// hourly rows). Each (display, time) appears once.
async fn add(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    time: &str,
    col: &str,
    org_id: &str,
    rows: &[Rollup<'_>],
) -> Result<(), AppError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let m = 2 + 4 * r;
                let value = |c: &str| {
                    if c == col {
                        format!("${}", m + 3)
                    } else {
                        "0".to_string()
                    }
                };
                format!(
                    "($1, ${}, ${m}, ${}, {}, {}, {}, {})",
                    m + 2,
                    m + 1,
                    value("online_ms"),
                    value("idle_ms"),
                    value("offline_ms"),
                    value("error_ms"),
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} (org_id, {time}, device_id, group_id, online_ms, idle_ms, offline_ms, error_ms) \
             VALUES {} \
             ON CONFLICT (org_id, {time}, device_id, group_id) DO UPDATE SET {col} = {table}.{col} + excluded.{col}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for (device_id, group_id, at, ms) in chunk {
            q = q.bind(*device_id).bind(*group_id).bind(*at).bind(*ms);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Starts an interval for every paired display that has none (a first
/// start after the upgrade, or displays paired before it), from `now`.
pub async fn track_all(db: &Db, now: Millis) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO status_intervals (org_id, device_id, group_id, status, since) \
         SELECT org_id, id, COALESCE(group_id, ''), status, $1 FROM devices \
         WHERE token_hash IS NOT NULL ON CONFLICT (org_id, device_id) DO NOTHING",
    )
    .bind(now)
    .execute_write(db)
    .await?;
    Ok(())
}
