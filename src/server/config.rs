//! Start-up settings: `Leptos.toml` (site and Vizora sections), `LEPTOS_*`
//! overrides, and the build outputs cargo-leptos compiled in.

use std::{net::SocketAddr, path::Path, time::Duration};

use leptos::config::{Env, LeptosOptions};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    #[serde(default)]
    pub site: SiteSettings,
    #[serde(default)]
    pub vizora: Settings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SiteSettings {
    pub addr: SocketAddr,
    pub env: String,
    pub reload_port: u32,
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            env: "PROD".into(),
            reload_port: 3001,
        }
    }
}

/// Vizora's own settings. Defaults are the values in the shipped `Leptos.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Settings {
    pub stream_ping_seconds: u64,
    pub event_retention: i64,
    /// Days raw plays and status intervals are kept (rollups stay for years).
    pub analytics_retention_days: i64,
    /// Days operators' events stay in the log as the activity history, after
    /// `event-retention` has dropped the system events around them.
    pub activity_retention_days: i64,
    pub session_hours: i64,
    /// Failed sign-ins per email in the window.
    pub login_attempts: u32,
    /// Failed sign-ins per client address in the window (any emails).
    pub login_attempts_per_address: u32,
    pub login_window_seconds: u64,
    pub outbox_limit: usize,
    pub retry_base_ms: u64,
    pub retry_cap_ms: u64,
    pub op_max_age_hours: u64,
    pub breaker_failures: u32,
    pub breaker_open_ms: u64,
    pub breaker_successes: u32,
    /// Largest upload accepted, in megabytes; enforced while the bytes stream in.
    pub upload_limit_mb: u64,
    /// Seconds between a display's heartbeats; three missed make it offline.
    pub heartbeat_seconds: u64,
    /// Open connections (WebSockets included) one client address may hold.
    pub connections_per_address: u32,
    /// Seconds a client has to send a request's head; also how long an idle
    /// keep-alive connection is kept.
    pub header_timeout_seconds: u64,
    /// Bytes of media an organization may keep, in megabytes.
    pub storage_quota_mb: u64,
    /// Seconds between the samples of each display's metrics kept for its
    /// history charts (seven days are kept).
    pub metrics_sample_seconds: u64,
    /// The address operators reach the console at (`https://signage.example`);
    /// empty when it is only what `site-addr` says. An `https://` address
    /// turns on HSTS and secure session cookies.
    pub public_url: String,
    /// `Secure` and the `__Host-` name on the session cookie; by default on
    /// exactly when `public-url` is https.
    pub secure_cookies: Option<bool>,
    /// Seconds between an open stream's checks that its session or token
    /// still holds (it also checks at once on a sign-out or revocation).
    pub credential_check_seconds: u64,
    /// An address (`127.0.0.1:9464`) where `/metrics` is served to whoever
    /// can reach it, for a Prometheus on the same host or network; empty for
    /// none (then only admins read `/metrics` on the console's address).
    pub metrics_address: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            stream_ping_seconds: 15,
            event_retention: 100_000,
            analytics_retention_days: 90,
            activity_retention_days: 730,
            session_hours: 336,
            login_attempts: 10,
            login_attempts_per_address: 50,
            login_window_seconds: 900,
            outbox_limit: 1_000,
            retry_base_ms: 500,
            retry_cap_ms: 30_000,
            op_max_age_hours: 24,
            breaker_failures: 5,
            breaker_open_ms: 10_000,
            breaker_successes: 2,
            upload_limit_mb: 500,
            heartbeat_seconds: 10,
            connections_per_address: 512,
            header_timeout_seconds: 10,
            storage_quota_mb: 10_240,
            metrics_sample_seconds: 60,
            public_url: String::new(),
            secure_cookies: None,
            credential_check_seconds: 30,
            metrics_address: String::new(),
        }
    }
}

impl Settings {
    pub fn stream_ping(&self) -> Duration {
        Duration::from_secs(self.stream_ping_seconds.max(1))
    }
    /// What the browser's sender uses (see `model::RetrySettings`).
    pub fn retry(&self) -> crate::model::RetrySettings {
        crate::model::RetrySettings {
            base_ms: self.retry_base_ms.max(1) as f64,
            cap_ms: self.retry_cap_ms.max(self.retry_base_ms.max(1)) as f64,
            op_max_age_ms: (self.op_max_age_hours.max(1) * 3_600_000) as f64,
            breaker_failures: self.breaker_failures.max(1),
            breaker_open_ms: self.breaker_open_ms as f64,
            breaker_successes: self.breaker_successes.max(1),
        }
    }

    pub fn upload_limit_bytes(&self) -> u64 {
        self.upload_limit_mb.saturating_mul(1024 * 1024)
    }

    pub fn storage_quota_bytes(&self) -> u64 {
        self.storage_quota_mb.saturating_mul(1024 * 1024)
    }

    pub fn login_window(&self) -> Duration {
        Duration::from_secs(self.login_window_seconds)
    }

