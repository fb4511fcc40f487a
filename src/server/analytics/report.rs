//! Reports over the rollups: a range is split (`model::cover`) into whole
//! weeks and UTC days (weekly and daily rows, when the report allows), whole
//! hours (hourly rows) and the partial hours at its edges (raw rows), so a
//! year reads about sixty rows a key and the edges are still exact.

use std::collections::HashMap;

use serde::Deserialize;
use sqlx::{AnyConnection, Row};

use super::{ingest::MAX_PLAY_MS, sql::Sql};
use crate::{
    error::AppError,
    model::{
        cover, day_start, local_date, local_rfc3339, Grain, GroupBy, Millis, PlayRow, PlayTotals,
        PlaysReport, UptimeReport, UptimeRow, Zone, DAY_MS, HOUR_MS,
    },
    server::core::Db,
};

/// What a report is limited to (every filter optional).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    pub device_id: Option<String>,
    pub group_id: Option<String>,
    pub content_id: Option<String>,
    pub playlist_id: Option<String>,
}

/// A report's range and buckets.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub from: Millis,
    pub to: Millis,
    pub tz: Zone,
}

/// The longest range a report covers.
pub const MAX_RANGE_MS: Millis = 3 * 366 * DAY_MS;

/// The local start of the bucket `t` falls in.
fn bucket_start(tz: Zone, by: GroupBy, t: Millis) -> Millis {
    match by {
        GroupBy::Day => day_start(tz, local_date(tz, t)),
        _ => {
            // Local hours: the start of the UTC hour, unless the zone's
            // offset has minutes (then the local hour that holds `t`).
            let local = local_rfc3339(tz, t);
            let minutes: i64 = local.get(14..16).and_then(|m| m.parse().ok()).unwrap_or(0);
            let seconds = t.rem_euclid(60_000);
            t - minutes * 60_000 - seconds
        }
    }
}

/// The key and label a time bucket is shown under.
fn bucket_key(tz: Zone, by: GroupBy, start: Millis) -> String {
    let local = local_rfc3339(tz, start);
    match by {
        GroupBy::Day => local[..10].to_string(),
        _ => local[..16].to_string(),
    }
}

/// Every bucket start in `[from, to)`, from the one that holds `from`.
fn buckets(r: Range, by: GroupBy) -> Vec<Millis> {
    let mut out = Vec::new();
    let mut at = bucket_start(r.tz, by, r.from);
    while at < r.to {
        out.push(at);
        let step = if by == GroupBy::Day { DAY_MS } else { HOUR_MS };
        // Days are 23 to 25 hours long: the next local midnight after
        // at + 26 h, stepped back to its day's start.
        let next = if by == GroupBy::Day {
            bucket_start(r.tz, by, at + step + 2 * HOUR_MS)
        } else {
            bucket_start(r.tz, by, at + step)
        };
        at = if next > at { next } else { at + step };
    }
    out
}

/// The rows' key column for a grouping (time groupings key on the row's time).
fn key_column(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Content => "content_id",
        GroupBy::Display => "device_id",
        GroupBy::Group => "group_id",
        GroupBy::Playlist => "playlist_id",
        GroupBy::Day | GroupBy::Hour => "",
    }
}

fn filter_sql(sql: &mut Sql, f: &Filter, with_device: bool) {
    for (col, value) in [
        ("device_id", f.device_id.as_deref().filter(|_| with_device)),
        ("group_id", f.group_id.as_deref()),
        ("content_id", f.content_id.as_deref()),
        ("playlist_id", f.playlist_id.as_deref()),
    ] {
        if let Some(v) = value {
            let m = sql.text(v);
            sql.push(&format!(" AND {col} = {m}"));
        }
    }
}

