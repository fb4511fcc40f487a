//! Entities, ops and events the store's tests are written with.

use super::Store;
use crate::model::{
    Change, Device, DevicePatch, DeviceStatus, Event, EventBody, Op, Playlist, PlaylistItem,
};

pub fn device(id: &str, name: &str, version: i64) -> Device {
    Device {
        id: id.into(),
        name: name.into(),
        group_id: None,
        tags: vec![],
        timezone: "UTC".into(),
        status: DeviceStatus::Online,
        last_seen: None,
        playlist_id: None,
        paired: false,
        version,
    }
}

pub fn rename(op_id: &str, id: &str, base: i64, name: &str) -> Op {
    Op {
        op_id: op_id.into(),
        base_version: Some(base),
        change: Change::UpdateDevice {
            device_id: id.into(),
            patch: DevicePatch {
                name: Some(name.into()),
                ..Default::default()
            },
        },
    }
}

pub fn retag(op_id: &str, id: &str, base: i64, tag: &str) -> Op {
    Op {
        op_id: op_id.into(),
        base_version: Some(base),
        change: Change::UpdateDevice {
            device_id: id.into(),
            patch: DevicePatch {
                tags: Some(vec![tag.into()]),
                ..Default::default()
            },
        },
    }
}

pub fn upserted(seq: i64, op_id: Option<&str>, d: Device) -> Event {
    Event {
        seq,
        at: 0,
        op_id: op_id.map(str::to_string),
        actor: None,
        body: EventBody::DeviceUpserted { device: d },
    }
}

/// Displays "a" (Lobby) and "b" (Bar) at version 1, read at seq 10.
pub fn seeded() -> Store {
    let mut s = Store::default();
    s.devices
        .seed(vec![device("a", "Lobby", 1), device("b", "Bar", 1)], 10);
    s.reset_seq(10);
    s
}

pub fn playlist(ids: &[&str], version: i64) -> Playlist {
    Playlist {
        id: "p".into(),
        name: "Loop".into(),
        items: ids
            .iter()
            .map(|id| PlaylistItem {
                id: id.to_string(),
                content_id: "c".into(),
                duration_ms: 10_000,
            })
            .collect(),
        version,
    }
}

/// The item ids of the first playlist, as shown.
pub fn order(s: &Store) -> Vec<String> {
    s.playlists()[0]
        .items
        .iter()
        .map(|i| i.id.clone())
        .collect()
}

pub fn move_op(op_id: &str, item: &str, after: Option<&str>, base: i64) -> Op {
    Op {
        op_id: op_id.into(),
        base_version: Some(base),
        change: Change::MoveItem {
            playlist_id: "p".into(),
            item_id: item.into(),
            after: after.map(str::to_string),
        },
    }
}

pub fn playlist_event(seq: i64, op_id: Option<&str>, p: Playlist) -> Event {
    Event {
        seq,
        at: 0,
        op_id: op_id.map(str::to_string),
        actor: None,
        body: EventBody::PlaylistUpserted { playlist: p },
    }
}
