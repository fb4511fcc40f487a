//! Proof of play as it arrives: stored once by its id with the names it was
//! played under, and folded into the hourly, daily and weekly rollups in the same
//! transaction, so a report never sees a play without its rollup.

use std::{
    collections::{BTreeMap, HashMap},
    sync::OnceLock,
    time::{Duration, Instant},
};

use sqlx::{Any, Row, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::sql::{marks, ROWS_PER_STATEMENT};
use crate::{
    error::AppError,
    model::{split_by_hour, EventBody, Grain, Millis, PlayTally, DAY_MS},
    server::core::{now_ms, system, Core, Db, ExecuteWrite},
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

/// The most plays written in one transaction (it holds SQLite's one write
/// lock that operators' changes wait for). A batch is what queued while the
/// last write ran, so it grows only while the writer is behind, and a big
/// one costs less a play: a thousand displays' plays land on the same
/// thousand index pages (a display's newest rows) however many each sends.
const BATCH: usize = 4_000;
/// Plays waiting for the writer before callers wait to queue.
const QUEUE: usize = BATCH * 4;

type Waiting = (Play, oneshot::Sender<Result<bool, AppError>>);

/// Plays go through one writer per node: it takes what queued while its
/// last write ran and writes it per organization in one transaction
/// (plays, rollups, and one `PlaysRecorded` event with their tallies on the
/// stream), then answers each caller. One disk flush serves a burst, and
/// a report read at a stream position holds exactly the plays the events
/// up to it carry.
#[derive(Default)]
pub struct Ingest {
    queue: OnceLock<mpsc::Sender<Waiting>>,
}

/// The writer's answer for one play: whether it was new.
pub type Ack = oneshot::Receiver<Result<bool, AppError>>;

impl Ingest {
    /// Stores `play` once by its id and folds it in; `Ok(false)` when its id
    /// was stored before (the display re-sent it), so nothing counts twice.
    pub async fn record(&self, core: &Core, play: Play) -> Result<bool, AppError> {
        let ack = self.submit(core, play).await?;
        answered(ack).await
    }

    /// Queues `play` for the writer and gives the answer to wait for, so a
    /// caller with many plays (a display sending its backlog) has them all
    /// in the next write instead of one write each. Waits only while the
    /// writer's queue is full.
    pub async fn submit(&self, core: &Core, play: Play) -> Result<Ack, AppError> {
        check(&play.borrowed())?;
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(writer(core.clone(), rx));
            tx
        });
        let (done, answer) = oneshot::channel();
        queue
            .send((play, done))
            .await
            .map_err(|_| AppError::internal())?;
        Ok(answer)
    }
}

