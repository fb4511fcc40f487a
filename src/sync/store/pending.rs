//! The operator's pending ops, in queue order: queued, in flight (one at a
//! time) or waiting on a conflict. Rollback is dropping an op; nothing else
//! needs undoing. The queue is bounded, and a full queue refuses the next edit
//! rather than dropping one.

use super::Store;
use crate::model::Op;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpState {
    /// Waiting to be sent (or to be retried).
    Queued,
    /// Sent; the answer has not come back yet.
    InFlight,
    /// The server has a newer version whose changes collide with this op's;
    /// it waits for the operator to keep theirs or mine.
    Conflicted,
}

/// An op the server has not confirmed yet.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOp {
    pub op: Op,
    pub state: OpState,
    /// Client clock, milliseconds.
    pub queued_at: f64,
    /// Breaks ties between ops queued in the same millisecond.
    pub order: u64,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The confirmed entity (as JSON) the op was made against, for the merge rule.
    pub base: Option<serde_json::Value>,
}

impl PendingOp {
    /// Changes whenever anything saved about the op changes, and is cheap to
    /// compute: persisting compares these instead of serializing every op.
    pub fn fingerprint(&self) -> (Option<i64>, u32, usize, bool) {
        (
            self.op.base_version,
            self.attempts,
            self.last_error.as_ref().map_or(0, String::len),
            self.state == OpState::Conflicted,
        )
    }
}

impl Store {
    pub fn pending(&self) -> &[PendingOp] {
        &self.pending
    }

    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// The outbox bound; `outbox::DEFAULT_LIMIT` until `set_limit`.
    pub fn limit(&self) -> usize {
        if self.limit == 0 {
            crate::sync::outbox::DEFAULT_LIMIT
        } else {
            self.limit
        }
    }

    /// Queues an op; it shows at once in every fold. Refused, with a message the
    /// operator can act on, when the outbox is full: a queued op is never dropped.
    pub fn push(&mut self, op: Op, now: f64) -> Result<(), String> {
        if self.pending.len() >= self.limit() {
            return Err(format!(
                "{} changes are already waiting to be sent, the most this console keeps. \
                 Reconnect, or discard some pending changes, before making more.",
                self.pending.len()
            ));
        }
        let base = self.confirmed_json(&op.change);
        self.next_order += 1;
        self.pending.push(PendingOp {
            op,
            state: OpState::Queued,
            queued_at: now,
            order: self.next_order,
            attempts: 0,
            last_error: None,
            base,
        });
        Ok(())
    }

    /// Puts back ops saved in the outbox (after a reload, or added by another
    /// tab), keeping queue order; ops already held are left as they are.
    pub fn restore(&mut self, ops: Vec<PendingOp>) {
        let mut added = false;
        for op in ops {
            if !self.pending.iter().any(|p| p.op.op_id == op.op.op_id) {
                self.next_order = self.next_order.max(op.order);
                self.pending.push(op);
                added = true;
            }
        }
        if added {
            // A stable sort keeps what is in flight where it is relative to its peers.
            crate::sync::outbox::sort_queued(&mut self.pending);
        }
    }

    /// Another tab changed a saved op (its sender rebased or retried it).
    pub fn mirror(&mut self, op: PendingOp) {
        match self.pending.iter_mut().find(|p| p.op.op_id == op.op.op_id) {
            Some(p) if p.state != OpState::InFlight => {
                p.op = op.op;
                p.attempts = op.attempts;
                p.last_error = op.last_error;
                p.base = op.base;
            }
            Some(_) => {}
            None => self.restore(vec![op]),
        }
    }

    /// Drops an op: the fold no longer contains it, which is the whole rollback.
    pub fn rollback(&mut self, op_id: &str) -> Option<PendingOp> {
        self.conflicts.remove(op_id);
        let at = self.pending.iter().position(|p| p.op.op_id == op_id)?;
        Some(self.pending.remove(at))
    }

    /// The oldest queued op, marked in flight, unless one is already in flight
    /// (ops go out one at a time, in order). Ops behind a conflict on the same
    /// entity wait for it to be resolved.
    pub fn next_to_send(&mut self) -> Option<Op> {
        if self.pending.iter().any(|p| p.state == OpState::InFlight) {
            return None;
        }
        let blocked: Vec<String> = self
            .pending
            .iter()
            .filter(|p| p.state == OpState::Conflicted)
            .map(|p| p.op.change.entity_id().to_string())
            .collect();
        let next = self.pending.iter_mut().find(|p| {
            p.state == OpState::Queued && !blocked.iter().any(|b| b == p.op.change.entity_id())
        })?;
        next.state = OpState::InFlight;
        next.attempts += 1;
        Some(next.op.clone())
    }

    /// A send failed in a way worth retrying: the op goes back to the queue.
    pub fn requeue(&mut self, op_id: &str, error: String) {
        if let Some(p) = self.pending.iter_mut().find(|p| p.op.op_id == op_id) {
            p.state = OpState::Queued;
            p.last_error = Some(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sync::store::fixtures::{rename, retag, seeded};

    #[test]
    fn rollback_drops_only_that_op() {
        let mut s = seeded();
        s.push(rename("o1", "a", 1, "First"), 0.0).unwrap();
        s.push(retag("o2", "a", 1, "4k"), 0.0).unwrap();
        s.rollback("o1").unwrap();
        let a = s.device("a").unwrap();
        assert_eq!(a.name, "Lobby");
        assert_eq!(a.tags, vec!["4k"]);
        assert!(s.rollback("o1").is_none());
    }

    #[test]
    fn a_full_outbox_refuses_the_next_edit_and_keeps_the_queued_ones() {
        let mut s = seeded();
        s.set_limit(2);
        s.push(rename("o1", "a", 1, "x"), 0.0).unwrap();
        s.push(rename("o2", "b", 1, "y"), 0.0).unwrap();
        let err = s.push(rename("o3", "a", 1, "z"), 0.0).unwrap_err();
        assert!(err.contains("2 changes are already waiting"), "{err}");
        assert_eq!(s.pending().len(), 2);
    }

    #[test]
    fn restored_ops_keep_their_order_and_are_not_doubled() {
        let mut s = seeded();
        s.push(rename("o1", "a", 1, "x"), 0.0).unwrap();
        let saved = s.pending().to_vec();
        let mut fresh = seeded();
        fresh.restore(saved.clone());
        fresh.restore(saved);
        assert_eq!(fresh.pending().len(), 1);
        assert_eq!(fresh.device("a").unwrap().name, "x");
    }

    #[test]
    fn requeued_op_is_sent_again_first() {
        let mut s = seeded();
        s.push(rename("o1", "a", 1, "x"), 0.0).unwrap();
        s.push(rename("o2", "b", 1, "y"), 0.0).unwrap();
        assert_eq!(s.next_to_send().unwrap().op_id, "o1");
        s.requeue("o1", "timeout".into());
        let again = s.next_to_send().unwrap();
        assert_eq!(again.op_id, "o1");
        assert_eq!(s.pending()[0].attempts, 2);
        assert_eq!(s.pending()[0].last_error.as_deref(), Some("timeout"));
    }
}
