//! The device gateway: `/device/ws`, where players connect (see
//! `docs/device-protocol.md`). It owns
//! - pairing codes: issued to new displays, single-use, 10 minutes, claimed by
//!   an operator's `PairDevice` op (guesses limited per organization);
//! - the live connection of each paired display, to push manifests, commands
//!   and an unpair at once;
//! - the fleet's heartbeats, kept in memory: a ticker derives each display's
//!   status from them (an event when it changes) and writes last-seen times in
//!   batches.
//!
//! The socket loop is generic over a stream of incoming texts and a sink of
//! outgoing ones, so tests drive it with channels.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::Duration,
};

use axum::{
    extract::{ws::Message, State, WebSocketUpgrade},
    response::Response,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use rand::Rng;
use tokio::sync::mpsc;

use super::{
    auth::{random_token, sha256_hex, LoginLimiter},
    db::now_ms,
    devices,
    state::AppState,
};
use crate::{
    error::AppError,
    model::{
        format_pairing_code, normalize_pairing_code, ContentKind, DeviceStatus, DisplayCommand,
        DisplayMsg, EventBody, Manifest, ManifestItem, Metrics, ServerMsg, PAIRING_ALPHABET,
    },
};

/// How long a pairing code is good for.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong codes an organization may try per window before claims are refused.
const CLAIM_ATTEMPTS: u32 = 10;
const CLAIM_WINDOW: Duration = Duration::from_secs(600);
pub const PLAYER_VERSION_MAX: usize = 64;

/// What the gateway tells a connection's loop from outside.
#[derive(Debug)]
enum Control {
    /// The code this connection shows was claimed.
    Paired {
        org_id: String,
        device_id: String,
        name: String,
        token: String,
    },
    /// The display was unpaired or deleted: say so and hang up.
    Unpair(String),
    /// An operator's command (reload, screenshot) for the player.
    Command { id: String, command: DisplayCommand },
    /// Something the display plays changed: read its manifest again.
    Refresh,
}

struct Pairing {
    expires_at: i64,
    control: mpsc::UnboundedSender<Control>,
    /// The op that is claiming it, between its check and its commit.
    reserved_by: Option<String>,
    /// Claimed and handed over; waiting for its connection to take it.
    delivered: bool,
}

struct Connection {
    conn_id: u64,
    org_id: String,
    control: mpsc::UnboundedSender<Control>,
    watch: Watch,
}

/// What a connected display's manifest was read from: the events that can
/// change it are routed to it, and no others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Watch {
    /// The display's group (its default playlist is the fallback).
    pub group_id: Option<String>,
    /// The display's own playlist, if it has one.
    pub own_playlist: Option<String>,
    /// The playlist it plays (its own or its group's).
    pub playlist_id: Option<String>,
    /// The library items in that playlist.
    pub content: std::collections::HashSet<String>,
}

impl Watch {
    /// Whether `body` can change what display `device_id` plays. A display's
    /// own status changes cannot; a new group or playlist can.
    pub fn wants(&self, device_id: &str, body: &EventBody) -> bool {
        let my_playlist = |id: &str| self.playlist_id.as_deref() == Some(id);
        match body {
            EventBody::DeviceUpserted { device } => {
                device.id == device_id
                    && (device.group_id != self.group_id || device.playlist_id != self.own_playlist)
            }
            EventBody::GroupUpserted { group } => self.group_id.as_deref() == Some(&group.id),
            EventBody::PlaylistUpserted { playlist } => my_playlist(&playlist.id),
            EventBody::PlaylistDeleted { playlist_id, .. } => my_playlist(playlist_id),
            EventBody::ContentUpserted { content } => self.content.contains(&content.id),
            EventBody::ContentDeleted { content_id, .. } => self.content.contains(content_id),
            EventBody::DeviceDeleted { .. }
            | EventBody::AlertUpserted { .. }
            | EventBody::AlertRuleUpserted { .. }
            | EventBody::ScreenshotTaken { .. } => false,
        }
    }
}

/// What the gateway knows of one display's health, in memory.
#[derive(Debug, Clone)]
pub struct Beat {
    pub org_id: String,
    pub connected: bool,
    pub last_beat: Option<i64>,
    pub metrics: Metrics,
    pub has_content: bool,
    pub last_error: Option<i64>,
    /// When its recent errors happened, oldest first (the errors rule).
    pub errors: VecDeque<i64>,
    /// The content id on screen at the last heartbeat.
    pub playing: Option<String>,
    /// The status last written (and sent as an event).
    pub status: DeviceStatus,
    /// A heartbeat arrived since last-seen was last written.
    pub unsaved: bool,
}

