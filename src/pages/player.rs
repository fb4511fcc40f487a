//! `/player`: a browser in kiosk mode pointed here becomes a managed display.
//! Full screen, no operator chrome. It speaks the device protocol
//! (`/device/ws`, `model::display`): shows a pairing code until an operator
//! claims it, keeps the token it is given, and plays its manifest in order,
//! looping: images and web pages for their duration, videos to their end.
//!
//! What it keeps in localStorage: the token, the last manifest (so a reload
//! with the server away still plays), and proof-of-play and error messages not
//! yet acknowledged (sent again on reconnect; the server stores each id once).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::model::{format_duration, ContentKind, Manifest, ManifestItem};

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Connecting,
    Pairing { code: String },
    Playing,
}

/// The player's reactive state, shared by the view and the protocol client.
#[derive(Clone, Copy)]
pub struct Player {
    pub phase: RwSignal<Phase>,
    pub name: RwSignal<String>,
    pub online: RwSignal<bool>,
    pub manifest: RwSignal<Manifest>,
    /// Which slot of the loop is showing; bumps on every advance, so a timer
    /// from an earlier slot does nothing.
    pub slot: RwSignal<u64>,
}

impl Player {
    /// The item for the current slot among those valid now.
    pub fn current(&self, now: i64) -> Option<ManifestItem> {
        let slot = self.slot.get();
        self.manifest.with(|m| {
            let valid: Vec<&ManifestItem> = m.items.iter().filter(|i| i.valid_at(now)).collect();
            if valid.is_empty() {
                None
            } else {
                Some(valid[(slot as usize) % valid.len()].clone())
            }
        })
    }
}

#[component]
pub fn PlayerPage() -> impl IntoView {
    let player = Player {
        phase: RwSignal::new(Phase::Connecting),
        name: RwSignal::new(String::new()),
        online: RwSignal::new(false),
        manifest: RwSignal::new(Manifest::default()),
        slot: RwSignal::new(0),
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<()>| {
        if started.is_none() {
            client::start(player);
        }
    });
    view! {
        <Title text="Player"/>
        <main class="player" data-phase=move || match player.phase.get() {
            Phase::Connecting => "connecting",
            Phase::Pairing { .. } => "pairing",
            Phase::Playing => "playing",
        } data-online=move || player.online.get().to_string()>
            {move || match player.phase.get() {
                Phase::Connecting => view! { <div class="player-message"><p>"Connecting to Vizora…"</p></div> }.into_any(),
                Phase::Pairing { code } => view! {
                    <div class="player-message pairing">
                        <p>"Pair this display"</p>
                        <p class="pairing-code" aria-label="Pairing code">{code}</p>
                        <p class="hint">"In Vizora, open Devices → Pair display, and enter this code. It is good for 10 minutes."</p>
                    </div>
                }.into_any(),
                Phase::Playing => view! { <Stage player/> }.into_any(),
            }}
        </main>
    }
}

#[component]
fn Stage(player: Player) -> impl IntoView {
    move || {
        let now = crate::sync::platform::now_ms() as i64;
        match player.current(now) {
            None => view! {
                <div class="player-message idle">
                    <p class="display-name">{move || player.name.get()}</p>
                    <p>"Nothing to play yet: assign a playlist to this display or its group."</p>
                </div>
            }
            .into_any(),
            Some(item) => {
                let turn = player.slot.get_untracked();
                view! { <Slide item turn player/> }.into_any()
            }
        }
    }
}

