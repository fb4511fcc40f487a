//! Who changed what: operators' changes from the event log, newest first,
//! each with its author and a readable line the server made for it. The
//! first page is read again whenever the stream brings an operator's
//! change, so the list is live; older pages load on demand.

use leptos::prelude::*;

use crate::{
    api::analytics::{fetch_activity, ActivityArgs},
    components::ago,
    model::ActivityItem,
    sync::{
        platform::{browser_zone, now_ms},
        use_sync,
    },
};

/// The entity kinds the filter offers, with their names.
const ENTITIES: [(&str, &str); 11] = [
    ("device", "Displays"),
    ("group", "Groups"),
    ("content", "Content"),
    ("playlist", "Playlists"),
    ("schedule", "Schedules"),
    ("daypart", "Dayparts"),
    ("takeover", "Takeovers"),
    ("alert", "Alerts"),
    ("alert_rule", "Alert rules"),
    ("user", "Accounts"),
    ("token", "API tokens"),
];

/// The activity list: `limit` items a page; with `filters`, by person,
/// entity and day, and older pages on request.
#[component]
pub fn ActivityList(limit: i64, #[prop(optional)] filters: bool) -> impl IntoView {
    let sync = use_sync();
    let actor = RwSignal::new(String::new());
    let entity = RwSignal::new(String::new());
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    let args = Memo::new(move |_| ActivityArgs {
        before: None,
        actor: Some(actor.get()).filter(|a| !a.is_empty()),
        entity: Some(entity.get()).filter(|e| !e.is_empty()),
        first: first.get().parse().ok(),
        last: last.get().parse().ok(),
        // Days of the date filter are the browser's (UTC on the server,
        // which renders no filter values).
        tz: browser_zone().unwrap_or_else(|| "UTC".into()),
        limit,
    });
    // The newest operator's change the store has seen: a new one reads the
    // first page again.
    let newest = Memo::new(move |_| {
        sync.store
            .with(|s| s.recent().rev().find(|e| e.actor.is_some()).map(|e| e.seq))
    });
    // Bumped from an effect, so nothing the stream brings while the page
    // hydrates changes what the server rendered.
    let bump = RwSignal::new(0u32);
    let page = Resource::new(
        move || (args.get(), bump.get(), sync.refetch.get()),
        |(a, _, _)| fetch_activity(a),
    );
    Effect::new(move |prev: Option<Option<i64>>| {
        let n = newest.get();
        let changed = match prev {
            Some(p) => p != n,
            // Anything newer than the rendered list's top arrived meanwhile.
            None => n.is_some_and(|n| {
                page.get_untracked()
                    .and_then(Result::ok)
                    .and_then(|p| p.items.first().map(|i| i.seq))
                    .is_none_or(|top| n > top)
            }),
        };
        if changed {
            bump.update(|b| *b += 1);
        }
        n
    });
    let older = RwSignal::new(Vec::<ActivityItem>::new());
    let next = RwSignal::new(None::<Option<String>>);
    Effect::new(move |_| {
        args.track();
        older.set(Vec::new());
        next.set(None);
    });
    let more = move |_| {
        let before = next.get_untracked().flatten().or_else(|| {
            page.get_untracked()
                .and_then(Result::ok)
                .and_then(|p| p.next)
        });
        let Some(before) = before.and_then(|b| b.parse().ok()) else {
            return;
        };
        let mut a = args.get_untracked();
        a.before = Some(before);
        leptos::task::spawn_local(async move {
            match fetch_activity(a).await {
                Ok(p) => {
                    older.update(|o| o.extend(p.items));
                    next.set(Some(p.next));
                }
                Err(e) => sync.notices.error(e.to_string()),
            }
        });
    };
    let has_more = move || match next.get() {
        Some(n) => n.is_some(),
        None => page
            .get()
            .and_then(Result::ok)
            .is_some_and(|p| p.next.is_some()),
    };
    view! {
        {filters.then(|| view! {
            <div class="toolbar activity-filters" role="search" aria-label="Filter activity">
                <label>"Person " <input type="search" aria-label="Person" placeholder="Email" prop:value=move || actor.get()
                    on:change=move |ev| actor.set(event_target_value(&ev).trim().to_string())/></label>
                <label>"Entity "
                    <select aria-label="Entity" on:change=move |ev| entity.set(event_target_value(&ev))>
                        <option value="">"Everything"</option>
                        {ENTITIES.iter().map(|(k, name)| view! { <option value=*k>{*name}</option> }).collect_view()}
                    </select>
                </label>
                <label>"From " <input type="date" on:change=move |ev| first.set(event_target_value(&ev))/></label>
                <label>"To " <input type="date" on:change=move |ev| last.set(event_target_value(&ev))/></label>
            </div>
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading activity…"</p> }>
            {move || page.get().map(|r| r.map(|p| {
                let now = now_ms();
                let mut items = p.items;
                let seen: std::collections::HashSet<i64> = items.iter().map(|i| i.seq).collect();
                items.extend(older.get().into_iter().filter(|i| !seen.contains(&i.seq)));
                if items.is_empty() {
                    return view! {
                        <p class="empty-state">"Changes made by anyone in your organization appear here, with who made them."</p>
                    }.into_any();
                }
                let older_button = (filters && has_more()).then(|| view! {
                    <button type="button" class="button ghost" on:click=more>"Show older"</button>
                });
                view! {
                    <ul class="activity" aria-label="Activity">
                        {items.into_iter().map(|i| view! {
                            <li data-seq=i.seq.to_string() data-entity=i.entity.clone()>
                                <span class="actor">{i.actor.clone()}</span>
                                " "
                                <span class="summary">{i.summary.clone()}</span>
                                <span class="muted when">{format!(" · {}", ago(Some(i.at), now))}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                    {older_button}
                }.into_any()
            }))}
        </Transition>
    }
}
