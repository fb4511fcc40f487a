//! The fleet's health as heartbeats tell it, kept in memory: one [`Beat`]
//! per tracked display, the status derived from it (three missed heartbeats
//! make a display offline), the status changes written as system events in
//! batches, and last-seen times written every few seconds.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
};

use super::Gateway;
use crate::{
    error::AppError,
    model::{DeviceStatus, EventBody, Metrics},
    server::{
        analytics::uptime,
        core::{metrics::METRICS, now_ms, system, Core},
        devices::store as devices,
    },
};

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
    /// When its player connected to this node, if it is connected.
    pub connected_at: Option<i64>,
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

impl Beat {
    fn new(org_id: &str) -> Self {
        Self {
            org_id: org_id.to_string(),
            connected: false,
            last_beat: None,
            metrics: Metrics::default(),
            has_content: false,
            last_error: None,
            errors: VecDeque::new(),
            playing: None,
            status: DeviceStatus::Offline,
            unsaved: false,
            connected_at: None,
        }
    }

    /// The last sign of life: its latest heartbeat, or, while none has come
    /// since its player connected, the connection itself. A display that
    /// has just connected is not offline before its first beat is due.
    pub fn heard_from(&self) -> Option<i64> {
        match (self.last_beat, self.connected_at) {
            (Some(beat), Some(at)) => Some(beat.max(at)),
            (beat, at) => beat.or(at),
        }
    }
}

impl Gateway {
    /// A display's connection came up: it is tracked from now on.
    pub(super) fn beat_connected(&self, org_id: &str, device_id: &str) {
        let mut beats = self.beats.lock().unwrap();
        let beat = beats
            .entry(device_id.to_string())
            .or_insert_with(|| Beat::new(org_id));
        beat.connected = true;
        beat.connected_at = Some(now_ms());
    }

    pub(super) fn beat_disconnected(&self, device_id: &str) {
        if let Some(b) = self.beats.lock().unwrap().get_mut(device_id) {
            b.connected = false;
            b.connected_at = None;
        }
    }

    pub(super) fn heartbeat(
        &self,
        device_id: &str,
        metrics: Metrics,
        has_content: bool,
        playing: Option<String>,
    ) {
        METRICS.heartbeats.inc();
        if let Some(b) = self.beats.lock().unwrap().get_mut(device_id) {
            let now = now_ms();
            b.last_beat = Some(now);
            b.metrics = metrics;
            b.has_content = has_content;
            b.playing = playing;
            b.unsaved = true;
            // Any interval will do here: the beat is fresh, so only content and
            // errors decide, and the ticker re-derives with the real one.
            if derive_status(now, b.heard_from(), has_content, b.last_error, 1_000) != b.status {
                self.status_changed.notify_one();
            }
        }
    }

    pub(super) fn error(&self, device_id: &str) {
        if let Some(b) = self.beats.lock().unwrap().get_mut(device_id) {
            let now = now_ms();
            b.last_error = Some(now);
            // An error shows at once, not on the next tick.
            if b.status != DeviceStatus::Error && b.connected {
                self.status_changed.notify_one();
            }
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
                last_beat: last_seen,
                has_content: status == DeviceStatus::Online,
                status,
                ..Beat::new(&org_id)
            });
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

    /// The latest heartbeat state of a display, if it connected since start.
    pub fn beat(&self, device_id: &str) -> Option<Beat> {
        self.beats.lock().unwrap().get(device_id).cloned()
    }

    /// Resolves when a heartbeat changed a display's status, so the change
    /// can reach operators at once rather than on the next tick.
    pub async fn status_changed(&self) {
        self.status_changed.notified().await
    }

    /// The displays whose derived status differs from the one last written,
    /// by organization.
    fn status_changes(&self, now: i64, interval_ms: i64) -> HashMap<String, Vec<StatusChange>> {
        let beats = self.beats.lock().unwrap();
        let mut by_org: HashMap<String, Vec<StatusChange>> = HashMap::new();
        for (id, b) in beats.iter() {
            let status = derive_status(
                now,
                b.heard_from(),
                b.has_content,
                b.last_error,
                interval_ms,
            );
            if status != b.status {
                by_org
                    .entry(b.org_id.clone())
                    .or_default()
                    .push((id.clone(), status, b.last_beat));
            }
        }
        by_org
    }

