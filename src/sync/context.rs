//! The sync handle the pages use: the store as a signal, the connection state,
//! notices (toasts), and `submit`, the one way a page changes anything.

use leptos::prelude::*;

use super::{breaker::Breaker, platform, store::Store};
use crate::model::{Change, DevicesSnapshot, LibrarySnapshot, Op, SessionInfo};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Error,
    Info,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: u64,
    pub kind: NoticeKind,
    pub message: String,
}

/// Toasts: what failed (and the odd confirmation), newest last.
#[derive(Clone, Copy)]
pub struct Notices {
    pub list: RwSignal<Vec<Notice>>,
    next: StoredValue<u64>,
}

impl Notices {
    fn new() -> Self {
        Self {
            list: RwSignal::new(Vec::new()),
            next: StoredValue::new(1),
        }
    }
    pub fn push(&self, kind: NoticeKind, message: impl Into<String>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| {
            l.push(Notice {
                id,
                kind,
                message: message.into(),
            })
        });
        #[cfg(feature = "hydrate")]
        {
            let list = self.list;
            set_timeout(
                move || list.update(|l| l.retain(|n| n.id != id)),
                std::time::Duration::from_secs(10),
            );
        }
    }
    pub fn error(&self, message: impl Into<String>) {
        self.push(NoticeKind::Error, message)
    }
    pub fn info(&self, message: impl Into<String>) {
        self.push(NoticeKind::Info, message)
    }
    pub fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|n| n.id != id));
    }
}

/// What this tab knows is saved for one op: its fingerprint.
pub(crate) type Saved = (Option<i64>, u32, usize, bool);

/// Shared by every page through context; `Copy`, so handlers capture it freely.
#[derive(Clone, Copy)]
pub struct SyncHandle {
    pub store: RwSignal<Store>,
    /// The stream's state.
    pub connection: RwSignal<Connection>,
    /// The sender's circuit breaker is open: the server keeps failing.
    pub breaker_open: RwSignal<bool>,
    /// Bumped when the stream says snapshots must be refetched; snapshot
    /// resources track it.
    pub refetch: RwSignal<u64>,
    pub notices: Notices,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) breaker: StoredValue<Breaker>,
    /// Backoff and op age limit, from the session (`Leptos.toml`).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) retry: StoredValue<crate::model::RetrySettings>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) sending: StoredValue<bool>,
    /// Set by "Retry now" to cut a backoff wait short.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) kick: StoredValue<bool>,
    pub(crate) outbox_key: StoredValue<Option<String>>,
    /// What this tab knows to be saved, op id to stored text, so persisting
    /// writes only what changed and removes only what went away.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) saved: StoredValue<std::collections::HashMap<String, Saved>>,
    /// Whether this tab is the one that sends the outbox (Web Locks election).
    pub sender: RwSignal<bool>,
    pub(crate) started: StoredValue<bool>,
}

