//! One display's connection, from hello to close: pairing (a code on
//! screen until an operator claims it) or a token, then the manifest,
//! heartbeats, proof of play, errors and screenshots in, manifests and
//! commands out. One router per organization reads the event log and tells
//! only the connections an event concerns.
//!
//! Nothing a display does can make the server hold more for it than a small
//! fixed amount: messages are at most [`MAX_MESSAGE`] bytes, what goes out
//! waits in a queue of [`OUTGOING`] messages (a display that does not read
//! them is hung up on, never buffered for), a write that takes longer than
//! [`WRITE_TIMEOUT`] ends the connection, and [`MAX_STRIKES`] protocol errors
//! within a minute close it.

use std::{sync::Arc, task::Poll, time::Duration};

use axum::{
    extract::{ws::Message, State, WebSocketUpgrade},
    response::Response,
};
use futures::{
    future::BoxFuture, stream::FuturesUnordered, FutureExt, Sink, SinkExt, Stream, StreamExt,
};
use tokio::time::Instant;

use super::{
    manifest::manifest_of,
    manifest_for,
    pairing::{self, Claim, Offer},
    plays, Bounded, Control, ControlTx, Gateway,
};
use crate::{
    error::AppError,
    model::{format_pairing_code, Device, DisplayMsg, Execution, Manifest, ServerMsg},
    player::OnAir,
    server::{
        analytics::ingest,
        core::{
            ids::sha256_hex,
            metrics::{Held, METRICS},
            now_ms, Core,
        },
        devices::store as devices,
        schedules::deploys,
    },
};

/// The largest message a display may send (a screenshot is the largest).
pub const MAX_MESSAGE: usize = 1_200_000;
/// Each display socket's read buffer, which every socket holds for as long
/// as it lives: a heartbeat (about 300 bytes) fits in one read.
const READ_BUFFER: usize = 512;
/// Messages waiting to be written to one display.
pub const OUTGOING: usize = 32;
/// How long one write to a display may take before it is hung up on.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Protocol errors within a minute before the connection is closed.
pub const MAX_STRIKES: u32 = 10;
/// The most plays of one display waiting for the writer at once.
const IN_FLIGHT: usize = 256;
/// How often a display showing a code looks for its claim (a claim made on
/// this node wakes it at once).
const CLAIM_CHECK: Duration = Duration::from_secs(2);
/// How long after a due switch the server waits for the player's own
/// `switched` before recording one of its own (`reported: false`).
const SWITCH_GRACE_MS: i64 = 5_000;

pub async fn handler(
    State(core): State<Core>,
    State(gateway): State<Arc<Gateway>>,
    ws: WebSocketUpgrade,
) -> Response {
    // Display messages are small (a heartbeat is about 300 bytes): a small
    // read buffer, allocated up front for every socket, keeps twenty
    // thousand of them cheap; a larger frame's buffer is reserved once its
    // header says how large it is. What the server writes goes out at
    // once, with no buffer held back.
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            let incoming = stream.filter_map(|m| async move {
                match m {
                    Ok(Message::Text(t)) => Some(t.to_string()),
                    // Not text: refused like any message that is not the protocol's.
                    Ok(Message::Binary(_)) => Some(String::from("\0")),
                    Ok(Message::Close(_)) | Ok(Message::Ping(_)) | Ok(Message::Pong(_)) => None,
                    Err(_) => None,
                }
            });
            let outgoing = sink.with(|text: String| async move {
                Ok::<_, axum::Error>(Message::Text(text.into()))
            });
            run(core, gateway, Box::pin(incoming), Box::pin(outgoing)).await;
        })
}

/// Who a connection is, once it said so.
pub(super) struct Session {
    pub(super) org_id: String,
    pub(super) device_id: String,
    conn_id: u64,
    manifest: Manifest,
    /// The player reports its switches (it sent `switched`): nothing to derive.
    reports: bool,
    /// The playlist the display was last known to play (its deploy state).
    playing: Option<String>,
    /// Its deploy state records that it received `manifest` (a display
    /// reconnecting to the manifest it has): its acknowledgement writes
    /// nothing.
    received: bool,
    /// A switch the timeline made at this instant that the player has not
    /// reported yet.
    due: Option<(i64, OnAir)>,
}

