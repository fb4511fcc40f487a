//! The device protocol over `/device/ws`: hello with the saved token, pairing,
//! the manifest, heartbeats with what the browser can tell of its host,
//! commands (reload, screenshot), acknowledgements of the outbox, and
//! reconnecting with the console's backoff (full jitter) when the socket drops.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::Duration,
};

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{MessageEvent, WebSocket};

use super::{
    capture::capture,
    playback::report,
    storage::{forget, load, outbox, save, set_outbox, MANIFEST_KEY, ON_AIR_KEY, TOKEN_KEY},
    OnAir, Phase, Player,
};
use crate::{
    model::{ContentKind, DisplayMsg, Manifest, Metrics, ServerMsg},
    sync::{
        backoff::Backoff,
        platform::{now_ms, random_unit},
    },
};

const VERSION: &str = concat!("web-", env!("CARGO_PKG_VERSION"));

/// Reconnects wait up to 1 s, 2 s, 4 s … 30 s (full jitter), so a fleet
/// that lost the server together does not come back together.
const RECONNECT: Backoff = Backoff {
    base_ms: 1_000.0,
    cap_ms: 30_000.0,
};

type Handler = Closure<dyn FnMut(web_sys::Event)>;
pub(super) struct Client {
    player: Player,
    socket: RefCell<Option<WebSocket>>,
    handlers: RefCell<Vec<Handler>>,
    /// Reconnects since the last open socket.
    attempt: RefCell<u32>,
    beat_seq: RefCell<u64>,
    heartbeat_ms: RefCell<u64>,
    /// The server welcomed this socket: heartbeats may go out (before, they
    /// would be refused as "say hello first").
    welcomed: Cell<bool>,
    /// Which heartbeat timer is current; a welcome starts a new one at the
    /// server's interval and the old one stops at its next turn.
    beat_timer: Cell<u64>,
    started_at: f64,
}

thread_local! {
    static CLIENT: RefCell<Option<Rc<Client>>> = const { RefCell::new(None) };
}

pub(super) fn client() -> Option<Rc<Client>> {
    CLIENT.with(|c| c.borrow().clone())
}

pub fn start(player: Player) {
    // With a token and a saved manifest, play at once: the server may be away.
    if load(TOKEN_KEY).is_some() {
        if let Some(m) = load(MANIFEST_KEY).and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
        {
            player.manifest.set(m);
            player.phase.set(Phase::Playing);
        }
    }
    let c = Rc::new(Client {
        player,
        socket: RefCell::new(None),
        handlers: RefCell::new(Vec::new()),
        attempt: RefCell::new(0),
        beat_seq: RefCell::new(0),
        heartbeat_ms: RefCell::new(10_000),
        welcomed: Cell::new(false),
        beat_timer: Cell::new(0),
        started_at: now_ms(),
    });
    CLIENT.with(|cell| *cell.borrow_mut() = Some(c.clone()));
    if let Some(on_air) = load(ON_AIR_KEY).and_then(|t| serde_json::from_str::<OnAir>(&t).ok()) {
        player.on_air.set(on_air);
    }
    switch_if_due(&c);
    timeline_loop();
    connect(&c);
    register_cache();
}

/// How often the player looks at its timeline (a boundary is met within this).
const TIMELINE_TICK: Duration = Duration::from_millis(500);

/// Follows the timeline by this display's own clock, with or without the
/// server: at each boundary the new playlist goes on air.
fn timeline_loop() {
    set_timeout(
        || {
            if let Some(c) = client() {
                switch_if_due(&c);
            }
            timeline_loop();
        },
        TIMELINE_TICK,
    );
}