#[component]
fn Slide(item: ManifestItem, turn: u64, player: Player) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    client::showing(player, &item, turn);
    #[cfg(not(feature = "hydrate"))]
    let _ = (turn, player);
    let label = format!("{} ({})", item.name, format_duration(item.duration_ms));
    match item.kind {
        ContentKind::Image => view! {
            <img class="slide" src=item.url.clone() alt=label data-item=item.id.clone()/>
        }
        .into_any(),
        ContentKind::Video => view! {
            <video class="slide" src=item.url.clone() autoplay muted playsinline data-item=item.id.clone()
                on:ended=move |_| {
                    #[cfg(feature = "hydrate")]
                    client::advance(player, turn);
                }
                on:error=move |_| {
                    #[cfg(feature = "hydrate")]
                    client::failed(player, turn, "The video could not be played.");
                }></video>
        }
        .into_any(),
        ContentKind::Web => view! {
            <iframe class="slide" src=item.url.clone() title=label data-item=item.id.clone()
                sandbox="allow-scripts allow-same-origin" referrerpolicy="no-referrer"></iframe>
        }
        .into_any(),
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::{cell::RefCell, rc::Rc, time::Duration};

    use leptos::prelude::*;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{MessageEvent, WebSocket};

    use super::{Phase, Player};
    use crate::{
        model::{ContentKind, DisplayMsg, Manifest, ManifestItem, Metrics, ServerMsg},
        sync::platform::{new_op_id, now_ms},
    };

    const TOKEN_KEY: &str = "vizora.player.token";
    const MANIFEST_KEY: &str = "vizora.player.manifest";
    const OUTBOX_KEY: &str = "vizora.player.outbox";
    const VERSION: &str = concat!("web-", env!("CARGO_PKG_VERSION"));

    fn storage() -> Option<web_sys::Storage> {
        window().local_storage().ok().flatten()
    }
    fn load(key: &str) -> Option<String> {
        storage()?.get_item(key).ok().flatten()
    }
    fn save(key: &str, value: &str) {
        if let Some(s) = storage() {
            let _ = s.set_item(key, value);
        }
    }
    fn forget(key: &str) {
        if let Some(s) = storage() {
            let _ = s.remove_item(key);
        }
    }

    /// Messages waiting for the server's `Acked` (proof of play, errors).
    fn outbox() -> Vec<DisplayMsg> {
        load(OUTBOX_KEY)
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }
    fn set_outbox(msgs: &[DisplayMsg]) {
        // At most a day of plays at a few seconds each; the oldest go first.
        let keep = &msgs[msgs.len().saturating_sub(20_000)..];
        save(OUTBOX_KEY, &serde_json::to_string(keep).unwrap_or_default());
    }

    type Handler = Closure<dyn FnMut(web_sys::Event)>;
    /// The proof of play to send when a slot ends, and that slot.
    type PendingPlay = Option<(u64, Box<dyn FnOnce()>)>;

    struct Client {
        player: Player,
        socket: RefCell<Option<WebSocket>>,
        handlers: RefCell<Vec<Handler>>,
        attempt: RefCell<u32>,
        beat_seq: RefCell<u64>,
        heartbeat_ms: RefCell<u64>,
        started_at: f64,
    }

    thread_local! {
        static CLIENT: RefCell<Option<Rc<Client>>> = const { RefCell::new(None) };
    }

    fn client() -> Option<Rc<Client>> {
        CLIENT.with(|c| c.borrow().clone())
    }

    pub fn start(player: Player) {
        // With a token and a saved manifest, play at once: the server may be away.
        if load(TOKEN_KEY).is_some() {
            if let Some(m) =
                load(MANIFEST_KEY).and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
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
            started_at: now_ms(),
        });
        CLIENT.with(|cell| *cell.borrow_mut() = Some(c.clone()));
        connect(&c);
        heartbeat_loop();
        register_cache();
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
            for item in m.items.iter().filter(|i| i.kind != ContentKind::Web) {
                let _ = window().fetch_with_str(&item.url);
            }
        });
    }

    fn heartbeat_loop() {
        let Some(c) = client() else { return };
        let wait = *c.heartbeat_ms.borrow();
        set_timeout(
            move || {
                if let Some(c) = client() {
                    beat(&c);
                }
                heartbeat_loop();
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

    fn send(c: &Client, msg: &DisplayMsg) -> bool {
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
        let attempt = {
            let mut a = c.attempt.borrow_mut();
            *a += 1;
            *a
        };
        // 1 s, 2 s, 4 s … up to 30 s, with jitter so a fleet does not return at once.
        let base = (1000.0 * 2f64.powi(attempt.min(5) as i32 - 1)).min(30_000.0);
        let wait = base * (0.5 + js_sys::Math::random() / 2.0);
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
                // Status at once, not one interval later.
                beat(c);
                // What waited while the server was away.
                for m in outbox() {
                    send(c, &m);
                }
            }
            ServerMsg::Manifest(m) => {
                save(MANIFEST_KEY, &serde_json::to_string(&m).unwrap_or_default());
                let changed = c.player.manifest.with_untracked(|old| old.items != m.items);
                c.player.manifest.set(m);
                if changed {
                    c.player.slot.update(|s| *s += 1);
                    prefetch_media();
                }
            }
            ServerMsg::Acked { ids } => {
                let mut pending = outbox();
                pending.retain(|m| match m {
                    DisplayMsg::Played { id, .. } | DisplayMsg::Error { id, .. } => {
                        !ids.contains(id)
                    }
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
                c.player.manifest.set(Manifest::default());
                c.player.phase.set(Phase::Connecting);
            }
            ServerMsg::Refused { message } => {
                leptos::logging::warn!("the server refused a message: {message}");
            }
        }
    }

    /// What the screen shows, drawn into a canvas at most 640 px wide, as a
    /// JPEG data URL. Images and videos are drawn as shown (letterboxed, like
    /// the stage); a web page cannot be read back from its frame, so its
    /// address is written instead; with no slide, the page's own text.
    fn capture() -> Option<String> {
        use web_sys::{
            CanvasRenderingContext2d, HtmlCanvasElement, HtmlElement, HtmlIFrameElement,
            HtmlImageElement, HtmlVideoElement,
        };
        let win = window();
        let doc = win.document()?;
        let w = win.inner_width().ok()?.as_f64()?.max(1.0);
        let h = win.inner_height().ok()?.as_f64()?.max(1.0);
        let scale = (640.0 / w).min(1.0);
        let (cw, ch) = ((w * scale).round(), (h * scale).round());
        let canvas: HtmlCanvasElement = doc.create_element("canvas").ok()?.dyn_into().ok()?;
        canvas.set_width(cw as u32);
        canvas.set_height(ch as u32);
        let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
        ctx.set_fill_style_str("#000");
        ctx.fill_rect(0.0, 0.0, cw, ch);
        let fit = |iw: f64, ih: f64| {
            let s = (cw / iw.max(1.0)).min(ch / ih.max(1.0));
            let (dw, dh) = (iw * s, ih * s);
            ((cw - dw) / 2.0, (ch - dh) / 2.0, dw, dh)
        };
        let text = |lines: &[String]| {
            ctx.set_fill_style_str("#e6edf3");
            ctx.set_font("20px sans-serif");
            ctx.set_text_align("center");
            let top = ch / 2.0 - (lines.len() as f64 - 1.0) * 14.0;
            for (i, line) in lines.iter().enumerate() {
                let _ = ctx.fill_text(line, cw / 2.0, top + i as f64 * 28.0);
            }
        };
        let slide = doc.query_selector(".slide").ok().flatten();
        if let Some(img) = slide.as_ref().and_then(|e| e.dyn_ref::<HtmlImageElement>()) {
            let (x, y, dw, dh) = fit(img.natural_width() as f64, img.natural_height() as f64);
            ctx.draw_image_with_html_image_element_and_dw_and_dh(img, x, y, dw, dh)
                .ok()?;
        } else if let Some(video) = slide.as_ref().and_then(|e| e.dyn_ref::<HtmlVideoElement>()) {
            let (x, y, dw, dh) = fit(video.video_width() as f64, video.video_height() as f64);
            ctx.draw_image_with_html_video_element_and_dw_and_dh(video, x, y, dw, dh)
                .ok()?;
        } else if let Some(frame) = slide
            .as_ref()
            .and_then(|e| e.dyn_ref::<HtmlIFrameElement>())
        {
            text(&["Web page".to_string(), frame.src()]);
        } else {
            let shown = doc
                .query_selector(".player")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlElement>().ok())
                .map(|e| e.inner_text())
                .unwrap_or_default();
            let lines: Vec<String> = shown
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(6)
                .map(str::to_string)
                .collect();
            text(&lines);
        }
        canvas
            .to_data_url_with_type_and_encoder_options(
                "image/jpeg",
                &wasm_bindgen::JsValue::from_f64(0.8),
            )
            .ok()
    }

    /// Queues a message for the server until it is acknowledged.
    fn report(msg: DisplayMsg) {
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
                    playlist_id: player.manifest.with_untracked(|m| m.playlist_id.clone()),
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
}
