//! Conflicts: the server refused an op because the entity moved on. The op
//! merges by itself when nothing it sets collides with what others changed
//! (`sync::merge`); otherwise it waits for the operator to keep theirs or mine.

use super::{pending::OpState, Store};

/// An op waiting for the operator: what they set, and the server's version.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenConflict {
    pub op_id: String,
    pub entity_id: String,
    pub fields: Vec<String>,
    pub mine: serde_json::Value,
    pub theirs: serde_json::Value,
}

/// What happened to an op the server answered with a conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum ConflictOutcome {
    /// Nothing collided: the op moved onto the current version and is queued again.
    Merged,
    /// These fields collide; the operator decides.
    Collides(Vec<String>),
}

impl Store {
    pub fn conflicts(&self) -> impl Iterator<Item = &OpenConflict> {
        self.conflicts.values()
    }

    /// The server refused `op_id` because the entity is now `current`: merge if
    /// nothing collides, else hold it for the operator.
    pub fn conflict(&mut self, op_id: &str, current: serde_json::Value) -> Option<ConflictOutcome> {
        let target = self
            .pending
            .iter()
            .find(|p| p.op.op_id == op_id)?
            .op
            .change
            .target();
        collections!(mut self, c => c.observe_json(target, &current));
        let p = self.pending.iter_mut().find(|p| p.op.op_id == op_id)?;
        let base = p.base.clone().unwrap_or(serde_json::Value::Null);
        let (mine, fields) = match p.op.change.patch_json() {
            Some(mine) => {
                let fields = crate::sync::merge::colliding_fields(&base, &current, &mine);
                (mine, fields)
            }
            // Deleting something others changed is the operator's call.
            None => (serde_json::json!({"deleted": true}), vec!["*".to_string()]),
        };
        let version = current.get("version").and_then(serde_json::Value::as_i64);
        if fields.is_empty() {
            p.op.base_version = version;
            p.base = Some(current);
            p.state = OpState::Queued;
            return Some(ConflictOutcome::Merged);
        }
        p.state = OpState::Conflicted;
        self.conflicts.insert(
            op_id.to_string(),
            OpenConflict {
                op_id: op_id.to_string(),
                entity_id: p.op.change.entity_id().to_string(),
                fields: fields.clone(),
                mine,
                theirs: current,
            },
        );
        Some(ConflictOutcome::Collides(fields))
    }

    /// "Keep mine": send the op again on top of the server's version.
    pub fn keep_mine(&mut self, op_id: &str) {
        let Some(c) = self.conflicts.remove(op_id) else {
            return;
        };
        if let Some(p) = self.pending.iter_mut().find(|p| p.op.op_id == op_id) {
            p.op.base_version = c.theirs.get("version").and_then(serde_json::Value::as_i64);
            p.base = Some(c.theirs);
            p.state = OpState::Queued;
        }
    }

    /// "Keep theirs": drop the op; the view shows the server's version.
    pub fn keep_theirs(&mut self, op_id: &str) {
        self.conflicts.remove(op_id);
        self.rollback(op_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::store::fixtures::{device, rename, retag, seeded};

    #[test]
    fn a_conflict_on_untouched_fields_merges_and_requeues_on_the_new_version() {
        let mut s = seeded();
        s.push(retag("o1", "a", 1, "4k"), 0.0).unwrap();
        s.next_to_send();
        let current = serde_json::to_value(device("a", "Bob renamed it", 2)).unwrap();
        assert_eq!(s.conflict("o1", current), Some(ConflictOutcome::Merged));
        assert_eq!(s.pending()[0].op.base_version, Some(2));
        assert_eq!(s.pending()[0].state, OpState::Queued);
        let a = s.device("a").unwrap();
        assert_eq!(
            (a.name.as_str(), a.tags.clone()),
            ("Bob renamed it", vec!["4k".to_string()])
        );
    }

    #[test]
    fn a_conflict_on_the_same_field_waits_for_the_operator_and_both_choices_work() {
        for keep_mine in [true, false] {
            let mut s = seeded();
            s.push(rename("o1", "a", 1, "Mine"), 0.0).unwrap();
            s.push(retag("o2", "a", 1, "later"), 0.0).unwrap();
            s.next_to_send();
            let current = serde_json::to_value(device("a", "Theirs", 2)).unwrap();
            assert_eq!(
                s.conflict("o1", current),
                Some(ConflictOutcome::Collides(vec!["name".into()]))
            );
            assert_eq!(s.conflicts().count(), 1);
            assert!(s.next_to_send().is_none(), "ops on the same display wait");
            if keep_mine {
                s.keep_mine("o1");
                assert_eq!(s.device("a").unwrap().name, "Mine");
                let resent = s.next_to_send().unwrap();
                assert_eq!(
                    (resent.op_id.as_str(), resent.base_version),
                    ("o1", Some(2))
                );
            } else {
                s.keep_theirs("o1");
                assert_eq!(s.device("a").unwrap().name, "Theirs");
                assert_eq!(s.next_to_send().unwrap().op_id, "o2");
            }
            assert_eq!(s.conflicts().count(), 0);
        }
    }
}
