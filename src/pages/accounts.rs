//! Settings' accounts panels: your password, the sessions you may end, and
//! (admins) the organization's accounts. Account changes are ops through
//! the one change path, sent at once rather than kept in the outbox (some
//! carry a password); the lists read again whenever the stream says an
//! account, session or token changed, on any node.

use leptos::prelude::*;

use crate::{
    api::{accounts::fetch_accounts, devices::apply_op},
    components::{ago, dialog::Confirm},
    error::AppError,
    model::{AccountsSnapshot, Change, Op, Role, Secret, SessionRow, User},
    sync::{platform::new_op_id, platform::now_ms, use_sync, SyncHandle},
};

/// Sends one account change now; `done` runs with the outcome (the server's
/// message on a refusal is shown as it is).
fn send(
    sync: SyncHandle,
    change: Change,
    base_version: Option<i64>,
    done: impl FnOnce(bool) + 'static,
) {
    let op = Op {
        op_id: new_op_id(),
        base_version,
        change,
    };
    leptos::task::spawn_local(async move {
        match apply_op(op).await {
            Ok(_) => done(true),
            Err(err) => {
                sync.notices.error(err.to_string());
                done(false)
            }
        }
    });
}

#[component]
pub fn Accounts(is_admin: Signal<bool>) -> impl IntoView {
    let sync = use_sync();
    // The newest stream event about accounts, sessions or tokens: the lists
    // read again when it moves.
    let changed = Memo::new(move |_| {
        sync.store.with(|s| {
            s.recent()
                .rev()
                .find(|e| e.body.touches_credentials())
                .map(|e| e.seq)
        })
    });
    let version = RwSignal::new(0u32);
    let accounts = Resource::new(move || (version.get(), changed.get()), |_| fetch_accounts());
    let reload = Callback::new(move |()| version.update(|v| *v += 1));
    // Dialogs and forms live outside the lists: a list read again (another
    // operator signed in somewhere) must not close a dialog or clear a form.
    let ending = RwSignal::new(None::<SessionRow>);
    let deactivating = RwSignal::new(None::<User>);
    let sync = use_sync();
    let loaded = move |f: fn(AccountsSnapshot, Ui) -> AnyView| {
        move || {
            accounts
                .get()
                .map(|r: Result<AccountsSnapshot, AppError>| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(snapshot) => f(
                        snapshot,
                        Ui {
                            ending,
                            deactivating,
                            reload,
                        },
                    ),
                })
        }
    };
    view! {
        <PasswordForm/>
        <section class="panel" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p class="muted">{move || if is_admin.get() {
                "Every signed-in browser of the organization. Ending one signs it out at once."
            } else {
                "Where you are signed in. Ending one signs it out at once."
            }}</p>
            <Transition fallback=|| view! { <p class="muted">"Loading sessions…"</p> }>
                {loaded(|s, ui| view! { <Sessions sessions=s.sessions ui/> }.into_any())}
            </Transition>
        </section>
        // The Transition is made whoever is signed in, outside the Show: a
        // Transition or resource made in a closure that runs when the session
        // resolves takes its hydration id in whatever order the server's
        // tasks ran, and the browser then matches data to the wrong one.
        <Transition fallback=move || is_admin.get().then(|| view! { <p class="muted">"Loading accounts…"</p> })>
            <Show when=move || is_admin.get()>
                <section class="panel" aria-labelledby="users-heading">
                    <h2 id="users-heading">"Accounts"</h2>
                    <AddAccount reload/>
                    {loaded(|s, ui| view! { <Users users=s.users ui/> }.into_any())}
                </section>
            </Show>
        </Transition>
        {move || ending.get().map(|s| {
            let id = s.id.clone();
            view! {
                <Confirm
                    title=format!("Sign {} out of {}?", s.email, browser(s.user_agent.as_deref()))
                    body="That browser goes to the sign-in page at once."
                    action="Sign out"
                    on_confirm=move || {
                        send(sync, Change::EndSession { session_id: id.clone() }, None, move |_| reload.run(()));
                    }
                    on_close=move || ending.set(None)/>
            }
        })}
        {move || deactivating.get().map(|u| {
            let (id, version) = (u.id.clone(), u.version);
            view! {
                <Confirm
                    title=format!("Deactivate {}?", u.email)
                    body="They are signed out everywhere at once and their API tokens stop working. What they did stays in the history; you can reactivate the account later."
                    action="Deactivate"
                    on_confirm=move || {
                        send(sync, Change::DeactivateUser { user_id: id.clone() }, Some(version), move |_| reload.run(()));
                    }
                    on_close=move || deactivating.set(None)/>
            }
        })}
    }
}

