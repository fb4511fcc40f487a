//! `use_devices`: the displays and their groups.

use leptos::prelude::*;

use super::{shared, Snapshot, Source};
use crate::{
    api::devices::fetch_devices,
    error::AppError,
    model::{Device, DeviceGroup, DevicesSnapshot, FirstScreen},
    sync::store::Store,
};

impl Snapshot for DevicesSnapshot {
    fn fetch() -> impl std::future::Future<Output = Result<Self, AppError>> + Send + 'static {
        fetch_devices()
    }
    fn seq(&self) -> i64 {
        self.seq
    }
    fn seeded(store: &Store) -> bool {
        store.devices.is_seeded() && store.groups.is_seeded()
    }
    fn held_at(store: &Store) -> i64 {
        store.devices.as_of_seq().min(store.groups.as_of_seq())
    }
    fn seed_into(&self, store: &mut Store) {
        store.seed_devices(self.devices.clone(), self.seq);
        store.seed_groups(self.groups.clone(), self.seq);
    }
    fn partial(&self) -> bool {
        self.first_screen.is_some()
    }
}

/// What `use_devices` returns. Every field is a signal; the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct UseDevicesReturn {
    /// The displays as the operator sees them (pending ops applied), by id.
    /// Empty until the snapshot arrives.
    pub devices: Signal<Vec<Device>>,
    /// The display groups, by name. Empty until the snapshot arrives.
    pub groups: Signal<Vec<DeviceGroup>>,
    /// `None` while there is nothing to show yet; `Some(Err(..))` if the
    /// snapshot could not be fetched (put it in the `ErrorBoundary`).
    pub ready: Signal<Option<Result<(), AppError>>>,
    /// `true` while there is nothing to show yet (for "Loading …").
    pub loading: Signal<bool>,
    /// The latest snapshot fetch's error, if it failed; `None` otherwise.
    pub error: Signal<Option<AppError>>,
    /// While the signals show only the first screen of a big fleet (the
    /// server render of Devices, and the page until the whole snapshot is
    /// in): how many displays there are. `None` once they are all here.
    pub first_screen: Signal<Option<FirstScreen>>,
    pub(in crate::sync) source: Source<DevicesSnapshot>,
}

impl UseDevicesReturn {
    /// Reads the store the signals show (the snapshot's until the real one is
    /// seeded), tracked and without copying anything: for views over
    /// thousands of displays, with [`Store::read_devices`].
    pub fn with_store<R>(&self, read: impl FnOnce(&Store) -> R) -> R {
        self.source.with_store(read)
    }
}

/// The displays and their groups, for any component of a console page.
///
/// On the server it fetches the devices snapshot (`fetch_devices`) with a
/// blocking resource, and the signals show that snapshot, so the page renders
/// fully without JavaScript. In the browser the hydrated page first shows the
/// same snapshot; an effect then seeds the store with it (unless the store
/// holds newer), and from then on the signals follow the store: pending ops
/// at once, other operators' changes as the stream delivers them. The snapshot
/// is fetched again when the stream asks for a refetch (`SyncHandle::refetch`).
///
/// One resource per page load: every call shares the first one's signals.
/// Read the signals inside a `<Suspense>`, which then waits for the snapshot
/// on the server; once the store is seeded nothing waits.
pub fn use_devices() -> UseDevicesReturn {
    shared(
        |s| s.devices,
        |h| h.source,
        |sync| {
            let source = Source::<DevicesSnapshot>::new(sync);
            UseDevicesReturn {
                devices: source.view(Store::devices, |s| &s.devices),
                groups: source.view(Store::groups, |s| &s.groups),
                ready: source.ready(),
                loading: source.loading(),
                error: source.error(),
                first_screen: source.until_seeded(|s: &DevicesSnapshot| s.first_screen),
                source,
            }
        },
    )
}