impl Session {
    /// When the server must next look at the timeline for a player that
    /// does not report its switches: when a due switch's grace ends, else
    /// at the timeline's next boundary. `None` for a player that reports
    /// them. A connection wakes for this only when something can change,
    /// never on a fleet-wide tick.
    fn next_switch_check(&self, now: i64) -> Option<i64> {
        if self.reports {
            return None;
        }
        if let Some((since, _)) = &self.due {
            let grace_ends = since + SWITCH_GRACE_MS;
            // Past it, the record failed: try again in a second.
            return Some(if grace_ends > now {
                grace_ends
            } else {
                now + 1_000
            });
        }
        // On air now is not what it last played (a new session or manifest).
        let playing = self.manifest.playing_at(now);
        if playing.segment.is_some() && playing.playlist_id != self.playing.as_deref() {
            return Some(now);
        }
        self.manifest
            .timeline
            .iter()
            .flat_map(|s| [s.start, s.end])
            .filter(|at| *at > now)
            .min()
    }
}

/// What waits to be written to the display: the connection's own loop
/// writes it (no task or channel of its own per display). `say` is false
/// when the display is not keeping up: the caller hangs up rather than
/// buffer more. Messages wait as their text, so a connection holds a few
/// bytes a slot, not a manifest's size.
#[derive(Default)]
struct Outgoing(Bounded<String>);

impl Outgoing {
    #[must_use]
    fn say(&self, msg: ServerMsg) -> bool {
        let text = serde_json::to_string(&msg).unwrap_or_default();
        METRICS.display_queue_depth.observe(self.0.len() as f64);
        self.0.push(text, OUTGOING)
    }

    fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Hands `sink` what waits, as many as it takes, and flushes it. Ready
    /// when all of it is flushed; every step it makes is recorded in
    /// `progress` (the write timeout runs from the last one). Safe to drop
    /// at any point: a message leaves the queue only as the sink takes it
    /// (only this connection's loop says anything, so nothing comes
    /// between looking and taking).
    fn write<'a, O>(
        &'a self,
        sink: &'a mut O,
        progress: &'a mut Instant,
    ) -> impl std::future::Future<Output = Result<(), ()>> + 'a
    where
        O: Sink<String> + Unpin,
    {
        futures::future::poll_fn(move |cx| loop {
            let step = if self.is_empty() {
                sink.poll_flush_unpin(cx)
            } else {
                sink.poll_ready_unpin(cx)
            };
            match step {
                Poll::Ready(Ok(())) => *progress = Instant::now(),
                Poll::Ready(Err(_)) => return Poll::Ready(Err(())),
                Poll::Pending => return Poll::Pending,
            }
            match self.0.pop() {
                Some(text) => {
                    if sink.start_send_unpin(text).is_err() {
                        return Poll::Ready(Err(()));
                    }
                }
                None => return Poll::Ready(Ok(())),
            }
        })
    }
}

/// Protocol errors in the current minute.
struct Strikes {
    count: u32,
    since: Instant,
}

impl Strikes {
    /// Counts one; `true` when the display has had too many.
    fn hit(&mut self) -> bool {
        if self.since.elapsed() > Duration::from_secs(60) {
            *self = Strikes {
                count: 0,
                since: Instant::now(),
            };
        }
        self.count += 1;
        self.count >= MAX_STRIKES
    }
}

