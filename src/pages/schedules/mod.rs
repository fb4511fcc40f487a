//! Schedules: what each display plays and when. A week view (rows: groups
//! or displays, columns: days, blocks by the hour) drawn with the same rule
//! the screens follow (`model::timeline`), a list with filters, the dialog
//! that makes and edits schedules (with its overlap warning and preview),
//! takeovers, dayparts, and the switches displays report, all live.

mod banner;
mod display;
mod form;
mod list;
mod week;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    app::use_session,
    components::dialog::{Confirm, Dialog},
    model::{
        local_hm, utc_rfc3339, zone, Change, Daypart, DeployState, Device, Millis, Playlist,
        Takeover, TimeOfDay,
    },
    sync::{
        platform::{new_op_id, now_ms},
        use_devices, use_executions, use_hydrated, use_library, use_schedules, use_sync,
    },
};

pub use banner::TakeoverBanner;
pub use display::DisplaySchedule;
pub use form::ScheduleDialog;

/// Which way the page shows the schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Week,
    List,
}

/// What the page's dialogs are open for.
#[derive(Debug, Clone, PartialEq)]
pub enum Editing {
    New,
    Schedule(String),
}

#[component]
pub fn SchedulesPage() -> impl IntoView {
    let schedules = use_schedules();
    let devices = use_devices();
    let library = use_library();
    let session = use_session();
    let view = RwSignal::new(View::Week);
    let editing = RwSignal::new(None::<Editing>);
    let takeover_open = RwSignal::new(false);
    let ready = move || {
        let all = [
            schedules.ready.get(),
            devices.ready.get(),
            library.ready.get(),
        ];
        if all.iter().any(Option::is_none) {
            return None;
        }
        Some(
            all.into_iter()
                .flatten()
                .collect::<Result<Vec<()>, _>>()
                .map(drop),
        )
    };
    view! {
        <Title text="Schedules"/>
        <header class="page-header">
            <h1>"Schedules"</h1>
            <Suspense fallback=|| ()>
                <Show when=move || session.can_edit()>
                    <div class="actions">
                        <button type="button" class="button" on:click=move |_| takeover_open.set(true)>"Start takeover"</button>
                        <button type="button" class="button primary" on:click=move |_| editing.set(Some(Editing::New))>"New schedule"</button>
                    </div>
                </Show>
            </Suspense>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading schedules…"</p> }>
            {move || ready().map(|r| r.map(|()| view! {
                <Takeovers/>
                <div class="view-switch" role="group" aria-label="Show schedules as">
                    <button type="button" class="button" aria-pressed=move || (view.get() == View::Week).to_string()
                        on:click=move |_| view.set(View::Week)>"Week"</button>
                    <button type="button" class="button" aria-pressed=move || (view.get() == View::List).to_string()
                        on:click=move |_| view.set(View::List)>"List"</button>
                </div>
                {move || match view.get() {
                    View::Week => view! { <week::WeekView/> }.into_any(),
                    View::List => view! { <list::ScheduleList editing/> }.into_any(),
                }}
                <div class="two-columns">
                    <Executions/>
                    <Dayparts/>
                </div>
            }))}
        </Suspense>
        // Outside the Suspense: a re-read of the lists keeps an open dialog.
        {move || editing.get().map(|e| view! { <ScheduleDialog editing=e on_done=move || editing.set(None)/> })}
        <Show when=move || takeover_open.get()>
            <TakeoverDialog on_done=move || takeover_open.set(false)/>
        </Show>
    }
}

/// A playlist's name, or what to say when it is gone.
pub(crate) fn playlist_name(lists: &[Playlist], id: Option<&str>) -> String {
    match id {
        None => "Nothing".into(),
        Some(id) => lists
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| "(deleted playlist)".into(), |p| p.name.clone()),
    }
}

/// A stable colour per playlist, so one playlist looks the same everywhere.
pub(crate) fn playlist_hue(id: &str) -> u32 {
    id.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    }) % 360
}

/// A time of the operator's clock, shown in a display's zone.
pub(crate) fn clock(tz: &str, at: Millis) -> String {
    local_hm(zone(tz), at)
}

/// The deploy state of one display, as a badge; with `only_late`, nothing
/// unless the player has not acknowledged its manifest for over a minute.
#[component]
pub fn DeployBadge(device_id: String, #[prop(optional)] only_late: bool) -> impl IntoView {
    let schedules = use_schedules();
    // Ticks so that "sent" turns into "not received" after its minute.
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(10),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    let hydrated = use_hydrated();
    move || {
        tick.track();
        if !hydrated.get() {
            return ().into_any();
        }
        let now = now_ms() as i64;
        let deploy = schedules
            .deploys
            .with(|all| all.iter().find(|d| d.id == device_id).cloned());
        let late = deploy
            .as_ref()
            .is_some_and(|d| d.state(now) == DeployState::Late);
        if only_late && !late {
            return ().into_any();
        }
        let Some(d) = deploy else {
            return view! { <span class="deploy muted">"—"</span> }.into_any();
        };
        let (class, text, title) = match d.state(now) {
            DeployState::Unknown => ("deploy muted", "—", "No manifest sent yet".to_string()),
            DeployState::Sent => (
                "deploy sent",
                "Sent",
                format!(
                    "Sent {}, not acknowledged yet",
                    utc_rfc3339(d.sent_at.unwrap_or(0))
                ),
            ),
            DeployState::Late => (
                "deploy late",
                "Not received",
                "The player has not acknowledged the latest manifest for over a minute".to_string(),
            ),
            DeployState::Received => (
                "deploy ok",
                "Received",
                format!(
                    "The player has manifest {}",
                    d.received_version.clone().unwrap_or_default()
                ),
            ),
        };
        view! { <span class=class title=title data-deploy=text>{text}</span> }.into_any()
    }
}

