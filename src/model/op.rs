use serde::{Deserialize, Serialize};

use super::{
    validate_content_name, validate_device_name, validate_duration, validate_email,
    validate_password, validate_playlist_name, validate_reload, validate_tags, validate_url, Alert,
    AlertRule, Content, ContentKind, ContentPatch, Daypart, Device, DeviceGroup, DevicePatch,
    DeviceStatus, Event, ItemEdit, Millis, Playlist, PlaylistItem, Role, RulePatch, Schedule,
    ScheduleSpec, Secret, Takeover, TimeOfDay, MAX_PASSWORD_CHARS,
};

/// The largest change (as JSON) the change path takes; a playlist item,
/// a name or a patch are a few hundred bytes.
pub const MAX_CHANGE_BYTES: usize = 64 * 1024;

/// A change a client asks for. `op_id` is made by the client (a UUID) and makes the
/// op idempotent: the server applies an `op_id` at most once and answers a replay
/// with the outcome it stored the first time.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    pub op_id: String,
    /// The entity version the client saw when it made the change; `None` for creates.
    pub base_version: Option<i64>,
    pub change: Change,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateDevice {
        device_id: String,
        name: String,
        group_id: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
        timezone: String,
    },
    UpdateDevice {
        device_id: String,
        patch: DevicePatch,
    },
    DeleteDevice {
        device_id: String,
    },
    /// Claims the pairing code a new display shows: makes the display and
    /// hands its player a token. Refused when no display shows the code.
    PairDevice {
        device_id: String,
        code: String,
        name: String,
        group_id: Option<String>,
        timezone: String,
    },
    /// Revokes the display's token and disconnects its player at once.
    UnpairDevice {
        device_id: String,
    },
    /// Sets the default playlist of a group (`None` clears it).
    UpdateGroup {
        group_id: String,
        playlist_id: Option<String>,
    },
    /// A web page by URL, shown for its duration and reloaded every
    /// `reload_seconds`.
    CreateWebPage {
        content_id: String,
        name: String,
        url: String,
        reload_seconds: i64,
        #[serde(default)]
        tags: Vec<String>,
    },
    /// Made by the server when an upload is stored (`POST /api/v1/content`);
    /// refused when a client sends it.
    AddMedia {
        content_id: String,
        name: String,
        media: MediaInfo,
    },
    UpdateContent {
        content_id: String,
        patch: ContentPatch,
    },
    /// Refused while a playlist uses the item.
    DeleteContent {
        content_id: String,
    },
    CreatePlaylist {
        playlist_id: String,
        name: String,
    },
    RenamePlaylist {
        playlist_id: String,
        name: String,
    },
    /// Refused while a display or group has it as its default.
    DeletePlaylist {
        playlist_id: String,
    },
    /// Item-level playlist edits carry no version check: they apply on top of
    /// whatever others did meanwhile (anchors, see `model::playlist`).
    InsertItem {
        playlist_id: String,
        item: PlaylistItem,
        /// The item it goes after; `None` puts it first.
        after: Option<String>,
    },
    MoveItem {
        playlist_id: String,
        item_id: String,
        after: Option<String>,
    },
    RemoveItem {
        playlist_id: String,
        item_id: String,
    },
    SetItemDuration {
        playlist_id: String,
        item_id: String,
        duration_ms: i64,
    },
    /// An operator saw the alert; it stays open until its condition clears.
    AcknowledgeAlert {
        alert_id: String,
    },
    /// An admin changes an alert rule (Settings).
    UpdateAlertRule {
        rule_id: String,
        patch: RulePatch,
    },
    /// An admin adds an operator account with a first password (the new user
    /// changes it in Settings).
    CreateUser {
        user_id: String,
        email: String,
        role: Role,
        password: Secret,
    },
    /// An admin changes an account's role; versioned.
    ChangeRole {
        user_id: String,
        role: Role,
    },
    /// An admin deactivates an account: its sessions end and its API tokens
    /// are revoked in the same change; its history stays. Versioned.
    DeactivateUser {
        user_id: String,
    },
    /// An admin lets a deactivated account sign in again; versioned.
    ReactivateUser {
        user_id: String,
    },
    /// Signs a session out: one's own (anyone), or any of the organization's
    /// (admins). Its open streams close.
    EndSession {
        session_id: String,
    },
    /// The operator changes their own password; their other sessions end.
    ChangePassword {
        current: Secret,
        new: Secret,
    },
    /// An admin revokes an API token; requests and streams with it stop.
    RevokeToken {
        token_id: String,
    },
    /// Puts a playlist on a display or a group on a recurring window.
    CreateSchedule {
        schedule_id: String,
        spec: ScheduleSpec,
    },
    /// Replaces a schedule's rule (enable and disable included); versioned.
    UpdateSchedule {
        schedule_id: String,
        spec: ScheduleSpec,
    },
    DeleteSchedule {
        schedule_id: String,
    },
    /// A named window ("Breakfast 06:00–10:30") schedules can pick.
    CreateDaypart {
        daypart_id: String,
        name: String,
        start: TimeOfDay,
        end: TimeOfDay,
    },
    /// Versioned; every schedule that picks it follows.
    UpdateDaypart {
        daypart_id: String,
        name: String,
        start: TimeOfDay,
        end: TimeOfDay,
    },
    /// Refused while a schedule picks it.
    DeleteDaypart {
        daypart_id: String,
    },
    /// Puts a playlist on a group (`None`: the whole fleet) from now (or
    /// from a later `starts_at`), above every schedule, until `ends_at` or
    /// until it is ended.
    StartTakeover {
        takeover_id: String,
        name: String,
        playlist_id: String,
        group_id: Option<String>,
        #[serde(default)]
        starts_at: Option<Millis>,
        ends_at: Option<Millis>,
    },
    /// Ends a takeover now: its displays return to their schedules. Versioned.
    EndTakeover {
        takeover_id: String,
    },
}

