//! One kind of entity as the server confirmed it: the entities, tombstones of
//! deleted ones, and the stream position the collection is current to; and
//! the fold of pending ops on top of it.

use std::collections::{BTreeMap, HashMap};

use super::{
    entity::{Confirmed, Entity, Projection},
    pending::PendingOp,
};
use crate::model::{Change, Event, Target};

/// Confirmed entities of one kind, and the stream position they were read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection<E> {
    confirmed: BTreeMap<String, E>,
    /// Versions of deleted entities, so a late, older upsert cannot revive one.
    tombstones: HashMap<String, i64>,
    /// Events at or below this seq are already in `confirmed`.
    as_of_seq: i64,
    seeded: bool,
}

impl<E> Default for Collection<E> {
    fn default() -> Self {
        Self {
            confirmed: BTreeMap::new(),
            tombstones: HashMap::new(),
            as_of_seq: 0,
            seeded: false,
        }
    }
}

/// What folding one event into its collection did, for the rebase.
pub(super) struct Confirmation {
    pub id: String,
    pub prior: Option<i64>,
    pub version: i64,
    pub fields: Vec<&'static str>,
    pub base: Option<serde_json::Value>,
}

impl<E: Entity> Collection<E> {
    pub fn is_seeded(&self) -> bool {
        self.seeded
    }
    pub fn as_of_seq(&self) -> i64 {
        self.as_of_seq
    }
    pub fn confirmed(&self, id: &str) -> Option<&E> {
        self.confirmed.get(id)
    }

    /// The position a resume must start from for this collection, if seeded.
    pub(super) fn seeded_at(&self) -> Option<i64> {
        self.seeded.then_some(self.as_of_seq)
    }

    /// Replaces the collection with a snapshot read at `seq`. A snapshot older than
    /// what the collection already holds is ignored (returns `false`).
    pub fn seed(&mut self, entities: Vec<E>, seq: i64) -> bool {
        if self.seeded && seq < self.as_of_seq {
            return false;
        }
        self.confirmed = entities
            .into_iter()
            .map(|e| (e.id().to_string(), e))
            .collect();
        self.tombstones.clear();
        self.as_of_seq = seq;
        self.seeded = true;
        true
    }

    /// Folds one confirmed change in. Returns the fields that changed, `None` if the
    /// event was older than what is held.
    fn confirm(
        &mut self,
        seq: i64,
        change: Confirmed<E>,
    ) -> Option<(String, i64, Vec<&'static str>)> {
        if seq <= self.as_of_seq {
            return None;
        }
        match change {
            Confirmed::Upsert(entity) => {
                let id = entity.id().to_string();
                if self
                    .tombstones
                    .get(&id)
                    .is_some_and(|v| *v >= entity.version())
                {
                    return None;
                }
                let old = self.confirmed.get(&id);
                if old.is_some_and(|o| o.version() >= entity.version()) {
                    return None;
                }
                let fields = match old {
                    Some(o) => o.changed_fields(&entity),
                    None => vec!["*"],
                };
                let version = entity.version();
                self.confirmed.insert(id.clone(), entity);
                Some((id, version, fields))
            }
            Confirmed::Removed { id, version } => {
                self.confirmed.remove(&id);
                self.tombstones.insert(id.clone(), version);
                Some((id, version, vec!["*"]))
            }
        }
    }

    /// Folds `event` in if it carries this kind of entity.
    pub(super) fn confirm_event(&mut self, event: &Event) -> Option<Confirmation> {
        let change = E::from_event(&event.body)?;
        let prior = self.confirmed(event.body.entity_id()).map(Entity::version);
        let (id, version, fields) = self.confirm(event.seq, change)?;
        let base = self
            .confirmed(&id)
            .and_then(|e| serde_json::to_value(e).ok());
        Some(Confirmation {
            id,
            prior,
            version,
            fields,
            base,
        })
    }

    /// Folds in an entity the server reported outside the stream (a conflict
    /// answer) if it is newer than what is held; the stream confirms it later.
    pub fn observe(&mut self, entity: E) {
        let newer = self
            .confirmed
            .get(entity.id())
            .is_none_or(|held| held.version() < entity.version());
        if newer {
            self.confirmed.insert(entity.id().to_string(), entity);
        }
    }

    /// `observe` for a conflict answer about `target`, given as JSON.
    pub(super) fn observe_json(&mut self, target: Target, current: &serde_json::Value) {
        if target != E::TARGET {
            return;
        }
        if let Ok(entity) = serde_json::from_value::<E>(current.clone()) {
            self.observe(entity);
        }
    }

    /// The confirmed entity `change` is about, as JSON, if it is of this kind.
    pub(super) fn confirmed_json(&self, change: &Change) -> Option<serde_json::Value> {
        if change.target() != E::TARGET {
            return None;
        }
        self.confirmed(change.entity_id())
            .and_then(|e| serde_json::to_value(e).ok())
    }

    /// Confirmed state with `pending` replayed on top, in order.
    pub fn fold<'a>(&self, pending: impl IntoIterator<Item = &'a PendingOp>) -> BTreeMap<String, E>
    where
        E: 'a,
    {
        let mut view = self.confirmed.clone();
        for op in pending {
            let id = op.op.change.entity_id();
            match E::project(&op.op.change, view.get(id)) {
                Some(Projection::Upsert(e)) => {
                    view.insert(id.to_string(), e);
                }
                Some(Projection::Remove) => {
                    view.remove(id);
                }
                None => {}
            }
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::Device, sync::store::fixtures::device};

    #[test]
    fn an_older_snapshot_does_not_replace_a_newer_one() {
        let mut c: Collection<Device> = Collection::default();
        assert!(c.seed(vec![device("a", "new", 2)], 20));
        assert!(!c.seed(vec![device("a", "old", 1)], 15));
        assert_eq!(c.confirmed("a").unwrap().name, "new");
    }
}
