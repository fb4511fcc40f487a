//! The sync handle the pages use: the store and the connection state for
//! reading, notices (toasts), and `submit`, the one way a page changes
//! anything. What only the sync layer writes lives in `SyncState`, out of the
//! pages' reach.

use std::collections::HashMap;

use leptos::prelude::*;

use super::{breaker::Breaker, hooks::Snapshot, notices::Notices, platform, store::Store};
use crate::model::{Change, Op, RetrySettings, SessionInfo};

/// What the connection indicator shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Before the first hello from the stream.
    Connecting,
    Live,
    /// WebSockets cannot connect; events arrive by long-poll meanwhile.
    Polling,
    /// The stream dropped; a reconnect is scheduled.
    Reconnecting,
    /// The browser has no network, or the server keeps failing (breaker open).
    Offline,
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Polling => "polling",
            Self::Reconnecting => "reconnecting",
            Self::Offline => "offline",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Live => "Live",
            Self::Polling => "Live (long-poll)",
            Self::Reconnecting => "Reconnecting…",
            Self::Offline => "Offline",
        }
    }
}

/// What this tab knows is saved for one op: its fingerprint.
pub(in crate::sync) type Saved = (Option<i64>, u32, usize, bool);

/// Shared by every page through context; `Copy`, so handlers capture it freely.
/// Pages read the signals and change things only through the methods.
#[derive(Clone, Copy)]
pub struct SyncHandle {
    /// Confirmed state plus pending ops. Pages render lists through the data
    /// hooks (`use_devices` and the like), which also cover the server render.
    pub store: ReadSignal<Store>,
    /// The stream's state; `Connecting` until its first hello.
    pub connection: ReadSignal<Connection>,
    /// The sender's circuit breaker is open: the server keeps failing.
    pub breaker_open: ReadSignal<bool>,
    /// Bumped when the stream says snapshots must be refetched; the data
    /// hooks' snapshot resources track it.
    pub refetch: ReadSignal<u64>,
    /// Whether this tab is the one that sends the outbox (Web Locks election).
    pub sender: ReadSignal<bool>,
    pub notices: Notices,
    pub(in crate::sync) state: SyncState,
}

/// The write side of the handle's signals and the sender's own bookkeeping;
/// only the sync layer touches these.
#[derive(Clone, Copy)]
pub(in crate::sync) struct SyncState {
    pub store: RwSignal<Store>,
    pub connection: RwSignal<Connection>,
    pub breaker_open: RwSignal<bool>,
    pub refetch: RwSignal<u64>,
    pub sender: RwSignal<bool>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub breaker: StoredValue<Breaker>,
    /// Backoff and op age limit, from the session (`Leptos.toml`).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub retry: StoredValue<RetrySettings>,
    /// A send loop is running.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub sending: StoredValue<bool>,
    /// Set by "Retry now" to cut a backoff wait short.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub kick: StoredValue<bool>,
    pub outbox_key: StoredValue<Option<String>>,
    /// What this tab knows to be saved, op id to fingerprint, so persisting
    /// writes only what changed and removes only what went away.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub saved: StoredValue<HashMap<String, Saved>>,
    pub started: StoredValue<bool>,
}

/// Makes the sync handle (and the data hooks' shared snapshots) available to
/// everything below; call once, from the app's root.
pub fn provide_sync() -> SyncHandle {
    let state = SyncState {
        store: RwSignal::new(Store::default()),
        connection: RwSignal::new(Connection::Connecting),
        breaker_open: RwSignal::new(false),
        refetch: RwSignal::new(0),
        sender: RwSignal::new(false),
        breaker: StoredValue::new(Breaker::default()),
        retry: StoredValue::new(Default::default()),
        sending: StoredValue::new(false),
        kick: StoredValue::new(false),
        outbox_key: StoredValue::new(None),
        saved: StoredValue::new(Default::default()),
        started: StoredValue::new(false),
    };
    let handle = SyncHandle {
        store: state.store.read_only(),
        connection: state.connection.read_only(),
        breaker_open: state.breaker_open.read_only(),
        refetch: state.refetch.read_only(),
        sender: state.sender.read_only(),
        notices: Notices::new(),
        state,
    };
    provide_context(handle);
    super::hooks::provide_snapshots();
    handle
}

/// The handle `provide_sync` made.
pub fn use_sync() -> SyncHandle {
    expect_context::<SyncHandle>()
}

impl SyncHandle {
    /// What the indicator shows: offline wins over the stream's own state.
    pub fn indicator(&self) -> Connection {
        if self.breaker_open.get() {
            Connection::Offline
        } else {
            self.connection.get()
        }
    }

    /// Applies a change locally at once as a pending op, saves it in the outbox
    /// and queues it for the server. Returns the op id, or `None` when the outbox
    /// is full (the operator is told why).
    pub fn submit(&self, change: Change, base_version: Option<i64>) -> Option<String> {
        let op = Op {
            op_id: platform::new_op_id(),
            base_version,
            change,
        };
        let op_id = op.op_id.clone();
        let pushed = self
            .state
            .store
            .try_update(|s| s.push(op, platform::now_ms()))
            .unwrap_or(Err("The console is not ready yet.".into()));
        if let Err(message) = pushed {
            self.notices.error(message);
            return None;
        }
        self.persist();
        self.pump();
        Some(op_id)
    }

