//! The Devices dialogs: add and edit a display, pair one by its code, and the
//! confirmations for Unpair and Delete.

use leptos::{ev::SubmitEvent, prelude::*};

use super::{Dialogs, Showing};
use crate::{
    components::dialog::{Confirm, Dialog},
    model::{normalize_pairing_code, parse_tags, Change, Device, DevicePatch},
    sync::{platform::new_op_id, use_devices, use_library, use_sync, SyncHandle},
};

const TIME_ZONES: [&str; 24] = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Warsaw",
    "Europe/Istanbul",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Mexico_City",
];

fn time_zone_list() -> impl IntoView {
    view! {
        <datalist id="time-zones">
            {TIME_ZONES.iter().map(|tz| view! { <option value=*tz></option> }).collect_view()}
        </datalist>
    }
}

/// Whichever dialog `dialogs` says is open, about the display it names.
#[component]
pub(super) fn DialogHost(dialogs: Dialogs) -> impl IntoView {
    let sync = use_sync();
    let devices = use_devices();
    move || {
        let close = move || dialogs.close();
        let target = dialogs
            .target
            .get()
            .and_then(|id| untrack(|| devices.with_store(|s| s.device(&id))));
        match (dialogs.open.get(), target) {
            (Showing::Add, _) => view! { <DeviceForm device=None on_done=close/> }.into_any(),
            (Showing::Edit, Some(d)) => {
                view! { <DeviceForm device=Some(d) on_done=close/> }.into_any()
            }
            (Showing::Delete, Some(d)) => {
                let change = StoredValue::new(Change::DeleteDevice {
                    device_id: d.id.clone(),
                });
                view! {
                    <Confirm
                        title=format!("Delete “{}”?", d.name)
                        body="The display is removed from the fleet and stops receiving content. This cannot be undone."
                        action="Delete"
                        on_confirm=move || { sync.submit(change.get_value(), Some(d.version)); }
                        on_close=close/>
                }
                .into_any()
            }
            (Showing::Pair, _) => view! { <PairForm on_done=close/> }.into_any(),
            (Showing::Unpair, Some(d)) => {
                let change = StoredValue::new(Change::UnpairDevice {
                    device_id: d.id.clone(),
                });
                view! {
                    <Confirm
                        title=format!("Unpair “{}”?", d.name)
                        body="Its player is disconnected at once and its token stops working; the screen goes back to showing a pairing code."
                        action="Unpair"
                        on_confirm=move || { sync.submit(change.get_value(), Some(d.version)); }
                        on_close=close/>
                }
                .into_any()
            }
            _ => ().into_any(),
        }
    }
}

/// Add (no device) or edit (a device): name, group, time zone, tags, and for
/// an existing display its own playlist.
#[component]
fn DeviceForm(
    device: Option<Device>,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let sync = use_sync();
    let groups = use_devices().groups.get_untracked();
    let lists = use_library().playlists.get_untracked();
    let editing_existing = device.is_some();
    let title = if editing_existing {
        "Edit display"
    } else {
        "Add display"
    };
    let name = RwSignal::new(device.as_ref().map(|d| d.name.clone()).unwrap_or_default());
    let group = RwSignal::new(
        device
            .as_ref()
            .and_then(|d| d.group_id.clone())
            .unwrap_or_default(),
    );
    let timezone = RwSignal::new(
        device
            .as_ref()
            .map_or_else(|| "UTC".to_string(), |d| d.timezone.clone()),
    );
    let tags = RwSignal::new(
        device
            .as_ref()
            .map(|d| d.tags.join(", "))
            .unwrap_or_default(),
    );
    let playlist = RwSignal::new(
        device
            .as_ref()
            .and_then(|d| d.playlist_id.clone())
            .unwrap_or_default(),
    );
    let editing = StoredValue::new(device);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let group_id = Some(group.get_untracked()).filter(|g| !g.is_empty());
        let playlist_id = Some(playlist.get_untracked()).filter(|p| !p.is_empty());
        editing.with_value(|existing| {
            save(
                sync,
                existing.as_ref(),
                Fields {
                    name: name.get_untracked(),
                    group_id,
                    timezone: timezone.get_untracked(),
                    tags: parse_tags(&tags.get_untracked()),
                    playlist_id,
                },
            )
        });
        on_done();
    };
    view! {
        <Dialog title=title.to_string() on_close=on_done on_submit=submit>
            <label for="device-name">"Name"</label>
            <input id="device-name" type="text"
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <label for="device-group">"Group"</label>
            <select id="device-group" prop:value=move || group.get() on:change=move |ev| group.set(event_target_value(&ev))>
                <option value="">"No group"</option>
                {groups.into_iter().map(|g| {
                    let selected = g.id == group.get_untracked();
                    view! { <option value=g.id selected=selected>{g.name}</option> }
                }).collect_view()}
            </select>
            <label for="device-timezone">"Time zone"</label>
            <input id="device-timezone" type="text" list="time-zones"
                prop:value=move || timezone.get() on:input=move |ev| timezone.set(event_target_value(&ev))/>
            {time_zone_list()}
            <label for="device-tags">"Tags (comma-separated)"</label>
            <input id="device-tags" type="text"
                prop:value=move || tags.get() on:input=move |ev| tags.set(event_target_value(&ev))/>
            <Show when=move || editing_existing>
                <label for="device-playlist">"Playlist"</label>
                <select id="device-playlist" on:change=move |ev| playlist.set(event_target_value(&ev))>
                    <option value="" selected=playlist.get_untracked().is_empty()>"Group default"</option>
                    {lists.iter().map(|p| {
                        let selected = p.id == playlist.get_untracked();
                        view! { <option value=p.id.clone() selected=selected>{p.name.clone()}</option> }
                    }).collect_view()}
                </select>
            </Show>
            <div class="dialog-actions">
                <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                <button type="submit" class="button primary">"Save"</button>
            </div>
        </Dialog>
    }
}

