//! The player: what a browser pointed at `/player` runs to become a managed
//! display. `Player` is its reactive state, which the `/player` page renders;
//! in the browser, `start` connects it to the server and the playback calls
//! drive the loop.
//!
//! - `client`: the device protocol over `/device/ws`, heartbeats, reconnects;
//! - `storage`: the token, the last manifest and the outbox in localStorage;
//! - `playback`: proof of play and errors as slides end or fail;
//! - `capture`: the screenshot a command asks for.

#[cfg(feature = "hydrate")]
mod capture;
#[cfg(feature = "hydrate")]
mod client;
#[cfg(feature = "hydrate")]
mod playback;
#[cfg(feature = "hydrate")]
mod storage;

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
pub use self::{
    client::start,
    playback::{advance, failed, showing},
};
use crate::model::{Manifest, ManifestItem, Millis, Source};

/// Where the player is in its life: waiting for the server, showing a
/// pairing code, or playing (its manifest, or a message that it is empty).
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Connecting,
    Pairing { code: String },
    Playing,
}

/// What the player's timeline put on screen, as it last switched to it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OnAir {
    pub playlist_id: Option<String>,
    pub source: Option<Source>,
    pub schedule_id: Option<String>,
    pub takeover_id: Option<String>,
}

impl OnAir {
    /// What `manifest` says plays at `now`, by this display's own clock.
    pub fn of(manifest: &Manifest, now: Millis) -> Self {
        let playing = manifest.playing_at(now);
        Self {
            playlist_id: playing.playlist_id.map(str::to_string),
            source: playing.segment.map(|s| s.source),
            schedule_id: playing.segment.and_then(|s| s.schedule_id.clone()),
            takeover_id: playing.segment.and_then(|s| s.takeover_id.clone()),
        }
    }
}

/// The player's reactive state, shared by the view and the protocol client.
#[derive(Clone, Copy)]
pub struct Player {
    pub phase: RwSignal<Phase>,
    pub name: RwSignal<String>,
    pub online: RwSignal<bool>,
    pub manifest: RwSignal<Manifest>,
    /// What plays now by the timeline; the client moves it on at each
    /// boundary (by the display's clock, server or no server).
    pub on_air: RwSignal<OnAir>,
    /// Which slot of the loop is showing; bumps on every advance, so a timer
    /// from an earlier slot does nothing.
    pub slot: RwSignal<u64>,
}

impl Player {
    /// Connecting, offline, with nothing to play.
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(Phase::Connecting),
            name: RwSignal::new(String::new()),
            online: RwSignal::new(false),
            manifest: RwSignal::new(Manifest::default()),
            on_air: RwSignal::new(OnAir::default()),
            slot: RwSignal::new(0),
        }
    }

    /// The item for the current slot among those of the playlist on air
    /// that are valid now.
    pub fn current(&self, now: i64) -> Option<ManifestItem> {
        let slot = self.slot.get();
        self.on_air.track();
        self.manifest.with(|m| {
            let valid: Vec<&ManifestItem> = m
                .playing_at(now)
                .items
                .iter()
                .filter(|i| i.valid_at(now))
                .collect();
            if valid.is_empty() {
                None
            } else {
                Some(valid[(slot as usize) % valid.len()].clone())
            }
        })
    }
}

impl Default for Player {
    fn default() -> Self {
        Self::new()
    }
}