/// One display's connection, from hello to close.
pub async fn run<I, O>(core: Core, gateway: Arc<Gateway>, mut incoming: I, outgoing: O)
where
    I: Stream<Item = String> + Unpin + Send,
    O: Sink<String> + Unpin + Send,
{
    let _open = Held::new(&METRICS.display_connections);
    let mut outgoing = outgoing;
    let out = Outgoing::default();
    // Writing: flushed once what waits is written; the last step a write
    // made, and when the display is hung up on if it makes no other.
    let mut flushed = true;
    let mut progress = Instant::now();
    let write_timeout = tokio::time::sleep(WRITE_TIMEOUT);
    tokio::pin!(write_timeout);
    let control_tx = ControlTx::default();
    let mut session: Option<Session> = None;
    let mut offer: Option<Offer> = None;
    let mut strikes = Strikes {
        count: 0,
        since: Instant::now(),
    };
    let mut claim_check = tokio::time::interval(CLAIM_CHECK);
    // The next look at the timeline (see `Session::next_switch_check`).
    let switch_check = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(switch_check);
    let mut switch_at: Option<i64> = None;
    // Plays in the writer's hands: a display sending its backlog has up to
    // `IN_FLIGHT` of them in one write, then reading waits for answers.
    // What handling a message awaits (queries, a manifest) is boxed where
    // it is awaited, so the loop itself, which every connection holds for
    // as long as it lives, stays small while it waits.
    let mut acks: FuturesUnordered<BoxFuture<'static, (String, Result<bool, AppError>)>> =
        FuturesUnordered::new();
    loop {
        if flushed && !out.is_empty() {
            flushed = false;
            progress = Instant::now();
            write_timeout.as_mut().reset(progress + WRITE_TIMEOUT);
        }
        let keep_going = tokio::select! {
            written = out.write(&mut outgoing, &mut progress), if !flushed => {
                flushed = true;
                written.is_ok()
            },
            _ = &mut write_timeout, if !flushed => {
                // Hung up on only when the write made no step for so long.
                let deadline = progress + WRITE_TIMEOUT;
                write_timeout.as_mut().reset(deadline);
                deadline > Instant::now()
            },
            Some(first) = acks.next(), if !acks.is_empty() => {
                // One write answers many plays: one message says so.
                let mut ids = Vec::new();
                let mut failed = None;
                let mut answer = Some(first);
                while let Some((id, stored)) = answer {
                    match stored {
                        Ok(_) => ids.push(id),
                        Err(e) => failed = Some(e),
                    }
                    answer = acks.next().now_or_never().flatten();
                }
                (ids.is_empty() || out.say(ServerMsg::Acked { ids }))
                    && failed.is_none_or(|e| out.say(ServerMsg::Refused { message: e.to_string() }))
            },
            text = incoming.next(), if acks.len() < IN_FLIGHT => {
                let Some(text) = text else { break };
                let outcome = match serde_json::from_str::<DisplayMsg>(&text) {
                    Err(_) if text == "\0" => Outcome::Refused("Messages are JSON text.".into()),
                    Err(e) => Outcome::Refused(format!("Not a protocol message: {e}")),
                    Ok(msg) => Box::pin(handle(&core, &gateway, &out, &control_tx, &mut session, &mut offer, msg)).await,
                };
                match outcome {
                    Outcome::Done => true,
                    Outcome::Queued(id, ack) => {
                        acks.push(Box::pin(async move { (id, ingest::answered(ack).await) }));
                        true
                    }
                    Outcome::HangUp => false,
                    Outcome::Refused(message) if strikes.hit() => {
                        let _ = out.say(ServerMsg::Refused {
                            message: format!("{message} Too many protocol errors: closing."),
                        });
                        false
                    }
                    Outcome::Refused(message) => out.say(ServerMsg::Refused { message }),
                }
            }
            control = control_tx.recv() => match control {
                Control::Claimed => {
                    Box::pin(check_claim(&core, &gateway, &out, &control_tx, &mut session, &mut offer)).await
                }
                Control::Unpair(reason) => {
                    let _ = out.say(ServerMsg::Unpaired { reason });
                    false
                }
                Control::Command { id, command } => out.say(ServerMsg::Command { id, command }),
                Control::Refresh => match session.as_mut() {
                    Some(s) => Box::pin(refresh_manifest(&core, &gateway, &out, s)).await,
                    None => true,
                },
            },
            _ = claim_check.tick(), if offer.is_some() => {
                Box::pin(check_claim(&core, &gateway, &out, &control_tx, &mut session, &mut offer)).await
            }
            _ = &mut switch_check, if switch_at.is_some() => {
                if let Some(s) = session.as_mut() {
                    Box::pin(derive_switch(&core, &gateway, s)).await;
                }
                true
            }
        };
        if !keep_going {
            break;
        }
        let now = now_ms();
        let next = session.as_ref().and_then(|s| s.next_switch_check(now));
        if next != switch_at {
            switch_at = next;
            if let Some(at) = next {
                let wait = Duration::from_millis((at - now).max(0) as u64);
                switch_check.as_mut().reset(Instant::now() + wait);
            }
        }
    }
    if let Some(o) = offer {
        gateway.unwatch_code(&o.code);
        pairing::withdraw(&core.db, &o.code).await;
    }
    if let Some(s) = session {
        gateway.disconnected(&s.device_id, s.conn_id);
    }
    // What was said last (an `unpaired`, a refusal) still goes out.
    let mut progress = Instant::now();
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        if out.write(&mut outgoing, &mut progress).await.is_ok() {
            let _ = outgoing.close().await;
        }
    })
    .await;
}