/// Takeovers running now, each with End now.
#[component]
fn Takeovers() -> impl IntoView {
    let schedules = use_schedules();
    let library = use_library();
    let devices = use_devices();
    let session = use_session();
    let sync = use_sync();
    let ending = RwSignal::new(None::<Takeover>);
    let hydrated = use_hydrated();
    let running = move || {
        if !hydrated.get() {
            return Vec::new();
        }
        let now = now_ms() as i64;
        schedules
            .takeovers
            .get()
            .into_iter()
            .filter(|t| t.active_at(now) || t.starts_at > now)
            .collect::<Vec<_>>()
    };
    view! {
        <Show when=move || !running().is_empty()>
            <section class="panel takeovers" aria-label="Takeovers">
                <h2>"Takeovers"</h2>
                <ul class="list">
                    {move || running().into_iter().map(|t| {
                        let lists = library.playlists.get();
                        let target = match &t.group_id {
                            None => "every display".to_string(),
                            Some(g) => devices.groups.with(|gs| gs.iter().find(|x| &x.id == g).map_or_else(|| "a deleted group".into(), |x| format!("group “{}”", x.name))),
                        };
                        let until = t.until().map_or_else(|| "until ended".to_string(), |u| format!("until {} UTC", clock("UTC", u)));
                        let upcoming = t.starts_at > now_ms() as i64;
                        let line = if upcoming {
                            format!("“{}” will play {} on {} from {} UTC, {}", t.name, playlist_name(&lists, Some(&t.playlist_id)), target, clock("UTC", t.starts_at), until)
                        } else {
                            format!("“{}” plays {} on {} now, {}", t.name, playlist_name(&lists, Some(&t.playlist_id)), target, until)
                        };
                        let end = t.clone();
                        view! {
                            <li class="takeover" data-id=t.id.clone()>
                                <span>{line}</span>
                                <Show when=move || session.can_edit()>
                                    {let end = end.clone(); view! {
                                        <button type="button" class="button danger" on:click=move |_| ending.set(Some(end.clone()))>{if upcoming { "Cancel" } else { "End now" }}</button>
                                    }}
                                </Show>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        </Show>
        {move || ending.get().map(|t| view! {
            <Confirm title=format!("End “{}”?", t.name)
                body="Its displays return to what their schedules say at once.".to_string()
                action="End now"
                on_confirm=move |()| { sync.submit(Change::EndTakeover { takeover_id: t.id.clone() }, Some(t.version)); }
                on_close=move |()| ending.set(None)/>
        })}
    }
}

/// "Start takeover": a playlist on a group or every display, now, above
/// every schedule, for a while or until ended.
#[component]
fn TakeoverDialog(on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let sync = use_sync();
    let lists = use_library().playlists.get_untracked();
    let groups = use_devices().groups.get_untracked();
    let name = RwSignal::new(String::from("Announcement"));
    let playlist = RwSignal::new(lists.first().map(|p| p.id.clone()).unwrap_or_default());
    let group = RwSignal::new(String::new());
    let minutes = RwSignal::new(String::from("60"));
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if playlist.get_untracked().is_empty() {
            error.set(Some("Choose the playlist to put on screen.".into()));
            return;
        }
        if let Err(e) = crate::model::validate_takeover_name(&name.get_untracked()) {
            error.set(Some(e));
            return;
        }
        let ends_at = minutes
            .get_untracked()
            .parse::<i64>()
            .ok()
            .filter(|m| *m > 0)
            .map(|m| now_ms() as i64 + m * 60_000);
        sync.submit(
            Change::StartTakeover {
                takeover_id: new_op_id(),
                name: name.get_untracked(),
                playlist_id: playlist.get_untracked(),
                group_id: Some(group.get_untracked()).filter(|g| !g.is_empty()),
                starts_at: None,
                ends_at,
            },
            None,
        );
        on_done();
    };
    view! {
        <Dialog title="Start takeover".to_string() on_close=on_done on_submit=submit
            description="The playlist plays at once, above every schedule; afterwards each display returns to its schedule.">
            <label for="takeover-name">"Name"</label>
            <input id="takeover-name" type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <label for="takeover-playlist">"Playlist"</label>
            <select id="takeover-playlist" on:change=move |ev| playlist.set(event_target_value(&ev))>
                {lists.iter().map(|p| view! { <option value=p.id.clone() selected=p.id == playlist.get_untracked()>{p.name.clone()}</option> }).collect_view()}
            </select>
            <label for="takeover-target">"On"</label>
            <select id="takeover-target" on:change=move |ev| group.set(event_target_value(&ev))>
                <option value="">"Every display"</option>
                {groups.into_iter().map(|g| view! { <option value=g.id>{format!("Group “{}”", g.name)}</option> }).collect_view()}
            </select>
            <label for="takeover-until">"For"</label>
            <select id="takeover-until" on:change=move |ev| minutes.set(event_target_value(&ev))>
                <option value="15">"15 minutes"</option>
                <option value="30">"30 minutes"</option>
                <option value="60" selected=true>"1 hour"</option>
                <option value="240">"4 hours"</option>
                <option value="0">"Until I end it"</option>
            </select>
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <div class="dialog-actions">
                <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                <button type="submit" class="button primary">"Start takeover"</button>
            </div>
        </Dialog>
    }
}

/// The switches displays made, newest first, growing live.
#[component]
fn Executions() -> impl IntoView {
    let executions = use_executions(None);
    let devices = use_devices();
    let library = use_library();
    view! {
        <section class="panel executions" aria-label="Recent switches">
            <h2>"Recent switches"</h2>
            {move || {
                let Some(rows) = executions.get() else {
                    return view! { <p class="muted">"Loading switches…"</p> }.into_any();
                };
                if rows.is_empty() {
                    return view! { <p class="muted">"No display has switched playlists yet."</p> }.into_any();
                }
                let lists = library.playlists.get();
                let all: Vec<Device> = devices.devices.get();
                view! {
                    <div class="scroll-box"><table class="table compact">
                        <thead><tr><th>"When (UTC)"</th><th>"Display"</th><th>"Now plays"</th><th>"Before"</th><th>"Why"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|e| {
                                let display = all.iter().find(|d| d.id == e.device_id);
                                let name = display.map_or_else(|| "(deleted display)".to_string(), |d| d.name.clone());
                                let why = format!("{}{}", e.source.as_str(), if e.reported { "" } else { " (derived)" });
                                view! {
                                    <tr data-id=e.id.clone()>
                                        <td>{utc_rfc3339(e.at).replace('T', " ").trim_end_matches('Z').to_string()}</td>
                                        <td>{name}</td>
                                        <td>{playlist_name(&lists, e.playlist_id.as_deref())}</td>
                                        <td class="muted">{playlist_name(&lists, e.previous_playlist_id.as_deref())}</td>
                                        <td>{why}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

/// Named windows schedules can pick.
#[component]
fn Dayparts() -> impl IntoView {
    let schedules = use_schedules();
    let session = use_session();
    let sync = use_sync();
    let name = RwSignal::new(String::new());
    let start = RwSignal::new(String::from("06:00"));
    let end = RwSignal::new(String::from("10:30"));
    let deleting = RwSignal::new(None::<Daypart>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed = (
            start.get_untracked().parse::<TimeOfDay>(),
            end.get_untracked().parse::<TimeOfDay>(),
        );
        let (Ok(s), Ok(e)) = parsed else {
            sync.notices.error("Write times as HH:MM.");
            return;
        };
        if let Err(message) = crate::model::validate_daypart(&name.get_untracked(), s, e) {
            sync.notices.error(message);
            return;
        }
        sync.submit(
            Change::CreateDaypart {
                daypart_id: new_op_id(),
                name: name.get_untracked(),
                start: s,
                end: e,
            },
            None,
        );
        name.set(String::new());
    };
    view! {
        <section class="panel dayparts" aria-label="Dayparts">
            <h2>"Dayparts"</h2>
            <ul class="list">
                {move || schedules.dayparts.get().into_iter().map(|d| {
                    let gone = d.clone();
                    view! {
                        <li data-id=d.id.clone()>
                            <span><strong>{d.name.clone()}</strong>" "<span class="muted">{format!("{}–{}", d.start, d.end)}</span></span>
                            <Show when=move || session.can_edit()>
                                {let gone = gone.clone(); view! {
                                    <button type="button" class="button ghost" aria-label=format!("Delete daypart {}", gone.name)
                                        on:click=move |_| deleting.set(Some(gone.clone()))>"Delete"</button>
                                }}
                            </Show>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=move || session.can_edit()>
                <form class="inline-form" on:submit=add>
                    <input type="text" placeholder="Breakfast" aria-label="Daypart name"
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <input type="time" aria-label="Daypart start" prop:value=move || start.get() on:input=move |ev| start.set(event_target_value(&ev))/>
                    <input type="time" aria-label="Daypart end" prop:value=move || end.get() on:input=move |ev| end.set(event_target_value(&ev))/>
                    <button type="submit" class="button">"Add daypart"</button>
                </form>
            </Show>
        </section>
        {move || deleting.get().map(|d| view! {
            <Confirm title=format!("Delete daypart “{}”?", d.name)
                body="Schedules that use it must get another window first.".to_string()
                action="Delete"
                on_confirm=move |()| { sync.submit(Change::DeleteDaypart { daypart_id: d.id.clone() }, Some(d.version)); }
                on_close=move |()| deleting.set(None)/>
        })}
    }
}
