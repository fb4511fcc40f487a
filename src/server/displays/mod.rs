//! Displays live: `/device/ws`, where players connect (see
//! `docs/device-protocol.md`). The gateway holds, on each node,
//! - pairing codes shown by new displays (`pairing`);
//! - the live connection of each paired display, to push manifests
//!   (`manifest`), commands, and the news that it was unpaired or deleted,
//!   which every node reads from the event log (`socket`);
//! - the fleet's heartbeats, from which statuses are derived (`fleet`);
//! - proof of play and player errors as they arrive (`plays`).
//!
//! The socket loop is generic over a stream of incoming texts and a sink of
//! outgoing ones, so tests drive it with channels.

pub mod fleet;
pub mod manifest;
pub mod pairing;
pub mod plays;
pub mod socket;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{atomic::AtomicU64, Arc, Mutex},
};

use axum::{extract::FromRef, routing::get, Router};
use futures::future::BoxFuture;
use tokio::sync::Notify;

pub use fleet::{derive_status, Beat};
pub use manifest::{manifest_for, Watch};
pub use pairing::CODE_TTL_MS;

use crate::{
    error::AppError,
    model::{Change, DisplayCommand, EventBody},
    server::{
        core::{
            change::{Applied, ChangeCtx, Effect},
            ids::random_token,
            new_id, Core,
        },
        devices::store as devices,
    },
};

/// What the gateway tells a connection's loop from outside.
#[derive(Debug)]
enum Control {
    /// The code this connection shows was claimed on this node: look now.
    Claimed,
    /// The display was unpaired or deleted: say so and hang up.
    Unpair(String),
    /// An operator's command (reload, screenshot) for the player.
    Command { id: String, command: DisplayCommand },
    /// Something the display plays changed: read its manifest again.
    Refresh,
}

/// Control messages waiting for one connection's loop: a refresh is queued
/// at most once ([`Connection::refresh_queued`]) and commands leave room
/// for an unpair, so the queue never holds more than this.
const CONTROL: usize = 16;

/// A queue of at most a given length that holds nothing on the heap while
/// it is empty (a tokio channel allocates a block of 32 slots up front, a
/// kilobyte for every display connected): what waits for one connection,
/// to be written to the display or read by its loop.
struct Bounded<T>(Mutex<VecDeque<T>>);

impl<T> Default for Bounded<T> {
    fn default() -> Self {
        Bounded(Mutex::default())
    }
}

impl<T> Bounded<T> {
    /// Adds `item` unless `limit` already wait.
    fn push(&self, item: T, limit: usize) -> bool {
        let mut queue = self.0.lock().unwrap();
        if queue.len() >= limit {
            return false;
        }
        queue.push_back(item);
        true
    }

