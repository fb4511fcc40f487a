//! The fleet table, its toolbar, and the group playlists. Rows are keyed by
//! id: an edit elsewhere re-renders only the cells it changed. Only the rows
//! in the window (and a margin) are drawn.

use std::collections::HashMap;

use leptos::prelude::*;

use super::{
    index::{group_name, FleetIndex, Query},
    Dialogs, Filters, Showing, SortKey,
};
use crate::{
    app::use_session,
    components::{ago, status_badge::StatusBadge},
    model::{Change, DeployState, Device, DeviceGroup, DeviceStatus, Playlist},
    sync::{platform::now_ms, use_devices, use_library, use_schedules, use_sync},
};

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

/// One row as shown: the display, what its cells say besides it, and its
/// place in the table (for `aria-rowindex`).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    device: Device,
    group: String,
    playlist: String,
    pending: bool,
    place: usize,
}

/// Rows drawn beyond the view, above and below, so a scroll shows drawn rows.
const MARGIN: usize = 12;
/// Up to this many rows the table draws them all: cheap at that size, and
/// the browser's find-in-page then sees every display.
const DRAW_ALL: usize = 250;
/// Rows the server draws, and the browser until it has measured its window:
/// the first screen of a tall display and more.
const FIRST_ROWS: usize = 60;
/// A row's height until one is measured (style.css keeps rows one line).
const ROW_HEIGHT: f64 = 45.0;

/// Which rows are drawn: the ones in the window plus a margin, of `len`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Viewport {
    /// How far the window's top is below the table body's top, in pixels.
    top: f64,
    height: f64,
    row: f64,
}

impl Viewport {
    fn rows(self, len: usize) -> (usize, usize) {
        if len <= DRAW_ALL {
            return (0, len);
        }
        if self.height <= 0.0 {
            return (0, FIRST_ROWS.min(len));
        }
        let first = (self.top / self.row).floor().max(0.0) as usize;
        let last = ((self.top + self.height) / self.row).ceil().max(0.0) as usize;
        let last = last.saturating_add(MARGIN).min(len);
        (first.saturating_sub(MARGIN).min(last), last)
    }
}

/// The fleet table. It holds an index of the whole fleet (sort, filters,
/// search; see `index`) and draws only the rows in the window plus a margin,
/// between two spacers as tall as the rows not drawn, so 20,000 displays
/// cost the page what sixty do. The server draws the first rows.
#[component]
pub(super) fn DeviceTable(filters: Filters, dialogs: Dialogs) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let devices = use_devices();
    let lists = use_library().playlists;
    let index = StoredValue::new(FleetIndex::default());
    // Moves when the rows shown (which, and in what order) change.
    let shape = Memo::new(move |_| {
        let query = Query {
            search: filters.search.get(),
            group: filters.group.get(),
            status: filters.status.get(),
            sort: filters.sort.get(),
        };
        let groups = devices.groups.get();
        devices
            .with_store(|store| index.try_update_value(|ix| ix.refresh(store, &groups, &query)))
            .unwrap_or_default()
    });
    // Shown and in all: the index's, or the server's while only the first
    // screen of a big fleet is here.
    let counts = Memo::new(move |_| {
        // Read, not only tracked: the index is brought up to date by it.
        shape.get();
        let here = index.with_value(|ix| (ix.shown().len(), ix.total()));
        match devices.first_screen.get() {
            Some(first) => (first.matching, first.total),
            None => here,
        }
    });
    let drawable = Memo::new(move |_| {
        // Read, not only tracked: the index is brought up to date by it.
        shape.get();
        index.with_value(|ix| ix.shown().len())
    });
    let viewport = RwSignal::new(Viewport {
        top: 0.0,
        height: 0.0,
        row: ROW_HEIGHT,
    });
    let body = NodeRef::<leptos::html::Tbody>::new();
    let range = Memo::new(move |_| viewport.get().rows(drawable.get()));
    let still_coming = move || counts.get().0.saturating_sub(drawable.get());
    let pending_ids = Memo::new(move |_| {
        sync.store.with(|s| {
            s.pending()
                .iter()
                .map(|p| p.op.change.entity_id().to_string())
                .collect::<std::collections::HashSet<_>>()
        })
    });
    // The drawn rows, read from the store one by one.
    let window = Memo::new(move |_| {
        // Read, not only tracked: the index is brought up to date by it.
        shape.get();
        let (first, last) = range.get();
        let pending = pending_ids.get();
        let ids: Vec<String> = index.with_value(|ix| {
            ix.shown()[first.min(last)..last.min(ix.shown().len())]
                .iter()
                .map(|id| id.to_string())
                .collect()
        });
        devices.groups.with(|groups| {
            lists.with(|lists| {
                devices.with_store(|store| {
                    ids.iter()
                        .enumerate()
                        .filter_map(|(k, id)| store.device(id).map(|d| (k, d)))
                        .map(|(k, d)| Row {
                            group: group_name(groups, d.group_id.as_deref()),
                            playlist: effective_playlist(&d, groups, lists),
                            pending: pending.contains(&d.id),
                            place: first + k,
                            device: d,
                        })
                        .collect::<Vec<_>>()
                })
            })
        })
    });
    let by_id = Memo::new(move |_| {
        window.with(|rows| {
            rows.iter()
                .map(|r| (r.device.id.clone(), r.clone()))
                .collect::<HashMap<_, _>>()
        })
    });
    // "Last seen" is relative: it is brought up to date whenever drawn rows change.
    let now = RwSignal::new(now_ms());
    let hydrated = crate::sync::use_hydrated();
    Effect::new(move |_| {
        window.with(|_| ());
        now.set(now_ms());
    });
    follow_window(body, viewport, drawable, hydrated);
    // The spacers' height is an attribute, not a style: the policy allows
    // no inline style, and a cell's `height` is a presentational hint.
    let spacer = move |rows: Signal<usize>| {
        use leptos::html::{td, tr};
        let height = move || format!("{}", (rows.get() as f64 * viewport.with(|v| v.row)).round());
        tr().class("spacer")
            .attr("aria-hidden", "true")
            .child(td().attr("colspan", "8").attr("height", height))
    };
    let above = Signal::derive(move || range.get().0);
    let below = Signal::derive(move || drawable.get() - range.get().1.min(drawable.get()));
    view! {
        <p class="muted count" aria-live="polite">
            {move || {
                let (shown, total) = counts.get();
                format!("{shown} of {total} displays")
            }}
        </p>
        <table class="table devices" aria-rowcount=move || counts.get().0 + 1>
            <caption class="visually-hidden">"Displays"</caption>
            <thead>
                <tr aria-rowindex="1">
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
            <tbody node_ref=body>
                <Show when=move || counts.with(|c| c.0 == 0)>
                    <tr class="empty"><td colspan="8">"No display matches. Clear the search or filters, or add a display."</td></tr>
                </Show>
                {spacer(above)}
                <For each=move || window.get() key=|r| r.device.id.clone() let:row>
                    <DeviceRow id=row.device.id by_id now hydrated dialogs/>
                </For>
                {spacer(below)}
                <Show when=move || { still_coming() > 0 }>
                    <tr class="empty coming"><td colspan="8">{move || format!("Loading {} more displays…", still_coming())}</td></tr>
                </Show>
            </tbody>
        </table>
    }
}

