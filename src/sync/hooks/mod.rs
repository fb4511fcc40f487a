//! The data hooks: `use_devices`, `use_library`, `use_alerts`, `use_schedules`. Each kind of
//! snapshot is fetched by one resource per page load, made on first use and
//! shared by every component that calls the hook.
//!
//! Until the store holds a kind's collections (always on the server, where
//! effects never run; in the browser until the first snapshot arrives) the
//! hooks' signals read the snapshot itself, ordered as the store would order
//! it, so the server render and the hydrated page show the same rows. Once the
//! store is seeded they read the store: confirmed state plus pending ops, live
//! from the stream. Seeding happens in an effect, so only in the browser, and
//! follows the store's rules (an older snapshot is ignored, events that came
//! in meanwhile are replayed).
//!
//! The signals handed out are derived (closures around memos), not memos: a
//! resource read makes the `Suspense` around the *reader* wait, and only a
//! closure runs where the reader is. The resources, memos and effects belong
//! to the app's owner, so a page that goes away takes nothing with it.

mod alerts;
mod devices;
mod library;
mod schedules;

use std::future::Future;

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

pub use alerts::{use_alerts, UseAlertsReturn};
pub use devices::{use_devices, UseDevicesReturn};
pub use library::{use_library, UseLibraryReturn};
pub use schedules::{use_executions, use_schedules, UseSchedulesReturn, EXECUTIONS_SHOWN};

use super::{
    context::SyncHandle,
    store::{Collection, Entity, Store},
    use_sync,
};
use crate::error::AppError;

/// `false` while the page is rendered on the server and hydrated, `true`
/// from then on. What depends on the clock (a takeover starting, a deploy
/// turning late) is drawn only after, so the server's markup and the
/// hydrating browser's always agree.
pub fn use_hydrated() -> Signal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    hydrated.into()
}

/// A snapshot a hook fetches, and what it seeds in the store.
pub(in crate::sync) trait Snapshot:
    Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The server function that reads it.
    fn fetch() -> impl Future<Output = Result<Self, AppError>> + Send + 'static;
    /// The stream position it was read at.
    fn seq(&self) -> i64;
    /// Whether the store holds every collection this snapshot carries.
    fn seeded(store: &Store) -> bool;
    /// The oldest position those collections are current to.
    fn held_at(store: &Store) -> i64;
    /// Seeds those collections with the store's own rules.
    fn seed_into(&self, store: &mut Store);
    /// Whether it holds only part of its collections (a first screen the
    /// server rendered with): never seeded; the whole one is fetched.
    fn partial(&self) -> bool {
        false
    }
}

/// One kind's snapshot resource and what the hook's signals are made from.
pub(in crate::sync) struct Source<T: Snapshot> {
    resource: Resource<Result<T, AppError>>,
    /// The store holds this kind's collections.
    seeded: Memo<bool>,
    /// A store holding only the snapshot, for the views until the real one is seeded.
    fallback: Memo<Option<Store>>,
    /// `None` until there is something to show; then whether the fetch failed.
    ready: Memo<Option<Result<(), AppError>>>,
    sync: SyncHandle,
}

impl<T: Snapshot> Clone for Source<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Snapshot> Copy for Source<T> {}

impl<T: Snapshot> Source<T> {
    fn new(sync: SyncHandle) -> Self {
        let resource = Resource::new_blocking(move || sync.refetch.get(), |_| T::fetch());
        let seeded = Memo::new(move |_| sync.store.with(T::seeded));
        let fallback = Memo::new(move |_| {
            resource
                .map(|r| {
                    r.as_ref().ok().map(|snapshot| {
                        let mut store = Store::default();
                        snapshot.seed_into(&mut store);
                        store
                    })
                })
                .flatten()
        });
        let ready = Memo::new(move |_| {
            if seeded.get() {
                Some(Ok(()))
            } else {
                resource.map(|r| r.as_ref().map(|_| ()).map_err(Clone::clone))
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(snapshot)) = resource.get() {
                if snapshot.partial() {
                    leptos::task::spawn_local(fetch_whole::<T>(sync));
                } else {
                    sync.seed(&snapshot);
                }
            }
        });
        Self {
            resource,
            seeded,
            fallback,
            ready,
            sync,
        }
    }

    /// Inside a `Suspense`, makes it wait for the snapshot while the store
    /// cannot answer yet. Untracked: the signals' own memos carry the changes.
    fn wait(&self) {
        if !self.seeded.get_untracked() {
            self.resource.with_untracked(|_| ());
        }
    }

    /// What `read` shows of the store once seeded, of the snapshot before.
    /// `read` runs again only when `of`, the collection it reads, changed:
    /// an event about anything else costs the view one incremental fold.
    fn view<U, E>(self, read: fn(&Store) -> U, of: fn(&Store) -> &Collection<E>) -> Signal<U>
    where
        U: Clone + PartialEq + Default + Send + Sync + 'static,
        E: Entity + 'static,
    {
        let mark = Memo::new(move |_| self.with_shown(move |s| s.mark(of(s))));
        let shown = Memo::new(move |_| {
            // Read, not only tracked: tracking alone never computes the mark.
            mark.get();
            untrack(move || self.with_shown(read))
        });
        Signal::derive(move || {
            self.wait();
            shown.get()
        })
    }

    /// `read` of the store once seeded, of the snapshot before (tracked).
    fn with_shown<R>(self, read: impl FnOnce(&Store) -> R) -> R {
        if self.seeded.get() {
            self.sync.store.with(read)
        } else {
            self.fallback.with(|s| match s {
                Some(store) => read(store),
                None => read(&Store::default()),
            })
        }
    }