    /// Takes the first; the storage goes once the queue is empty.
    fn pop(&self) -> Option<T> {
        let mut queue = self.0.lock().unwrap();
        let first = queue.pop_front();
        if queue.is_empty() && queue.capacity() > 0 {
            queue.shrink_to_fit();
        }
        first
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Where the gateway leaves [`Control`] messages for one connection's loop,
/// at most [`CONTROL`].
#[derive(Default)]
struct Mailbox {
    queue: Bounded<Control>,
    wake: Notify,
}

/// The gateway's side of a connection's [`Mailbox`].
#[derive(Clone, Default)]
struct ControlTx(Arc<Mailbox>);

impl ControlTx {
    /// Leaves `control` for the loop; `false` when its queue is full.
    fn try_send(&self, control: Control) -> bool {
        let left = self.0.queue.push(control, CONTROL);
        if left {
            self.0.wake.notify_one();
        }
        left
    }

    /// Room left in the queue.
    fn room(&self) -> usize {
        CONTROL.saturating_sub(self.0.queue.len())
    }

    /// The next message, once there is one. Safe to drop while it waits:
    /// a message leaves the queue only as it is returned.
    async fn recv(&self) -> Control {
        loop {
            if let Some(control) = self.0.queue.pop() {
                return control;
            }
            // A message left since the queue was looked at stored a permit.
            self.0.wake.notified().await;
        }
    }
}

struct Connection {
    conn_id: u64,
    org_id: String,
    control: ControlTx,
    /// A `Refresh` is in the queue and not yet taken: do not queue another.
    refresh_queued: bool,
    watch: Watch,
}

impl Connection {
    /// Asks the loop to read its manifest again, unless it was already asked.
    fn refresh(&mut self) -> bool {
        if self.refresh_queued {
            return true;
        }
        self.refresh_queued = self.control.try_send(Control::Refresh);
        self.refresh_queued
    }
}

/// What a display sends that the layers above keep (health stores
/// screenshots). The gateway hands it up without knowing what happens next.
pub trait Reports: Send + Sync {
    /// A screenshot (a `data:` URL) the display took when asked.
    fn screenshot<'a>(
        &'a self,
        core: &'a Core,
        org_id: &'a str,
        device_id: &'a str,
        data_url: &'a str,
    ) -> BoxFuture<'a, Result<(), AppError>>;
}

pub struct Gateway {
    /// The codes this node's sockets show, to wake them when a claim commits here.
    pairings: Mutex<HashMap<String, ControlTx>>,
    connections: Mutex<HashMap<String, Connection>>,
    beats: Mutex<HashMap<String, Beat>>,
    next_conn: AtomicU64,
    /// Organizations whose events a router (a hub observer) dispatches to displays.
    routers: Mutex<HashSet<String>>,
    /// Wakes the status ticker when a heartbeat changes a display's status,
    /// so the change reaches operators at once rather than on the next tick.
    status_changed: Notify,
    reports: Arc<dyn Reports>,
    /// Proof of play goes through this node's play writer (batched).
    plays: crate::server::analytics::ingest::Ingest,
    /// Deploy states and switches go through this node's writer (batched).
    deploys: crate::server::schedules::deploys::Writer,
    /// The plans manifests are read from, per organization, kept current
    /// by the router.
    plans: crate::server::schedules::timeline::PlanCache,
}

impl Gateway {
    pub fn new(reports: Arc<dyn Reports>) -> Self {
        Self {
            pairings: Mutex::default(),
            connections: Mutex::default(),
            beats: Mutex::default(),
            next_conn: AtomicU64::new(0),
            routers: Mutex::default(),
            status_changed: Notify::new(),
            reports,
            plays: Default::default(),
            deploys: Default::default(),
            plans: Default::default(),
        }
    }

    /// Registers a paired display's connection; a second connection with
    /// the same token replaces the first.
    fn connect(&self, org_id: &str, device_id: &str, control: ControlTx) -> u64 {
        let conn_id = self
            .next_conn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let connection = Connection {
            conn_id,
            org_id: org_id.to_string(),
            control,
            refresh_queued: false,
            watch: Watch::default(),
        };
        if let Some(old) = self
            .connections
            .lock()
            .unwrap()
            .insert(device_id.to_string(), connection)
        {
            let _ = old.control.try_send(Control::Unpair(
                "Another player connected with this display's token.".into(),
            ));
        }
        self.beat_connected(org_id, device_id);
        conn_id
    }

    fn disconnected(&self, device_id: &str, conn_id: u64) {
        let mut connections = self.connections.lock().unwrap();
        if connections
            .get(device_id)
            .is_some_and(|c| c.conn_id == conn_id)
        {
            connections.remove(device_id);
            self.beat_disconnected(device_id);
        }
    }

    /// The display's token no longer works (unpaired or deleted): its player
    /// hears so and is hung up on, and its heartbeats are forgotten.
    fn disconnect(&self, org_id: &str, device_id: &str, reason: &str) {
        let mut connections = self.connections.lock().unwrap();
        if connections
            .get(device_id)
            .is_some_and(|c| c.org_id == org_id)
        {
            if let Some(c) = connections.remove(device_id) {
                let _ = c.control.try_send(Control::Unpair(reason.to_string()));
            }
        }
        drop(connections);
        let mut beats = self.beats.lock().unwrap();
        if beats.get(device_id).is_some_and(|b| b.org_id == org_id) {
            beats.remove(device_id);
        }
    }

