//! The event log: append inside a change transaction, read in `seq` order, prune
//! to the retention, and decide whether a client's position can be resumed.

use sqlx::{any::AnyRow, Any, Row, Transaction};

use super::db::{now_ms, Backend, Db, ExecuteWrite};
use crate::{
    error::AppError,
    model::{summarize, Event, EventBody},
};

/// Hands out the next seq of the organization's stream. Must be the first write
/// of the transaction: it takes the lock that orders appends (see the migration).
pub async fn next_seq(tx: &mut Transaction<'_, Any>, org_id: &str) -> Result<i64, AppError> {
    let row = sqlx::query(
        "UPDATE organizations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.get::<i64, _>(0))
}

/// Appends system events (no op, no operator) in order: their seqs are
/// handed out in one statement and the rows written many to a
/// statement, so a burst of thousands (a fleet's statuses) is a few
/// statements, not two per event. Must come first in the transaction, as
/// [`next_seq`] must.
pub async fn append_system(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    bodies: Vec<EventBody>,
) -> Result<(), AppError> {
    if bodies.is_empty() {
        return Ok(());
    }
    let row = sqlx::query(
        "UPDATE organizations SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq",
    )
    .bind(bodies.len() as i64)
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await?;
    let last: i64 = row.get(0);
    let first = last - bodies.len() as i64 + 1;
    let at = now_ms();
    const ROWS: usize = super::db::FLEET_ROWS_PER_STATEMENT;
    for (chunk_index, chunk) in bodies.chunks(ROWS).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let m = 2 + 5 * r;
                let (seq_to_kind, entity, payload) = (super::db::list(m, 3), m + 3, m + 4);
                format!("($1, {seq_to_kind}, ${entity}, NULL, NULL, ${payload}, NULL)")
            })
            .collect();
        let sql = format!(
            "INSERT INTO events (org_id, seq, at, kind, entity_id, op_id, actor, payload, summary) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for (i, body) in chunk.iter().enumerate() {
            let payload = serde_json::to_string(body).map_err(|_| AppError::internal())?;
            q = q
                .bind(first + (chunk_index * ROWS + i) as i64)
                .bind(at)
                .bind(body.kind())
                .bind(body.entity_id().to_string())
                .bind(payload);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Takes the same lock as [`next_seq`] without handing out a seq, for
/// transactions that write but append nothing.
pub async fn lock_stream(tx: &mut Transaction<'_, Any>, org_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE organizations SET last_seq = last_seq WHERE id = $1")
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn append(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    seq: i64,
    op_id: Option<&str>,
    actor: Option<&str>,
    body: EventBody,
) -> Result<Event, AppError> {
    let event = Event {
        seq,
        at: now_ms(),
        op_id: op_id.map(str::to_string),
        actor: actor.map(str::to_string),
        body,
    };
    let payload = serde_json::to_string(&event.body).map_err(|_| AppError::internal())?;
    let summary = match actor {
        Some(_) => Some(summary(tx, org_id, &event.body).await?),
        None => None,
    };
    sqlx::query(
        "INSERT INTO events (org_id, seq, at, kind, entity_id, op_id, actor, payload, summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(org_id)
    .bind(seq)
    .bind(event.at)
    .bind(event.body.kind())
    .bind(event.body.entity_id())
    .bind(op_id)
    .bind(actor)
    .bind(payload)
    .bind(summary)
    .execute(&mut **tx)
    .await?;
    Ok(event)
}

/// The activity line of an operator's event, from the entity's previous
/// event (renames name both names).
async fn summary(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    body: &EventBody,
) -> Result<String, AppError> {
    let prev: Option<(String,)> = sqlx::query_as(
        "SELECT payload FROM events WHERE org_id = $1 AND entity_id = $2 ORDER BY seq DESC LIMIT 1",
    )
    .bind(org_id)
    .bind(body.entity_id())
    .fetch_optional(&mut **tx)
    .await?;
    let prev: Option<EventBody> = prev.and_then(|(p,)| serde_json::from_str(&p).ok());
    Ok(summarize(prev.as_ref(), body))
}

fn event_from_row(row: &AnyRow) -> Result<Event, AppError> {
    let payload: String = row.get("payload");
    Ok(Event {
        seq: row.get("seq"),
        at: row.get("at"),
        op_id: row.get("op_id"),
        actor: row.get("actor"),
        body: serde_json::from_str(&payload).map_err(|e| {
            tracing::error!(error = %e, "undecodable event payload");
            AppError::internal()
        })?,
    })
}

/// The channel every node's hub listens on (PostgreSQL only).
pub const NOTIFY_CHANNEL: &str = "vizora_events";

/// Queues a wake-up for the other nodes, delivered by PostgreSQL only if the
/// transaction commits. It carries only the organization id: NOTIFY payloads are
/// capped at 8,000 bytes and lost while a listener is away, so readers always
/// read the rows from the log.
pub async fn notify(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    org_id: &str,
) -> Result<(), AppError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Up to `limit` events after `since`, in order.
pub async fn read_since(
    db: &Db,
    org_id: &str,
    since: i64,
    limit: i64,
) -> Result<Vec<Event>, AppError> {
    let rows = sqlx::query(
        "SELECT seq, at, op_id, actor, payload FROM events \
         WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(org_id)
    .bind(since)
    .bind(limit)
    .fetch_all(&db.stream_pool)
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// The stream's epoch and head (last committed seq).
pub async fn position(db: &Db, org_id: &str) -> Result<(String, i64), AppError> {
    position_on(&mut *db.stream_pool.acquire().await?, org_id).await
}

/// The position as `conn` sees it (inside a snapshot, the one its rows are at).
pub async fn position_on(
    conn: &mut sqlx::AnyConnection,
    org_id: &str,
) -> Result<(String, i64), AppError> {
    let row = sqlx::query("SELECT epoch, last_seq FROM organizations WHERE id = $1")
        .bind(org_id)
        .fetch_one(conn)
        .await?;
    Ok((row.get("epoch"), row.get("last_seq")))
}

/// The first position of the unbroken stretch the log holds (older
/// operators' events kept for the activity history do not count).
pub async fn oldest_retained(db: &Db, org_id: &str) -> Result<Option<i64>, AppError> {
    let row = sqlx::query(
        "SELECT MIN(seq) AS oldest FROM events WHERE org_id = $1 \
         AND seq > (SELECT pruned_through FROM organizations WHERE id = $1)",
    )
    .bind(org_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get::<Option<i64>, _>("oldest").unwrap_or(None))
}

/// Whether a client at `since` (in `client_epoch`) can resume, or must refetch.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    From(i64),
    Reset(String),
}

pub fn plan_resume(
    since: i64,
    client_epoch: Option<&str>,
    epoch: &str,
    head: i64,
    oldest: Option<i64>,
) -> Resume {
    if client_epoch.is_some_and(|e| e != epoch) {
        return Resume::Reset("the event log was reset or restored".into());
    }
    if since > head {
        return Resume::Reset(format!(
            "position {since} is ahead of the log (head {head})"
        ));
    }
    if since < head {
        // Events since+1 ..= head must all still be there.
        let first_needed = since + 1;
        match oldest {
            Some(o) if o <= first_needed => {}
            _ => return Resume::Reset(format!("position {since} is older than the retained log")),
        }
    }
    Resume::From(since)
}

/// Drops system events beyond the retention (the newest `keep` per
/// organization stay), and operators' events once older than
/// `activity_before` too: those are the activity history. How far the log
/// has gaps is kept in `pruned_through`, so a stream resumes only from an
/// unbroken stretch.
pub async fn prune(db: &Db, keep: i64, activity_before: i64) -> Result<u64, AppError> {
    sqlx::query(
        "UPDATE organizations SET pruned_through = last_seq - $1 WHERE last_seq - $1 > pruned_through",
    )
    .bind(keep)
    .execute_write(db)
    .await?;
    let res = sqlx::query(
        "DELETE FROM events WHERE seq <= \
         (SELECT o.pruned_through FROM organizations o WHERE o.id = events.org_id) \
         AND (actor IS NULL OR at < $1)",
    )
    .bind(activity_before)
    .execute_write(db)
    .await?;
    Ok(res.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_current_client_resumes() {
        assert_eq!(
            plan_resume(10, Some("e"), "e", 10, Some(1)),
            Resume::From(10)
        );
        assert_eq!(plan_resume(0, None, "e", 0, None), Resume::From(0));
    }

    #[test]
    fn a_client_behind_resumes_while_the_log_still_holds_the_next_event() {
        assert_eq!(plan_resume(4, None, "e", 10, Some(5)), Resume::From(4));
        assert!(matches!(
            plan_resume(3, None, "e", 10, Some(5)),
            Resume::Reset(_)
        ));
        assert!(matches!(
            plan_resume(3, None, "e", 10, None),
            Resume::Reset(_)
        ));
    }

    #[test]
    fn another_epoch_or_a_future_position_is_a_reset() {
        assert!(matches!(
            plan_resume(10, Some("old"), "new", 10, Some(1)),
            Resume::Reset(_)
        ));
        assert!(matches!(
            plan_resume(11, None, "e", 10, Some(1)),
            Resume::Reset(_)
        ));
    }
}
