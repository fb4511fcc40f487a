//! The device protocol (`/device/ws`, see `docs/device-protocol.md`): what a
//! display and the server say to each other, one JSON object per WebSocket
//! text message, tagged by `type`. Shared by the server's gateway, the
//! `/player` page and the simulator, so all three speak exactly this.

use serde::{Deserialize, Serialize};

use super::{segment_at, ContentKind, Millis, Segment, Source};

/// Display → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DisplayMsg {
    /// First message on every connection. With `token`: "I am this display".
    /// Without: "I am new, give me a pairing code".
    Hello {
        token: Option<String>,
        player_version: String,
    },
    /// Every `heartbeat_seconds` (from `Welcome`). `seq` increases per
    /// display so buffered heartbeats sent twice count once.
    Heartbeat {
        seq: u64,
        at: Millis,
        metrics: Metrics,
        /// What is on screen now, if anything.
        playing: Option<String>,
    },
    /// Proof of play: one item shown. `id` is made by the display; the
    /// server stores each id once and acknowledges it with `Acked`.
    Played {
        id: String,
        content_id: String,
        playlist_id: Option<String>,
        started_at: Millis,
        duration_ms: i64,
    },
    /// Something went wrong on the display (a file would not play, say).
    Error {
        id: String,
        at: Millis,
        message: String,
    },
    /// The player has manifest `version` (its deploy shows "received").
    ManifestReceived { version: String },
    /// The player's timeline moved on: it now plays `playlist_id` (by its own
    /// clock, so this holds while the server is away). Stored once by `id`
    /// and acknowledged with `Acked` like proof of play.
    Switched {
        id: String,
        at: Millis,
        playlist_id: Option<String>,
        source: Source,
        schedule_id: Option<String>,
        takeover_id: Option<String>,
        previous_playlist_id: Option<String>,
    },
    /// The answer to a `screenshot` command: what the screen shows, as a
    /// `data:image/jpeg;base64,…` or `data:image/png;base64,…` URL (at most
    /// 1 MiB in all).
    Screenshot { command_id: String, image: String },
}

/// What a display reports about itself with each heartbeat. Every field is
/// optional: a browser player knows little about its host.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub cpu_pct: Option<f64>,
    pub memory_pct: Option<f64>,
    pub temperature_c: Option<f64>,
    pub storage_free_pct: Option<f64>,
    pub uptime_s: Option<i64>,
    pub player_version: Option<String>,
}

/// Server → display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// Show this code on screen until an operator claims it.
    Pairing { code: String, expires_at: Millis },
    /// An operator claimed the code: keep `token` (it is shown only now) and
    /// send it in every `Hello` from now on.
    Paired {
        token: String,
        device_id: String,
        name: String,
    },
    /// The token is good: who the display is and how often to beat.
    Welcome {
        device_id: String,
        name: String,
        heartbeat_seconds: u64,
    },
    /// What to play, in order, looping. Sent after `Welcome` and again
    /// whenever it changes.
    Manifest(Manifest),
    /// These `Played`/`Error` ids are stored: drop them from the buffer.
    Acked { ids: Vec<String> },
    /// Do something now.
    Command { id: String, command: DisplayCommand },
    /// The display was unpaired (or its token is unknown): forget the
    /// token and ask to pair again.
    Unpaired { reason: String },
    /// The message could not be used; the connection stays open.
    Refused { message: String },
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisplayCommand {
    Reload,
    Screenshot,
}

/// What a display plays. `playlist_id`, `playlist_name` and `items` are
/// what plays at the moment the server made it; `timeline` says what plays
/// when over the next 48 hours or more, with each of its playlists in
/// `playlists`, so the player switches by its own clock while the server
/// is away. `version` names this manifest: the player acknowledges it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub playlist_id: Option<String>,
    pub playlist_name: Option<String>,
    pub items: Vec<ManifestItem>,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub timeline: Vec<Segment>,
    #[serde(default)]
    pub playlists: Vec<ManifestPlaylist>,
}

/// One playlist the timeline names, with its items.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestPlaylist {
    pub id: String,
    pub name: String,
    pub items: Vec<ManifestItem>,
}

/// What a manifest plays at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Playing<'a> {
    pub playlist_id: Option<&'a str>,
    pub playlist_name: Option<&'a str>,
    pub items: &'a [ManifestItem],
    /// The timeline's segment, if the manifest has a timeline.
    pub segment: Option<&'a Segment>,
}

