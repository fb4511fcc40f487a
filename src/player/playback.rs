//! The loop: each slide reports its proof of play when its slot ends (by
//! timer for images and web pages, at its end for videos), and a slide that
//! cannot play reports an error and gives way to the next.

use std::{cell::RefCell, time::Duration};

use leptos::prelude::*;

use super::{
    client::{client, send},
    storage::{outbox, set_outbox},
    Player,
};
use crate::{
    model::{ContentKind, DisplayMsg, ManifestItem},
    sync::platform::{new_op_id, now_ms},
};

/// The proof of play to send when a slot ends, and that slot.
type PendingPlay = Option<(u64, Box<dyn FnOnce()>)>;
/// Queues a message for the server until it is acknowledged.
pub(super) fn report(msg: DisplayMsg) {
    let mut pending = outbox();
    pending.push(msg.clone());
    set_outbox(&pending);
    if let Some(c) = client() {
        send(&c, &msg);
    }
}

/// Called when a slide is shown: images and web pages end by timer.
pub fn showing(player: Player, item: &ManifestItem, slot: u64) {
    let started = now_ms();
    let record = {
        let item = item.clone();
        move || {
            report(DisplayMsg::Played {
                id: new_op_id(),
                content_id: item.content_id.clone(),
                playlist_id: player.on_air.with_untracked(|a| a.playlist_id.clone()),
                started_at: started as i64,
                duration_ms: (now_ms() - started) as i64,
            });
        }
    };
    PLAYED.with(|p| *p.borrow_mut() = Some((slot, Box::new(record))));
    if item.kind != ContentKind::Video {
        set_timeout(
            move || advance(player, slot),
            Duration::from_millis(item.duration_ms.max(1000) as u64),
        );
    }
}

thread_local! {
    /// The proof of play to send when the current slot ends.
    static PLAYED: RefCell<PendingPlay> = const { RefCell::new(None) };
}

/// The slot ended: record it and show the next.
pub fn advance(player: Player, slot: u64) {
    if player.slot.get_untracked() != slot {
        return;
    }
    if let Some((s, record)) = PLAYED.with(|p| p.borrow_mut().take()) {
        if s == slot {
            record();
        }
    }
    player.slot.set(slot + 1);
}

/// The slot could not play: say so, and move on.
pub fn failed(player: Player, slot: u64, message: &str) {
    if player.slot.get_untracked() != slot {
        return;
    }
    PLAYED.with(|p| p.borrow_mut().take());
    report(DisplayMsg::Error {
        id: new_op_id(),
        at: now_ms() as i64,
        message: message.into(),
    });
    player.slot.set(slot + 1);
}