#[derive(Default)]
pub struct Gateway {
    pairings: Mutex<HashMap<String, Pairing>>,
    connections: Mutex<HashMap<String, Connection>>,
    beats: Mutex<HashMap<String, Beat>>,
    claims: LoginLimiter,
    next_conn: std::sync::atomic::AtomicU64,
    /// Bumped when an alert rule changes on this node: the evaluator reads
    /// rules again at once (other nodes' changes within its refresh period).
    pub rules_changed: std::sync::atomic::AtomicU64,
    /// Organizations whose events a router task is dispatching to displays.
    routers: Mutex<std::collections::HashSet<String>>,
    /// Wakes the status ticker when a heartbeat changes a display's status,
    /// so the change reaches operators at once rather than on the next tick.
    status_changed: tokio::sync::Notify,
}

/// The status a display's heartbeats say it has. `interval_ms` is the
/// heartbeat interval; three missed beats make a display offline.
pub fn derive_status(
    now: i64,
    last_beat: Option<i64>,
    has_content: bool,
    last_error: Option<i64>,
    interval_ms: i64,
) -> DeviceStatus {
    let window = 3 * interval_ms;
    match last_beat {
        Some(at) if now - at <= window => {
            if last_error.is_some_and(|e| now - e <= window) {
                DeviceStatus::Error
            } else if has_content {
                DeviceStatus::Online
            } else {
                DeviceStatus::Idle
            }
        }
        _ => DeviceStatus::Offline,
    }
}

fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| PAIRING_ALPHABET[rng.gen_range(0..PAIRING_ALPHABET.len())] as char)
        .collect()
}

impl Gateway {
    fn issue_code(&self, control: &mpsc::UnboundedSender<Control>) -> (String, i64) {
        let mut pairings = self.pairings.lock().unwrap();
        let now = now_ms();
        pairings.retain(|_, p| p.expires_at > now && !p.control.is_closed());
        let code = loop {
            let code = new_code();
            if !pairings.contains_key(&code) {
                break code;
            }
        };
        let expires_at = now + CODE_TTL_MS;
        pairings.insert(
            code.clone(),
            Pairing {
                expires_at,
                control: control.clone(),
                reserved_by: None,
                delivered: false,
            },
        );
        (code, expires_at)
    }

    fn drop_code(&self, code: &str) {
        self.pairings.lock().unwrap().remove(code);
    }

    fn code_lapsed(&self, code: &str) -> bool {
        self.pairings
            .lock()
            .unwrap()
            .get(code)
            .is_none_or(|p| p.expires_at <= now_ms())
    }

    /// Holds a code for `op_id` while its op commits. A wrong code counts
    /// against the organization's guesses.
    pub fn reserve_code(&self, org_id: &str, code: &str, op_id: &str) -> Result<String, AppError> {
        let key = format!("pair:{org_id}");
        if let Err(wait) = self.claims.check(&key, CLAIM_ATTEMPTS, CLAIM_WINDOW) {
            return Err(AppError::RateLimited {
                message: format!(
                    "Too many wrong pairing codes; try again in {} minutes.",
                    wait.div_ceil(60)
                ),
            });
        }
        let code = normalize_pairing_code(code);
        let mut pairings = self.pairings.lock().unwrap();
        let now = now_ms();
        match pairings.get_mut(&code) {
            Some(p) if p.expires_at > now && !p.delivered && !p.control.is_closed() => {
                match &p.reserved_by {
                    Some(other) if other != op_id => Err(AppError::validation(
                        "This code is being claimed by someone else right now.",
                    )),
                    _ => {
                        p.reserved_by = Some(op_id.to_string());
                        self.claims.succeed(&key);
                        Ok(code)
                    }
                }
            }
            _ => {
                self.claims.fail(&key, CLAIM_WINDOW);
                Err(AppError::validation(format!(
                    "No display shows the code {}. Check it on the screen; codes last 10 minutes.",
                    format_pairing_code(&code)
                )))
            }
        }
    }

    /// The op that reserved a code failed: the code is free again.
    pub fn release_code(&self, op_id: &str) {
        for p in self.pairings.lock().unwrap().values_mut() {
            if p.reserved_by.as_deref() == Some(op_id) {
                p.reserved_by = None;
            }
        }
    }

