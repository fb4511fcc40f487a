//! `use_schedules`: schedules, dayparts, takeovers and deploy states; and
//! `use_executions`: the latest switches displays made, live.

use leptos::prelude::*;

use super::{shared, Snapshot, Source};
use crate::{
    api::schedules::{fetch_executions, fetch_schedules},
    error::AppError,
    model::{Daypart, Deploy, EventBody, Execution, Schedule, SchedulesSnapshot, Takeover},
    sync::{store::Store, use_sync},
};

impl Snapshot for SchedulesSnapshot {
    fn fetch() -> impl std::future::Future<Output = Result<Self, AppError>> + Send + 'static {
        fetch_schedules()
    }
    fn seq(&self) -> i64 {
        self.seq
    }
    fn seeded(store: &Store) -> bool {
        store.schedules.is_seeded()
            && store.dayparts.is_seeded()
            && store.takeovers.is_seeded()
            && store.deploys.is_seeded()
    }
    fn held_at(store: &Store) -> i64 {
        [
            store.schedules.as_of_seq(),
            store.dayparts.as_of_seq(),
            store.takeovers.as_of_seq(),
            store.deploys.as_of_seq(),
        ]
        .into_iter()
        .min()
        .unwrap_or(0)
    }
    fn seed_into(&self, store: &mut Store) {
        store.seed_schedules(self);
    }
}

/// What `use_schedules` returns. Every field is a signal; the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct UseSchedulesReturn {
    /// By name. Empty until the snapshot arrives.
    pub schedules: Signal<Vec<Schedule>>,
    /// By start time.
    pub dayparts: Signal<Vec<Daypart>>,
    /// Running and recent, newest first.
    pub takeovers: Signal<Vec<Takeover>>,
    /// Each display's deploy state, by display id.
    pub deploys: Signal<Vec<Deploy>>,
    pub ready: Signal<Option<Result<(), AppError>>>,
    pub loading: Signal<bool>,
    pub error: Signal<Option<AppError>>,
    pub(in crate::sync) source: Source<SchedulesSnapshot>,
}

impl UseSchedulesReturn {
    /// Reads the store the signals show, tracked and without copying (see
    /// `UseDevicesReturn::with_store`): one display's deploy state in a
    /// fleet of thousands.
    pub fn with_store<R>(&self, read: impl FnOnce(&Store) -> R) -> R {
        self.source.with_store(read)
    }
}

/// Schedules, dayparts, takeovers and deploys (Schedules, Devices' deploy
/// flags, a display's detail view), with the same life as the other hooks:
/// the snapshot on the server and until the store is seeded, then the store
/// (pending ops and the stream included).
pub fn use_schedules() -> UseSchedulesReturn {
    shared(
        |s| s.schedules,
        |h| h.source,
        |sync| {
            let source = Source::<SchedulesSnapshot>::new(sync);
            UseSchedulesReturn {
                schedules: source.view(Store::schedules, |s| &s.schedules),
                dayparts: source.view(Store::dayparts, |s| &s.dayparts),
                takeovers: source.view(Store::takeovers, |s| &s.takeovers),
                deploys: source.view(Store::deploys, |s| &s.deploys),
                ready: source.ready(),
                loading: source.loading(),
                error: source.error(),
                source,
            }
        },
    )
}

/// How many switches the lists show.
pub const EXECUTIONS_SHOWN: usize = 50;

/// The latest switches (of one display with `device_id`), newest first: the
/// ones fetched when the page opened plus those the stream brought since.
/// `None` until the page has hydrated and the first fetch is in: the list
/// moves by the second, so it is drawn in the browser only (the server
/// renders the placeholder, and hydration finds the same).
pub fn use_executions(device_id: Option<String>) -> Signal<Option<Vec<Execution>>> {
    let sync = use_sync();
    let filter = device_id.clone();
    let fetched = Resource::new(
        move || sync.refetch.get(),
        move |_| fetch_executions(filter.clone()),
    );
    let hydrated = super::use_hydrated();
    let live = Memo::new(move |_| {
        if !hydrated.get() {
            return None;
        }
        let mut all: Vec<Execution> = fetched.get()?.unwrap_or_default();
        sync.store.with(|s| {
            for e in s.recent() {
                if let EventBody::ExecutionRecorded { execution } = &e.body {
                    if device_id.as_ref().is_none_or(|d| *d == execution.device_id)
                        && !all.iter().any(|x| x.id == execution.id)
                    {
                        all.push(execution.clone());
                    }
                }
            }
        });
        crate::model::order::sort_by(&mut all, |a, b| b.at.cmp(&a.at).then(a.id.cmp(&b.id)));
        all.truncate(EXECUTIONS_SHOWN);
        Some(all)
    });
    Signal::derive(move || live.get())
}
