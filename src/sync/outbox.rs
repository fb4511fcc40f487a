//! The outbox: every pending op is written to browser storage before it is sent,
//! so a reload or a crashed tab brings the ops back, still pending, in their
//! original order. It is bounded; when full, a new edit is refused with a message
//! and nothing already queued is ever dropped. Only the operator's Discard, a
//! permanent refusal from the server, or its acknowledgement removes an op.
//!
//! `localStorage` rather than IndexedDB: its write is synchronous, so "persisted
//! before sent" holds without an await between the two, and a thousand ops are
//! far below its quota. Each op has its own key (`PREFIX.op_id`), so tabs of one
//! operator share the outbox without overwriting each other's writes; the
//! `storage` event tells every tab what another one added or removed.

use serde::{Deserialize, Serialize};

use super::store::{OpState, PendingOp};
use crate::model::Op;

/// The default bound; `Leptos.toml` `[vizora] outbox-limit` overrides it.
pub const DEFAULT_LIMIT: usize = 1_000;

/// One op as stored; in-flight ops come back as queued (the server's receipt
/// makes sending one again harmless).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredOp {
    op: Op,
    queued_at: f64,
    /// Breaks ties between ops queued in the same millisecond.
    order: u64,
    attempts: u32,
    last_error: Option<String>,
    base: Option<serde_json::Value>,
}

/// The key prefix: per organization and operator, so a shared browser never
/// sends one operator's edits with another's session.
pub fn storage_key(org_name: &str, email: &str) -> String {
    format!("vizora.outbox.v2.{org_name}.{email}")
}

/// The key of one op under `prefix`.
pub fn op_key(prefix: &str, op_id: &str) -> String {
    format!("{prefix}.{op_id}")
}

/// One op as stored under its own key.
pub fn encode_one(p: &PendingOp) -> String {
    serde_json::to_string(&StoredOp {
        op: p.op.clone(),
        queued_at: p.queued_at,
        order: p.order,
        attempts: p.attempts,
        last_error: p.last_error.clone(),
        base: p.base.clone(),
    })
    .unwrap_or_default()
}

pub fn decode_one(text: &str) -> Result<PendingOp, String> {
    let s: StoredOp =
        serde_json::from_str(text).map_err(|e| format!("a saved change is unreadable: {e}"))?;
    Ok(PendingOp {
        op: s.op,
        state: OpState::Queued,
        queued_at: s.queued_at,
        order: s.order,
        attempts: s.attempts,
        last_error: s.last_error,
        base: s.base,
    })
}

/// Puts ops read in any order back in the order they were queued.
pub fn sort_queued(ops: &mut Vec<PendingOp>) {
    crate::model::order::sort_by(ops, |a, b| {
        a.queued_at
            .total_cmp(&b.queued_at)
            .then(a.order.cmp(&b.order))
    });
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Writes one op under its own key. An error means the browser refused
/// (quota, private mode); the caller tells the operator.
#[cfg(feature = "hydrate")]
pub fn save_one(prefix: &str, p: &PendingOp) -> Result<(), String> {
    let storage = storage().ok_or("This browser offers no storage for pending changes.")?;
    storage
        .set_item(&op_key(prefix, &p.op.op_id), &encode_one(p))
        .map_err(|_| "The browser refused to save a pending change (storage full?).".to_string())
}

#[cfg(feature = "hydrate")]
pub fn remove_one(prefix: &str, op_id: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&op_key(prefix, op_id));
    }
}

/// Every op saved under `prefix`, in queue order.
#[cfg(feature = "hydrate")]
pub fn load(prefix: &str) -> Result<Vec<PendingOp>, String> {
    let Some(storage) = storage() else {
        return Ok(Vec::new());
    };
    let len = storage.length().unwrap_or(0);
    let wanted = format!("{prefix}.");
    let mut ops = Vec::new();
    for i in 0..len {
        let Some(key) = storage.key(i).ok().flatten() else {
            continue;
        };
        if key.starts_with(&wanted) {
            if let Some(text) = storage.get_item(&key).ok().flatten() {
                ops.push(decode_one(&text)?);
            }
        }
    }
    sort_queued(&mut ops);
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, DevicePatch};

    fn pending(op_id: &str, state: OpState) -> PendingOp {
        PendingOp {
            op: Op {
                op_id: op_id.into(),
                base_version: Some(3),
                change: Change::UpdateDevice {
                    device_id: "d".into(),
                    patch: DevicePatch {
                        name: Some(format!("name {op_id}")),
                        ..Default::default()
                    },
                },
            },
            state,
            queued_at: 12.5,
            order: 0,
            attempts: 2,
            last_error: Some("timeout".into()),
            base: Some(serde_json::json!({"name": "before"})),
        }
    }

    #[test]
    fn an_op_round_trips_and_comes_back_queued() {
        let sent = pending("a", OpState::InFlight);
        let back = decode_one(&encode_one(&sent)).unwrap();
        assert_eq!(
            back.state,
            OpState::Queued,
            "in flight when saved: sent again, the receipt dedupes"
        );
        assert_eq!(
            (back.op.clone(), back.attempts, back.base.clone()),
            (sent.op, 2, sent.base)
        );
    }

    #[test]
    fn ops_saved_one_key_each_come_back_in_queue_order() {
        let mut ops: Vec<PendingOp> = ["c", "a", "b"]
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut p = pending(id, OpState::Queued);
                p.queued_at = 100.0;
                p.order = [2, 0, 1][i];
                decode_one(&encode_one(&p)).unwrap()
            })
            .collect();
        sort_queued(&mut ops);
        assert_eq!(
            ops.iter().map(|p| p.op.op_id.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(
            op_key("vizora.outbox.v2.Org.a@b", "x"),
            "vizora.outbox.v2.Org.a@b.x"
        );
    }

    #[test]
    fn an_unreadable_saved_op_is_an_error() {
        assert!(decode_one("{not json").is_err());
    }
}