    /// Sends an operator's command to a connected display; its id comes back
    /// with the answer (a screenshot).
    pub fn command(&self, device_id: &str, command: DisplayCommand) -> Result<String, AppError> {
        let id = new_id();
        let sent = self.connections.lock().unwrap().get(device_id).map(|c| {
            // Room stays for an unpair and a refresh.
            c.control.room() > 2
                && c.control.try_send(Control::Command {
                    id: id.clone(),
                    command,
                })
        });
        match sent {
            Some(true) => Ok(id),
            Some(false) => Err(AppError::RateLimited {
                message: "This display has not taken the commands already sent yet; try again in a moment.".into(),
            }),
            // The display's state, not the request, is what is wrong: a conflict.
            None => Err(AppError::Conflict {
                message: "This display is not connected right now; commands reach only connected displays.".into(),
                current: None,
            }),
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

    /// Acts on one event of the organization's log: a display unpaired or
    /// deleted (on any node) is disconnected; the displays whose manifest
    /// the event can change read it again. A display's own change is one
    /// lookup; group, playlist and library changes check each of the
    /// organization's connections (a comparison each, no I/O). Returns how
    /// many were told to refresh.
    pub fn route(&self, org_id: &str, body: &EventBody) -> usize {
        match body {
            EventBody::DeviceDeleted { device_id, .. } => {
                self.disconnect(
                    org_id,
                    device_id,
                    "This display was deleted by an operator.",
                );
                return 0;
            }
            EventBody::DeviceUpserted { device } if !device.paired => {
                self.disconnect(
                    org_id,
                    &device.id,
                    "This display was unpaired by an operator.",
                );
                return 0;
            }
            body if !Watch::may_concern_displays(body) => return 0,
            _ => {}
        }
        let mut connections = self.connections.lock().unwrap();
        match body {
            EventBody::DeviceUpserted { device } => connections
                .get_mut(&device.id)
                .filter(|c| c.org_id == org_id && c.watch.wants(&device.id, body))
                .map_or(0, |c| usize::from(c.refresh())),
            _ => connections
                .iter_mut()
                .filter(|(id, c)| c.org_id == org_id && c.watch.wants(id, body))
                .map(|(_, c)| c.refresh())
                .filter(|refreshed| *refreshed)
                .count(),
        }
    }

    /// Connections whose manifest timeline needs its next block (it must
    /// always reach 48 hours ahead) read it again. Returns how many.
    pub fn renew_due(&self, now: crate::model::Millis) -> usize {
        self.connections
            .lock()
            .unwrap()
            .values_mut()
            .filter(|c| c.watch.renew_at != 0 && c.watch.renew_at <= now)
            .map(|c| c.refresh())
            .filter(|refreshed| *refreshed)
            .count()
    }

    /// The connection's loop took its `Refresh`: the next one may be queued.
    fn refreshed(&self, device_id: &str, conn_id: u64) {
        if let Some(c) = self.connections.lock().unwrap().get_mut(device_id) {
            if c.conn_id == conn_id {
                c.refresh_queued = false;
            }
        }
    }
}

/// Claims a pairing code (`PairDevice`) on any node: makes the display with
/// the hash of the token the display's node made for the code; that node
/// hands the token over once the claim commits (at once if it is this node).
pub async fn apply(
    mut ctx: ChangeCtx<'_>,
    gateway: &Arc<Gateway>,
    change: &Change,
) -> Result<Applied, AppError> {
    let Change::PairDevice {
        device_id,
        code,
        name,
        group_id,
        timezone,
    } = change
    else {
        return Err(AppError::internal());
    };
    let (code, token_hash) = pairing::claim(&mut ctx, code, device_id, name).await?;
    let org_id = ctx.user.org_id.clone();
    let body = devices::pair(
        ctx.tx,
        &org_id,
        device_id,
        name,
        group_id.as_deref(),
        timezone,
        &token_hash,
    )
    .await?;
    let gateway = gateway.clone();
    Ok(Applied {
        body,
        effect: Some(Effect {
            commit: Box::new(move || gateway.code_claimed(&code)),
            // A rolled back claim leaves the code as it was.
            abort: Box::new(|| {}),
        }),
    })
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(plays::device_plays), tags((name = "devices", description = "Displays")))]
pub struct DisplaysDoc;

/// `/device/ws` (the device protocol) and a display's proof of play.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Core: FromRef<S>,
    Arc<Gateway>: FromRef<S>,
{
    Router::new()
        .route("/device/ws", get(socket::handler))
        .route("/api/v1/devices/{id}/plays", get(plays::device_plays))
}

/// A fresh display token: `vzd_` and 64 hex digits; only its sha256 is stored.
pub fn new_device_token() -> String {
    format!("vzd_{}", random_token())
}
