//! An operator's tabs share one outbox: one tab, elected with the Web Locks API,
//! sends it; every tab shows the same pending ops, mirrored through the
//! `storage` event; when the sending tab closes, its lock is released and the
//! next tab in line takes over. An op the closed tab had in flight is sent again
//! by its successor, and the server's receipt makes that harmless.

use js_sys::{Function, Promise, Reflect};
use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::StorageEvent;

use super::{outbox, SyncHandle};

/// Asks for the sender lock; until it is granted this tab only mirrors. Without
/// Web Locks (an old browser), every tab sends, and op ids keep that exactly-once.
pub fn elect_sender(sync: SyncHandle, prefix: &str) {
    let navigator = window().navigator();
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).unwrap_or(JsValue::UNDEFINED);
    let request = Reflect::get(&locks, &JsValue::from_str("request"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    let Some(request) = request.filter(|_| !locks.is_undefined()) else {
        become_sender(sync);
        return;
    };
    let granted = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        become_sender(sync);
        // Never settles: the lock is held for as long as this tab lives.
        Promise::new(&mut |_, _| {})
    });
    let name = JsValue::from_str(&format!("{prefix}.sender"));
    if request.call2(&locks, &name, &granted).is_err() {
        become_sender(sync);
    }
}

fn become_sender(sync: SyncHandle) {
    sync.state.sender.set(true);
    sync.pump();
}

/// Applies what other tabs save or remove under `prefix` to this tab's store.
pub fn mirror_other_tabs(sync: SyncHandle, prefix: String) {
    let wanted = format!("{prefix}.");
    let _ = window_event_listener_untyped("storage", move |e| {
        let Some(e) = e.dyn_ref::<StorageEvent>() else {
            return;
        };
        let Some(key) = e.key() else { return };
        let Some(op_id) = key.strip_prefix(&wanted).map(str::to_string) else {
            return;
        };
        match e.new_value() {
            Some(text) => {
                let Ok(op) = outbox::decode_one(&text) else {
                    return;
                };
                sync.state.saved.update_value(|saved| {
                    saved.insert(op_id.clone(), op.fingerprint());
                });
                sync.state.store.update(|s| s.mirror(op));
                sync.pump();
            }
            None => {
                sync.state.saved.update_value(|saved| {
                    saved.remove(&op_id);
                });
                // Acknowledged, refused or discarded in another tab.
                sync.state.store.update(|s| {
                    s.rollback(&op_id);
                });
            }
        }
    });
}
