//! The fleet table, its toolbar, and the group playlists. Rows are keyed by
//! id: an edit elsewhere re-renders only the cells it changed.

use std::collections::HashMap;

use leptos::prelude::*;

use super::{Dialogs, Filters, Showing, SortKey};
use crate::{
    app::use_session,
    components::{ago, status_badge::StatusBadge},
    model::{Change, DeployState, Device, DeviceGroup, DeviceStatus, Playlist},
    sync::{platform::now_ms, use_devices, use_library, use_schedules, use_sync},
};

pub(super) fn group_name(groups: &[DeviceGroup], id: Option<&str>) -> String {
    id.and_then(|id| groups.iter().find(|g| g.id == id))
        .map(|g| g.name.clone())
        .unwrap_or_else(|| "—".into())
}

fn playlist_name(lists: &[Playlist], id: Option<&str>) -> Option<String> {
    id.and_then(|id| lists.iter().find(|p| p.id == id))
        .map(|p| p.name.clone())
}

/// What a display plays by default: its own playlist, else its group's.
fn effective_playlist(d: &Device, groups: &[DeviceGroup], lists: &[Playlist]) -> String {
    if let Some(name) = playlist_name(lists, d.playlist_id.as_deref()) {
        return name;
    }
    let group = d
        .group_id
        .as_deref()
        .and_then(|g| groups.iter().find(|x| x.id == g));
    match group.and_then(|g| playlist_name(lists, g.playlist_id.as_deref())) {
        Some(name) => format!("{name} (group)"),
        None => "—".into(),
    }
}

/// Each group's default playlist, set inline; live for every operator.
#[component]
pub(super) fn GroupPlaylists() -> impl IntoView {
    let groups = use_devices().groups;
    let by_id = Memo::new(move |_| {
        groups.with(|all| {
            all.iter()
                .map(|g| (g.id.clone(), g.clone()))
                .collect::<HashMap<_, _>>()
        })
    });
    view! {
        <details class="panel group-playlists">
            <summary>"Group playlists"</summary>
            <table class="table">
                <caption class="visually-hidden">"Default playlist of each group"</caption>
                <thead><tr><th scope="col">"Group"</th><th scope="col">"Default playlist"</th></tr></thead>
                <tbody>
                    <For each=move || groups.get() key=|g| g.id.clone() let:group>
                        <GroupRow id=group.id by_id/>
                    </For>
                </tbody>
            </table>
        </details>
    }
}

#[component]
fn GroupRow(id: String, by_id: Memo<HashMap<String, DeviceGroup>>) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let lists = use_library().playlists;
    let key = id.clone();
    let group = Memo::new(move |_| by_id.with(|m| m.get(&key).cloned()));
    let name = move || group.with(|g| g.as_ref().map(|g| g.name.clone()).unwrap_or_default());
    let current = Memo::new(move |_| {
        group.with(|g| {
            g.as_ref()
                .and_then(|g| g.playlist_id.clone())
                .unwrap_or_default()
        })
    });
    view! {
        <tr data-group=id>
            <th scope="row">{name}</th>
            <td>
                <select aria-label=move || format!("Default playlist of {}", name())
                    disabled=move || !session.can_edit()
                    prop:value=move || current.get()
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        let playlist_id = Some(value).filter(|v| !v.is_empty());
                        group.with_untracked(|g| if let Some(g) = g {
                            if playlist_id != g.playlist_id {
                                sync.submit(Change::UpdateGroup { group_id: g.id.clone(), playlist_id }, Some(g.version));
                            }
                        });
                    }>
                    <option value="" selected=move || current.with(String::is_empty)>"None"</option>
                    {move || lists.get().into_iter().map(|p| {
                        let id = p.id.clone();
                        view! { <option value=p.id selected=move || current.with(|c| *c == id)>{p.name}</option> }
                    }).collect_view()}
                </select>
            </td>
        </tr>
    }
}