/// Puts on air what the timeline says plays now, if that changed, and
/// reports the switch (kept in the outbox until the server has it).
fn switch_if_due(c: &Client) {
    let now = now_ms() as i64;
    let due = c.player.manifest.with_untracked(|m| OnAir::of(m, now));
    let was = c.player.on_air.get_untracked();
    if due == was {
        return;
    }
    save(ON_AIR_KEY, &serde_json::to_string(&due).unwrap_or_default());
    c.player.on_air.set(due.clone());
    c.player.slot.update(|s| *s += 1);
    if let Some(source) = due.source {
        report(DisplayMsg::Switched {
            id: crate::sync::platform::new_op_id(),
            at: now,
            playlist_id: due.playlist_id,
            source,
            schedule_id: due.schedule_id,
            takeover_id: due.takeover_id,
            previous_playlist_id: was.playlist_id,
        });
    }
}

/// The service worker that keeps the page and the media for offline play.
fn register_cache() {
    let container = window().navigator().service_worker();
    let options = web_sys::RegistrationOptions::new();
    options.set_scope("/player");
    let _ = container.register_with_options("/player-sw.js", &options);
    // Once it controls the page, fetch the media so they are in its cache
    // before the network goes.
    let on_control = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| prefetch_media());
    container.set_oncontrollerchange(Some(on_control.as_ref().unchecked_ref()));
    on_control.forget();
    prefetch_media();
}

/// Asks for every media file of the manifest (the service worker keeps them).
fn prefetch_media() {
    let controlled = window().navigator().service_worker().controller().is_some();
    let Some(c) = client() else { return };
    if !controlled {
        return;
    }
    c.player.manifest.with_untracked(|m| {
        let every = m
            .items
            .iter()
            .chain(m.playlists.iter().flat_map(|p| p.items.iter()));
        let mut asked = std::collections::HashSet::new();
        for item in every.filter(|i| i.kind != ContentKind::Web) {
            if asked.insert(item.url.as_str()) {
                let _ = window().fetch_with_str(&item.url);
            }
        }
    });
}

/// Beats every `heartbeat_ms` while the socket is welcomed, for as long as
/// `timer` is the current one.
fn heartbeat_loop(timer: u64) {
    let Some(c) = client() else { return };
    let wait = *c.heartbeat_ms.borrow();
    set_timeout(
        move || {
            let Some(c) = client() else { return };
            if c.beat_timer.get() != timer {
                return;
            }
            if c.welcomed.get() {
                beat(&c);
            }
            heartbeat_loop(timer);
        },
        Duration::from_millis(wait),
    );
}

fn beat(c: &Client) {
    let seq = {
        let mut s = c.beat_seq.borrow_mut();
        *s += 1;
        *s
    };
    let playing = c.player.current(now_ms() as i64).map(|i| i.content_id);
    send(
        c,
        &DisplayMsg::Heartbeat {
            seq,
            at: now_ms() as i64,
            metrics: Metrics {
                memory_pct: heap_pct(),
                uptime_s: Some(((now_ms() - c.started_at) / 1000.0) as i64),
                player_version: Some(VERSION.into()),
                ..Default::default()
            },
            playing,
        },
    );
}

/// What a browser can tell of its host's memory: the share of its
/// JavaScript heap limit in use (Chromium's `performance.memory`; other
/// browsers report nothing).
fn heap_pct() -> Option<f64> {
    let perf = window().performance()?;
    let memory = js_sys::Reflect::get(&perf, &"memory".into()).ok()?;
    let used = js_sys::Reflect::get(&memory, &"usedJSHeapSize".into())
        .ok()?
        .as_f64()?;
    let limit = js_sys::Reflect::get(&memory, &"jsHeapSizeLimit".into())
        .ok()?
        .as_f64()?;
    (limit > 0.0).then(|| (used / limit * 1000.0).round() / 10.0)
}

pub(super) fn send(c: &Client, msg: &DisplayMsg) -> bool {
    let socket = c.socket.borrow();
    match socket.as_ref() {
        Some(s) if s.ready_state() == WebSocket::OPEN => s
            .send_with_str(&serde_json::to_string(msg).unwrap_or_default())
            .is_ok(),
        _ => false,
    }
}

fn url() -> String {
    let location = window().location();
    let scheme = if location.protocol().unwrap_or_default() == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!(
        "{scheme}://{}/device/ws",
        location.host().unwrap_or_default()
    )
}

