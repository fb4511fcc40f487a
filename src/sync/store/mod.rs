//! The client store: confirmed state from the server plus the operator's pending
//! ops, replayed in order. What a page shows is always that fold.
//!
//! - `collection`: one kind of entity as confirmed, and the fold;
//! - `entity`: what each kind is (id, version, editable fields, its events);
//! - `pending`: the queue of ops, rollback, sending order;
//! - `events`: acknowledgement and rebase as confirmed events arrive;
//! - `conflict`: merge by itself, or wait for the operator.
//!
//! Pure data, no signals and no I/O, so the rules are tested with plain `#[test]`.
//! Persistence (the outbox) and sending live beside it and only call these methods.

use std::collections::{BTreeMap, VecDeque};

use crate::model::{
    Alert, AlertRule, Change, Content, Daypart, Deploy, Device, DeviceGroup, Event, Playlist,
    Schedule, Takeover,
};

/// `collections!(store, c => expr)` (or `collections!(mut store, c => expr)`)
/// evaluates `expr` once per collection, in this order, and gives the array of
/// results. The one place the ten collections are listed; whatever must visit
/// every collection goes through it.
macro_rules! collections {
    (mut $store:expr, $c:ident => $body:expr) => {
        collections!(@each [&mut] $store, $c => $body)
    };
    ($store:expr, $c:ident => $body:expr) => {
        collections!(@each [&] $store, $c => $body)
    };
    (@each [$($by:tt)+] $store:expr, $c:ident => $body:expr) => {
        [
            { let $c = $($by)+ $store.devices; $body },
            { let $c = $($by)+ $store.groups; $body },
            { let $c = $($by)+ $store.content; $body },
            { let $c = $($by)+ $store.playlists; $body },
            { let $c = $($by)+ $store.alerts; $body },
            { let $c = $($by)+ $store.rules; $body },
            { let $c = $($by)+ $store.schedules; $body },
            { let $c = $($by)+ $store.dayparts; $body },
            { let $c = $($by)+ $store.takeovers; $body },
            { let $c = $($by)+ $store.deploys; $body },
        ]
    };
}

mod collection;
mod conflict;
mod entity;
mod events;
#[cfg(test)]
pub(crate) mod fixtures;
mod pending;

