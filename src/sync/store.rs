//! The client store: confirmed state from the server plus the operator's pending
//! ops, replayed in order. What a page shows is always that fold.
//!
//! - Rollback is dropping an op; nothing else needs undoing.
//! - An event whose `op_id` matches a pending op acknowledges (drops) it.
//! - A remote event for an entity with pending ops is a rebase: the ops stay and
//!   are replayed on the new confirmed state; ops whose fields the remote change
//!   did not touch move to the new version, so they will not conflict.
//!
//! Pure data, no signals and no I/O, so the rules are tested with plain `#[test]`.
//! Persistence (the outbox) and sending live beside it and only call these methods.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::model::{
    Alert, AlertRule, Change, Content, Device, DeviceGroup, Event, EventBody, Op, Playlist, Target,
};

/// An entity a collection holds.
pub trait Entity: Clone + PartialEq {
    fn id(&self) -> &str;
    fn version(&self) -> i64;
    /// Operator-editable fields that differ between `self` and `newer`.
    fn changed_fields(&self, newer: &Self) -> Vec<&'static str>;
    /// What `change` does to this kind of entity, or `None` if it is not about it.
    fn project(change: &Change, current: Option<&Self>) -> Option<Projection<Self>>;
    /// The confirmed state an event carries for this kind of entity, if any.
    fn from_event(body: &EventBody) -> Option<Confirmed<Self>>;
}

pub enum Projection<E> {
    Upsert(E),
    Remove,
}

pub enum Confirmed<E> {
    Upsert(E),
    Removed { id: String, version: i64 },
}

impl Entity for Device {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn changed_fields(&self, newer: &Self) -> Vec<&'static str> {
        Device::changed_fields(self, newer)
    }
    fn project(change: &Change, current: Option<&Self>) -> Option<Projection<Self>> {
        (change.target() == Target::Device).then(|| change.apply_to_device(current).into())
    }
    fn from_event(body: &EventBody) -> Option<Confirmed<Self>> {
        match body {
            EventBody::DeviceUpserted { device } => Some(Confirmed::Upsert(device.clone())),
            EventBody::DeviceDeleted { device_id, version } => Some(Confirmed::Removed {
                id: device_id.clone(),
                version: *version,
            }),
            _ => None,
        }
    }
}

impl<E> From<Option<E>> for Projection<E> {
    fn from(value: Option<E>) -> Self {
        match value {
            Some(e) => Projection::Upsert(e),
            None => Projection::Remove,
        }
    }
}

impl Entity for DeviceGroup {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn changed_fields(&self, newer: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.name != newer.name {
            out.push("name");
        }
        if self.playlist_id != newer.playlist_id {
            out.push("playlist_id");
        }
        out
    }
    fn project(change: &Change, current: Option<&Self>) -> Option<Projection<Self>> {
        (change.target() == Target::Group).then(|| change.apply_to_group(current).into())
    }
    fn from_event(body: &EventBody) -> Option<Confirmed<Self>> {
        match body {
            EventBody::GroupUpserted { group } => Some(Confirmed::Upsert(group.clone())),
            _ => None,
        }
    }
}

impl Entity for Content {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn changed_fields(&self, newer: &Self) -> Vec<&'static str> {
        Content::changed_fields(self, newer)
    }
    fn project(change: &Change, current: Option<&Self>) -> Option<Projection<Self>> {
        // An item this client is adding sorts first (newest) until it is confirmed.
        (change.target() == Target::Content)
            .then(|| change.apply_to_content(current, i64::MAX).into())
    }
    fn from_event(body: &EventBody) -> Option<Confirmed<Self>> {
        match body {
            EventBody::ContentUpserted { content } => Some(Confirmed::Upsert(content.clone())),
            EventBody::ContentDeleted {
                content_id,
                version,
            } => Some(Confirmed::Removed {
                id: content_id.clone(),
                version: *version,
            }),
            _ => None,
        }
    }
}

