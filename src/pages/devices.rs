//! Devices: the fleet table (sort, filter by group and status, search) with add,
//! rename, change group and tags, and delete. Every change goes through the sync
//! store: it shows at once, and rolls back with a toast if the server refuses.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{devices::fetch_devices, library::fetch_library},
    app::use_session,
    components::{ago, status_badge::StatusBadge},
    model::{parse_tags, Change, Device, DeviceGroup, DevicePatch, DeviceStatus, Playlist},
    sync::{
        platform::{new_op_id, now_ms},
        use_sync, SyncHandle,
    },
};

const TIME_ZONES: [&str; 24] = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Warsaw",
    "Europe/Istanbul",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Mexico_City",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Name,
    Group,
    Status,
    LastSeen,
    TimeZone,
}

#[derive(Clone, Copy)]
struct Filters {
    search: RwSignal<String>,
    group: RwSignal<String>,
    status: RwSignal<String>,
    sort: RwSignal<(SortKey, bool)>,
}

#[derive(Clone, Copy)]
enum Dialog {
    Closed,
    Add,
    Pair,
    Unpair,
    Edit,
    Delete,
}

#[derive(Clone, Copy)]
struct Dialogs {
    open: RwSignal<Dialog>,
    target: RwSignal<Option<String>>,
}

#[component]
pub fn DevicesPage() -> impl IntoView {
    let sync = use_sync();
    let query = use_query_map();
    let snapshot = Resource::new_blocking(move || sync.refetch.get(), |_| fetch_devices());
    // Playlist names for the Playlist column and pickers.
    let library = Resource::new_blocking(move || sync.refetch.get(), |_| fetch_library());
    let filters = Filters {
        search: RwSignal::new(query.with_untracked(|q| q.get("q").unwrap_or_default())),
        group: RwSignal::new(query.with_untracked(|q| q.get("group").unwrap_or_default())),
        status: RwSignal::new(query.with_untracked(|q| q.get("status").unwrap_or_default())),
        sort: RwSignal::new((SortKey::Name, true)),
    };
    let dialogs = Dialogs {
        open: RwSignal::new(Dialog::Closed),
        target: RwSignal::new(None),
    };
    let session = use_session();

    view! {
        <Title text="Devices"/>
        <header class="page-header">
            <h1>"Devices"</h1>
            // Reads the layout's session resource: inside Suspense, so hydration
            // waits for it instead of rendering a different tree.
            <Suspense fallback=|| ()>
                <Show when=move || session.can_edit()>
                    <div class="row-actions">
                        <button type="button" class="button" on:click=move |_| dialogs.open.set(Dialog::Add)>
                            "Add display"
                        </button>
                        <button type="button" class="button primary" on:click=move |_| dialogs.open.set(Dialog::Pair)>
                            "Pair display"
                        </button>
                    </div>
                </Show>
            </Suspense>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading displays…"</p> }>
            {move || {
                if let Some(Ok(lib)) = library.get() {
                    sync.seed_library(&lib);
                }
                snapshot.get().map(|result| result.map(|snap| {
                    sync.seed_devices(&snap);
                    let groups = StoredValue::new(snap.groups.clone());
                    view! {
                        <Toolbar filters groups/>
                        <GroupPlaylists/>
                        <DeviceTable filters groups dialogs/>
                        <DialogHost dialogs groups/>
                    }
                }))
            }}
        </Suspense>
    }
}

fn group_name(groups: &[DeviceGroup], id: Option<&str>) -> String {
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
fn GroupPlaylists() -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let data = Memo::new(move |_| sync.store.with(|s| (s.groups(), s.playlists())));
    view! {
        <details class="panel group-playlists">
            <summary>"Group playlists"</summary>
            <table class="table">
                <caption class="visually-hidden">"Default playlist of each group"</caption>
                <thead><tr><th scope="col">"Group"</th><th scope="col">"Default playlist"</th></tr></thead>
                <tbody>
                    {move || {
                        let (groups, lists) = data.get();
                        groups.into_iter().map(|g| {
                            let current = g.playlist_id.clone().unwrap_or_default();
                            let label = format!("Default playlist of {}", g.name);
                            let group = StoredValue::new(g.clone());
                            view! {
                                <tr data-group=g.id.clone()>
                                    <th scope="row">{g.name.clone()}</th>
                                    <td>
                                        <select aria-label=label disabled=move || !session.can_edit()
                                            on:change=move |ev| {
                                                let value = event_target_value(&ev);
                                                let playlist_id = Some(value).filter(|v| !v.is_empty());
                                                group.with_value(|g| if playlist_id != g.playlist_id {
                                                    sync.submit(Change::UpdateGroup { group_id: g.id.clone(), playlist_id }, Some(g.version));
                                                });
                                            }>
                                            <option value="" selected=current.is_empty()>"None"</option>
                                            {lists.iter().map(|p| view! {
                                                <option value=p.id.clone() selected=p.id == current>{p.name.clone()}</option>
                                            }).collect_view()}
                                        </select>
                                    </td>
                                </tr>
                            }
                        }).collect_view()
                    }}
                </tbody>
            </table>
        </details>
    }
}

