//! The connection indicator and pending-changes count in the top bar, with
//! the drawers that list pending ops and open conflicts.

use leptos::prelude::*;

use crate::{
    components::{ago, dialog::Dialog},
    sync::{platform::now_ms, store::OpState, use_sync},
};

/// Connection state (live, reconnecting, offline), the pending-changes count
/// opening the list of pending ops, and the open-conflicts badge, on every page.
#[component]
pub fn SyncIndicator() -> impl IntoView {
    let sync = use_sync();
    let pending = Memo::new(move |_| sync.store.with(|s| s.pending().len()));
    let conflicts = Memo::new(move |_| sync.store.with(|s| s.conflicts().count()));
    let show_pending = RwSignal::new(false);
    let show_conflicts = RwSignal::new(false);
    view! {
        <div class="sync" role="status" aria-live="polite" data-seq=move || sync.store.with(|s| s.seq()).to_string() data-sender=move || sync.sender.get().to_string()>
            <span class="connection" data-state=move || sync.indicator().as_str()>
                <span class="dot" aria-hidden="true"></span>
                {move || sync.indicator().label()}
            </span>
            <button
                type="button"
                class="pending"
                class=("has-pending", move || pending.get() > 0)
                data-count=move || pending.get().to_string()
                aria-expanded=move || show_pending.get().to_string()
                on:click=move |_| show_pending.update(|v| *v = !*v)
            >
                {move || match pending.get() {
                    0 => "All changes saved".to_string(),
                    1 => "1 change pending".to_string(),
                    n => format!("{n} changes pending"),
                }}
            </button>
            <Show when=move || { conflicts.get() > 0 }>
                <button
                    type="button"
                    class="conflicts"
                    data-count=move || conflicts.get().to_string()
                    on:click=move |_| show_conflicts.set(true)
                >
                    {move || match conflicts.get() {
                        1 => "1 conflict".to_string(),
                        n => format!("{n} conflicts"),
                    }}
                </button>
            </Show>
        </div>
        <Show when=move || show_pending.get()>
            <PendingPanel on_close=move || show_pending.set(false)/>
        </Show>
        <Show when=move || { show_conflicts.get() && conflicts.get() > 0 }>
            <ConflictPanel on_close=move || show_conflicts.set(false)/>
        </Show>
    }
}

/// Each pending op: what, on what, since when, attempts, last error; with
/// "Retry now" and "Discard".
#[component]
fn PendingPanel(on_close: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let sync = use_sync();
    view! {
        <Dialog title="Pending changes".to_string() drawer=true on_close=on_close>
            {move || {
                let now = now_ms();
                let rows = sync.store.with(|s| {
                    s.pending().iter().map(|p| {
                        let target = s.device(p.op.change.entity_id())
                            .or_else(|| s.devices.confirmed(p.op.change.entity_id()).cloned())
                            .map(|d| d.name)
                            .unwrap_or_else(|| "a display".into());
                        (p.op.op_id.clone(), p.op.change.describe(), target, p.queued_at, p.attempts, p.last_error.clone(), p.state)
                    }).collect::<Vec<_>>()
                });
                if rows.is_empty() {
                    return view! { <p class="muted">"Every change has been saved on the server."</p> }.into_any();
                }
                view! {
                    <ul class="pending-list">
                        {rows.into_iter().map(|(op_id, what, target, since, attempts, error, state)| {
                            let id = StoredValue::new(op_id);
                            view! {
                                <li>
                                    <div><strong>{what}</strong>" on “"{target}"”"</div>
                                    <div class="muted">
                                        {format!("queued {} · {} attempt{}", ago(Some(since as i64), now), attempts, if attempts == 1 { "" } else { "s" })}
                                        {(state == OpState::Conflicted).then_some(" · waiting for you to resolve a conflict")}
                                    </div>
                                    {error.map(|e| view! { <div class="form-error">{e}</div> })}
                                    <div class="row-actions">
                                        <button type="button" class="button" on:click=move |_| sync.retry_now()>"Retry now"</button>
                                        <button type="button" class="button danger" on:click=move |_| sync.discard(&id.get_value())>"Discard"</button>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </Dialog>
    }
}

/// Mine and theirs side by side for each colliding field.
#[component]
fn ConflictPanel(on_close: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let sync = use_sync();
    let show = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "—".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    };
    view! {
        <Dialog title="Conflicts".to_string() drawer=true on_close=on_close>
            {move || sync.store.with(|s| s.conflicts().cloned().collect::<Vec<_>>()).into_iter().map(|c| {
                let name = show(c.theirs.get("name"));
                let id = StoredValue::new(c.op_id.clone());
                view! {
                    <article class="conflict" aria-label=format!("Conflict on {name}")>
                        <h3>{format!("“{name}” was changed by someone else")}</h3>
                        <table class="table compare">
                            <thead><tr><th scope="col">"Field"</th><th scope="col">"Mine"</th><th scope="col">"Theirs"</th></tr></thead>
                            <tbody>
                                {c.fields.iter().map(|f| view! {
                                    <tr>
                                        <th scope="row">{f.replace('_', " ")}</th>
                                        <td class="mine">{show(c.mine.get(f.as_str()))}</td>
                                        <td class="theirs">{show(c.theirs.get(f.as_str()))}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <div class="row-actions">
                            <button type="button" class="button primary" on:click=move |_| sync.keep_mine(&id.get_value())>"Keep mine"</button>
                            <button type="button" class="button" on:click=move |_| sync.keep_theirs(&id.get_value())>"Keep theirs"</button>
                        </div>
                    </article>
                }
            }).collect_view()}
        </Dialog>
    }
}
