use serde::{Deserialize, Serialize};

use super::{
    Alert, AlertRule, Content, Daypart, Deploy, Device, DeviceGroup, Execution, Millis, Playlist,
    Schedule, Takeover, User,
};

/// One row of the append-only event log. `seq` increases strictly per organization.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub at: Millis,
    /// The op that caused it, so the client that sent it can acknowledge it.
    pub op_id: Option<String>,
    /// Email of the operator, or `None` for the system (heartbeats, scheduler).
    pub actor: Option<String>,
    pub body: EventBody,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    DeviceUpserted {
        device: Device,
    },
    DeviceDeleted {
        device_id: String,
        version: i64,
    },
    GroupUpserted {
        group: DeviceGroup,
    },
    ContentUpserted {
        content: Content,
    },
    ContentDeleted {
        content_id: String,
        version: i64,
    },
    PlaylistUpserted {
        playlist: Playlist,
    },
    PlaylistDeleted {
        playlist_id: String,
        version: i64,
    },
    /// Raised, acknowledged or resolved.
    AlertUpserted {
        alert: Alert,
    },
    AlertRuleUpserted {
        rule: AlertRule,
    },
    /// A display answered a screenshot command; the image is at
    /// `/api/v1/devices/{device_id}/screenshot`.
    ScreenshotTaken {
        device_id: String,
        at: Millis,
    },
    /// An account was added, changed role, or was (re)activated.
    UserUpserted {
        user: User,
    },
    /// A session was signed out (by its owner, an admin, a password change
    /// or a deactivation): streams opened with it close.
    SessionEnded {
        session_id: String,
        user_id: String,
    },
    /// An API token was revoked: requests and streams with it stop.
    TokenRevoked {
        token_id: String,
    },
    /// An operator changed their password (never the password itself).
    PasswordChanged {
        user_id: String,
    },
    ScheduleUpserted {
        schedule: Schedule,
    },
    ScheduleDeleted {
        schedule_id: String,
        version: i64,
    },
    DaypartUpserted {
        daypart: Daypart,
    },
    DaypartDeleted {
        daypart_id: String,
        version: i64,
    },
    /// Started, or ended (by hand: `ended_at` is set).
    TakeoverUpserted {
        takeover: Takeover,
    },
    /// A display switched what it plays.
    ExecutionRecorded {
        execution: Execution,
    },
    /// A display's manifest was sent, acknowledged, or started playing.
    DeployUpdated {
        deploy: Deploy,
    },
    /// Plays stored in one write, tallied (the Analytics page adds them to
    /// the report it holds).
    PlaysRecorded {
        tallies: Vec<crate::model::PlayTally>,
    },
}

