//! Analytics shared by the server and the browser: report rows, how a play
//! folds into hours, how a range splits into what each rollup can answer,
//! and CSV as RFC 4180 has it.

use serde::{Deserialize, Serialize};

use super::Millis;

pub const HOUR_MS: Millis = 3_600_000;
pub const DAY_MS: Millis = 24 * HOUR_MS;

/// What a report's rows are.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Content,
    Display,
    Group,
    Playlist,
    Day,
    Hour,
}

impl GroupBy {
    pub const ALL: [GroupBy; 6] = [
        Self::Content,
        Self::Display,
        Self::Group,
        Self::Playlist,
        Self::Day,
        Self::Hour,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Content => "content",
            Self::Display => "display",
            Self::Group => "group",
            Self::Playlist => "playlist",
            Self::Day => "day",
            Self::Hour => "hour",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Buckets of time rather than things.
    pub fn is_time(self) -> bool {
        matches!(self, Self::Day | Self::Hour)
    }
}

/// One row of a proof-of-play report.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayRow {
    /// The id (content, display, group, playlist; empty for none), or the
    /// bucket's local start (`2027-03-28`, `2027-03-28T14:00`).
    pub key: String,
    /// The name as it was when played (the latest, when it changed).
    pub label: String,
    pub plays: i64,
    pub seconds: f64,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlayTotals {
    pub plays: i64,
    pub seconds: f64,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlaysReport {
    pub rows: Vec<PlayRow>,
    pub total: PlayTotals,
}

/// Plays of one display, content, playlist and group in one hour, as one
/// write stored them (`PlaysRecorded`).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayTally {
    pub hour: Millis,
    pub device_id: String,
    /// `""` for none, as in reports' keys.
    pub group_id: String,
    pub content_id: String,
    pub playlist_id: String,
    pub plays: i64,
    pub ms: i64,
}

/// One row of an uptime report. Up is online or idle (connected and
/// healthy, with or without something to play); offline and error are not.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UptimeRow {
    pub key: String,
    pub label: String,
    pub online_seconds: i64,
    pub idle_seconds: i64,
    pub offline_seconds: i64,
    pub error_seconds: i64,
    /// Of the time the display was known (tracked) in the range.
    pub uptime_percent: f64,
}