#[component]
fn Toolbar(filters: Filters, groups: StoredValue<Vec<DeviceGroup>>) -> impl IntoView {
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
                    {groups.get_value().into_iter().map(|g| view! { <option value=g.id.clone()>{g.name.clone()}</option> }).collect_view()}
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

fn visible(devices: Vec<Device>, groups: &[DeviceGroup], filters: Filters) -> Vec<Device> {
    let search = filters.search.get().trim().to_lowercase();
    let group = filters.group.get();
    let status = filters.status.get();
    let (key, ascending) = filters.sort.get();
    let mut rows: Vec<Device> = devices
        .into_iter()
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

#[component]
fn DeviceTable(
    filters: Filters,
    groups: StoredValue<Vec<DeviceGroup>>,
    dialogs: Dialogs,
) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let pending_ids = Memo::new(move |_| {
        sync.store.with(|s| {
            s.pending()
                .iter()
                .map(|p| p.op.change.entity_id().to_string())
                .collect::<Vec<_>>()
        })
    });
    // One fold of the store per change; rows and the count derive from it.
    let all = Memo::new(move |_| sync.store.with(|s| s.devices()));
    let assignments = Memo::new(move |_| sync.store.with(|s| (s.groups(), s.playlists())));
    let rows = Memo::new(move |_| groups.with_value(|g| visible(all.get(), g, filters)));
    let total = Memo::new(move |_| all.with(Vec::len));
    view! {
        <p class="muted count" aria-live="polite">
            {move || format!("{} of {} displays", rows.get().len(), total.get())}
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
                {move || {
                    let now = now_ms();
                    let rows = rows.get();
                    if rows.is_empty() {
                        return view! {
                            <tr class="empty"><td colspan="8">"No display matches. Clear the search or filters, or add a display."</td></tr>
                        }.into_any();
                    }
                    let pending = pending_ids.get();
                    let (live_groups, lists) = assignments.get();
                    rows.into_iter().map(|d| {
                        let is_pending = pending.contains(&d.id);
                        let id = StoredValue::new(d.id.clone());
                        view! {
                            <tr data-id=d.id.clone() class:row-pending=is_pending>
                                <th scope="row" class="name">
                                    <a href=format!("/devices/{}", d.id)>{d.name.clone()}</a>
                                    {d.paired.then(|| view! { <span class="paired" title="A player holds this display's token">" · paired"</span> })}
                                    {is_pending.then(|| view! { <span class="saving" title="Saving…">" · saving"</span> })}
                                </th>
                                <td>{groups.with_value(|g| group_name(g, d.group_id.as_deref()))}</td>
                                <td><StatusBadge status=d.status/></td>
                                <td>{ago(d.last_seen, now)}</td>
                                <td>{d.timezone.clone()}</td>
                                <td class="playlist">{effective_playlist(&d, &live_groups, &lists)}</td>
                                <td class="tags">{d.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()}</td>
                                <Show when=move || session.can_edit()>
                                    <td class="actions">
                                        <button type="button" class="button" on:click=move |_| {
                                            dialogs.target.set(Some(id.get_value()));
                                            dialogs.open.set(Dialog::Edit);
                                        }>"Edit"</button>
                                        {d.paired.then(|| view! {
                                            <button type="button" class="button" on:click=move |_| {
                                                dialogs.target.set(Some(id.get_value()));
                                                dialogs.open.set(Dialog::Unpair);
                                            }>"Unpair"</button>
                                        })}
                                        <button type="button" class="button danger" on:click=move |_| {
                                            dialogs.target.set(Some(id.get_value()));
                                            dialogs.open.set(Dialog::Delete);
                                        }>"Delete"</button>
                                    </td>
                                </Show>
                            </tr>
                        }
                    }).collect_view().into_any()
                }}
            </tbody>
        </table>
    }
}

#[component]
fn DialogHost(dialogs: Dialogs, groups: StoredValue<Vec<DeviceGroup>>) -> impl IntoView {
    let sync = use_sync();
    move || {
        let close = move || {
            dialogs.open.set(Dialog::Closed);
            dialogs.target.set(None);
        };
        let target = dialogs
            .target
            .get()
            .and_then(|id| sync.store.with_untracked(|s| s.device(&id)));
        match (dialogs.open.get(), target) {
            (Dialog::Add, _) => view! { <DeviceForm device=None groups on_done=close/> }.into_any(),
            (Dialog::Edit, Some(d)) => {
                view! { <DeviceForm device=Some(d) groups on_done=close/> }.into_any()
            }
            (Dialog::Delete, Some(d)) => {
                view! {
                    <ConfirmChange
                        title=format!("Delete “{}”?", d.name)
                        body="The display is removed from the fleet and stops receiving content. This cannot be undone."
                        action="Delete"
                        change=Change::DeleteDevice { device_id: d.id.clone() }
                        version=d.version
                        on_done=close/>
                }.into_any()
            }
            (Dialog::Pair, _) => view! { <PairForm groups on_done=close/> }.into_any(),
            (Dialog::Unpair, Some(d)) => {
                view! {
                    <ConfirmChange
                        title=format!("Unpair “{}”?", d.name)
                        body="Its player is disconnected at once and its token stops working; the screen goes back to showing a pairing code."
                        action="Unpair"
                        change=Change::UnpairDevice { device_id: d.id.clone() }
                        version=d.version
                        on_done=close/>
                }.into_any()
            }
            _ => ().into_any(),
        }
    }
}

/// Add (no device) or edit (a device): name, group, time zone, tags.
#[component]
fn DeviceForm(
    device: Option<Device>,
    groups: StoredValue<Vec<DeviceGroup>>,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let sync = use_sync();
    let editing = device.clone();
    let editing_existing = device.is_some();
    let title = if device.is_some() {
        "Edit display"
    } else {
        "Add display"
    };
    let name = RwSignal::new(device.as_ref().map(|d| d.name.clone()).unwrap_or_default());
    let group = RwSignal::new(
        device
            .as_ref()
            .and_then(|d| d.group_id.clone())
            .unwrap_or_default(),
    );
    let timezone = RwSignal::new(
        device
            .as_ref()
            .map_or_else(|| "UTC".to_string(), |d| d.timezone.clone()),
    );
    let tags = RwSignal::new(
        device
            .as_ref()
            .map(|d| d.tags.join(", "))
            .unwrap_or_default(),
    );
    let playlist = RwSignal::new(
        device
            .as_ref()
            .and_then(|d| d.playlist_id.clone())
            .unwrap_or_default(),
    );
    let lists = sync.store.with_untracked(|s| s.playlists());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let group_id = Some(group.get_untracked()).filter(|g| !g.is_empty());
        let playlist_id = Some(playlist.get_untracked()).filter(|p| !p.is_empty());
        save(
            sync,
            editing.as_ref(),
            Fields {
                name: name.get_untracked(),
                group_id,
                timezone: timezone.get_untracked(),
                tags: parse_tags(&tags.get_untracked()),
                playlist_id,
            },
        );
        on_done();
    };
    view! {
        <div class="dialog-backdrop">
            <form class="dialog" role="dialog" aria-modal="true" aria-labelledby="device-form-title" on:submit=submit>
                <h2 id="device-form-title">{title}</h2>
                <label for="device-name">"Name"</label>
                <input id="device-name" type="text" autofocus
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="device-group">"Group"</label>
                <select id="device-group" prop:value=move || group.get() on:change=move |ev| group.set(event_target_value(&ev))>
                    <option value="">"No group"</option>
                    {groups.get_value().into_iter().map(|g| {
                        let selected = g.id == group.get_untracked();
                        view! { <option value=g.id.clone() selected=selected>{g.name.clone()}</option> }
                    }).collect_view()}
                </select>
                <label for="device-timezone">"Time zone"</label>
                <input id="device-timezone" type="text" list="time-zones"
                    prop:value=move || timezone.get() on:input=move |ev| timezone.set(event_target_value(&ev))/>
                <datalist id="time-zones">
                    {TIME_ZONES.iter().map(|tz| view! { <option value=*tz></option> }).collect_view()}
                </datalist>
                <label for="device-tags">"Tags (comma-separated)"</label>
                <input id="device-tags" type="text"
                    prop:value=move || tags.get() on:input=move |ev| tags.set(event_target_value(&ev))/>
                <Show when=move || editing_existing>
                    <label for="device-playlist">"Playlist"</label>
                    <select id="device-playlist" on:change=move |ev| playlist.set(event_target_value(&ev))>
                        <option value="" selected=playlist.get_untracked().is_empty()>"Group default"</option>
                        {lists.iter().map(|p| {
                            let selected = p.id == playlist.get_untracked();
                            view! { <option value=p.id.clone() selected=selected>{p.name.clone()}</option> }
                        }).collect_view()}
                    </select>
                </Show>
                <div class="dialog-actions">
                    <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                    <button type="submit" class="button primary">"Save"</button>
                </div>
            </form>
        </div>
    }
}

