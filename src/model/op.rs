use serde::{Deserialize, Serialize};

use super::{Device, DevicePatch, DeviceStatus, Event};

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
}

impl Change {
    pub fn entity_id(&self) -> &str {
        match self {
            Change::CreateDevice { device_id, .. }
            | Change::UpdateDevice { device_id, .. }
            | Change::DeleteDevice { device_id } => device_id,
        }
    }

    /// The fields the change sets, for rebase and conflict checks.
    pub fn fields(&self) -> Vec<&'static str> {
        match self {
            Change::UpdateDevice { patch, .. } => patch.fields(),
            Change::CreateDevice { .. } | Change::DeleteDevice { .. } => vec!["*"],
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
                version: 0,
            }),
            Change::UpdateDevice { patch, .. } => current.map(|d| {
                let mut d = d.clone();
                patch.apply_to(&mut d);
                d
            }),
            Change::DeleteDevice { .. } => None,
        }
    }
}

/// The server's answer to an accepted op: the event it appended to the log.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpAck {
    pub op_id: String,
    pub event: Event,
}