    /// After commit: hand the token to the display that showed the code.
    pub fn deliver_pairing(
        &self,
        code: &str,
        org_id: &str,
        device_id: &str,
        name: &str,
        token: String,
    ) {
        // The entry stays, held, until the connection takes the token: so its
        // expiry check cannot mistake a claimed code for a lapsed one.
        if let Some(p) = self.pairings.lock().unwrap().get_mut(code) {
            p.expires_at = i64::MAX;
            p.delivered = true;
            let _ = p.control.send(Control::Paired {
                org_id: org_id.to_string(),
                device_id: device_id.to_string(),
                name: name.to_string(),
                token,
            });
        }
    }

    /// After commit: the display's token is gone; its player hears so now.
    pub fn disconnect(&self, device_id: &str, reason: &str) {
        if let Some(c) = self.connections.lock().unwrap().remove(device_id) {
            let _ = c.control.send(Control::Unpair(reason.to_string()));
        }
        self.beats.lock().unwrap().remove(device_id);
    }

    fn connect(
        &self,
        org_id: &str,
        device_id: &str,
        control: mpsc::UnboundedSender<Control>,
    ) -> u64 {
        let conn_id = self
            .next_conn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A second connection with the same token replaces the first.
        let connection = Connection {
            conn_id,
            org_id: org_id.to_string(),
            control,
            watch: Watch::default(),
        };
        if let Some(old) = self
            .connections
            .lock()
            .unwrap()
            .insert(device_id.to_string(), connection)
        {
            let _ = old.control.send(Control::Unpair(
                "Another player connected with this display's token.".into(),
            ));
        }
        let mut beats = self.beats.lock().unwrap();
        let beat = beats.entry(device_id.to_string()).or_insert_with(|| Beat {
            org_id: org_id.to_string(),
            connected: true,
            last_beat: None,
            metrics: Metrics::default(),
            has_content: false,
            last_error: None,
            errors: VecDeque::new(),
            playing: None,
            status: DeviceStatus::Offline,
            unsaved: false,
        });
        beat.connected = true;
        conn_id
    }

    fn disconnected(&self, device_id: &str, conn_id: u64) {
        let mut connections = self.connections.lock().unwrap();
        if connections
            .get(device_id)
            .is_some_and(|c| c.conn_id == conn_id)
        {
            connections.remove(device_id);
            if let Some(b) = self.beats.lock().unwrap().get_mut(device_id) {
                b.connected = false;
            }
        }
    }

    fn heartbeat(
        &self,
        device_id: &str,
        metrics: Metrics,
        has_content: bool,
        playing: Option<String>,
    ) {
        if let Some(b) = self.beats.lock().unwrap().get_mut(device_id) {
            let now = now_ms();
            b.last_beat = Some(now);
            b.metrics = metrics;
            b.has_content = has_content;
            b.playing = playing;
            b.unsaved = true;
            // Any interval will do here: the beat is fresh, so only content and
            // errors decide, and the ticker re-derives with the real one.
            if derive_status(now, b.last_beat, has_content, b.last_error, 1_000) != b.status {
                self.status_changed.notify_one();
            }
        }
    }

    fn error(&self, device_id: &str) {
        if let Some(b) = self.beats.lock().unwrap().get_mut(device_id) {
            let now = now_ms();
            b.last_error = Some(now);
            b.errors.push_back(now);
            // Enough for any rule's window (a week at most) without growing forever.
            while b.errors.len() > 1_000
                || b.errors
                    .front()
                    .is_some_and(|&at| now - at > 7 * 24 * 3_600_000)
            {
                b.errors.pop_front();
            }
        }
    }

    /// Starts tracking the paired displays the database knows (at startup),
    /// so one that never comes back goes offline, and its alerts follow.
    pub fn track(&self, displays: Vec<(String, String, DeviceStatus, Option<i64>)>) {
        let mut beats = self.beats.lock().unwrap();
        for (org_id, device_id, status, last_seen) in displays {
            beats.entry(device_id).or_insert_with(|| Beat {
                org_id,
                connected: false,
                last_beat: last_seen,
                metrics: Metrics::default(),
                has_content: status == DeviceStatus::Online,
                last_error: None,
                errors: VecDeque::new(),
                playing: None,
                status,
                unsaved: false,
            });
        }
    }