#[component]
pub(super) fn Toolbar(filters: Filters) -> impl IntoView {
    let groups = use_devices().groups;
    view! {
        <div class="toolbar" role="search">
            <label class="visually-hidden" for="device-search">"Search"</label>
            <input
                id="device-search"
                type="search"
                placeholder="Search name, tag or time zone"
                aria-label="Search"
                prop:value=move || filters.search.get()
                on:input=move |ev| filters.search.set(event_target_value(&ev))
            />
            <label>
                "Group "
                <select
                    aria-label="Group"
                    prop:value=move || filters.group.get()
                    on:change=move |ev| filters.group.set(event_target_value(&ev))
                >
                    <option value="">"All groups"</option>
                    {move || groups.get().into_iter().map(|g| view! { <option value=g.id>{g.name}</option> }).collect_view()}
                    <option value="none">"No group"</option>
                </select>
            </label>
            <label>
                "Status "
                <select
                    aria-label="Status"
                    prop:value=move || filters.status.get()
                    on:change=move |ev| filters.status.set(event_target_value(&ev))
                >
                    <option value="">"All statuses"</option>
                    {DeviceStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                </select>
            </label>
        </div>
    }
}

fn visible(devices: &[Device], groups: &[DeviceGroup], filters: Filters) -> Vec<Device> {
    let search = filters.search.get().trim().to_lowercase();
    let group = filters.group.get();
    let status = filters.status.get();
    let (key, ascending) = filters.sort.get();
    let mut rows: Vec<Device> = devices
        .iter()
        .filter(|d| match group.as_str() {
            "" => true,
            "none" => d.group_id.is_none(),
            g => d.group_id.as_deref() == Some(g),
        })
        .filter(|d| status.is_empty() || d.status.as_str() == status)
        .filter(|d| {
            search.is_empty()
                || d.name.to_lowercase().contains(&search)
                || d.timezone.to_lowercase().contains(&search)
                || d.tags.iter().any(|t| t.to_lowercase().contains(&search))
                || group_name(groups, d.group_id.as_deref())
                    .to_lowercase()
                    .contains(&search)
        })
        .cloned()
        .collect();
    rows.sort_by(|a, b| {
        let ord = match key {
            SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            SortKey::Group => group_name(groups, a.group_id.as_deref())
                .cmp(&group_name(groups, b.group_id.as_deref())),
            SortKey::Status => a.status.cmp(&b.status),
            SortKey::LastSeen => b.last_seen.cmp(&a.last_seen),
            SortKey::TimeZone => a.timezone.cmp(&b.timezone),
        }
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.id.cmp(&b.id));
        if ascending {
            ord
        } else {
            ord.reverse()
        }
    });
    rows
}

#[component]
fn SortHeader(label: &'static str, key: SortKey, filters: Filters) -> impl IntoView {
    let sort = filters.sort;
    let aria = move || match sort.get() {
        (k, true) if k == key => "ascending",
        (k, false) if k == key => "descending",
        _ => "none",
    };
    view! {
        <th scope="col" aria-sort=aria>
            <button
                type="button"
                class="sort"
                on:click=move |_| sort.update(|(k, asc)| {
                    if *k == key {
                        *asc = !*asc;
                    } else {
                        *k = key;
                        *asc = true;
                    }
                })
            >
                {label}
                <span aria-hidden="true">{move || match aria() { "ascending" => " ▲", "descending" => " ▼", _ => "" }}</span>
            </button>
        </th>
    }
}

/// One row as shown: the display and what its cells say besides it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    device: Device,
    group: String,
    playlist: String,
    pending: bool,
}

