//! The content library: uploaded images and videos (stored once per sha256) and
//! web pages by URL. Playlists reference items by id.

use serde::{Deserialize, Serialize};

use super::{device::present_or_null, normalize_tags, Millis};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    Image,
    Video,
    Web,
}

impl ContentKind {
    pub const ALL: [ContentKind; 3] = [Self::Image, Self::Video, Self::Web];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Web => "web",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Image => "Image",
            Self::Video => "Video",
            Self::Web => "Web page",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// How long a playlist shows an item of this kind when nobody says otherwise.
    pub fn default_duration_ms(self) -> i64 {
        match self {
            Self::Image => 10_000,
            Self::Video => 30_000,
            Self::Web => 30_000,
        }
    }
}

/// One item of the library.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub id: String,
    pub name: String,
    pub kind: ContentKind,
    /// Media only: the bytes' type, hash and size.
    pub mime: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Videos whose container states it.
    pub duration_ms: Option<i64>,
    /// Web pages only.
    pub url: Option<String>,
    pub reload_seconds: Option<i64>,
    pub tags: Vec<String>,
    /// Optional validity window: players skip the item outside it.
    pub valid_from: Option<Millis>,
    pub valid_until: Option<Millis>,
    pub created_at: Millis,
    pub version: i64,
}

/// File extension the media URL uses for a MIME type.
pub fn media_ext(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        _ => "bin",
    }
}

impl Content {
    /// The hash-named URL the bytes are served at (immutable, cacheable forever).
    pub fn media_url(&self) -> Option<String> {
        let sha = self.sha256.as_ref()?;
        let mime = self.mime.as_deref().unwrap_or_default();
        Some(format!("/media/{sha}.{}", media_ext(mime)))
    }
    /// A small picture for grids and lists: the image's own thumbnail, or a
    /// placeholder per kind.
    pub fn thumb_url(&self) -> String {
        match (self.kind, &self.sha256) {
            (ContentKind::Image, Some(sha)) => format!("/media/thumbs/{sha}.png"),
            (ContentKind::Video, _) => "/assets/video.svg".into(),
            _ => "/assets/web.svg".into(),
        }
    }
    /// What a playlist item of this content lasts by default.
    pub fn default_duration_ms(&self) -> i64 {
        match (self.kind, self.duration_ms) {
            (ContentKind::Video, Some(ms)) if ms > 0 => ms,
            (kind, _) => kind.default_duration_ms(),
        }
    }
}

/// The fields an operator can change on a library item. `None` leaves one alone;
/// `Some(None)` clears an optional one.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    pub valid_from: Option<Option<Millis>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    pub valid_until: Option<Option<Millis>>,
    /// Web pages only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_seconds: Option<i64>,
}

impl ContentPatch {
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.name.is_some() {
            out.push("name");
        }
        if self.tags.is_some() {
            out.push("tags");
        }
        if self.valid_from.is_some() {
            out.push("valid_from");
        }
        if self.valid_until.is_some() {
            out.push("valid_until");
        }
        if self.url.is_some() {
            out.push("url");
        }
        if self.reload_seconds.is_some() {
            out.push("reload_seconds");
        }
        out
    }

    pub fn apply_to(&self, c: &mut Content) {
        if let Some(name) = &self.name {
            c.name = name.trim().to_string();
        }
        if let Some(tags) = &self.tags {
            c.tags = normalize_tags(tags);
        }
        if let Some(v) = self.valid_from {
            c.valid_from = v;
        }
        if let Some(v) = self.valid_until {
            c.valid_until = v;
        }
        if let Some(url) = &self.url {
            c.url = Some(url.trim().to_string());
        }
        if let Some(r) = self.reload_seconds {
            c.reload_seconds = Some(r);
        }
    }
}

pub const MAX_CONTENT_NAME_CHARS: usize = 200;
pub const MAX_URL_CHARS: usize = 2_000;
/// A web page reloads at most every 10 seconds and at least once a day.
pub const RELOAD_SECONDS: std::ops::RangeInclusive<i64> = 10..=86_400;

