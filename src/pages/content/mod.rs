//! Content: the library. Upload by drop or picker (a progress bar each), web
//! pages by URL, grid and table views, search and filters, tags added and
//! removed inline, a validity window, "used in", and batch tag/delete. Every
//! edit is an op through the sync store: it shows at once and rolls back with a
//! toast if the server refuses (deleting an item a playlist uses, say).

mod dialogs;
mod library;

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;

use self::{
    dialogs::ContentDialogs,
    library::{BatchBar, Library},
};
use crate::{
    app::use_session,
    components::uploader::{UploadList, Uploads},
    model::{bytes_used, ContentKind},
    sync::use_library,
};

#[derive(Clone, Copy)]
struct Filters {
    search: RwSignal<String>,
    kind: RwSignal<String>,
    tag: RwSignal<String>,
    grid: RwSignal<bool>,
}

/// The page's own state: filters, the selection, and which dialog is open.
#[derive(Clone, Copy)]
struct Ui {
    filters: Filters,
    selected: RwSignal<BTreeSet<String>>,
    editing: RwSignal<Option<String>>,
    /// The item whose Delete waits for the operator to confirm.
    deleting: RwSignal<Option<String>>,
    /// "Delete selected" waits for the operator to confirm.
    deleting_selected: RwSignal<bool>,
    adding_web: RwSignal<bool>,
}

#[component]
pub fn ContentPage() -> impl IntoView {
    let session = use_session();
    let library = use_library();
    let uploads = Uploads::default();
    let ui = Ui {
        filters: Filters {
            search: RwSignal::new(String::new()),
            kind: RwSignal::new(String::new()),
            tag: RwSignal::new(String::new()),
            grid: RwSignal::new(true),
        },
        selected: RwSignal::new(BTreeSet::new()),
        editing: RwSignal::new(None),
        deleting: RwSignal::new(None),
        deleting_selected: RwSignal::new(false),
        adding_web: RwSignal::new(false),
    };
    view! {
        <Title text="Content"/>
        <header class="page-header">
            <h1>"Content"</h1>
            <Suspense fallback=|| ()>
                <Show when=move || session.can_edit()>
                    <div class="row-actions">
                        <button type="button" class="button" on:click=move |_| ui.adding_web.set(true)>"Add web page"</button>
                        <label class="button primary file-button">
                            "Upload files"
                            <input type="file" multiple class="visually-hidden" aria-label="Upload files"
                                accept="image/png,image/jpeg,image/webp,image/gif,video/mp4,video/webm"
                                on:change=move |_ev| {
                                    #[cfg(feature = "hydrate")]
                                    {
                                        let input: web_sys::HtmlInputElement = event_target(&_ev);
                                        if let Some(files) = input.files() {
                                            uploads.start(files);
                                        }
                                        input.set_value("");
                                    }
                                }/>
                        </label>
                    </div>
                </Show>
            </Suspense>
        </header>
        <Suspense fallback=|| ()>
            <Show when=move || session.can_edit()>
                <DropZone uploads/>
            </Show>
        </Suspense>
        <UploadList uploads/>
        <Suspense fallback=|| view! { <p class="muted">"Loading the library…"</p> }>
            {move || library.ready.get().map(|result| result.map(|()| view! {
                <Toolbar ui/>
                <BatchBar ui/>
                <Library ui/>
                <ContentDialogs ui/>
            }))}
        </Suspense>
    }
}

#[component]
fn DropZone(uploads: Uploads) -> impl IntoView {
    let over = RwSignal::new(false);
    view! {
        <div class="dropzone" class:over=move || over.get()
            on:dragover=move |ev| { ev.prevent_default(); over.set(true); }
            on:dragleave=move |_| over.set(false)
            on:drop=move |ev| {
                ev.prevent_default();
                over.set(false);
                #[cfg(feature = "hydrate")]
                if let Some(files) = ev.data_transfer().and_then(|dt| dt.files()) {
                    uploads.start(files);
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = (ev, uploads);
            }>
            "Drop images (PNG, JPEG, WebP, GIF) or videos (MP4, WebM) here to upload them."
        </div>
    }
}

#[component]
fn Toolbar(ui: Ui) -> impl IntoView {
    let lib = use_library();
    let content = lib.content;
    let storage = move || {
        let quota = lib.storage_quota.get().filter(|q| *q > 0)?;
        let used = content.with(|all| bytes_used(all));
        Some(format!(
            "Storage: {} of {} used",
            library::human_size(used),
            library::human_size(quota)
        ))
    };
    let f = ui.filters;
    let tags = Memo::new(move |_| {
        content.with(|all| {
            all.iter()
                .flat_map(|c| c.tags.iter().cloned())
                .collect::<BTreeSet<_>>()
        })
    });
    view! {
        <div class="toolbar" role="search">
            <input type="search" placeholder="Search names, tags and URLs" aria-label="Search"
                prop:value=move || f.search.get() on:input=move |ev| f.search.set(event_target_value(&ev))/>
            <label>"Type "
                <select aria-label="Type" prop:value=move || f.kind.get() on:change=move |ev| f.kind.set(event_target_value(&ev))>
                    <option value="">"All types"</option>
                    {ContentKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Tag "
                <select aria-label="Tag" prop:value=move || f.tag.get() on:change=move |ev| f.tag.set(event_target_value(&ev))>
                    <option value="">"All tags"</option>
                    {move || tags.get().into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                </select>
            </label>
            <div class="segmented" role="group" aria-label="View">
                <button type="button" class="button" aria-pressed=move || f.grid.get().to_string() on:click=move |_| f.grid.set(true)>"Grid"</button>
                <button type="button" class="button" aria-pressed=move || (!f.grid.get()).to_string() on:click=move |_| f.grid.set(false)>"Table"</button>
            </div>
            <span class="muted storage" aria-live="polite">{storage}</span>
        </div>
    }
}
