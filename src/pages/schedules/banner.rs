//! The takeover banner in the console's top bar: while a takeover runs, it
//! says so on every page and links to Schedules, where it can be ended.
//!
//! It depends on the clock, so it is drawn in the browser only, and it makes
//! no resource: its list is fetched once hydrated (and again after a
//! reconnect), so neither the server render nor the order in which a page's
//! own resources hydrate changes. Takeovers the stream brings since, and the
//! store's own once the Schedules page has seeded them (with this tab's
//! pending edits), replace what was fetched.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::{
    api::schedules::fetch_takeovers,
    model::{EventBody, Takeover},
    sync::{platform::now_ms, use_hydrated, use_sync},
};

#[component]
pub fn TakeoverBanner() -> impl IntoView {
    let sync = use_sync();
    let hydrated = use_hydrated();
    let fetched = RwSignal::new(Vec::<Takeover>::new());
    Effect::new(move |_| {
        sync.refetch.track();
        leptos::task::spawn_local(async move {
            if let Ok(list) = fetch_takeovers().await {
                fetched.set(list);
            }
        });
    });
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(
        move || tick.update(|t| *t += 1),
        std::time::Duration::from_secs(5),
    ) {
        on_cleanup(move || handle.clear());
    }
    let running = Memo::new(move |_| {
        if !hydrated.get() {
            return Vec::new();
        }
        tick.track();
        let mut all: HashMap<String, Takeover> = fetched
            .get()
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        sync.store.with(|s| {
            let streamed = s.recent().filter_map(|e| match &e.body {
                EventBody::TakeoverUpserted { takeover } => Some(takeover.clone()),
                _ => None,
            });
            let held = s
                .takeovers
                .is_seeded()
                .then(|| s.takeovers())
                .into_iter()
                .flatten();
            for t in streamed.chain(held) {
                let newer = all.get(&t.id).is_none_or(|old| t.version >= old.version);
                if newer {
                    all.insert(t.id.clone(), t);
                }
            }
        });
        let now = now_ms() as i64;
        let mut names: Vec<(i64, String)> = all
            .into_values()
            .filter(|t| t.active_at(now))
            .map(|t| (t.starts_at, format!("“{}”", t.name)))
            .collect();
        crate::model::order::sort_by(&mut names, Ord::cmp);
        names.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
    });
    move || {
        let names = running.get();
        (!names.is_empty()).then(|| {
            view! {
                <a class="takeover-banner" href="/schedules" role="status">
                    {format!("Takeover running: {}", names.join(", "))}
                </a>
            }
        })
    }
}
