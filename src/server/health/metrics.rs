//! Metric history: a sample of each fresh display's heartbeat metrics every
//! `metrics-sample-seconds`, kept seven days, for the detail view's charts.

use sqlx::Row;

use crate::{
    error::AppError,
    model::MetricSample,
    server::{
        core::{now_ms, Db, ExecuteWrite},
        displays::Beat,
    },
};

/// How long metric samples are kept.
pub const METRICS_RETENTION_MS: i64 = 7 * 24 * 3_600_000;

/// Writes one sample per display that beat within the offline window.
pub async fn sample(
    db: &Db,
    fleet: &[(String, Beat)],
    now: i64,
    interval_ms: i64,
) -> Result<(), AppError> {
    let fresh: Vec<&(String, Beat)> = fleet
        .iter()
        .filter(|(_, b)| b.last_beat.is_some_and(|at| now - at <= 3 * interval_ms))
        .collect();
    // Many displays to a statement, a few hundred to a transaction: the
    // write turn is first come, first served, so a status change waits for
    // one transaction's worth, never for the whole fleet's samples.
    use crate::server::core::db::{fleet_rows, rows, FLEET_ROWS_PER_TURN};
    for turn in fresh.chunks(FLEET_ROWS_PER_TURN) {
        let mut tx = db.begin_bulk_write().await?;
        for chunk in turn.chunks(fleet_rows(7)) {
            let sql = format!(
                "INSERT INTO device_metrics (at, device_id, org_id, cpu_pct, memory_pct, temperature_c, storage_free_pct) \
                 VALUES {} ON CONFLICT (device_id, at) DO NOTHING",
                rows(1, chunk.len(), 7)
            );
            let mut q = sqlx::query(&sql);
            for (device_id, b) in chunk {
                q = q
                    .bind(now)
                    .bind(device_id)
                    .bind(&b.org_id)
                    .bind(b.metrics.cpu_pct)
                    .bind(b.metrics.memory_pct)
                    .bind(b.metrics.temperature_c)
                    .bind(b.metrics.storage_free_pct);
            }
            q.execute(&mut **tx).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

pub async fn prune(db: &Db) -> Result<u64, AppError> {
    let res = sqlx::query("DELETE FROM device_metrics WHERE at < $1")
        .bind(now_ms() - METRICS_RETENTION_MS)
        .execute_write(db)
        .await?;
    Ok(res.rows_affected())
}

/// A display's samples since `since`, oldest first (at most 2,000).
pub async fn history(
    db: &Db,
    org_id: &str,
    device_id: &str,
    since: i64,
) -> Result<Vec<MetricSample>, AppError> {
    let rows = sqlx::query(
        "SELECT at, cpu_pct, memory_pct, temperature_c, storage_free_pct FROM device_metrics \
         WHERE org_id = $1 AND device_id = $2 AND at >= $3 ORDER BY at DESC LIMIT 2000",
    )
    .bind(org_id)
    .bind(device_id)
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    let mut samples: Vec<MetricSample> = rows
        .iter()
        .map(|r| MetricSample {
            at: r.get("at"),
            cpu_pct: r.get("cpu_pct"),
            memory_pct: r.get("memory_pct"),
            temperature_c: r.get("temperature_c"),
            storage_free_pct: r.get("storage_free_pct"),
        })
        .collect();
    samples.reverse();
    Ok(samples)
}
