//! System changes: events with no op and no operator (derived statuses,
//! alerts raised and resolved, screenshots), through the same log and
//! stream as operators' changes, many in one transaction (one disk flush for
//! a whole burst).

use std::future::Future;

use super::{db::WriteTx, log, Core};
use crate::{error::AppError, model::EventBody};

/// Opens a system transaction, in its write turn: it takes the lock that
/// orders appends before anything is written. (Not an `async fn`, so a
/// turn held long names the code that asked, not this function.)
#[track_caller]
pub fn begin<'a>(
    core: &'a Core,
    org_id: &'a str,
) -> impl Future<Output = Result<WriteTx, AppError>> + Send + 'a {
    open(core.db.begin_write(), org_id)
}

/// [`begin`] in the turn `tx` waits for: a bulk writer passes
/// `core.db.begin_bulk_write()`, which lets every other writer go first
/// (see [`super::Db::bulk_turn`]).
pub async fn open(
    tx: impl Future<Output = Result<WriteTx, sqlx::Error>>,
    org_id: &str,
) -> Result<WriteTx, AppError> {
    let mut tx = tx.await?;
    log::lock_stream(&mut tx, org_id).await?;
    Ok(tx)
}

/// Ends a system transaction (one from [`begin`]): appends `bodies` as
/// events with no op and no operator, commits, wakes the stream. With
/// nothing to append it rolls back.
pub async fn commit(
    core: &Core,
    org_id: &str,
    mut tx: WriteTx,
    bodies: Vec<EventBody>,
) -> Result<(), AppError> {
    if bodies.is_empty() {
        tx.rollback().await?;
        return Ok(());
    }
    log::append_system(&mut tx, org_id, bodies).await?;
    log::notify(&mut tx, core.db.backend, org_id).await?;
    tx.commit().await?;
    core.hub.wake(org_id).await;
    Ok(())
}