impl Manifest {
    /// What plays at `now` by the display's own clock: the timeline's
    /// segment there (before the timeline, its first; after it, its last:
    /// the last good plan wins until a new one lands), else what the
    /// server said plays now.
    pub fn playing_at(&self, now: Millis) -> Playing<'_> {
        let segment = segment_at(&self.timeline, now).or_else(|| match self.timeline.first() {
            Some(first) if now < first.start => Some(first),
            _ => self.timeline.last(),
        });
        match segment {
            None => Playing {
                playlist_id: self.playlist_id.as_deref(),
                playlist_name: self.playlist_name.as_deref(),
                items: &self.items,
                segment: None,
            },
            Some(seg) => {
                let list = seg
                    .playlist_id
                    .as_deref()
                    .and_then(|id| self.playlists.iter().find(|p| p.id == id));
                Playing {
                    playlist_id: list.map(|p| p.id.as_str()),
                    playlist_name: list.map(|p| p.name.as_str()),
                    items: list.map_or(&[], |p| &p.items),
                    segment: Some(seg),
                }
            }
        }
    }

    /// The next instant after `now` at which what plays may change.
    pub fn next_switch(&self, now: Millis) -> Option<Millis> {
        self.timeline
            .iter()
            .map(|s| s.start)
            .find(|start| *start > now)
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// The playlist item's id (stable across reorders).
    pub id: String,
    pub content_id: String,
    pub name: String,
    pub kind: ContentKind,
    /// Media: the hash-named URL; web pages: the page itself.
    pub url: String,
    pub sha256: Option<String>,
    pub mime: Option<String>,
    /// Images and web pages show this long; videos play to their end.
    pub duration_ms: i64,
    pub reload_seconds: Option<i64>,
    pub valid_from: Option<Millis>,
    pub valid_until: Option<Millis>,
}

impl ManifestItem {
    /// Whether the item may be shown at `now` (its validity window).
    pub fn valid_at(&self, now: Millis) -> bool {
        self.valid_from.is_none_or(|f| now >= f) && self.valid_until.is_none_or(|u| now < u)
    }
}

/// One stored proof of play (`GET /api/v1/devices/{id}/plays`).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Play {
    pub id: String,
    pub content_id: String,
    pub playlist_id: Option<String>,
    pub started_at: Millis,
    pub duration_ms: i64,
    /// When the server got it (later than `started_at` when it was buffered).
    pub received_at: Millis,
}

/// Pairing codes: 6 characters from an alphabet without look-alikes
/// (no 0/O, 1/I/L), shown as `ABC-DEF`.
pub const PAIRING_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Normalizes what an operator typed ("abc def", "ABC-DEF") to the stored form.
pub fn normalize_pairing_code(input: &str) -> String {
    input
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn format_pairing_code(code: &str) -> String {
    if code.len() == 6 {
        format!("{}-{}", &code[..3], &code[3..])
    } else {
        code.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let hello: DisplayMsg =
            serde_json::from_str(r#"{"type":"hello","token":null,"player_version":"web-1"}"#)
                .unwrap();
        assert_eq!(
            hello,
            DisplayMsg::Hello {
                token: None,
                player_version: "web-1".into()
            }
        );
        let json = serde_json::to_value(ServerMsg::Acked {
            ids: vec!["a".into()],
        })
        .unwrap();
        assert_eq!(json["type"], "acked");
        let m = serde_json::to_value(ServerMsg::Manifest(Manifest::default())).unwrap();
        assert_eq!(m["type"], "manifest");
        assert!(m["items"].is_array());
    }

    #[test]
    fn codes_are_typed_loosely_and_shown_grouped() {
        assert_eq!(normalize_pairing_code(" k7x-4qm "), "K7X4QM");
        assert_eq!(format_pairing_code("K7X4QM"), "K7X-4QM");
    }

    #[test]
    fn validity_window_is_half_open() {
        let item = ManifestItem {
            id: "i".into(),
            content_id: "c".into(),
            name: "n".into(),
            kind: ContentKind::Image,
            url: "/media/x.png".into(),
            sha256: None,
            mime: None,
            duration_ms: 1000,
            reload_seconds: None,
            valid_from: Some(10),
            valid_until: Some(20),
        };
        assert!(!item.valid_at(9));
        assert!(item.valid_at(10));
        assert!(!item.valid_at(20));
    }
}

/// One sample of a display's metrics (its history charts).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSample {
    pub at: Millis,
    pub cpu_pct: Option<f64>,
    pub memory_pct: Option<f64>,
    pub temperature_c: Option<f64>,
    pub storage_free_pct: Option<f64>,
}

/// What the display detail view shows beyond the display itself: its live
/// heartbeat state, metric history, latest proof of play and screenshot.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceDetail {
    pub device_id: String,
    /// Whether a player is connected to this server now.
    pub connected: bool,
    pub last_beat: Option<Millis>,
    /// The latest heartbeat's metrics (empty when none arrived since start).
    pub metrics: Metrics,
    /// The content on screen at the last heartbeat.
    pub playing: Option<String>,
    /// Oldest first.
    pub samples: Vec<MetricSample>,
    /// Newest first.
    pub plays: Vec<Play>,
    /// When the latest screenshot was taken, if any.
    pub screenshot_at: Option<Millis>,
    pub sample_seconds: u64,
}
