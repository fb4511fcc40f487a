//! The one path every change takes (DESIGN.md): in one transaction, take the
//! stream's lock by handing out the next seq, look the op's receipt up (a replay
//! returns the stored answer and changes nothing), let the change's domain
//! check `base_version` and apply it, append the event, store the receipt.
//! Commit, then wake the stream hub.
//!
//! This file knows no domain. What each `Change` does is the [`Dispatch`]
//! the server was built with (`server::changes`, the only file that names
//! every domain's `apply`).

use futures::future::BoxFuture;
use sqlx::{Any, Transaction};

use super::{attempts, db::WriteTx, http::CurrentUser, log, receipts, Core};
use crate::{
    error::AppError,
    model::{Change, EventBody, Op, OpAck, Role},
};

/// What a domain's `apply` works with: the open transaction (which already
/// holds the stream's lock), who asks, and the op's id and base version.
pub struct ChangeCtx<'a> {
    pub tx: &'a mut Transaction<'static, Any>,
    pub user: &'a CurrentUser,
    pub op_id: &'a str,
    pub base_version: Option<i64>,
    /// Attempt keys to count if the change is refused (`core::attempts`).
    attempts: &'a mut Vec<String>,
}

impl ChangeCtx<'_> {
    pub fn org_id(&self) -> &str {
        &self.user.org_id
    }

    /// Counts a failed attempt under `key` if this change is refused: it is
    /// written with the refusal's receipt, as the change's own transaction
    /// is rolled back. An applied change counts nothing.
    pub fn count_attempt(&mut self, key: impl Into<String>) {
        self.attempts.push(key.into());
    }
}

/// A node-local action tied to the outcome of one change: `commit` runs
/// after the transaction commits (never before: a rolled back change must
/// not have reached anyone), `abort` when it does not. What every node must
/// see travels as the event instead.
pub struct Effect {
    pub commit: Box<dyn FnOnce() + Send>,
    pub abort: Box<dyn FnOnce() + Send>,
}

/// What applying a change produced: its event, and an optional effect.
pub struct Applied {
    pub body: EventBody,
    pub effect: Option<Effect>,
}

impl From<EventBody> for Applied {
    fn from(body: EventBody) -> Self {
        Self { body, effect: None }
    }
}

/// Applies one change inside the change path's transaction.
pub trait Dispatch: Send + Sync {
    fn apply<'a>(
        &'a self,
        ctx: ChangeCtx<'a>,
        change: &'a Change,
    ) -> BoxFuture<'a, Result<Applied, AppError>>;
}

/// The version rule every versioned change shares: `base` must be the entity's
/// current `version`; a stale one is a conflict carrying the entity as it is
/// now, a missing one a validation error naming `what` changes.
pub fn check_version<T: serde::Serialize>(
    current: &T,
    version: i64,
    name: &str,
    what: &str,
    base: Option<i64>,
) -> Result<(), AppError> {
    match base {
        Some(v) if v == version => Ok(()),
        Some(_) => Err(AppError::Conflict {
            message: format!("“{name}” was changed by someone else while you were editing it."),
            current: serde_json::to_value(current).ok(),
        }),
        None => Err(AppError::validation(format!(
            "base_version is required to change {what} (use If-Match or the version you read)."
        ))),
    }
}

/// Applies `op` for `user`, as a client asked. Safe to call again with the
/// same `op_id`. Changes only the server makes are refused here.
pub async fn apply(core: &Core, user: &CurrentUser, op: Op) -> Result<OpAck, AppError> {
    if let Some(how) = op.change.server_only() {
        return Err(AppError::validation(how));
    }
    let started = std::time::Instant::now();
    let answer = apply_trusted(core, user, op).await;
    super::metrics::METRICS
        .op_seconds
        .observe_duration(started.elapsed());
    answer
}

/// Applies an op the server made itself (an upload becoming a library item).
pub async fn apply_trusted(core: &Core, user: &CurrentUser, op: Op) -> Result<OpAck, AppError> {
    match op.change.min_role() {
        Role::Viewer => {}
        Role::Editor => user.require_editor()?,
        Role::Admin => user.require_admin("manage accounts and API tokens")?,
    }
    super::ids::validate_id(&op.op_id, "op_id")?;
    // Never inside the transaction: it holds the organization's write lock.
    op.change.check_input().map_err(AppError::validation)?;
    let fingerprint = receipts::fingerprint(&op);
    let mut tx = core.db.begin_write().await?;
    let seq = log::next_seq(&mut tx, &user.org_id).await?;
    if let Some(stored) = receipts::find(&mut tx, &user.org_id, &op.op_id, &fingerprint).await? {
        tx.rollback().await?;
        return stored;
    }
    let mut failed_attempts = Vec::new();
    let ctx = ChangeCtx {
        tx: &mut tx,
        user,
        op_id: &op.op_id,
        base_version: op.base_version,
        attempts: &mut failed_attempts,
    };
    match core.changes.apply(ctx, &op.change).await {
        Ok(Applied { body, effect }) => {
            match commit(core, tx, user, &op, &fingerprint, seq, body).await {
                Ok(ack) => {
                    if let Some(effect) = effect {
                        (effect.commit)();
                    }
                    Ok(ack)
                }
                Err(err) => {
                    if let Some(effect) = effect {
                        (effect.abort)();
                    }
                    Err(err)
                }
            }
        }
        // A conflict is an answer about the current state, not about the op: the
        // client merges and sends a new op, so it is not stored.
        Err(err @ AppError::Conflict { .. }) => {
            tx.rollback().await?;
            Err(err)
        }
        Err(err) if err.is_transient() => {
            tx.rollback().await?;
            Err(err)
        }
        Err(err) => {
            tx.rollback().await?;
            // The refusal is the op's outcome: replaying the op_id gets it again.
            let mut tx = core.db.begin_write().await?;
            log::lock_stream(&mut tx, &user.org_id).await?; // write lock first, as above
            if let Some(stored) =
                receipts::find(&mut tx, &user.org_id, &op.op_id, &fingerprint).await?
            {
                tx.rollback().await?;
                return stored;
            }
            receipts::store(&mut tx, user, &op.op_id, &fingerprint, Err(&err)).await?;
            for key in &failed_attempts {
                attempts::record(&mut tx, key).await?;
            }
            tx.commit().await?;
            Err(err)
        }
    }
}

/// Appends the event, stores the receipt, commits and wakes the stream.
async fn commit(
    core: &Core,
    mut tx: WriteTx,
    user: &CurrentUser,
    op: &Op,
    fingerprint: &str,
    seq: i64,
    body: EventBody,
) -> Result<OpAck, AppError> {
    let op_id = op.op_id.as_str();
    let event = log::append(
        &mut tx,
        &user.org_id,
        seq,
        Some(op_id),
        Some(&user.email),
        body,
    )
    .await?;
    let ack = OpAck {
        op_id: op_id.to_string(),
        event,
    };
    receipts::store(&mut tx, user, op_id, fingerprint, Ok(&ack)).await?;
    log::notify(&mut tx, core.db.backend, &user.org_id).await?;
    tx.commit().await?;
    core.hub.wake(&user.org_id).await;
    Ok(ack)
}