    /// Writes the outbox to browser storage now (synchronously): each op that
    /// is new or changed under its own key, and removes the keys of ops gone.
    pub(in crate::sync) fn persist(&self) {
        #[cfg(feature = "hydrate")]
        if let Some(prefix) = self.state.outbox_key.get_value() {
            use super::outbox;
            let mut failure = None;
            self.state.store.with_untracked(|s| {
                self.state.saved.update_value(|saved| {
                    for op in s.pending() {
                        let print = op.fingerprint();
                        if saved.get(&op.op.op_id) == Some(&print) {
                            continue;
                        }
                        match outbox::save_one(&prefix, op) {
                            Ok(()) => {
                                saved.insert(op.op.op_id.clone(), print);
                            }
                            Err(message) => failure = Some(message),
                        }
                    }
                    if saved.len() > s.pending().len() {
                        let gone: Vec<String> = saved
                            .keys()
                            .filter(|id| !s.pending().iter().any(|p| &p.op.op_id == *id))
                            .cloned()
                            .collect();
                        for id in gone {
                            outbox::remove_one(&prefix, &id);
                            saved.remove(&id);
                        }
                    }
                });
            });
            if let Some(message) = failure {
                self.notices.error(message);
            }
        }
    }

    /// Makes sure the sender is working through the queue.
    pub(in crate::sync) fn pump(&self) {
        #[cfg(feature = "hydrate")]
        super::sender::pump(*self);
    }

    /// "Retry now": end the current backoff wait.
    pub fn retry_now(&self) {
        self.state.breaker.update_value(|b| b.force_trial());
        self.state.kick.set_value(true);
        self.pump();
    }

    /// "Discard": the op is dropped, which rolls it back.
    pub fn discard(&self, op_id: &str) {
        self.state.store.update(|s| {
            s.rollback(op_id);
        });
        self.persist();
    }

    /// "Keep mine" on a conflict: the op is sent again on the server's version.
    pub fn keep_mine(&self, op_id: &str) {
        self.state.store.update(|s| s.keep_mine(op_id));
        self.persist();
        self.pump();
    }

    /// "Keep theirs" on a conflict: the op is dropped.
    pub fn keep_theirs(&self, op_id: &str) {
        self.state.store.update(|s| s.keep_theirs(op_id));
        self.persist();
        self.pump();
    }

    /// Seeds the store's collections from a snapshot unless it holds them at
    /// this position or newer (the store's seed rules do the rest).
    pub(in crate::sync) fn seed<T: Snapshot>(&self, snapshot: &T) {
        // Part of a collection is not the collection.
        if snapshot.partial() {
            return;
        }
        let fresh = self
            .state
            .store
            .with_untracked(|s| !T::seeded(s) || T::held_at(s) < snapshot.seq());
        if fresh {
            self.state.store.update(|s| snapshot.seed_into(s));
        }
    }

    /// Keeps the saved outbox in step with acks, rollbacks and retries. Call once
    /// from the layout; it does nothing until `start` has named the outbox.
    pub fn persist_on_change(&self) {
        let sync = *self;
        // Only when the pending ops change, not on every stream event.
        let pending = Memo::new(move |_| {
            sync.store.with(|s| {
                s.pending()
                    .iter()
                    .map(|p| (p.op.op_id.len(), p.fingerprint()))
                    .collect::<Vec<_>>()
            })
        });
        Effect::new(move |_| {
            pending.track();
            sync.persist();
        });
    }

    /// Once per page load, in the browser: seed the snapshots already loaded,
    /// restore the saved outbox, start sending it, and open the live stream
    /// from the oldest position any of them was read at.
    pub fn start(&self, session: &SessionInfo) {
        let state = self.state;
        if state.started.get_value() {
            return;
        }
        state.started.set_value(true);
        // The server render's snapshots may be older than the session: seeding
        // them first makes the stream resume early enough for all of them.
        super::hooks::seed_loaded();
        let resume = state.store.with_untracked(|s| s.resume_point(session.seq));
        state.store.update_untracked(|s| {
            s.reset_seq(resume);
            s.set_limit(session.outbox_limit);
        });
        let retry = session.retry;
        state.retry.set_value(retry);
        state
            .breaker
            .set_value(Breaker::new(super::breaker::BreakerConfig {
                failure_threshold: retry.breaker_failures,
                open_ms: retry.breaker_open_ms,
                success_threshold: retry.breaker_successes,
            }));
        state.outbox_key.set_value(Some(super::outbox::storage_key(
            &session.org_name,
            &session.email,
        )));
        #[cfg(feature = "hydrate")]
        {
            if let Some(prefix) = state.outbox_key.get_value() {
                match super::outbox::load(&prefix) {
                    Ok(ops) if !ops.is_empty() => {
                        state.saved.update_value(|saved| {
                            for op in &ops {
                                saved.insert(op.op.op_id.clone(), op.fingerprint());
                            }
                        });
                        state.store.update(|s| s.restore(ops));
                    }
                    Ok(_) => {}
                    Err(message) => self.notices.error(message),
                }
                super::tabs::mirror_other_tabs(*self, prefix.clone());
                super::tabs::elect_sender(*self, &prefix);
            }
            super::stream::start(*self, session.epoch.clone());
        }
    }
}
