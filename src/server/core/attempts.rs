//! Failed attempts counted against a budget (say, wrong pairing codes per
//! organization), in the database so every node counts the same ones. A
//! change that is refused records its attempt with the refusal's receipt
//! (`ChangeCtx::count_attempt`), since the change's own transaction is rolled
//! back; nothing resets the count but time.

use sqlx::{Any, Transaction};

use super::{now_ms, Db, ExecuteWrite};
use crate::error::AppError;

/// How many attempts under `key` since `since`, and when the oldest was.
pub async fn recent(
    tx: &mut Transaction<'static, Any>,
    key: &str,
    since: i64,
) -> Result<(i64, Option<i64>), AppError> {
    let row: (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(at) FROM attempts WHERE key = $1 AND at > $2")
            .bind(key)
            .bind(since)
            .fetch_one(&mut **tx)
            .await?;
    Ok(row)
}

pub async fn record(tx: &mut Transaction<'static, Any>, key: &str) -> Result<(), AppError> {
    sqlx::query("INSERT INTO attempts (key, at) VALUES ($1, $2)")
        .bind(key)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Forgets attempts older than `before`.
pub async fn prune(db: &Db, before: i64) -> Result<u64, AppError> {
    let res = sqlx::query("DELETE FROM attempts WHERE at < $1")
        .bind(before)
        .execute_write(db)
        .await?;
    Ok(res.rows_affected())
}
