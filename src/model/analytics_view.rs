//! What the Analytics page asks for and gets: a range in the operator's
//! zone with filters, every report it shows read at one stream position,
//! and how a `PlaysRecorded` event after that position adds to them, so the
//! counters grow live without a refetch and count nothing twice.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{
    day_start, local_date, zone, GroupBy, Millis, PlayRow, PlayTally, PlaysReport, UptimeReport,
    Zone,
};

/// The longest custom range the page offers, in days.
pub const MAX_PAGE_DAYS: i64 = 366;

/// The page's range and filters (its URL holds the same).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnalyticsQuery {
    /// `today`, `7d`, `30d` or `custom` (then `start` and `end`).
    pub range: String,
    /// First and last local day of a custom range (inclusive).
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    /// The operator's IANA zone; days start at its midnight.
    pub tz: String,
    pub device_id: Option<String>,
    pub group_id: Option<String>,
    pub content_id: Option<String>,
    pub playlist_id: Option<String>,
}

/// The range a query names, as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// `[from, to)`: local midnight of `first` to local midnight after `last`.
    pub from: Millis,
    pub to: Millis,
}

impl AnalyticsQuery {
    /// The local days the range covers, seen at `now`, or why it cannot be read.
    pub fn span(&self, now: Millis) -> Result<Span, String> {
        let tz =
            Zone::named(&self.tz).ok_or_else(|| format!("Unknown time zone '{}'.", self.tz))?;
        let today = local_date(tz, now);
        let (first, last) = match self.range.as_str() {
            "" | "today" => (today, today),
            "7d" => (today - Duration::days(6), today),
            "30d" => (today - Duration::days(29), today),
            "custom" => match (self.start, self.end) {
                (Some(a), Some(b)) if a > b => {
                    return Err("The range ends before it starts.".into())
                }
                (Some(a), Some(b)) if (b - a).num_days() >= MAX_PAGE_DAYS => {
                    return Err(format!("A range covers at most {MAX_PAGE_DAYS} days."))
                }
                (Some(a), Some(b)) => (a, b),
                _ => return Err("A custom range needs a first and a last day.".into()),
            },
            other => {
                return Err(format!(
                    "Unknown range '{other}': today, 7d, 30d or custom."
                ))
            }
        };
        let after = last.succ_opt().ok_or("The range ends too late.")?;
        Ok(Span {
            first,
            last,
            from: day_start(tz, first),
            to: day_start(tz, after),
        })
    }

    /// Whether a tally passes the filters (the range is checked apart).
    pub fn admits(&self, t: &PlayTally) -> bool {
        let ok = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        ok(&self.device_id, &t.device_id)
            && ok(&self.group_id, &t.group_id)
            && ok(&self.content_id, &t.content_id)
            && ok(&self.playlist_id, &t.playlist_id)
    }
}

/// A stretch of one status on a display's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusSpan {
    /// `online`, `idle`, `offline` or `error`.
    pub status: String,
    pub from: Millis,
    pub to: Millis,
}

/// Every report the page shows, read in one snapshot at stream position
/// `seq`: the events after it are what it does not hold yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsView {
    pub query: AnalyticsQuery,
    pub from: Millis,
    pub to: Millis,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub epoch: String,
    pub seq: i64,
    pub by_content: PlaysReport,
    pub by_display: PlaysReport,
    pub by_group: PlaysReport,
    pub by_playlist: PlaysReport,
    pub by_day: PlaysReport,
    /// Worst first.
    pub uptime_by_display: UptimeReport,
    pub uptime_by_group: UptimeReport,
    /// Each display's statuses over the range, keyed by display id, in id order.
    pub timelines: Vec<(String, Vec<StatusSpan>)>,
}

impl AnalyticsView {
    /// Adds the tallies of the write at `seq` (one `PlaysRecorded` event):
    /// those in the range that pass the filters. A write at or before the
    /// view's position is in it already and changes nothing. `label` names a
    /// key the view has no row for yet. Returns whether anything changed.
    pub fn add(
        &mut self,
        seq: i64,
        tallies: &[PlayTally],
        label: impl Fn(GroupBy, &str) -> String,
    ) -> bool {
        if seq <= self.seq {
            return false;
        }
        self.seq = seq;
        let tz = zone(&self.query.tz);
        let mut changed = false;
        for t in tallies
            .iter()
            .filter(|t| t.hour >= self.from && t.hour < self.to && self.query.admits(t))
        {
            let seconds = t.ms as f64 / 1000.0;
            let day = local_date(tz, t.hour).to_string();
            for (report, by, key) in [
                (&mut self.by_content, GroupBy::Content, &t.content_id),
                (&mut self.by_display, GroupBy::Display, &t.device_id),
                (&mut self.by_group, GroupBy::Group, &t.group_id),
                (&mut self.by_playlist, GroupBy::Playlist, &t.playlist_id),
                (&mut self.by_day, GroupBy::Day, &day),
            ] {
                add_to(report, key, t.plays, seconds, || label(by, key));
            }
            changed = true;
        }
        for r in [
            &mut self.by_content,
            &mut self.by_display,
            &mut self.by_group,
            &mut self.by_playlist,
        ] {
            super::order::sort_by(&mut r.rows, |a, b| {
                b.plays.cmp(&a.plays).then(a.label.cmp(&b.label))
            });
        }
        changed
    }
}

