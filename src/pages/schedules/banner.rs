//! The takeover banner: while a takeover runs, it says so and links to
//! Schedules, where it can be ended. Not in the console's top bar yet: made
//! there after hydration, its snapshot resource shifted the order in which
//! a page's own resources hydrate (Settings failed to hydrate now and then),
//! so it waits for a resource of its own that every page makes in order.

use leptos::prelude::*;

use crate::sync::{platform::now_ms, use_hydrated, use_schedules};

/// Drawn in the browser only (it depends on the clock); its snapshot is
/// fetched then, so no page's server render waits for it.
#[component]
pub fn TakeoverBanner() -> impl IntoView {
    let hydrated = use_hydrated();
    move || hydrated.get().then(|| view! { <Running/> })
}

#[component]
fn Running() -> impl IntoView {
    let schedules = use_schedules();
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(
        move || tick.update(|t| *t += 1),
        std::time::Duration::from_secs(5),
    ) {
        on_cleanup(move || handle.clear());
    }
    move || {
        tick.track();
        let now = now_ms() as i64;
        let names: Vec<String> = schedules
            .takeovers
            .get()
            .into_iter()
            .filter(|t| t.active_at(now))
            .map(|t| format!("“{}”", t.name))
            .collect();
        (!names.is_empty()).then(|| {
            view! {
                <a class="takeover-banner" href="/schedules" role="status">
                    {format!("Takeover running: {}", names.join(", "))}
                </a>
            }
        })
    }
}
