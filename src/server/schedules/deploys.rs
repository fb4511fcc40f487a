//! Deploys and executions: where each display's manifest is (sent, received,
//! playing) and what it switched to when. Both are system changes through
//! the log, so every operator's console shows them live; a state that did
//! not change (a player reconnecting to the same manifest) writes nothing.

use std::{
    collections::{HashMap, HashSet},
    sync::OnceLock,
};

use sqlx::{any::AnyRow, Any, Row, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::{
    error::AppError,
    model::{Deploy, EventBody, Execution, Millis, Source},
    server::core::{db, now_ms, system, Core, Db},
};

fn deploy_of(r: &AnyRow) -> Deploy {
    Deploy {
        id: r.get("device_id"),
        sent_version: r.get("sent_version"),
        sent_at: r.get("sent_at"),
        received_version: r.get("received_version"),
        received_at: r.get("received_at"),
        playing_playlist_id: r.get("playing_playlist_id"),
        playing_since: r.get("playing_since"),
        version: r.get("version"),
    }
}

const DEPLOY_COLUMNS: &str = "device_id, sent_version, sent_at, received_version, received_at, \
     playing_playlist_id, playing_since, version";

pub async fn list(db: &Db, org_id: &str) -> Result<Vec<Deploy>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {DEPLOY_COLUMNS} FROM manifest_deploys WHERE org_id = $1 ORDER BY device_id"
    ))
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(deploy_of).collect())
}

/// A display's deploy state (where its manifest is, what it plays), if it
/// has one.
pub async fn state(db: &Db, org_id: &str, device_id: &str) -> Result<Option<Deploy>, AppError> {
    find(&db.pool, org_id, device_id).await
}

async fn find<'e>(
    exec: impl sqlx::Executor<'e, Database = Any>,
    org_id: &str,
    device_id: &str,
) -> Result<Option<Deploy>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {DEPLOY_COLUMNS} FROM manifest_deploys WHERE org_id = $1 AND device_id = $2"
    ))
    .bind(org_id)
    .bind(device_id)
    .fetch_optional(exec)
    .await?;
    Ok(row.as_ref().map(deploy_of))
}

/// What one display's socket asks to record.
#[derive(Debug, Clone)]
enum Edit {
    /// The server sent manifest `version` to the display.
    Sent { version: String, at: Millis },
    /// The display's player acknowledged manifest `version`.
    Received { version: String, at: Millis },
    /// A switch the display made (or the server derived for it).
    Executed(Execution),
}

impl Edit {
    /// Whether this edit leaves `d` as it is.
    fn leaves(&self, d: &Deploy) -> bool {
        let mut after = d.clone();
        self.apply(&mut after);
        after == *d
    }

    /// The deploy state after this edit (the time moves only when the
    /// version does).
    fn apply(&self, d: &mut Deploy) {
        let reached = |v: &mut Option<String>, at: &mut Option<Millis>, version: &str, now| {
            if v.as_deref() != Some(version) {
                *v = Some(version.to_string());
                *at = Some(now);
            }
        };
        match self {
            Edit::Sent { version, at } => {
                reached(&mut d.sent_version, &mut d.sent_at, version, *at)
            }
            Edit::Received { version, at } => {
                reached(&mut d.received_version, &mut d.received_at, version, *at)
            }
            Edit::Executed(e) => {
                if d.playing_since.is_none_or(|since| since <= e.at) {
                    d.playing_playlist_id = e.playlist_id.clone();
                    d.playing_since = Some(e.at);
                }
            }
        }
    }
}

/// The most edits written in one transaction.
const BATCH: usize = 2_000;

/// Where the writer answers one edit.
type Done = oneshot::Sender<Result<(), AppError>>;
type Waiting = (String, String, Edit, Done);

/// Deploy states and switches go through one writer per node, like proof
/// of play: it takes what queued while its last write ran and writes it
/// per organization in one system transaction. A fleet connecting at once
/// (every display is sent its manifest and acknowledges it) or switching
/// at the same boundary is then a few disk flushes, not two per display,
/// and a lone edit in a quiet fleet is written at once.
#[derive(Default)]
pub struct Writer {
    queue: OnceLock<mpsc::UnboundedSender<Waiting>>,
}