pub fn validate_content_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("An item needs a name.".into());
    }
    if chars > MAX_CONTENT_NAME_CHARS {
        return Err(format!(
            "A name can be at most {MAX_CONTENT_NAME_CHARS} characters; this one has {chars}."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("A name cannot contain control characters.".into());
    }
    Ok(name.to_string())
}

/// A web page's address: absolute http or https with a host, nothing else.
pub fn validate_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("A URL can be at most {MAX_URL_CHARS} characters."));
    }
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        rest
    } else {
        return Err(format!(
            "'{url}' is not a web address: it must start with http:// or https://."
        ));
    };
    // The authority: [user@]host[:port], with a host name or IPv4 address
    // (no bracketed IPv6 literal) and a port of digits.
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (userinfo, host) = match authority.split_once('@') {
        Some((user, host)) => (user, host),
        None => ("", authority),
    };
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let valid_host = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !userinfo.contains(['[', ']', '@'])
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if !valid_host {
        return Err(format!(
            "'{url}' has no valid host: a name or IPv4 address, and a port of digits."
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("A URL cannot contain spaces or control characters.".into());
    }
    Ok(url.to_string())
}

pub fn validate_reload(seconds: i64) -> Result<i64, String> {
    if RELOAD_SECONDS.contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "The reload interval must be between {} seconds and {} seconds (a day).",
            RELOAD_SECONDS.start(),
            RELOAD_SECONDS.end()
        ))
    }
}

pub fn validate_window(from: Option<Millis>, until: Option<Millis>) -> Result<(), String> {
    match (from, until) {
        (Some(f), Some(u)) if u <= f => Err("The validity window ends before it starts.".into()),
        _ => Ok(()),
    }
}

/// What the Content and Playlists pages render from: the library and the
/// playlists (for "used in"), with the stream position they were read at.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibrarySnapshot {
    pub content: Vec<Content>,
    pub playlists: Vec<super::Playlist>,
    pub seq: i64,
    pub epoch: String,
    /// Bytes of media the organization may keep (`storage-quota-mb`).
    #[serde(default)]
    pub storage_quota: i64,
}

/// Bytes the library's media take: each stored file once, however many
/// items show it (the server's quota counts the same way).
pub fn bytes_used(content: &[Content]) -> i64 {
    let mut seen = std::collections::HashSet::new();
    content
        .iter()
        .filter_map(|c| Some((c.sha256.as_deref()?, c.size?)))
        .filter(|(sha, _)| seen.insert(*sha))
        .map(|(_, size)| size)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(validate_url("https://example.com/menu?x=1").is_ok());
        assert!(validate_url(" http://10.0.0.5:8080/board ").is_ok());
        assert!(validate_url("ftp://example.com").is_err());
        assert!(validate_url("javascript:alert(1)").is_err());
        assert!(validate_url("https://").is_err());
        assert!(validate_url("http://[").is_err());
        assert!(validate_url("http://[::1]/").is_err());
        assert!(validate_url("http://a@b@c/").is_err());
        assert!(validate_url("http://sign:8o80/").is_err());
        assert!(validate_url("http://kiosk:secret@sign.local:8080/x").is_ok());
        assert!(validate_url("https://exa mple.com").is_err());
    }

    #[test]
    fn reload_and_window_bounds() {
        assert!(validate_reload(9).is_err());
        assert!(validate_reload(60).is_ok());
        assert!(validate_window(Some(10), Some(5)).is_err());
        assert!(validate_window(Some(10), None).is_ok());
    }

    #[test]
    fn patch_clears_window_with_null() {
        let p: ContentPatch = serde_json::from_str(r#"{"valid_until":null}"#).unwrap();
        assert_eq!(p.valid_until, Some(None));
        assert_eq!(p.fields(), vec!["valid_until"]);
    }
}
