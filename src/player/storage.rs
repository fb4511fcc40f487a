//! What the player keeps in localStorage: its token, the last manifest (so a
//! reload with the server away still plays), and the outbox of proof-of-play
//! and error messages not yet acknowledged.

use leptos::prelude::*;

use crate::model::DisplayMsg;

pub(super) const TOKEN_KEY: &str = "vizora.player.token";
pub(super) const MANIFEST_KEY: &str = "vizora.player.manifest";
const OUTBOX_KEY: &str = "vizora.player.outbox";
/// What the timeline last put on screen (a reload does not report it again).
pub(super) const ON_AIR_KEY: &str = "vizora.player.on-air";

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}
pub(super) fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}
pub(super) fn save(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}
pub(super) fn forget(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// Messages waiting for the server's `Acked` (proof of play, errors).
pub(super) fn outbox() -> Vec<DisplayMsg> {
    load(OUTBOX_KEY)
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}
pub(super) fn set_outbox(msgs: &[DisplayMsg]) {
    // At most a day of plays at a few seconds each; the oldest go first.
    let keep = &msgs[msgs.len().saturating_sub(20_000)..];
    save(OUTBOX_KEY, &serde_json::to_string(keep).unwrap_or_default());
}
