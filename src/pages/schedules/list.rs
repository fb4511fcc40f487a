//! The list view: every schedule with its playlist, target, dates, days,
//! window and priority, filtered by target, playlist and enabled; editors
//! switch one on or off, edit or delete it from its row.

use leptos::prelude::*;

use super::{playlist_name, Editing};
use crate::{
    app::use_session,
    components::dialog::Confirm,
    model::{Change, Daypart, Schedule},
    sync::{use_devices, use_library, use_schedules, use_sync},
};

/// What a schedule's window reads as: its daypart, its times, or all day.
pub(crate) fn window_text(s: &Schedule, dayparts: &[Daypart]) -> String {
    match (&s.spec.daypart_id, &s.spec.window) {
        (Some(id), _) => dayparts.iter().find(|d| &d.id == id).map_or_else(
            || "(deleted daypart)".into(),
            |d| format!("{} ({}–{})", d.name, d.start, d.end),
        ),
        (None, Some(w)) => w.to_string(),
        (None, None) => "All day".into(),
    }
}

#[component]
pub fn ScheduleList(editing: RwSignal<Option<Editing>>) -> impl IntoView {
    let schedules = use_schedules();
    let devices = use_devices();
    let library = use_library();
    let session = use_session();
    let sync = use_sync();
    let target = RwSignal::new(String::new());
    let playlist = RwSignal::new(String::new());
    let enabled = RwSignal::new(String::new());
    let deleting = RwSignal::new(None::<Schedule>);
    let shown = move || {
        let (t, p, e) = (target.get(), playlist.get(), enabled.get());
        schedules
            .schedules
            .get()
            .into_iter()
            .filter(|s| {
                t.is_empty()
                    || s.spec.group_id.as_deref() == Some(t.as_str())
                    || s.spec.device_id.as_deref() == Some(t.as_str())
            })
            .filter(|s| p.is_empty() || s.spec.playlist_id == p)
            .filter(|s| e.is_empty() || (e == "on") == s.spec.enabled)
            .collect::<Vec<_>>()
    };
    view! {
        <section class="panel schedule-list" aria-label="All schedules">
            <div class="filters">
                <label>"Target "
                    <select on:change=move |ev| target.set(event_target_value(&ev))>
                        <option value="">"Any"</option>
                        {move || devices.groups.get().into_iter().map(|g| view! { <option value=g.id>{format!("Group {}", g.name)}</option> }).collect_view()}
                        {move || devices.devices.get().into_iter().map(|d| view! { <option value=d.id>{d.name}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Playlist "
                    <select on:change=move |ev| playlist.set(event_target_value(&ev))>
                        <option value="">"Any"</option>
                        {move || library.playlists.get().into_iter().map(|p| view! { <option value=p.id>{p.name}</option> }).collect_view()}
                    </select>
                </label>
                <label>"State "
                    <select on:change=move |ev| enabled.set(event_target_value(&ev))>
                        <option value="">"Any"</option>
                        <option value="on">"Enabled"</option>
                        <option value="off">"Disabled"</option>
                    </select>
                </label>
            </div>
            <table class="table">
                <caption class="visually-hidden">"Schedules"</caption>
                <thead><tr>
                    <th>"Name"</th><th>"Playlist"</th><th>"Target"</th><th>"Dates"</th><th>"Days"</th>
                    <th>"Time window"</th><th>"Priority"</th><th>"Enabled"</th><th><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {move || {
                        let rows = shown();
                        if rows.is_empty() {
                            return view! { <tr><td colspan="9" class="empty-state">"No schedules match. Create one with New schedule: it puts a playlist on a display or group at set times, in each display's own time zone."</td></tr> }.into_any();
                        }
                        let lists = library.playlists.get();
                        let groups = devices.groups.get();
                        let all = devices.devices.get();
                        let dayparts = schedules.dayparts.get();
                        rows.into_iter().map(|s| {
                            let target = match (&s.spec.group_id, &s.spec.device_id) {
                                (Some(g), _) => groups.iter().find(|x| &x.id == g).map_or_else(|| "(deleted group)".into(), |x| format!("Group {}", x.name)),
                                (None, Some(d)) => all.iter().find(|x| &x.id == d).map_or_else(|| "(deleted display)".into(), |x| x.name.clone()),
                                (None, None) => "—".into(),
                            };
                            let dates = match s.spec.ends_on {
                                Some(end) => format!("{} – {}", s.spec.starts_on, end),
                                None => format!("From {}", s.spec.starts_on),
                            };
                            let mut days = s.spec.recurrence.describe();
                            if !s.spec.except.is_empty() {
                                days.push_str(&format!(", except {}", s.spec.except.len()));
                            }
                            let (toggle, edit, remove) = (s.clone(), s.id.clone(), s.clone());
                            let name = s.spec.name.clone();
                            view! {
                                <tr data-id=s.id.clone()>
                                    <td><strong>{s.spec.name.clone()}</strong></td>
                                    <td>{playlist_name(&lists, Some(&s.spec.playlist_id))}</td>
                                    <td>{target}</td>
                                    <td>{dates}</td>
                                    <td>{days}</td>
                                    <td>{window_text(&s, &dayparts)}</td>
                                    <td>{s.spec.priority}</td>
                                    <td>
                                        <button type="button" class="button ghost" role="switch"
                                            aria-checked=s.spec.enabled.to_string()
                                            aria-label=format!("Enabled: {name}")
                                            disabled=move || !session.can_edit()
                                            on:click=move |_| {
                                                let mut spec = toggle.spec.clone();
                                                spec.enabled = !spec.enabled;
                                                sync.submit(Change::UpdateSchedule { schedule_id: toggle.id.clone(), spec }, Some(toggle.version));
                                            }>{if s.spec.enabled { "On" } else { "Off" }}</button>
                                    </td>
                                    <td class="actions">
                                        <Show when=move || session.can_edit()>
                                            {let (edit, remove) = (edit.clone(), remove.clone()); view! {
                                                <button type="button" class="button ghost" on:click=move |_| editing.set(Some(Editing::Schedule(edit.clone())))>"Edit"</button>
                                                <button type="button" class="button ghost" on:click=move |_| deleting.set(Some(remove.clone()))>"Delete"</button>
                                            }}
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </section>
        {move || deleting.get().map(|s| view! {
            <Confirm title=format!("Delete “{}”?", s.spec.name)
                body="Its displays play what their other schedules or defaults say from then on.".to_string()
                action="Delete"
                on_confirm=move |()| { sync.submit(Change::DeleteSchedule { schedule_id: s.id.clone() }, Some(s.version)); }
                on_close=move |()| deleting.set(None)/>
        })}
    }
}