/// What the lists share with the panel around them.
#[derive(Clone, Copy)]
struct Ui {
    ending: RwSignal<Option<SessionRow>>,
    deactivating: RwSignal<Option<User>>,
    reload: Callback<()>,
}

#[component]
fn PasswordForm() -> impl IntoView {
    let sync = use_sync();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (c, n, a) = (
            current.get_untracked(),
            new.get_untracked(),
            again.get_untracked(),
        );
        if n != a {
            sync.notices
                .error("The new password and its repetition differ.");
            return;
        }
        if let Err(message) = crate::model::validate_password(&n) {
            sync.notices.error(message);
            return;
        }
        busy.set(true);
        send(
            sync,
            Change::ChangePassword {
                current: Secret(c),
                new: Secret(n),
            },
            None,
            move |ok| {
                busy.set(false);
                if ok {
                    current.set(String::new());
                    new.set(String::new());
                    again.set(String::new());
                    sync.notices
                        .info("Password changed. Your other sessions were signed out.");
                }
            },
        );
    };
    let field = |label: &'static str, value: RwSignal<String>, auto: &'static str| {
        view! {
            <label>{label} " "
                <input type="password" required autocomplete=auto
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            </label>
        }
    };
    view! {
        <section class="panel" aria-labelledby="password-heading">
            <h2 id="password-heading">"Your password"</h2>
            <form class="toolbar" on:submit=submit aria-label="Change your password">
                {field("Current password", current, "current-password")}
                {field("New password", new, "new-password")}
                {field("New password again", again, "new-password")}
                <button type="submit" class="button" prop:disabled=move || busy.get()>"Change password"</button>
            </form>
        </section>
    }
}

/// A browser's User-Agent in a few words ("Chrome on Linux").
fn browser(agent: Option<&str>) -> String {
    let Some(a) = agent else {
        return "Unknown browser".into();
    };
    let name = ["Edg/", "Firefox/", "Chrome/", "Safari/"]
        .iter()
        .find(|n| a.contains(*n))
        .map(|n| match *n {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            _ => "Safari",
        });
    let os = ["Windows", "Mac OS", "Android", "iPhone", "Linux"]
        .iter()
        .find(|o| a.contains(*o))
        .map(|o| if *o == "Mac OS" { "macOS" } else { o });
    match (name, os) {
        (Some(n), Some(o)) => format!("{n} on {o}"),
        (Some(n), None) => n.to_string(),
        _ => a.chars().take(40).collect(),
    }
}

