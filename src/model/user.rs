use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Editor,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
    /// Admins and editors change things; viewers only look.
    pub fn can_edit(self) -> bool {
        matches!(self, Role::Admin | Role::Editor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "unknown role '{other}': use admin, editor or viewer"
            )),
        }
    }
}

/// Who is signed in, as the pages see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: String,
    pub role: Role,
    pub org_name: String,
    /// The head of the organization's event stream when this was read.
    pub seq: i64,
    /// Changes when the event log is reset or restored; a client holding another
    /// epoch must refetch instead of resuming.
    pub epoch: String,
    /// How many changes the browser's outbox may hold (`Leptos.toml` outbox-limit).
    pub outbox_limit: usize,
    /// How the browser retries and when it stops hammering (`Leptos.toml`).
    pub retry: RetrySettings,
}

/// The client's retry policy, from `Leptos.toml`'s `[vizora]` section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetrySettings {
    /// Backoff: the first retry waits up to this long (full jitter)...
    pub base_ms: f64,
    /// ...doubling each time, up to this.
    pub cap_ms: f64,
    /// An op still failing after this long is given up, and the operator told.
    pub op_max_age_ms: f64,
    /// Circuit breaker: transient failures in a row that open it,
    pub breaker_failures: u32,
    /// how long it stays open,
    pub breaker_open_ms: f64,
    /// and trial successes in a row that close it again.
    pub breaker_successes: u32,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            base_ms: 500.0,
            cap_ms: 30_000.0,
            op_max_age_ms: 24.0 * 3_600_000.0,
            breaker_failures: 5,
            breaker_open_ms: 10_000.0,
            breaker_successes: 2,
        }
    }
}

/// The longest email address there can be (RFC 5321).
pub const MAX_EMAIL_BYTES: usize = 254;
/// The shortest password an account may be given.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// What a sign-in form's password may weigh: the longest password there can
/// be, in the widest UTF-8; refused before hashing.
pub const MAX_PASSWORD_BYTES: usize = 4 * MAX_PASSWORD_CHARS;

/// A secret in transit (a password in a change): serialized as itself, but
/// never shown by `Debug`, so no log line can carry it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An operator account of the organization, as admins see it in Settings.
/// Deactivated accounts stay, with their history; they cannot sign in.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_at: super::Millis,
    /// When an admin deactivated the account; `None` while it is active.
    pub deactivated_at: Option<super::Millis>,
    pub version: i64,
}

impl User {
    pub fn active(&self) -> bool {
        self.deactivated_at.is_none()
    }
}

/// A signed-in browser session, as Settings lists it (never its cookie).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub created_at: super::Millis,
    pub expires_at: super::Millis,
    /// The browser's User-Agent when it signed in, shortened.
    pub user_agent: Option<String>,
    /// The session this list was read with.
    pub current: bool,
}

/// Settings' accounts panel: the users (admins see all of the organization;
/// others only themselves) and the sessions one may end, read at `seq`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountsSnapshot {
    pub users: Vec<User>,
    pub sessions: Vec<SessionRow>,
    pub seq: i64,
}

/// An email address as accounts store it, lowercased: printable ASCII
/// only (no spaces), one `@` with something on each side, at most 254
/// characters. (The OpenAPI document states the same rule as a pattern.)
pub fn validate_email(email: &str) -> Result<String, String> {
    if email.len() > MAX_EMAIL_BYTES {
        return Err(format!(
            "An email address is at most {MAX_EMAIL_BYTES} characters."
        ));
    }
    let valid = email.bytes().all(|b| b.is_ascii_graphic())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }
            None => false,
        };
    if valid {
        Ok(email.to_ascii_lowercase())
    } else {
        Err(format!(
            "“{}” is not an email address (name@example.com, no spaces).",
            email.chars().take(80).collect::<String>()
        ))
    }
}

/// The most characters a password may have; far longer than any typed one.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A new password: at least 8 characters, at most 1,024.
pub fn validate_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "A password needs at least {MIN_PASSWORD_CHARS} characters."
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!(
            "A password may be at most {MAX_PASSWORD_CHARS} characters."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            validate_email("Ann@Example.COM").unwrap(),
            "ann@example.com"
        );
        assert!(validate_email(" ann@example.com").is_err());
        assert!(validate_email("ann@ex@ample.com").is_err());
        assert!(validate_email("änn@example.com").is_err());
        assert!(validate_email("ann").is_err());
        assert!(validate_email("@example.com").is_err());
        assert!(validate_email("a b@example.com").is_err());
        assert!(validate_email(&format!("{}@x.io", "a".repeat(260))).is_err());
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secret("hunter22hunter22".into());
        assert!(!format!("{s:?}").contains("hunter"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter22hunter22\"");
    }
}