/// What the display form holds.
struct Fields {
    name: String,
    group_id: Option<String>,
    timezone: String,
    tags: Vec<String>,
    playlist_id: Option<String>,
}

/// Sends only the fields that changed, against the version the operator saw.
fn save(sync: SyncHandle, existing: Option<&Device>, f: Fields) {
    let Fields {
        name,
        group_id,
        timezone,
        tags,
        playlist_id,
    } = f;
    match existing {
        None => {
            sync.submit(
                Change::CreateDevice {
                    device_id: new_op_id(),
                    name,
                    group_id,
                    tags,
                    timezone,
                },
                None,
            );
        }
        Some(d) => {
            let patch = DevicePatch {
                name: (name != d.name).then_some(name),
                group_id: (group_id != d.group_id).then_some(group_id),
                tags: (tags != d.tags).then_some(tags),
                timezone: (timezone != d.timezone).then_some(timezone),
                playlist_id: (playlist_id != d.playlist_id).then_some(playlist_id),
            };
            if !patch.fields().is_empty() {
                sync.submit(
                    Change::UpdateDevice {
                        device_id: d.id.clone(),
                        patch,
                    },
                    Some(d.version),
                );
            }
        }
    }
}

/// "Pair display": the code a new player shows, and what to call the display.
#[component]
fn PairForm(on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let sync = use_sync();
    let groups = use_devices().groups.get_untracked();
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let group = RwSignal::new(String::new());
    let timezone = RwSignal::new("UTC".to_string());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let c = normalize_pairing_code(&code.get_untracked());
        if c.len() != 6 {
            error.set(Some(
                "The code on the screen has six letters and digits.".into(),
            ));
            return;
        }
        sync.submit(
            Change::PairDevice {
                device_id: new_op_id(),
                code: c,
                name: name.get_untracked(),
                group_id: Some(group.get_untracked()).filter(|g| !g.is_empty()),
                timezone: timezone.get_untracked(),
            },
            None,
        );
        on_done();
    };
    view! {
        <Dialog title="Pair display".to_string() on_close=on_done on_submit=submit>
            <p class="muted">"Open /player on the screen: it shows a code. Enter it here."</p>
            <label for="pair-code">"Code"</label>
            <input id="pair-code" type="text" autocomplete="off" placeholder="ABC-DEF"
                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
            <label for="pair-name">"Name"</label>
            <input id="pair-name" type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <label for="pair-group">"Group"</label>
            <select id="pair-group" on:change=move |ev| group.set(event_target_value(&ev))>
                <option value="">"No group"</option>
                {groups.into_iter().map(|g| view! { <option value=g.id>{g.name}</option> }).collect_view()}
            </select>
            <label for="pair-timezone">"Time zone"</label>
            <input id="pair-timezone" type="text" list="time-zones"
                prop:value=move || timezone.get() on:input=move |ev| timezone.set(event_target_value(&ev))/>
            {time_zone_list()}
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <div class="dialog-actions">
                <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                <button type="submit" class="button primary">"Pair"</button>
            </div>
        </Dialog>
    }
}
