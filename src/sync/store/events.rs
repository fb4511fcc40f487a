//! Confirmed events folded into the store, from the stream or from an op's
//! answer. An event whose `op_id` matches a pending op acknowledges (drops)
//! it. A remote event for an entity with pending ops is a rebase: the ops stay
//! and are replayed on the new confirmed state; ops whose fields the remote
//! change did not touch move to the new version, so they will not conflict.

use std::collections::HashMap;

use super::{pending::OpState, Store, RECENT_EVENTS};
use crate::model::Event;

impl Store {
    /// Folds a stream event (or the event an op's answer carried) into confirmed
    /// state, acknowledges the op that caused it and rebases the others. Events at
    /// or below the stream position are ignored, so a resume never applies twice.
    pub fn apply_stream_event(&mut self, event: &Event) -> bool {
        if event.seq <= self.seq {
            return false;
        }
        self.seq = event.seq;
        self.apply_event(event);
        self.remember(event.clone());
        true
    }

    /// Folds a burst of stream events in one go (one re-render): events already
    /// applied are skipped, remote state-like events for one entity coalesce to
    /// the latest, acknowledgements are never skipped, and higher-priority kinds
    /// (alerts) go first. Returns how many new events the batch held.
    pub fn apply_stream_batch(&mut self, mut events: Vec<Event>) -> usize {
        events.retain(|e| e.seq > self.seq);
        crate::model::order::sort_by_key(&mut events, |e| e.seq);
        events.dedup_by_key(|e| e.seq);
        let Some(last) = events.last().map(|e| e.seq) else {
            return 0;
        };
        // Keyed by kind as well: a display's deploy state shares its id.
        let mut latest: HashMap<(&str, &str), i64> = HashMap::new();
        for e in events
            .iter()
            .filter(|e| e.op_id.is_none() && e.body.coalesces())
        {
            latest.insert((e.body.kind(), e.body.entity_id()), e.seq);
        }
        let mut apply: Vec<&Event> = events
            .iter()
            .filter(|e| {
                e.op_id.is_some()
                    || !e.body.coalesces()
                    || latest.get(&(e.body.kind(), e.body.entity_id())) == Some(&e.seq)
            })
            .collect();
        // Stable: seq order within a priority.
        crate::model::order::sort_by_key(&mut apply, |e| e.body.priority());
        let apply: Vec<Event> = apply.into_iter().cloned().collect();
        for event in &apply {
            self.apply_event(event);
        }
        self.seq = last;
        let count = events.len();
        for event in events {
            self.remember(event);
        }
        count
    }

    fn remember(&mut self, event: Event) {
        if self.recent.len() == RECENT_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(event);
    }

    /// Folds an event that came back as the answer to one of our ops. It may
    /// arrive before the stream delivers it; versions keep that harmless.
    pub fn apply_event(&mut self, event: &Event) {
        let own = event
            .op_id
            .as_deref()
            .and_then(|id| self.pending.iter().position(|p| p.op.op_id == id));
        // At most one collection holds the kind of entity an event carries.
        let confirmed = collections!(mut self, c => c.confirm_event(event))
            .into_iter()
            .flatten()
            .next();
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
    use crate::{
        model::{Change, Event, EventBody, Op},
        sync::store::{
            fixtures::{
                device, move_op, order, playlist, playlist_event, rename, retag, seeded, upserted,
            },
            Store,
        },
    };

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
}