    /// Whether operators reach the console over HTTPS (`public-url`).
    pub fn https(&self) -> bool {
        self.public_url
            .trim()
            .to_ascii_lowercase()
            .starts_with("https://")
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| self.https())
    }

    /// `__Host-vizora_session` with secure cookies (only sent over HTTPS,
    /// to this host, path `/`), `vizora_session` without.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure_cookies() {
            "__Host-vizora_session"
        } else {
            "vizora_session"
        }
    }

    pub fn credential_check(&self) -> Duration {
        Duration::from_secs(self.credential_check_seconds.clamp(1, 30))
    }
}

/// Reads the settings file; a missing file means defaults, a malformed one is an error.
pub fn load(path: &Path) -> Result<SettingsFile, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SettingsFile::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn env_or(key: &str, fallback: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| fallback.to_string())
}

/// Leptos options: build outputs from what cargo-leptos compiled in (overridable by
/// the same `LEPTOS_*` variables it sets when it runs the server), site settings
/// from the file, and the address from `bind` when given.
pub fn leptos_options(
    site: &SiteSettings,
    bind: Option<SocketAddr>,
) -> Result<LeptosOptions, String> {
    let addr = match (bind, std::env::var("LEPTOS_SITE_ADDR")) {
        (Some(addr), _) => addr,
        (None, Ok(text)) => text
            .parse()
            .map_err(|e| format!("LEPTOS_SITE_ADDR '{text}': {e}"))?,
        (None, Err(_)) => site.addr,
    };
    let env = match env_or("LEPTOS_ENV", &site.env)
        .to_ascii_lowercase()
        .as_str()
    {
        "prod" | "production" => Env::PROD,
        "dev" | "development" => Env::DEV,
        other => return Err(format!("unknown site env '{other}': use PROD or DEV")),
    };
    let reload_port = match std::env::var("LEPTOS_RELOAD_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|e| format!("LEPTOS_RELOAD_PORT '{p}': {e}"))?,
        Err(_) => site.reload_port,
    };
    Ok(LeptosOptions::builder()
        .output_name(env_or(
            "LEPTOS_OUTPUT_NAME",
            option_env!("LEPTOS_OUTPUT_NAME").unwrap_or(env!("CARGO_PKG_NAME")),
        ))
        .site_root(env_or(
            "LEPTOS_SITE_ROOT",
            option_env!("LEPTOS_SITE_ROOT").unwrap_or("target/site"),
        ))
        .site_pkg_dir(env_or(
            "LEPTOS_SITE_PKG_DIR",
            option_env!("LEPTOS_SITE_PKG_DIR").unwrap_or("pkg"),
        ))
        .site_addr(addr)
        .env(env)
        .reload_port(reload_port)
        .hash_files(hash_files())
        .build())
}

/// Whether the build named its assets by their hashes: `LEPTOS_HASH_FILES`,
/// else whether cargo-leptos left its `hash.txt` beside this program (where
/// Leptos reads it from).
fn hash_files() -> bool {
    match std::env::var("LEPTOS_HASH_FILES") {
        Ok(v) => v.eq_ignore_ascii_case("true"),
        Err(_) => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
            .is_some_and(|p| p.is_file()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_leptos_toml_parses_and_matches_the_defaults() {
        let file = load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/Leptos.toml"
        )))
        .unwrap();
        let d = Settings::default();
        assert_eq!(file.vizora.stream_ping_seconds, d.stream_ping_seconds);
        assert_eq!(file.vizora.event_retention, d.event_retention);
        assert_eq!(
            file.vizora.analytics_retention_days,
            d.analytics_retention_days
        );
        assert_eq!(
            file.vizora.activity_retention_days,
            d.activity_retention_days
        );
        assert_eq!(file.vizora.session_hours, d.session_hours);
        assert_eq!(file.vizora.outbox_limit, d.outbox_limit);
        assert_eq!(file.vizora.upload_limit_mb, d.upload_limit_mb);
        assert_eq!(file.vizora.heartbeat_seconds, d.heartbeat_seconds);
        assert_eq!(file.vizora.metrics_sample_seconds, d.metrics_sample_seconds);
        assert_eq!(
            file.vizora.connections_per_address,
            d.connections_per_address
        );
        assert_eq!(file.vizora.header_timeout_seconds, d.header_timeout_seconds);
        assert_eq!(file.vizora.storage_quota_mb, d.storage_quota_mb);
        assert_eq!(
            file.vizora.login_attempts_per_address,
            d.login_attempts_per_address
        );
        assert_eq!(file.vizora.retry(), crate::model::RetrySettings::default());
        assert_eq!(file.vizora.public_url, d.public_url);
        assert_eq!(
            file.vizora.credential_check_seconds,
            d.credential_check_seconds
        );
        assert_eq!(file.site.addr, SiteSettings::default().addr);
    }

    #[test]
    fn an_https_address_makes_cookies_secure_unless_told_otherwise() {
        let mut s = Settings::default();
        assert!(!s.https() && !s.secure_cookies());
        assert_eq!(s.session_cookie_name(), "vizora_session");
        s.public_url = "HTTPS://signage.example".into();
        assert!(s.https() && s.secure_cookies());
        assert_eq!(s.session_cookie_name(), "__Host-vizora_session");
        s.secure_cookies = Some(false);
        assert!(!s.secure_cookies());
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let err = toml::from_str::<SettingsFile>("[vizora]\nstream-pong = 3\n").unwrap_err();
        assert!(err.to_string().contains("stream-pong"), "{err}");
    }
}