/// `(key, time, plays, ms)` rows of one piece of the range.
#[allow(clippy::too_many_arguments)]
async fn piece(
    conn: &mut AnyConnection,
    org_id: &str,
    grain: Grain,
    a: Millis,
    b: Millis,
    by: GroupBy,
    f: &Filter,
    with_device: bool,
) -> Result<Vec<(String, Millis, i64, i64)>, AppError> {
    let key = key_column(by);
    let mut sql = Sql::new("");
    let org = sql.text(org_id);
    let (am, bm) = (sql.int(a), sql.int(b));
    let key_sel = if key.is_empty() {
        "''".to_string()
    } else {
        key.to_string()
    };
    match grain {
        Grain::Raw => {
            let early = sql.int(a - MAX_PLAY_MS);
            sql.push(&format!(
                "SELECT {key_sel} AS k, {am} AS t, \
                   CAST(SUM(CASE WHEN started_at >= {am} THEN 1 ELSE 0 END) AS BIGINT) AS plays, \
                   CAST(SUM((CASE WHEN started_at + duration_ms < {bm} THEN started_at + duration_ms ELSE {bm} END) \
                     - (CASE WHEN started_at > {am} THEN started_at ELSE {am} END)) AS BIGINT) AS ms \
                 FROM plays WHERE org_id = {org} AND started_at >= {early} AND started_at < {bm} \
                   AND (started_at >= {am} OR started_at + duration_ms > {am})"
            ));
        }
        Grain::Hour | Grain::Day | Grain::Week => {
            // Days by group keep neither content nor playlist.
            let groups_only = f.content_id.is_none()
                && f.playlist_id.is_none()
                && matches!(by, GroupBy::Day | GroupBy::Group);
            let (table, time) = match (grain, with_device) {
                (Grain::Week, true) => ("play_display_weeks", "week"),
                (Grain::Week, false) => ("play_fleet_weeks", "week"),
                (Grain::Day, true) => ("play_display_days", "day"),
                (Grain::Day, false) if groups_only => ("play_group_days", "day"),
                (Grain::Day, false) => ("play_fleet_days", "day"),
                (_, true) => ("play_hours", "hour"),
                _ => ("play_fleet_hours", "hour"),
            };
            let t = if by.is_time() {
                time
            } else {
                "CAST(0 AS BIGINT)"
            };
            sql.push(&format!(
                "SELECT {key_sel} AS k, {t} AS t, CAST(SUM(plays) AS BIGINT) AS plays, \
                   CAST(SUM(ms) AS BIGINT) AS ms \
                 FROM {table} WHERE org_id = {org} AND {time} >= {am} AND {time} < {bm}"
            ));
        }
    }
    filter_sql(&mut sql, f, with_device);
    // Time groupings never read weeks (a bucket is a day at most).
    let group_time = matches!(grain, Grain::Hour | Grain::Day) && by.is_time();
    let time_col = if grain == Grain::Day { "day" } else { "hour" };
    match (key.is_empty(), group_time) {
        (false, _) => sql.push(&format!(" GROUP BY {key}")),
        (true, true) => sql.push(&format!(" GROUP BY {time_col}")),
        (true, false) => {}
    }
    let rows = sql.fetch(conn).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let plays: Option<i64> = r.try_get("plays").ok().flatten();
            let plays = plays?;
            Some((
                r.get::<String, _>("k"),
                r.get::<i64, _>("t"),
                plays,
                r.try_get::<Option<i64>, _>("ms")
                    .ok()
                    .flatten()
                    .unwrap_or(0),
            ))
        })
        .collect())
}

/// Labels of `ids` of `kind` (content, display, group, playlist): the name
/// last played or tracked under, else the current one.
async fn labels(
    conn: &mut AnyConnection,
    org_id: &str,
    by: GroupBy,
) -> Result<HashMap<String, String>, AppError> {
    let (kind, current) = match by {
        GroupBy::Content => ("content", "SELECT id, name FROM content WHERE org_id = $1"),
        GroupBy::Display => ("display", "SELECT id, name FROM devices WHERE org_id = $1"),
        GroupBy::Group => (
            "group",
            "SELECT id, name FROM device_groups WHERE org_id = $1",
        ),
        GroupBy::Playlist => (
            "playlist",
            "SELECT id, name FROM playlists WHERE org_id = $1",
        ),
        _ => return Ok(HashMap::new()),
    };
    let mut out: HashMap<String, String> = sqlx::query_as(current)
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let seen: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM analytics_names WHERE org_id = $1 AND kind = $2")
            .bind(org_id)
            .bind(kind)
            .fetch_all(&mut *conn)
            .await?;
    out.extend(seen);
    Ok(out)
}

fn none_label(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Group => "No group",
        GroupBy::Playlist => "No playlist",
        _ => "Unknown",
    }
}

/// The proof-of-play report.
pub async fn plays(
    db: &Db,
    org_id: &str,
    r: Range,
    by: GroupBy,
    f: &Filter,
) -> Result<PlaysReport, AppError> {
    plays_in(&mut *db.pool.acquire().await?, org_id, r, by, f).await
}