fn add_to(
    report: &mut PlaysReport,
    key: &str,
    plays: i64,
    seconds: f64,
    label: impl FnOnce() -> String,
) {
    report.total.plays += plays;
    report.total.seconds += seconds;
    match report.rows.iter_mut().find(|r| r.key == key) {
        Some(row) => {
            row.plays += plays;
            row.seconds += seconds;
        }
        None => report.rows.push(PlayRow {
            key: key.to_string(),
            label: label(),
            plays,
            seconds,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PlayTotals, HOUR_MS};

    fn query(range: &str, tz: &str) -> AnalyticsQuery {
        AnalyticsQuery {
            range: range.into(),
            tz: tz.into(),
            ..Default::default()
        }
    }

    // 2027-03-28 12:00 UTC: the day Berlin springs forward.
    const NOON: Millis = 1_806_235_200_000;

    #[test]
    fn ranges_are_whole_local_days_ending_today() {
        let s = query("today", "UTC").span(NOON).unwrap();
        assert_eq!((s.to - s.from), 24 * HOUR_MS);
        assert!(s.from <= NOON && NOON < s.to);
        let s = query("7d", "Europe/Berlin").span(NOON).unwrap();
        assert_eq!(s.last.to_string(), "2027-03-28");
        assert_eq!(s.first.to_string(), "2027-03-22");
        // Seven days, one of them 23 hours long.
        assert_eq!(s.to - s.from, 7 * 24 * HOUR_MS - HOUR_MS);
        assert_eq!(
            query("30d", "UTC").span(NOON).unwrap().first.to_string(),
            "2027-02-27"
        );
    }

    #[test]
    fn bad_ranges_say_why() {
        assert!(query("today", "Mars/Olympus")
            .span(NOON)
            .unwrap_err()
            .contains("time zone"));
        assert!(query("week", "UTC")
            .span(NOON)
            .unwrap_err()
            .contains("Unknown range"));
        assert!(query("custom", "UTC").span(NOON).is_err());
        let mut q = query("custom", "UTC");
        q.start = NaiveDate::from_ymd_opt(2027, 3, 2);
        q.end = NaiveDate::from_ymd_opt(2027, 3, 1);
        assert!(q.span(NOON).unwrap_err().contains("before"));
        q.end = NaiveDate::from_ymd_opt(2028, 3, 2);
        assert!(q.span(NOON).unwrap_err().contains("at most"));
        q.end = NaiveDate::from_ymd_opt(2027, 3, 2);
        let s = q.span(NOON).unwrap();
        assert_eq!(s.to - s.from, 24 * HOUR_MS);
    }

    fn tally(hour: Millis, device: &str, content: &str, plays: i64) -> PlayTally {
        PlayTally {
            hour,
            device_id: device.into(),
            group_id: "g".into(),
            content_id: content.into(),
            playlist_id: "p".into(),
            plays,
            ms: plays * 10_000,
        }
    }

    fn view(q: AnalyticsQuery) -> AnalyticsView {
        let s = q.span(NOON).unwrap();
        let day = |d: NaiveDate| PlayRow {
            key: d.to_string(),
            label: d.to_string(),
            plays: 0,
            seconds: 0.0,
        };
        AnalyticsView {
            from: s.from,
            to: s.to,
            first: s.first,
            last: s.last,
            epoch: "e".into(),
            seq: 10,
            by_content: PlaysReport {
                rows: vec![PlayRow {
                    key: "c1".into(),
                    label: "Menu".into(),
                    plays: 3,
                    seconds: 30.0,
                }],
                total: PlayTotals {
                    plays: 3,
                    seconds: 30.0,
                },
            },
            by_display: PlaysReport::default(),
            by_group: PlaysReport::default(),
            by_playlist: PlaysReport::default(),
            by_day: PlaysReport {
                rows: s
                    .first
                    .iter_days()
                    .take_while(|d| *d <= s.last)
                    .map(day)
                    .collect(),
                total: PlayTotals::default(),
            },
            uptime_by_display: UptimeReport::default(),
            uptime_by_group: UptimeReport::default(),
            timelines: vec![],
            query: q,
        }
    }

    #[test]
    fn later_writes_add_to_every_report_once() {
        let mut v = view(query("7d", "Europe/Berlin"));
        let hour = NOON - NOON % HOUR_MS;
        let tallies = [tally(hour, "d1", "c1", 2), tally(hour, "d1", "c2", 1)];
        assert!(
            !v.add(10, &tallies, |_, k| k.to_uppercase()),
            "already in the view"
        );
        assert!(v.add(11, &tallies, |_, k| k.to_uppercase()));
        assert!(
            !v.add(11, &tallies, |_, k| k.to_uppercase()),
            "the same write twice"
        );
        assert_eq!(v.by_content.total.plays, 3 + 3);
        assert_eq!(v.by_content.rows[0].key, "c1");
        assert_eq!(v.by_content.rows[0].plays, 5);
        assert_eq!(v.by_content.rows[1].label, "C2");
        assert_eq!(v.by_display.rows[0].plays, 3);
        assert_eq!(v.by_display.rows[0].seconds, 30.0);
        let today = v.by_day.rows.last().unwrap();
        assert_eq!((today.key.as_str(), today.plays), ("2027-03-28", 3));
        assert_eq!(v.by_day.rows.len(), 7);
    }

    #[test]
    fn writes_outside_the_range_or_the_filters_change_nothing() {
        let mut q = query("today", "UTC");
        q.content_id = Some("c1".into());
        let mut v = view(q);
        let before = v.clone();
        let early = v.from - HOUR_MS;
        assert!(!v.add(11, &[tally(early, "d1", "c1", 1)], |_, k| k.into()));
        assert!(!v.add(12, &[tally(v.from, "d1", "c9", 1)], |_, k| k.into()));
        assert_eq!(v.by_content, before.by_content);
        assert_eq!(v.seq, 12);
        assert!(v.add(13, &[tally(v.from, "d1", "c1", 1)], |_, k| k.into()));
        assert_eq!(v.by_content.total.plays, 4);
    }
}