/// What the writer answered for a submitted play.
pub async fn answered(ack: Ack) -> Result<bool, AppError> {
    ack.await.map_err(|_| AppError::internal())?
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
    let mut recent = RecentNames::default();
    while let Some(first) = rx.recv().await {
        // What queued while the last write ran: a burst shares one
        // transaction, a lone play waits for nobody.
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let mut by_org: BTreeMap<String, Vec<Waiting>> = BTreeMap::new();
        for w in batch {
            by_org.entry(w.0.org_id.clone()).or_default().push(w);
        }
        for (org_id, waiting) in by_org {
            let plays: Vec<&Play> = waiting.iter().map(|w| &w.0).collect();
            match write_batch(&core, &org_id, &plays, &mut recent).await {
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

/// How long a name the writer stored is trusted to still be the stored one
/// (another node may have written a newer name for the same id meanwhile).
const NAME_FRESH: Duration = Duration::from_secs(60);
/// Names remembered before the oldest are forgotten all at once.
const NAMES_KEPT: usize = 100_000;

/// The names one writer stored lately, so a batch writes only the names
/// that changed: a fleet's plays name the same displays, groups, content
/// and playlists batch after batch, and their unchanged names were a sixth
/// of the rows each write touched.
#[derive(Default)]
pub struct RecentNames {
    names: HashMap<(String, &'static str, String), (String, Instant)>,
}

impl RecentNames {
    fn holds(&self, org_id: &str, kind: &'static str, id: &str, name: &str) -> bool {
        self.names
            .get(&(org_id.to_string(), kind, id.to_string()))
            .is_some_and(|(n, at)| n == name && at.elapsed() < NAME_FRESH)
    }

    /// Remembers what a committed write stored.
    fn stored(&mut self, org_id: &str, names: Vec<((&'static str, String), String)>) {
        if self.names.len() + names.len() > NAMES_KEPT {
            self.names.clear();
        }
        let now = Instant::now();
        for ((kind, id), name) in names {
            self.names
                .insert((org_id.to_string(), kind, id), (name, now));
        }
    }
}

/// (hour, display, group, content, playlist) of a tally.
type TallyKey = (Millis, String, String, String, String);
/// (hour or day, group, content, playlist) of a fleet rollup row.
type FleetKey = (Millis, String, String, String);
/// Plays and milliseconds.
type Sums = (i64, i64);
/// (kind, id) and the latest (name, time) it was played under.
type NameSeen = ((&'static str, String), (String, Millis));

/// What one write adds: tallies per (hour, display, group, content,
/// playlist), and the latest name each id was played under.
#[derive(Default)]
pub struct Batch {
    tallies: BTreeMap<TallyKey, Sums>,
    names: BTreeMap<(&'static str, String), (String, Millis)>,
}

impl Batch {
    /// Adds a stored play: its count in the hour it starts, its time split
    /// at hour lines.
    fn add_play(&mut self, p: &PlayIn<'_>, s: &Stored) {
        for (i, (hour, ms)) in split_by_hour(p.started_at, p.duration_ms).enumerate() {
            self.add(
                hour,
                p.device_id,
                &s.group_id,
                p.content_id,
                &s.playlist_id,
                i64::from(i == 0),
                ms,
            );
        }
        for (kind, id, name) in &s.names {
            self.name(kind, id, name, p.started_at);
        }
    }

    /// Adds `plays` and `ms` to one hour's tally.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        hour: Millis,
        device: &str,
        group: &str,
        content: &str,
        playlist: &str,
        plays: i64,
        ms: i64,
    ) {
        let key = (
            hour,
            device.to_string(),
            group.to_string(),
            content.to_string(),
            playlist.to_string(),
        );
        let t = self.tallies.entry(key).or_default();
        t.0 += plays;
        t.1 += ms;
    }

    /// Remembers that `id` of `kind` was played under `name` at `at`.
    pub fn name(&mut self, kind: &'static str, id: &str, name: &str, at: Millis) {
        if id.is_empty() || name.is_empty() {
            return;
        }
        let e = self
            .names
            .entry((kind, id.to_string()))
            .or_insert_with(|| (name.to_string(), at));
        if at >= e.1 {
            *e = (name.to_string(), at);
        }
    }

    /// Folds the batch into the hourly and daily rollups and the names, a
    /// few hundred rows to a statement, and gives its tallies (for the event).
    pub async fn fold(
        self,
        tx: &mut Transaction<'_, Any>,
        org_id: &str,
    ) -> Result<Vec<PlayTally>, AppError> {
        let mut hours: BTreeMap<FleetKey, Sums> = BTreeMap::new();
        let mut days: BTreeMap<FleetKey, Sums> = BTreeMap::new();
        let mut weeks: BTreeMap<FleetKey, Sums> = BTreeMap::new();
        let mut display_days: BTreeMap<(Millis, String, String), Sums> = BTreeMap::new();
        let mut display_weeks: BTreeMap<(Millis, String, String), Sums> = BTreeMap::new();
        let mut group_days: BTreeMap<(Millis, String), Sums> = BTreeMap::new();
        let mut out = Vec::with_capacity(self.tallies.len());
        for ((hour, device_id, group_id, content_id, playlist_id), (plays, ms)) in self.tallies {
            let fleet = (
                hour,
                group_id.clone(),
                content_id.clone(),
                playlist_id.clone(),
            );
            let at = |grain: Grain| {
                let mut key = fleet.clone();
                key.0 = grain.start(hour);
                key
            };
            let (day, week) = (at(Grain::Day), at(Grain::Week));
            let display_day = (day.0, device_id.clone(), group_id.clone());
            let display_week = (week.0, device_id.clone(), group_id.clone());
            let e = group_days.entry((day.0, group_id.clone())).or_default();
            e.0 += plays;
            e.1 += ms;
            for (map, key) in [(&mut hours, fleet), (&mut days, day), (&mut weeks, week)] {
                let e = map.entry(key).or_default();
                e.0 += plays;
                e.1 += ms;
            }
            for (map, key) in [
                (&mut display_days, display_day),
                (&mut display_weeks, display_week),
            ] {
                let e = map.entry(key).or_default();
                e.0 += plays;
                e.1 += ms;
            }
            out.push(PlayTally {
                hour,
                device_id,
                group_id,
                content_id,
                playlist_id,
                plays,
                ms,
            });
        }
        let per_display: Vec<Rollup<'_>> = out
            .iter()
            .map(|t| Rollup {
                at: t.hour,
                keys: vec![&t.device_id, &t.group_id, &t.content_id, &t.playlist_id],
                plays: t.plays,
                ms: t.ms,
            })
            .collect();
        let cols = ["hour", "device_id", "group_id", "content_id", "playlist_id"];
        upsert(tx, "play_hours", &cols, org_id, &per_display).await?;
        for (table, time, rows) in [
            ("play_display_days", "day", &display_days),
            ("play_display_weeks", "week", &display_weeks),
        ] {
            let rows: Vec<Rollup<'_>> = rows
                .iter()
                .map(|((at, d, g), (plays, ms))| Rollup {
                    at: *at,
                    keys: vec![d, g],
                    plays: *plays,
                    ms: *ms,
                })
                .collect();
            let cols = [time, "device_id", "group_id"];
            upsert(tx, table, &cols, org_id, &rows).await?;
        }
        let rows: Vec<Rollup<'_>> = group_days
            .iter()
            .map(|((at, g), (plays, ms))| Rollup {
                at: *at,
                keys: vec![g],
                plays: *plays,
                ms: *ms,
            })
            .collect();
        upsert(tx, "play_group_days", &["day", "group_id"], org_id, &rows).await?;
        for (table, time, rows) in [
            ("play_fleet_hours", "hour", &hours),
            ("play_fleet_days", "day", &days),
            ("play_fleet_weeks", "week", &weeks),
        ] {
            let rows: Vec<Rollup<'_>> = rows
                .iter()
                .map(|((at, g, c, l), (plays, ms))| Rollup {
                    at: *at,
                    keys: vec![g, c, l],
                    plays: *plays,
                    ms: *ms,
                })
                .collect();
            let cols = [time, "group_id", "content_id", "playlist_id"];
            upsert(tx, table, &cols, org_id, &rows).await?;
        }
        let names: Vec<_> = self.names.into_iter().collect();
        names_seen(tx, org_id, &names).await?;
        Ok(out)
    }
}

/// Writes one organization's plays in one system transaction, with one
/// event that tallies what was new (the writer's step; the bench loads
/// through it too). Names `recent` holds are not written again.
pub async fn write_batch(
    core: &Core,
    org_id: &str,
    plays: &[&Play],
    recent: &mut RecentNames,
) -> Result<Vec<bool>, AppError> {
    let mut tx = system::open(core.db.begin_bulk_write(), org_id).await?;
    let mut stored = Vec::with_capacity(plays.len());
    let mut batch = Batch::default();
    let borrowed: Vec<PlayIn<'_>> = plays.iter().map(|p| p.borrowed()).collect();
    for (p, s) in borrowed
        .iter()
        .zip(insert(&mut tx, org_id, &borrowed).await?)
    {
        if let Some(s) = &s {
            batch.add_play(p, s);
        }
        stored.push(s.is_some());
    }
    batch
        .names
        .retain(|(kind, id), (name, _)| !recent.holds(org_id, kind, id, name));
    let names: Vec<_> = batch
        .names
        .iter()
        .map(|(key, (name, _))| (key.clone(), name.clone()))
        .collect();
    let tallies = batch.fold(&mut tx, org_id).await?;
    let bodies = if tallies.is_empty() {
        Vec::new()
    } else {
        vec![EventBody::PlaysRecorded { tallies }]
    };
    system::commit(core, org_id, tx, bodies).await?;
    recent.stored(org_id, names);
    Ok(stored)
}

/// Stores and folds one play outside the writer (tests): no event.
pub async fn record(db: &Db, play: &PlayIn<'_>) -> Result<Option<Stored>, AppError> {
    check(play)?;
    let mut tx = db.begin_write().await?;
    let stored = insert(&mut tx, play.org_id, std::slice::from_ref(play))
        .await?
        .pop()
        .flatten();
    if let Some(s) = &stored {
        let mut batch = Batch::default();
        batch.add_play(play, s);
        batch.fold(&mut tx, play.org_id).await?;
    }
    tx.commit().await?;
    Ok(stored)
}

/// Stores `plays` (all of `org_id`) with the display's, its group's, the
/// content's and the playlist's names as they are now, and the schedule
/// the display last switched to by then; for each, what it folds into, or
/// `None` when its id was stored before (also earlier in `plays`) or its
/// display is unknown.
async fn insert(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    plays: &[PlayIn<'_>],
) -> Result<Vec<Option<Stored>>, AppError> {
    let mut out = Vec::with_capacity(plays.len());
    for chunk in plays.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len()).map(|r| marks(3 + r * 6, 6)).collect();
        // The received time is bound once; a display missing from the
        // fleet joins nothing and is not stored.
        let sql = format!(
            "WITH v (device_id, id, content_id, started_at, duration_ms, playlist_id) AS \
               (VALUES {}) \
             INSERT INTO plays (org_id, device_id, id, device_name, group_id, group_name, \
               content_id, content_name, content_sha256, playlist_id, playlist_name, schedule_id, \
               started_at, duration_ms, received_at) \
             SELECT d.org_id, d.id, v.id, d.name, COALESCE(d.group_id, ''), COALESCE(g.name, ''), \
               v.content_id, COALESCE(c.name, ''), c.sha256, COALESCE(l.id, ''), \
               COALESCE(l.name, ''), \
               COALESCE((SELECT e.schedule_id FROM schedule_executions e \
                         WHERE e.device_id = d.id AND e.at <= v.started_at \
                         ORDER BY e.at DESC LIMIT 1), ''), \
               v.started_at, v.duration_ms, $2 \
             FROM v \
             JOIN devices d ON d.org_id = $1 AND d.id = v.device_id \
             LEFT JOIN device_groups g ON g.id = d.group_id \
             LEFT JOIN content c ON c.id = v.content_id AND c.org_id = d.org_id \
             LEFT JOIN playlists l ON l.id = v.playlist_id AND l.org_id = d.org_id \
             WHERE true \
             ON CONFLICT (device_id, id) DO NOTHING \
             RETURNING device_id, id, group_id, playlist_id, device_name, group_name, \
               content_name, playlist_name",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(org_id).bind(now_ms());
        for p in chunk {
            q = q
                .bind(p.device_id)
                .bind(p.id)
                .bind(p.content_id)
                .bind(p.started_at)
                .bind(p.duration_ms)
                .bind(p.playlist_id.unwrap_or(""));
        }
        let mut rows: HashMap<(String, String), sqlx::any::AnyRow> = HashMap::new();
        for r in q.fetch_all(&mut **tx).await? {
            rows.insert((r.get("device_id"), r.get("id")), r);
        }
        for p in chunk {
            // A play sent twice in one burst is stored (and counted) once.
            let Some(r) = rows.remove(&(p.device_id.to_string(), p.id.to_string())) else {
                out.push(None);
                continue;
            };
            let group_id: String = r.get("group_id");
            let playlist_id: String = r.get("playlist_id");
            out.push(Some(Stored {
                names: [
                    ("display", p.device_id.to_string(), r.get("device_name")),
                    ("group", group_id.clone(), r.get("group_name")),
                    ("content", p.content_id.to_string(), r.get("content_name")),
                    ("playlist", playlist_id.clone(), r.get("playlist_name")),
                ],
                group_id,
                playlist_id,
            }));
        }
    }
    Ok(out)
}

/// One rollup row to add to: its hour or day, its other keys, its sums.
struct Rollup<'a> {
    at: Millis,
    keys: Vec<&'a str>,
    plays: i64,
    ms: i64,
}

/// Adds each row's `(plays, ms)` to its rollup row in `table`, creating
/// it if new: `cols` names the key columns after `org_id` (the first is the
/// hour or the day). Keys are distinct within a batch, as one statement
/// may touch a row only once.
async fn upsert(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    cols: &[&str],
    org_id: &str,
    rows: &[Rollup<'_>],
) -> Result<(), AppError> {
    let names = cols.join(", ");
    let width = cols.len() + 3;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| marks(1 + r * width, width))
            .collect();
        let sql = format!(
            "INSERT INTO {table} (org_id, {names}, plays, ms) VALUES {} \
             ON CONFLICT (org_id, {names}) DO UPDATE SET plays = {table}.plays + excluded.plays, \
             ms = {table}.ms + excluded.ms",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for row in chunk {
            q = q.bind(org_id).bind(row.at);
            for k in &row.keys {
                q = q.bind(*k);
            }
            q = q.bind(row.plays).bind(row.ms);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Remembers the name each id was last stored under, for report labels
/// that outlive renames and deletes. Plays are stored with the names
/// things have when they are written, so the newest write holds the
/// current name even when it carries an older play (a display's backlog).
/// A few dozen to a statement (a batch
/// names up to a thousand displays, one statement each cost more than the
/// plays). The keys are distinct, as one statement may touch a row once.
async fn names_seen(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    names: &[NameSeen],
) -> Result<(), AppError> {
    for chunk in names.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len()).map(|r| marks(1 + r * 5, 5)).collect();
        let sql = format!(
            "INSERT INTO analytics_names (org_id, kind, id, name, at) VALUES {} \
             ON CONFLICT (org_id, kind, id) DO UPDATE SET name = excluded.name, at = excluded.at \
             WHERE excluded.name <> analytics_names.name",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for ((kind, id), (name, at)) in chunk {
            q = q.bind(org_id).bind(*kind).bind(id).bind(name).bind(*at);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Drops raw plays and status intervals older than `days` (rollups stay).
pub async fn expire(db: &Db, days: i64) -> Result<u64, AppError> {
    let before = now_ms() - days * DAY_MS;
    let plays = sqlx::query("DELETE FROM plays WHERE started_at < $1")
        .bind(before)
        .execute_write(db)
        .await?
        .rows_affected();
    let intervals = sqlx::query("DELETE FROM status_history WHERE ended_at < $1")
        .bind(before)
        .execute_write(db)
        .await?
        .rows_affected();
    Ok(plays + intervals)
}