/// What the display form holds.
struct Fields {
    name: String,
    group_id: Option<String>,
    timezone: String,
    tags: Vec<String>,
    playlist_id: Option<String>,
}

/// Sends only the fields that changed, against the version the operator saw.
fn save(sync: SyncHandle, existing: Option<&Device>, f: Fields) {
    let Fields {
        name,
        group_id,
        timezone,
        tags,
        playlist_id,
    } = f;
    match existing {
        None => {
            sync.submit(
                Change::CreateDevice {
                    device_id: new_op_id(),
                    name,
                    group_id,
                    tags,
                    timezone,
                },
                None,
            );
        }
        Some(d) => {
            let patch = DevicePatch {
                name: (name != d.name).then_some(name),
                group_id: (group_id != d.group_id).then_some(group_id),
                tags: (tags != d.tags).then_some(tags),
                timezone: (timezone != d.timezone).then_some(timezone),
                playlist_id: (playlist_id != d.playlist_id).then_some(playlist_id),
            };
            if !patch.fields().is_empty() {
                sync.submit(
                    Change::UpdateDevice {
                        device_id: d.id.clone(),
                        patch,
                    },
                    Some(d.version),
                );
            }
        }
    }
}

/// A change that cannot be undone (Delete, Unpair), confirmed first.
#[component]
fn ConfirmChange(
    title: String,
    body: &'static str,
    action: &'static str,
    change: Change,
    version: i64,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let sync = use_sync();
    let change = StoredValue::new(change);
    view! {
        <div class="dialog-backdrop">
            <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-body">
                <h2 id="confirm-title">{title}</h2>
                <p id="confirm-body">{body}</p>
                <div class="dialog-actions">
                    <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                    <button type="button" class="button danger" on:click=move |_| {
                        sync.submit(change.get_value(), Some(version));
                        on_done();
                    }>{action}</button>
                </div>
            </div>
        </div>
    }
}

