//! Proof of play as it arrives: stored once by its id with the names it was
//! played under, and folded into the hourly and daily rollups in the same
//! transaction, so a report never sees a play without its rollup.

use std::{collections::BTreeMap, sync::OnceLock, time::Duration};

use sqlx::{Any, Row, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::{
    error::AppError,
    model::{split_by_hour, EventBody, Millis, PlayTally, DAY_MS},
    server::core::{now_ms, system, Core, Db},
};

/// A play as a display reported it.
#[derive(Debug, Clone)]
pub struct PlayIn<'a> {
    pub org_id: &'a str,
    pub device_id: &'a str,
    /// Made by the display; a play sent twice is stored once.
    pub id: &'a str,
    pub content_id: &'a str,
    pub playlist_id: Option<&'a str>,
    pub started_at: Millis,
    pub duration_ms: i64,
}

/// The longest play counted (a display that reports a day-long play of one
/// image is believed up to a day).
pub const MAX_PLAY_MS: i64 = DAY_MS;

/// What a stored play folds into the rollups.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub group_id: String,
    pub playlist_id: String,
    pub names: [(&'static str, String, String); 4],
}

/// A play as queued for the writer.
#[derive(Debug, Clone)]
pub struct Play {
    pub org_id: String,
    pub device_id: String,
    pub id: String,
    pub content_id: String,
    pub playlist_id: Option<String>,
    pub started_at: Millis,
    pub duration_ms: i64,
}

impl Play {
    fn borrowed(&self) -> PlayIn<'_> {
        PlayIn {
            org_id: &self.org_id,
            device_id: &self.device_id,
            id: &self.id,
            content_id: &self.content_id,
            playlist_id: self.playlist_id.as_deref(),
            started_at: self.started_at,
            duration_ms: self.duration_ms,
        }
    }
}

/// The most plays written in one transaction, and how long the writer
/// waits for more before writing what it has.
const BATCH: usize = 1_000;
const GATHER: Duration = Duration::from_millis(50);

type Waiting = (Play, oneshot::Sender<Result<bool, AppError>>);

/// Plays go through one writer per node: it gathers what arrives within
/// a few milliseconds and writes it per organization in one transaction
/// (plays, rollups, and one `PlaysRecorded` event with their tallies on the
/// stream), then answers each caller. One disk flush serves a burst, and
/// a report read at a stream position holds exactly the plays the events
/// up to it carry.
#[derive(Default)]
pub struct Ingest {
    queue: OnceLock<mpsc::Sender<Waiting>>,
}

impl Ingest {
    /// Stores `play` once by its id and folds it in; `Ok(false)` when its id
    /// was stored before (the display re-sent it), so nothing counts twice.
    pub async fn record(&self, core: &Core, play: Play) -> Result<bool, AppError> {
        check(&play.borrowed())?;
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(BATCH * 4);
            tokio::spawn(writer(core.clone(), rx));
            tx
        });
        let (done, answer) = oneshot::channel();
        queue
            .send((play, done))
            .await
            .map_err(|_| AppError::internal())?;
        answer.await.map_err(|_| AppError::internal())?
    }
}

fn check(play: &PlayIn<'_>) -> Result<(), AppError> {
    if play.id.is_empty() || play.id.len() > 64 {
        return Err(AppError::validation(
            "A play event id is 1 to 64 characters.",
        ));
    }
    if !(0..=MAX_PLAY_MS).contains(&play.duration_ms) {
        return Err(AppError::validation(
            "A play lasts from 0 to 86,400,000 ms.",
        ));
    }
    Ok(())
}

