//! Time zones as the schedule rule and the reports need them: a named IANA
//! zone's UTC offset at any instant, and what follows from it (the instant a
//! local wall-clock time names, an instant's local date and time).
//!
//! Everything here is derived from one question, [`Zone::offset_at`], which
//! each build answers from its own tz database: the server from chrono-tz,
//! the browser from its own (`Intl.DateTimeFormat`). So the browser does not
//! download chrono-tz's tables (about 120 KB gzipped, an eighth of the wasm),
//! and the rule that turns local times into instants is the same code on
//! both sides, tested against chrono-tz itself for every zone it knows.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

use super::Millis;

const DAY_MS: Millis = 86_400_000;

/// A named IANA zone (cheap to copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(imp::Handle);

impl Zone {
    pub const UTC: Zone = Zone(imp::UTC);

    /// The zone `name` names, if the tz database knows it.
    pub fn named(name: &str) -> Option<Zone> {
        imp::named(name).map(Zone)
    }

    /// Seconds east of UTC in this zone at instant `at`.
    pub fn offset_at(self, at: Millis) -> i32 {
        imp::offset_at(self.0, at)
    }

    /// Instant `at` as this zone's wall-clock time, with its offset.
    pub fn at(self, at: Millis) -> Option<DateTime<FixedOffset>> {
        let offset = FixedOffset::east_opt(self.offset_at(at))?;
        Some(DateTime::from_timestamp_millis(at)?.with_timezone(&offset))
    }

    /// The earliest instant whose wall-clock time here is `local`; `None`
    /// when `local` falls in a gap (a spring-forward hour).
    fn earliest(self, local: NaiveDateTime) -> Option<Millis> {
        let wall = local.and_utc().timestamp_millis();
        // The offsets a day either side cover any one transition: each is
        // a candidate, kept when the instant it gives has that offset.
        [wall - DAY_MS, wall + DAY_MS]
            .into_iter()
            .map(|probe| self.offset_at(probe))
            .filter_map(|offset| {
                let at = wall - offset as Millis * 1000;
                (self.offset_at(at) == offset).then_some(at)
            })
            .min()
    }
}

/// The zone a display's windows are evaluated in (UTC if the name is unknown).
pub fn zone(name: &str) -> Zone {
    Zone::named(name).unwrap_or(Zone::UTC)
}

/// Whether the tz database knows `name`.
pub fn is_zone(name: &str) -> bool {
    Zone::named(name).is_some()
}

/// The instant a local wall-clock time names in `tz`: in a spring-forward
/// gap, the first instant after the gap; in a fall-back hour, the first
/// occurrence.
pub fn resolve_local(tz: Zone, local: NaiveDateTime) -> Millis {
    if let Some(t) = tz.earliest(local) {
        return t;
    }
    // In a gap: the first minute after it that exists. Gaps end on a whole
    // minute in the tz database, so this finds the transition itself.
    let mut probe = local;
    for _ in 0..(48 * 60) {
        probe += chrono::Duration::minutes(1);
        if let Some(t) = tz.earliest(probe) {
            return t;
        }
    }
    local.and_utc().timestamp_millis()
}

/// The local date of an instant in `tz`.
pub fn local_date(tz: Zone, at: Millis) -> NaiveDate {
    tz.at(at).map_or(NaiveDate::MIN, |t| t.date_naive())
}

