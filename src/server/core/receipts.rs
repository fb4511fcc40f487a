//! Op receipts: the stored outcome of every op id, applied or refused, so a
//! replay gets the first answer and changes nothing (kept at least a week;
//! Stripe keeps idempotency keys 24 hours).

use sqlx::{Any, Row, Transaction};

use super::{db::now_ms, http::CurrentUser, Db, ExecuteWrite};
use crate::{
    error::AppError,
    model::{Op, OpAck},
};

/// Receipts are kept at least this long.
pub const RETENTION_MS: i64 = 7 * 24 * 3_600_000;

/// What identifies the request an op id was first used for: the sha256 of
/// its change and base version.
pub fn fingerprint(op: &Op) -> String {
    let text = serde_json::to_string(&(&op.change, op.base_version)).unwrap_or_default();
    super::ids::sha256_hex(&text)
}

/// The stored outcome of `op_id`, if it was seen: the first answer for the
/// same request, a conflict for another request under the same id.
pub async fn find(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    op_id: &str,
    fingerprint: &str,
) -> Result<Option<Result<OpAck, AppError>>, AppError> {
    let row = sqlx::query(
        "SELECT outcome, response, fingerprint FROM op_receipts WHERE org_id = $1 AND op_id = $2",
    )
    .bind(org_id)
    .bind(op_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: Option<String> = row.get("fingerprint");
    if stored.is_some_and(|f| f != fingerprint) {
        return Ok(Some(Err(AppError::conflict(
            "This Idempotency-Key (op id) was already used for a different request; \
             send a new key with a new request.",
        ))));
    }
    let outcome: String = row.get("outcome");
    let response: String = row.get("response");
    let decoded = if outcome == "applied" {
        serde_json::from_str::<OpAck>(&response).map(Ok)
    } else {
        serde_json::from_str::<AppError>(&response).map(Err)
    };
    decoded.map(Some).map_err(|e| {
        tracing::error!(error = %e, "undecodable op receipt");
        AppError::internal()
    })
}

pub async fn store(
    tx: &mut Transaction<'_, Any>,
    user: &CurrentUser,
    op_id: &str,
    fingerprint: &str,
    outcome: Result<&OpAck, &AppError>,
) -> Result<(), AppError> {
    let (kind, response) = match outcome {
        Ok(ack) => ("applied", serde_json::to_string(ack)),
        Err(err) => ("refused", serde_json::to_string(err)),
    };
    sqlx::query(
        "INSERT INTO op_receipts (org_id, op_id, user_id, created_at, outcome, response, fingerprint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&user.org_id)
    .bind(op_id)
    .bind(&user.user_id)
    .bind(now_ms())
    .bind(kind)
    .bind(response.map_err(|_| AppError::internal())?)
    .bind(fingerprint)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Drops receipts older than [`RETENTION_MS`].
pub async fn prune(db: &Db) -> Result<u64, AppError> {
    let res = sqlx::query("DELETE FROM op_receipts WHERE created_at < $1")
        .bind(now_ms() - RETENTION_MS)
        .execute_write(db)
        .await?;
    Ok(res.rows_affected())
}
