//! The Analytics page's data: every report it shows, read in one snapshot
//! with the stream position it is at, so the browser adds the `PlaysRecorded`
//! events after that position and counts nothing twice or not at all.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use super::{
    report::{self, Filter, Range},
    sql::Sql,
};
use crate::{
    error::AppError,
    model::{zone, AnalyticsQuery, AnalyticsView, GroupBy, Millis, StatusSpan},
    server::core::{log, Db},
};

/// Spans narrower than this share of the range are not drawn apart.
const FINEST: i64 = 500;

/// The page's reports for `q`, seen at `now`.
pub async fn view(
    db: &Db,
    org_id: &str,
    q: AnalyticsQuery,
    now: Millis,
) -> Result<AnalyticsView, AppError> {
    let span = q.span(now).map_err(AppError::bad_request)?;
    let r = Range {
        from: span.from,
        to: span.to,
        tz: zone(&q.tz),
    };
    let f = Filter {
        device_id: q.device_id.clone(),
        group_id: q.group_id.clone(),
        content_id: q.content_id.clone(),
        playlist_id: q.playlist_id.clone(),
    };
    let mut tx = db.snapshot().await?;
    let (epoch, seq) = log::position_on(&mut tx, org_id).await?;
    let by_content = report::plays_in(&mut tx, org_id, r, GroupBy::Content, &f).await?;
    let by_display = report::plays_in(&mut tx, org_id, r, GroupBy::Display, &f).await?;
    let by_group = report::plays_in(&mut tx, org_id, r, GroupBy::Group, &f).await?;
    let by_playlist = report::plays_in(&mut tx, org_id, r, GroupBy::Playlist, &f).await?;
    let by_day = report::plays_in(&mut tx, org_id, r, GroupBy::Day, &f).await?;
    // Uptime knows displays and groups, not what played.
    let uf = Filter {
        content_id: None,
        playlist_id: None,
        ..f.clone()
    };
    let (uptime_by_display, uptime_by_group) =
        report::uptime_both_in(&mut tx, org_id, r, &uf, now).await?;
    let timelines = timelines(&mut tx, org_id, r, &uf, now).await?;
    tx.rollback().await?;
    Ok(AnalyticsView {
        query: q,
        from: span.from,
        to: span.to,
        first: span.first,
        last: span.last,
        epoch,
        seq,
        by_content,
        by_display,
        by_group,
        by_playlist,
        by_day,
        uptime_by_display,
        uptime_by_group,
        timelines,
    })
}

/// Each display's statuses over the range up to `now`, from the raw
/// history and the intervals still open; neighbours of one status merge and
/// slivers too thin to see are left out.
pub async fn timelines(
    conn: &mut AnyConnection,
    org_id: &str,
    r: Range,
    f: &Filter,
    now: Millis,
) -> Result<Vec<(String, Vec<StatusSpan>)>, AppError> {
    let to = r.to.min(now);
    let mut sql = Sql::new("");
    let org = sql.text(org_id);
    let (am, bm) = (sql.int(r.from), sql.int(to));
    let mut filters = String::new();
    for (col, v) in [("device_id", &f.device_id), ("group_id", &f.group_id)] {
        if let Some(v) = v {
            let m = sql.text(v);
            filters.push_str(&format!(" AND {col} = {m}"));
        }
    }
    // Closed intervals too thin to draw stay in the database (a year's
    // strip leaves out every outage under 17 hours; its neighbours merge).
    let finest = ((to - r.from) / FINEST).max(1);
    let fm = sql.int(finest);
    sql.push(&format!(
        "SELECT device_id, status, started_at AS a, ended_at AS b FROM status_history \
         WHERE org_id = {org} AND started_at < {bm} AND ended_at > {am}{filters} \
           AND ended_at - started_at >= {fm} \
         UNION ALL SELECT device_id, status, since AS a, {bm} AS b FROM status_intervals \
         WHERE org_id = {org} AND since < {bm}{filters} \
         ORDER BY device_id, a"
    ));
    let mut out: BTreeMap<String, Vec<StatusSpan>> = BTreeMap::new();
    for row in sql.fetch(conn).await? {
        let (a, b): (Millis, Millis) = (row.get("a"), row.get("b"));
        let (a, b) = (a.max(r.from), b.min(to));
        if b <= a {
            continue;
        }
        let status: String = row.get("status");
        let spans = out.entry(row.get("device_id")).or_default();
        match spans.last_mut() {
            Some(last) if last.status == status && a - last.to < finest => last.to = b,
            _ => spans.push(StatusSpan {
                status,
                from: a,
                to: b,
            }),
        }
    }
    Ok(out
        .into_iter()
        .map(|(device, spans)| {
            let spans = spans
                .into_iter()
                .filter(|s| s.to - s.from >= finest)
                .collect();
            (device, spans)
        })
        .collect())
}
