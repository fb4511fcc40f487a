//! Exponential backoff with full jitter: the delay before retry `n` is a uniform
//! draw from `[0, min(cap, base * 2^n))`. Full jitter spreads a fleet of clients
//! that failed together, so they do not come back together.

/// Defaults: base 500 ms, cap 30 s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base_ms: f64,
    pub cap_ms: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base_ms: 500.0,
            cap_ms: 30_000.0,
        }
    }
}

impl Backoff {
    /// The upper bound of the delay before retry `attempt` (0-based).
    pub fn ceiling_ms(&self, attempt: u32) -> f64 {
        let exp = 2f64.powi(attempt.min(62) as i32);
        (self.base_ms * exp).min(self.cap_ms)
    }

    /// The delay for `attempt`, given a uniform random number in `[0, 1)`.
    pub fn delay_ms(&self, attempt: u32, unit_random: f64) -> f64 {
        self.ceiling_ms(attempt) * unit_random.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_stops_at_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.ceiling_ms(0), 500.0);
        assert_eq!(b.ceiling_ms(1), 1_000.0);
        assert_eq!(b.ceiling_ms(5), 16_000.0);
        assert_eq!(b.ceiling_ms(6), 30_000.0);
        assert_eq!(b.ceiling_ms(1_000), 30_000.0);
    }

    #[test]
    fn delay_stays_within_zero_and_the_ceiling() {
        let b = Backoff::default();
        for attempt in 0..20 {
            for r in [0.0, 0.25, 0.5, 0.999_999, 1.0, -3.0, 7.0] {
                let d = b.delay_ms(attempt, r);
                assert!(
                    (0.0..=b.ceiling_ms(attempt)).contains(&d),
                    "{attempt} {r} {d}"
                );
            }
        }
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_range() {
        let b = Backoff::default();
        let draws: Vec<f64> = (0..100).map(|i| b.delay_ms(4, i as f64 / 100.0)).collect();
        let low = draws.iter().filter(|d| **d < 2_000.0).count();
        let high = draws.iter().filter(|d| **d >= 6_000.0).count();
        assert!(low > 20 && high > 20, "low {low} high {high}");
    }
}
