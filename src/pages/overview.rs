//! Overview: the fleet by status, the most severe open alerts, and what
//! changed recently in the organization and who changed it, all live.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{activity::ActivityList, fleet::FleetCounts},
    pages::health::OpenAlerts,
    sync::{use_alerts, use_devices},
};

#[component]
pub fn OverviewPage() -> impl IntoView {
    let devices = use_devices();
    let alerts = use_alerts();
    view! {
        <Title text="Overview"/>
        <header class="page-header">
            <h1>"Overview"</h1>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading the fleet…"</p> }>
            {move || devices.ready.get().map(|r| r.map(|()| view! { <FleetCounts/> }))}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || alerts.ready.get().map(|r| r.map(|()| view! { <OpenAlerts limit=5/> }))}
        </Suspense>
        <section class="panel" aria-labelledby="recent-activity">
            <h2 id="recent-activity">"Recent activity"</h2>
            <ActivityList limit=20/>
            <p><a href="/settings#activity">"All activity in Settings"</a></p>
        </section>
    }
}