impl UptimeRow {
    pub fn percent(online: i64, idle: i64, offline: i64, error: i64) -> f64 {
        let known = online + idle + offline + error;
        if known == 0 {
            0.0
        } else {
            ((online + idle) as f64 * 1000.0 / known as f64).round() / 10.0
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UptimeReport {
    /// Worst first.
    pub rows: Vec<UptimeRow>,
}

/// The hours a play of `duration_ms` from `start` covers, with how long it
/// played in each: `(hour start, ms)`. A play counts once, in the hour it
/// starts; its time is split at hour boundaries.
pub fn split_by_hour(start: Millis, duration_ms: i64) -> impl Iterator<Item = (Millis, i64)> {
    let end = start + duration_ms.max(0);
    let mut at = Some(start);
    std::iter::from_fn(move || {
        let a = at?;
        let hour = a.div_euclid(HOUR_MS) * HOUR_MS;
        let next = (hour + HOUR_MS).min(end);
        at = (next < end).then_some(next);
        Some((hour, next - a))
    })
}

/// Which rollup answers which part of a range, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grain {
    /// Raw plays (a partial hour at an edge).
    Raw,
    /// Hourly rows.
    Hour,
    /// Daily rows (whole UTC days).
    Day,
    /// Weekly rows: seven whole UTC days from a multiple of seven days
    /// after the epoch (so a week's start is plain arithmetic in SQL too).
    Week,
}

/// The length of a week row.
pub const WEEK_MS: Millis = 7 * DAY_MS;

impl Grain {
    fn finer(self) -> Grain {
        match self {
            Grain::Raw | Grain::Hour => Grain::Raw,
            Grain::Day => Grain::Hour,
            Grain::Week => Grain::Day,
        }
    }
    fn unit(self) -> Millis {
        match self {
            Grain::Raw => 1,
            Grain::Hour => HOUR_MS,
            Grain::Day => DAY_MS,
            Grain::Week => WEEK_MS,
        }
    }
    /// The start of the row of this grain that holds `t`.
    pub fn start(self, t: Millis) -> Millis {
        t.div_euclid(self.unit()) * self.unit()
    }
}

/// Splits `[from, to)` into pieces each answered by one grain, no
/// coarser than `coarsest`: raw at the partial hours of its edges, then
/// hours up to whole UTC days, days up to whole weeks, weeks between (a
/// report bucketed by local hours, or by days of a zone that is not UTC,
/// cannot read UTC days; one bucketed by day cannot read weeks). Pieces are
/// in order and cover the range exactly.
pub fn cover(from: Millis, to: Millis, coarsest: Grain) -> Vec<(Grain, Millis, Millis)> {
    let mut out = Vec::new();
    cover_into(&mut out, from, to, coarsest);
    out
}

fn cover_into(out: &mut Vec<(Grain, Millis, Millis)>, from: Millis, to: Millis, grain: Grain) {
    if to <= from {
        return;
    }
    if grain == Grain::Raw {
        out.push((Grain::Raw, from, to));
        return;
    }
    let unit = grain.unit();
    let (a, b) = (grain.start(from + unit - 1), grain.start(to));
    if a >= b {
        return cover_into(out, from, to, grain.finer());
    }
    cover_into(out, from, a, grain.finer());
    out.push((grain, a, b));
    cover_into(out, b, to, grain.finer());
}

/// A CSV document (RFC 4180): CRLF line ends; a field with a comma, a
/// quote, CR or LF is quoted, its quotes doubled.
pub fn csv<R, F>(header: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<str>,
{
    let mut out = String::new();
    let mut line = |fields: &mut dyn Iterator<Item = &str>| {
        for (i, f) in fields.enumerate() {
            if i > 0 {
                out.push(',');
            }
            if f.contains([',', '"', '\r', '\n']) {
                out.push('"');
                out.push_str(&f.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(f);
            }
        }
        out.push_str("\r\n");
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(|f| f.as_ref()));
    }
    out
}

/// 12345 → "12,345".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Seconds as the tables show them: "45 s", "12 min", "3.5 h".
pub fn human_seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{} s", s.round() as i64)
    } else if s < 3600.0 {
        format!("{} min", (s / 60.0).round() as i64)
    } else {
        let h = s / 3600.0;
        if h < 100.0 {
            format!("{:.1} h", h)
        } else {
            format!("{} h", h.round() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_play_inside_an_hour_is_one_piece() {
        let pieces: Vec<_> = split_by_hour(HOUR_MS * 5 + 1000, 30_000).collect();
        assert_eq!(pieces, vec![(HOUR_MS * 5, 30_000)]);
    }

    #[test]
    fn a_play_across_hour_boundaries_is_split() {
        // 10:50 for 80 minutes: 10 min, 60 min, 10 min.
        let start = HOUR_MS * 10 + 50 * 60_000;
        let pieces: Vec<_> = split_by_hour(start, 80 * 60_000).collect();
        assert_eq!(
            pieces,
            vec![
                (HOUR_MS * 10, 10 * 60_000),
                (HOUR_MS * 11, 60 * 60_000),
                (HOUR_MS * 12, 10 * 60_000),
            ]
        );
        // Ending exactly on the boundary adds no empty piece.
        let pieces: Vec<_> = split_by_hour(HOUR_MS * 10 + 50 * 60_000, 10 * 60_000).collect();
        assert_eq!(pieces, vec![(HOUR_MS * 10, 10 * 60_000)]);
    }

    #[test]
    fn a_zero_length_play_still_counts_in_its_hour() {
        let pieces: Vec<_> = split_by_hour(HOUR_MS * 3 + 5, 0).collect();
        assert_eq!(pieces, vec![(HOUR_MS * 3, 0)]);
    }

    #[test]
    fn split_pieces_sum_to_the_duration_for_many_plays() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let start = (seed % (DAY_MS as u64 * 400)) as i64;
            let duration = (seed >> 20) as i64 % (5 * HOUR_MS);
            let pieces: Vec<_> = split_by_hour(start, duration).collect();
            assert_eq!(pieces.iter().map(|p| p.1).sum::<i64>(), duration);
            assert_eq!(pieces[0].0, start - start.rem_euclid(HOUR_MS));
            assert!(pieces.windows(2).all(|w| w[1].0 == w[0].0 + HOUR_MS));
            assert!(pieces.iter().all(|p| p.1 <= HOUR_MS));
        }
    }

    #[test]
    fn a_range_is_covered_exactly_by_its_grains() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let from = (seed % (DAY_MS as u64 * 50)) as i64;
            let to = from + (seed >> 16) as i64 % (DAY_MS * 9);
            for coarsest in [Grain::Hour, Grain::Day, Grain::Week] {
                let pieces = cover(from, to, coarsest);
                let mut at = from;
                for (grain, a, b) in &pieces {
                    assert_eq!(*a, at);
                    assert!(b > a);
                    assert!(*grain <= coarsest);
                    match grain {
                        Grain::Hour => assert!(a % HOUR_MS == 0 && b % HOUR_MS == 0),
                        Grain::Day => assert!(a % DAY_MS == 0 && b % DAY_MS == 0),
                        Grain::Week => assert!(a % WEEK_MS == 0 && b % WEEK_MS == 0),
                        Grain::Raw => assert!(b - a < HOUR_MS * 2),
                    }
                    at = *b;
                }
                assert_eq!(at, to.max(from));
                // Each grain is used only where a coarser one cannot be.
                let weeks = pieces.iter().filter(|p| p.0 == Grain::Week).count();
                assert!(weeks <= 1);
                if coarsest == Grain::Week && Grain::Week.start(from + WEEK_MS - 1) + WEEK_MS <= to
                {
                    assert_eq!(weeks, 1);
                }
            }
        }
        // Whole UTC days read days; a zone's midnight at :30 reads raw half hours.
        let d = DAY_MS * 100;
        assert_eq!(
            cover(d, d + 2 * DAY_MS, Grain::Week),
            vec![(Grain::Day, d, d + 2 * DAY_MS)]
        );
        // A year reads weeks between days at its ends (day 98 is a week's start).
        let w = 98 * DAY_MS;
        assert_eq!(
            cover(w - DAY_MS, w + 52 * WEEK_MS + 2 * DAY_MS, Grain::Week),
            vec![
                (Grain::Day, w - DAY_MS, w),
                (Grain::Week, w, w + 52 * WEEK_MS),
                (Grain::Day, w + 52 * WEEK_MS, w + 52 * WEEK_MS + 2 * DAY_MS),
            ]
        );
        let half = 30 * 60_000;
        assert_eq!(
            cover(d - half, d + DAY_MS - half, Grain::Week),
            vec![
                (Grain::Raw, d - half, d),
                (Grain::Hour, d, d + DAY_MS - HOUR_MS),
                (Grain::Raw, d + DAY_MS - HOUR_MS, d + DAY_MS - half),
            ]
        );
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let out = csv(
            &["key", "label", "plays"],
            [
                vec!["a", "Lobby, north", "3"],
                vec!["b", "The \"big\" screen", "1"],
                vec!["c", "two\nlines", "0"],
                vec!["d", "Café ☕", "2"],
            ],
        );
        assert_eq!(
            out,
            "key,label,plays\r\na,\"Lobby, north\",3\r\nb,\"The \"\"big\"\" screen\",1\r\nc,\"two\nlines\",0\r\nd,Café ☕,2\r\n"
        );
    }

    #[test]
    fn uptime_is_up_time_over_known_time() {
        assert_eq!(UptimeRow::percent(90, 9, 1, 0), 99.0);
        assert_eq!(UptimeRow::percent(0, 0, 0, 0), 0.0);
        assert_eq!(UptimeRow::percent(2, 0, 1, 0), 66.7);
    }
}
