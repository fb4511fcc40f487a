//! One kind of entity as the server confirmed it: the entities, tombstones of
//! deleted ones, and the stream position the collection is current to; and
//! the fold of pending ops on top of it.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

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
    /// The last fold, kept so the next one redoes only the entities that
    /// changed since (see [`Collection::fold`]).
    view: View<E>,
}

impl<E> Default for Collection<E> {
    fn default() -> Self {
        Self {
            confirmed: BTreeMap::new(),
            tombstones: HashMap::new(),
            as_of_seq: 0,
            seeded: false,
            view: View::default(),
        }
    }
}

/// A collection's last fold: the view, the pending changes it was folded
/// with (entity id and change, in order), and the entities whose confirmed
/// state moved since. A cache: a copy of a collection starts without one, and
/// two collections are equal whatever their caches hold.
struct View<E>(Mutex<Folded<E>>);

struct Folded<E> {
    /// `None` until the first fold, and after a snapshot replaced everything.
    view: Option<BTreeMap<String, E>>,
    pending: Vec<(String, Change)>,
    touched: BTreeSet<String>,
    /// Pending changes projected onto an entity, over the collection's life
    /// (what a fold costs, for the tests).
    projected: usize,
    /// Which cache this is: a reader that kept a revision of another one
    /// (a copy, the store that replaced a snapshot's) must read everything.
    instance: u64,
    /// Bumped by every fold that changed the view, from one counter shared by
    /// all caches.
    revision: u64,
    /// The revision of the last fold that rebuilt the whole view.
    rebuilt_at: u64,
    /// The entities each fold since then redid, as (revision, id), oldest
    /// first; at most [`CHANGE_LOG`] of them.
    log: VecDeque<(u64, String)>,
    /// The newest revision whose entries were dropped from `log`.
    forgotten: u64,
}

/// How many refolded entities a view remembers for [`Collection::read`];
/// a reader further behind reads everything.
const CHANGE_LOG: usize = 4_096;

/// Revisions and instances, unique across every view of the process.
static NEXT_REVISION: AtomicU64 = AtomicU64::new(1);

fn next_revision() -> u64 {
    NEXT_REVISION.fetch_add(1, Ordering::Relaxed)
}

/// Where a reader of a view is: the cache it read and the revision it saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadMark {
    instance: u64,
    revision: u64,
}

/// What changed in a view since a reader's [`ReadMark`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Read everything: the first read, a new snapshot, or too far behind.
    All,
    /// Only these entities may differ (deleted ones too); empty if none.
    Only(BTreeSet<String>),
}

impl<E> Default for View<E> {
    fn default() -> Self {
        View(Mutex::new(Folded {
            view: None,
            pending: Vec::new(),
            touched: BTreeSet::new(),
            projected: 0,
            instance: next_revision(),
            revision: 0,
            rebuilt_at: 0,
            log: VecDeque::new(),
            forgotten: 0,
        }))
    }
}

impl<E> Clone for View<E> {
    fn clone(&self) -> Self {
        View::default()
    }
}

impl<E> PartialEq for View<E> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<E> std::fmt::Debug for View<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("View")
    }
}