    /// Sends an operator's command to a connected display; its id comes back
    /// with the answer (a screenshot).
    pub fn command(&self, device_id: &str, command: DisplayCommand) -> Result<String, AppError> {
        let id = super::db::new_id();
        let sent = self
            .connections
            .lock()
            .unwrap()
            .get(device_id)
            .is_some_and(|c| {
                c.control
                    .send(Control::Command {
                        id: id.clone(),
                        command,
                    })
                    .is_ok()
            });
        if sent {
            Ok(id)
        } else {
            Err(AppError::validation(
                "This display is not connected right now; commands reach only connected displays.",
            ))
        }
    }

    /// Records what a connection's manifest was read from.
    fn watch(&self, device_id: &str, conn_id: u64, watch: Watch) {
        if let Some(c) = self.connections.lock().unwrap().get_mut(device_id) {
            if c.conn_id == conn_id {
                c.watch = watch;
            }
        }
    }

    /// Tells the displays an event concerns to read their manifest again. A
    /// display's own change is one lookup; group, playlist and library
    /// changes check each of the organization's connections (a comparison
    /// each, no I/O). Returns how many were told.
    pub fn route(&self, org_id: &str, body: &EventBody) -> usize {
        let connections = self.connections.lock().unwrap();
        let refresh = |c: &Connection| c.control.send(Control::Refresh).is_ok();
        match body {
            EventBody::DeviceUpserted { device } => connections
                .get(&device.id)
                .filter(|c| c.org_id == org_id && c.watch.wants(&device.id, body))
                .map_or(0, |c| usize::from(refresh(c))),
            _ => connections
                .iter()
                .filter(|(id, c)| c.org_id == org_id && c.watch.wants(id, body))
                .filter(|(_, c)| refresh(c))
                .count(),
        }
    }

    /// The router fell behind and missed events: every display of the
    /// organization reads its manifest again.
    fn refresh_all(&self, org_id: &str) {
        for c in self.connections.lock().unwrap().values() {
            if c.org_id == org_id {
                let _ = c.control.send(Control::Refresh);
            }
        }
    }

    /// Every tracked display with its beat (the alert rules and metric samples).
    pub fn fleet(&self) -> Vec<(String, Beat)> {
        self.beats
            .lock()
            .unwrap()
            .iter()
            .map(|(id, b)| (id.clone(), b.clone()))
            .collect()
    }

    /// Moves every code's expiry `ms` earlier (tests of expiry).
    #[cfg(test)]
    pub fn age_codes(&self, ms: i64) {
        for p in self.pairings.lock().unwrap().values_mut() {
            p.expires_at -= ms;
        }
    }

    /// The latest heartbeat state of a display, if it connected since start.
    pub fn beat(&self, device_id: &str) -> Option<Beat> {
        self.beats.lock().unwrap().get(device_id).cloned()
    }
}

pub async fn handler(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    // Display messages are small: modest buffers keep ten thousand sockets cheap.
    ws.max_message_size(1 << 20)
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            let incoming = stream.filter_map(|m| async move {
                match m {
                    Ok(Message::Text(t)) => Some(t.to_string()),
                    Ok(Message::Close(_)) | Err(_) => None,
                    Ok(_) => Some(String::new()),
                }
            });
            let outgoing = sink.with(|text: String| async move {
                Ok::<_, axum::Error>(Message::Text(text.into()))
            });
            run(state, Box::pin(incoming), Box::pin(outgoing)).await;
        })
}

/// Who a connection is, once it said so.
struct Session {
    org_id: String,
    device_id: String,
    conn_id: u64,
    manifest: Manifest,
}

