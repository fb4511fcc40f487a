//! The live stream hook: one WebSocket to `/api/v1/stream`, resumed from the
//! store's `seq` after every drop, with exponential backoff and full jitter, a
//! watchdog that treats two missed pings as a dead socket, and the browser's
//! online/offline events feeding the same connection state. A reset from the
//! server makes every snapshot resource refetch.
//!
//! When the socket cannot get as far as the server's hello twice in a row (a
//! proxy that blocks WebSockets), events come by long-poll from
//! `/api/v1/events?since=SEQ` instead, while the socket keeps being retried in
//! the background; the first hello ends the polling.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::Duration,
};

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

use super::{backoff::Backoff, platform, Connection, SyncHandle};
use crate::model::{EventsPage, StreamFrame};

/// The server pings every 15 s (Leptos.toml); silence this long means a dead socket.
const WATCHDOG_MS: f64 = 40_000.0;
/// Sockets that closed before saying hello, in a row, before falling back to long-poll.
const FALLBACK_AFTER: u32 = 2;

thread_local! {
    /// Set by `sync::leaving`: the page is navigating away itself.
    pub(super) static LEAVING: Cell<bool> = const { Cell::new(false) };
}

/// A socket event handler; kept alive as long as its socket.
type Handler = Closure<dyn FnMut(Event)>;

struct Live {
    sync: SyncHandle,
    epoch: RefCell<String>,
    attempt: Cell<u32>,
    socket: RefCell<Option<WebSocket>>,
    last_heard: Cell<f64>,
    reconnect_pending: Cell<bool>,
    handlers: RefCell<Vec<Handler>>,
    /// Whether the current socket got the server's hello.
    greeted: Cell<bool>,
    /// Events received since the last flush; applied together once per frame.
    inbox: RefCell<Vec<crate::model::Event>>,
    flush_scheduled: Cell<bool>,
    /// Sockets in a row that closed before their hello.
    failed_handshakes: Cell<u32>,
    polling: Cell<bool>,
}

pub fn start(sync: SyncHandle, epoch: String) {
    let live = Rc::new(Live {
        sync,
        epoch: RefCell::new(epoch),
        attempt: Cell::new(0),
        socket: RefCell::new(None),
        last_heard: Cell::new(platform::now_ms()),
        reconnect_pending: Cell::new(false),
        handlers: RefCell::new(Vec::new()),
        greeted: Cell::new(false),
        inbox: RefCell::new(Vec::new()),
        flush_scheduled: Cell::new(false),
        failed_handshakes: Cell::new(0),
        polling: Cell::new(false),
    });
    connect(&live);

    let watchdog = live.clone();
    let _ = set_interval_with_handle(
        move || {
            let open = watchdog
                .socket
                .borrow()
                .as_ref()
                .is_some_and(|s| s.ready_state() == WebSocket::OPEN);
            if open && platform::now_ms() - watchdog.last_heard.get() > WATCHDOG_MS {
                drop_socket(&watchdog);
                schedule_reconnect(&watchdog);
            }
        },
        Duration::from_secs(5),
    );

    let online = live.clone();
    let _ = window_event_listener_untyped("online", move |_| {
        // The network is back: send what waited, and resume the stream, now.
        online.sync.retry_now();
        if online.sync.connection.get_untracked() != Connection::Live {
            online.attempt.set(0);
            drop_socket(&online);
            connect(&online);
        }
    });
    let offline = live.clone();
    let _ = window_event_listener_untyped("offline", move |_| {
        offline.sync.state.connection.set(Connection::Offline);
    });
}

fn url(live: &Live) -> String {
    let location = window().location();
    let scheme = if location.protocol().unwrap_or_default() == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().unwrap_or_default();
    let seq = live.sync.store.with_untracked(|s| s.seq());
    let epoch = live.epoch.borrow().clone();
    format!("{scheme}://{host}/api/v1/stream?since={seq}&epoch={epoch}")
}

fn drop_socket(live: &Live) {
    if let Some(old) = live.socket.borrow_mut().take() {
        old.set_onmessage(None);
        old.set_onclose(None);
        old.set_onerror(None);
        let _ = old.close();
    }
    live.handlers.borrow_mut().clear();
}

fn connect(live: &Rc<Live>) {
    live.reconnect_pending.set(false);
    live.greeted.set(false);
    let Ok(socket) = WebSocket::new(&url(live)) else {
        schedule_reconnect(live);
        return;
    };
    let on_message = {
        let live = live.clone();
        Handler::new(move |e: Event| {
            live.last_heard.set(platform::now_ms());
            if let Some(text) = e
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            {
                handle(&live, &text);
            }
        })
    };
    let on_close = {
        let live = live.clone();
        Handler::new(move |e: Event| {
            let _ = e.dyn_ref::<CloseEvent>();
            live.socket.borrow_mut().take();
            schedule_reconnect(&live);
        })
    };
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    *live.handlers.borrow_mut() = vec![on_message, on_close];
    live.last_heard.set(platform::now_ms());
    *live.socket.borrow_mut() = Some(socket);
}

