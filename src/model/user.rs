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
