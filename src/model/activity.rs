//! Activity: who changed what. An operator's event gets a readable line
//! when it is appended, from the event and the entity's previous one
//! ("renamed display “Lobby 7” to “Lobby Main”"); the Activity views and
//! `GET /api/v1/activity` list them.

use serde::{Deserialize, Serialize};

use super::{EventBody, Millis};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub seq: i64,
    pub at: Millis,
    /// The operator's email (or API token's name).
    pub actor: String,
    /// `device`, `group`, `content`, `playlist`, `schedule`, `daypart`,
    /// `takeover`, `alert`, `alert_rule`, `user`, `token`, …
    pub entity: String,
    pub entity_id: String,
    pub summary: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityPage {
    /// Newest first.
    pub items: Vec<ActivityItem>,
    /// Pass as `before` for the next (older) page; `null` at the end.
    pub next: Option<String>,
}

/// What an event kind says happened to its entity (`device_upserted`).
pub const KIND_SUFFIXES: [&str; 8] = [
    "_upserted",
    "_deleted",
    "_revoked",
    "_changed",
    "_ended",
    "_taken",
    "_recorded",
    "_updated",
];

/// The entity an event kind is about (`device_upserted` → `device`).
pub fn entity_of(kind: &str) -> &str {
    KIND_SUFFIXES
        .iter()
        .find_map(|s| kind.strip_suffix(s))
        .map(|e| if e == "password" { "user" } else { e })
        .unwrap_or(kind)
}

fn q(name: &str) -> String {
    format!("“{name}”")
}