async fn writer(core: Core, mut rx: mpsc::Receiver<Waiting>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + GATHER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(w)) => batch.push(w),
                _ => break,
            }
        }
        let mut by_org: BTreeMap<String, Vec<Waiting>> = BTreeMap::new();
        for w in batch {
            by_org.entry(w.0.org_id.clone()).or_default().push(w);
        }
        for (org_id, waiting) in by_org {
            let plays: Vec<&Play> = waiting.iter().map(|w| &w.0).collect();
            match write_batch(&core, &org_id, &plays).await {
                Ok(stored) => {
                    for ((_, done), s) in waiting.into_iter().zip(stored) {
                        let _ = done.send(Ok(s));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, plays = waiting.len(), "could not store plays");
                    for (_, done) in waiting {
                        let _ = done.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

/// Writes one organization's plays in one system transaction, with one
/// event that tallies what was new.
async fn write_batch(core: &Core, org_id: &str, plays: &[&Play]) -> Result<Vec<bool>, AppError> {
    let mut tx = system::begin(core, org_id).await?;
    let mut stored = Vec::with_capacity(plays.len());
    // (hour, display, group, content, playlist) → (plays, ms)
    type Key = (Millis, String, String, String, String);
    let mut tallies: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
    for play in plays {
        let p = play.borrowed();
        let s = insert(&mut tx, &p).await?;
        if let Some(s) = &s {
            fold(&mut tx, &p, s).await?;
            for (i, (hour, ms)) in split_by_hour(p.started_at, p.duration_ms).enumerate() {
                let key = (
                    hour,
                    p.device_id.to_string(),
                    s.group_id.clone(),
                    p.content_id.to_string(),
                    s.playlist_id.clone(),
                );
                let t = tallies.entry(key).or_default();
                t.0 += i64::from(i == 0);
                t.1 += ms;
            }
        }
        stored.push(s.is_some());
    }
    let tallies: Vec<PlayTally> = tallies
        .into_iter()
        .map(
            |((hour, device_id, group_id, content_id, playlist_id), (plays, ms))| PlayTally {
                hour,
                device_id,
                group_id,
                content_id,
                playlist_id,
                plays,
                ms,
            },
        )
        .collect();
    let bodies = if tallies.is_empty() {
        Vec::new()
    } else {
        vec![EventBody::PlaysRecorded { tallies }]
    };
    system::commit(core, org_id, tx, bodies).await?;
    Ok(stored)
}

/// Stores and folds one play outside the writer (the demo's backfill and
/// tests): no event.
pub async fn record(db: &Db, play: &PlayIn<'_>) -> Result<Option<Stored>, AppError> {
    check(play)?;
    let mut tx = db.pool.begin().await?;
    let stored = insert(&mut tx, play).await?;
    if let Some(s) = &stored {
        fold(&mut tx, play, s).await?;
    }
    tx.commit().await?;
    Ok(stored)
}

/// The play with the display's, its group's, the content's and the
/// playlist's names as they are now, and the schedule the display last
/// switched to by then.
async fn insert(tx: &mut Transaction<'_, Any>, p: &PlayIn<'_>) -> Result<Option<Stored>, AppError> {
    let row = sqlx::query(
        "INSERT INTO plays (org_id, device_id, id, device_name, group_id, group_name, content_id, \
           content_name, content_sha256, playlist_id, playlist_name, schedule_id, started_at, \
           duration_ms, received_at) \
         SELECT d.org_id, d.id, $3, d.name, COALESCE(d.group_id, ''), COALESCE(g.name, ''), $4, \
           COALESCE(c.name, ''), c.sha256, COALESCE(l.id, ''), COALESCE(l.name, ''), \
           COALESCE((SELECT e.schedule_id FROM schedule_executions e \
                     WHERE e.device_id = d.id AND e.at <= $5 ORDER BY e.at DESC LIMIT 1), ''), \
           $5, $6, $7 \
         FROM devices d \
         LEFT JOIN device_groups g ON g.id = d.group_id \
         LEFT JOIN content c ON c.id = $4 AND c.org_id = d.org_id \
         LEFT JOIN playlists l ON l.id = $8 AND l.org_id = d.org_id \
         WHERE d.org_id = $1 AND d.id = $2 \
         ON CONFLICT (device_id, id) DO NOTHING \
         RETURNING group_id, playlist_id, device_name, group_name, content_name, playlist_name",
    )
    .bind(p.org_id)
    .bind(p.device_id)
    .bind(p.id)
    .bind(p.content_id)
    .bind(p.started_at)
    .bind(p.duration_ms)
    .bind(now_ms())
    .bind(p.playlist_id.unwrap_or(""))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| {
        let group_id: String = r.get("group_id");
        let playlist_id: String = r.get("playlist_id");
        Stored {
            names: [
                ("display", p.device_id.to_string(), r.get("device_name")),
                ("group", group_id.clone(), r.get("group_name")),
                ("content", p.content_id.to_string(), r.get("content_name")),
                ("playlist", playlist_id.clone(), r.get("playlist_name")),
            ],
            group_id,
            playlist_id,
        }
    }))
}

/// Adds `(plays, ms)` to the rollup row of `key` in `table`: `cols` names
/// the key columns after `org_id` (the first is the hour or the day).
#[allow(clippy::too_many_arguments)]
async fn add(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    cols: &[&str],
    org_id: &str,
    key: &[&str],
    at: Millis,
    plays: i64,
    ms: i64,
) -> Result<(), AppError> {
    let names = cols.join(", ");
    let marks: Vec<String> = (0..cols.len() + 3).map(|i| format!("${}", i + 1)).collect();
    let sql = format!(
        "INSERT INTO {table} (org_id, {names}, plays, ms) VALUES ({}) \
         ON CONFLICT (org_id, {names}) DO UPDATE SET plays = {table}.plays + excluded.plays, \
         ms = {table}.ms + excluded.ms",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(org_id).bind(at);
    for k in key {
        q = q.bind(*k);
    }
    q.bind(plays).bind(ms).execute(&mut **tx).await?;
    Ok(())
}

async fn fold(tx: &mut Transaction<'_, Any>, p: &PlayIn<'_>, s: &Stored) -> Result<(), AppError> {
    let (g, c, l) = (s.group_id.as_str(), p.content_id, s.playlist_id.as_str());
    let mut days: BTreeMap<Millis, (i64, i64)> = BTreeMap::new();
    for (i, (hour, ms)) in split_by_hour(p.started_at, p.duration_ms).enumerate() {
        let plays = i64::from(i == 0);
        add(
            tx,
            "play_hours",
            &["hour", "device_id", "group_id", "content_id", "playlist_id"],
            p.org_id,
            &[p.device_id, g, c, l],
            hour,
            plays,
            ms,
        )
        .await?;
        add(
            tx,
            "play_fleet_hours",
            &["hour", "group_id", "content_id", "playlist_id"],
            p.org_id,
            &[g, c, l],
            hour,
            plays,
            ms,
        )
        .await?;
        let day = days.entry(hour.div_euclid(DAY_MS) * DAY_MS).or_default();
        day.0 += plays;
        day.1 += ms;
    }
    for (day, (plays, ms)) in days {
        add(
            tx,
            "play_fleet_days",
            &["day", "group_id", "content_id", "playlist_id"],
            p.org_id,
            &[g, c, l],
            day,
            plays,
            ms,
        )
        .await?;
    }
    for (kind, id, name) in &s.names {
        if id.is_empty() || name.is_empty() {
            continue;
        }
        name_seen(tx, p.org_id, kind, id, name, p.started_at).await?;
    }
    Ok(())
}

/// Remembers the latest name `id` was seen under, for report labels that
/// outlive renames and deletes.
pub async fn name_seen(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    kind: &str,
    id: &str,
    name: &str,
    at: Millis,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO analytics_names (org_id, kind, id, name, at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_id, kind, id) DO UPDATE SET name = excluded.name, at = excluded.at \
         WHERE excluded.at >= analytics_names.at AND excluded.name <> analytics_names.name",
    )
    .bind(org_id)
    .bind(kind)
    .bind(id)
    .bind(name)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Drops raw plays and status intervals older than `days` (rollups stay).
pub async fn expire(db: &Db, days: i64) -> Result<u64, AppError> {
    let before = now_ms() - days * DAY_MS;
    let plays = sqlx::query("DELETE FROM plays WHERE started_at < $1")
        .bind(before)
        .execute(&db.pool)
        .await?
        .rows_affected();
    let intervals = sqlx::query("DELETE FROM status_history WHERE ended_at < $1")
        .bind(before)
        .execute(&db.pool)
        .await?
        .rows_affected();
    Ok(plays + intervals)
}