pub fn provide_sync() -> SyncHandle {
    let handle = SyncHandle {
        store: RwSignal::new(Store::default()),
        connection: RwSignal::new(Connection::Connecting),
        breaker_open: RwSignal::new(false),
        refetch: RwSignal::new(0),
        notices: Notices::new(),
        breaker: StoredValue::new(Breaker::default()),
        retry: StoredValue::new(Default::default()),
        sending: StoredValue::new(false),
        kick: StoredValue::new(false),
        outbox_key: StoredValue::new(None),
        saved: StoredValue::new(Default::default()),
        sender: RwSignal::new(false),
        started: StoredValue::new(false),
    };
    provide_context(handle);
    handle
}

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
    pub fn persist(&self) {
        #[cfg(feature = "hydrate")]
        if let Some(prefix) = self.outbox_key.get_value() {
            use super::outbox;
            let mut failure = None;
            self.store.with_untracked(|s| {
                self.saved.update_value(|saved| {
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
    pub fn pump(&self) {
        #[cfg(feature = "hydrate")]
        super::sender::pump(*self);
    }

    /// "Retry now": end the current backoff wait.
    pub fn retry_now(&self) {
        self.breaker.update_value(|b| b.force_trial());
        self.kick.set_value(true);
        self.pump();
    }

    /// "Discard": the op is dropped, which rolls it back.
    pub fn discard(&self, op_id: &str) {
        self.store.update(|s| {
            s.rollback(op_id);
        });
        self.persist();
    }

    pub fn keep_mine(&self, op_id: &str) {
        self.store.update(|s| s.keep_mine(op_id));
        self.persist();
        self.pump();
    }

    pub fn keep_theirs(&self, op_id: &str) {
        self.store.update(|s| s.keep_theirs(op_id));
        self.persist();
        self.pump();
    }

    // Seeding runs inside the pages' Suspense closures. During server
    // rendering Leptos 0.8 can run such a closure after the request's signals
    // were disposed (an upstream race in Suspense); the `try_` reads and writes
    // make that a no-op instead of a panic that leaves the response hanging.
    pub fn seed_devices(&self, snapshot: &DevicesSnapshot) {
        let fresh = self
            .store
            .try_with_untracked(|s| !s.devices.is_seeded() || s.devices.as_of_seq() < snapshot.seq)
            .unwrap_or(false);
        let groups_fresh = self
            .store
            .try_with_untracked(|s| !s.groups.is_seeded() || s.groups.as_of_seq() < snapshot.seq)
            .unwrap_or(false);
        if fresh || groups_fresh {
            self.store.try_update(|s| {
                s.seed_devices(snapshot.devices.clone(), snapshot.seq);
                s.seed_groups(snapshot.groups.clone(), snapshot.seq);
            });
        }
    }

    /// Seeds the library and playlists (Content, Playlists, and the playlist
    /// pickers on Devices) from a snapshot, unless the store holds newer.
    pub fn seed_library(&self, snapshot: &LibrarySnapshot) {
        let fresh = self.store.try_with_untracked(|s| {
            !s.content.is_seeded()
                || s.content.as_of_seq() < snapshot.seq
                || s.playlists.as_of_seq() < snapshot.seq
        }) == Some(true);
        if fresh {
            self.store.try_update(|s| {
                s.seed_library(
                    snapshot.content.clone(),
                    snapshot.playlists.clone(),
                    snapshot.seq,
                );
            });
        }
    }

    /// Seeds the alert rules and alerts (Health, Settings, Overview, a
    /// display's detail view) from a snapshot, unless the store holds newer.
    pub fn seed_alerts(&self, snapshot: &crate::model::AlertsSnapshot) {
        let fresh = self.store.try_with_untracked(|s| {
            !s.alerts.is_seeded()
                || s.alerts.as_of_seq() < snapshot.seq
                || s.rules.as_of_seq() < snapshot.seq
        }) == Some(true);
        if fresh {
            self.store.try_update(|s| {
                s.seed_alerts(
                    snapshot.rules.clone(),
                    snapshot.alerts.clone(),
                    snapshot.seq,
                );
            });
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

    /// Once per page load, in the browser: restore the saved outbox, start
    /// sending it, and open the live stream.
    pub fn start(&self, session: &SessionInfo) {
        if self.started.get_value() {
            return;
        }
        self.started.set_value(true);
        let resume = self.store.with_untracked(|s| s.resume_point(session.seq));
        self.store.update_untracked(|s| {
            s.reset_seq(resume);
            s.set_limit(session.outbox_limit);
        });
        let retry = session.retry;
        self.retry.set_value(retry);
        self.breaker
            .set_value(Breaker::new(super::breaker::BreakerConfig {
                failure_threshold: retry.breaker_failures,
                open_ms: retry.breaker_open_ms,
                success_threshold: retry.breaker_successes,
            }));
        self.outbox_key.set_value(Some(super::outbox::storage_key(
            &session.org_name,
            &session.email,
        )));
        #[cfg(feature = "hydrate")]
        {
            if let Some(prefix) = self.outbox_key.get_value() {
                match super::outbox::load(&prefix) {
                    Ok(ops) if !ops.is_empty() => {
                        self.saved.update_value(|saved| {
                            for op in &ops {
                                saved.insert(op.op.op_id.clone(), op.fingerprint());
                            }
                        });
                        self.store.update(|s| s.restore(ops));
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