impl Writer {
    /// The server sent manifest `version` to the display, whose deploy
    /// state the caller knows (`None`: it has none, or it was not read).
    /// An edit that changes nothing queues nothing; one queued anyway is
    /// compared in the writer's batch and writes nothing if unchanged.
    /// Not waited for: the manifest goes out at once, and while a fleet
    /// connects the display's "received" then usually shares this edit's
    /// batch, one write and one event for both. A failure is logged.
    pub fn sent(
        &self,
        core: &Core,
        org_id: &str,
        device_id: &str,
        version: &str,
        before: Option<&Deploy>,
    ) {
        let edit = Edit::Sent {
            version: version.to_string(),
            at: now_ms(),
        };
        if before.is_some_and(|before| edit.leaves(before)) {
            return;
        }
        drop(self.queue(core, org_id, device_id, edit));
    }

    /// The display's player acknowledged manifest `version`. Not read
    /// first: the writer compares it in its batch, and the caller skips
    /// one it knows is recorded. Not waited for (as [`Writer::sent`]).
    pub fn received(&self, core: &Core, org_id: &str, device_id: &str, version: &str) {
        let edit = Edit::Received {
            version: version.to_string(),
            at: now_ms(),
        };
        drop(self.queue(core, org_id, device_id, edit));
    }

    /// A switch the display made (or that the server derived for it):
    /// stored once by its id, streamed, and the display's deploy state says
    /// what it plays now. A replayed id changes nothing.
    pub async fn executed(&self, core: &Core, org_id: &str, e: &Execution) -> Result<(), AppError> {
        if e.id.is_empty() || e.id.len() > 64 {
            return Err(AppError::validation(
                "An execution id is 1 to 64 characters.",
            ));
        }
        let answer = self.queue(core, org_id, &e.device_id, Edit::Executed(e.clone()));
        answer.await.map_err(|_| AppError::internal())?
    }

    /// Queues `edit` for the writer; the receiver hears how its batch went.
    fn queue(
        &self,
        core: &Core,
        org_id: &str,
        device_id: &str,
        edit: Edit,
    ) -> oneshot::Receiver<Result<(), AppError>> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(writer(core.clone(), rx));
            tx
        });
        let (done, answer) = oneshot::channel();
        // Sent unless the writer is gone: then the answer says so.
        let _ = queue.send((org_id.to_string(), device_id.to_string(), edit, done));
        answer
    }
}

async fn writer(core: Core, mut queue: mpsc::UnboundedReceiver<Waiting>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut by_org: HashMap<String, Vec<(String, Edit, Done)>> = HashMap::new();
        for (org_id, device_id, edit, done) in batch {
            by_org
                .entry(org_id)
                .or_default()
                .push((device_id, edit, done));
        }
        for (org_id, edits) in by_org {
            let (work, waiting): (Vec<_>, Vec<_>) = edits
                .into_iter()
                .map(|(device_id, edit, done)| ((device_id, edit), done))
                .unzip();
            let answer = write_batch(&core, &org_id, &work).await;
            if let Err(e) = &answer {
                tracing::warn!(org = %org_id, edits = work.len(), error = %e, "could not record deploy states");
            }
            for done in waiting {
                let _ = done.send(answer.clone());
            }
        }
    }
}

