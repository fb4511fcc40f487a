//! What a display plays: its manifest (the timeline of the next 48 hours or
//! more, from `schedules`, with every playlist it names and each item's URL,
//! hash and duration) and the [`Watch`] of what it was read from, so only
//! the events that can change it make it read again.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::{
    error::AppError,
    model::{
        segment_at, Content, ContentKind, Device, EventBody, Manifest, ManifestItem,
        ManifestPlaylist, Millis, Playlist,
    },
    server::{
        core::{now_ms, Core},
        devices::store as devices,
        library::{content, playlists},
        schedules::timeline::{PlanCache, Reach},
    },
};

/// A manifest's timeline starts at the last whole block of this many hours
/// and runs 54 hours, so it always covers the next 48; read again within a
/// block it comes out the same (and is not sent again).
pub const BLOCK_MS: Millis = 6 * 3_600_000;
pub const SPAN_MS: Millis = 54 * 3_600_000;

/// What a connected display's manifest was read from: the events that can
/// change it are routed to it, and no others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Watch {
    /// The display's group (its schedules, takeovers and default playlist).
    pub group_id: Option<String>,
    /// The display's own playlist, if it has one.
    pub own_playlist: Option<String>,
    /// Its time zone: windows are evaluated in it.
    pub timezone: String,
    /// The playlists its timeline names.
    pub playlists: HashSet<String>,
    /// The library items in those playlists.
    pub content: HashSet<String>,
    /// The schedules and dayparts that reach it.
    pub reach: Reach,
    /// When the timeline must be read again to keep 48 hours ahead.
    pub renew_at: Millis,
}

impl Watch {
    /// Whether an event of this kind can change what any display plays at
    /// all: a fleet's own traffic (statuses, deploy states, plays, alerts)
    /// cannot, so routing it looks at no connection.
    /// Every kind is named here, so a new one must be placed on one side.
    pub fn may_concern_displays(body: &EventBody) -> bool {
        match body {
            EventBody::DeviceUpserted { .. }
            | EventBody::GroupUpserted { .. }
            | EventBody::PlaylistUpserted { .. }
            | EventBody::PlaylistDeleted { .. }
            | EventBody::ContentUpserted { .. }
            | EventBody::ContentDeleted { .. }
            | EventBody::ScheduleUpserted { .. }
            | EventBody::ScheduleDeleted { .. }
            | EventBody::DaypartUpserted { .. }
            | EventBody::DaypartDeleted { .. }
            | EventBody::TakeoverUpserted { .. } => true,
            EventBody::DeviceDeleted { .. }
            | EventBody::AlertUpserted { .. }
            | EventBody::AlertRuleUpserted { .. }
            | EventBody::ScreenshotTaken { .. }
            | EventBody::UserUpserted { .. }
            | EventBody::SessionEnded { .. }
            | EventBody::TokenRevoked { .. }
            | EventBody::PasswordChanged { .. }
            | EventBody::ExecutionRecorded { .. }
            | EventBody::DeployUpdated { .. }
            | EventBody::PlaysRecorded { .. } => false,
        }
    }

    /// Whether `body` can change what display `device_id` plays. A display's
    /// own status changes cannot; a new group, zone, playlist, schedule or
    /// takeover for it can.
    pub fn wants(&self, device_id: &str, body: &EventBody) -> bool {
        let my_playlist = |id: &str| self.playlists.contains(id);
        match body {
            EventBody::DeviceUpserted { device } => {
                device.id == device_id
                    && (device.group_id != self.group_id
                        || device.playlist_id != self.own_playlist
                        || device.timezone != self.timezone)
            }
            EventBody::GroupUpserted { group } => self.group_id.as_deref() == Some(&group.id),
            EventBody::PlaylistUpserted { playlist } => my_playlist(&playlist.id),
            EventBody::PlaylistDeleted { playlist_id, .. } => my_playlist(playlist_id),
            EventBody::ContentUpserted { content } => self.content.contains(&content.id),
            EventBody::ContentDeleted { content_id, .. } => self.content.contains(content_id),
            EventBody::ScheduleUpserted { schedule } => {
                self.reach.schedules.contains(&schedule.id)
                    || schedule.spec.targets(device_id, self.group_id.as_deref())
            }
            EventBody::ScheduleDeleted { schedule_id, .. } => {
                self.reach.schedules.contains(schedule_id)
            }
            EventBody::DaypartUpserted { daypart } => self.reach.dayparts.contains(&daypart.id),
            EventBody::DaypartDeleted { daypart_id, .. } => {
                self.reach.dayparts.contains(daypart_id)
            }
            EventBody::TakeoverUpserted { takeover } => takeover.targets(self.group_id.as_deref()),
            // What `may_concern_displays` rules out.
            _ => false,
        }
    }
}