pub use collection::{Changed, Collection, ReadMark};
pub use conflict::{ConflictOutcome, OpenConflict};
pub use entity::{Confirmed, Entity, Projection};
pub use pending::{OpState, PendingOp};

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
    pub schedules: Collection<Schedule>,
    pub dayparts: Collection<Daypart>,
    pub takeovers: Collection<Takeover>,
    /// Each display's deploy state (system events only), keyed by display id.
    pub deploys: Collection<Deploy>,
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
        collections!(self, c => c.seeded_at())
            .into_iter()
            .flatten()
            .fold(session_seq, i64::min)
    }

    /// Seeds the displays from a snapshot read at `seq`, then replays the
    /// stream events newer than it that arrived before it did.
    pub fn seed_devices(&mut self, devices: Vec<Device>, seq: i64) -> bool {
        if !self.devices.seed(devices, seq) {
            return false;
        }
        self.replay_after(seq);
        true
    }

    /// Seeds the display groups, like `seed_devices`.
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

    /// Seeds schedules, dayparts, takeovers and deploy states from one
    /// snapshot read at `seq`.
    pub fn seed_schedules(&mut self, snapshot: &crate::model::SchedulesSnapshot) -> bool {
        let seq = snapshot.seq;
        let seeded = [
            self.schedules.seed(snapshot.schedules.clone(), seq),
            self.dayparts.seed(snapshot.dayparts.clone(), seq),
            self.takeovers.seed(snapshot.takeovers.clone(), seq),
            self.deploys.seed(snapshot.deploys.clone(), seq),
        ];
        let any = seeded.iter().any(|s| *s);
        if any {
            self.replay_after(seq);
        }
        any
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
        let mut all: Vec<E> = collection.values(self.pending.iter());
        crate::model::order::sort_by(&mut all, order);
        all
    }

    /// Where `collection`'s view is now: a reader that kept the mark of an
    /// earlier read knows from it whether anything changed since.
    pub fn mark<E: Entity>(&self, collection: &Collection<E>) -> ReadMark {
        collection.read(self.pending.iter(), None, |_, _| ()).0
    }

    /// The displays as the operator sees them, lent by id, with which of them
    /// changed since the mark of an earlier read (see [`Collection::read`]).
    pub fn read_devices<R>(
        &self,
        since: Option<ReadMark>,
        read: impl FnOnce(&BTreeMap<String, Device>, Changed) -> R,
    ) -> (ReadMark, R) {
        self.devices.read(self.pending.iter(), since, read)
    }

    /// The displays as the operator sees them, by id (the fold's own order).
    pub fn devices(&self) -> Vec<Device> {
        self.devices.values(self.pending.iter())
    }

    pub fn device(&self, id: &str) -> Option<Device> {
        self.devices.fold_one(self.pending.iter(), id)
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

    /// Schedules by name, as the operator sees them.
    pub fn schedules(&self) -> Vec<Schedule> {
        self.sorted(&self.schedules, |a, b| {
            a.spec
                .name
                .to_lowercase()
                .cmp(&b.spec.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        })
    }

    /// Dayparts by start time.
    pub fn dayparts(&self) -> Vec<Daypart> {
        self.sorted(&self.dayparts, |a, b| {
            a.start.cmp(&b.start).then(a.name.cmp(&b.name))
        })
    }

    /// Takeovers, newest first.
    pub fn takeovers(&self) -> Vec<Takeover> {
        self.sorted(&self.takeovers, |a, b| {
            b.starts_at.cmp(&a.starts_at).then(a.id.cmp(&b.id))
        })
    }

    /// Deploy states by display id (the fold's own order).
    pub fn deploys(&self) -> Vec<Deploy> {
        self.deploys.values(self.pending.iter())
    }

    /// The confirmed entity a change is about, as JSON (the merge's base).
    fn confirmed_json(&self, change: &Change) -> Option<serde_json::Value> {
        collections!(self, c => c.confirmed_json(change))
            .into_iter()
            .flatten()
            .next()
    }
}

#[cfg(test)]
mod tests {
    use super::{fixtures::*, *};
    use crate::model::Op;

    #[test]
    fn view_is_confirmed_plus_pending_in_order() {
        let mut s = seeded();
        s.push(rename("o1", "a", 1, "First"), 0.0).unwrap();
        s.push(rename("o2", "a", 1, "Second"), 0.0).unwrap();
        assert_eq!(s.device("a").unwrap().name, "Second");
        assert_eq!(s.devices.confirmed("a").unwrap().name, "Lobby");
    }

    /// A fleet of `n` displays, read at seq 10.
    fn fleet(n: usize) -> Store {
        let mut s = Store::default();
        let devices = (0..n)
            .map(|i| device(&format!("d{i:05}"), &format!("Display {i}"), 1))
            .collect();
        s.devices.seed(devices, 10);
        s.reset_seq(10);
        s
    }

    #[test]
    fn a_fold_after_one_event_redoes_only_the_entity_it_changed() {
        let mut s = fleet(10_000);
        for (i, id) in ["d00001", "d00002", "d00003"].iter().enumerate() {
            s.push(rename(&format!("o{i}"), id, 1, "Renamed"), 0.0)
                .unwrap();
        }
        assert_eq!(s.devices().len(), 10_000);
        let first = s.devices.projected();
        assert_eq!(first, 3, "the first fold replays every pending op once");

        // Another operator's change to a display with nothing pending: no
        // pending op is replayed again.
        s.apply_event(&upserted(11, None, device("d09999", "Far", 2)));
        let view = s.devices();
        assert_eq!(view.last().unwrap().name, "Far");
        assert_eq!(s.devices.projected(), first);

        // A change to a display with an op pending replays that op alone.
        s.apply_event(&upserted(12, None, device("d00002", "Theirs", 2)));
        let view = s.devices();
        assert_eq!(s.devices.projected(), first + 1);
        assert_eq!(view[2].name, "Renamed");

        // A new pending op replays only its own display's ops.
        s.push(rename("o9", "d05000", 1, "Mine"), 0.0).unwrap();
        assert_eq!(s.devices()[5000].name, "Mine");
        assert_eq!(s.devices.projected(), first + 2);
        // Reading again with nothing changed replays nothing.
        s.devices();
        assert_eq!(s.devices.projected(), first + 2);
    }

    #[test]
    fn an_incremental_fold_shows_what_a_fresh_fold_shows() {
        let mut s = fleet(50);
        let fresh = |s: &Store| s.devices.clone().fold(s.pending.iter());
        let check = |s: &Store| {
            assert_eq!(s.devices.fold(s.pending.iter()), fresh(s));
        };
        check(&s);
        s.push(rename("o1", "d00001", 1, "One"), 0.0).unwrap();
        check(&s);
        s.push(retag("o2", "d00001", 1, "4k"), 0.0).unwrap();
        s.push(rename("o3", "d00007", 1, "Seven"), 0.0).unwrap();
        check(&s);
        s.apply_event(&upserted(11, Some("o1"), device("d00001", "One", 2)));
        check(&s);
        s.apply_event(&upserted(12, None, device("d00007", "Theirs", 2)));
        check(&s);
        s.rollback("o3");
        check(&s);
        s.apply_event(&upserted(13, None, device("d00049", "New", 5)));
        check(&s);
        s.devices
            .seed(vec![device("d00001", "Again", 9), device("x", "X", 1)], 20);
        check(&s);
        assert_eq!(s.device("d00001"), fresh(&s).remove("d00001"));
        assert_eq!(s.devices().len(), 2);
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
    fn a_late_snapshot_is_brought_up_to_date_from_recent_events() {
        let mut s = Store::default();
        s.reset_seq(10);
        s.apply_stream_event(&upserted(11, None, device("a", "after", 2)));
        assert!(s.seed_devices(vec![device("a", "before", 1)], 10));
        assert_eq!(s.device("a").unwrap().name, "after");
        assert_eq!(s.resume_point(12), 10);
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

    #[test]
    fn every_collection_counts_for_the_resume_point_and_the_merge_base() {
        let mut s = Store::default();
        s.seed_alerts(vec![], vec![], 4);
        assert_eq!(s.resume_point(9), 4, "alerts and rules are listed too");
        s.seed_library(vec![], vec![playlist(&["a"], 2)], 6);
        let change = Change::RenamePlaylist {
            playlist_id: "p".into(),
            name: "x".into(),
        };
        assert_eq!(
            s.confirmed_json(&change)
                .and_then(|v| v["version"].as_i64()),
            Some(2)
        );
    }

    #[test]
    fn schedules_fold_like_the_rest_and_a_deploy_does_not_hide_its_display() {
        let mut s = seeded();
        s.seed_schedules(&crate::model::SchedulesSnapshot {
            seq: 10,
            ..Default::default()
        });
        let spec: crate::model::ScheduleSpec = serde_json::from_value(serde_json::json!({
            "name": " Breakfast ", "playlist_id": "p", "group_id": "g",
            "starts_on": "2027-03-01", "recurrence": {"every": "day"}
        }))
        .unwrap();
        s.push(
            Op {
                op_id: "mk".into(),
                base_version: None,
                change: Change::CreateSchedule {
                    schedule_id: "s".into(),
                    spec,
                },
            },
            0.0,
        )
        .unwrap();
        assert_eq!(s.schedules().len(), 1, "a pending create shows at once");
        s.rollback("mk");
        assert!(s.schedules().is_empty());
        // A display's deploy state shares the display's id; in one batch
        // both the display and its deploy state apply.
        let deploy = Event {
            seq: 12,
            at: 0,
            op_id: None,
            actor: None,
            body: crate::model::EventBody::DeployUpdated {
                deploy: crate::model::Deploy {
                    id: "a".into(),
                    sent_version: Some("v1".into()),
                    version: 1,
                    ..Default::default()
                },
            },
        };
        s.apply_stream_batch(vec![upserted(11, None, device("a", "Renamed", 2)), deploy]);
        assert_eq!(s.device("a").unwrap().name, "Renamed");
        assert_eq!(s.deploys()[0].sent_version.as_deref(), Some("v1"));
    }
}