/// What the server learned from an uploaded file's bytes.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub kind: ContentKind,
    pub mime: String,
    pub sha256: String,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
}

impl Change {
    pub fn entity_id(&self) -> &str {
        match self {
            Change::CreateDevice { device_id, .. }
            | Change::UpdateDevice { device_id, .. }
            | Change::DeleteDevice { device_id }
            | Change::PairDevice { device_id, .. }
            | Change::UnpairDevice { device_id } => device_id,
            Change::UpdateGroup { group_id, .. } => group_id,
            Change::CreateWebPage { content_id, .. }
            | Change::AddMedia { content_id, .. }
            | Change::UpdateContent { content_id, .. }
            | Change::DeleteContent { content_id } => content_id,
            Change::CreatePlaylist { playlist_id, .. }
            | Change::RenamePlaylist { playlist_id, .. }
            | Change::DeletePlaylist { playlist_id }
            | Change::InsertItem { playlist_id, .. }
            | Change::MoveItem { playlist_id, .. }
            | Change::RemoveItem { playlist_id, .. }
            | Change::SetItemDuration { playlist_id, .. } => playlist_id,
            Change::AcknowledgeAlert { alert_id } => alert_id,
            Change::UpdateAlertRule { rule_id, .. } => rule_id,
            Change::CreateUser { user_id, .. }
            | Change::ChangeRole { user_id, .. }
            | Change::DeactivateUser { user_id }
            | Change::ReactivateUser { user_id } => user_id,
            Change::EndSession { session_id } => session_id,
            Change::ChangePassword { .. } => "me",
            Change::RevokeToken { token_id } => token_id,
            Change::CreateSchedule { schedule_id, .. }
            | Change::UpdateSchedule { schedule_id, .. }
            | Change::DeleteSchedule { schedule_id } => schedule_id,
            Change::CreateDaypart { daypart_id, .. }
            | Change::UpdateDaypart { daypart_id, .. }
            | Change::DeleteDaypart { daypart_id } => daypart_id,
            Change::StartTakeover { takeover_id, .. } | Change::EndTakeover { takeover_id } => {
                takeover_id
            }
        }
    }

