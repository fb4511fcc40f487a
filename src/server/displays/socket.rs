//! One display's connection, from hello to close: pairing (a code on
//! screen until an operator claims it) or a token, then the manifest,
//! heartbeats, proof of play, errors and screenshots in, manifests and
//! commands out. One router per organization reads the event log and tells
//! only the connections an event concerns.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{ws::Message, State, WebSocketUpgrade},
    response::Response,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;

use super::{manifest_for, plays, Control, Gateway};
use crate::{
    model::{format_pairing_code, DisplayMsg, Manifest, ServerMsg},
    server::{
        core::{ids::sha256_hex, Core},
        devices::store as devices,
    },
};

pub async fn handler(
    State(core): State<Core>,
    State(gateway): State<Arc<Gateway>>,
    ws: WebSocketUpgrade,
) -> Response {
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
            run(core, gateway, Box::pin(incoming), Box::pin(outgoing)).await;
        })
}

/// Who a connection is, once it said so.
pub(super) struct Session {
    pub(super) org_id: String,
    pub(super) device_id: String,
    conn_id: u64,
    manifest: Manifest,
}

/// One display's connection, from hello to close.
pub async fn run<I, O>(core: Core, gateway: Arc<Gateway>, mut incoming: I, outgoing: O)
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
                        match devices::by_token(&core.db, &sha256_hex(token.trim())).await {
                            Ok(Some((org_id, device))) => {
                                let conn_id = gateway.connect(&org_id, &device.id, control_tx.clone());
                                let s = start_session(&core, &gateway, &out_tx, org_id, device.id, device.name, conn_id).await;
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
                        match gateway.reports.screenshot(&core, &s.org_id, &s.device_id, &image).await {
                            Ok(()) => tracing::info!(device = %s.device_id, command = %command_id, "screenshot stored"),
                            Err(e) => {
                                let _ = out_tx.send(ServerMsg::Refused { message: e.to_string() });
                            }
                        }
                    }
                    (DisplayMsg::Played { id, content_id, playlist_id, started_at, duration_ms }, Some(s)) => {
                        let stored = plays::record_play(&core, s, &id, &content_id, playlist_id.as_deref(), started_at, duration_ms).await;
                        if stored.is_ok() {
                            let _ = out_tx.send(ServerMsg::Acked { ids: vec![id] });
                        }
                    }
                    (DisplayMsg::Error { id, at, message }, Some(s)) => {
                        gateway.error(&s.device_id);
                        if plays::record_error(&core, s, &id, at, &message).await.is_ok() {
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
                    let s = start_session(&core, &gateway, &out_tx, org_id, device_id, name, conn_id).await;
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
                        refresh_manifest(&core, &gateway, &out_tx, s).await;
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
pub(super) async fn ensure_router(core: &Core, gateway: &Arc<Gateway>, org_id: &str) {
    if !gateway.routers.lock().unwrap().insert(org_id.to_string()) {
        return;
    }
    // Subscribed before the first manifest is read, so no change falls between.
    let Ok(mut rx) = core.hub.subscribe(org_id).await else {
        gateway.routers.lock().unwrap().remove(org_id);
        return;
    };
    let gateway = gateway.clone();
    let org_id = org_id.to_string();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(shared) => {
                    gateway.route(&org_id, &shared.event.body);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    gateway.refresh_all(&org_id);
                }
                Err(_) => break,
            }
        }
        gateway.routers.lock().unwrap().remove(&org_id);
    });
}

async fn start_session(
    core: &Core,
    gateway: &Arc<Gateway>,
    out: &mpsc::UnboundedSender<ServerMsg>,
    org_id: String,
    device_id: String,
    name: String,
    conn_id: u64,
) -> Session {
    let _ = out.send(ServerMsg::Welcome {
        device_id: device_id.clone(),
        name,
        heartbeat_seconds: core.settings.heartbeat_seconds.max(1),
    });
    ensure_router(core, gateway, &org_id).await;
    let (manifest, watch) = manifest_for(core, &org_id, &device_id)
        .await
        .unwrap_or_default();
    gateway.watch(&device_id, conn_id, watch);
    let _ = out.send(ServerMsg::Manifest(manifest.clone()));
    Session {
        org_id,
        device_id,
        conn_id,
        manifest,
    }
}

async fn refresh_manifest(
    core: &Core,
    gateway: &Gateway,
    out: &mpsc::UnboundedSender<ServerMsg>,
    s: &mut Session,
) {
    if let Ok((manifest, watch)) = manifest_for(core, &s.org_id, &s.device_id).await {
        gateway.watch(&s.device_id, s.conn_id, watch);
        if manifest != s.manifest {
            s.manifest = manifest.clone();
            let _ = out.send(ServerMsg::Manifest(manifest));
        }
    }
}
