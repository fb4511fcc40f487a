//! Playlists: the list (items, total duration) and the editor of the one chosen
//! (`?id=`): rename, delete, add library items, reorder by drag-and-drop or with
//! Move up / Move down, duplicate, remove, set durations. Every edit is an
//! item-level op, so two operators editing one playlist both land.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    app::use_session,
    components::dialog::Confirm,
    model::{format_duration, Change, Content, Playlist, PlaylistItem},
    sync::{platform::new_op_id, use_library, use_sync, SyncHandle},
};

#[component]
pub fn PlaylistsPage() -> impl IntoView {
    let library = use_library();
    let query = use_query_map();
    let selected = Memo::new(move |_| query.with(|q| q.get("id")));
    view! {
        <Title text="Playlists"/>
        <header class="page-header">
            <h1>"Playlists"</h1>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading playlists…"</p> }>
            {move || library.ready.get().map(|result| result.map(|()| {
                view! {
                    <div class="split">
                        <PlaylistList selected/>
                        <div class="editor-pane">
                            {move || match selected.get() {
                                Some(id) => view! { <Editor id/> }.into_any(),
                                None => view! { <p class="empty-state">"Choose a playlist to edit it, or create one."</p> }.into_any(),
                            }}
                        </div>
                    </div>
                }
            }))}
        </Suspense>
    }
}