/// What an operator did, in a line, given the entity's previous event
/// (`None` when this is its first, or the log no longer holds it).
pub fn summarize(prev: Option<&EventBody>, body: &EventBody) -> String {
    use EventBody as E;
    match (prev, body) {
        (Some(E::DeviceUpserted { device: a }), E::DeviceUpserted { device: b }) => {
            let mut said = Vec::new();
            if a.name != b.name {
                said.push(format!("renamed display {} to {}", q(&a.name), q(&b.name)));
            }
            if a.group_id != b.group_id {
                said.push(format!("moved display {} to another group", q(&b.name)));
            }
            if a.tags != b.tags {
                said.push(format!(
                    "retagged display {} ({})",
                    q(&b.name),
                    b.tags.join(", ")
                ));
            }
            if a.timezone != b.timezone {
                said.push(format!("set display {} to {}", q(&b.name), b.timezone));
            }
            if a.playlist_id != b.playlist_id {
                said.push(format!(
                    "changed the default playlist of display {}",
                    q(&b.name)
                ));
            }
            if said.is_empty() {
                format!("changed display {}", q(&b.name))
            } else {
                said.join("; ")
            }
        }
        (None, E::DeviceUpserted { device }) => format!("added display {}", q(&device.name)),
        (prev, E::DeviceDeleted { .. }) => format!("deleted display{}", prev_name(prev)),
        (Some(E::GroupUpserted { group: a }), E::GroupUpserted { group: b })
            if a.name != b.name =>
        {
            format!("renamed group {} to {}", q(&a.name), q(&b.name))
        }
        (Some(_), E::GroupUpserted { group }) => {
            format!("changed the default playlist of group {}", q(&group.name))
        }
        (None, E::GroupUpserted { group }) => format!("added group {}", q(&group.name)),
        (Some(E::ContentUpserted { content: a }), E::ContentUpserted { content: b }) => {
            if a.name != b.name {
                format!("renamed content {} to {}", q(&a.name), q(&b.name))
            } else {
                format!("changed content {}", q(&b.name))
            }
        }
        (_, E::ContentUpserted { content }) => format!("added content {}", q(&content.name)),
        (prev, E::ContentDeleted { .. }) => format!("deleted content{}", prev_name(prev)),
        (Some(E::PlaylistUpserted { playlist: a }), E::PlaylistUpserted { playlist: b }) => {
            if a.name != b.name {
                format!("renamed playlist {} to {}", q(&a.name), q(&b.name))
            } else if a.items.len() != b.items.len() {
                format!(
                    "{} playlist {} ({} items)",
                    if b.items.len() > a.items.len() {
                        "added to"
                    } else {
                        "removed from"
                    },
                    q(&b.name),
                    b.items.len()
                )
            } else {
                format!("edited playlist {}", q(&b.name))
            }
        }
        (_, E::PlaylistUpserted { playlist }) => format!("created playlist {}", q(&playlist.name)),
        (prev, E::PlaylistDeleted { .. }) => format!("deleted playlist{}", prev_name(prev)),
        (Some(E::ScheduleUpserted { schedule: a }), E::ScheduleUpserted { schedule: b }) => {
            if a.spec.enabled != b.spec.enabled {
                let verb = if b.spec.enabled {
                    "enabled"
                } else {
                    "disabled"
                };
                format!("{verb} schedule {}", q(&b.spec.name))
            } else if a.spec.name != b.spec.name {
                format!(
                    "renamed schedule {} to {}",
                    q(&a.spec.name),
                    q(&b.spec.name)
                )
            } else {
                format!("edited schedule {}", q(&b.spec.name))
            }
        }
        (_, E::ScheduleUpserted { schedule }) => {
            format!("created schedule {}", q(&schedule.spec.name))
        }
        (prev, E::ScheduleDeleted { .. }) => format!("deleted schedule{}", prev_name(prev)),
        (Some(_), E::DaypartUpserted { daypart }) => format!("edited daypart {}", q(&daypart.name)),
        (None, E::DaypartUpserted { daypart }) => format!("added daypart {}", q(&daypart.name)),
        (prev, E::DaypartDeleted { .. }) => format!("deleted daypart{}", prev_name(prev)),
        (_, E::TakeoverUpserted { takeover }) if takeover.ended_at.is_some() => {
            format!("ended takeover {}", q(&takeover.name))
        }
        (_, E::TakeoverUpserted { takeover }) => format!("started takeover {}", q(&takeover.name)),
        (_, E::AlertUpserted { alert }) if alert.resolved_at.is_some() => {
            format!("resolved the alert on {}", q(&alert.device_name))
        }
        (_, E::AlertUpserted { alert }) => {
            format!("acknowledged the alert on {}", q(&alert.device_name))
        }
        (_, E::AlertRuleUpserted { rule }) => format!(
            "{} the {} alert rule",
            if rule.enabled { "changed" } else { "disabled" },
            rule.kind.as_str()
        ),
        (_, E::ScreenshotTaken { .. }) => "asked a display for a screenshot".into(),
        (Some(E::UserUpserted { user: a }), E::UserUpserted { user: b }) => {
            if a.role != b.role {
                format!("made {} {}", b.email, b.role.as_str())
            } else if b.deactivated_at.is_some() {
                format!("deactivated {}", b.email)
            } else {
                format!("reactivated {}", b.email)
            }
        }
        (_, E::UserUpserted { user }) => {
            format!("invited {} as {}", user.email, user.role.as_str())
        }
        (_, E::SessionEnded { .. }) => "signed a session out".into(),
        (_, E::TokenRevoked { .. }) => "revoked an API token".into(),
        (_, E::PasswordChanged { .. }) => "changed a password".into(),
        (_, E::DeviceUpserted { device }) => format!("changed display {}", q(&device.name)),
        (_, body) => body.kind().replace('_', " "),
    }
}

/// ` “Name”` of what `prev` (the entity's last state) was, or nothing.
fn prev_name(prev: Option<&EventBody>) -> String {
    use EventBody as E;
    let name = match prev {
        Some(E::DeviceUpserted { device }) => Some(&device.name),
        Some(E::ContentUpserted { content }) => Some(&content.name),
        Some(E::PlaylistUpserted { playlist }) => Some(&playlist.name),
        Some(E::ScheduleUpserted { schedule }) => Some(&schedule.spec.name),
        Some(E::DaypartUpserted { daypart }) => Some(&daypart.name),
        _ => None,
    };
    name.map(|n| format!(" {}", q(n))).unwrap_or_default()
}