/// Keeps `viewport` on the part of the table body the browser window shows,
/// and the row height measured, from hydration on.
fn follow_window(
    body: NodeRef<leptos::html::Tbody>,
    viewport: RwSignal<Viewport>,
    drawable: Memo<usize>,
    hydrated: Signal<bool>,
) {
    #[cfg(feature = "hydrate")]
    {
        let measure = move || {
            let Some(body) = body.get_untracked() else {
                return;
            };
            let window = window();
            let height = window
                .inner_height()
                .ok()
                .and_then(|h| h.as_f64())
                .unwrap_or(800.0);
            let top = -body.get_bounding_client_rect().top();
            let row = body
                .query_selector("tr[data-id]")
                .ok()
                .flatten()
                .map(|r| r.get_bounding_client_rect().height())
                .filter(|h| *h > 0.0)
                .unwrap_or_else(|| viewport.with_untracked(|v| v.row));
            let next = Viewport { top, height, row };
            // Only a move across a row boundary draws anything new.
            let now = viewport.get_untracked();
            if next.rows(usize::MAX) != now.rows(usize::MAX) || next.row != now.row {
                viewport.set(next);
            }
        };
        let scroll = window_event_listener(leptos::ev::scroll, move |_| measure());
        let resize = window_event_listener(leptos::ev::resize, move |_| measure());
        on_cleanup(move || {
            scroll.remove();
            resize.remove();
        });
        // Once hydrated, and whenever the list's length moves the body.
        Effect::new(move |_| {
            drawable.get();
            if hydrated.get() {
                measure();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (body, viewport, drawable, hydrated);
}

#[component]
fn DeviceRow(
    id: String,
    by_id: Memo<HashMap<String, Row>>,
    now: RwSignal<f64>,
    hydrated: Signal<bool>,
    dialogs: Dialogs,
) -> impl IntoView {
    let session = use_session();
    let schedules = use_schedules();
    let key = id.clone();
    let row = Memo::new(move |_| by_id.with(|m| m.get(&key).cloned()));
    let cell =
        move |f: fn(&Row) -> String| move || row.with(|r| r.as_ref().map(f).unwrap_or_default());
    let pending = move || row.with(|r| r.as_ref().is_some_and(|r| r.pending));
    let paired = move || row.with(|r| r.as_ref().is_some_and(|r| r.device.paired));
    let place = move || row.with(|r| r.as_ref().map_or(0, |r| r.place + 2));
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
    // Whether its player has not acknowledged its latest manifest within a
    // minute; drawn after hydration only, since it moves with the clock.
    let late = Memo::new(move |_| {
        hydrated.get()
            && schedules.with_store(|s| {
                id.with_value(|id| {
                    s.deploys
                        .confirmed(id)
                        .is_some_and(|d| d.state(now.get() as i64) == DeployState::Late)
                })
            })
    });
    let open = move |what: Showing| dialogs.show(what, Some(id.get_value()));
    view! {
        <tr data-id=id.get_value() aria-rowindex=place class:row-pending=pending>
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
                {move || late.get().then(|| view! {
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