impl EventBody {
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::DeviceUpserted { .. } => "device_upserted",
            EventBody::DeviceDeleted { .. } => "device_deleted",
            EventBody::GroupUpserted { .. } => "group_upserted",
            EventBody::ContentUpserted { .. } => "content_upserted",
            EventBody::ContentDeleted { .. } => "content_deleted",
            EventBody::PlaylistUpserted { .. } => "playlist_upserted",
            EventBody::PlaylistDeleted { .. } => "playlist_deleted",
            EventBody::AlertUpserted { .. } => "alert_upserted",
            EventBody::AlertRuleUpserted { .. } => "alert_rule_upserted",
            EventBody::ScreenshotTaken { .. } => "screenshot_taken",
            EventBody::UserUpserted { .. } => "user_upserted",
            EventBody::SessionEnded { .. } => "session_ended",
            EventBody::TokenRevoked { .. } => "token_revoked",
            EventBody::PasswordChanged { .. } => "password_changed",
            EventBody::ScheduleUpserted { .. } => "schedule_upserted",
            EventBody::ScheduleDeleted { .. } => "schedule_deleted",
            EventBody::DaypartUpserted { .. } => "daypart_upserted",
            EventBody::DaypartDeleted { .. } => "daypart_deleted",
            EventBody::TakeoverUpserted { .. } => "takeover_upserted",
            EventBody::ExecutionRecorded { .. } => "execution_recorded",
            EventBody::DeployUpdated { .. } => "deploy_updated",
            EventBody::PlaysRecorded { .. } => "plays_recorded",
        }
    }
    /// Applied first within a batch: lower is sooner (alerts are 0).
    pub fn priority(&self) -> u8 {
        match self {
            EventBody::AlertUpserted { .. } => 0,
            _ => 1,
        }
    }

    /// State-like events: only the latest for one entity matters within a batch.
    pub fn coalesces(&self) -> bool {
        matches!(
            self,
            EventBody::DeviceUpserted { .. }
                | EventBody::GroupUpserted { .. }
                | EventBody::ContentUpserted { .. }
                | EventBody::PlaylistUpserted { .. }
                | EventBody::AlertUpserted { .. }
                | EventBody::AlertRuleUpserted { .. }
                | EventBody::ScheduleUpserted { .. }
                | EventBody::DaypartUpserted { .. }
                | EventBody::TakeoverUpserted { .. }
                | EventBody::DeployUpdated { .. }
        )
    }

    pub fn entity_id(&self) -> &str {
        match self {
            EventBody::DeviceUpserted { device } => &device.id,
            EventBody::DeviceDeleted { device_id, .. } => device_id,
            EventBody::GroupUpserted { group } => &group.id,
            EventBody::ContentUpserted { content } => &content.id,
            EventBody::ContentDeleted { content_id, .. } => content_id,
            EventBody::PlaylistUpserted { playlist } => &playlist.id,
            EventBody::PlaylistDeleted { playlist_id, .. } => playlist_id,
            EventBody::AlertUpserted { alert } => &alert.id,
            EventBody::AlertRuleUpserted { rule } => &rule.id,
            EventBody::ScreenshotTaken { device_id, .. } => device_id,
            EventBody::UserUpserted { user } => &user.id,
            EventBody::SessionEnded { session_id, .. } => session_id,
            EventBody::TokenRevoked { token_id } => token_id,
            EventBody::PasswordChanged { user_id } => user_id,
            EventBody::ScheduleUpserted { schedule } => &schedule.id,
            EventBody::ScheduleDeleted { schedule_id, .. } => schedule_id,
            EventBody::DaypartUpserted { daypart } => &daypart.id,
            EventBody::DaypartDeleted { daypart_id, .. } => daypart_id,
            EventBody::TakeoverUpserted { takeover } => &takeover.id,
            EventBody::ExecutionRecorded { execution } => &execution.id,
            EventBody::DeployUpdated { deploy } => &deploy.id,
            EventBody::PlaysRecorded { .. } => "",
        }
    }

    /// Whether the event may end or narrow what a signed-in credential
    /// allows: streams check theirs again when one arrives.
    pub fn touches_credentials(&self) -> bool {
        matches!(
            self,
            EventBody::UserUpserted { .. }
                | EventBody::SessionEnded { .. }
                | EventBody::TokenRevoked { .. }
                | EventBody::PasswordChanged { .. }
        )
    }
}

/// What the server sends on `GET /api/v1/stream`, one JSON object per message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// Frames are built, serialized and dropped: their size on the stack never adds up.
#[allow(clippy::large_enum_variant)]
pub enum StreamFrame {
    /// First frame: the stream's epoch and its head at connect time. Catch-up
    /// events after `since` follow at once.
    Hello {
        epoch: String,
        head: i64,
    },
    Event {
        event: Event,
    },
    /// The client's position cannot be resumed (older than the retained log, ahead of
    /// it, or from another epoch): refetch a snapshot, then resume from `head`.
    Reset {
        epoch: String,
        head: i64,
        reason: String,
    },
    /// Sent every few seconds so the client can tell a dead socket from a quiet one.
    Ping {
        at: Millis,
    },
    /// The stream's session ended (signed out, expired, account deactivated)
    /// or its token was revoked; the stream closes after it.
    SignedOut {
        reason: String,
    },
}

/// `GET /api/v1/events?since=SEQ`: the long-poll fallback of the stream. Waits
/// up to `wait` seconds (default 25) for something after `since`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub epoch: String,
    pub head: i64,
    /// Set when `since` cannot be resumed: refetch, then poll from `head`.
    pub reset: Option<String>,
    pub events: Vec<Event>,
}
