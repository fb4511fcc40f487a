//! A display's schedule on its detail view: what it plays over the next 48
//! hours (the same rule its player follows), whether it has the latest
//! manifest, and the switches it reported.

use leptos::prelude::*;

use super::{clock, playlist_name, DeployBadge};
use crate::{
    model::{local_date, timeline, zone, Millis, Plan, Screen, Source},
    sync::{
        platform::now_ms, use_devices, use_executions, use_hydrated, use_library, use_schedules,
    },
};

#[component]
pub fn DisplaySchedule(device_id: String) -> impl IntoView {
    let schedules = use_schedules();
    let devices = use_devices();
    let library = use_library();
    let executions = use_executions(Some(device_id.clone()));
    let id = device_id.clone();
    let hydrated = use_hydrated();
    let segments = Memo::new(move |_| {
        if !hydrated.get() {
            return None;
        }
        let now = now_ms() as Millis;
        let device = devices
            .devices
            .with(|all| all.iter().find(|d| d.id == id).cloned())?;
        let group_default = device.group_id.as_ref().and_then(|g| {
            devices.groups.with(|gs| {
                gs.iter()
                    .find(|x| &x.id == g)
                    .and_then(|x| x.playlist_id.clone())
            })
        });
        let all = schedules.schedules.get();
        let dayparts = schedules.dayparts.get();
        let takeovers = schedules.takeovers.get();
        let screen = Screen::of(&device, group_default.as_deref());
        let plan = Plan {
            schedules: &all,
            dayparts: &dayparts,
            takeovers: &takeovers,
        };
        Some((
            device.timezone.clone(),
            now,
            timeline(&screen, plan, now, now + 48 * 3_600_000),
        ))
    });
    view! {
        <section class="panel" aria-labelledby="timeline-title">
            <div class="title-with-badge">
                <h2 id="timeline-title">"Schedule, next 48 hours"</h2>
                <DeployBadge device_id=device_id.clone()/>
            </div>
            {move || segments.get().map(|(tz, now, segs)| {
                let lists = library.playlists.get();
                let all = schedules.schedules.get();
                let today = local_date(zone(&tz), now);
                view! {
                    <table class="table compact timeline">
                        <caption class="muted">{format!("In the display's time zone, {tz}")}</caption>
                        <thead><tr><th>"From"</th><th>"To"</th><th>"Plays"</th><th>"Why"</th></tr></thead>
                        <tbody>
                            {segs.into_iter().map(|s| {
                                let day = |at: Millis| {
                                    let d = local_date(zone(&tz), at);
                                    let when = clock(&tz, at);
                                    if d == today { when } else { format!("{} {when}", d.format("%a")) }
                                };
                                let why = match s.source {
                                    Source::Schedule => all.iter().find(|x| Some(x.id.as_str()) == s.schedule_id.as_deref())
                                        .map_or_else(|| "a schedule".into(), |x| format!("schedule “{}”", x.spec.name)),
                                    Source::Takeover => "takeover".into(),
                                    Source::Default => "default playlist".into(),
                                    Source::None => "nothing scheduled".into(),
                                };
                                view! {
                                    <tr class=format!("src-{}", s.source.as_str())>
                                        <td>{day(s.start)}</td>
                                        <td>{day(s.end)}</td>
                                        <td>{playlist_name(&lists, s.playlist_id.as_deref())}</td>
                                        <td>{why}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            })}
            <h3>"Switches"</h3>
            {move || {
                let Some(rows) = executions.get() else {
                    return view! { <p class="muted">"Loading switches…"</p> }.into_any();
                };
                if rows.is_empty() {
                    return view! { <p class="muted">"No switch reported yet."</p> }.into_any();
                }
                let lists = library.playlists.get();
                view! {
                    <ul class="activity switches">
                        {rows.into_iter().take(10).map(|e| view! {
                            <li>{format!("{} UTC: {} (was {}), {}", clock("UTC", e.at), playlist_name(&lists, e.playlist_id.as_deref()),
                                playlist_name(&lists, e.previous_playlist_id.as_deref()), e.source.as_str())}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