    /// `with_shown` for a component, which waits for the snapshot in a `Suspense`.
    fn with_store<R>(self, read: impl FnOnce(&Store) -> R) -> R {
        self.wait();
        self.with_shown(read)
    }

    /// A value the snapshot carries besides the store's collections (say, a
    /// quota), once it has arrived.
    fn of_snapshot<U>(self, read: fn(&T) -> U) -> Signal<Option<U>>
    where
        U: Clone + PartialEq + Send + Sync + 'static,
    {
        let value = Memo::new(move |_| self.resource.map(|r| r.as_ref().ok().map(read)).flatten());
        Signal::derive(move || {
            self.wait();
            value.get()
        })
    }

    /// `read` of the snapshot while the store is not seeded; `None` after.
    fn until_seeded<U>(self, read: fn(&T) -> Option<U>) -> Signal<Option<U>>
    where
        U: Clone + PartialEq + Send + Sync + 'static,
    {
        let value = Memo::new(move |_| {
            if self.seeded.get() {
                None
            } else {
                self.resource
                    .map(|r| r.as_ref().ok().and_then(read))
                    .flatten()
            }
        });
        Signal::derive(move || {
            self.wait();
            value.get()
        })
    }

    fn ready(self) -> Signal<Option<Result<(), AppError>>> {
        Signal::derive(move || {
            self.wait();
            self.ready.get()
        })
    }

    fn loading(self) -> Signal<bool> {
        Signal::derive(move || {
            self.wait();
            self.ready.with(Option::is_none)
        })
    }

    fn error(self) -> Signal<Option<AppError>> {
        let error = Memo::new(move |_| self.resource.map(|r| r.as_ref().err().cloned()).flatten());
        Signal::derive(move || {
            self.wait();
            error.get()
        })
    }

    /// A page that uses the hook again after the fetch failed asks again, as
    /// opening the page did when each page fetched its own.
    fn retry_if_failed(self) {
        if self.resource.with_untracked(|r| matches!(r, Some(Err(_)))) {
            self.resource.refetch();
        }
    }

    /// Seeds the store from the snapshot if it has arrived (untracked).
    fn seed_loaded(self) {
        if let Some(Ok(snapshot)) = self.resource.get_untracked() {
            self.sync.seed(&snapshot);
        }
    }
}

/// Fetches the whole snapshot after a partial one and seeds the store with
/// it, trying again (with backoff) until it arrives.
async fn fetch_whole<T: Snapshot>(sync: SyncHandle) {
    #[cfg(feature = "hydrate")]
    {
        let mut failures = 0u32;
        loop {
            match T::fetch().await {
                Ok(whole) if !whole.partial() => {
                    sync.seed(&whole);
                    return;
                }
                _ => {
                    failures += 1;
                    let backoff = super::backoff::Backoff::default();
                    let unit = super::platform::random_unit();
                    super::platform::sleep(backoff.delay_ms(failures, unit)).await;
                }
            }
        }
    }
    // Effects, and so this, never run on the server.
    #[cfg(not(feature = "hydrate"))]
    let _ = sync;
}

/// The hooks' shared state: each kind's signals, made on first use under the
/// app's owner so that they outlive the page that asked first.
#[derive(Clone, Copy)]
struct Snapshots {
    /// Weak: the owner holds these slots, which must not keep it alive.
    owner: StoredValue<Option<WeakOwner>>,
    devices: StoredValue<Option<UseDevicesReturn>>,
    library: StoredValue<Option<UseLibraryReturn>>,
    alerts: StoredValue<Option<UseAlertsReturn>>,
    schedules: StoredValue<Option<UseSchedulesReturn>>,
}

pub(in crate::sync) fn provide_snapshots() {
    provide_context(Snapshots {
        owner: StoredValue::new(Owner::current().map(|o| o.downgrade())),
        devices: StoredValue::new(None),
        library: StoredValue::new(None),
        alerts: StoredValue::new(None),
        schedules: StoredValue::new(None),
    });
}

/// The signals in `slot`, made by `make` (under the app's owner) the first time.
fn shared<R, T>(
    slot: impl Fn(&Snapshots) -> StoredValue<Option<R>>,
    source: impl Fn(&R) -> Source<T>,
    make: impl FnOnce(SyncHandle) -> R,
) -> R
where
    R: Clone + Send + Sync + 'static,
    T: Snapshot,
{
    let sync = use_sync();
    let snapshots = expect_context::<Snapshots>();
    let slot = slot(&snapshots);
    if let Some(made) = slot.get_value() {
        source(&made).retry_if_failed();
        return made;
    }
    let owner = snapshots.owner.get_value().and_then(|o| o.upgrade());
    let made = match owner {
        Some(owner) => owner.with(|| make(sync)),
        None => make(sync),
    };
    slot.set_value(Some(made.clone()));
    made
}

/// Seeds the store from every snapshot that has arrived; `start` calls it so
/// the stream resumes from a position none of them is newer than.
pub(in crate::sync) fn seed_loaded() {
    let Some(snapshots) = use_context::<Snapshots>() else {
        return;
    };
    if let Some(h) = snapshots.devices.get_value() {
        h.source.seed_loaded();
    }
    if let Some(h) = snapshots.library.get_value() {
        h.source.seed_loaded();
    }
    if let Some(h) = snapshots.alerts.get_value() {
        h.source.seed_loaded();
    }
    if let Some(h) = snapshots.schedules.get_value() {
        h.source.seed_loaded();
    }
}
