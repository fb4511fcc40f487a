//! Overview: the fleet by status, the most severe open alerts, and what
//! changed recently in the organization, all live.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{ago, fleet::FleetCounts},
    model::EventBody,
    pages::health::OpenAlerts,
    sync::{platform::now_ms, use_alerts, use_devices, use_sync},
};

#[component]
pub fn OverviewPage() -> impl IntoView {
    let sync = use_sync();
    let devices = use_devices();
    let alerts = use_alerts();
    let activity = Memo::new(move |_| {
        sync.store.with(|s| {
            s.recent()
                .rev()
                // Deploy states move with every manifest, plays with every
                // item shown; they are not activity.
                .filter(|e| {
                    !matches!(
                        e.body,
                        EventBody::DeployUpdated { .. } | EventBody::PlaysRecorded { .. }
                    )
                })
                .take(12)
                .map(|e| {
                    let what = match &e.body {
                        EventBody::DeviceUpserted { device } => {
                            format!("“{}” changed", device.name)
                        }
                        EventBody::DeviceDeleted { .. } => "A display was deleted".to_string(),
                        EventBody::GroupUpserted { group } => {
                            format!("Group “{}” changed", group.name)
                        }
                        EventBody::ContentUpserted { content } => {
                            format!("“{}” changed in the library", content.name)
                        }
                        EventBody::ContentDeleted { .. } => {
                            "A library item was deleted".to_string()
                        }
                        EventBody::PlaylistUpserted { playlist } => {
                            format!("Playlist “{}” changed", playlist.name)
                        }
                        EventBody::PlaylistDeleted { .. } => "A playlist was deleted".to_string(),
                        EventBody::AlertUpserted { alert } => format!(
                            "{} on “{}”: {}",
                            alert.kind.label(),
                            alert.device_name,
                            alert.state()
                        ),
                        EventBody::AlertRuleUpserted { rule } => {
                            format!("Alert rule “{}” changed", rule.kind.label())
                        }
                        EventBody::ScreenshotTaken { .. } => {
                            "A display sent a screenshot".to_string()
                        }
                        EventBody::UserUpserted { user } if !user.active() => {
                            format!("Account {} was deactivated", user.email)
                        }
                        EventBody::UserUpserted { user } => {
                            format!("Account {} is {}", user.email, user.role.as_str())
                        }
                        EventBody::SessionEnded { .. } => "A session was signed out".to_string(),
                        EventBody::TokenRevoked { .. } => "An API token was revoked".to_string(),
                        EventBody::PasswordChanged { .. } => {
                            "An operator changed their password".to_string()
                        }
                        EventBody::ScheduleUpserted { schedule } => {
                            format!("Schedule “{}” changed", schedule.spec.name)
                        }
                        EventBody::ScheduleDeleted { .. } => "A schedule was deleted".to_string(),
                        EventBody::DaypartUpserted { daypart } => {
                            format!("Daypart “{}” changed", daypart.name)
                        }
                        EventBody::DaypartDeleted { .. } => "A daypart was deleted".to_string(),
                        EventBody::TakeoverUpserted { takeover } if takeover.ended_at.is_some() => {
                            format!("Takeover “{}” ended", takeover.name)
                        }
                        EventBody::TakeoverUpserted { takeover } => {
                            format!("Takeover “{}” started", takeover.name)
                        }
                        EventBody::ExecutionRecorded { .. } => {
                            "A display switched playlists".to_string()
                        }
                        EventBody::DeployUpdated { .. } | EventBody::PlaysRecorded { .. } => {
                            String::new()
                        }
                    };
                    (
                        e.seq,
                        what,
                        e.actor.clone().unwrap_or_else(|| "system".into()),
                        e.at,
                    )
                })
                .collect::<Vec<_>>()
        })
    });
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
        <section class="panel">
            <h2>"Recent activity"</h2>
            <ul class="activity">
                {move || {
                    let items = activity.get();
                    if items.is_empty() {
                        view! { <li class="muted">"Changes made by anyone in your organization will appear here as they happen."</li> }.into_any()
                    } else {
                        let now = now_ms();
                        items.into_iter().map(|(seq, what, who, at)| view! {
                            <li data-seq=seq.to_string()>
                                <span>{what}</span>
                                <span class="muted">{format!(" by {who}, {}", ago(Some(at), now))}</span>
                            </li>
                        }).collect_view().into_any()
                    }
                }}
            </ul>
        </section>
    }
}
