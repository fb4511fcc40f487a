//! Fleet status counts (Overview, Health) and alert badges.

use leptos::prelude::*;

use crate::{
    model::{DeviceStatus, Severity},
    sync::use_devices,
};

/// Displays by status, live from the store; each links to the filtered list.
#[component]
pub fn FleetCounts() -> impl IntoView {
    let devices = use_devices();
    // Counted in the store's own view: nothing is copied per change; the
    // server's counts while a big fleet's snapshot is still coming.
    let counts = Memo::new(move |_| {
        let first = devices.first_screen.get();
        if let Some((total, [online, idle, offline, error])) =
            first.and_then(|f| Some((f.total, f.by_status?)))
        {
            return [total, online, idle, offline, error];
        }
        devices.with_store(|store| {
            store
                .read_devices(None, |view, _| {
                    let count = |st: DeviceStatus| view.values().filter(|d| d.status == st).count();
                    [
                        view.len(),
                        count(DeviceStatus::Online),
                        count(DeviceStatus::Idle),
                        count(DeviceStatus::Offline),
                        count(DeviceStatus::Error),
                    ]
                })
                .1
        })
    });
    let kpi = move |label: &'static str, i: usize, href: &'static str| {
        view! {
            <a class="kpi" href=href data-kpi=label.to_lowercase()>
                <span class="kpi-value">{move || counts.get()[i]}</span>
                <span class="kpi-label">{label}</span>
            </a>
        }
    };
    view! {
        <section class="kpis" aria-label="Fleet">
            {kpi("Displays", 0, "/devices")}
            {kpi("Online", 1, "/devices?status=online")}
            {kpi("Idle", 2, "/devices?status=idle")}
            {kpi("Offline", 3, "/devices?status=offline")}
            {kpi("Error", 4, "/devices?status=error")}
        </section>
    }
}

#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge severity-{}", severity.as_str())>{severity.as_str()}</span> }
}