/// What one message from the display came to.
enum Outcome {
    Done,
    /// A play queued for the writer: acknowledged when it answers, while
    /// the display's next messages are read.
    Queued(String, ingest::Ack),
    /// Not acceptable: the display hears why (a strike).
    Refused(String),
    /// The connection ends (an unknown token, or the display stopped reading).
    HangUp,
}

impl Outcome {
    fn said(ok: bool) -> Self {
        if ok {
            Outcome::Done
        } else {
            Outcome::HangUp
        }
    }
}

/// Acts on one protocol message.
async fn handle(
    core: &Core,
    gateway: &Arc<Gateway>,
    out: &Outgoing,
    control_tx: &ControlTx,
    session: &mut Option<Session>,
    offer: &mut Option<Offer>,
    msg: DisplayMsg,
) -> Outcome {
    match (msg, session.as_mut()) {
        (
            DisplayMsg::Hello {
                token: Some(token), ..
            },
            None,
        ) => match devices::by_token(&core.db, &sha256_hex(token.trim())).await {
            Ok(Some((org_id, device))) => {
                let conn_id = gateway.connect(&org_id, &device.id, control_tx.clone());
                *session = Some(start_session(core, gateway, out, org_id, device, conn_id).await);
                Outcome::Done
            }
            Ok(None) => {
                let _ = out.say(ServerMsg::Unpaired {
                        reason: "This token is not known: the display was unpaired or deleted. Pair it again.".into(),
                    });
                Outcome::HangUp
            }
            Err(e) => Outcome::Refused(e.to_string()),
        },
        (DisplayMsg::Hello { token: None, .. }, None) => match offer {
            None => offer_code(core, gateway, out, control_tx, offer).await,
            Some(_) => Outcome::Done,
        },
        (
            DisplayMsg::Heartbeat {
                metrics, playing, ..
            },
            Some(s),
        ) => {
            let has_items = !s.manifest.playing_at(now_ms()).items.is_empty();
            gateway.heartbeat(&s.device_id, metrics, has_items, playing);
            Outcome::Done
        }
        (DisplayMsg::ManifestReceived { version }, Some(s)) => {
            if version.is_empty() || version.len() > 64 {
                return Outcome::Refused("A manifest version is 1 to 64 characters.".into());
            }
            let current = version == s.manifest.version;
            if !(current && s.received) {
                gateway
                    .deploys
                    .received(core, &s.org_id, &s.device_id, &version);
                s.received = current;
            }
            Outcome::Done
        }
        (
            DisplayMsg::Switched {
                id,
                at,
                playlist_id,
                source,
                schedule_id,
                takeover_id,
                previous_playlist_id,
            },
            Some(s),
        ) => {
            s.reports = true;
            s.due = None;
            let execution = Execution {
                id: id.clone(),
                device_id: s.device_id.clone(),
                at,
                playlist_id,
                source,
                schedule_id,
                takeover_id,
                previous_playlist_id,
                reported: true,
            };
            match gateway.deploys.executed(core, &s.org_id, &execution).await {
                Ok(()) => Outcome::said(out.say(ServerMsg::Acked { ids: vec![id] })),
                Err(e) => Outcome::Refused(e.to_string()),
            }
        }
        (DisplayMsg::Screenshot { command_id, image }, Some(s)) => {
            match gateway
                .reports
                .screenshot(core, &s.org_id, &s.device_id, &image)
                .await
            {
                Ok(()) => {
                    tracing::info!(device = %s.device_id, command = %command_id, "screenshot stored");
                    Outcome::Done
                }
                Err(e) => Outcome::Refused(e.to_string()),
            }
        }
        (
            DisplayMsg::Played {
                id,
                content_id,
                playlist_id,
                started_at,
                duration_ms,
            },
            Some(s),
        ) => {
            let queued = plays::queue_play(
                core,
                gateway,
                s,
                &id,
                &content_id,
                playlist_id.as_deref(),
                started_at,
                duration_ms,
            )
            .await;
            match queued {
                Ok(ack) => Outcome::Queued(id, ack),
                Err(e) => Outcome::Refused(e.to_string()),
            }
        }
        (DisplayMsg::Error { id, at, message }, Some(s)) => {
            gateway.error(&s.device_id);
            match plays::record_error(core, s, &id, at, &message).await {
                Ok(()) => Outcome::said(out.say(ServerMsg::Acked { ids: vec![id] })),
                Err(e) => Outcome::Refused(e.to_string()),
            }
        }
        (DisplayMsg::Hello { .. }, Some(_)) => Outcome::Done,
        (_, None) => {
            Outcome::Refused("Say hello first (with a token, or without one to pair).".into())
        }
    }
}

