//! A circuit breaker in front of the server: after `failure_threshold` transient
//! failures in a row it opens and lets nothing through for `open_ms`; then it is
//! half-open and lets one trial through at a time; `success_threshold` trial
//! successes in a row close it, any trial failure opens it again. While it is
//! open, edits wait in the outbox and the console says it is offline.

/// Defaults: 5 failures open it, for 10 s; 2 successes close it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub open_ms: f64,
    pub success_threshold: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_ms: 10_000.0,
            success_threshold: 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakerState {
    Closed {
        failures: u32,
    },
    Open {
        until: f64,
    },
    HalfOpen {
        successes: u32,
        trial_in_flight: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breaker {
    pub config: BreakerConfig,
    pub state: BreakerState,
}

impl Default for Breaker {
    fn default() -> Self {
        Self::new(BreakerConfig::default())
    }
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: BreakerState::Closed { failures: 0 },
        }
    }

    /// Whether a request may go out now; in half-open, at most one at a time.
    pub fn allow(&mut self, now: f64) -> bool {
        match self.state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen {
                    successes: 0,
                    trial_in_flight: true,
                };
                true
            }
            BreakerState::Open { .. } => false,
            BreakerState::HalfOpen {
                successes,
                trial_in_flight: false,
            } => {
                self.state = BreakerState::HalfOpen {
                    successes,
                    trial_in_flight: true,
                };
                true
            }
            BreakerState::HalfOpen { .. } => false,
        }
    }

    /// Milliseconds until a request may go out again (0 when it may now).
    pub fn wait_ms(&self, now: f64) -> f64 {
        match self.state {
            BreakerState::Open { until } => (until - now).max(0.0),
            _ => 0.0,
        }
    }

    /// The operator asked to retry now: let one trial through at once.
    pub fn force_trial(&mut self) {
        if let BreakerState::Open { .. } = self.state {
            self.state = BreakerState::HalfOpen {
                successes: 0,
                trial_in_flight: false,
            };
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.state, BreakerState::Open { .. })
    }

    /// Any answer from the server (a refusal too) counts: it is reachable.
    pub fn record_success(&mut self) {
        self.state = match self.state {
            BreakerState::HalfOpen { successes, .. }
                if successes + 1 < self.config.success_threshold =>
            {
                BreakerState::HalfOpen {
                    successes: successes + 1,
                    trial_in_flight: false,
                }
            }
            _ => BreakerState::Closed { failures: 0 },
        };
    }

    /// A transient failure: network, timeout, 5xx.
    pub fn record_failure(&mut self, now: f64) {
        let open = BreakerState::Open {
            until: now + self.config.open_ms,
        };
        self.state = match self.state {
            BreakerState::Closed { failures } if failures + 1 < self.config.failure_threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            _ => open,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            failure_threshold: 3,
            open_ms: 1_000.0,
            success_threshold: 2,
        })
    }

    #[test]
    fn it_opens_after_the_threshold_of_failures_in_a_row() {
        let mut b = breaker();
        b.record_failure(0.0);
        b.record_failure(0.0);
        assert!(b.allow(0.0), "still closed after 2 of 3");
        b.record_failure(0.0);
        assert!(b.is_open());
        assert!(!b.allow(999.0));
        assert_eq!(b.wait_ms(400.0), 600.0);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let mut b = breaker();
        b.record_failure(0.0);
        b.record_failure(0.0);
        b.record_success();
        b.record_failure(0.0);
        b.record_failure(0.0);
        assert!(!b.is_open());
    }

    #[test]
    fn after_the_timeout_it_lets_one_trial_through_at_a_time() {
        let mut b = breaker();
        for _ in 0..3 {
            b.record_failure(0.0);
        }
        assert!(b.allow(1_000.0), "half-open: the first trial goes");
        assert!(!b.allow(1_000.0), "only one trial in flight");
        b.record_success();
        assert!(matches!(
            b.state,
            BreakerState::HalfOpen { successes: 1, .. }
        ));
        assert!(b.allow(1_001.0));
        b.record_success();
        assert_eq!(b.state, BreakerState::Closed { failures: 0 });
    }

    #[test]
    fn a_forced_trial_skips_the_rest_of_the_open_time() {
        let mut b = breaker();
        for _ in 0..3 {
            b.record_failure(0.0);
        }
        b.force_trial();
        assert!(b.allow(1.0));
        assert!(!b.allow(1.0));
    }

    #[test]
    fn a_failed_trial_opens_it_again() {
        let mut b = breaker();
        for _ in 0..3 {
            b.record_failure(0.0);
        }
        assert!(b.allow(1_000.0));
        b.record_failure(1_000.0);
        assert_eq!(b.state, BreakerState::Open { until: 2_000.0 });
        assert!(!b.allow(1_500.0));
    }
}