    /// Takes the last-seen times that changed since the last call.
    fn unsaved_last_seen(&self) -> Vec<(String, i64)> {
        let mut beats = self.beats.lock().unwrap();
        beats
            .iter_mut()
            .filter(|(_, b)| b.unsaved)
            .filter_map(|(id, b)| {
                b.unsaved = false;
                b.last_beat.map(|at| (id.clone(), at))
            })
            .collect()
    }
}

/// A display, its newly derived status, and when it last beat.
type StatusChange = (String, DeviceStatus, Option<i64>);

/// Starts tracking the paired displays the database knows (at startup), so
/// one that never comes back goes offline, and follows their organizations'
/// logs, so one unpaired or deleted before it returns is forgotten. Only for
/// one node (SQLite), which knows the whole fleet; with several nodes each
/// judges the displays connected to it.
pub async fn track_paired(core: &Core, gateway: &Arc<Gateway>) {
    if core.db.backend != crate::server::core::Backend::Sqlite {
        return;
    }
    match devices::paired(&core.db).await {
        Ok(displays) => {
            let orgs: HashSet<String> = displays.iter().map(|d| d.0.clone()).collect();
            gateway.track(displays);
            for org_id in orgs {
                super::socket::ensure_router(core, gateway, &org_id).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the paired displays"),
    }
}

/// Status changes written in one transaction: as many as a batch of the
/// deploy writer, which goes after them (it is a bulk writer). Between two
/// of these every bulk writer waiting has its turn, so a fleet coming up
/// at once is shown in a few large steps, not hundreds of small ones each
/// behind a batch of deploy states.
const STATUSES_PER_TURN: usize = 2_000;

/// Writes every derived status change as an event, [`STATUSES_PER_TURN`]
/// to a transaction.
pub async fn write_statuses(core: &Core, gateway: &Gateway, interval_ms: i64) {
    for (org_id, changes) in gateway.status_changes(now_ms(), interval_ms) {
        for chunk in changes.chunks(STATUSES_PER_TURN) {
            if record_statuses(core, &org_id, chunk).await.is_ok() {
                let mut beats = gateway.beats.lock().unwrap();
                for (device_id, status, _) in chunk {
                    if let Some(b) = beats.get_mut(device_id) {
                        b.status = *status;
                    }
                }
            }
        }
    }
}

/// Displays' derived statuses changed: system events through the same log
/// and stream, many in one transaction, each closing the display's status
/// interval for uptime.
pub async fn record_statuses(
    core: &Core,
    org_id: &str,
    changes: &[StatusChange],
) -> Result<(), AppError> {
    let mut tx = system::begin(core, org_id).await?;
    let bodies = devices::set_statuses(&mut tx, org_id, changes).await?;
    let moved: Vec<uptime::StatusAt> = bodies
        .iter()
        .filter_map(|body| match body {
            EventBody::DeviceUpserted { device } => Some((
                device.id.as_str(),
                device.group_id.as_deref().unwrap_or(""),
                device.status,
            )),
            _ => None,
        })
        .collect();
    uptime::statuses_changed(&mut tx, org_id, &moved, now_ms()).await?;
    system::commit(core, org_id, tx, bodies).await
}

/// Writes the last-seen times heartbeats moved since the last call.
pub async fn save_last_seen(core: &Core, gateway: &Gateway) {
    let seen = gateway.unsaved_last_seen();
    if let Err(e) = devices::write_last_seen(&core.db, &seen).await {
        tracing::warn!(error = %e, "could not write last-seen times");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_display_that_just_connected_is_not_offline_before_its_first_beat_is_due() {
        let i = 1_000;
        let mut b = Beat::new("org");
        assert_eq!(b.heard_from(), None);
        b.connected_at = Some(100_000);
        let status = |b: &Beat, now| derive_status(now, b.heard_from(), false, None, i);
        assert_eq!(status(&b, 100_500), DeviceStatus::Idle);
        assert_eq!(status(&b, 100_000 + 3 * i + 1), DeviceStatus::Offline);
        // A beat after the connection is the newer sign of life.
        b.last_beat = Some(104_000);
        assert_eq!(b.heard_from(), Some(104_000));
    }

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
}