impl Entity for Playlist {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn changed_fields(&self, newer: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.name != newer.name {
            out.push("name");
        }
        if self.items != newer.items {
            out.push("items");
        }
        out
    }
    fn project(change: &Change, current: Option<&Self>) -> Option<Projection<Self>> {
        (change.target() == Target::Playlist).then(|| change.apply_to_playlist(current).into())
    }
    fn from_event(body: &EventBody) -> Option<Confirmed<Self>> {
        match body {
            EventBody::PlaylistUpserted { playlist } => Some(Confirmed::Upsert(playlist.clone())),
            EventBody::PlaylistDeleted {
                playlist_id,
                version,
            } => Some(Confirmed::Removed {
                id: playlist_id.clone(),
                version: *version,
            }),
            _ => None,
        }
    }
}

impl Entity for Alert {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn changed_fields(&self, newer: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.acknowledged_at != newer.acknowledged_at {
            out.push("acknowledged_at");
        }
        out
    }
    fn project(change: &Change, current: Option<&Self>) -> Option<Projection<Self>> {
        // "Now" only marks the optimistic acknowledgement; the server's time replaces it.
        (change.target() == Target::Alert).then(|| {
            change
                .apply_to_alert(current, super::platform::now_ms() as i64)
                .into()
        })
    }
    fn from_event(body: &EventBody) -> Option<Confirmed<Self>> {
        match body {
            EventBody::AlertUpserted { alert } => Some(Confirmed::Upsert(alert.clone())),
            _ => None,
        }
    }
}

impl Entity for AlertRule {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn changed_fields(&self, newer: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.threshold != newer.threshold {
            out.push("threshold");
        }
        if self.minutes != newer.minutes {
            out.push("minutes");
        }
        if self.severity != newer.severity {
            out.push("severity");
        }
        if self.enabled != newer.enabled {
            out.push("enabled");
        }
        out
    }
    fn project(change: &Change, current: Option<&Self>) -> Option<Projection<Self>> {
        (change.target() == Target::Rule).then(|| change.apply_to_rule(current).into())
    }
    fn from_event(body: &EventBody) -> Option<Confirmed<Self>> {
        match body {
            EventBody::AlertRuleUpserted { rule } => Some(Confirmed::Upsert(rule.clone())),
            _ => None,
        }
    }
}

/// What folding one event into its collection did, for the rebase.
struct Confirmation {
    id: String,
    prior: Option<i64>,
    version: i64,
    fields: Vec<&'static str>,
    base: Option<serde_json::Value>,
}

fn confirm_in<E: Entity + serde::Serialize>(
    collection: &mut Collection<E>,
    event: &Event,
) -> Option<Confirmation> {
    let change = E::from_event(&event.body)?;
    let prior = collection
        .confirmed(event.body.entity_id())
        .map(Entity::version);
    let (id, version, fields) = collection.confirm(event.seq, change)?;
    let base = collection
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

fn observe_in<E: Entity + serde::de::DeserializeOwned>(
    collection: &mut Collection<E>,
    current: &serde_json::Value,
) {
    if let Ok(entity) = serde_json::from_value::<E>(current.clone()) {
        collection.observe(entity);
    }
}

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

/// Everything the console holds: one collection per kind of entity, the ordered
/// pending ops across all of them, and the stream position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Store {
    pub devices: Collection<Device>,
    pub groups: Collection<DeviceGroup>,
    pub content: Collection<Content>,
    pub playlists: Collection<Playlist>,
    pub alerts: Collection<Alert>,
    pub rules: Collection<AlertRule>,
    pending: Vec<PendingOp>,
    /// The last stream `seq` applied.
    seq: i64,
    /// Ops the operator must resolve, keyed by op id.
    conflicts: BTreeMap<String, OpenConflict>,
    /// The outbox bound (see `outbox::DEFAULT_LIMIT`); 0 means the default.
    limit: usize,
    next_order: u64,
    /// The latest stream events, newest last: the activity feed, and what a
    /// snapshot fetched after the stream started is brought up to date with.
    recent: VecDeque<Event>,
}

