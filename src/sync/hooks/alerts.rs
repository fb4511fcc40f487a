//! `use_alerts`: the alert rules and the alerts.

use leptos::prelude::*;

use super::{shared, Snapshot, Source};
use crate::{
    api::health::fetch_alerts,
    error::AppError,
    model::{Alert, AlertRule, AlertsSnapshot},
    sync::store::Store,
};

impl Snapshot for AlertsSnapshot {
    fn fetch() -> impl std::future::Future<Output = Result<Self, AppError>> + Send + 'static {
        fetch_alerts()
    }
    fn seq(&self) -> i64 {
        self.seq
    }
    fn seeded(store: &Store) -> bool {
        store.alerts.is_seeded() && store.rules.is_seeded()
    }
    fn held_at(store: &Store) -> i64 {
        store.alerts.as_of_seq().min(store.rules.as_of_seq())
    }
    fn seed_into(&self, store: &mut Store) {
        store.seed_alerts(self.rules.clone(), self.alerts.clone(), self.seq);
    }
}

/// What `use_alerts` returns. Every field is a signal; the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct UseAlertsReturn {
    /// Every alert held (open, and resolved in the last day), newest first.
    /// Empty until the snapshot arrives.
    pub alerts: Signal<Vec<Alert>>,
    /// The open alerts, most severe first, then newest first.
    pub open_alerts: Signal<Vec<Alert>>,
    /// The alert rules in kind order.
    pub rules: Signal<Vec<AlertRule>>,
    /// `None` while there is nothing to show yet; `Some(Err(..))` if the
    /// snapshot could not be fetched (put it in the `ErrorBoundary`).
    pub ready: Signal<Option<Result<(), AppError>>>,
    /// `true` while there is nothing to show yet (for "Loading …").
    pub loading: Signal<bool>,
    /// The latest snapshot fetch's error, if it failed; `None` otherwise.
    pub error: Signal<Option<AppError>>,
    pub(in crate::sync) source: Source<AlertsSnapshot>,
}

/// The alert rules and the alerts (Health, Overview, Settings, a display's
/// detail view).
///
/// On the server it fetches the alerts snapshot (`fetch_alerts`) with a
/// blocking resource and the signals show it. In the browser the hydrated
/// page first shows the same snapshot; an effect then seeds the store with it
/// (unless the store holds newer), and from then on the signals follow the
/// store: an acknowledgement shows at once, new alerts as the stream delivers
/// them. Fetched again when the stream asks for a refetch.
///
/// One resource per page load: every call shares the first one's signals.
/// Read the signals inside a `<Suspense>`, which then waits for the snapshot
/// on the server; once the store is seeded nothing waits.
pub fn use_alerts() -> UseAlertsReturn {
    shared(
        |s| s.alerts,
        |h| h.source,
        |sync| {
            let source = Source::<AlertsSnapshot>::new(sync);
            UseAlertsReturn {
                alerts: source.view(Store::alerts, |s| &s.alerts),
                open_alerts: source.view(Store::open_alerts, |s| &s.alerts),
                rules: source.view(Store::rules, |s| &s.rules),
                ready: source.ready(),
                loading: source.loading(),
                error: source.error(),
                source,
            }
        },
    )
}