#[component]
pub(super) fn DeviceTable(filters: Filters, dialogs: Dialogs) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let devices = use_devices();
    let lists = use_library().playlists;
    let pending_ids = Memo::new(move |_| {
        sync.store.with(|s| {
            s.pending()
                .iter()
                .map(|p| p.op.change.entity_id().to_string())
                .collect::<Vec<_>>()
        })
    });
    let rows = Memo::new(move |_| {
        let pending = pending_ids.get();
        devices.groups.with(|groups| {
            let shown = devices.devices.with(|all| visible(all, groups, filters));
            lists.with(|lists| {
                shown
                    .into_iter()
                    .map(|d| Row {
                        group: group_name(groups, d.group_id.as_deref()),
                        playlist: effective_playlist(&d, groups, lists),
                        pending: pending.contains(&d.id),
                        device: d,
                    })
                    .collect::<Vec<_>>()
            })
        })
    });
    let by_id = Memo::new(move |_| {
        rows.with(|rows| {
            rows.iter()
                .map(|r| (r.device.id.clone(), r.clone()))
                .collect::<HashMap<_, _>>()
        })
    });
    let total = Memo::new(move |_| devices.devices.with(Vec::len));
    // "Last seen" is relative: it is brought up to date whenever the fleet changes.
    let now = RwSignal::new(now_ms());
    // Displays whose player has not acknowledged its latest manifest within a minute.
    let deploys = use_schedules().deploys;
    let hydrated = crate::sync::use_hydrated();
    let late = Memo::new(move |_| {
        if !hydrated.get() {
            return Default::default();
        }
        let at = now.get() as i64;
        deploys.with(|all| {
            all.iter()
                .filter(|d| d.state(at) == DeployState::Late)
                .map(|d| d.id.clone())
                .collect::<std::collections::HashSet<String>>()
        })
    });
    Effect::new(move |_| {
        devices.devices.track();
        now.set(now_ms());
    });
    view! {
        <p class="muted count" aria-live="polite">
            {move || format!("{} of {} displays", rows.with(Vec::len), total.get())}
        </p>
        <table class="table devices">
            <caption class="visually-hidden">"Displays"</caption>
            <thead>
                <tr>
                    <SortHeader label="Name" key=SortKey::Name filters/>
                    <SortHeader label="Group" key=SortKey::Group filters/>
                    <SortHeader label="Status" key=SortKey::Status filters/>
                    <SortHeader label="Last seen" key=SortKey::LastSeen filters/>
                    <SortHeader label="Time zone" key=SortKey::TimeZone filters/>
                    <th scope="col">"Playlist"</th>
                    <th scope="col">"Tags"</th>
                    <Show when=move || session.can_edit()>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </Show>
                </tr>
            </thead>
            <tbody>
                <Show when=move || rows.with(Vec::is_empty)>
                    <tr class="empty"><td colspan="8">"No display matches. Clear the search or filters, or add a display."</td></tr>
                </Show>
                <For each=move || rows.get() key=|r| r.device.id.clone() let:row>
                    <DeviceRow id=row.device.id by_id now late dialogs/>
                </For>
            </tbody>
        </table>
    }
}

#[component]
fn DeviceRow(
    id: String,
    by_id: Memo<HashMap<String, Row>>,
    now: RwSignal<f64>,
    late: Memo<std::collections::HashSet<String>>,
    dialogs: Dialogs,
) -> impl IntoView {
    let session = use_session();
    let key = id.clone();
    let row = Memo::new(move |_| by_id.with(|m| m.get(&key).cloned()));
    let cell =
        move |f: fn(&Row) -> String| move || row.with(|r| r.as_ref().map(f).unwrap_or_default());
    let pending = move || row.with(|r| r.as_ref().is_some_and(|r| r.pending));
    let paired = move || row.with(|r| r.as_ref().is_some_and(|r| r.device.paired));
    let status = Memo::new(move |_| {
        row.with(|r| {
            r.as_ref()
                .map_or(DeviceStatus::Offline, |r| r.device.status)
        })
    });
    let tags = Memo::new(move |_| {
        row.with(|r| {
            r.as_ref()
                .map(|r| r.device.tags.clone())
                .unwrap_or_default()
        })
    });
    let id = StoredValue::new(id);
    let open = move |what: Showing| dialogs.show(what, Some(id.get_value()));
    view! {
        <tr data-id=id.get_value() class:row-pending=pending>
            <th scope="row" class="name">
                <a href=format!("/devices/{}", id.get_value())>{cell(|r| r.device.name.clone())}</a>
                {move || paired().then(|| view! { <span class="paired" title="A player holds this display's token">" · paired"</span> })}
                {move || pending().then(|| view! { <span class="saving" title="Saving…">" · saving"</span> })}
            </th>
            <td>{cell(|r| r.group.clone())}</td>
            <td>{move || view! { <StatusBadge status=status.get()/> }}</td>
            <td>{move || row.with(|r| ago(r.as_ref().and_then(|r| r.device.last_seen), now.get()))}</td>
            <td>{cell(|r| r.device.timezone.clone())}</td>
            <td class="playlist">{cell(|r| r.playlist.clone())}
                {move || late.with(|l| l.contains(&id.get_value())).then(|| view! {
                    <span class="deploy late" data-deploy="Not received" title="The player has not acknowledged the latest manifest for over a minute">" not received"</span>
                })}
            </td>
            <td class="tags">{move || tags.get().into_iter().map(|t| view! { <span class="tag">{t}</span> }).collect_view()}</td>
            <Show when=move || session.can_edit()>
                <td class="actions">
                    <button type="button" class="button" on:click=move |_| open(Showing::Edit)>"Edit"</button>
                    {move || paired().then(|| view! {
                        <button type="button" class="button" on:click=move |_| open(Showing::Unpair)>"Unpair"</button>
                    })}
                    <button type="button" class="button danger" on:click=move |_| open(Showing::Delete)>"Delete"</button>
                </td>
            </Show>
        </tr>
    }
}
