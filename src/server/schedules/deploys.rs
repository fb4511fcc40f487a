//! Deploys and executions: where each display's manifest is (sent, received,
//! playing) and what it switched to when. Both are system changes through
//! the log, so every operator's console shows them live; a state that did
//! not change (a player reconnecting to the same manifest) writes nothing.

use sqlx::{any::AnyRow, Any, Row, Transaction};

use crate::{
    error::AppError,
    model::{Deploy, EventBody, Execution, Millis, Source},
    server::core::{now_ms, system, Core, Db},
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

/// The playlist a display was last known to play (from its switches).
pub async fn playing(db: &Db, org_id: &str, device_id: &str) -> Result<Option<String>, AppError> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT playing_playlist_id FROM manifest_deploys WHERE org_id = $1 AND device_id = $2",
    )
    .bind(org_id)
    .bind(device_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.and_then(|r| r.0))
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

async fn write(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    d: &Deploy,
    insert: bool,
) -> Result<(), AppError> {
    let sql = if insert {
        "INSERT INTO manifest_deploys (org_id, device_id, sent_version, sent_at, received_version, received_at, playing_playlist_id, playing_since, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    } else {
        "UPDATE manifest_deploys SET sent_version = $3, sent_at = $4, received_version = $5, received_at = $6, \
         playing_playlist_id = $7, playing_since = $8, version = $9 WHERE org_id = $1 AND device_id = $2"
    };
    sqlx::query(sql)
        .bind(org_id)
        .bind(&d.id)
        .bind(&d.sent_version)
        .bind(d.sent_at)
        .bind(&d.received_version)
        .bind(d.received_at)
        .bind(&d.playing_playlist_id)
        .bind(d.playing_since)
        .bind(d.version)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Changes a display's deploy state with `edit`; appends `DeployUpdated`
/// only when something changed.
async fn update(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    device_id: &str,
    edit: impl FnOnce(&mut Deploy),
) -> Result<Option<EventBody>, AppError> {
    let current = find(&mut **tx, org_id, device_id).await?;
    let insert = current.is_none();
    let before = current.unwrap_or_else(|| Deploy {
        id: device_id.to_string(),
        ..Deploy::default()
    });
    let mut after = before.clone();
    edit(&mut after);
    if after == before {
        return Ok(None);
    }
    after.version = before.version + 1;
    write(tx, org_id, &after, insert).await?;
    Ok(Some(EventBody::DeployUpdated { deploy: after }))
}

/// Most calls change nothing (a player reconnecting to the manifest it
/// has), so the state is read first and the organization's write lock taken
/// only when `edit` changes it; then it is read again under the lock.
async fn commit_one(
    core: &Core,
    org_id: &str,
    device_id: &str,
    edit: impl Fn(&mut Deploy),
) -> Result<(), AppError> {
    if let Some(before) = find(&core.db.pool, org_id, device_id).await? {
        let mut after = before.clone();
        edit(&mut after);
        if after == before {
            return Ok(());
        }
    }
    let mut tx = system::begin(core, org_id).await?;
    let body = update(&mut tx, org_id, device_id, edit).await?;
    system::commit(core, org_id, tx, body.into_iter().collect()).await
}

/// The server sent manifest `version` to the display.
pub async fn sent(
    core: &Core,
    org_id: &str,
    device_id: &str,
    version: &str,
) -> Result<(), AppError> {
    reached(core, org_id, device_id, version, |d| {
        (&mut d.sent_version, &mut d.sent_at)
    })
    .await
}

/// The display's player acknowledged manifest `version`.
pub async fn received(
    core: &Core,
    org_id: &str,
    device_id: &str,
    version: &str,
) -> Result<(), AppError> {
    reached(core, org_id, device_id, version, |d| {
        (&mut d.received_version, &mut d.received_at)
    })
    .await
}

/// Manifest `version` reached one end of the deploy (`leg`: its version and
/// time fields); the time moves only when the version does.
async fn reached(
    core: &Core,
    org_id: &str,
    device_id: &str,
    version: &str,
    leg: fn(&mut Deploy) -> (&mut Option<String>, &mut Option<Millis>),
) -> Result<(), AppError> {
    let now = now_ms();
    commit_one(core, org_id, device_id, |d| {
        let (v, at) = leg(d);
        if v.as_deref() != Some(version) {
            *v = Some(version.to_string());
            *at = Some(now);
        }
    })
    .await
}

/// A switch the display made (or that the server derived for it): stored
/// once by its id, streamed, and the display's deploy state says what it
/// plays now. A replayed id changes nothing.
pub async fn executed(core: &Core, org_id: &str, e: &Execution) -> Result<(), AppError> {
    if e.id.is_empty() || e.id.len() > 64 {
        return Err(AppError::validation(
            "An execution id is 1 to 64 characters.",
        ));
    }
    let mut tx = system::begin(core, org_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO schedule_executions (id, org_id, device_id, at, playlist_id, source, schedule_id, takeover_id, previous_playlist_id, reported, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
    )
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
    .bind(now_ms())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let mut bodies = Vec::new();
    if inserted > 0 {
        bodies.push(EventBody::ExecutionRecorded {
            execution: e.clone(),
        });
        let deploy = update(&mut tx, org_id, &e.device_id, |d| {
            if d.playing_since.is_none_or(|since| since <= e.at) {
                d.playing_playlist_id = e.playlist_id.clone();
                d.playing_since = Some(e.at);
            }
        })
        .await?;
        bodies.extend(deploy);
    }
    system::commit(core, org_id, tx, bodies).await
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