/// The proof-of-play report, read on `conn` (a snapshot's transaction).
pub async fn plays_in(
    conn: &mut AnyConnection,
    org_id: &str,
    r: Range,
    by: GroupBy,
    f: &Filter,
) -> Result<PlaysReport, AppError> {
    let with_device = f.device_id.is_some() || by == GroupBy::Display;
    // Time buckets must fall on hour (and, to read days, UTC day) lines;
    // where a zone's offset has minutes each bucket is read on its own.
    let starts = if by.is_time() {
        buckets(r, by)
    } else {
        Vec::new()
    };
    let inner = || starts.iter().copied().filter(|s| *s > r.from && *s < r.to);
    let aligned = inner().all(|s| s % HOUR_MS == 0);
    // Daily rows: the fleet's keep group, content and playlist; each
    // display's keep only its group, so they serve a report by display (or
    // of one) unless it asks what played.
    let display_days = f.content_id.is_none()
        && f.playlist_id.is_none()
        && !matches!(by, GroupBy::Content | GroupBy::Playlist);
    let days = (!with_device || display_days)
        && (!by.is_time() || (by == GroupBy::Day && inner().all(|s| s % DAY_MS == 0)));
    // Weeks and days keep the same keys; a report by time stops at days.
    let coarsest = match (days && aligned, by.is_time()) {
        (false, _) => Grain::Hour,
        (true, true) => Grain::Day,
        (true, false) => Grain::Week,
    };
    let spans: Vec<(Millis, Millis)> = if by.is_time() && !aligned {
        starts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    (*s).max(r.from),
                    starts.get(i + 1).copied().unwrap_or(r.to).min(r.to),
                )
            })
            .collect()
    } else {
        vec![(r.from, r.to)]
    };
    let mut acc: HashMap<String, (i64, i64)> = HashMap::new();
    for (a, b) in spans {
        for (grain, pa, pb) in cover(a, b, coarsest) {
            for (k, t, plays, ms) in piece(conn, org_id, grain, pa, pb, by, f, with_device).await? {
                let key = if by.is_time() {
                    bucket_key(r.tz, by, bucket_start(r.tz, by, t.max(a)))
                } else {
                    k
                };
                let e = acc.entry(key).or_default();
                e.0 += plays;
                e.1 += ms;
            }
        }
    }
    let mut rows: Vec<PlayRow> = if by.is_time() {
        starts
            .iter()
            .map(|s| {
                let key = bucket_key(r.tz, by, *s);
                let (plays, ms) = acc.get(&key).copied().unwrap_or_default();
                PlayRow {
                    label: key.clone(),
                    key,
                    plays,
                    seconds: ms as f64 / 1000.0,
                }
            })
            .collect()
    } else {
        let names = labels(conn, org_id, by).await?;
        let mut rows: Vec<PlayRow> = acc
            .into_iter()
            .filter(|(_, (plays, ms))| *plays > 0 || *ms > 0)
            .map(|(key, (plays, ms))| PlayRow {
                label: if key.is_empty() {
                    none_label(by).to_string()
                } else {
                    names.get(&key).cloned().unwrap_or_else(|| key.clone())
                },
                key,
                plays,
                seconds: ms as f64 / 1000.0,
            })
            .collect();
        rows.sort_by(|a, b| b.plays.cmp(&a.plays).then(a.label.cmp(&b.label)));
        rows
    };
    // A fall-back hour's two local 01:00 buckets share a key (and its sum).
    rows.dedup_by(|a, b| a.key == b.key);
    let total = PlayTotals {
        plays: rows.iter().map(|r| r.plays).sum(),
        seconds: rows.iter().map(|r| r.seconds).sum(),
    };
    Ok(PlaysReport { rows, total })
}

/// The uptime report, by display or by group, worst first.
pub async fn uptime(
    db: &Db,
    org_id: &str,
    r: Range,
    by: GroupBy,
    f: &Filter,
    now: Millis,
) -> Result<UptimeReport, AppError> {
    let conn = &mut *db.pool.acquire().await?;
    let times = status_times(conn, org_id, r, f, now).await?;
    let key = |(device, group): &(String, String)| match by {
        GroupBy::Group => group.clone(),
        _ => device.clone(),
    };
    uptime_report(conn, org_id, by, &times, key).await
}

/// Uptime by display and by group, read once (the Analytics page shows both).
pub async fn uptime_both_in(
    conn: &mut AnyConnection,
    org_id: &str,
    r: Range,
    f: &Filter,
    now: Millis,
) -> Result<(UptimeReport, UptimeReport), AppError> {
    let times = status_times(conn, org_id, r, f, now).await?;
    let by_display = uptime_report(conn, org_id, GroupBy::Display, &times, |k| k.0.clone()).await?;
    let by_group = uptime_report(conn, org_id, GroupBy::Group, &times, |k| k.1.clone()).await?;
    Ok((by_display, by_group))
}

/// Milliseconds online, idle, offline and in error.
type StatusMs = [i64; 4];
const STATUSES: [&str; 4] = ["online", "idle", "offline", "error"];