/// One display's connection, from hello to close.
pub async fn run<I, O>(state: AppState, mut incoming: I, outgoing: O)
where
    I: Stream<Item = String> + Unpin + Send,
    O: Sink<String> + Unpin + Send + 'static,
{
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<ServerMsg>();
    let writer = tokio::spawn(async move {
        let mut outgoing = outgoing;
        while let Some(msg) = out_rx.recv().await {
            let last = matches!(msg, ServerMsg::Unpaired { .. });
            let text = serde_json::to_string(&msg).unwrap_or_default();
            if outgoing.send(text).await.is_err() || last {
                break;
            }
        }
        let _ = outgoing.close().await;
    });
    let (control_tx, mut control_rx) = mpsc::unbounded_channel::<Control>();
    let gateway = state.gateway.clone();
    let mut session: Option<Session> = None;
    let mut code: Option<String> = None;
    let mut code_check = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            text = incoming.next() => {
                let Some(text) = text else { break };
                if text.is_empty() {
                    continue;
                }
                let msg = match serde_json::from_str::<DisplayMsg>(&text) {
                    Ok(msg) => msg,
                    Err(e) => {
                        let _ = out_tx.send(ServerMsg::Refused { message: format!("Not a protocol message: {e}") });
                        continue;
                    }
                };
                match (msg, &mut session) {
                    (DisplayMsg::Hello { token: Some(token), .. }, None) => {
                        match devices::by_token(&state.db, &sha256_hex(token.trim())).await {
                            Ok(Some((org_id, device))) => {
                                let conn_id = gateway.connect(&org_id, &device.id, control_tx.clone());
                                let s = start_session(&state, &out_tx, org_id, device.id, device.name, conn_id).await;
                                session = Some(s);
                            }
                            Ok(None) => {
                                let _ = out_tx.send(ServerMsg::Unpaired {
                                    reason: "This token is not known: the display was unpaired or deleted. Pair it again.".into(),
                                });
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    (DisplayMsg::Hello { token: None, .. }, None) => {
                        if code.is_none() {
                            let (c, expires_at) = gateway.issue_code(&control_tx);
                            let _ = out_tx.send(ServerMsg::Pairing { code: format_pairing_code(&c), expires_at });
                            code = Some(c);
                        }
                    }
                    (DisplayMsg::Heartbeat { metrics, playing, .. }, Some(s)) => {
                        gateway.heartbeat(&s.device_id, metrics, !s.manifest.items.is_empty(), playing);
                    }
                    (DisplayMsg::Screenshot { command_id, image }, Some(s)) => {
                        match super::health::store(&state, &s.org_id, &s.device_id, &image).await {
                            Ok(()) => tracing::info!(device = %s.device_id, command = %command_id, "screenshot stored"),
                            Err(e) => {
                                let _ = out_tx.send(ServerMsg::Refused { message: e.to_string() });
                            }
                        }
                    }
                    (DisplayMsg::Played { id, content_id, playlist_id, started_at, duration_ms }, Some(s)) => {
                        let stored = record_play(&state, s, &id, &content_id, playlist_id.as_deref(), started_at, duration_ms).await;
                        if stored.is_ok() {
                            let _ = out_tx.send(ServerMsg::Acked { ids: vec![id] });
                        }
                    }
                    (DisplayMsg::Error { id, at, message }, Some(s)) => {
                        gateway.error(&s.device_id);
                        if record_error(&state, s, &id, at, &message).await.is_ok() {
                            let _ = out_tx.send(ServerMsg::Acked { ids: vec![id] });
                        }
                    }
                    (DisplayMsg::Hello { .. }, Some(_)) => {}
                    (_, None) => {
                        let _ = out_tx.send(ServerMsg::Refused { message: "Say hello first (with a token, or without one to pair).".into() });
                    }
                }
            }
            Some(control) = control_rx.recv() => match control {
                Control::Paired { org_id, device_id, name, token } => {
                    if let Some(c) = code.take() {
                        gateway.drop_code(&c);
                    }
                    let _ = out_tx.send(ServerMsg::Paired { token, device_id: device_id.clone(), name: name.clone() });
                    let conn_id = gateway.connect(&org_id, &device_id, control_tx.clone());
                    let s = start_session(&state, &out_tx, org_id, device_id, name, conn_id).await;
                    session = Some(s);
                }
                Control::Unpair(reason) => {
                    let _ = out_tx.send(ServerMsg::Unpaired { reason });
                    break;
                }
                Control::Command { id, command } => {
                    let _ = out_tx.send(ServerMsg::Command { id, command });
                }
                Control::Refresh => {
                    if let Some(s) = session.as_mut() {
                        refresh_manifest(&state, &out_tx, s).await;
                    }
                }
            },
            _ = code_check.tick() => {
                // A code that ran out is replaced, so the screen always shows a live one.
                if let Some(c) = &code {
                    if gateway.code_lapsed(c) {
                        gateway.drop_code(c);
                        let (c, expires_at) = gateway.issue_code(&control_tx);
                        let _ = out_tx.send(ServerMsg::Pairing { code: format_pairing_code(&c), expires_at });
                        code = Some(c);
                    }
                }
            }
        }
    }
    if let Some(c) = code {
        gateway.drop_code(&c);
    }
    if let Some(s) = session {
        gateway.disconnected(&s.device_id, s.conn_id);
    }
    drop(out_tx);
    let _ = writer.await;
}

/// Starts the organization's router once: one subscriber to its events that
/// tells only the displays an event concerns, instead of every display's
/// loop waking for every event (ten thousand wake-ups per status change).
async fn ensure_router(state: &AppState, org_id: &str) {
    if !state
        .gateway
        .routers
        .lock()
        .unwrap()
        .insert(org_id.to_string())
    {
        return;
    }
    // Subscribed before the first manifest is read, so no change falls between.
    let Ok(mut rx) = state.hub.subscribe(org_id).await else {
        state.gateway.routers.lock().unwrap().remove(org_id);
        return;
    };
    let state = state.clone();
    let org_id = org_id.to_string();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(shared) => {
                    state.gateway.route(&org_id, &shared.event.body);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    state.gateway.refresh_all(&org_id);
                }
                Err(_) => break,
            }
        }
        state.gateway.routers.lock().unwrap().remove(&org_id);
    });
}

