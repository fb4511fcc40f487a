//! Uptime from status intervals: each display's current status and since
//! when, closed into raw history and hourly, daily and weekly rollups whenever the
//! status changes, in the same transaction as the status event.

use std::collections::BTreeMap;

use sqlx::{Any, Row, Transaction};

use super::sql::ROWS_PER_STATEMENT;
use crate::{
    error::AppError,
    model::{split_by_hour, DeviceStatus, Grain, Millis},
    server::core::{Db, ExecuteWrite},
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
    let open = sqlx::query(
        "SELECT group_id, status, since FROM status_intervals WHERE org_id = $1 AND device_id = $2",
    )
    .bind(org_id)
    .bind(device_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(open) = open else {
        sqlx::query(
            "INSERT INTO status_intervals (org_id, device_id, group_id, status, since) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org_id)
        .bind(device_id)
        .bind(group_id)
        .bind(status.as_str())
        .bind(at)
        .execute(&mut **tx)
        .await?;
        return Ok(());
    };
    let (was_group, was, since): (String, String, Millis) =
        (open.get("group_id"), open.get("status"), open.get("since"));
    if was == status.as_str() && was_group == group_id {
        return Ok(());
    }
    close(tx, org_id, device_id, &was_group, &was, since, at).await?;
    sqlx::query(
        "UPDATE status_intervals SET group_id = $1, status = $2, since = $3 \
         WHERE org_id = $4 AND device_id = $5",
    )
    .bind(group_id)
    .bind(status.as_str())
    .bind(at.max(since))
    .bind(org_id)
    .bind(device_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Folds the interval `[since, until)` in `status` into history and rollups.
async fn close(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    device_id: &str,
    group_id: &str,
    status: &str,
    since: Millis,
    until: Millis,
) -> Result<(), AppError> {
    if until <= since {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO status_history (org_id, device_id, group_id, status, started_at, ended_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, device_id, started_at) DO NOTHING",
    )
    .bind(org_id)
    .bind(device_id)
    .bind(group_id)
    .bind(status)
    .bind(since)
    .bind(until)
    .execute(&mut **tx)
    .await?;
    let col = column(status);
    let hours: Vec<(Millis, i64)> = split_by_hour(since, until - since).collect();
    let sums = |grain: Grain| {
        let mut out: BTreeMap<Millis, i64> = BTreeMap::new();
        for (hour, ms) in &hours {
            *out.entry(grain.start(*hour)).or_default() += ms;
        }
        out.into_iter().collect::<Vec<_>>()
    };
    let (days, weeks) = (sums(Grain::Day), sums(Grain::Week));
    for (table, time, rows) in [
        ("status_hours", "hour", &hours),
        ("status_days", "day", &days),
        ("status_weeks", "week", &weeks),
    ] {
        add(tx, table, time, col, org_id, device_id, group_id, rows).await?;
    }
    Ok(())
}

/// Adds each `(hour, day or week, ms)` of `rows` to the `col` time of the
/// display's rollup row in `table`, a few dozen to a statement (a week
/// online closes into 168 hourly rows). The times are distinct.
#[allow(clippy::too_many_arguments)]
async fn add(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    time: &str,
    col: &str,
    org_id: &str,
    device_id: &str,
    group_id: &str,
    rows: &[(Millis, i64)],
) -> Result<(), AppError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let (at, ms) = (4 + 2 * r, 5 + 2 * r);
                let value = |c: &str| {
                    if c == col {
                        format!("${ms}")
                    } else {
                        "0".to_string()
                    }
                };
                format!(
                    "($1, ${at}, $2, $3, {}, {}, {}, {})",
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
        let mut q = sqlx::query(&sql)
            .bind(org_id)
            .bind(device_id)
            .bind(group_id);
        for (at, ms) in chunk {
            q = q.bind(*at).bind(*ms);
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
