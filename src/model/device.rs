use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

use super::Millis;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Online,
    Idle,
    Offline,
    Error,
}

impl DeviceStatus {
    pub const ALL: [DeviceStatus; 4] = [Self::Online, Self::Idle, Self::Offline, Self::Error];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Idle => "idle",
            Self::Offline => "offline",
            Self::Error => "error",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Online => "Online",
            Self::Idle => "Idle",
            Self::Offline => "Offline",
            Self::Error => "Error",
        }
    }
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeviceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown device status '{s}'"))
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceGroup {
    pub id: String,
    pub name: String,
    /// What the group's displays play when they have no playlist of their own.
    #[serde(default)]
    pub playlist_id: Option<String>,
    #[serde(default)]
    pub version: i64,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub group_id: Option<String>,
    pub tags: Vec<String>,
    /// IANA zone name, e.g. `Europe/Berlin`; schedules run in this zone.
    pub timezone: String,
    pub status: DeviceStatus,
    pub last_seen: Option<Millis>,
    /// The display's own default playlist; `None` falls back to its group's.
    #[serde(default)]
    pub playlist_id: Option<String>,
    /// Whether a player holds a token for this display (see `/device/ws`).
    #[serde(default)]
    pub paired: bool,
    /// Bumped by every accepted change; ops carry the version they were made against.
    pub version: i64,
}

/// The fields an operator can change on a display. `None` leaves a field alone.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DevicePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Some(None)` takes the display out of its group.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    pub group_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// `Some(None)` clears the display's own playlist (it plays its group's).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    pub playlist_id: Option<Option<String>>,
}

/// Tells "field absent" (`None`) from "field set to null" (`Some(None)`).
pub(crate) fn present_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl DevicePatch {
    /// Names of the fields this patch sets, for rebase and conflict checks.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.name.is_some() {
            out.push("name");
        }
        if self.group_id.is_some() {
            out.push("group_id");
        }
        if self.tags.is_some() {
            out.push("tags");
        }
        if self.timezone.is_some() {
            out.push("timezone");
        }
        if self.playlist_id.is_some() {
            out.push("playlist_id");
        }
        out
    }

    pub fn apply_to(&self, device: &mut Device) {
        if let Some(name) = &self.name {
            device.name = name.trim().to_string();
        }
        if let Some(group) = &self.group_id {
            device.group_id = group.clone();
        }
        if let Some(tags) = &self.tags {
            device.tags = normalize_tags(tags);
        }
        if let Some(tz) = &self.timezone {
            device.timezone = tz.trim().to_string();
        }
        if let Some(playlist) = &self.playlist_id {
            device.playlist_id = playlist.clone();
        }
    }
}

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 32;

/// A display name: trimmed, 1 to 100 characters.
pub fn validate_device_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("A display needs a name.".into());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "A display name can be at most {MAX_NAME_CHARS} characters; this one has {chars}."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("A display name cannot contain control characters.".into());
    }
    Ok(name.to_string())
}

/// Trims, drops empties and duplicates, keeps the operator's order.
/// Tags as given, trimmed, without empties and repeats (first one kept).
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    tags.iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty() && seen.insert(*t))
        .map(str::to_string)
        .collect()
}

/// How many tags a change may send before they are looked at (repeats and
/// empties included): refused before any work that grows with the list.
pub const MAX_SENT_TAGS: usize = 5 * MAX_TAGS;

pub fn validate_tags(tags: &[String]) -> Result<Vec<String>, String> {
    if tags.len() > MAX_SENT_TAGS {
        return Err(format!(
            "At most {MAX_TAGS} tags are allowed; this change sends {}.",
            tags.len()
        ));
    }
    if let Some(long) = tags.iter().find(|t| t.len() > 4 * MAX_TAG_CHARS) {
        let shown: String = long.chars().take(MAX_TAG_CHARS).collect();
        return Err(format!(
            "Tag '{shown}…' is longer than {MAX_TAG_CHARS} characters."
        ));
    }
    let tags = normalize_tags(tags);
    if tags.len() > MAX_TAGS {
        return Err(format!(
            "At most {MAX_TAGS} tags are allowed; this change sets {}.",
            tags.len()
        ));
    }
    if let Some(long) = tags.iter().find(|t| t.chars().count() > MAX_TAG_CHARS) {
        return Err(format!(
            "Tag '{long}' is longer than {MAX_TAG_CHARS} characters."
        ));
    }
    Ok(tags)
}

/// Splits what an operator typed in a tags box ("lobby, 4k") into tags.
pub fn parse_tags(input: &str) -> Vec<String> {
    normalize_tags(&input.split(',').map(str::to_string).collect::<Vec<_>>())
}

/// What the Devices page renders from: the displays, their groups, and the
/// stream position the rows were read at.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicesSnapshot {
    pub devices: Vec<Device>,
    pub groups: Vec<DeviceGroup>,
    pub seq: i64,
    pub epoch: String,
    /// Set when `devices` holds only the first screen of a big fleet: what
    /// the server render of the Devices page sends, the rest following as
    /// data once the page runs. Absent for every full snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_screen: Option<FirstScreen>,
}

/// How much of the fleet a first-screen snapshot leaves out.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstScreen {
    /// Displays in the organization.
    pub total: usize,
    /// Displays the page's search and filters let through (as the database
    /// reads them; the page's own search has the last word).
    pub matching: usize,
    /// Displays by status, in `DeviceStatus::ALL`'s order, when the snapshot
    /// holds none of the rows (the server render of Overview and Health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_status: Option<[usize; 4]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_device_name("  Lobby 1 ").unwrap(), "Lobby 1");
        assert!(validate_device_name("   ").is_err());
        assert!(validate_device_name(&"x".repeat(101)).is_err());
        assert!(validate_device_name(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn tags_are_split_trimmed_and_deduplicated() {
        assert_eq!(parse_tags(" 4k, lobby ,,4k"), vec!["4k", "lobby"]);
        assert!(validate_tags(&vec!["x".to_string(); 1]).is_ok());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(validate_tags(&many).is_err());
    }

    #[test]
    fn patch_tells_absent_from_null_group() {
        let absent: DevicePatch = serde_json::from_str(r#"{"name":"A"}"#).unwrap();
        assert_eq!(absent.group_id, None);
        let cleared: DevicePatch = serde_json::from_str(r#"{"group_id":null}"#).unwrap();
        assert_eq!(cleared.group_id, Some(None));
        assert_eq!(cleared.fields(), vec!["group_id"]);
    }
}