/// Shows a fresh pairing code on the display.
async fn offer_code(
    core: &Core,
    gateway: &Gateway,
    out: &Outgoing,
    control_tx: &ControlTx,
    offer: &mut Option<Offer>,
) -> Outcome {
    match pairing::offer(&core.db).await {
        Ok(o) => {
            gateway.watch_code(&o.code, control_tx);
            let said = out.say(ServerMsg::Pairing {
                code: format_pairing_code(&o.code),
                expires_at: o.expires_at,
            });
            *offer = Some(o);
            Outcome::said(said)
        }
        Err(e) => Outcome::Refused(e.to_string()),
    }
}

/// Looks whether the code on screen was claimed (then hands the token over
/// and starts the session) or lapsed (then shows a new one). `false` when
/// the display stopped reading.
async fn check_claim(
    core: &Core,
    gateway: &Arc<Gateway>,
    out: &Outgoing,
    control_tx: &ControlTx,
    session: &mut Option<Session>,
    offer: &mut Option<Offer>,
) -> bool {
    let Some(code) = offer.as_ref().map(|o| o.code.clone()) else {
        return true;
    };
    match pairing::check(&core.db, &code).await {
        Ok(Claim::Waiting) | Err(_) => true,
        Ok(Claim::Lapsed) => {
            gateway.unwatch_code(&code);
            pairing::withdraw(&core.db, &code).await;
            *offer = None;
            // A code that ran out is replaced, so the screen always shows a live one.
            !matches!(
                offer_code(core, gateway, out, control_tx, offer).await,
                Outcome::HangUp
            )
        }
        Ok(Claim::Claimed {
            org_id,
            device_id,
            name,
        }) => {
            let Some(o) = offer.take() else { return true };
            gateway.unwatch_code(&code);
            pairing::withdraw(&core.db, &code).await;
            if !out.say(ServerMsg::Paired {
                token: o.token,
                device_id: device_id.clone(),
                name,
            }) {
                return false;
            }
            // Gone already (deleted meanwhile), or unreadable: the player
            // reconnects with the token it now holds and is told which.
            let Ok(Some(device)) = devices::get(&core.db, &org_id, &device_id).await else {
                return false;
            };
            let conn_id = gateway.connect(&org_id, &device_id, control_tx.clone());
            *session = Some(start_session(core, gateway, out, org_id, device, conn_id).await);
            true
        }
    }
}

/// Starts the organization's router once: an observer of its events (the
/// hub's reader hands it each one as it reads it, so it never falls behind
/// a burst) that tells only the displays an event concerns, instead of
/// every display's loop waking for every event (ten thousand wake-ups per
/// status change).
pub(super) async fn ensure_router(core: &Core, gateway: &Arc<Gateway>, org_id: &str) {
    if !gateway.routers.lock().unwrap().insert(org_id.to_string()) {
        return;
    }
    // Observing before the first manifest is read, so no change falls between.
    let router = Arc::downgrade(gateway);
    let org = org_id.to_string();
    let observer: crate::server::core::hub::Observer = Arc::new(move |event| {
        if let Some(gateway) = router.upgrade() {
            // The plan first: the displays told to refresh read the new one.
            gateway.plans.changed(&org, &event.body);
            gateway.route(&org, &event.body);
        }
    });
    match core.hub.observe(org_id, observer).await {
        Ok(()) => gateway.plans.follow(org_id),
        Err(_) => {
            gateway.routers.lock().unwrap().remove(org_id);
        }
    }
}