/// "Pair display": the code a new player shows, and what to call the display.
#[component]
fn PairForm(
    groups: StoredValue<Vec<DeviceGroup>>,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let sync = use_sync();
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let group = RwSignal::new(String::new());
    let timezone = RwSignal::new("UTC".to_string());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let c = crate::model::normalize_pairing_code(&code.get_untracked());
        if c.len() != 6 {
            error.set(Some(
                "The code on the screen has six letters and digits.".into(),
            ));
            return;
        }
        sync.submit(
            Change::PairDevice {
                device_id: new_op_id(),
                code: c,
                name: name.get_untracked(),
                group_id: Some(group.get_untracked()).filter(|g| !g.is_empty()),
                timezone: timezone.get_untracked(),
            },
            None,
        );
        on_done();
    };
    view! {
        <div class="dialog-backdrop">
            <form class="dialog" role="dialog" aria-modal="true" aria-labelledby="pair-title" on:submit=submit>
                <h2 id="pair-title">"Pair display"</h2>
                <p class="muted">"Open /player on the screen: it shows a code. Enter it here."</p>
                <label for="pair-code">"Code"</label>
                <input id="pair-code" type="text" autofocus autocomplete="off" placeholder="ABC-DEF"
                    prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                <label for="pair-name">"Name"</label>
                <input id="pair-name" type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="pair-group">"Group"</label>
                <select id="pair-group" on:change=move |ev| group.set(event_target_value(&ev))>
                    <option value="">"No group"</option>
                    {groups.get_value().into_iter().map(|g| view! { <option value=g.id.clone()>{g.name.clone()}</option> }).collect_view()}
                </select>
                <label for="pair-timezone">"Time zone"</label>
                <input id="pair-timezone" type="text" list="time-zones"
                    prop:value=move || timezone.get() on:input=move |ev| timezone.set(event_target_value(&ev))/>
                <datalist id="time-zones">
                    {TIME_ZONES.iter().map(|tz| view! { <option value=*tz></option> }).collect_view()}
                </datalist>
                {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <div class="dialog-actions">
                    <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                    <button type="submit" class="button primary">"Pair"</button>
                </div>
            </form>
        </div>
    }
}
