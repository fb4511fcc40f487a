//! What a display plays: its manifest (its own playlist, else its group's,
//! with each item's URL, hash and duration) and the [`Watch`] of what it was
//! read from, so only the events that can change it make it read again.

use std::collections::{HashMap, HashSet};

use crate::{
    error::AppError,
    model::{Content, ContentKind, EventBody, Manifest, ManifestItem},
    server::{
        core::Core,
        devices::store as devices,
        library::{content, playlists},
    },
};

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
    pub content: HashSet<String>,
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
            | EventBody::ScreenshotTaken { .. }
            | EventBody::UserUpserted { .. }
            | EventBody::SessionEnded { .. }
            | EventBody::TokenRevoked { .. }
            | EventBody::PasswordChanged { .. } => false,
        }
    }
}

/// What a display plays: its own playlist, else its group's, with each item's
/// URL, hash and duration; and what it was read from, to know when to look again.
pub async fn manifest_for(
    core: &Core,
    org_id: &str,
    device_id: &str,
) -> Result<(Manifest, Watch), AppError> {
    let db = &core.db;
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
    let Some(playlist) = playlists::get(db, org_id, &playlist_id).await? else {
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
    let library: HashMap<String, Content> = content::get_many(db, org_id, &ids)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceStatus;
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
}