/// A manifest's name: a hash of everything the player uses.
fn version_of(m: &Manifest) -> String {
    let json = serde_json::to_vec(&(&m.timeline, &m.playlists, &m.playlist_id, &m.items))
        .unwrap_or_default();
    let digest = Sha256::digest(json);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn manifest_items(playlist: &Playlist, library: &HashMap<String, Content>) -> Vec<ManifestItem> {
    playlist
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
        .collect()
}

/// What a display plays: the timeline from the last whole block on, every
/// playlist it names with each item's URL, hash and duration, and what
/// plays now; and what it was read from, to know when to look again.
/// The organization's plan comes from `plans` (the gateway's, which the
/// event log keeps current).
pub async fn manifest_for(
    core: &Core,
    plans: &PlanCache,
    org_id: &str,
    device_id: &str,
) -> Result<(Manifest, Watch), AppError> {
    match devices::get(&core.db, org_id, device_id).await? {
        Some(device) => manifest_of(core, plans, org_id, &device, now_ms()).await,
        None => Ok((Manifest::default(), Watch::default())),
    }
}

/// [`manifest_for`] a display already read (a hello reads it with the
/// token), at `now`.
pub async fn manifest_of(
    core: &Core,
    plans: &PlanCache,
    org_id: &str,
    device: &Device,
    now: Millis,
) -> Result<(Manifest, Watch), AppError> {
    let db = &core.db;
    let from = now - now.rem_euclid(BLOCK_MS);
    let (segments, plan) = plans
        .of_device(db, org_id, device, from, from + SPAN_MS)
        .await?;
    let mut watch = Watch {
        group_id: device.group_id.clone(),
        own_playlist: device.playlist_id.clone(),
        timezone: device.timezone.clone(),
        reach: plan.reach(),
        renew_at: from + BLOCK_MS,
        ..Watch::default()
    };
    let mut lists: Vec<Playlist> = Vec::new();
    for id in segments.iter().filter_map(|s| s.playlist_id.as_deref()) {
        if watch.playlists.insert(id.to_string()) {
            if let Some(p) = playlists::get(db, org_id, id).await? {
                lists.push(p);
            }
        }
    }
    let ids: Vec<&str> = lists
        .iter()
        .flat_map(|p| p.items.iter().map(|i| i.content_id.as_str()))
        .collect();
    watch.content = ids.iter().map(|id| id.to_string()).collect();
    let library: HashMap<String, Content> = content::get_many(db, org_id, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let playlists: Vec<ManifestPlaylist> = lists
        .iter()
        .map(|p| ManifestPlaylist {
            id: p.id.clone(),
            name: p.name.clone(),
            items: manifest_items(p, &library),
        })
        .collect();
    let now_list = segment_at(&segments, now)
        .and_then(|s| s.playlist_id.as_deref())
        .and_then(|id| playlists.iter().find(|p| p.id == id));
    let mut manifest = Manifest {
        playlist_id: now_list.map(|p| p.id.clone()),
        playlist_name: now_list.map(|p| p.name.clone()),
        items: now_list.map(|p| p.items.clone()).unwrap_or_default(),
        version: String::new(),
        timeline: segments,
        playlists,
    };
    manifest.version = version_of(&manifest);
    Ok((manifest, watch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceStatus;
    #[test]
    fn only_events_about_what_a_display_plays_refresh_its_manifest() {
        let w = Watch {
            group_id: Some("g".into()),
            own_playlist: None,
            timezone: "UTC".into(),
            playlists: ["p".to_string()].into_iter().collect(),
            content: ["c1".to_string()].into_iter().collect(),
            ..Watch::default()
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
}