/// Welcomes the display (as its hello or its claim read it) and sends its
/// manifest.
async fn start_session(
    core: &Core,
    gateway: &Arc<Gateway>,
    out: &Outgoing,
    org_id: String,
    device: Device,
    conn_id: u64,
) -> Session {
    let _ = out.say(ServerMsg::Welcome {
        device_id: device.id.clone(),
        name: device.name.clone(),
        heartbeat_seconds: core.settings.heartbeat_seconds.max(1),
    });
    ensure_router(core, gateway, &org_id).await;
    let (manifest, watch) = manifest_of(core, &gateway.plans, &org_id, &device, now_ms())
        .await
        .unwrap_or_default();
    let device_id = device.id;
    gateway.watch(&device_id, conn_id, watch);
    // One read of the deploy state serves the "sent" record and what it plays.
    let state = deploys::state(&core.db, &org_id, &device_id)
        .await
        .unwrap_or_default();
    gateway
        .deploys
        .sent(core, &org_id, &device_id, &manifest.version, state.as_ref());
    let _ = out.say(ServerMsg::Manifest(manifest.clone()));
    let received = state
        .as_ref()
        .is_some_and(|d| d.received_version.as_deref() == Some(manifest.version.as_str()));
    let playing = state.and_then(|d| d.playing_playlist_id);
    Session {
        org_id,
        device_id,
        conn_id,
        manifest,
        reports: false,
        playing,
        received,
        due: None,
    }
}

/// For a player that does not report its switches: when its timeline has
/// put another playlist on air and no `switched` came within the grace
/// period, the server records the switch itself (`reported: false`).
async fn derive_switch(core: &Core, gateway: &Gateway, s: &mut Session) {
    let now = now_ms();
    let on_air = OnAir::of(&s.manifest, now);
    if on_air.source.is_none() || on_air.playlist_id == s.playing {
        s.due = None;
        return;
    }
    let since = match &s.due {
        Some((at, due)) if *due == on_air => *at,
        _ => {
            s.due = Some((now, on_air));
            return;
        }
    };
    if now - since < SWITCH_GRACE_MS {
        return;
    }
    let execution = Execution {
        id: crate::server::core::new_id(),
        device_id: s.device_id.clone(),
        at: since,
        playlist_id: on_air.playlist_id.clone(),
        source: on_air.source.unwrap_or(crate::model::Source::None),
        schedule_id: on_air.schedule_id.clone(),
        takeover_id: on_air.takeover_id.clone(),
        previous_playlist_id: s.playing.clone(),
        reported: false,
    };
    match gateway.deploys.executed(core, &s.org_id, &execution).await {
        Ok(()) => {
            s.playing = on_air.playlist_id;
            s.due = None;
        }
        Err(e) => {
            tracing::warn!(device = %s.device_id, error = %e, "could not record a derived switch")
        }
    }
}

/// Reads the manifest again and sends it if it changed; `false` when the
/// display stopped reading.
async fn refresh_manifest(core: &Core, gateway: &Gateway, out: &Outgoing, s: &mut Session) -> bool {
    gateway.refreshed(&s.device_id, s.conn_id);
    if let Ok((manifest, watch)) = manifest_for(core, &gateway.plans, &s.org_id, &s.device_id).await
    {
        gateway.watch(&s.device_id, s.conn_id, watch);
        if manifest != s.manifest {
            // Not read first: the writer compares it in its batch.
            gateway
                .deploys
                .sent(core, &s.org_id, &s.device_id, &manifest.version, None);
            s.manifest = manifest.clone();
            s.received = false;
            return out.say(ServerMsg::Manifest(manifest));
        }
    }
    true
}
