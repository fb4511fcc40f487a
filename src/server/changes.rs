//! The one path every change takes (DESIGN.md): in one transaction, take the
//! stream's lock by handing out the next seq, look the op's receipt up (a replay
//! returns the stored answer and changes nothing), check `base_version` (stale:
//! a conflict carrying the current entity), apply, bump `version`, append the
//! event, store the receipt. Commit, then wake the stream hub.

use sqlx::{Any, Row, Transaction};

use super::{
    alerts,
    auth::{sha256_hex, CurrentUser},
    content,
    db::now_ms,
    devices, gateway, log, playlists,
    state::AppState,
};
use crate::{
    error::AppError,
    model::{Change, EventBody, Op, OpAck},
};

const MAX_OP_ID_CHARS: usize = 64;

fn validate_op_id(op_id: &str) -> Result<(), AppError> {
    let ok = !op_id.is_empty()
        && op_id.len() <= MAX_OP_ID_CHARS
        && op_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(
            "op_id must be 1 to 64 letters, digits, '-' or '_' (a UUID is best).",
        ))
    }
}

/// The version rule every versioned change shares: `base` must be the entity's
/// current `version`; a stale one is a conflict carrying the entity as it is
/// now, a missing one a validation error naming `what` changes.
pub(super) fn check_version<T: serde::Serialize>(
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

/// Applies `op` for `user`. Safe to call again with the same `op_id`.
pub async fn apply(state: &AppState, user: &CurrentUser, op: Op) -> Result<OpAck, AppError> {
    if matches!(op.change, Change::AddMedia { .. }) {
        return Err(AppError::validation(
            "Media items are made by uploading the file (POST /api/v1/content).",
        ));
    }
    apply_trusted(state, user, op).await
}

/// Applies an op the server made itself (an upload becoming a library item).
pub(crate) async fn apply_trusted(
    state: &AppState,
    user: &CurrentUser,
    op: Op,
) -> Result<OpAck, AppError> {
    user.require_editor()?;
    validate_op_id(&op.op_id)?;
    let db = &state.db;
    let mut tx = db.pool.begin().await?;
    let seq = log::next_seq(&mut tx, &user.org_id).await?;
    if let Some(stored) = receipt(&mut tx, &user.org_id, &op.op_id).await? {
        tx.rollback().await?;
        return stored;
    }
    let applied = apply_change(state, &mut tx, user, &op).await;
    if applied.is_err() {
        state.gateway.release_code(&op.op_id);
    }
    match applied {
        Ok((body, after)) => {
            let event = log::append(
                &mut tx,
                &user.org_id,
                seq,
                Some(&op.op_id),
                Some(&user.email),
                body,
            )
            .await?;
            let ack = OpAck {
                op_id: op.op_id.clone(),
                event,
            };
            store_receipt(&mut tx, user, &op.op_id, Ok(&ack)).await?;
            log::notify(&mut tx, db.backend, &user.org_id).await?;
            tx.commit().await?;
            state.hub.wake(&user.org_id).await;
            match after {
                Some(AfterCommit::Paired {
                    code,
                    device_id,
                    name,
                    token,
                }) => state
                    .gateway
                    .deliver_pairing(&code, &user.org_id, &device_id, &name, token),
                Some(AfterCommit::Disconnect { device_id, reason }) => {
                    state.gateway.disconnect(&device_id, reason)
                }
                Some(AfterCommit::RulesChanged) => {
                    state
                        .gateway
                        .rules_changed
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                None => {}
            }
            Ok(ack)
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
            let mut tx = db.pool.begin().await?;
            log::lock_stream(&mut tx, &user.org_id).await?; // write lock first, as above
            if let Some(stored) = receipt(&mut tx, &user.org_id, &op.op_id).await? {
                tx.rollback().await?;
                return stored;
            }
            store_receipt(&mut tx, user, &op.op_id, Err(&err)).await?;
            tx.commit().await?;
            Err(err)
        }
    }
}

/// What must happen once the change is committed (never before: a rolled
/// back change must not have reached a display).
enum AfterCommit {
    /// Hand the token to the display that shows `code`.
    Paired {
        code: String,
        device_id: String,
        name: String,
        token: String,
    },
    /// The display's token no longer works: disconnect its player.
    Disconnect {
        device_id: String,
        reason: &'static str,
    },
    /// The evaluator must read the alert rules again.
    RulesChanged,
}

async fn apply_change(
    state: &AppState,
    tx: &mut Transaction<'_, Any>,
    user: &CurrentUser,
    op: &Op,
) -> Result<(EventBody, Option<AfterCommit>), AppError> {
    let after = match &op.change {
        Change::PairDevice {
            device_id,
            code,
            name,
            group_id,
            timezone,
        } => {
            let code = state.gateway.reserve_code(&user.org_id, code, &op.op_id)?;
            let token = gateway::new_device_token();
            let body = devices::pair(
                tx,
                &user.org_id,
                device_id,
                name,
                group_id.as_deref(),
                timezone,
                &sha256_hex(&token),
            )
            .await?;
            let after = AfterCommit::Paired {
                code,
                device_id: device_id.clone(),
                name: name.trim().to_string(),
                token,
            };
            return Ok((body, Some(after)));
        }
        Change::UnpairDevice { device_id } => Some(AfterCommit::Disconnect {
            device_id: device_id.clone(),
            reason: "This display was unpaired by an operator.",
        }),
        Change::DeleteDevice { device_id } => Some(AfterCommit::Disconnect {
            device_id: device_id.clone(),
            reason: "This display was deleted by an operator.",
        }),
        Change::UpdateAlertRule { .. } => Some(AfterCommit::RulesChanged),
        _ => None,
    };
    let body = match &op.change {
        Change::CreateDevice {
            device_id,
            name,
            group_id,
            tags,
            timezone,
        } => {
            devices::create(
                tx,
                &user.org_id,
                device_id,
                name,
                group_id.as_deref(),
                tags,
                timezone,
            )
            .await
        }
        Change::UpdateDevice { device_id, patch } => {
            devices::update(tx, &user.org_id, device_id, op.base_version, patch).await
        }
        Change::DeleteDevice { device_id } => {
            devices::delete(tx, &user.org_id, device_id, op.base_version).await
        }
        Change::UpdateGroup {
            group_id,
            playlist_id,
        } => {
            devices::update_group(
                tx,
                &user.org_id,
                group_id,
                op.base_version,
                playlist_id.as_deref(),
            )
            .await
        }
        Change::CreateWebPage {
            content_id,
            name,
            url,
            reload_seconds,
            tags,
        } => {
            content::create_web_page(
                tx,
                &user.org_id,
                content_id,
                name,
                url,
                *reload_seconds,
                tags,
            )
            .await
        }
        Change::AddMedia {
            content_id,
            name,
            media,
        } => content::add_media(tx, &user.org_id, content_id, name, media).await,
        Change::UpdateContent { content_id, patch } => {
            content::update(tx, &user.org_id, content_id, op.base_version, patch).await
        }
        Change::DeleteContent { content_id } => {
            content::delete(tx, &user.org_id, content_id, op.base_version).await
        }
        Change::CreatePlaylist { playlist_id, name } => {
            playlists::create(tx, &user.org_id, playlist_id, name).await
        }
        Change::RenamePlaylist { playlist_id, name } => {
            playlists::rename(tx, &user.org_id, playlist_id, op.base_version, name).await
        }
        Change::DeletePlaylist { playlist_id } => {
            playlists::delete(tx, &user.org_id, playlist_id, op.base_version).await
        }
        Change::InsertItem { playlist_id, .. }
        | Change::MoveItem { playlist_id, .. }
        | Change::RemoveItem { playlist_id, .. }
        | Change::SetItemDuration { playlist_id, .. } => {
            let edit = op.change.item_edit().ok_or_else(AppError::internal)?;
            playlists::edit_items(tx, &user.org_id, playlist_id, &edit).await
        }
        Change::UnpairDevice { device_id } => {
            devices::unpair(tx, &user.org_id, device_id, op.base_version).await
        }
        Change::AcknowledgeAlert { alert_id } => {
            alerts::acknowledge(tx, &user.org_id, alert_id, &user.email).await
        }
        Change::UpdateAlertRule { rule_id, patch } => {
            user.require_admin("change alert rules")?;
            alerts::update_rule(tx, &user.org_id, rule_id, op.base_version, patch).await
        }
        Change::PairDevice { .. } => Err(AppError::internal()),
    }?;
    Ok((body, after))
}

/// Displays' derived statuses changed (the gateway's ticker): events with no
/// op and no operator, through the same log and stream, many in one
/// transaction (one disk flush for a whole burst).
pub async fn record_statuses(
    state: &AppState,
    org_id: &str,
    changes: &[(String, crate::model::DeviceStatus, Option<i64>)],
) -> Result<(), AppError> {
    let mut tx = state.db.pool.begin().await?;
    // The lock that orders appends, before anything is written.
    log::lock_stream(&mut tx, org_id).await?;
    let mut bodies = Vec::new();
    for (device_id, status, last_seen) in changes {
        if let Some(body) =
            devices::set_status(&mut tx, org_id, device_id, *status, *last_seen).await?
        {
            bodies.push(body);
        }
    }
    commit_system(state, org_id, tx, bodies).await
}

/// Ends a system transaction (one that already holds the stream lock): appends
/// `bodies` as events with no op and no operator, commits, wakes the stream.
/// With nothing to append it rolls back.
pub async fn commit_system(
    state: &AppState,
    org_id: &str,
    mut tx: Transaction<'_, Any>,
    bodies: Vec<EventBody>,
) -> Result<(), AppError> {
    if bodies.is_empty() {
        tx.rollback().await?;
        return Ok(());
    }
    for body in bodies {
        let seq = log::next_seq(&mut tx, org_id).await?;
        log::append(&mut tx, org_id, seq, None, None, body).await?;
    }
    log::notify(&mut tx, state.db.backend, org_id).await?;
    tx.commit().await?;
    state.hub.wake(org_id).await;
    Ok(())
}

async fn receipt(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    op_id: &str,
) -> Result<Option<Result<OpAck, AppError>>, AppError> {
    let row =
        sqlx::query("SELECT outcome, response FROM op_receipts WHERE org_id = $1 AND op_id = $2")
            .bind(org_id)
            .bind(op_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(row) = row else { return Ok(None) };
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

async fn store_receipt(
    tx: &mut Transaction<'_, Any>,
    user: &CurrentUser,
    op_id: &str,
    outcome: Result<&OpAck, &AppError>,
) -> Result<(), AppError> {
    let (kind, response) = match outcome {
        Ok(ack) => ("applied", serde_json::to_string(ack)),
        Err(err) => ("refused", serde_json::to_string(err)),
    };
    sqlx::query(
        "INSERT INTO op_receipts (org_id, op_id, user_id, created_at, outcome, response) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&user.org_id)
    .bind(op_id)
    .bind(&user.user_id)
    .bind(now_ms())
    .bind(kind)
    .bind(response.map_err(|_| AppError::internal())?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Receipts are kept at least this long (Stripe keeps idempotency keys 24 hours).
pub const RECEIPT_RETENTION_MS: i64 = 7 * 24 * 3_600_000;

pub async fn prune_receipts(state: &AppState) -> Result<u64, AppError> {
    let res = sqlx::query("DELETE FROM op_receipts WHERE created_at < $1")
        .bind(now_ms() - RECEIPT_RETENTION_MS)
        .execute(&state.db.pool)
        .await?;
    Ok(res.rows_affected())
}
