//! Health: fleet status counts and the live alert list. New alerts slide in,
//! "Acknowledge" is optimistic, and resolved alerts leave the list on their
//! own (they are listed below for a day).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    app::use_session,
    components::{
        ago,
        fleet::{FleetCounts, SeverityBadge},
    },
    model::{Alert, Change},
    sync::{platform::now_ms, use_alerts, use_devices, use_sync},
};

#[component]
pub fn HealthPage() -> impl IntoView {
    let devices = use_devices();
    let alerts = use_alerts();
    view! {
        <Title text="Health"/>
        <header class="page-header">
            <h1>"Health"</h1>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading the fleet…"</p> }>
            {move || devices.ready.get().map(|r| r.map(|()| view! { <FleetCounts/> }))}
        </Suspense>
        <Suspense fallback=|| view! { <p class="muted">"Loading alerts…"</p> }>
            {move || alerts.ready.get().map(|r| r.map(|()| view! {
                <OpenAlerts/>
                <ResolvedAlerts/>
            }))}
        </Suspense>
    }
}

/// The live list of open alerts (Health shows all; Overview the first few).
#[component]
pub fn OpenAlerts(#[prop(optional)] limit: Option<usize>) -> impl IntoView {
    let all = use_alerts().open_alerts;
    let open = Memo::new(move |_| {
        all.with(|a| {
            a.iter()
                .take(limit.unwrap_or(usize::MAX))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <section class="panel" aria-labelledby="open-alerts">
            <h2 id="open-alerts">"Open alerts " <span class="count">{move || all.with(Vec::len)}</span></h2>
            <Show when=move || open.with(Vec::is_empty)>
                <p class="empty-state">"No open alerts. Rules are set in Settings; alerts appear here the moment a display breaks one."</p>
            </Show>
            <ul class="alert-list" aria-label="Open alerts">
                <For each=move || open.get() key=|a| (a.id.clone(), a.version, a.acknowledged_at) let:alert>
                    <AlertRow alert/>
                </For>
            </ul>
            <Show when=move || limit.is_some_and(|n| all.with(Vec::len) > n)>
                <p><a href="/health">"All open alerts on Health"</a></p>
            </Show>
        </section>
    }
}

#[component]
fn AlertRow(alert: Alert) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let id = StoredValue::new(alert.id.clone());
    let acknowledged = alert.acknowledged_at.is_some();
    let by = alert.acknowledged_by.clone().unwrap_or_default();
    let ack = move |_| {
        sync.submit(
            Change::AcknowledgeAlert {
                alert_id: id.get_value(),
            },
            None,
        );
    };
    let now = now_ms();
    view! {
        <li class=format!("alert-item severity-{} state-{}", alert.severity.as_str(), alert.state())
            data-alert-id=alert.id.clone() data-kind=alert.kind.as_str()>
            <SeverityBadge severity=alert.severity/>
            <div class="alert-body">
                <strong>{alert.kind.label()}</strong>
                " on "
                <a href=format!("/devices/{}", alert.device_id)>{alert.device_name.clone()}</a>
                <div class="muted">{alert.message.clone()} " · raised " {ago(Some(alert.raised_at), now)}</div>
            </div>
            <div class="alert-state">
                {move || if acknowledged {
                    view! {
                        <span class="muted">
                            "Acknowledged by " {by.clone()}
                        </span>
                    }.into_any()
                } else if session.can_edit() {
                    view! { <button type="button" class="button" on:click=ack>"Acknowledge"</button> }.into_any()
                } else {
                    view! { <span class="muted">"Raised"</span> }.into_any()
                }}
            </div>
        </li>
    }
}

#[component]
fn ResolvedAlerts() -> impl IntoView {
    let alerts = use_alerts().alerts;
    let resolved = Memo::new(move |_| {
        alerts.with(|all| {
            all.iter()
                .filter(|a| !a.is_open())
                .take(50)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <section class="panel" aria-labelledby="resolved-alerts">
            <h2 id="resolved-alerts">"Resolved in the last day"</h2>
            <table class="table">
                <thead><tr>
                    <th scope="col">"Severity"</th><th scope="col">"Display"</th><th scope="col">"Alert"</th>
                    <th scope="col">"Raised"</th><th scope="col">"Resolved"</th><th scope="col">"Acknowledged by"</th>
                </tr></thead>
                <tbody aria-label="Resolved alerts">
                    <Show when=move || resolved.with(Vec::is_empty)>
                        <tr class="empty"><td colspan="6">"Nothing resolved in the last day."</td></tr>
                    </Show>
                    <For each=move || resolved.get() key=|a| a.id.clone() let:alert>
                        {
                            let now = now_ms();
                            view! {
                                <tr data-alert-id=alert.id.clone()>
                                    <td><SeverityBadge severity=alert.severity/></td>
                                    <td><a href=format!("/devices/{}", alert.device_id)>{alert.device_name.clone()}</a></td>
                                    <td>{alert.kind.label()} <span class="muted">{format!(" · {}", alert.message)}</span></td>
                                    <td>{ago(Some(alert.raised_at), now)}</td>
                                    <td>{ago(alert.resolved_at, now)}</td>
                                    <td>{alert.acknowledged_by.clone().unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </section>
    }
}