async fn start_session(
    state: &AppState,
    out: &mpsc::UnboundedSender<ServerMsg>,
    org_id: String,
    device_id: String,
    name: String,
    conn_id: u64,
) -> Session {
    let _ = out.send(ServerMsg::Welcome {
        device_id: device_id.clone(),
        name,
        heartbeat_seconds: state.settings.heartbeat_seconds.max(1),
    });
    ensure_router(state, &org_id).await;
    let (manifest, watch) = manifest_for(state, &org_id, &device_id)
        .await
        .unwrap_or_default();
    state.gateway.watch(&device_id, conn_id, watch);
    let _ = out.send(ServerMsg::Manifest(manifest.clone()));
    Session {
        org_id,
        device_id,
        conn_id,
        manifest,
    }
}

async fn refresh_manifest(
    state: &AppState,
    out: &mpsc::UnboundedSender<ServerMsg>,
    s: &mut Session,
) {
    if let Ok((manifest, watch)) = manifest_for(state, &s.org_id, &s.device_id).await {
        state.gateway.watch(&s.device_id, s.conn_id, watch);
        if manifest != s.manifest {
            s.manifest = manifest.clone();
            let _ = out.send(ServerMsg::Manifest(manifest));
        }
    }
}

/// What a display plays: its own playlist, else its group's, with each item's
/// URL, hash and duration; and what it was read from, to know when to look again.
pub async fn manifest_for(
    state: &AppState,
    org_id: &str,
    device_id: &str,
) -> Result<(Manifest, Watch), AppError> {
    let db = &state.db;
    let Some(device) = devices::get(db, org_id, device_id).await? else {
        return Ok((Manifest::default(), Watch::default()));
    };
    let group_id = device.group_id.clone();
    let mut watch = Watch {
        group_id: group_id.clone(),
        own_playlist: device.playlist_id.clone(),
        ..Watch::default()
    };
    let mut playlist_id = device.playlist_id.clone();
    if playlist_id.is_none() {
        if let Some(group_id) = &group_id {
            playlist_id = devices::group_playlist(db, org_id, group_id).await?;
        }
    }
    let Some(playlist_id) = playlist_id else {
        return Ok((Manifest::default(), watch));
    };
    watch.playlist_id = Some(playlist_id.clone());
    let Some(playlist) = super::playlists::get(db, org_id, &playlist_id).await? else {
        return Ok((Manifest::default(), watch));
    };
    watch.content = playlist
        .items
        .iter()
        .map(|i| i.content_id.clone())
        .collect();
    let ids: Vec<&str> = playlist
        .items
        .iter()
        .map(|i| i.content_id.as_str())
        .collect();
    let library: HashMap<String, crate::model::Content> =
        super::content::get_many(db, org_id, &ids)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
    let items = playlist
        .items
        .iter()
        .filter_map(|item| {
            let c = library.get(&item.content_id)?;
            let url = match c.kind {
                ContentKind::Web => c.url.clone()?,
                _ => c.media_url()?,
            };
            Some(ManifestItem {
                id: item.id.clone(),
                content_id: c.id.clone(),
                name: c.name.clone(),
                kind: c.kind,
                url,
                sha256: c.sha256.clone(),
                mime: c.mime.clone(),
                duration_ms: item.duration_ms,
                reload_seconds: c.reload_seconds,
                valid_from: c.valid_from,
                valid_until: c.valid_until,
            })
        })
        .collect();
    let manifest = Manifest {
        playlist_id: Some(playlist.id),
        playlist_name: Some(playlist.name),
        items,
    };
    Ok((manifest, watch))
}

