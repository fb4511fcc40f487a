//! The one dialog of the console, and the confirmation built on it.
//!
//! A dialog closes on Escape; when it opens, focus moves to its first field
//! (or to the dialog itself), and when it closes, back to whatever had focus
//! before, so a keyboard user lands where they were.

use std::sync::atomic::{AtomicUsize, Ordering};

use leptos::{ev::SubmitEvent, html, prelude::*};

/// A modal dialog (a box over a backdrop) with `title` as its heading and
/// name, or with `drawer`, a side panel that leaves the page usable and has a
/// Close button in its header. `on_close` runs on Escape (and the drawer's
/// Close); the children are the fields and the actions.
///
/// Defaults: `role="dialog"`; `alert` makes it an `alertdialog` (a question
/// about something that cannot be undone), `description` a paragraph under
/// the heading that describes it, `on_submit` makes the box a `<form>`.
#[component]
pub fn Dialog(
    #[prop(into)] title: Signal<String>,
    #[prop(into)] on_close: Callback<()>,
    #[prop(optional)] alert: bool,
    #[prop(optional, into)] description: Option<String>,
    #[prop(optional, into)] on_submit: Option<Callback<SubmitEvent>>,
    #[prop(optional)] drawer: bool,
    children: Children,
) -> impl IntoView {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let title_id = format!("dialog-{n}-title");
    let body_id = format!("dialog-{n}-body");
    let backdrop = NodeRef::<html::Div>::new();
    let panel = NodeRef::<html::Section>::new();
    keep_focus_inside(backdrop, panel);
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            on_close.run(());
        }
    });
    on_cleanup(move || escape.remove());

    if drawer {
        return view! {
            <section class="drawer" role="dialog" aria-label=move || title.get() tabindex="-1" node_ref=panel>
                <header>
                    <h2>{move || title.get()}</h2>
                    <button type="button" class="button ghost" aria-label="Close" on:click=move |_| on_close.run(())>"×"</button>
                </header>
                {children()}
            </section>
        }
        .into_any();
    }
    let role = if alert { "alertdialog" } else { "dialog" };
    let described = description.is_some().then(|| body_id.clone());
    let heading = view! {
        <h2 id=title_id.clone()>{move || title.get()}</h2>
        {description.map(|d| view! { <p id=body_id.clone()>{d}</p> })}
    };
    let content = match on_submit {
        Some(submit) => view! {
            <form class="dialog" role=role aria-modal="true" aria-labelledby=title_id
                aria-describedby=described tabindex="-1" on:submit=move |ev| submit.run(ev)>
                {heading}
                {children()}
            </form>
        }
        .into_any(),
        None => view! {
            <div class="dialog" role=role aria-modal="true" aria-labelledby=title_id
                aria-describedby=described tabindex="-1">
                {heading}
                {children()}
            </div>
        }
        .into_any(),
    };
    view! { <div class="dialog-backdrop" node_ref=backdrop>{content}</div> }.into_any()
}

/// Moves focus into the dialog once it is in the page, and back to the
/// element that had it when the dialog goes.
fn keep_focus_inside(backdrop: NodeRef<html::Div>, panel: NodeRef<html::Section>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;

        let before = StoredValue::new_local(
            document()
                .active_element()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
        );
        Effect::new(move |_| {
            let root: Option<web_sys::Element> = match (backdrop.get(), panel.get()) {
                (Some(b), _) => b.query_selector(".dialog").ok().flatten(),
                (None, Some(p)) => Some(p.into()),
                (None, None) => None,
            };
            let Some(root) = root else { return };
            let first = root
                .query_selector(
                    "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])",
                )
                .ok()
                .flatten()
                .unwrap_or(root);
            if let Ok(el) = first.dyn_into::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        });
        on_cleanup(move || {
            if let Some(el) = before.try_get_value().flatten() {
                if el.is_connected() {
                    let _ = el.focus();
                }
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (backdrop, panel);
}

/// "Are you sure?" for a change that cannot be undone: `title` names the
/// thing, `body` says what happens, `action` is the button that does it
/// (styled as dangerous) beside Cancel.
#[component]
pub fn Confirm(
    #[prop(into)] title: String,
    #[prop(into)] body: String,
    action: &'static str,
    #[prop(into)] on_confirm: Callback<()>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    view! {
        <Dialog title=title on_close alert=true description=body>
            <div class="dialog-actions">
                <button type="button" class="button ghost" on:click=move |_| on_close.run(())>"Cancel"</button>
                <button type="button" class="button danger" on:click=move |_| {
                    on_confirm.run(());
                    on_close.run(());
                }>{action}</button>
            </div>
        </Dialog>
    }
}
