//! The Content dialogs: add a web page, edit an item (name, validity window,
//! and for a web page its address and reload interval), and confirm a Delete.

use leptos::{ev::SubmitEvent, prelude::*};

use super::{library::civil, Ui};
use crate::{
    components::dialog::{Confirm, Dialog},
    model::{validate_url, validate_window, Change, Content, ContentKind, ContentPatch},
    sync::{platform::new_op_id, use_library, use_sync},
};

/// Whichever dialog `ui` says is open.
#[component]
pub(super) fn ContentDialogs(ui: Ui) -> impl IntoView {
    let sync = use_sync();
    let content = use_library().content;
    let find =
        move |id: String| content.with_untracked(|all| all.iter().find(|c| c.id == id).cloned());
    move || {
        if ui.adding_web.get() {
            return view! { <WebPageForm on_done=move || ui.adding_web.set(false)/> }.into_any();
        }
        if let Some(item) = ui.deleting.get().and_then(find) {
            let (id, version) = (item.id.clone(), item.version);
            let id = StoredValue::new(id);
            return view! {
                <Confirm
                    title=format!("Delete “{}”?", item.name)
                    body="The item is removed from the library. This cannot be undone."
                    action="Delete"
                    on_confirm=move || {
                        sync.submit(Change::DeleteContent { content_id: id.get_value() }, Some(version));
                    }
                    on_close=move || ui.deleting.set(None)/>
            }
            .into_any();
        }
        if ui.deleting_selected.get() {
            let chosen: Vec<Content> = ui.selected.with_untracked(|ids| {
                content.with_untracked(|all| {
                    all.iter()
                        .filter(|c| ids.contains(&c.id))
                        .cloned()
                        .collect()
                })
            });
            let chosen = StoredValue::new(chosen);
            let n = chosen.with_value(Vec::len);
            return view! {
                <Confirm
                    title=format!("Delete {n} item{}?", if n == 1 { "" } else { "s" })
                    body="They are removed from the library. This cannot be undone."
                    action="Delete"
                    on_confirm=move || {
                        for c in chosen.get_value() {
                            sync.submit(Change::DeleteContent { content_id: c.id.clone() }, Some(c.version));
                        }
                        ui.selected.set(Default::default());
                    }
                    on_close=move || ui.deleting_selected.set(false)/>
            }
            .into_any();
        }
        match ui.editing.get().and_then(find) {
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
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let url_v = url.get_untracked();
        if let Err(e) = validate_url(&url_v) {
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
        <Dialog title="Add web page".to_string() on_close=on_done on_submit=submit>
                <label for="web-name">"Name"</label>
                <input id="web-name" type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="web-url">"URL"</label>
                <input id="web-url" type="url" prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                <label for="web-reload">"Reload every (seconds)"</label>
                <input id="web-reload" type="number" min="10" max="86400" prop:value=move || reload.get() on:input=move |ev| reload.set(event_target_value(&ev))/>
                {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <div class="dialog-actions">
                    <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                    <button type="submit" class="button primary">"Add"</button>
                </div>
        </Dialog>
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
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let c = original.get_value();
        let parsed = (|| -> Result<ContentPatch, String> {
            let valid_from = from_input(&from.get_untracked())?;
            let valid_until = from_input(&until.get_untracked())?;
            validate_window(valid_from, valid_until)?;
            let name_v = name.get_untracked().trim().to_string();
            let mut patch = ContentPatch {
                name: (name_v != c.name).then_some(name_v),
                valid_from: (valid_from != c.valid_from).then_some(valid_from),
                valid_until: (valid_until != c.valid_until).then_some(valid_until),
                ..Default::default()
            };
            if c.kind == ContentKind::Web {
                let u = validate_url(&url.get_untracked())?;
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
        <Dialog title="Edit item".to_string() on_close=on_done on_submit=submit>
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
        </Dialog>
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
}