async fn record_play(
    state: &AppState,
    s: &Session,
    id: &str,
    content_id: &str,
    playlist_id: Option<&str>,
    started_at: i64,
    duration_ms: i64,
) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 64 {
        return Err(AppError::validation(
            "A play event id is 1 to 64 characters.",
        ));
    }
    sqlx::query(
        "INSERT INTO play_events (device_id, id, org_id, content_id, playlist_id, started_at, duration_ms, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (device_id, id) DO NOTHING",
    )
    .bind(&s.device_id)
    .bind(id)
    .bind(&s.org_id)
    .bind(content_id)
    .bind(playlist_id)
    .bind(started_at)
    .bind(duration_ms)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

async fn record_error(
    state: &AppState,
    s: &Session,
    id: &str,
    at: i64,
    message: &str,
) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 64 {
        return Err(AppError::validation("An error id is 1 to 64 characters."));
    }
    let message: String = message.chars().take(1000).collect();
    sqlx::query(
        "INSERT INTO device_errors (device_id, id, org_id, at, message) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (device_id, id) DO NOTHING",
    )
    .bind(&s.device_id)
    .bind(id)
    .bind(&s.org_id)
    .bind(at)
    .bind(message)
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

/// Derives every tracked display's status once a second (an event when it
/// changes; a heartbeat that changes one wakes it sooner), writes last-seen
/// times every ten seconds and metric samples every `metrics-sample-seconds`,
/// and evaluates the alert rules.
pub async fn fleet_ticker(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n: u64 = 0;
    let mut alerts = super::alerts::Tracker::default();
    // One node (SQLite) knows the whole fleet: a display that never comes
    // back after a restart goes offline and alerts. With several nodes on
    // PostgreSQL each judges only the displays connected to it.
    if state.db.backend == super::db::Backend::Sqlite {
        match devices::paired(&state.db).await {
            Ok(displays) => state.gateway.track(displays),
            Err(e) => tracing::warn!(error = %e, "could not read the paired displays"),
        }
    }
    loop {
        // A heartbeat that changes a status wakes only the status write
        // below; everything else here runs once a second.
        let ticked = tokio::select! {
            _ = tick.tick() => { n += 1; true }
            _ = state.gateway.status_changed.notified() => false,
        };
        let interval_ms = (state.settings.heartbeat_seconds.max(1) * 1000) as i64;
        let now = now_ms();
        let changes: Vec<(String, String, DeviceStatus, Option<i64>)> = {
            let beats = state.gateway.beats.lock().unwrap();
            beats
                .iter()
                .filter_map(|(id, b)| {
                    let status =
                        derive_status(now, b.last_beat, b.has_content, b.last_error, interval_ms);
                    (status != b.status)
                        .then(|| (id.clone(), b.org_id.clone(), status, b.last_beat))
                })
                .collect()
        };
        let mut by_org: HashMap<String, Vec<(String, DeviceStatus, Option<i64>)>> = HashMap::new();
        for (device_id, org_id, status, last_beat) in changes {
            by_org
                .entry(org_id)
                .or_default()
                .push((device_id, status, last_beat));
        }
        for (org_id, changes) in by_org {
            for chunk in changes.chunks(500) {
                if super::changes::record_statuses(&state, &org_id, chunk)
                    .await
                    .is_ok()
                {
                    let mut beats = state.gateway.beats.lock().unwrap();
                    for (device_id, status, _) in chunk {
                        if let Some(b) = beats.get_mut(device_id) {
                            b.status = *status;
                        }
                    }
                }
            }
        }
        if !ticked {
            continue;
        }
        if n.is_multiple_of(10) {
            let seen: Vec<(String, i64)> = {
                let mut beats = state.gateway.beats.lock().unwrap();
                beats
                    .iter_mut()
                    .filter(|(_, b)| b.unsaved)
                    .filter_map(|(id, b)| {
                        b.unsaved = false;
                        b.last_beat.map(|at| (id.clone(), at))
                    })
                    .collect()
            };
            if let Err(e) = devices::write_last_seen(&state.db, &seen).await {
                tracing::warn!(error = %e, "could not write last-seen times");
            }
        }
        // One copy of the fleet per second serves the samples and the rules.
        let fleet = state.gateway.fleet();
        if n.is_multiple_of(state.settings.metrics_sample_seconds.max(1)) {
            if let Err(e) = super::health::sample_metrics(&state.db, &fleet, now, interval_ms).await
            {
                tracing::warn!(error = %e, "could not write metric samples");
            }
        }
        if let Err(e) = super::alerts::evaluate(&state, &mut alerts, &fleet, interval_ms).await {
            tracing::warn!(error = %e, "could not evaluate alert rules");
        }
    }
}

