use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::tokens::{create_token, list_tokens, revoke_token},
    app::use_session,
    components::{ago, empty_table::EmptyTable},
    model::Role,
    sync::{platform::now_ms, use_sync},
};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let session = use_session();
    let is_admin = move || {
        session
            .0
            .with(|s| s.as_ref().is_some_and(|s| s.role == Role::Admin))
    };
    view! {
        <Title text="Settings"/>
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <section class="panel">
            <h2>"Your account"</h2>
            <Suspense fallback=|| ()>
            {move || session.0.get().map(|s| view! {
                <dl class="facts">
                    <dt>"Email"</dt><dd>{s.email}</dd>
                    <dt>"Role"</dt><dd>{s.role.as_str()}</dd>
                    <dt>"Organization"</dt><dd>{s.org_name}</dd>
                </dl>
            })}
            </Suspense>
        </section>
        <Suspense fallback=|| ()>
            <Show
                when=is_admin
                fallback=|| view! { <p class="muted">"API tokens are managed by an admin."</p> }
            >
                <ApiTokens/>
            </Show>
        </Suspense>
        <EmptyTable
            caption="Alert rules"
            columns=&["Rule", "Threshold", "Severity", "Applies to"]
            sentence="Rules that raise alerts (offline for N minutes, temperature, storage, player errors) will appear here."
        />
    }
}

/// Tokens for the REST API: made here, shown once, stored hashed, revocable.
#[component]
fn ApiTokens() -> impl IntoView {
    let sync = use_sync();
    let version = RwSignal::new(0u32);
    let tokens = Resource::new(move || version.get(), |_| list_tokens());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("editor".to_string());
    let fresh = RwSignal::new(None::<String>);
    let create =
        Action::new(move |(name, role): &(String, Role)| create_token(name.clone(), *role));
    let revoke = Action::new(move |id: &String| revoke_token(id.clone()));
    Effect::new(move |_| match create.value().get() {
        Some(Ok(created)) => {
            fresh.set(Some(created.secret));
            name.set(String::new());
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => sync.notices.error(e.to_string()),
        None => {}
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(())) => version.update(|v| *v += 1),
        Some(Err(e)) => sync.notices.error(e.to_string()),
        None => {}
    });
    view! {
        <section class="panel">
            <h2>"API tokens"</h2>
            <p class="muted">"Integrators call the REST API under /api/v1 with Authorization: Bearer TOKEN. See /api/v1/openapi.json."</p>
            <form class="toolbar" on:submit=move |ev| {
                ev.prevent_default();
                let r = role.get_untracked().parse().unwrap_or(Role::Viewer);
                create.dispatch((name.get_untracked(), r));
            }>
                <label>"Token name " <input type="text" required prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <label>"Role "
                    <select prop:value=move || role.get() on:change=move |ev| role.set(event_target_value(&ev))>
                        <option value="viewer">"viewer"</option>
                        <option value="editor" selected>"editor"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <button type="submit" class="button primary">"Create token"</button>
            </form>
            {move || fresh.get().map(|secret| view! {
                <div class="secret" role="status">
                    <p>"Copy this token now; it will not be shown again."</p>
                    <code class="token-secret">{secret}</code>
                </div>
            })}
            <Transition fallback=|| ()>
                {move || tokens.get().map(|r| r.map(|list| {
                    let now = now_ms();
                    view! {
                        <table class="table">
                            <caption class="visually-hidden">"API tokens"</caption>
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Role"</th><th scope="col">"Created"</th>
                                <th scope="col">"Last used"</th><th scope="col">"State"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                {if list.is_empty() {
                                    view! { <tr class="empty"><td colspan="6">"No tokens yet. Create one for each integration, with the least role it needs."</td></tr> }.into_any()
                                } else {
                                    list.into_iter().map(|t| {
                                        let id = StoredValue::new(t.id.clone());
                                        let active = t.revoked_at.is_none();
                                        view! {
                                            <tr>
                                                <th scope="row">{t.name.clone()}</th>
                                                <td>{t.role.as_str()}</td>
                                                <td>{ago(Some(t.created_at), now)}</td>
                                                <td>{ago(t.last_used_at, now)}</td>
                                                <td>{if active { "active" } else { "revoked" }}</td>
                                                <td class="actions">
                                                    {active.then(|| view! {
                                                        <button type="button" class="button danger" on:click=move |_| { revoke.dispatch(id.get_value()); }>"Revoke"</button>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view().into_any()
                                }}
                            </tbody>
                        </table>
                    }
                }))}
            </Transition>
        </section>
    }
}