/// How many stream events the store keeps for replay and the activity feed.
pub const RECENT_EVENTS: usize = 1_000;

impl Store {
    pub fn pending(&self) -> &[PendingOp] {
        &self.pending
    }
    pub fn seq(&self) -> i64 {
        self.seq
    }
    /// Sets the stream position after a reset; collections refetch on their own.
    pub fn reset_seq(&mut self, seq: i64) {
        self.seq = seq;
    }

    pub fn recent(&self) -> impl DoubleEndedIterator<Item = &Event> {
        self.recent.iter()
    }

    /// Where the stream must resume so that no collection misses an event: the
    /// oldest position among the session's and every seeded snapshot.
    pub fn resume_point(&self, session_seq: i64) -> i64 {
        [
            (self.devices.is_seeded(), self.devices.as_of_seq()),
            (self.groups.is_seeded(), self.groups.as_of_seq()),
            (self.content.is_seeded(), self.content.as_of_seq()),
            (self.playlists.is_seeded(), self.playlists.as_of_seq()),
            (self.alerts.is_seeded(), self.alerts.as_of_seq()),
            (self.rules.is_seeded(), self.rules.as_of_seq()),
        ]
        .into_iter()
        .filter(|(seeded, _)| *seeded)
        .fold(session_seq, |at, (_, seq)| at.min(seq))
    }

    /// Seeds the displays and their groups from a snapshot read at `seq`, then
    /// replays the stream events newer than it that arrived before it did.
    pub fn seed_devices(&mut self, devices: Vec<Device>, seq: i64) -> bool {
        if !self.devices.seed(devices, seq) {
            return false;
        }
        self.replay_after(seq);
        true
    }

    pub fn seed_groups(&mut self, groups: Vec<DeviceGroup>, seq: i64) -> bool {
        if !self.groups.seed(groups, seq) {
            return false;
        }
        self.replay_after(seq);
        true
    }

    /// Seeds the library and the playlists from one snapshot read at `seq`.
    pub fn seed_library(
        &mut self,
        content: Vec<Content>,
        playlists: Vec<Playlist>,
        seq: i64,
    ) -> bool {
        let a = self.content.seed(content, seq);
        let b = self.playlists.seed(playlists, seq);
        if a || b {
            self.replay_after(seq);
        }
        a || b
    }

    /// Seeds the alert rules and alerts from one snapshot read at `seq`.
    pub fn seed_alerts(&mut self, rules: Vec<AlertRule>, alerts: Vec<Alert>, seq: i64) -> bool {
        let a = self.rules.seed(rules, seq);
        let b = self.alerts.seed(alerts, seq);
        if a || b {
            self.replay_after(seq);
        }
        a || b
    }

    fn replay_after(&mut self, seq: i64) {
        let newer: Vec<Event> = self
            .recent
            .iter()
            .filter(|e| e.seq > seq)
            .cloned()
            .collect();
        for event in &newer {
            self.apply_event(event);
        }
    }

    /// A collection as the operator sees it (confirmed plus pending ops),
    /// sorted by `order`.
    fn sorted<E: Entity>(
        &self,
        collection: &Collection<E>,
        order: impl FnMut(&E, &E) -> std::cmp::Ordering,
    ) -> Vec<E> {
        let mut all: Vec<E> = collection.fold(self.pending.iter()).into_values().collect();
        all.sort_by(order);
        all
    }

    /// The displays as the operator sees them, by id.
    pub fn devices(&self) -> Vec<Device> {
        self.sorted(&self.devices, |a, b| a.id.cmp(&b.id))
    }

    pub fn device(&self, id: &str) -> Option<Device> {
        self.devices.fold(self.pending.iter()).remove(id)
    }

    pub fn groups(&self) -> Vec<DeviceGroup> {
        self.sorted(&self.groups, |a, b| a.name.cmp(&b.name))
    }

