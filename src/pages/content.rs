//! Content: the library. Upload by drop or picker (a progress bar each), web
//! pages by URL, grid and table views, search and filters, tags added and
//! removed inline, a validity window, "used in", and batch tag/delete. Every
//! edit is an op through the sync store: it shows at once and rolls back with a
//! toast if the server refuses (deleting an item a playlist uses, say).

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::library::fetch_library,
    app::use_session,
    components::uploader::{UploadList, Uploads},
    model::{
        format_duration, normalize_tags, Change, Content, ContentKind, ContentPatch, Playlist,
    },
    sync::{platform::new_op_id, use_sync, SyncHandle},
};

#[derive(Clone, Copy)]
struct Filters {
    search: RwSignal<String>,
    kind: RwSignal<String>,
    tag: RwSignal<String>,
    grid: RwSignal<bool>,
}

#[derive(Clone, Copy)]
struct Ui {
    filters: Filters,
    selected: RwSignal<BTreeSet<String>>,
    editing: RwSignal<Option<String>>,
    adding_web: RwSignal<bool>,
}

#[component]
pub fn ContentPage() -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let snapshot = Resource::new_blocking(move || sync.refetch.get(), |_| fetch_library());
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
            {move || snapshot.get().map(|result| result.map(|snap| {
                sync.seed_library(&snap);
                view! {
                    <Toolbar ui/>
                    <BatchBar ui/>
                    <Library ui/>
                    <ContentDialogs ui/>
                }
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
    let sync = use_sync();
    let f = ui.filters;
    let tags = Memo::new(move |_| {
        sync.store.with(|s| {
            s.content()
                .into_iter()
                .flat_map(|c| c.tags)
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
        </div>
    }
}

fn matches(c: &Content, f: &Filters) -> bool {
    let search = f.search.get().trim().to_lowercase();
    let kind = f.kind.get();
    let tag = f.tag.get();
    (kind.is_empty() || c.kind.as_str() == kind)
        && (tag.is_empty() || c.tags.contains(&tag))
        && (search.is_empty()
            || c.name.to_lowercase().contains(&search)
            || c.tags.iter().any(|t| t.to_lowercase().contains(&search))
            || c.url
                .as_deref()
                .is_some_and(|u| u.to_lowercase().contains(&search)))
}

/// Names of the playlists that show `content_id`.
fn used_in(playlists: &[Playlist], content_id: &str) -> Vec<String> {
    playlists
        .iter()
        .filter(|p| p.items.iter().any(|i| i.content_id == content_id))
        .map(|p| p.name.clone())
        .collect()
}

fn facts(c: &Content) -> String {
    let mut out = vec![c.kind.label().to_string()];
    if let (Some(w), Some(h)) = (c.width, c.height) {
        out.push(format!("{w}×{h}"));
    }
    if let Some(ms) = c.duration_ms {
        out.push(format_duration(ms));
    }
    if let Some(size) = c.size {
        out.push(human_size(size));
    }
    if let Some(r) = c.reload_seconds {
        out.push(format!("reloads every {r} s"));
    }
    out.join(" · ")
}

pub fn human_size(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

fn set_tags(sync: SyncHandle, c: &Content, tags: Vec<String>) {
    let tags = normalize_tags(&tags);
    if tags != c.tags {
        sync.submit(
            Change::UpdateContent {
                content_id: c.id.clone(),
                patch: ContentPatch {
                    tags: Some(tags),
                    ..Default::default()
                },
            },
            Some(c.version),
        );
    }
}

#[component]
fn BatchBar(ui: Ui) -> impl IntoView {
    let sync = use_sync();
    let tag = RwSignal::new(String::new());
    let count = move || ui.selected.with(BTreeSet::len);
    let chosen = move || {
        let ids = ui.selected.get_untracked();
        sync.store
            .with_untracked(|s| s.content())
            .into_iter()
            .filter(|c| ids.contains(&c.id))
            .collect::<Vec<_>>()
    };
    view! {
        <Show when=move || { count() > 0 }>
            <div class="batch-bar" role="region" aria-label="Selection">
                <span>{move || format!("{} selected", count())}</span>
                <form on:submit=move |ev| {
                    ev.prevent_default();
                    let t = tag.get_untracked().trim().to_string();
                    if t.is_empty() { return; }
                    for c in chosen() {
                        let mut tags = c.tags.clone();
                        tags.push(t.clone());
                        set_tags(sync, &c, tags);
                    }
                    tag.set(String::new());
                }>
                    <input type="text" placeholder="tag" aria-label="Tag to add to the selection"
                        prop:value=move || tag.get() on:input=move |ev| tag.set(event_target_value(&ev))/>
                    <button type="submit" class="button">"Tag selected"</button>
                </form>
                <button type="button" class="button danger" on:click=move |_| {
                    for c in chosen() {
                        sync.submit(Change::DeleteContent { content_id: c.id.clone() }, Some(c.version));
                    }
                    ui.selected.set(BTreeSet::new());
                }>"Delete selected"</button>
                <button type="button" class="button ghost" on:click=move |_| ui.selected.set(BTreeSet::new())>"Clear selection"</button>
            </div>
        </Show>
    }
}

#[component]
fn Library(ui: Ui) -> impl IntoView {
    let sync = use_sync();
    let all = Memo::new(move |_| sync.store.with(|s| (s.content(), s.playlists())));
    let rows = Memo::new(move |_| {
        all.with(|(items, _)| {
            items
                .iter()
                .filter(|c| matches(c, &ui.filters))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let pending = Memo::new(move |_| {
        sync.store.with(|s| {
            s.pending()
                .iter()
                .map(|p| p.op.change.entity_id().to_string())
                .collect::<BTreeSet<_>>()
        })
    });
    // Each card with what it shows besides the item; keyed below by all of it,
    // so a change to one item re-renders that card only (and a tag being typed
    // in another card is not wiped by someone else's edit).
    let cards = Memo::new(move |_| {
        let pending = pending.get();
        all.with(|(_, lists)| {
            rows.get()
                .into_iter()
                .map(|c| {
                    let used = used_in(lists, &c.id);
                    let is_pending = pending.contains(&c.id);
                    (c, used, is_pending)
                })
                .collect::<Vec<_>>()
        })
    });
    let key = |(c, used, pending): &(Content, Vec<String>, bool)| {
        (c.id.clone(), c.version, used.clone(), *pending)
    };
    view! {
        <p class="muted count" aria-live="polite">
            {move || format!("{} of {} items", rows.with(Vec::len), all.with(|(i, _)| i.len()))}
        </p>
        <Show when=move || rows.with(|r| !r.is_empty())
            fallback=|| view! { <p class="empty-state">"Nothing here yet. Upload images or videos, or add a web page; clear the search or filters if you expected items."</p> }>
            <Show when=move || ui.filters.grid.get()
                fallback=move || view! {
                    <table class="table content-table">
                        <caption class="visually-hidden">"Library"</caption>
                        <thead><tr>
                            <th scope="col"><span class="visually-hidden">"Select"</span></th>
                            <th scope="col">"Preview"</th><th scope="col">"Name"</th><th scope="col">"Details"</th>
                            <th scope="col">"Tags"</th><th scope="col">"Used in"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            <For each=move || cards.get() key=key let:card>
                                <ContentRow item=card.0 used=card.1 is_pending=card.2 ui/>
                            </For>
                        </tbody>
                    </table>
                }>
                <ul class="content-grid" aria-label="Library">
                    <For each=move || cards.get() key=key let:card>
                        <ContentCard item=card.0 used=card.1 is_pending=card.2 ui/>
                    </For>
                </ul>
            </Show>
        </Show>
    }
}

#[component]
fn SelectBox(id: String, name: String, ui: Ui) -> impl IntoView {
    let key = id.clone();
    view! {
        <input type="checkbox" aria-label=format!("Select {name}")
            prop:checked=move || ui.selected.with(|s| s.contains(&key))
            on:change=move |ev| {
                let on = event_target_checked(&ev);
                ui.selected.update(|s| { if on { s.insert(id.clone()); } else { s.remove(&id); } });
            }/>
    }
}

/// Tags with a remove button each and a box to add one: each edit is an op.
#[component]
fn TagEditor(item: Content) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let draft = RwSignal::new(String::new());
    let item = StoredValue::new(item);
    let tags = item.with_value(|c| c.tags.clone());
    view! {
        <div class="tags">
            {tags.into_iter().map(|t| {
                let label = format!("Remove tag {t}");
                let remove = t.clone();
                view! {
                    <span class="tag">{t}
                        <Show when=move || session.can_edit()>
                            <button type="button" class="tag-remove" aria-label=label.clone() on:click={
                                let remove = remove.clone();
                                move |_| item.with_value(|c| {
                                    let tags = c.tags.iter().filter(|x| **x != remove).cloned().collect();
                                    set_tags(sync, c, tags);
                                })
                            }>"×"</button>
                        </Show>
                    </span>
                }
            }).collect_view()}
            <Show when=move || session.can_edit()>
                <form class="tag-add" on:submit=move |ev| {
                    ev.prevent_default();
                    let t = draft.get_untracked();
                    if t.trim().is_empty() { return; }
                    item.with_value(|c| {
                        let mut tags = c.tags.clone();
                        tags.extend(t.split(',').map(str::to_string));
                        set_tags(sync, c, tags);
                    });
                    draft.set(String::new());
                }>
                    <input type="text" placeholder="+ tag" aria-label=item.with_value(|c| format!("Add a tag to {}", c.name))
                        prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
                </form>
            </Show>
        </div>
    }
}

fn used_in_view(used: Vec<String>) -> impl IntoView {
    if used.is_empty() {
        view! { <span class="muted">"Not in any playlist"</span> }.into_any()
    } else {
        view! { <span class="used-in">{format!("Used in: {}", used.join(", "))}</span> }.into_any()
    }
}

/// Civil date and time (UTC) of an instant: Howard Hinnant's days-to-date.
fn civil(ms: i64) -> (i64, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let rem = secs.rem_euclid(86_400);
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, (rem / 60) % 60)
}

fn validity(c: &Content) -> Option<String> {
    let day = |ms: i64| {
        let (y, m, d, _, _) = civil(ms);
        format!("{y}-{m:02}-{d:02}")
    };
    match (c.valid_from, c.valid_until) {
        (None, None) => None,
        (Some(f), None) => Some(format!("from {}", day(f))),
        (None, Some(u)) => Some(format!("until {}", day(u))),
        (Some(f), Some(u)) => Some(format!("{} to {}", day(f), day(u))),
    }
}

#[component]
fn ItemActions(item: Content, ui: Ui) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let id = StoredValue::new(item.id.clone());
    let version = item.version;
    let name = item.name.clone();
    view! {
        <Show when=move || session.can_edit()>
            <div class="row-actions">
                <button type="button" class="button" aria-label=format!("Edit {name}") on:click=move |_| ui.editing.set(Some(id.get_value()))>"Edit"</button>
                <button type="button" class="button danger" aria-label=format!("Delete {}", item.name) on:click=move |_| {
                    sync.submit(Change::DeleteContent { content_id: id.get_value() }, Some(version));
                }>"Delete"</button>
            </div>
        </Show>
    }
}

#[component]
fn ContentCard(item: Content, used: Vec<String>, is_pending: bool, ui: Ui) -> impl IntoView {
    let actions = item.clone();
    view! {
        <li class="content-card" data-id=item.id.clone() class:row-pending=is_pending>
            <div class="thumb"><img src=item.thumb_url() alt="" loading="lazy"/></div>
            <div class="card-body">
                <div class="card-title">
                    <SelectBox id=item.id.clone() name=item.name.clone() ui/>
                    <strong class="name">{item.name.clone()}</strong>
                    {is_pending.then(|| view! { <span class="saving">" · saving"</span> })}
                </div>
                <p class="muted item-facts">{facts(&item)}</p>
                {validity(&item).map(|v| view! { <p class="validity">{format!("Valid {v}")}</p> })}
                <TagEditor item=item.clone()/>
                <p class="muted">{used_in_view(used)}</p>
                <ItemActions item=actions ui/>
            </div>
        </li>
    }
}

#[component]
fn ContentRow(item: Content, used: Vec<String>, is_pending: bool, ui: Ui) -> impl IntoView {
    let actions = item.clone();
    view! {
        <tr data-id=item.id.clone() class:row-pending=is_pending>
            <td><SelectBox id=item.id.clone() name=item.name.clone() ui/></td>
            <td><img class="thumb-small" src=item.thumb_url() alt="" loading="lazy"/></td>
            <th scope="row" class="name">{item.name.clone()}</th>
            <td class="muted">{facts(&item)}{validity(&item).map(|v| format!(" · valid {v}"))}</td>
            <td><TagEditor item=item.clone()/></td>
            <td>{used_in_view(used)}</td>
            <td><ItemActions item=actions ui/></td>
        </tr>
    }
}

#[component]
fn ContentDialogs(ui: Ui) -> impl IntoView {
    let sync = use_sync();
    move || {
        if ui.adding_web.get() {
            return view! { <WebPageForm on_done=move || ui.adding_web.set(false)/> }.into_any();
        }
        let target = ui.editing.get().and_then(|id| {
            sync.store
                .with_untracked(|s| s.content().into_iter().find(|c| c.id == id))
        });
        match target {
            Some(item) => {
                view! { <EditForm item on_done=move || ui.editing.set(None)/> }.into_any()
            }
            None => ().into_any(),
        }
    }
}

#[component]
fn WebPageForm(on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let sync = use_sync();
    let name = RwSignal::new(String::new());
    let url = RwSignal::new("https://".to_string());
    let reload = RwSignal::new("300".to_string());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let url_v = url.get_untracked();
        if let Err(e) = crate::model::validate_url(&url_v) {
            error.set(Some(e));
            return;
        }
        let Ok(reload_seconds) = reload.get_untracked().trim().parse::<i64>() else {
            error.set(Some("The reload interval is a number of seconds.".into()));
            return;
        };
        sync.submit(
            Change::CreateWebPage {
                content_id: new_op_id(),
                name: name.get_untracked(),
                url: url_v,
                reload_seconds,
                tags: Vec::new(),
            },
            None,
        );
        on_done();
    };
    view! {
        <div class="dialog-backdrop">
            <form class="dialog" role="dialog" aria-modal="true" aria-labelledby="web-title" on:submit=submit>
                <h2 id="web-title">"Add web page"</h2>
                <label for="web-name">"Name"</label>
                <input id="web-name" type="text" autofocus prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="web-url">"URL"</label>
                <input id="web-url" type="url" prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                <label for="web-reload">"Reload every (seconds)"</label>
                <input id="web-reload" type="number" min="10" max="86400" prop:value=move || reload.get() on:input=move |ev| reload.set(event_target_value(&ev))/>
                {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <div class="dialog-actions">
                    <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                    <button type="submit" class="button primary">"Add"</button>
                </div>
            </form>
        </div>
    }
}

/// `datetime-local` text for a UTC instant, and back (the console shows UTC).
fn to_input(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return String::new() };
    let (y, m, d, hh, mm) = civil(ms);
    format!("{y}-{m:02}-{d:02}T{hh:02}:{mm:02}")
}

fn from_input(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || format!("'{text}' is not a date and time.");
    let (date, time) = text.split_once('T').ok_or_else(bad)?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(day))) = (d.next(), d.next(), d.next()) else {
        return Err(bad());
    };
    let mut t = time.split(':').map(|p| p.parse::<i64>());
    let (Some(Ok(hh)), Some(Ok(mm))) = (t.next(), t.next()) else {
        return Err(bad());
    };
    // Days from the civil date (inverse of `to_input`).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(Some((days * 86_400 + hh * 3600 + mm * 60) * 1000))
}

#[component]
fn EditForm(item: Content, on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let sync = use_sync();
    let is_web = item.kind == ContentKind::Web;
    let name = RwSignal::new(item.name.clone());
    let from = RwSignal::new(to_input(item.valid_from));
    let until = RwSignal::new(to_input(item.valid_until));
    let url = RwSignal::new(item.url.clone().unwrap_or_default());
    let reload = RwSignal::new(item.reload_seconds.unwrap_or(300).to_string());
    let error = RwSignal::new(None::<String>);
    let original = StoredValue::new(item);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let c = original.get_value();
        let parsed = (|| -> Result<ContentPatch, String> {
            let valid_from = from_input(&from.get_untracked())?;
            let valid_until = from_input(&until.get_untracked())?;
            crate::model::validate_window(valid_from, valid_until)?;
            let name_v = name.get_untracked().trim().to_string();
            let mut patch = ContentPatch {
                name: (name_v != c.name).then_some(name_v),
                valid_from: (valid_from != c.valid_from).then_some(valid_from),
                valid_until: (valid_until != c.valid_until).then_some(valid_until),
                ..Default::default()
            };
            if c.kind == ContentKind::Web {
                let u = crate::model::validate_url(&url.get_untracked())?;
                let r = reload
                    .get_untracked()
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| "The reload interval is a number of seconds.".to_string())?;
                patch.url = (Some(&u) != c.url.as_ref()).then_some(u);
                patch.reload_seconds = (Some(r) != c.reload_seconds).then_some(r);
            }
            Ok(patch)
        })();
        match parsed {
            Err(e) => error.set(Some(e)),
            Ok(patch) => {
                if !patch.fields().is_empty() {
                    sync.submit(
                        Change::UpdateContent {
                            content_id: c.id.clone(),
                            patch,
                        },
                        Some(c.version),
                    );
                }
                on_done();
            }
        }
    };
    view! {
        <div class="dialog-backdrop">
            <form class="dialog" role="dialog" aria-modal="true" aria-labelledby="edit-title" on:submit=submit>
                <h2 id="edit-title">"Edit item"</h2>
                <label for="item-name">"Name"</label>
                <input id="item-name" type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="item-from">"Valid from (UTC)"</label>
                <input id="item-from" type="datetime-local" prop:value=move || from.get() on:input=move |ev| from.set(event_target_value(&ev))/>
                <label for="item-until">"Valid until (UTC)"</label>
                <input id="item-until" type="datetime-local" prop:value=move || until.get() on:input=move |ev| until.set(event_target_value(&ev))/>
                <Show when=move || is_web>
                    <label for="item-url">"URL"</label>
                    <input id="item-url" type="url" prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                    <label for="item-reload">"Reload every (seconds)"</label>
                    <input id="item-reload" type="number" min="10" prop:value=move || reload.get() on:input=move |ev| reload.set(event_target_value(&ev))/>
                </Show>
                {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <div class="dialog-actions">
                    <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                    <button type="submit" class="button primary">"Save"</button>
                </div>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_inputs_round_trip_in_utc() {
        let ms = 1_795_000_000_000; // 2026-11-18T...
        let text = to_input(Some(ms));
        assert_eq!(from_input(&text).unwrap(), Some(ms - ms % 60_000));
        assert_eq!(to_input(Some(0)), "1970-01-01T00:00");
        assert_eq!(
            from_input("2024-02-29T12:30").unwrap(),
            Some(1_709_209_800_000)
        );
        assert!(from_input("tomorrow").is_err());
        assert_eq!(from_input("").unwrap(), None);
    }

    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2_048), "2 KB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MB");
    }
}
