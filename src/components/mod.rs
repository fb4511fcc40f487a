//! Shared UI pieces.

pub mod activity;
pub mod chart;
pub mod dialog;
pub mod empty_table;
pub mod fleet;
pub mod nav;
pub mod status_badge;
pub mod sync_indicator;
pub mod toasts;
pub mod uploader;

/// "12 s ago", "3 min ago", "2 h ago", "4 d ago" from a millisecond instant.
pub fn ago(then: Option<i64>, now: f64) -> String {
    let Some(then) = then else {
        return "never".into();
    };
    let secs = ((now - then as f64) / 1000.0).max(0.0) as i64;
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3_599 => format!("{} min ago", secs / 60),
        3_600..=86_399 => format!("{} h ago", secs / 3_600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ago_picks_the_largest_whole_unit() {
        let now = 10_000_000_000.0;
        assert_eq!(super::ago(None, now), "never");
        assert_eq!(super::ago(Some(10_000_000_000 - 5_000), now), "5 s ago");
        assert_eq!(super::ago(Some(10_000_000_000 - 120_000), now), "2 min ago");
        assert_eq!(super::ago(Some(10_000_000_000 - 7_200_000), now), "2 h ago");
        assert_eq!(
            super::ago(Some(10_000_000_000 - 172_800_000), now),
            "2 d ago"
        );
    }
}