fn schedule_reconnect(live: &Rc<Live>) {
    if live.reconnect_pending.replace(true) {
        return;
    }
    if !live.greeted.get() {
        live.failed_handshakes.set(live.failed_handshakes.get() + 1);
    }
    let online = window().navigator().on_line();
    if !online {
        live.sync.state.connection.set(Connection::Offline);
    } else if live.failed_handshakes.get() >= FALLBACK_AFTER {
        start_polling(live);
    } else if !live.polling.get() {
        live.sync.state.connection.set(Connection::Reconnecting);
    }
    let attempt = live.attempt.get();
    live.attempt.set(attempt.saturating_add(1));
    let delay = Backoff::default().delay_ms(attempt, platform::random_unit());
    let live = live.clone();
    set_timeout(
        move || {
            drop_socket(&live);
            connect(&live);
        },
        Duration::from_millis(delay as u64),
    );
}

fn handle(live: &Rc<Live>, text: &str) {
    let Ok(frame) = serde_json::from_str::<StreamFrame>(text) else {
        return;
    };
    let sync = live.sync;
    match frame {
        StreamFrame::Hello { epoch, .. } => {
            *live.epoch.borrow_mut() = epoch;
            live.attempt.set(0);
            live.greeted.set(true);
            live.failed_handshakes.set(0);
            live.polling.set(false);
            sync.state.connection.set(Connection::Live);
        }
        StreamFrame::Event { event } => {
            live.inbox.borrow_mut().push(event);
            schedule_flush(live);
        }
        StreamFrame::Reset { epoch, head, .. } => {
            flush(live);
            *live.epoch.borrow_mut() = epoch;
            sync.state.store.update(|s| s.reset_seq(head));
            sync.state.refetch.update(|n| *n += 1);
        }
        StreamFrame::Ping { .. } => {}
        StreamFrame::SignedOut { .. } => signed_out(live),
    }
}

/// The session ended (signed out elsewhere, deactivated, expired): stop, and
/// go to the sign-in page, which brings the operator back here. The outbox
/// keeps what was not sent yet; it drains after signing in again.
fn signed_out(live: &Rc<Live>) {
    live.polling.set(false);
    if LEAVING.with(Cell::get) {
        return;
    }
    live.reconnect_pending.set(true); // no reconnect: the page is leaving
                                      // Not `drop_socket`: this may run inside the socket's own message handler.
    if let Some(socket) = live.socket.borrow().as_ref() {
        socket.set_onclose(None);
        let _ = socket.close();
    }
    let location = window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let next = js_sys::encode_uri_component(&here);
    let _ = location.assign(&format!("/login?next={next}"));
}

/// Applies the inbox at the next animation frame, so a burst is one re-render.
/// A timer backs the frame up: hidden tabs get no frames, and still must ack.
fn schedule_flush(live: &Rc<Live>) {
    if live.flush_scheduled.replace(true) {
        return;
    }
    let by_frame = live.clone();
    request_animation_frame(move || flush(&by_frame));
    let by_timer = live.clone();
    set_timeout(move || flush(&by_timer), Duration::from_millis(100));
}

fn flush(live: &Rc<Live>) {
    live.flush_scheduled.set(false);
    let events = std::mem::take(&mut *live.inbox.borrow_mut());
    if !events.is_empty() {
        live.sync.state.store.update(|s| {
            s.apply_stream_batch(events);
        });
    }
}

/// Long-polls the event log until a socket says hello again.
fn start_polling(live: &Rc<Live>) {
    if live.polling.replace(true) {
        return;
    }
    live.sync.state.connection.set(Connection::Polling);
    let live = live.clone();
    leptos::task::spawn_local(async move {
        let mut failures = 0u32;
        while live.polling.get() {
            match poll_once(&live).await {
                Ok(()) => {
                    failures = 0;
                    live.last_heard.set(platform::now_ms());
                    if live.polling.get() {
                        live.sync.state.connection.set(Connection::Polling);
                    }
                }
                Err(()) => {
                    failures += 1;
                    if live.polling.get() {
                        live.sync.state.connection.set(Connection::Reconnecting);
                    }
                    platform::sleep(Backoff::default().delay_ms(failures, platform::random_unit()))
                        .await;
                }
            }
        }
    });
}

async fn poll_once(live: &Rc<Live>) -> Result<(), ()> {
    let seq = live.sync.store.with_untracked(|s| s.seq());
    let epoch = live.epoch.borrow().clone();
    let url = format!("/api/v1/events?since={seq}&epoch={epoch}&wait=25");
    let response = wasm_bindgen_futures::JsFuture::from(window().fetch_with_str(&url))
        .await
        .map_err(|_| ())?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| ())?;
    if response.status() == 401 {
        signed_out(live);
        return Err(());
    }
    if !response.ok() {
        return Err(());
    }
    let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| ())?)
        .await
        .map_err(|_| ())?;
    let page: EventsPage =
        serde_json::from_str(&text.as_string().unwrap_or_default()).map_err(|_| ())?;
    if !live.polling.get() {
        return Ok(()); // the socket is back and owns the position now
    }
    let sync = live.sync;
    *live.epoch.borrow_mut() = page.epoch;
    match page.reset {
        Some(_) => {
            sync.state.store.update(|s| s.reset_seq(page.head));
            sync.state.refetch.update(|n| *n += 1);
        }
        None => sync.state.store.update(|s| {
            s.apply_stream_batch(page.events);
        }),
    }
    Ok(())
}
