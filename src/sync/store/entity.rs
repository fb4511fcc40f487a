//! What the store needs to know about each kind of entity: its id and version,
//! the fields an operator edits, what a change does to it, and which events
//! carry its confirmed state. The ten kinds differ only in those facts, so one
//! `entity!` line per kind states them.

use serde::{de::DeserializeOwned, Serialize};

use crate::model::{
    Alert, AlertRule, Change, Content, Daypart, Deploy, Device, DeviceGroup, EventBody, Playlist,
    Schedule, Takeover, Target,
};

/// An entity a collection holds.
pub trait Entity: Clone + PartialEq + Serialize + DeserializeOwned {
    /// The changes about this kind of entity are the ones with this target.
    const TARGET: Target;
    fn id(&self) -> &str;
    fn version(&self) -> i64;
    /// Operator-editable fields that differ between `self` and `newer`.
    fn changed_fields(&self, newer: &Self) -> Vec<&'static str>;
    /// What a change about this kind makes of `current`; `None` removes it.
    fn apply(change: &Change, current: Option<&Self>) -> Option<Self>;
    /// The confirmed state an event carries for this kind of entity, if any.
    fn from_event(body: &EventBody) -> Option<Confirmed<Self>>;

    /// What `change` does to this kind of entity, or `None` if it is not about it.
    fn project(change: &Change, current: Option<&Self>) -> Option<Projection<Self>> {
        (change.target() == Self::TARGET).then(|| Self::apply(change, current).into())
    }
}

pub enum Projection<E> {
    Upsert(E),
    Remove,
}

impl<E> From<Option<E>> for Projection<E> {
    fn from(value: Option<E>) -> Self {
        match value {
            Some(e) => Projection::Upsert(e),
            None => Projection::Remove,
        }
    }
}

pub enum Confirmed<E> {
    Upsert(E),
    Removed { id: String, version: i64 },
}

/// `entity!(Type: Target, fields [..], apply |change, current| expr, upserted
/// Variant { field } [, deleted Variant { id_field }])`: the `Entity` impl
/// for a type with `id` and `version` fields.
macro_rules! entity {
    (
        $ty:ty: $target:ident,
        fields [$($field:ident),+ $(,)?],
        apply |$change:ident, $current:ident| $apply:expr,
        upserted $upserted:ident { $payload:ident }
        $(, deleted $deleted:ident { $deleted_id:ident })?
    ) => {
        impl Entity for $ty {
            const TARGET: Target = Target::$target;
            fn id(&self) -> &str {
                &self.id
            }
            fn version(&self) -> i64 {
                self.version
            }
            fn changed_fields(&self, newer: &Self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $(if self.$field != newer.$field {
                    out.push(stringify!($field));
                })+
                out
            }
            fn apply($change: &Change, $current: Option<&Self>) -> Option<Self> {
                $apply
            }
            fn from_event(body: &EventBody) -> Option<Confirmed<Self>> {
                match body {
                    EventBody::$upserted { $payload } => Some(Confirmed::Upsert($payload.clone())),
                    $(EventBody::$deleted { $deleted_id, version } => Some(Confirmed::Removed {
                        id: $deleted_id.clone(),
                        version: *version,
                    }),)?
                    _ => None,
                }
            }
        }
    };
}

entity!(Device: Device,
    fields [name, group_id, tags, timezone, playlist_id],
    apply |change, current| change.apply_to_device(current),
    upserted DeviceUpserted { device },
    deleted DeviceDeleted { device_id });

entity!(DeviceGroup: Group,
    fields [name, playlist_id],
    apply |change, current| change.apply_to_group(current),
    upserted GroupUpserted { group });

// An item this client is adding sorts first (newest) until it is confirmed.
entity!(Content: Content,
    fields [name, tags, valid_from, valid_until, url, reload_seconds],
    apply |change, current| change.apply_to_content(current, i64::MAX),
    upserted ContentUpserted { content },
    deleted ContentDeleted { content_id });

entity!(Playlist: Playlist,
    fields [name, items],
    apply |change, current| change.apply_to_playlist(current),
    upserted PlaylistUpserted { playlist },
    deleted PlaylistDeleted { playlist_id });

// "Now" only marks the optimistic acknowledgement; the server's time replaces it.
entity!(Alert: Alert,
    fields [acknowledged_at],
    apply |change, current| change.apply_to_alert(current, crate::sync::platform::now_ms() as i64),
    upserted AlertUpserted { alert });

entity!(AlertRule: Rule,
    fields [threshold, minutes, severity, enabled],
    apply |change, current| change.apply_to_rule(current),
    upserted AlertRuleUpserted { rule });

// A schedule this client adds is the newest until the server says when it was made.
entity!(Schedule: Schedule,
    fields [spec],
    apply |change, current| change.apply_to_schedule(current, i64::MAX),
    upserted ScheduleUpserted { schedule },
    deleted ScheduleDeleted { schedule_id });

entity!(Daypart: Daypart,
    fields [name, start, end],
    apply |change, current| change.apply_to_daypart(current),
    upserted DaypartUpserted { daypart },
    deleted DaypartDeleted { daypart_id });

entity!(Takeover: Takeover,
    fields [ended_at],
    apply |change, current| change.apply_to_takeover(current, crate::sync::platform::now_ms() as i64),
    upserted TakeoverUpserted { takeover });

// Only the server changes deploy states; no change targets them.
entity!(Deploy: Deploy,
    fields [sent_version, received_version, playing_playlist_id],
    apply |_change, current| current.cloned(),
    upserted DeployUpdated { deploy });

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::store::fixtures::device;

    #[test]
    fn changed_fields_name_only_what_an_operator_edits() {
        let old = device("a", "Lobby", 1);
        let mut new = device("a", "Bar", 2);
        new.tags = vec!["4k".into()];
        new.status = crate::model::DeviceStatus::Offline;
        assert_eq!(old.changed_fields(&new), vec!["name", "tags"]);
    }

    #[test]
    fn a_change_projects_only_onto_its_own_kind() {
        let change = Change::DeleteDevice {
            device_id: "a".into(),
        };
        assert!(matches!(
            Device::project(&change, Some(&device("a", "Lobby", 1))),
            Some(Projection::Remove)
        ));
        assert!(DeviceGroup::project(&change, None).is_none());
    }
}
