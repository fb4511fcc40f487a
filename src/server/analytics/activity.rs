//! The activity history: operators' events from the log (each with the line
//! the log made for it when it was appended), newest first, paged by
//! position, filtered by person, entity and date.

use sqlx::Row;

use crate::{
    error::AppError,
    model::{entity_of, summarize, ActivityItem, ActivityPage, EventBody, Millis, KIND_SUFFIXES},
    server::core::Db,
};

use super::sql::Sql;

/// What the list is limited to.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Older than this position (the previous page's `next`).
    pub before: Option<i64>,
    pub actor: Option<String>,
    /// An entity kind (`device`, `playlist`, …).
    pub entity: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

/// The event kinds of an entity.
fn kinds(entity: &str) -> Vec<String> {
    let mut out: Vec<String> = KIND_SUFFIXES
        .iter()
        .map(|s| format!("{entity}{s}"))
        .collect();
    if entity == "user" {
        out.push("password_changed".into());
    }
    out
}

pub async fn list(
    db: &Db,
    org_id: &str,
    f: &ActivityFilter,
    limit: i64,
) -> Result<ActivityPage, AppError> {
    let mut sql = Sql::new("");
    let org = sql.text(org_id);
    sql.push(&format!(
        "SELECT seq, at, actor, kind, entity_id, payload, summary FROM events \
         WHERE org_id = {org} AND actor IS NOT NULL"
    ));
    for (clause, value) in [
        (" AND seq < ", f.before),
        (" AND at >= ", f.from),
        (" AND at < ", f.to),
    ] {
        if let Some(v) = value {
            let m = sql.int(v);
            sql.push(&format!("{clause}{m}"));
        }
    }
    if let Some(a) = &f.actor {
        let m = sql.text(a);
        sql.push(&format!(" AND actor = {m}"));
    }
    if let Some(e) = &f.entity {
        let marks: Vec<String> = kinds(e).iter().map(|k| sql.text(k)).collect();
        sql.push(&format!(" AND kind IN ({})", marks.join(", ")));
    }
    let n = sql.int(limit + 1);
    sql.push(&format!(" ORDER BY seq DESC LIMIT {n}"));
    let rows = sql.fetch(&mut *db.pool.acquire().await?).await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<ActivityItem> = rows
        .iter()
        .take(limit as usize)
        .map(|r| {
            let kind: String = r.get("kind");
            let summary: Option<String> = r.get("summary");
            let summary = summary.unwrap_or_else(|| {
                let payload: String = r.get("payload");
                serde_json::from_str::<EventBody>(&payload)
                    .map(|b| summarize(None, &b))
                    .unwrap_or_else(|_| kind.replace('_', " "))
            });
            ActivityItem {
                seq: r.get("seq"),
                at: r.get("at"),
                actor: r.get("actor"),
                entity: entity_of(&kind).to_string(),
                entity_id: r.get("entity_id"),
                summary,
            }
        })
        .collect();
    let next = if more {
        items.last().map(|i| i.seq.to_string())
    } else {
        None
    };
    Ok(ActivityPage { items, next })
}