impl<E> View<E> {
    fn folded(&self) -> std::sync::MutexGuard<'_, Folded<E>> {
        // A panic mid-fold leaves a cache that is simply rebuilt.
        self.0.lock().unwrap_or_else(|poisoned| {
            let mut folded = poisoned.into_inner();
            folded.view = None;
            folded
        })
    }
    /// Everything must be folded again (a snapshot replaced the collection).
    fn forget(&mut self) {
        self.folded().view = None;
    }
    /// `id`'s confirmed state moved.
    fn touch(&mut self, id: &str) {
        let mut folded = self.folded();
        if folded.view.is_some() {
            folded.touched.insert(id.to_string());
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
        // Inserted one by one, not collected: `BTreeMap::from_iter` sorts
        // its input first, a copy of the sort in the browser build for
        // every entity kind.
        self.confirmed = BTreeMap::new();
        for e in entities {
            self.confirmed.insert(e.id().to_string(), e);
        }
        self.tombstones.clear();
        self.as_of_seq = seq;
        self.seeded = true;
        self.view.forget();
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
                self.view.touch(&id);
                Some((id, version, fields))
            }
            Confirmed::Removed { id, version } => {
                self.confirmed.remove(&id);
                self.view.touch(&id);
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
            self.view.touch(entity.id());
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
    ///
    /// An entity's view depends only on its confirmed state and the pending
    /// changes about it, so after the first fold only the entities whose
    /// confirmed state moved, or whose pending changes differ from the last
    /// fold's, are folded again; the rest is the last fold's view as it was.
    pub fn fold<'a>(&self, pending: impl IntoIterator<Item = &'a PendingOp>) -> BTreeMap<String, E>
    where
        E: 'a,
    {
        self.read(pending, None, |view, _| view.clone()).1
    }

    /// The fold's entities, in id order.
    pub fn values<'a>(&self, pending: impl IntoIterator<Item = &'a PendingOp>) -> Vec<E>
    where
        E: 'a,
    {
        self.read(pending, None, |view, _| view.values().cloned().collect())
            .1
    }

    /// The fold, lent rather than copied, with what changed in it since
    /// `since` (a mark an earlier read returned; `None` for everything).
    /// Returns the mark to pass next time. Reading costs what the fold
    /// redoes plus what `read` does: nothing in proportion to the
    /// collection unless the reader asks for it.
    pub fn read<'a, R>(
        &self,
        pending: impl IntoIterator<Item = &'a PendingOp>,
        since: Option<ReadMark>,
        read: impl FnOnce(&BTreeMap<String, E>, Changed) -> R,
    ) -> (ReadMark, R)
    where
        E: 'a,
    {
        // Only this wrapper is instantiated per caller (per closure and
        // iterator): the fold itself is one body per entity kind, which keeps
        // the browser build from carrying a copy of it for every reader.
        let pending: Vec<&Change> = pending.into_iter().map(|op| &op.op.change).collect();
        let mut guard = self.view.folded();
        let (mark, changed) = self.refold(&mut guard, &pending, since);
        let view = guard.view.get_or_insert_with(BTreeMap::new);
        (mark, read(view, changed))
    }

    /// Brings the kept fold up to date with `pending` and says what changed
    /// since `since`.
    fn refold(
        &self,
        folded: &mut Folded<E>,
        pending: &[&Change],
        since: Option<ReadMark>,
    ) -> (ReadMark, Changed) {
        let pending: Vec<(&str, &Change)> = pending
            .iter()
            .filter(|change| change.target() == E::TARGET)
            .map(|change| (change.entity_id(), *change))
            .collect();
        let stale: BTreeSet<String> = match &folded.view {
            None => {
                let mut view = self.confirmed.clone();
                for (id, change) in &pending {
                    folded.projected += 1;
                    project_into(&mut view, id, change);
                }
                folded.view = Some(view);
                folded.touched.clear();
                folded.revision = next_revision();
                folded.rebuilt_at = folded.revision;
                folded.log.clear();
                folded.forgotten = 0;
                BTreeSet::new()
            }
            Some(_) => {
                let mut stale = std::mem::take(&mut folded.touched);
                stale.extend(changed_entities(&folded.pending, &pending));
                stale
            }
        };
        let view = folded.view.get_or_insert_with(BTreeMap::new);
        if !stale.is_empty() {
            folded.revision = next_revision();
        }
        for id in &stale {
            match self.confirmed.get(id) {
                Some(e) => view.insert(id.clone(), e.clone()),
                None => view.remove(id),
            };
            for (_, change) in pending.iter().filter(|(of, _)| of == id) {
                folded.projected += 1;
                project_into(view, id, change);
            }
            folded.log.push_back((folded.revision, id.clone()));
        }
        while folded.log.len() > CHANGE_LOG {
            if let Some((revision, _)) = folded.log.pop_front() {
                folded.forgotten = revision;
            }
        }
        folded.pending = pending
            .iter()
            .map(|(id, change)| (id.to_string(), (*change).clone()))
            .collect();
        let changed = match since {
            Some(mark)
                if mark.instance == folded.instance
                    && mark.revision >= folded.rebuilt_at
                    && mark.revision >= folded.forgotten =>
            {
                Changed::Only(
                    folded
                        .log
                        .iter()
                        .rev()
                        .take_while(|(revision, _)| *revision > mark.revision)
                        .map(|(_, id)| id.clone())
                        .collect(),
                )
            }
            _ => Changed::All,
        };
        let mark = ReadMark {
            instance: folded.instance,
            revision: folded.revision,
        };
        (mark, changed)
    }

    /// One entity as [`Collection::fold`] would show it.
    pub fn fold_one<'a>(
        &self,
        pending: impl IntoIterator<Item = &'a PendingOp>,
        id: &str,
    ) -> Option<E>
    where
        E: 'a,
    {
        let mut view = BTreeMap::new();
        if let Some(e) = self.confirmed.get(id) {
            view.insert(id.to_string(), e.clone());
        }
        for op in pending {
            let change = &op.op.change;
            if change.target() == E::TARGET && change.entity_id() == id {
                project_into(&mut view, id, change);
            }
        }
        view.remove(id)
    }

    /// Pending changes projected onto an entity so far, by every fold.
    #[cfg(test)]
    pub(super) fn projected(&self) -> usize {
        self.view.folded().projected
    }
}

fn project_into<E: Entity>(view: &mut BTreeMap<String, E>, id: &str, change: &Change) {
    match E::project(change, view.get(id)) {
        Some(Projection::Upsert(e)) => {
            view.insert(id.to_string(), e);
        }
        Some(Projection::Remove) => {
            view.remove(id);
        }
        None => {}
    }
}

/// The entities whose pending changes (in order) differ between two folds.
fn changed_entities(before: &[(String, Change)], now: &[(&str, &Change)]) -> BTreeSet<String> {
    let mut of: HashMap<&str, (Vec<&Change>, Vec<&Change>)> = HashMap::new();
    for (id, change) in before {
        of.entry(id.as_str()).or_default().0.push(change);
    }
    for (id, change) in now {
        of.entry(id).or_default().1.push(change);
    }
    of.into_iter()
        .filter(|(_, (was, is))| was != is)
        .map(|(id, _)| id.to_string())
        .collect()
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

    #[test]
    fn a_read_says_what_changed_since_the_readers_mark() {
        let mut c: Collection<Device> = Collection::default();
        c.seed(vec![device("a", "A", 1), device("b", "B", 1)], 10);
        let (mark, changed) = c.read([], None, |view, changed| {
            assert_eq!(view.len(), 2);
            changed
        });
        assert_eq!(changed, Changed::All);
        let (same, changed) = c.read([], Some(mark), |_, changed| changed);
        assert_eq!((same, changed), (mark, Changed::Only(BTreeSet::new())));
        c.observe(device("b", "B2", 2));
        let (next, changed) = c.read([], Some(mark), |view, changed| {
            assert_eq!(view["b"].name, "B2");
            changed
        });
        assert_eq!(changed, Changed::Only(["b".to_string()].into()));
        // A copy is another cache, and a new snapshot replaces everything.
        let copy = c.clone();
        assert_eq!(copy.read([], Some(next), |_, c| c).1, Changed::All);
        c.seed(vec![device("a", "A", 1)], 20);
        assert_eq!(c.read([], Some(next), |_, c| c).1, Changed::All);
    }
}