/// Proof of play of one display, newest first.
pub async fn plays(
    db: &super::db::Db,
    org_id: &str,
    device_id: &str,
    limit: i64,
) -> Result<Vec<crate::model::Play>, AppError> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, content_id, playlist_id, started_at, duration_ms, received_at FROM play_events \
         WHERE org_id = $1 AND device_id = $2 ORDER BY started_at DESC, id LIMIT $3",
    )
    .bind(org_id)
    .bind(device_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| crate::model::Play {
            id: r.get("id"),
            content_id: r.get("content_id"),
            playlist_id: r.get("playlist_id"),
            started_at: r.get("started_at"),
            duration_ms: r.get("duration_ms"),
            received_at: r.get("received_at"),
        })
        .collect())
}

/// A fresh display token: `vzd_` and 64 hex digits; only its sha256 is stored.
pub fn new_device_token() -> String {
    format!("vzd_{}", random_token())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_at_each_boundary() {
        let i = 10_000;
        let now = 1_000_000;
        // Three intervals without a beat is still online; one more millisecond is not.
        assert_eq!(
            derive_status(now, Some(now - 3 * i), true, None, i),
            DeviceStatus::Online
        );
        assert_eq!(
            derive_status(now, Some(now - 3 * i - 1), true, None, i),
            DeviceStatus::Offline
        );
        assert_eq!(
            derive_status(now, None, true, None, i),
            DeviceStatus::Offline
        );
        // Connected with nothing to play: idle.
        assert_eq!(
            derive_status(now, Some(now), false, None, i),
            DeviceStatus::Idle
        );
        // A recent error wins over online and idle, and fades after three intervals.
        assert_eq!(
            derive_status(now, Some(now), true, Some(now - 5), i),
            DeviceStatus::Error
        );
        assert_eq!(
            derive_status(now, Some(now), true, Some(now - 3 * i - 1), i),
            DeviceStatus::Online
        );
    }

    #[test]
    fn only_events_about_what_a_display_plays_refresh_its_manifest() {
        let w = Watch {
            group_id: Some("g".into()),
            own_playlist: None,
            playlist_id: Some("p".into()),
            content: ["c1".to_string()].into_iter().collect(),
        };
        let deleted = |id: &str| EventBody::ContentDeleted {
            content_id: id.into(),
            version: 2,
        };
        let playlist_gone = |id: &str| EventBody::PlaylistDeleted {
            playlist_id: id.into(),
            version: 2,
        };
        assert!(w.wants("d", &deleted("c1")));
        assert!(!w.wants("d", &deleted("other")));
        assert!(w.wants("d", &playlist_gone("p")));
        assert!(!w.wants("d", &playlist_gone("q")));
        let group = |id: &str| EventBody::GroupUpserted {
            group: crate::model::DeviceGroup {
                id: id.into(),
                name: "G".into(),
                playlist_id: None,
                version: 2,
            },
        };
        assert!(w.wants("d", &group("g")));
        assert!(!w.wants("d", &group("h")));
        // The display's own status changing does not touch what it plays;
        // a new group or a playlist of its own does.
        let device = |group: Option<&str>, playlist: Option<&str>| EventBody::DeviceUpserted {
            device: crate::model::Device {
                id: "d".into(),
                name: "D".into(),
                group_id: group.map(str::to_string),
                tags: vec![],
                timezone: "UTC".into(),
                status: DeviceStatus::Offline,
                last_seen: None,
                playlist_id: playlist.map(str::to_string),
                paired: true,
                version: 3,
            },
        };
        assert!(!w.wants("d", &device(Some("g"), None)));
        assert!(w.wants("d", &device(Some("h"), None)));
        assert!(w.wants("d", &device(Some("g"), Some("p2"))));
        assert!(!w.wants("other", &device(Some("h"), None)));
    }

    #[test]
    fn codes_use_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| PAIRING_ALPHABET.contains(&b)), "{c}");
        }
        assert!(new_device_token().starts_with("vzd_"));
    }
}
