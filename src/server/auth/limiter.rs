//! The sign-in limiter: failed sign-ins counted per email and per client
//! address in a sliding window. An attempt takes its place before the
//! password is checked (so parallel requests cannot all slip under the limit)
//! and gives it back only when it succeeds. The table is bounded: expired
//! entries go first, then the oldest, so a flood of made-up emails cannot
//! grow it without end.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::server::config::Settings;

/// Entries kept at most (emails and addresses together).
pub const MAX_ENTRIES: usize = 10_000;

/// The limits, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failed sign-ins per email in the window.
    pub per_email: u32,
    /// Failed sign-ins per client address in the window.
    pub per_address: u32,
    pub window: Duration,
}

impl Limits {
    /// What `[vizora]` allows: `login-attempts` per email and
    /// `login-attempts-per-address` in `login-window-seconds`.
    pub fn of(settings: &Settings) -> Self {
        Self {
            per_email: settings.login_attempts.max(1),
            per_address: settings.login_attempts_per_address.max(1),
            window: settings.login_window(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// Attempts under way (their password is being checked).
    in_flight: u32,
    since: Instant,
}

#[derive(Default)]
pub struct LoginLimiter {
    entries: Mutex<HashMap<String, Entry>>,
}

/// A sign-in attempt that holds its place in the counts until it is
/// resolved; dropped unresolved, it counts as a failure.
pub struct Attempt {
    limiter: Arc<LoginLimiter>,
    keys: [String; 2],
    resolved: bool,
}

impl LoginLimiter {
    /// Starts an attempt for `email` from `address`, or says how many
    /// seconds to wait when either has used up its failures.
    pub fn begin(
        self: &Arc<Self>,
        email: &str,
        address: Option<IpAddr>,
        limits: Limits,
    ) -> Result<Attempt, u64> {
        let keys = [
            format!("email:{email}"),
            format!(
                "address:{}",
                address.map_or_else(|| "unknown".into(), |a| a.to_string())
            ),
        ];
        let caps = [limits.per_email, limits.per_address];
        let mut entries = self.entries.lock().unwrap();
        let now = Instant::now();
        let mut wait = None;
        for (key, cap) in keys.iter().zip(caps) {
            if let Some(e) = entries.get_mut(key) {
                if now.duration_since(e.since) >= limits.window && e.in_flight == 0 {
                    *e = Entry {
                        failures: 0,
                        in_flight: 0,
                        since: now,
                    };
                }
                if e.failures + e.in_flight >= cap {
                    let left = limits.window.saturating_sub(now.duration_since(e.since));
                    wait = wait.max(Some(left.as_secs().max(1)));
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        if entries.len() + 2 > MAX_ENTRIES {
            make_room(&mut entries, now, limits.window);
        }
        for key in &keys {
            entries
                .entry(key.clone())
                .or_insert(Entry {
                    failures: 0,
                    in_flight: 0,
                    since: now,
                })
                .in_flight += 1;
        }
        Ok(Attempt {
            limiter: self.clone(),
            keys,
            resolved: false,
        })
    }

    /// How many entries the table holds (tests, and the bound).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends an attempt: `Some(true)` failed, `Some(false)` succeeded, `None`
    /// neither (the server could not check it).
    fn settle(&self, keys: &[String; 2], failed: Option<bool>) {
        let mut entries = self.entries.lock().unwrap();
        for (i, key) in keys.iter().enumerate() {
            let Some(e) = entries.get_mut(key) else {
                continue;
            };
            e.in_flight = e.in_flight.saturating_sub(1);
            match failed {
                Some(true) => e.failures += 1,
                // A right password clears its email's count, not its address's.
                Some(false) if i == 0 => e.failures = 0,
                _ => {}
            }
            if e.failures == 0 && e.in_flight == 0 {
                entries.remove(key);
            }
        }
    }
}

/// Drops expired entries, then the oldest, until there is room for more.
fn make_room(entries: &mut HashMap<String, Entry>, now: Instant, window: Duration) {
    entries.retain(|_, e| e.in_flight > 0 || now.duration_since(e.since) < window);
    if entries.len() + 2 > MAX_ENTRIES {
        let mut by_age: Vec<(Instant, String)> = entries
            .iter()
            .filter(|(_, e)| e.in_flight == 0)
            .map(|(k, e)| (e.since, k.clone()))
            .collect();
        by_age.sort();
        let excess = entries.len() + 2 - MAX_ENTRIES;
        for (_, key) in by_age.into_iter().take(excess.max(MAX_ENTRIES / 10)) {
            entries.remove(&key);
        }
    }
}

impl Attempt {
    /// The password was right.
    pub fn succeeded(mut self) {
        self.resolved = true;
        self.limiter.settle(&self.keys, Some(false));
    }

    /// The password was wrong.
    pub fn failed(mut self) {
        self.resolved = true;
        self.limiter.settle(&self.keys, Some(true));
    }

    /// The server could not check it (a database error): it counts for nothing.
    pub fn abandoned(mut self) {
        self.resolved = true;
        self.limiter.settle(&self.keys, None);
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.resolved {
            self.limiter.settle(&self.keys, Some(true));
        }
    }
}

/// An email as the log may show it after a failed sign-in: its first
/// character and its domain, never the whole address.
pub fn masked(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first: String = local.chars().take(1).collect();
    let domain: String = domain.chars().take(64).collect();
    format!("{first}***@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_email: u32, per_address: u32) -> Limits {
        Limits {
            per_email,
            per_address,
            window: Duration::from_secs(60),
        }
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn failures_stop_at_the_limit_per_email_and_a_success_clears_the_email() {
        let l = Arc::new(LoginLimiter::default());
        for _ in 0..3 {
            l.begin("a@x", ip(1), limits(3, 100)).unwrap().failed();
        }
        assert!(l.begin("a@x", ip(2), limits(3, 100)).is_err(), "per email");
        assert!(
            l.begin("b@x", ip(1), limits(3, 100)).is_ok(),
            "another email"
        );
        let l = Arc::new(LoginLimiter::default());
        l.begin("a@x", ip(1), limits(3, 100)).unwrap().failed();
        l.begin("a@x", ip(1), limits(3, 100)).unwrap().succeeded();
        for _ in 0..3 {
            assert!(l.begin("a@x", ip(1), limits(3, 100)).is_ok());
        }
    }

    #[test]
    fn one_address_trying_many_emails_is_limited_too() {
        let l = Arc::new(LoginLimiter::default());
        for i in 0..5 {
            l.begin(&format!("u{i}@x"), ip(9), limits(3, 5))
                .unwrap()
                .failed();
        }
        assert!(l.begin("fresh@x", ip(9), limits(3, 5)).is_err());
        assert!(l.begin("fresh@x", ip(8), limits(3, 5)).is_ok());
    }

    #[test]
    fn attempts_under_way_count_so_parallel_ones_cannot_pass_the_limit() {
        let l = Arc::new(LoginLimiter::default());
        let held: Vec<Attempt> = (0..3)
            .map(|_| l.begin("a@x", ip(1), limits(3, 100)).unwrap())
            .collect();
        assert!(l.begin("a@x", ip(1), limits(3, 100)).is_err());
        drop(held); // unresolved: three failures
        assert!(l.begin("a@x", ip(1), limits(3, 100)).is_err());
    }

    #[test]
    fn the_table_stays_bounded_under_made_up_emails() {
        let l = Arc::new(LoginLimiter::default());
        for i in 0..(MAX_ENTRIES * 2) {
            if let Ok(a) = l.begin(&format!("x{i}@y"), None, limits(10, u32::MAX)) {
                a.failed();
            }
        }
        assert!(l.len() <= MAX_ENTRIES, "{}", l.len());
    }

    #[test]
    fn logs_see_only_a_masked_email() {
        assert_eq!(masked("dana@example.com"), "d***@example.com");
        assert_eq!(masked("nobody"), "n***@");
    }
}