fn connect(c: &Rc<Client>) {
    let Ok(socket) = WebSocket::new(&url()) else {
        reconnect_later(c);
        return;
    };
    let on_open = {
        let c = c.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            *c.attempt.borrow_mut() = 0;
            c.player.online.set(true);
            send(
                &c,
                &DisplayMsg::Hello {
                    token: load(TOKEN_KEY),
                    player_version: VERSION.into(),
                },
            );
        })
    };
    let on_message = {
        let c = c.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(text) = e
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            if let Ok(msg) = serde_json::from_str::<ServerMsg>(&text) {
                handle(&c, msg);
            }
        })
    };
    let on_close = {
        let c = c.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            c.player.online.set(false);
            c.welcomed.set(false);
            c.socket.borrow_mut().take();
            reconnect_later(&c);
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    *c.handlers.borrow_mut() = vec![on_open, on_message, on_close];
    *c.socket.borrow_mut() = Some(socket);
}

fn reconnect_later(c: &Rc<Client>) {
    let attempt = c.attempt.replace_with(|a| a.saturating_add(1));
    let wait = RECONNECT.delay_ms(attempt, random_unit());
    let c = c.clone();
    set_timeout(move || connect(&c), Duration::from_millis(wait as u64));
}

fn handle(c: &Rc<Client>, msg: ServerMsg) {
    match msg {
        ServerMsg::Pairing { code, .. } => c.player.phase.set(Phase::Pairing { code }),
        ServerMsg::Paired { token, .. } => save(TOKEN_KEY, &token),
        ServerMsg::Welcome {
            name,
            heartbeat_seconds,
            ..
        } => {
            c.player.name.set(name);
            *c.heartbeat_ms.borrow_mut() = heartbeat_seconds.max(1) * 1000;
            c.player.phase.set(Phase::Playing);
            c.welcomed.set(true);
            // Status at once, then every interval from now: a timer armed
            // before the welcome (at the old interval) would leave a gap
            // long enough to look offline.
            beat(c);
            c.beat_timer.set(c.beat_timer.get() + 1);
            heartbeat_loop(c.beat_timer.get());
            // What waited while the server was away.
            for m in outbox() {
                send(c, &m);
            }
        }
        ServerMsg::Manifest(m) => {
            save(MANIFEST_KEY, &serde_json::to_string(&m).unwrap_or_default());
            let now = now_ms() as i64;
            let changed = c
                .player
                .manifest
                .with_untracked(|old| old.playing_at(now).items != m.playing_at(now).items);
            if !m.version.is_empty() {
                send(
                    c,
                    &DisplayMsg::ManifestReceived {
                        version: m.version.clone(),
                    },
                );
            }
            c.player.manifest.set(m);
            prefetch_media();
            if changed {
                c.player.slot.update(|s| *s += 1);
            }
            switch_if_due(c);
        }
        ServerMsg::Acked { ids } => {
            let mut pending = outbox();
            pending.retain(|m| match m {
                DisplayMsg::Played { id, .. }
                | DisplayMsg::Error { id, .. }
                | DisplayMsg::Switched { id, .. } => !ids.contains(id),
                _ => true,
            });
            set_outbox(&pending);
        }
        ServerMsg::Command { id, command } => match command {
            crate::model::DisplayCommand::Reload => {
                let _ = window().location().reload();
            }
            crate::model::DisplayCommand::Screenshot => match capture() {
                Some(image) => {
                    send(
                        c,
                        &DisplayMsg::Screenshot {
                            command_id: id,
                            image,
                        },
                    );
                }
                None => leptos::logging::warn!("could not capture the screen"),
            },
        },
        ServerMsg::Unpaired { .. } => {
            forget(TOKEN_KEY);
            forget(MANIFEST_KEY);
            forget(ON_AIR_KEY);
            c.player.manifest.set(Manifest::default());
            c.player.on_air.set(OnAir::default());
            c.player.phase.set(Phase::Connecting);
        }
        ServerMsg::Refused { message } => {
            leptos::logging::warn!("the server refused a message: {message}");
        }
    }
}