    /// The library, newest first, as the operator sees it.
    pub fn content(&self) -> Vec<Content> {
        self.sorted(&self.content, |a, b| {
            b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id))
        })
    }

    /// Playlists by name, as the operator sees them.
    pub fn playlists(&self) -> Vec<Playlist> {
        self.sorted(&self.playlists, |a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        })
    }

    /// Alerts still open, most severe first, then newest first.
    pub fn open_alerts(&self) -> Vec<Alert> {
        let mut open = self.sorted(&self.alerts, |a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.raised_at.cmp(&a.raised_at))
                .then(a.id.cmp(&b.id))
        });
        open.retain(Alert::is_open);
        open
    }

    /// Every alert the store holds (open and recently resolved), newest first.
    pub fn alerts(&self) -> Vec<Alert> {
        self.sorted(&self.alerts, |a, b| {
            b.raised_at.cmp(&a.raised_at).then(a.id.cmp(&b.id))
        })
    }

    /// The alert rules in kind order, as the operator sees them.
    pub fn rules(&self) -> Vec<AlertRule> {
        let rank = |r: &AlertRule| {
            crate::model::AlertKind::ALL
                .iter()
                .position(|k| *k == r.kind)
        };
        self.sorted(&self.rules, |a, b| rank(a).cmp(&rank(b)))
    }

    /// The confirmed entity a change is about, as JSON (the merge's base).
    fn confirmed_json(&self, change: &Change) -> Option<serde_json::Value> {
        let id = change.entity_id();
        match change.target() {
            Target::Device => self
                .devices
                .confirmed(id)
                .and_then(|e| serde_json::to_value(e).ok()),
            Target::Group => self
                .groups
                .confirmed(id)
                .and_then(|e| serde_json::to_value(e).ok()),
            Target::Content => self
                .content
                .confirmed(id)
                .and_then(|e| serde_json::to_value(e).ok()),
            Target::Playlist => self
                .playlists
                .confirmed(id)
                .and_then(|e| serde_json::to_value(e).ok()),
            Target::Alert => self
                .alerts
                .confirmed(id)
                .and_then(|e| serde_json::to_value(e).ok()),
            Target::Rule => self
                .rules
                .confirmed(id)
                .and_then(|e| serde_json::to_value(e).ok()),
        }
    }

    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    pub fn limit(&self) -> usize {
        if self.limit == 0 {
            super::outbox::DEFAULT_LIMIT
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
            self.pending.sort_by(|a, b| {
                a.queued_at
                    .total_cmp(&b.queued_at)
                    .then(a.order.cmp(&b.order))
            });
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
        match target {
            Target::Device => observe_in(&mut self.devices, &current),
            Target::Group => observe_in(&mut self.groups, &current),
            Target::Content => observe_in(&mut self.content, &current),
            Target::Playlist => observe_in(&mut self.playlists, &current),
            Target::Alert => observe_in(&mut self.alerts, &current),
            Target::Rule => observe_in(&mut self.rules, &current),
        }
        let p = self.pending.iter_mut().find(|p| p.op.op_id == op_id)?;
        let base = p.base.clone().unwrap_or(serde_json::Value::Null);
        let (mine, fields) = match p.op.change.patch_json() {
            Some(mine) => {
                let fields = super::merge::colliding_fields(&base, &current, &mine);
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

    /// Folds a stream event (or the event an op's answer carried) into confirmed
    /// state, acknowledges the op that caused it and rebases the others. Events at
    /// or below the stream position are ignored, so a resume never applies twice.
    pub fn apply_stream_event(&mut self, event: &Event) -> bool {
        if event.seq <= self.seq {
            return false;
        }
        self.seq = event.seq;
        self.apply_event(event);
        if self.recent.len() == RECENT_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(event.clone());
        true
    }

    /// Folds a burst of stream events in one go (one re-render): events already
    /// applied are skipped, remote state-like events for one entity coalesce to
    /// the latest, acknowledgements are never skipped, and higher-priority kinds
    /// (alerts) go first. Returns how many new events the batch held.
    pub fn apply_stream_batch(&mut self, mut events: Vec<Event>) -> usize {
        events.retain(|e| e.seq > self.seq);
        events.sort_by_key(|e| e.seq);
        events.dedup_by_key(|e| e.seq);
        let Some(last) = events.last().map(|e| e.seq) else {
            return 0;
        };
        let mut latest: HashMap<&str, i64> = HashMap::new();
        for e in events
            .iter()
            .filter(|e| e.op_id.is_none() && e.body.coalesces())
        {
            latest.insert(e.body.entity_id(), e.seq);
        }
        let mut apply: Vec<&Event> = events
            .iter()
            .filter(|e| {
                e.op_id.is_some()
                    || !e.body.coalesces()
                    || latest.get(e.body.entity_id()) == Some(&e.seq)
            })
            .collect();
        apply.sort_by_key(|e| e.body.priority()); // stable: seq order within a priority
        let apply: Vec<Event> = apply.into_iter().cloned().collect();
        for event in &apply {
            self.apply_event(event);
        }
        self.seq = last;
        for event in &events {
            if self.recent.len() == RECENT_EVENTS {
                self.recent.pop_front();
            }
            self.recent.push_back(event.clone());
        }
        events.len()
    }

    /// Folds an event that came back as the answer to one of our ops. It may
    /// arrive before the stream delivers it; versions keep that harmless.
    pub fn apply_event(&mut self, event: &Event) {
        let own = event
            .op_id
            .as_deref()
            .and_then(|id| self.pending.iter().position(|p| p.op.op_id == id));
        let confirmed = confirm_in(&mut self.devices, event)
            .or_else(|| confirm_in(&mut self.groups, event))
            .or_else(|| confirm_in(&mut self.content, event))
            .or_else(|| confirm_in(&mut self.playlists, event))
            .or_else(|| confirm_in(&mut self.alerts, event))
            .or_else(|| confirm_in(&mut self.rules, event));
        if let Some(at) = own {
            self.pending.remove(at);
        }
        if let Some(c) = confirmed {
            self.rebase(&c.id, c.prior, c.version, &c.fields, own.is_some(), c.base);
        }
    }

    /// Moves queued ops on `id` that were made against `prior` onto `version`
    /// when the confirmed change cannot collide with them: it was our own op, or
    /// it touched none of their fields.
    fn rebase(
        &mut self,
        id: &str,
        prior: Option<i64>,
        version: i64,
        changed: &[&str],
        own: bool,
        new_base: Option<serde_json::Value>,
    ) {
        // An entity this client created shows at version 0 until its create is confirmed.
        let prior = prior.unwrap_or(0);
        for p in self
            .pending
            .iter_mut()
            .filter(|p| p.state == OpState::Queued && p.op.change.entity_id() == id)
        {
            if p.op.base_version != Some(prior) {
                continue;
            }
            let collides =
                p.op.change
                    .fields()
                    .iter()
                    .any(|f| *f == "*" || changed.contains(f) || changed.contains(&"*"));
            if own || !collides {
                p.op.base_version = Some(version);
                p.base = new_base.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeviceGroup, Playlist};
    use crate::model::{DevicePatch, DeviceStatus};

    fn device(id: &str, name: &str, version: i64) -> Device {
        Device {
            id: id.into(),
            name: name.into(),
            group_id: None,
            tags: vec![],
            timezone: "UTC".into(),
            status: DeviceStatus::Online,
            last_seen: None,
            playlist_id: None,
            paired: false,
            version,
        }
    }

    fn rename(op_id: &str, id: &str, base: i64, name: &str) -> Op {
        Op {
            op_id: op_id.into(),
            base_version: Some(base),
            change: Change::UpdateDevice {
                device_id: id.into(),
                patch: DevicePatch {
                    name: Some(name.into()),
                    ..Default::default()
                },
            },
        }
    }

    fn retag(op_id: &str, id: &str, base: i64, tag: &str) -> Op {
        Op {
            op_id: op_id.into(),
            base_version: Some(base),
            change: Change::UpdateDevice {
                device_id: id.into(),
                patch: DevicePatch {
                    tags: Some(vec![tag.into()]),
                    ..Default::default()
                },
            },
        }
    }

    fn upserted(seq: i64, op_id: Option<&str>, d: Device) -> Event {
        Event {
            seq,
            at: 0,
            op_id: op_id.map(str::to_string),
            actor: None,
            body: EventBody::DeviceUpserted { device: d },
        }
    }

    fn seeded() -> Store {
        let mut s = Store::default();
        s.devices
            .seed(vec![device("a", "Lobby", 1), device("b", "Bar", 1)], 10);
        s.reset_seq(10);
        s
    }

    #[test]
    fn view_is_confirmed_plus_pending_in_order() {
        let mut s = seeded();
        s.push(rename("o1", "a", 1, "First"), 0.0).unwrap();
        s.push(rename("o2", "a", 1, "Second"), 0.0).unwrap();
        assert_eq!(s.device("a").unwrap().name, "Second");
        assert_eq!(s.devices.confirmed("a").unwrap().name, "Lobby");
    }

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
    fn own_event_acknowledges_the_op_and_rebases_the_next() {
        let mut s = seeded();
        s.push(rename("o1", "a", 1, "First"), 0.0).unwrap();
        s.push(rename("o2", "a", 1, "Second"), 0.0).unwrap();
        let sent = s.next_to_send().unwrap();
        assert_eq!(sent.op_id, "o1");
        assert!(s.next_to_send().is_none(), "one op in flight at a time");
        assert!(s.apply_stream_event(&upserted(11, Some("o1"), device("a", "First", 2))));
        assert_eq!(s.pending().len(), 1);
        assert_eq!(s.pending()[0].op.base_version, Some(2));
        assert_eq!(s.device("a").unwrap().name, "Second");
    }

    #[test]
    fn remote_change_to_other_fields_rebases_without_losing_the_local_edit() {
        let mut s = seeded();
        s.push(retag("o1", "a", 1, "4k"), 0.0).unwrap();
        s.apply_stream_event(&upserted(11, None, device("a", "Renamed elsewhere", 2)));
        let a = s.device("a").unwrap();
        assert_eq!(a.name, "Renamed elsewhere");
        assert_eq!(a.tags, vec!["4k"]);
        assert_eq!(s.pending()[0].op.base_version, Some(2));
    }

    #[test]
    fn remote_change_to_the_same_field_keeps_the_old_base_so_the_server_can_flag_it() {
        let mut s = seeded();
        s.push(rename("o1", "a", 1, "Mine"), 0.0).unwrap();
        s.apply_stream_event(&upserted(11, None, device("a", "Theirs", 2)));
        assert_eq!(
            s.device("a").unwrap().name,
            "Mine",
            "local edit still shown"
        );
        assert_eq!(s.pending()[0].op.base_version, Some(1));
    }

    #[test]
    fn stream_events_at_or_below_the_position_are_ignored() {
        let mut s = seeded();
        assert!(!s.apply_stream_event(&upserted(10, None, device("a", "Old", 5))));
        assert!(s.apply_stream_event(&upserted(12, None, device("a", "New", 2))));
        assert!(!s.apply_stream_event(&upserted(12, None, device("a", "Dup", 3))));
        assert_eq!(s.device("a").unwrap().name, "New");
        assert_eq!(s.seq(), 12);
    }

    #[test]
    fn an_older_version_never_overwrites_a_newer_one() {
        let mut s = seeded();
        s.apply_event(&upserted(13, None, device("a", "v3", 3)));
        s.apply_event(&upserted(12, None, device("a", "v2", 2)));
        assert_eq!(s.device("a").unwrap().name, "v3");
    }

    #[test]
    fn a_deleted_display_is_not_revived_by_a_late_upsert() {
        let mut s = seeded();
        s.apply_stream_event(&Event {
            seq: 11,
            at: 0,
            op_id: None,
            actor: None,
            body: EventBody::DeviceDeleted {
                device_id: "a".into(),
                version: 2,
            },
        });
        s.apply_event(&upserted(12, None, device("a", "late", 2)));
        assert!(s.device("a").is_none());
    }

    #[test]
    fn pending_create_and_delete_show_in_the_view() {
        let mut s = seeded();
        s.push(
            Op {
                op_id: "c".into(),
                base_version: None,
                change: Change::CreateDevice {
                    device_id: "n".into(),
                    name: " New ".into(),
                    group_id: None,
                    tags: vec![],
                    timezone: "UTC".into(),
                },
            },
            0.0,
        )
        .unwrap();
        s.push(
            Op {
                op_id: "d".into(),
                base_version: Some(1),
                change: Change::DeleteDevice {
                    device_id: "b".into(),
                },
            },
            0.0,
        )
        .unwrap();
        let ids: Vec<String> = s.devices().into_iter().map(|d| d.id).collect();
        assert_eq!(ids, vec!["a", "n"]);
        assert_eq!(s.device("n").unwrap().name, "New");
    }

    #[test]
    fn an_older_snapshot_does_not_replace_a_newer_one() {
        let mut c: Collection<Device> = Collection::default();
        assert!(c.seed(vec![device("a", "new", 2)], 20));
        assert!(!c.seed(vec![device("a", "old", 1)], 15));
        assert_eq!(c.confirmed("a").unwrap().name, "new");
    }

    #[test]
    fn an_edit_of_a_display_still_being_created_follows_the_create() {
        let mut s = seeded();
        s.push(
            Op {
                op_id: "c".into(),
                base_version: None,
                change: Change::CreateDevice {
                    device_id: "n".into(),
                    name: "New".into(),
                    group_id: None,
                    tags: vec![],
                    timezone: "UTC".into(),
                },
            },
            0.0,
        )
        .unwrap();
        s.push(rename("r", "n", 0, "Renamed"), 0.0).unwrap();
        s.next_to_send();
        s.apply_stream_event(&upserted(11, Some("c"), device("n", "New", 1)));
        assert_eq!(s.pending()[0].op.base_version, Some(1));
        assert_eq!(s.device("n").unwrap().name, "Renamed");
    }

    #[test]
    fn a_late_snapshot_is_brought_up_to_date_from_recent_events() {
        let mut s = Store::default();
        s.reset_seq(10);
        s.apply_stream_event(&upserted(11, None, device("a", "after", 2)));
        assert!(s.seed_devices(vec![device("a", "before", 1)], 10));
        assert_eq!(s.device("a").unwrap().name, "after");
        assert_eq!(s.resume_point(12), 10);
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
    fn a_batch_coalesces_remote_state_keeps_every_ack_and_skips_what_was_applied() {
        let mut s = seeded();
        s.push(retag("mine", "b", 1, "4k"), 0.0).unwrap();
        s.next_to_send();
        let mut b2 = device("b", "Bar", 2);
        b2.tags = vec!["4k".into()];
        let batch = vec![
            upserted(12, None, device("a", "second", 3)),
            upserted(10, None, device("a", "already applied", 9)),
            upserted(11, None, device("a", "first", 2)),
            upserted(13, Some("mine"), b2),
            upserted(11, None, device("a", "duplicate", 2)),
        ];
        assert_eq!(s.apply_stream_batch(batch), 3);
        assert_eq!(s.seq(), 13);
        assert_eq!(s.device("a").unwrap().name, "second");
        assert!(
            s.pending().is_empty(),
            "the ack inside the batch was applied"
        );
        assert_eq!(
            s.recent().map(|e| e.seq).collect::<Vec<_>>(),
            vec![11, 12, 13]
        );
        assert_eq!(
            s.apply_stream_batch(vec![upserted(13, None, device("a", "again", 4))]),
            0
        );
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

    fn playlist(ids: &[&str], version: i64) -> Playlist {
        Playlist {
            id: "p".into(),
            name: "Loop".into(),
            items: ids
                .iter()
                .map(|id| crate::model::PlaylistItem {
                    id: id.to_string(),
                    content_id: "c".into(),
                    duration_ms: 10_000,
                })
                .collect(),
            version,
        }
    }

    fn order(s: &Store) -> Vec<String> {
        s.playlists()[0]
            .items
            .iter()
            .map(|i| i.id.clone())
            .collect()
    }

    fn move_op(op_id: &str, item: &str, after: Option<&str>, base: i64) -> Op {
        Op {
            op_id: op_id.into(),
            base_version: Some(base),
            change: Change::MoveItem {
                playlist_id: "p".into(),
                item_id: item.into(),
                after: after.map(str::to_string),
            },
        }
    }

    fn playlist_event(seq: i64, op_id: Option<&str>, p: Playlist) -> Event {
        Event {
            seq,
            at: 0,
            op_id: op_id.map(str::to_string),
            actor: None,
            body: EventBody::PlaylistUpserted { playlist: p },
        }
    }

    #[test]
    fn a_pending_reorder_replays_on_top_of_another_operators_and_converges() {
        let mut s = Store::default();
        s.seed_library(vec![], vec![playlist(&["a", "b", "c", "d"], 5)], 10);
        s.reset_seq(10);
        // Mine: a after d. Shown at once.
        s.push(move_op("mine", "a", Some("d"), 5), 0.0).unwrap();
        assert_eq!(order(&s), ["b", "c", "d", "a"]);
        // Theirs lands first on the server: d to the start.
        s.apply_stream_event(&playlist_event(
            11,
            None,
            playlist(&["d", "a", "b", "c"], 6),
        ));
        // My op is replayed on their result, as the server will apply it:
        // "a after d" where d now leads.
        assert_eq!(order(&s), ["d", "a", "b", "c"]);
        assert_eq!(s.pending().len(), 1);
        // The server's answer to mine is that same order: nothing jumps.
        s.apply_stream_event(&playlist_event(
            12,
            Some("mine"),
            playlist(&["d", "a", "b", "c"], 7),
        ));
        assert!(s.pending().is_empty());
        assert_eq!(order(&s), ["d", "a", "b", "c"]);
    }

    #[test]
    fn content_and_groups_fold_like_displays() {
        let mut s = Store::default();
        s.seed_groups(
            vec![DeviceGroup {
                id: "g".into(),
                name: "Lobby".into(),
                playlist_id: None,
                version: 1,
            }],
            3,
        );
        s.seed_library(vec![], vec![playlist(&[], 1)], 3);
        s.reset_seq(3);
        s.push(
            Op {
                op_id: "assign".into(),
                base_version: Some(1),
                change: Change::UpdateGroup {
                    group_id: "g".into(),
                    playlist_id: Some("p".into()),
                },
            },
            0.0,
        )
        .unwrap();
        assert_eq!(s.groups()[0].playlist_id.as_deref(), Some("p"));
        s.push(
            Op {
                op_id: "web".into(),
                base_version: None,
                change: Change::CreateWebPage {
                    content_id: "w".into(),
                    name: " Menu ".into(),
                    url: "https://example.com".into(),
                    reload_seconds: 60,
                    tags: vec!["food".into()],
                },
            },
            0.0,
        )
        .unwrap();
        assert_eq!(s.content()[0].name, "Menu");
        // The resume point is the oldest seeded snapshot.
        assert_eq!(s.resume_point(9), 3);
        // Rolling back the assignment shows the server's value again.
        s.rollback("assign");
        assert_eq!(s.groups()[0].playlist_id, None);
    }
}