    /// The fields the change sets, for rebase and conflict checks.
    pub fn fields(&self) -> Vec<&'static str> {
        match self {
            Change::UpdateDevice { patch, .. } => patch.fields(),
            Change::UpdateContent { patch, .. } => patch.fields(),
            Change::UpdateGroup { .. } => vec!["playlist_id"],
            Change::RenamePlaylist { .. } => vec!["name"],
            Change::UpdateAlertRule { patch, .. } => patch.fields(),
            Change::AcknowledgeAlert { .. } => vec!["acknowledged_at"],
            Change::ChangeRole { .. } => vec!["role"],
            Change::DeactivateUser { .. } | Change::ReactivateUser { .. } => {
                vec!["deactivated_at"]
            }
            Change::ChangePassword { .. } => vec!["password"],
            Change::UpdateSchedule { .. } => vec!["spec"],
            Change::UpdateDaypart { .. } => vec!["name", "start", "end"],
            Change::EndTakeover { .. } => vec!["ended_at"],
            Change::InsertItem { .. }
            | Change::MoveItem { .. }
            | Change::RemoveItem { .. }
            | Change::SetItemDuration { .. } => vec!["items"],
            Change::CreateDevice { .. }
            | Change::DeleteDevice { .. }
            | Change::PairDevice { .. }
            | Change::UnpairDevice { .. }
            | Change::CreateWebPage { .. }
            | Change::AddMedia { .. }
            | Change::DeleteContent { .. }
            | Change::CreatePlaylist { .. }
            | Change::DeletePlaylist { .. }
            | Change::CreateUser { .. }
            | Change::EndSession { .. }
            | Change::RevokeToken { .. }
            | Change::CreateSchedule { .. }
            | Change::DeleteSchedule { .. }
            | Change::CreateDaypart { .. }
            | Change::DeleteDaypart { .. }
            | Change::StartTakeover { .. } => vec!["*"],
        }
    }

    /// Whether the server checks `base_version` for this change. Item edits
    /// apply on top of concurrent ones instead, and creates have no base.
    pub fn is_versioned(&self) -> bool {
        !matches!(
            self,
            Change::CreateDevice { .. }
                | Change::PairDevice { .. }
                | Change::CreateWebPage { .. }
                | Change::AddMedia { .. }
                | Change::CreatePlaylist { .. }
                | Change::InsertItem { .. }
                | Change::MoveItem { .. }
                | Change::RemoveItem { .. }
                | Change::SetItemDuration { .. }
                | Change::AcknowledgeAlert { .. }
                | Change::CreateUser { .. }
                | Change::EndSession { .. }
                | Change::ChangePassword { .. }
                | Change::RevokeToken { .. }
                | Change::CreateSchedule { .. }
                | Change::CreateDaypart { .. }
                | Change::StartTakeover { .. }
        )
    }

    /// The fields the operator set, as JSON, for the three-way merge after a
    /// conflict; `None` for changes that replace or remove the whole entity.
    pub fn patch_json(&self) -> Option<serde_json::Value> {
        match self {
            Change::UpdateDevice { patch, .. } => serde_json::to_value(patch).ok(),
            Change::UpdateContent { patch, .. } => serde_json::to_value(patch).ok(),
            Change::UpdateGroup { playlist_id, .. } => {
                Some(serde_json::json!({ "playlist_id": playlist_id }))
            }
            Change::RenamePlaylist { name, .. } => Some(serde_json::json!({ "name": name })),
            Change::UpdateAlertRule { patch, .. } => serde_json::to_value(patch).ok(),
            Change::UpdateSchedule { spec, .. } => Some(serde_json::json!({ "spec": spec })),
            Change::UpdateDaypart {
                name, start, end, ..
            } => Some(serde_json::json!({ "name": name, "start": start, "end": end })),
            _ => None,
        }
    }

    /// A short line for the pending-changes list and for toasts.
    pub fn describe(&self) -> String {
        match self {
            Change::CreateDevice { name, .. } => format!("Add display “{}”", name.trim()),
            Change::UpdateDevice { patch, .. } => {
                let fields = patch.fields();
                if fields.is_empty() {
                    "Edit display".into()
                } else {
                    format!("Edit display ({})", fields.join(", ").replace('_', " "))
                }
            }
            Change::DeleteDevice { .. } => "Delete display".into(),
            Change::PairDevice { name, .. } => format!("Pair display “{}”", name.trim()),
            Change::UnpairDevice { .. } => "Unpair display".into(),
            Change::UpdateGroup { .. } => "Set group playlist".into(),
            Change::CreateWebPage { name, .. } => format!("Add web page “{}”", name.trim()),
            Change::AddMedia { name, .. } => format!("Upload “{name}”"),
            Change::UpdateContent { patch, .. } => {
                format!(
                    "Edit item ({})",
                    patch.fields().join(", ").replace('_', " ")
                )
            }
            Change::DeleteContent { .. } => "Delete item".into(),
            Change::CreatePlaylist { name, .. } => format!("Add playlist “{}”", name.trim()),
            Change::RenamePlaylist { name, .. } => format!("Rename playlist to “{}”", name.trim()),
            Change::DeletePlaylist { .. } => "Delete playlist".into(),
            Change::InsertItem { .. } => "Add to playlist".into(),
            Change::MoveItem { .. } => "Reorder playlist".into(),
            Change::RemoveItem { .. } => "Remove from playlist".into(),
            Change::SetItemDuration { .. } => "Set item duration".into(),
            Change::AcknowledgeAlert { .. } => "Acknowledge alert".into(),
            Change::UpdateAlertRule { rule_id, .. } => {
                format!("Edit alert rule “{}”", rule_id.trim_start_matches("rule-"))
            }
            Change::CreateUser { email, .. } => format!("Add account {}", email.trim()),
            Change::ChangeRole { role, .. } => format!("Make the account {}", role.as_str()),
            Change::DeactivateUser { .. } => "Deactivate account".into(),
            Change::ReactivateUser { .. } => "Reactivate account".into(),
            Change::EndSession { .. } => "Sign a session out".into(),
            Change::ChangePassword { .. } => "Change your password".into(),
            Change::RevokeToken { .. } => "Revoke API token".into(),
            Change::CreateSchedule { spec, .. } => format!("Add schedule “{}”", spec.name.trim()),
            Change::UpdateSchedule { spec, .. } => format!("Edit schedule “{}”", spec.name.trim()),
            Change::DeleteSchedule { .. } => "Delete schedule".into(),
            Change::CreateDaypart { name, .. } => format!("Add daypart “{}”", name.trim()),
            Change::UpdateDaypart { name, .. } => format!("Edit daypart “{}”", name.trim()),
            Change::DeleteDaypart { .. } => "Delete daypart".into(),
            Change::StartTakeover { name, .. } => format!("Start takeover “{}”", name.trim()),
            Change::EndTakeover { .. } => "End takeover".into(),
        }
    }

    /// What the change does to a display, as the client shows it before the server
    /// answers. `None` means the display is gone.
    pub fn apply_to_device(&self, current: Option<&Device>) -> Option<Device> {
        match self {
            Change::CreateDevice {
                device_id,
                name,
                group_id,
                tags,
                timezone,
            } => Some(Device {
                id: device_id.clone(),
                name: name.trim().to_string(),
                group_id: group_id.clone(),
                tags: super::normalize_tags(tags),
                timezone: timezone.trim().to_string(),
                status: DeviceStatus::Offline,
                last_seen: None,
                playlist_id: None,
                paired: false,
                version: 0,
            }),
            Change::UpdateDevice { patch, .. } => current.map(|d| {
                let mut d = d.clone();
                patch.apply_to(&mut d);
                d
            }),
            Change::DeleteDevice { .. } => None,
            Change::PairDevice {
                device_id,
                name,
                group_id,
                timezone,
                ..
            } => Some(Device {
                id: device_id.clone(),
                name: name.trim().to_string(),
                group_id: group_id.clone(),
                tags: Vec::new(),
                timezone: timezone.trim().to_string(),
                status: DeviceStatus::Offline,
                last_seen: None,
                playlist_id: None,
                paired: true,
                version: 0,
            }),
            Change::UnpairDevice { .. } => current.map(|d| Device {
                paired: false,
                status: DeviceStatus::Offline,
                ..d.clone()
            }),
            _ => current.cloned(),
        }
    }

    /// The item-level edit an op makes to a playlist, if it is one.
    pub fn item_edit(&self) -> Option<ItemEdit<'_>> {
        Some(match self {
            Change::InsertItem { item, after, .. } => ItemEdit::Insert {
                item: item.clone(),
                after: after.as_deref(),
            },
            Change::MoveItem { item_id, after, .. } => ItemEdit::Move {
                item_id,
                after: after.as_deref(),
            },
            Change::RemoveItem { item_id, .. } => ItemEdit::Remove { item_id },
            Change::SetItemDuration {
                item_id,
                duration_ms,
                ..
            } => ItemEdit::SetDuration {
                item_id,
                duration_ms: *duration_ms,
            },
            _ => return None,
        })
    }

    /// What the change does to a playlist as the client shows it at once.
    /// `None` means it is gone.
    pub fn apply_to_playlist(&self, current: Option<&Playlist>) -> Option<Playlist> {
        match self {
            Change::CreatePlaylist { playlist_id, name } => Some(Playlist {
                id: playlist_id.clone(),
                name: name.trim().to_string(),
                items: Vec::new(),
                version: 0,
            }),
            Change::RenamePlaylist { name, .. } => current.map(|p| Playlist {
                name: name.trim().to_string(),
                ..p.clone()
            }),
            Change::DeletePlaylist { .. } => None,
            _ => {
                let mut p = current?.clone();
                if let Some(edit) = self.item_edit() {
                    // The server has the last word; a failed edit just shows nothing.
                    let _ = p.apply_edit(&edit);
                }
                Some(p)
            }
        }
    }

    /// What the change does to a library item as the client shows it at once.
    pub fn apply_to_content(&self, current: Option<&Content>, now: i64) -> Option<Content> {
        match self {
            Change::CreateWebPage {
                content_id,
                name,
                url,
                reload_seconds,
                tags,
            } => Some(Content {
                id: content_id.clone(),
                name: name.trim().to_string(),
                kind: ContentKind::Web,
                mime: None,
                sha256: None,
                size: None,
                width: None,
                height: None,
                duration_ms: None,
                url: Some(url.trim().to_string()),
                reload_seconds: Some(*reload_seconds),
                tags: super::normalize_tags(tags),
                valid_from: None,
                valid_until: None,
                created_at: now,
                version: 0,
            }),
            Change::AddMedia {
                content_id,
                name,
                media,
            } => Some(Content {
                id: content_id.clone(),
                name: name.trim().to_string(),
                kind: media.kind,
                mime: Some(media.mime.clone()),
                sha256: Some(media.sha256.clone()),
                size: Some(media.size),
                width: media.width,
                height: media.height,
                duration_ms: media.duration_ms,
                url: None,
                reload_seconds: None,
                tags: Vec::new(),
                valid_from: None,
                valid_until: None,
                created_at: now,
                version: 0,
            }),
            Change::UpdateContent { patch, .. } => current.map(|c| {
                let mut c = c.clone();
                patch.apply_to(&mut c);
                c
            }),
            Change::DeleteContent { .. } => None,
            _ => current.cloned(),
        }
    }

    /// What the change does to a group as the client shows it at once.
    pub fn apply_to_group(&self, current: Option<&DeviceGroup>) -> Option<DeviceGroup> {
        match self {
            Change::UpdateGroup { playlist_id, .. } => current.map(|g| DeviceGroup {
                playlist_id: playlist_id.clone(),
                ..g.clone()
            }),
            _ => current.cloned(),
        }
    }

    /// What the change does to an alert as the client shows it at once.
    pub fn apply_to_alert(&self, current: Option<&Alert>, now: i64) -> Option<Alert> {
        match self {
            Change::AcknowledgeAlert { .. } => current.map(|a| Alert {
                acknowledged_at: a.acknowledged_at.or(Some(now)),
                acknowledged_by: a.acknowledged_by.clone().or_else(|| Some("you".into())),
                ..a.clone()
            }),
            _ => current.cloned(),
        }
    }

    /// What the change does to an alert rule as the client shows it at once
    /// (an out-of-bounds patch shows nothing; the server refuses it).
    pub fn apply_to_rule(&self, current: Option<&AlertRule>) -> Option<AlertRule> {
        match self {
            Change::UpdateAlertRule { patch, .. } => {
                current.map(|r| patch.apply(r).unwrap_or_else(|_| r.clone()))
            }
            _ => current.cloned(),
        }
    }

    /// What the change does to a schedule as the client shows it at once.
    pub fn apply_to_schedule(&self, current: Option<&Schedule>, now: Millis) -> Option<Schedule> {
        match self {
            Change::CreateSchedule { schedule_id, spec } => Some(Schedule {
                id: schedule_id.clone(),
                spec: spec.clone(),
                created_at: now,
                version: 0,
            }),
            Change::UpdateSchedule { spec, .. } => current.map(|s| Schedule {
                spec: spec.clone(),
                ..s.clone()
            }),
            Change::DeleteSchedule { .. } => None,
            _ => current.cloned(),
        }
    }

    /// What the change does to a daypart as the client shows it at once.
    pub fn apply_to_daypart(&self, current: Option<&Daypart>) -> Option<Daypart> {
        match self {
            Change::CreateDaypart {
                daypart_id,
                name,
                start,
                end,
            } => Some(Daypart {
                id: daypart_id.clone(),
                name: name.trim().to_string(),
                start: *start,
                end: *end,
                version: 0,
            }),
            Change::UpdateDaypart {
                name, start, end, ..
            } => current.map(|d| Daypart {
                name: name.trim().to_string(),
                start: *start,
                end: *end,
                ..d.clone()
            }),
            Change::DeleteDaypart { .. } => None,
            _ => current.cloned(),
        }
    }

    /// What the change does to a takeover as the client shows it at once.
    pub fn apply_to_takeover(&self, current: Option<&Takeover>, now: Millis) -> Option<Takeover> {
        match self {
            Change::StartTakeover {
                takeover_id,
                name,
                playlist_id,
                group_id,
                starts_at,
                ends_at,
            } => Some(Takeover {
                id: takeover_id.clone(),
                name: name.trim().to_string(),
                playlist_id: playlist_id.clone(),
                group_id: group_id.clone(),
                starts_at: starts_at.map_or(now, |s| s.max(now)),
                ends_at: *ends_at,
                ended_at: None,
                version: 0,
            }),
            Change::EndTakeover { .. } => current.map(|t| Takeover {
                ended_at: t.ended_at.or(Some(now)),
                ..t.clone()
            }),
            _ => current.cloned(),
        }
    }

    /// The server domain that applies the change. One exhaustive match: a
    /// new variant gets its place here, and `server::changes` routes it.
    pub fn domain(&self) -> Domain {
        match self {
            Change::CreateDevice { .. }
            | Change::UpdateDevice { .. }
            | Change::DeleteDevice { .. }
            | Change::UnpairDevice { .. }
            | Change::UpdateGroup { .. } => Domain::Devices,
            Change::PairDevice { .. } => Domain::Displays,
            Change::CreateWebPage { .. }
            | Change::AddMedia { .. }
            | Change::UpdateContent { .. }
            | Change::DeleteContent { .. }
            | Change::CreatePlaylist { .. }
            | Change::RenamePlaylist { .. }
            | Change::DeletePlaylist { .. }
            | Change::InsertItem { .. }
            | Change::MoveItem { .. }
            | Change::RemoveItem { .. }
            | Change::SetItemDuration { .. } => Domain::Library,
            Change::AcknowledgeAlert { .. } | Change::UpdateAlertRule { .. } => Domain::Health,
            Change::CreateUser { .. }
            | Change::ChangeRole { .. }
            | Change::DeactivateUser { .. }
            | Change::ReactivateUser { .. }
            | Change::EndSession { .. }
            | Change::ChangePassword { .. }
            | Change::RevokeToken { .. } => Domain::Accounts,
            Change::CreateSchedule { .. }
            | Change::UpdateSchedule { .. }
            | Change::DeleteSchedule { .. }
            | Change::CreateDaypart { .. }
            | Change::UpdateDaypart { .. }
            | Change::DeleteDaypart { .. }
            | Change::StartTakeover { .. }
            | Change::EndTakeover { .. } => Domain::Schedules,
        }
    }

    /// The least role that may ask for the change. Every change is refused
    /// below it before the change path opens a transaction; a domain may
    /// refuse more (an admin ends anyone's session, others only their own).
    pub fn min_role(&self) -> Role {
        match self {
            Change::ChangePassword { .. } | Change::EndSession { .. } => Role::Viewer,
            Change::CreateUser { .. }
            | Change::ChangeRole { .. }
            | Change::DeactivateUser { .. }
            | Change::ReactivateUser { .. }
            | Change::RevokeToken { .. } => Role::Admin,
            _ => Role::Editor,
        }
    }

    /// Checks what can be checked without the database, before the change
    /// path opens its transaction: the size first, so nothing that grows with
    /// an oversized input runs, then each field's rule.
    pub fn check_input(&self) -> Result<(), String> {
        let size = serde_json::to_vec(self).map_or(usize::MAX, |v| v.len());
        if size > MAX_CHANGE_BYTES {
            return Err(format!(
                "This change is {} KiB; a change may be at most {} KiB.",
                size.div_ceil(1024),
                MAX_CHANGE_BYTES / 1024
            ));
        }
        let tags =
            |t: &Option<Vec<String>>| t.as_deref().map_or(Ok(()), |t| validate_tags(t).map(drop));
        match self {
            Change::CreateDevice { name, tags: t, .. } => {
                validate_device_name(name)?;
                validate_tags(t)?;
            }
            Change::PairDevice { name, .. } => {
                validate_device_name(name)?;
            }
            Change::UpdateDevice { patch, .. } => {
                if let Some(name) = &patch.name {
                    validate_device_name(name)?;
                }
                tags(&patch.tags)?;
            }
            Change::CreateWebPage {
                name,
                url,
                reload_seconds,
                tags: t,
                ..
            } => {
                validate_content_name(name)?;
                validate_url(url)?;
                validate_reload(*reload_seconds)?;
                validate_tags(t)?;
            }
            Change::AddMedia { name, .. } => {
                validate_content_name(name)?;
            }
            Change::UpdateContent { patch, .. } => {
                if let Some(name) = &patch.name {
                    validate_content_name(name)?;
                }
                if let Some(url) = &patch.url {
                    validate_url(url)?;
                }
                if let Some(r) = patch.reload_seconds {
                    validate_reload(r)?;
                }
                tags(&patch.tags)?;
            }
            Change::CreatePlaylist { name, .. } | Change::RenamePlaylist { name, .. } => {
                validate_playlist_name(name)?;
            }
            Change::InsertItem { item, .. } => {
                validate_duration(item.duration_ms)?;
            }
            Change::SetItemDuration { duration_ms, .. } => {
                validate_duration(*duration_ms)?;
            }
            Change::CreateUser {
                email, password, ..
            } => {
                validate_email(email)?;
                validate_password(password.expose())?;
            }
            Change::ChangePassword { current, new } => {
                if current.expose().chars().count() > MAX_PASSWORD_CHARS {
                    return Err("That is not your current password.".into());
                }
                validate_password(new.expose())?;
            }
            Change::CreateSchedule { spec, .. } | Change::UpdateSchedule { spec, .. } => {
                spec.check()?;
            }
            Change::CreateDaypart {
                name, start, end, ..
            }
            | Change::UpdateDaypart {
                name, start, end, ..
            } => {
                super::validate_daypart(name, *start, *end)?;
            }
            Change::StartTakeover { name, .. } => {
                super::validate_takeover_name(name)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Why a client may not send this change itself, for those only the
    /// server makes.
    pub fn server_only(&self) -> Option<&'static str> {
        match self {
            Change::AddMedia { .. } => {
                Some("Media items are made by uploading the file (POST /api/v1/content).")
            }
            _ => None,
        }
    }

    /// Which kind of entity the change is about.
    pub fn target(&self) -> Target {
        match self {
            Change::CreateDevice { .. }
            | Change::UpdateDevice { .. }
            | Change::DeleteDevice { .. }
            | Change::PairDevice { .. }
            | Change::UnpairDevice { .. } => Target::Device,
            Change::UpdateGroup { .. } => Target::Group,
            Change::CreateWebPage { .. }
            | Change::AddMedia { .. }
            | Change::UpdateContent { .. }
            | Change::DeleteContent { .. } => Target::Content,
            Change::AcknowledgeAlert { .. } => Target::Alert,
            Change::UpdateAlertRule { .. } => Target::Rule,
            Change::CreateUser { .. }
            | Change::ChangeRole { .. }
            | Change::DeactivateUser { .. }
            | Change::ReactivateUser { .. }
            | Change::EndSession { .. }
            | Change::ChangePassword { .. }
            | Change::RevokeToken { .. } => Target::Account,
            Change::CreateSchedule { .. }
            | Change::UpdateSchedule { .. }
            | Change::DeleteSchedule { .. } => Target::Schedule,
            Change::CreateDaypart { .. }
            | Change::UpdateDaypart { .. }
            | Change::DeleteDaypart { .. } => Target::Daypart,
            Change::StartTakeover { .. } | Change::EndTakeover { .. } => Target::Takeover,
            _ => Target::Playlist,
        }
    }
}

/// The server domains that apply changes (`src/server/<domain>/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Library,
    Devices,
    Displays,
    Health,
    Accounts,
    Schedules,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Device,
    Group,
    Content,
    Playlist,
    Alert,
    Rule,
    /// Accounts, sessions and tokens: not held by the console's store.
    Account,
    Schedule,
    Daypart,
    Takeover,
    /// A display's deploy state: only the server changes it.
    Deploy,
}

/// The server's answer to an accepted op: the event it appended to the log.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpAck {
    pub op_id: String,
    pub event: Event,
}
