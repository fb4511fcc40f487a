//! Sends pending ops to the server one at a time, in order, behind the circuit
//! breaker. Transient failures (network, timeout, 5xx) requeue the op and wait
//! with backoff and full jitter; permanent ones (validation, authorization, not
//! found) roll it back at once and say why; a conflict merges by itself when the
//! fields do not collide and otherwise waits for the operator.

use leptos::prelude::*;

use super::{backoff::Backoff, platform, store::ConflictOutcome, SyncHandle};
use crate::{api::devices::apply_op, error::AppError};

/// How often a wait checks for "Retry now".
const WAIT_STEP_MS: f64 = 100.0;

/// Waits `ms`, or less if the operator pressed "Retry now".
async fn wait(sync: SyncHandle, ms: f64) {
    let until = platform::now_ms() + ms;
    while platform::now_ms() < until {
        if sync.state.kick.get_value() {
            sync.state.kick.set_value(false);
            return;
        }
        platform::sleep(WAIT_STEP_MS.min(until - platform::now_ms())).await;
    }
}

pub(super) fn pump(sync: SyncHandle) {
    // Only the elected tab sends; the others show the same ops and wait.
    if sync.state.sending.get_value() || !sync.sender.get_untracked() {
        return;
    }
    sync.state.sending.set_value(true);
    leptos::task::spawn_local(async move {
        let retry = sync.state.retry.get_value();
        let backoff = Backoff {
            base_ms: retry.base_ms,
            cap_ms: retry.cap_ms,
        };
        loop {
            let now = platform::now_ms();
            let allowed = sync
                .state
                .breaker
                .try_update_value(|b| b.allow(now))
                .unwrap_or(true);
            if !allowed {
                sync.state.breaker_open.set(true);
                let pause = sync.state.breaker.with_value(|b| b.wait_ms(now));
                wait(sync, pause.max(WAIT_STEP_MS)).await;
                continue;
            }
            let Some(op) = sync.state.store.try_update(|s| s.next_to_send()).flatten() else {
                break;
            };
            let queued_at = sync.store.with_untracked(|s| {
                s.pending()
                    .iter()
                    .find(|p| p.op.op_id == op.op_id)
                    .map_or(now, |p| p.queued_at)
            });
            if now - queued_at > retry.op_max_age_ms {
                sync.discard(&op.op_id);
                sync.notices.error(format!(
                    "{} could not be sent for {} hours and was given up.",
                    op.change.describe(),
                    (retry.op_max_age_ms / 3_600_000.0).round()
                ));
                continue;
            }
            let answer = apply_op(op.clone()).await;
            match &answer {
                Err(err) if err.is_transient() => {
                    sync.state
                        .breaker
                        .update_value(|b| b.record_failure(platform::now_ms()));
                }
                _ => sync.state.breaker.update_value(|b| b.record_success()),
            }
            sync.state
                .breaker_open
                .set(sync.state.breaker.with_value(|b| b.is_open()));
            match answer {
                Ok(ack) => sync.state.store.update(|s| s.apply_event(&ack.event)),
                Err(AppError::Conflict {
                    current: Some(current),
                    message,
                }) => {
                    let outcome = sync
                        .state
                        .store
                        .try_update(|s| s.conflict(&op.op_id, current))
                        .flatten();
                    if let Some(ConflictOutcome::Collides(_)) = outcome {
                        sync.notices
                            .error(format!("{message} Choose which version to keep."));
                    }
                }
                Err(err) if err.is_transient() => {
                    let attempts = sync.store.with_untracked(|s| {
                        s.pending()
                            .iter()
                            .find(|p| p.op.op_id == op.op_id)
                            .map_or(1, |p| p.attempts)
                    });
                    sync.state
                        .store
                        .update(|s| s.requeue(&op.op_id, err.to_string()));
                    wait(
                        sync,
                        backoff.delay_ms(attempts.saturating_sub(1), platform::random_unit()),
                    )
                    .await;
                }
                Err(err) => {
                    sync.state.store.update(|s| {
                        s.rollback(&op.op_id);
                    });
                    sync.notices
                        .error(format!("{} was refused: {err}", op.change.describe()));
                }
            }
            sync.persist();
        }
        sync.state.sending.set_value(false);
    });
}