#[component]
fn Sessions(sessions: Vec<SessionRow>, ui: Ui) -> impl IntoView {
    let now = now_ms();
    view! {
        <table class="table sessions">
            <thead><tr>
                <th scope="col">"Who"</th><th scope="col">"Browser"</th><th scope="col">"Signed in"</th>
                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {sessions.into_iter().map(|s| {
                    let row = StoredValue::new(s.clone());
                    view! {
                        <tr data-session=s.id.clone()>
                            <th scope="row">{s.email.clone()}</th>
                            <td>{browser(s.user_agent.as_deref())}</td>
                            <td>{ago(Some(s.created_at), now)}</td>
                            <td class="actions">
                                {if s.current {
                                    view! { <span class="badge">"This browser"</span> }.into_any()
                                } else {
                                    view! {
                                        <button type="button" class="button danger"
                                            on:click=move |_| ui.ending.set(Some(row.get_value()))>"Sign out"</button>
                                    }.into_any()
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The role choices, `selected` chosen.
fn role_options(selected: Role) -> impl IntoView {
    [Role::Viewer, Role::Editor, Role::Admin]
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> })
        .collect_view()
}

#[component]
fn AddAccount(reload: Callback<()>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Editor);
    let password = RwSignal::new(String::new());
    let sync = use_sync();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let address = match crate::model::validate_email(email.get_untracked().trim()) {
            Ok(a) => a,
            Err(message) => return sync.notices.error(message),
        };
        if let Err(message) = crate::model::validate_password(&password.get_untracked()) {
            return sync.notices.error(message);
        }
        send(
            sync,
            Change::CreateUser {
                user_id: new_op_id(),
                email: address.clone(),
                role: role.get_untracked(),
                password: Secret(password.get_untracked()),
            },
            None,
            move |ok| {
                if ok {
                    email.set(String::new());
                    password.set(String::new());
                    sync.notices.info(format!(
                        "{address} can sign in now with the password you gave."
                    ));
                }
                reload.run(());
            },
        );
    };
    view! {
        <form class="toolbar" on:submit=add aria-label="Add an account">
            <label>"Email " <input type="email" required autocomplete="off"
                prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/></label>
            <label>"Role "
                <select on:change=move |ev| if let Ok(r) = event_target_value(&ev).parse() { role.set(r) }>
                    {role_options(Role::Editor)}
                </select>
            </label>
            <label>"First password " <input type="password" required autocomplete="new-password"
                prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/></label>
            <button type="submit" class="button primary">"Add account"</button>
        </form>
    }
}

#[component]
fn Users(users: Vec<User>, ui: Ui) -> impl IntoView {
    let sync = use_sync();
    let session = crate::app::use_session();
    let me = move || session.0.with(|s| s.as_ref().map(|s| s.email.clone()));
    let reload = ui.reload;
    view! {
        <table class="table users">
            <thead><tr>
                <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"State"</th>
                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {users.into_iter().map(|u| {
                    let user = StoredValue::new(u.clone());
                    // A change to this account is on its way: its controls
                    // wait for the list read after it, whose version the
                    // next change is based on (a deactivation sent meanwhile
                    // would carry the version before the role change and be
                    // refused as a conflict).
                    let saving = RwSignal::new(false);
                    let after = move |ok: bool| {
                        if !ok {
                            let _ = saving.try_set(false);
                        }
                        reload.run(())
                    };
                    let change_role = move |ev: leptos::ev::Event| {
                        let u = user.get_value();
                        if let Ok(r) = event_target_value(&ev).parse::<Role>() {
                            if r != u.role {
                                saving.set(true);
                                send(sync, Change::ChangeRole { user_id: u.id.clone(), role: r }, Some(u.version), after);
                            }
                        }
                    };
                    let reactivate = move |_| {
                        let u = user.get_value();
                        saving.set(true);
                        send(sync, Change::ReactivateUser { user_id: u.id.clone() }, Some(u.version), after);
                    };
                    let active = u.active();
                    view! {
                        <tr data-user=u.email.clone() class:inactive=!active aria-busy=move || saving.get().to_string()>
                            <th scope="row">{u.email.clone()}</th>
                            <td>
                                <select aria-label=format!("Role of {}", u.email) on:change=change_role prop:disabled=move || !active || saving.get()>
                                    {role_options(u.role)}
                                </select>
                            </td>
                            <td>{if u.active() { "active".to_string() } else { "deactivated".to_string() }}</td>
                            <td class="actions">
                                {if me().as_deref() == Some(u.email.as_str()) {
                                    view! { <span class="badge">"You"</span> }.into_any()
                                } else if active {
                                    view! {
                                        <button type="button" class="button danger" prop:disabled=move || saving.get()
                                            on:click=move |_| ui.deactivating.set(Some(user.get_value()))>"Deactivate"</button>
                                    }.into_any()
                                } else {
                                    view! { <button type="button" class="button" prop:disabled=move || saving.get() on:click=reactivate>"Reactivate"</button> }.into_any()
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
