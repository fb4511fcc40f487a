//! Settings: the operator's account, password and sessions, the accounts
//! and API tokens (admins), the organization's alert rules, and its
//! activity: who changed what.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::tokens::{create_token, list_tokens, revoke_token},
    app::use_session,
    components::{activity::ActivityList, ago},
    error::AppError,
    model::{AlertRule, ApiToken, Change, Role, RulePatch, Severity},
    pages::accounts::Accounts,
    sync::{platform::now_ms, use_alerts, use_sync},
};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let session = use_session();
    let is_admin = move || {
        session
            .0
            .with(|s| s.as_ref().is_some_and(|s| s.role == Role::Admin))
    };
    // Made here, in page order, not in the admin-only panel: see Accounts.
    let token_version = RwSignal::new(0u32);
    let tokens = Resource::new(
        move || (token_version.get(), is_admin()),
        |(_, admin)| async move {
            if admin {
                list_tokens().await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
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
        <Transition fallback=|| ()>
            <Show
                when=is_admin
                fallback=|| view! { <p class="muted">"API tokens are managed by an admin."</p> }
            >
                <ApiTokens tokens version=token_version/>
            </Show>
        </Transition>
        // Inside Suspense: who is signed in (and so what the panels show)
        // is known before the server renders them, as the browser hydrates.
        <Suspense fallback=|| ()>
            <Accounts is_admin=Signal::derive(is_admin)/>
        </Suspense>
        <AlertRules is_admin=Signal::derive(is_admin)/>
        <section class="panel" id="activity" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Activity"</h2>
            <p class="muted">"Every change operators and API tokens made, newest first."</p>
            <ActivityList limit=50 filters=true/>
        </section>
    }
}

/// The organization's alert rules: one per kind, every display. Admins edit
/// them (optimistic, versioned); others read them.
#[component]
fn AlertRules(is_admin: Signal<bool>) -> impl IntoView {
    let alerts = use_alerts();
    let rules = alerts.rules;
    view! {
        <section class="panel" aria-labelledby="alert-rules">
            <h2 id="alert-rules">"Alert rules"</h2>
            <p class="muted">"Every rule applies to every display. An alert is raised once its condition has held for the minutes set (for player errors: the window they are counted in), and resolves on its own when the condition clears."</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading rules…"</p> }>
                {move || alerts.ready.get().map(|r| r.map(|()| {
                    view! {
                        <table class="table rules">
                            <thead><tr>
                                <th scope="col">"Rule"</th><th scope="col">"Threshold"</th><th scope="col">"Minutes"</th>
                                <th scope="col">"Severity"</th><th scope="col">"On"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                <For each=move || rules.get() key=|r| (r.id.clone(), r.version) let:rule>
                                    <RuleRow rule is_admin/>
                                </For>
                            </tbody>
                        </table>
                    }
                }))}
            </Suspense>
        </section>
    }
}

#[component]
fn RuleRow(rule: AlertRule, is_admin: Signal<bool>) -> impl IntoView {
    let sync = use_sync();
    let kind = rule.kind;
    let original = StoredValue::new(rule.clone());
    let threshold = RwSignal::new(rule.threshold.to_string());
    let minutes = RwSignal::new(rule.minutes.to_string());
    let severity = RwSignal::new(rule.severity);
    let enabled = RwSignal::new(rule.enabled);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let rule = original.get_value();
        let parse = |text: String, what: &str| -> Result<f64, String> {
            text.trim()
                .parse::<f64>()
                .map_err(|_| format!("{what} must be a number."))
        };
        let patch = (|| -> Result<RulePatch, String> {
            let t = if kind.has_threshold() {
                parse(threshold.get_untracked(), "The threshold")?
            } else {
                rule.threshold
            };
            let m = parse(minutes.get_untracked(), "Minutes")?;
            let patch = RulePatch {
                threshold: (t != rule.threshold).then_some(t),
                minutes: (m != rule.minutes).then_some(m),
                severity: (severity.get_untracked() != rule.severity)
                    .then(|| severity.get_untracked()),
                enabled: (enabled.get_untracked() != rule.enabled).then(|| enabled.get_untracked()),
            };
            patch.apply(&rule)?;
            Ok(patch)
        })();
        match patch {
            Ok(p) if p.fields().is_empty() => sync.notices.info("Nothing changed."),
            Ok(patch) => {
                sync.submit(
                    Change::UpdateAlertRule {
                        rule_id: rule.id.clone(),
                        patch,
                    },
                    Some(rule.version),
                );
            }
            Err(message) => sync.notices.error(message),
        }
    };
    let form_id = format!("rule-form-{}", kind.as_str());
    let disabled = move || !is_admin.get();
    view! {
        <tr data-rule=kind.as_str()>
            <th scope="row">{kind.label()}</th>
            <td>
                {if kind.has_threshold() {
                    view! {
                        <input type="number" step="any" form=form_id.clone() class="narrow"
                            aria-label=format!("{} threshold", kind.label())
                            prop:value=move || threshold.get() prop:disabled=disabled
                            on:input=move |ev| threshold.set(event_target_value(&ev))/>
                        " " <span class="muted">{kind.unit()}</span>
                    }.into_any()
                } else {
                    view! { <span class="muted">"—"</span> }.into_any()
                }}
            </td>
            <td>
                <input type="number" step="any" min="0" form=form_id.clone() class="narrow"
                    aria-label=format!("{} minutes", kind.label())
                    prop:value=move || minutes.get() prop:disabled=disabled
                    on:input=move |ev| minutes.set(event_target_value(&ev))/>
            </td>
            <td>
                <select form=form_id.clone() aria-label=format!("{} severity", kind.label()) prop:disabled=disabled
                    on:change=move |ev| if let Some(s) = Severity::parse(&event_target_value(&ev)) { severity.set(s) }>
                    {Severity::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || severity.get() == s>{s.as_str()}</option>
                    }).collect_view()}
                </select>
            </td>
            <td>
                <input type="checkbox" form=form_id.clone() aria-label=format!("{} enabled", kind.label())
                    prop:checked=move || enabled.get() prop:disabled=disabled
                    on:change=move |ev| enabled.set(event_target_checked(&ev))/>
            </td>
            <td class="actions">
                <form id=form_id.clone() on:submit=save>
                    <Show when=move || is_admin.get()>
                        <button type="submit" class="button">"Save"</button>
                    </Show>
                </form>
            </td>
        </tr>
    }
}

/// Tokens for the REST API: made here, shown once, stored hashed, revocable.
/// `tokens` is the list (`None` for a non-admin), read again when `version` moves.
#[component]
fn ApiTokens(
    tokens: Resource<Result<Option<Vec<ApiToken>>, AppError>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let sync = use_sync();
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
        <section class="panel" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"API tokens"</h2>
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
            {move || tokens.get().map(|r| r.map(|list| {
                    let list = list.unwrap_or_default();
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
        </section>
    }
}