#[component]
fn PlaylistList(selected: Memo<Option<String>>) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let lists = use_library().playlists;
    let name = RwSignal::new(String::new());
    let navigate = use_navigate();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked();
        if n.trim().is_empty() {
            sync.notices.error("A playlist needs a name.");
            return;
        }
        let id = new_op_id();
        if sync
            .submit(
                Change::CreatePlaylist {
                    playlist_id: id.clone(),
                    name: n,
                },
                None,
            )
            .is_some()
        {
            name.set(String::new());
            navigate(&format!("/playlists?id={id}"), Default::default());
        }
    };
    view! {
        <nav class="panel playlist-list" aria-label="Playlists">
            <Suspense fallback=|| ()>
                <Show when=move || session.can_edit()>
                    <form class="inline-form" on:submit=create.clone()>
                        <input type="text" placeholder="New playlist name" aria-label="Playlist name"
                            prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                        <button type="submit" class="button primary">"Create playlist"</button>
                    </form>
                </Show>
            </Suspense>
            {move || {
                let lists = lists.get();
                if lists.is_empty() {
                    return view! { <p class="muted">"No playlists yet."</p> }.into_any();
                }
                view! {
                    <ul class="list">
                        {lists.into_iter().map(|p| {
                            let current = selected.get().as_deref() == Some(p.id.as_str());
                            view! {
                                <li data-id=p.id.clone()>
                                    <a href=format!("/playlists?id={}", p.id) aria-current=current.then_some("page")>
                                        <strong>{p.name.clone()}</strong>
                                        <span class="muted">{format!(" {} items · {}", p.items.len(), format_duration(p.total_ms()))}</span>
                                    </a>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </nav>
    }
}

/// Where an item lands when dropped on `target`: after it when dragged down,
/// before it (after its predecessor) when dragged up.
fn drop_anchor(items: &[PlaylistItem], dragged: &str, target: &str) -> Option<Option<String>> {
    let from = items.iter().position(|i| i.id == dragged)?;
    let to = items.iter().position(|i| i.id == target)?;
    if from == to {
        return None;
    }
    Some(if from < to {
        Some(items[to].id.clone())
    } else if to == 0 {
        None
    } else {
        Some(items[to - 1].id.clone())
    })
}

/// The anchor for moving the item at `index` one step up or down.
fn step_anchor(items: &[PlaylistItem], index: usize, up: bool) -> Option<Option<String>> {
    if up {
        match index {
            0 => None,
            1 => Some(None),
            i => Some(Some(items[i - 2].id.clone())),
        }
    } else {
        items.get(index + 1).map(|next| Some(next.id.clone()))
    }
}

fn move_item(sync: SyncHandle, p: &Playlist, item_id: &str, after: Option<String>) {
    sync.submit(
        Change::MoveItem {
            playlist_id: p.id.clone(),
            item_id: item_id.to_string(),
            after,
        },
        Some(p.version),
    );
}

/// The editor. Items are rendered keyed by id, so an edit by someone else
/// re-renders only what it changed: a duration or a name being typed here
/// keeps its text and its focus.
#[component]
fn Editor(id: String) -> impl IntoView {
    let lists = use_library().playlists;
    let playlist = Memo::new(move |_| lists.with(|l| l.iter().find(|p| p.id == id).cloned()));
    let exists = Memo::new(move |_| playlist.with(Option::is_some));
    move || {
        if exists.get() {
            view! { <EditorBody playlist/> }.into_any()
        } else {
            view! { <p class="empty-state">"This playlist no longer exists."</p> }.into_any()
        }
    }
}

/// The playlist as shown now (the editor exists only while it does).
type Shown = Memo<Option<Playlist>>;

fn now_of(playlist: Shown) -> Option<Playlist> {
    playlist.get_untracked()
}

#[component]
fn EditorBody(playlist: Shown) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let id = playlist.with_untracked(|p| p.as_ref().map(|p| p.id.clone()).unwrap_or_default());
    let pending = {
        let id = id.clone();
        Memo::new(move |_| {
            sync.store.with(|s| {
                s.pending()
                    .iter()
                    .filter(|p| p.op.change.entity_id() == id)
                    .count()
            })
        })
    };
    let dragging = RwSignal::new(None::<String>);
    let confirm_delete = RwSignal::new(false);
    // The name box follows the playlist's name until the operator types in it.
    let confirmed_name = Memo::new(move |_| {
        playlist.with(|p| p.as_ref().map(|p| p.name.clone()).unwrap_or_default())
    });
    let name = RwSignal::new(confirmed_name.get_untracked());
    let name_dirty = RwSignal::new(false);
    Effect::new(move |_| {
        let n = confirmed_name.get();
        if !name_dirty.get_untracked() {
            name.set(n);
        }
    });
    let summary = Memo::new(move |_| {
        playlist.with(|p| p.as_ref().map_or((0, 0), |p| (p.items.len(), p.total_ms())))
    });
    view! {
        <section class="panel editor" aria-label="Playlist editor" data-id=id.clone()>
            <header class="editor-head">
                <form class="inline-form" on:submit=move |ev| {
                    ev.prevent_default();
                    let n = name.get_untracked();
                    name_dirty.set(false);
                    if let Some(p) = now_of(playlist) {
                        if n.trim() != p.name {
                            sync.submit(Change::RenamePlaylist { playlist_id: p.id.clone(), name: n }, Some(p.version));
                        }
                    }
                }>
                    <label class="visually-hidden" for="playlist-name">"Playlist name"</label>
                    <input id="playlist-name" type="text" class="title-input" prop:value=move || name.get()
                        on:input=move |ev| {
                            name_dirty.set(true);
                            name.set(event_target_value(&ev));
                        }
                        disabled=move || !session.can_edit()/>
                    <Show when=move || session.can_edit()>
                        <button type="submit" class="button">"Rename"</button>
                    </Show>
                </form>
                <p class="muted total" aria-live="polite">
                    {move || {
                        let (count, total) = summary.get();
                        format!("{count} items · total {}", format_duration(total))
                    }}
                    {move || (pending.get() > 0).then(|| view! { <span class="saving">" · saving"</span> })}
                </p>
            </header>
            <ol class="items" aria-label="Items">
                <For
                    each=move || playlist.with(|p| p.as_ref().map(|p| p.items.clone()).unwrap_or_default())
                    key=|item| item.id.clone()
                    let:item
                >
                    <ItemRow item playlist dragging/>
                </For>
            </ol>
            <Show when=move || summary.get().0 == 0>
                <p class="muted">"No items yet: add some from the library below."</p>
            </Show>
            <Show when=move || session.can_edit()>
                <AddItems playlist/>
                <div class="danger-zone">
                    <button type="button" class="button danger" on:click=move |_| confirm_delete.set(true)>"Delete playlist…"</button>
                </div>
                <Show when=move || confirm_delete.get()>
                    <Confirm
                        title=format!("Delete “{}”?", confirmed_name.get_untracked())
                        body="The playlist is deleted for every operator. This cannot be undone."
                        action="Delete playlist"
                        on_confirm=move || if let Some(p) = now_of(playlist) {
                            sync.submit(Change::DeletePlaylist { playlist_id: p.id.clone() }, Some(p.version));
                        }
                        on_close=move || confirm_delete.set(false)/>
                </Show>
            </Show>
        </section>
    }
}

/// One item of the editor. Its place in the list and its duration follow the
/// playlist; the seconds box keeps what the operator types until they commit it.
#[component]
fn ItemRow(
    item: PlaylistItem,
    playlist: Shown,
    dragging: RwSignal<Option<String>>,
) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let item_id = StoredValue::new(item.id.clone());
    let place = Memo::new(move |_| {
        playlist.with(|p| {
            p.as_ref().map_or((0, 0), |p| {
                let index = p
                    .items
                    .iter()
                    .position(|i| i.id == item_id.get_value())
                    .unwrap_or(0);
                (index, p.items.len())
            })
        })
    });
    let duration = Memo::new(move |_| {
        playlist.with(|p| {
            p.as_ref()
                .and_then(|p| p.items.iter().find(|i| i.id == item_id.get_value()))
                .map_or(0, |i| i.duration_ms)
        })
    });
    let seconds = RwSignal::new((item.duration_ms / 1000).to_string());
    let seconds_dirty = RwSignal::new(false);
    Effect::new(move |_| {
        let d = duration.get();
        if !seconds_dirty.get_untracked() {
            seconds.set((d / 1000).to_string());
        }
    });
    let library = use_library().content;
    let content_id = item.content_id.clone();
    let title = Memo::new(move |_| {
        library.with(|l| {
            l.iter()
                .find(|c| c.id == content_id)
                .map_or_else(|| "(deleted item)".to_string(), |c| c.name.clone())
        })
    });
    let thumb = library
        .with_untracked(|l| {
            l.iter()
                .find(|c| c.id == item.content_id)
                .map(Content::thumb_url)
        })
        .unwrap_or_default();
    let step = move |up: bool| {
        if let Some(p) = now_of(playlist) {
            if let Some(after) = step_anchor(&p.items, place.get_untracked().0, up) {
                move_item(sync, &p, &item_id.get_value(), after);
            }
        }
    };
    view! {
        <li class="item" data-id=item.id.clone() draggable=move || session.can_edit().to_string()
            class:dragging=move || dragging.get().as_deref() == Some(item_id.get_value().as_str())
            on:dragstart=move |_ev| {
                dragging.set(Some(item_id.get_value()));
                #[cfg(feature = "hydrate")]
                if let Some(dt) = _ev.data_transfer() {
                    let _ = dt.set_data("text/plain", &item_id.get_value());
                }
            }
            on:dragend=move |_| dragging.set(None)
            on:dragover=move |ev| ev.prevent_default()
            on:drop=move |ev| {
                ev.prevent_default();
                if let (Some(src), Some(p)) = (dragging.get_untracked(), now_of(playlist)) {
                    if let Some(after) = drop_anchor(&p.items, &src, &item_id.get_value()) {
                        move_item(sync, &p, &src, after);
                    }
                }
                dragging.set(None);
            }>
            <span class="handle" aria-hidden="true">"⠿"</span>
            <img class="thumb-small" src=thumb alt=""/>
            <span class="item-name">{move || title.get()}</span>
            <label class="duration">
                <span class="visually-hidden">{move || format!("Seconds for {}", title.get())}</span>
                <input type="number" min="1" max="86400" prop:value=move || seconds.get()
                    disabled=move || !session.can_edit()
                    on:input=move |ev| {
                        seconds_dirty.set(true);
                        seconds.set(event_target_value(&ev));
                    }
                    on:change=move |_| {
                        seconds_dirty.set(false);
                        match seconds.get_untracked().trim().parse::<i64>() {
                            Ok(s) if (1..=86_400).contains(&s) => if let Some(p) = now_of(playlist) {
                                sync.submit(Change::SetItemDuration {
                                    playlist_id: p.id.clone(),
                                    item_id: item_id.get_value(),
                                    duration_ms: s * 1000,
                                }, Some(p.version));
                            },
                            _ => {
                                sync.notices.error("A duration is a whole number of seconds, from 1 to 86400.");
                                seconds.set((duration.get_untracked() / 1000).to_string());
                            }
                        }
                    }/>
                " s"
            </label>
            <Show when=move || session.can_edit()>
                <div class="row-actions">
                    <button type="button" class="button ghost" aria-label=move || format!("Move up {}", title.get())
                        disabled=move || place.get().0 == 0
                        on:click=move |_| step(true)>"↑"</button>
                    <button type="button" class="button ghost" aria-label=move || format!("Move down {}", title.get())
                        disabled=move || { let (i, n) = place.get(); i + 1 == n }
                        on:click=move |_| step(false)>"↓"</button>
                    <button type="button" class="button ghost" aria-label=move || format!("Duplicate {}", title.get())
                        on:click=move |_| if let Some(p) = now_of(playlist) {
                            if let Some(orig) = p.items.iter().find(|i| i.id == item_id.get_value()) {
                                sync.submit(Change::InsertItem {
                                    playlist_id: p.id.clone(),
                                    item: PlaylistItem { id: new_op_id(), ..orig.clone() },
                                    after: Some(orig.id.clone()),
                                }, Some(p.version));
                            }
                        }>"Duplicate"</button>
                    <button type="button" class="button ghost danger" aria-label=move || format!("Remove {}", title.get())
                        on:click=move |_| if let Some(p) = now_of(playlist) {
                            sync.submit(Change::RemoveItem { playlist_id: p.id.clone(), item_id: item_id.get_value() }, Some(p.version));
                        }>"Remove"</button>
                </div>
            </Show>
        </li>
    }
}

#[component]
fn AddItems(playlist: Shown) -> impl IntoView {
    let sync = use_sync();
    let search = RwSignal::new(String::new());
    let library = use_library().content;
    view! {
        <section class="add-items" aria-label="Add from the library">
            <h2>"Add from the library"</h2>
            <input type="search" placeholder="Search the library" aria-label="Search the library"
                prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
            <ul class="picker">
                {move || {
                    let q = search.get().trim().to_lowercase();
                    library.get().into_iter()
                        .filter(|c| q.is_empty() || c.name.to_lowercase().contains(&q))
                        .take(50)
                        .map(|c| {
                            let label = format!("Add {}", c.name);
                            let c2 = c.clone();
                            view! {
                                <li>
                                    <img class="thumb-small" src=c.thumb_url() alt=""/>
                                    <span>{c.name.clone()}</span>
                                    <span class="muted">{format!(" {}", c.kind.label())}</span>
                                    <button type="button" class="button" aria-label=label on:click=move |_| {
                                        // The list as shown now, so "after the last" is current.
                                        if let Some(p) = now_of(playlist) {
                                            sync.submit(Change::InsertItem {
                                                playlist_id: p.id.clone(),
                                                item: PlaylistItem {
                                                    id: new_op_id(),
                                                    content_id: c2.id.clone(),
                                                    duration_ms: c2.default_duration_ms(),
                                                },
                                                after: p.items.last().map(|i| i.id.clone()),
                                            }, Some(p.version));
                                        }
                                    }>"Add"</button>
                                </li>
                            }
                        }).collect_view()
                }}
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(ids: &[&str]) -> Vec<PlaylistItem> {
        ids.iter()
            .map(|id| PlaylistItem {
                id: id.to_string(),
                content_id: "c".into(),
                duration_ms: 1000,
            })
            .collect()
    }

    #[test]
    fn drops_land_where_the_pointer_is() {
        let l = items(&["a", "b", "c", "d"]);
        assert_eq!(drop_anchor(&l, "a", "c"), Some(Some("c".into())));
        assert_eq!(drop_anchor(&l, "d", "b"), Some(Some("a".into())));
        assert_eq!(drop_anchor(&l, "c", "a"), Some(None));
        assert_eq!(drop_anchor(&l, "b", "b"), None);
    }

    #[test]
    fn steps_move_by_one() {
        let l = items(&["a", "b", "c"]);
        assert_eq!(step_anchor(&l, 0, true), None);
        assert_eq!(step_anchor(&l, 1, true), Some(None));
        assert_eq!(step_anchor(&l, 2, true), Some(Some("a".into())));
        assert_eq!(step_anchor(&l, 0, false), Some(Some("b".into())));
        assert_eq!(step_anchor(&l, 2, false), None);
    }
}
