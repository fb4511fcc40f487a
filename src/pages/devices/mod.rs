//! Devices: the fleet table (sort, filter by group and status, search) with add,
//! rename, change group and tags, pair, unpair and delete. Every change goes
//! through the sync store: it shows at once, and rolls back with a toast if the
//! server refuses.

mod dialogs;
mod index;
mod table;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    app::use_session,
    sync::{use_devices, use_library},
};

use self::{
    dialogs::DialogHost,
    table::{DeviceTable, GroupPlaylists, Toolbar},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Name,
    Group,
    Status,
    LastSeen,
    TimeZone,
}

/// The table's search, filters and sort, seeded from the query string.
#[derive(Clone, Copy)]
struct Filters {
    search: RwSignal<String>,
    group: RwSignal<String>,
    status: RwSignal<String>,
    sort: RwSignal<(SortKey, bool)>,
}

/// Which dialog is open.
#[derive(Clone, Copy)]
enum Showing {
    Nothing,
    Add,
    Pair,
    Unpair,
    Edit,
    Delete,
}

/// The open dialog and the display it is about.
#[derive(Clone, Copy)]
struct Dialogs {
    open: RwSignal<Showing>,
    target: RwSignal<Option<String>>,
}

impl Dialogs {
    fn show(&self, what: Showing, id: Option<String>) {
        self.target.set(id);
        self.open.set(what);
    }
    fn close(&self) {
        self.open.set(Showing::Nothing);
        self.target.set(None);
    }
}

#[component]
pub fn DevicesPage() -> impl IntoView {
    let query = use_query_map();
    let devices = use_devices();
    // Playlist names for the Playlist column and pickers.
    let library = use_library();
    let filters = Filters {
        search: RwSignal::new(query.with_untracked(|q| q.get("q").unwrap_or_default())),
        group: RwSignal::new(query.with_untracked(|q| q.get("group").unwrap_or_default())),
        status: RwSignal::new(query.with_untracked(|q| q.get("status").unwrap_or_default())),
        sort: RwSignal::new((SortKey::Name, true)),
    };
    let dialogs = Dialogs {
        open: RwSignal::new(Showing::Nothing),
        target: RwSignal::new(None),
    };
    let session = use_session();
    // Both snapshots, so the table never renders without its playlist names.
    let ready = move || match (devices.ready.get(), library.ready.get()) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Some(Err(e)),
        (Some(Ok(())), Some(Ok(()))) => Some(Ok(())),
        _ => None,
    };

    view! {
        <Title text="Devices"/>
        <header class="page-header">
            <h1>"Devices"</h1>
            // Reads the layout's session resource: inside Suspense, so hydration
            // waits for it instead of rendering a different tree.
            <Suspense fallback=|| ()>
                <Show when=move || session.can_edit()>
                    <div class="row-actions">
                        <button type="button" class="button" on:click=move |_| dialogs.show(Showing::Add, None)>
                            "Add display"
                        </button>
                        <button type="button" class="button primary" on:click=move |_| dialogs.show(Showing::Pair, None)>
                            "Pair display"
                        </button>
                    </div>
                </Show>
            </Suspense>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading displays…"</p> }>
            {move || ready().map(|result| result.map(|()| view! {
                <Toolbar filters/>
                <GroupPlaylists/>
                <DeviceTable filters dialogs/>
                <DialogHost dialogs/>
            }))}
        </Suspense>
    }
}