/// Applies `edits` in order in one system transaction: the displays'
/// deploy states are read and written many to a statement, and each
/// one that changed is one `DeployUpdated` event (the last state of it).
async fn write_batch(core: &Core, org_id: &str, edits: &[(String, Edit)]) -> Result<(), AppError> {
    let mut tx = system::open(core.db.begin_bulk_write(), org_id).await?;
    let mut ids: Vec<&str> = edits.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut held: HashMap<String, Deploy> = HashMap::new();
    for chunk in ids.chunks(db::FLEET_ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {DEPLOY_COLUMNS} FROM manifest_deploys WHERE org_id = $1 AND device_id IN ({})",
            db::list(2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut **tx).await? {
            let d = deploy_of(&row);
            held.insert(d.id.clone(), d);
        }
    }
    let before = held.clone();
    let executions: Vec<&Execution> = edits
        .iter()
        .filter_map(|(_, edit)| match edit {
            Edit::Executed(e) => Some(e),
            _ => None,
        })
        .collect();
    // A replayed switch (its id stored before, or twice in this batch)
    // changes nothing.
    let mut fresh = insert_executions(&mut tx, org_id, &executions).await?;
    let mut bodies = Vec::new();
    for (device_id, edit) in edits {
        if let Edit::Executed(e) = edit {
            if !fresh.remove(&e.id) {
                continue;
            }
            bodies.push(EventBody::ExecutionRecorded {
                execution: e.clone(),
            });
        }
        let deploy = held.entry(device_id.clone()).or_insert_with(|| Deploy {
            id: device_id.clone(),
            ..Deploy::default()
        });
        let was = deploy.clone();
        edit.apply(deploy);
        if *deploy != was {
            deploy.version = was.version + 1;
        }
    }
    let changed: Vec<&Deploy> = held
        .values()
        .filter(|d| before.get(&d.id) != Some(*d))
        .collect();
    for chunk in changed.chunks(db::fleet_rows(8)) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| format!("($1, {})", db::list(2 + 8 * r, 8)))
            .collect();
        let sql = format!(
            "INSERT INTO manifest_deploys (org_id, device_id, sent_version, sent_at, received_version, received_at, \
             playing_playlist_id, playing_since, version) VALUES {} \
             ON CONFLICT (device_id) DO UPDATE SET sent_version = excluded.sent_version, sent_at = excluded.sent_at, \
             received_version = excluded.received_version, received_at = excluded.received_at, \
             playing_playlist_id = excluded.playing_playlist_id, playing_since = excluded.playing_since, \
             version = excluded.version",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for d in chunk {
            q = q
                .bind(&d.id)
                .bind(&d.sent_version)
                .bind(d.sent_at)
                .bind(&d.received_version)
                .bind(d.received_at)
                .bind(&d.playing_playlist_id)
                .bind(d.playing_since)
                .bind(d.version);
        }
        q.execute(&mut **tx).await?;
    }
    bodies.extend(
        changed
            .into_iter()
            .map(|d| EventBody::DeployUpdated { deploy: d.clone() }),
    );
    system::commit(core, org_id, tx, bodies).await
}

/// Stores switches once by their ids, many to a statement; returns the
/// ids stored now (not those stored before, nor a second use of an id in
/// `executions`).
async fn insert_executions(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    executions: &[&Execution],
) -> Result<HashSet<String>, AppError> {
    let mut seen = HashSet::new();
    let first: Vec<&Execution> = executions
        .iter()
        .copied()
        .filter(|e| seen.insert(e.id.as_str()))
        .collect();
    let mut stored = HashSet::new();
    let received_at = now_ms();
    for chunk in first.chunks(db::fleet_rows(11)) {
        let sql = format!(
            "INSERT INTO schedule_executions (id, org_id, device_id, at, playlist_id, source, schedule_id, takeover_id, previous_playlist_id, reported, received_at) \
             VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
            db::rows(1, chunk.len(), 11)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(&e.id)
                .bind(org_id)
                .bind(&e.device_id)
                .bind(e.at)
                .bind(&e.playlist_id)
                .bind(e.source.as_str())
                .bind(&e.schedule_id)
                .bind(&e.takeover_id)
                .bind(&e.previous_playlist_id)
                .bind(i64::from(e.reported))
                .bind(received_at);
        }
        for row in q.fetch_all(&mut **tx).await? {
            stored.insert(row.get::<String, _>("id"));
        }
    }
    Ok(stored)
}

fn execution_of(r: &AnyRow) -> Execution {
    let source: String = r.get("source");
    Execution {
        id: r.get("id"),
        device_id: r.get("device_id"),
        at: r.get("at"),
        playlist_id: r.get("playlist_id"),
        source: match source.as_str() {
            "takeover" => Source::Takeover,
            "schedule" => Source::Schedule,
            "default" => Source::Default,
            _ => Source::None,
        },
        schedule_id: r.get("schedule_id"),
        takeover_id: r.get("takeover_id"),
        previous_playlist_id: r.get("previous_playlist_id"),
        reported: r.get::<i64, _>("reported") != 0,
    }
}

/// The latest switches, newest first: the organization's, or one display's.
pub async fn executions(
    db: &Db,
    org_id: &str,
    device_id: Option<&str>,
    before: Option<Millis>,
    limit: i64,
) -> Result<Vec<Execution>, AppError> {
    let rows = sqlx::query(
        "SELECT id, device_id, at, playlist_id, source, schedule_id, takeover_id, previous_playlist_id, reported \
         FROM schedule_executions WHERE org_id = $1 AND ($2 = '' OR device_id = $2) AND at < $3 \
         ORDER BY at DESC, id LIMIT $4",
    )
    .bind(org_id)
    .bind(device_id.unwrap_or(""))
    .bind(before.unwrap_or(Millis::MAX))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(execution_of).collect())
}
