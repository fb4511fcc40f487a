//! The library itself: the grid and the table of items, with inline tags,
//! selection and the batch bar. Cards and rows are keyed by what they show,
//! so an edit elsewhere re-renders only the item it changed.

use std::collections::BTreeSet;

use leptos::prelude::*;

use super::{Filters, Ui};
use crate::{
    app::use_session,
    model::{format_duration, normalize_tags, Change, Content, ContentPatch, Playlist},
    sync::{use_library, use_sync, SyncHandle},
};

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

pub(super) fn human_size(bytes: i64) -> String {
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
pub(super) fn BatchBar(ui: Ui) -> impl IntoView {
    let sync = use_sync();
    let content = use_library().content;
    let tag = RwSignal::new(String::new());
    let count = move || ui.selected.with(BTreeSet::len);
    let chosen = move || {
        let ids = ui.selected.get_untracked();
        content.with_untracked(|all| {
            all.iter()
                .filter(|c| ids.contains(&c.id))
                .cloned()
                .collect::<Vec<_>>()
        })
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
                <button type="button" class="button danger" on:click=move |_| ui.deleting_selected.set(true)>
                    "Delete selected"
                </button>
                <button type="button" class="button ghost" on:click=move |_| ui.selected.set(BTreeSet::new())>"Clear selection"</button>
            </div>
        </Show>
    }
}

#[component]
pub(super) fn Library(ui: Ui) -> impl IntoView {
    let sync = use_sync();
    let library = use_library();
    let all = Memo::new(move |_| (library.content.get(), library.playlists.get()));
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
pub(super) fn civil(ms: i64) -> (i64, i64, i64, i64, i64) {
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
    let session = use_session();
    let id = StoredValue::new(item.id.clone());
    let name = item.name.clone();
    view! {
        <Show when=move || session.can_edit()>
            <div class="row-actions">
                <button type="button" class="button" aria-label=format!("Edit {name}") on:click=move |_| ui.editing.set(Some(id.get_value()))>"Edit"</button>
                <button type="button" class="button danger" aria-label=format!("Delete {}", item.name) on:click=move |_| ui.deleting.set(Some(id.get_value()))>"Delete"</button>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2_048), "2 KB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MB");
    }
}