/// An instant as RFC 3339 in `tz` (`2027-03-28T03:00:00+02:00`).
pub fn local_rfc3339(tz: Zone, at: Millis) -> String {
    tz.at(at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// An instant's wall-clock time in `tz`, `HH:MM`.
pub fn local_hm(tz: Zone, at: Millis) -> String {
    tz.at(at)
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default()
}

/// The first instant of local date `day` in `tz`.
pub fn day_start(tz: Zone, day: NaiveDate) -> Millis {
    resolve_local(tz, day.and_time(NaiveTime::MIN))
}

/// An instant as RFC 3339 in UTC (`2027-03-28T01:00:00Z`).
pub fn utc_rfc3339(at: Millis) -> String {
    local_rfc3339(Zone::UTC, at)
}

/// The server's tz database: chrono-tz.
#[cfg(feature = "ssr")]
mod imp {
    use chrono::{Offset, TimeZone};
    use chrono_tz::Tz;

    use super::Millis;

    pub type Handle = Tz;
    pub const UTC: Handle = Tz::UTC;

    pub fn named(name: &str) -> Option<Handle> {
        name.parse().ok()
    }

    pub fn offset_at(tz: Handle, at: Millis) -> i32 {
        match chrono::DateTime::from_timestamp_millis(at) {
            Some(t) => tz
                .offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
            None => 0,
        }
    }
}

/// The browser's tz database, through `Intl.DateTimeFormat`. Asking it is
/// slow (microseconds), so each zone keeps what it learnt per UTC day: the
/// offset at the day's start and, on a day the offset changes, the instant
/// it changes (found by bisection, to the second).
#[cfg(not(feature = "ssr"))]
mod imp {
    use std::{cell::RefCell, collections::HashMap};

    use super::{Millis, DAY_MS};

    /// An index into this thread's zones; 0 is UTC.
    pub type Handle = u32;
    pub const UTC: Handle = 0;

    /// What one UTC day holds: its offset at the start, and the instant and
    /// offset of a change within it, if any.
    #[derive(Clone, Copy)]
    struct Day {
        start: i32,
        change: Option<(Millis, i32)>,
    }

    struct Known {
        name: String,
        #[cfg(feature = "hydrate")]
        format: intl::ZoneFormat,
        days: HashMap<Millis, Day>,
    }

    /// `Intl.DateTimeFormat` as a function that can fail: an unknown zone
    /// is a `RangeError`, caught here rather than thrown through the wasm.
    #[cfg(feature = "hydrate")]
    mod intl {
        use wasm_bindgen::prelude::*;

        #[wasm_bindgen]
        extern "C" {
            pub type ZoneFormat;

            #[wasm_bindgen(catch, js_namespace = Intl, js_name = DateTimeFormat)]
            pub fn zone_format(
                locale: &str,
                options: &js_sys::Object,
            ) -> Result<ZoneFormat, JsValue>;

            #[wasm_bindgen(method, js_name = formatToParts)]
            pub fn format_to_parts(this: &ZoneFormat, at: f64) -> js_sys::Array;
        }
    }

    thread_local! {
        static ZONES: RefCell<Vec<Option<Known>>> = const { RefCell::new(Vec::new()) };
    }

    pub fn named(name: &str) -> Option<Handle> {
        if name == "UTC" {
            return Some(UTC);
        }
        ZONES.with_borrow_mut(|zones| {
            if zones.is_empty() {
                zones.push(None);
            }
            if let Some(i) = zones
                .iter()
                .position(|z| z.as_ref().is_some_and(|z| z.name == name))
            {
                return Some(i as Handle);
            }
            let known = learn(name)?;
            zones.push(Some(known));
            Some((zones.len() - 1) as Handle)
        })
    }

    pub fn offset_at(zone: Handle, at: Millis) -> i32 {
        if zone == UTC {
            return 0;
        }
        ZONES.with_borrow_mut(|zones| {
            let Some(Some(known)) = zones.get_mut(zone as usize) else {
                return 0;
            };
            let day_index = at.div_euclid(DAY_MS);
            let day = match known.days.get(&day_index) {
                Some(day) => *day,
                None => {
                    let day = known.learn_day(day_index);
                    known.days.insert(day_index, day);
                    day
                }
            };
            match day.change {
                Some((when, offset)) if at >= when => offset,
                _ => day.start,
            }
        })
    }

    impl Known {
        fn learn_day(&self, day: Millis) -> Day {
            let (from, to) = (day * DAY_MS, (day + 1) * DAY_MS);
            let (start, end) = (self.ask(from), self.ask(to));
            if start == end {
                return Day {
                    start,
                    change: None,
                };
            }
            // The first second with the new offset.
            let (mut lo, mut hi) = (from / 1000, to / 1000);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if self.ask(mid * 1000) == start {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            Day {
                start,
                change: Some((hi * 1000, end)),
            }
        }

        #[cfg(feature = "hydrate")]
        fn ask(&self, at: Millis) -> i32 {
            self.format
                .format_to_parts(at as f64)
                .iter()
                .find_map(|part| {
                    let kind = js_sys::Reflect::get(&part, &"type".into()).ok()?;
                    if kind.as_string()? != "timeZoneName" {
                        return None;
                    }
                    let value = js_sys::Reflect::get(&part, &"value".into()).ok()?;
                    parse_gmt_offset(&value.as_string()?)
                })
                .unwrap_or(0)
        }

        #[cfg(not(feature = "hydrate"))]
        fn ask(&self, _at: Millis) -> i32 {
            0
        }
    }

    #[cfg(feature = "hydrate")]
    fn learn(name: &str) -> Option<Known> {
        let options = js_sys::Object::new();
        for (key, value) in [("timeZone", name), ("timeZoneName", "longOffset")] {
            js_sys::Reflect::set(&options, &key.into(), &value.into()).ok()?;
        }
        Some(Known {
            name: name.to_string(),
            format: intl::zone_format("en-US", &options).ok()?,
            days: HashMap::new(),
        })
    }

    /// Without a browser (a build with neither feature) only UTC is known.
    #[cfg(not(feature = "hydrate"))]
    fn learn(_name: &str) -> Option<Known> {
        None
    }

    /// `GMT+05:30`, `GMT-3`, `GMT` (Intl's `longOffset`) in seconds east.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(super) fn parse_gmt_offset(text: &str) -> Option<i32> {
        let rest = text.strip_prefix("GMT")?;
        if rest.is_empty() {
            return Some(0);
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' | 0xE2 => -1,
            _ => return None,
        };
        let digits = rest.trim_start_matches(['+', '-', '\u{2212}']);
        let mut parts = digits.split(':').map(|p| p.parse::<i32>());
        let hours = parts.next()?.ok()?;
        let minutes = parts.next().transpose().ok()?.unwrap_or(0);
        let seconds = parts.next().transpose().ok()?.unwrap_or(0);
        Some(sign * (hours * 3600 + minutes * 60 + seconds))
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use chrono::{Datelike, Duration, TimeZone};

    use super::*;

    /// The generic rule (offsets either side, then check) agrees with
    /// chrono-tz's own local-time resolution for every zone it knows, at
    /// every half hour of the days around each offset change, 2020–2030.
    #[test]
    fn local_times_resolve_as_chrono_tz_does_in_every_zone() {
        let mut checked = 0;
        for tz in chrono_tz::TZ_VARIANTS {
            let zone = Zone::named(tz.name()).unwrap();
            let mut day = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
            let end = NaiveDate::from_ymd_opt(2030, 12, 31).unwrap();
            let mut last = zone.offset_at(day_start(zone, day));
            while day < end {
                let next = day + Duration::days(1);
                let offset =
                    zone.offset_at(next.and_time(NaiveTime::MIN).and_utc().timestamp_millis());
                if offset != last || day.ordinal() == 1 {
                    for d in [day - Duration::days(1), day, next] {
                        for half_hour in 0..48 {
                            let local =
                                d.and_time(NaiveTime::MIN) + Duration::minutes(30 * half_hour);
                            let expected = tz
                                .from_local_datetime(&local)
                                .earliest()
                                .map(|t| t.timestamp_millis());
                            assert_eq!(zone.earliest(local), expected, "{} at {local}", tz.name());
                            checked += 1;
                        }
                    }
                }
                last = offset;
                day = next;
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    #[test]
    fn instants_show_as_chrono_tz_shows_them() {
        for name in [
            "America/New_York",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "Pacific/Apia",
        ] {
            let tz: chrono_tz::Tz = name.parse().unwrap();
            let zone = zone(name);
            let mut at = 1_577_836_800_000; // 2020-01-01
            while at < 1_924_992_000_000 {
                // 2031-01-01
                let want = tz.timestamp_millis_opt(at).unwrap();
                assert_eq!(
                    local_rfc3339(zone, at),
                    want.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                assert_eq!(local_date(zone, at), want.date_naive());
                at += 3 * 3_600_000 + 17 * 60_000;
            }
        }
    }

    #[test]
    fn unknown_names_are_not_zones_and_evaluate_as_utc() {
        assert!(!is_zone("Mars/Olympus_Mons"));
        assert!(is_zone("Europe/Berlin"));
        assert_eq!(zone("nowhere"), Zone::UTC);
    }
}

#[cfg(all(test, not(feature = "ssr")))]
mod offset_text {
    #[test]
    fn intl_long_offsets_parse_to_seconds_east() {
        use super::imp::parse_gmt_offset as p;
        assert_eq!(p("GMT"), Some(0));
        assert_eq!(p("GMT+05:30"), Some(19_800));
        assert_eq!(p("GMT-03:00"), Some(-10_800));
        assert_eq!(p("GMT\u{2212}09:30"), Some(-34_200));
        assert_eq!(p("UTC"), None);
    }
}