/// Time in each status over the range up to `now`, per (display, group it
/// was in): the rollups' whole weeks, days and hours, the raw history at the
/// edges, and the intervals still open.
async fn status_times(
    conn: &mut AnyConnection,
    org_id: &str,
    r: Range,
    f: &Filter,
    now: Millis,
) -> Result<HashMap<(String, String), StatusMs>, AppError> {
    let to = r.to.min(now);
    let mut acc: HashMap<(String, String), StatusMs> = HashMap::new();
    let mut add = |row: &sqlx::any::AnyRow, status: &str, ms: i64| {
        if let Some(i) = STATUSES.iter().position(|c| *c == status) {
            let key = (row.get("d"), row.get("g"));
            acc.entry(key).or_default()[i] += ms.max(0);
        }
    };
    let filters = |sql: &mut Sql| {
        for (col, v) in [("device_id", &f.device_id), ("group_id", &f.group_id)] {
            if let Some(v) = v {
                let m = sql.text(v);
                sql.push(&format!(" AND {col} = {m}"));
            }
        }
    };
    let ms = |row: &sqlx::any::AnyRow, col: &str| {
        row.try_get::<Option<i64>, _>(col)
            .ok()
            .flatten()
            .unwrap_or(0)
    };
    for (grain, a, b) in cover(r.from, to, Grain::Week) {
        let mut sql = Sql::new("");
        let org = sql.text(org_id);
        let (am, bm) = (sql.int(a), sql.int(b));
        match grain {
            Grain::Raw => {
                sql.push(&format!(
                    "SELECT device_id AS d, group_id AS g, status, \
                       CAST(SUM((CASE WHEN ended_at < {bm} THEN ended_at ELSE {bm} END) \
                         - (CASE WHEN started_at > {am} THEN started_at ELSE {am} END)) AS BIGINT) AS ms \
                     FROM status_history WHERE org_id = {org} AND started_at < {bm} AND ended_at > {am}"
                ));
                filters(&mut sql);
                sql.push(" GROUP BY device_id, group_id, status");
                for row in sql.fetch(&mut *conn).await? {
                    let status: String = row.get("status");
                    add(&row, &status, ms(&row, "ms"));
                }
            }
            Grain::Hour | Grain::Day | Grain::Week => {
                let (table, time) = match grain {
                    Grain::Week => ("status_weeks", "week"),
                    Grain::Day => ("status_days", "day"),
                    _ => ("status_hours", "hour"),
                };
                sql.push(&format!(
                    "SELECT device_id AS d, group_id AS g, CAST(SUM(online_ms) AS BIGINT) AS online, \
                       CAST(SUM(idle_ms) AS BIGINT) AS idle, CAST(SUM(offline_ms) AS BIGINT) AS offline, \
                       CAST(SUM(error_ms) AS BIGINT) AS error \
                     FROM {table} WHERE org_id = {org} AND {time} >= {am} AND {time} < {bm}"
                ));
                filters(&mut sql);
                sql.push(" GROUP BY device_id, group_id");
                for row in sql.fetch(&mut *conn).await? {
                    for c in STATUSES {
                        add(&row, c, ms(&row, c));
                    }
                }
            }
        }
    }
    // The intervals still open count up to now.
    let mut sql = Sql::new("");
    let org = sql.text(org_id);
    let bm = sql.int(to);
    sql.push(&format!(
        "SELECT device_id AS d, group_id AS g, status, since FROM status_intervals \
         WHERE org_id = {org} AND since < {bm}"
    ));
    filters(&mut sql);
    for row in sql.fetch(&mut *conn).await? {
        let since: Millis = row.get("since");
        let status: String = row.get("status");
        add(&row, &status, to - since.max(r.from));
    }
    Ok(acc)
}

/// The status times summed by `key` into report rows, worst first.
async fn uptime_report(
    conn: &mut AnyConnection,
    org_id: &str,
    by: GroupBy,
    times: &HashMap<(String, String), StatusMs>,
    key: impl Fn(&(String, String)) -> String,
) -> Result<UptimeReport, AppError> {
    let mut acc: HashMap<String, StatusMs> = HashMap::new();
    for (k, t) in times {
        let e = acc.entry(key(k)).or_default();
        for i in 0..4 {
            e[i] += t[i];
        }
    }
    let names = labels(conn, org_id, by).await?;
    let mut rows: Vec<UptimeRow> = acc
        .into_iter()
        .map(|(key, [online, idle, offline, error])| UptimeRow {
            label: if key.is_empty() {
                none_label(by).to_string()
            } else {
                names.get(&key).cloned().unwrap_or_else(|| key.clone())
            },
            key,
            online_seconds: online / 1000,
            idle_seconds: idle / 1000,
            offline_seconds: offline / 1000,
            error_seconds: error / 1000,
            uptime_percent: UptimeRow::percent(online, idle, offline, error),
        })
        .filter(|r| r.online_seconds + r.idle_seconds + r.offline_seconds + r.error_seconds > 0)
        .collect();
    rows.sort_by(|a, b| {
        a.uptime_percent
            .total_cmp(&b.uptime_percent)
            .then(a.label.cmp(&b.label))
    });
    Ok(UptimeReport { rows })
}
