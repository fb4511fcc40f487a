//! Schedules, dayparts and takeovers, and the one rule that decides what a
//! display plays: [`timeline`]. The same function runs on the server (the
//! timeline endpoint, the manifest's next 48 hours) and in the browser (the
//! Schedules page's preview and week view), so what the page shows is what
//! the screens do.
//!
//! Instants are UTC milliseconds. Windows are local wall-clock times in the
//! display's own IANA zone, resolved with the tz database: a time that falls
//! in a spring-forward gap is the first instant after the gap; a time that
//! occurs twice in a fall-back hour is its first occurrence.

use std::{cmp::Ordering, collections::BinaryHeap, fmt};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::{
    zone::{local_date, resolve_local, zone, Zone},
    Millis,
};

/// A day of the week, as the REST API spells it (`"mon"` … `"sun"`).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Self::Mon,
        Self::Tue,
        Self::Wed,
        Self::Thu,
        Self::Fri,
        Self::Sat,
        Self::Sun,
    ];
    pub fn of(date: NaiveDate) -> Self {
        Self::ALL[date.weekday().num_days_from_monday() as usize]
    }
    pub fn short(self) -> &'static str {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self as usize]
    }
    pub fn as_str(self) -> &'static str {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][self as usize]
    }
}

/// On which days a schedule's window opens.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "every", rename_all = "snake_case")]
pub enum Recurrence {
    /// Every day of the date range.
    Day,
    /// The chosen weekdays of every week.
    Week { weekdays: Vec<Weekday> },
    /// Monthly: on day `day` of the month (a month without that day is
    /// skipped), or on the `nth` (1–5, or -1 for the last) `weekday`.
    Month {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        day: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nth: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weekday: Option<Weekday>,
    },
}

impl Recurrence {
    /// Whether the window opens on `date`.
    pub fn occurs_on(&self, date: NaiveDate) -> bool {
        match self {
            Recurrence::Day => true,
            Recurrence::Week { weekdays } => weekdays.contains(&Weekday::of(date)),
            Recurrence::Month {
                day: Some(day),
                nth: None,
                weekday: None,
            } => date.day() == *day,
            Recurrence::Month {
                day: None,
                nth: Some(nth),
                weekday: Some(weekday),
            } => {
                if Weekday::of(date) != *weekday {
                    return false;
                }
                if *nth > 0 {
                    (date.day() as i32 - 1) / 7 + 1 == *nth
                } else {
                    // The last: a week later is in the next month.
                    (date + Duration::days(7)).month() != date.month()
                }
            }
            Recurrence::Month { .. } => false,
        }
    }

    pub fn check(&self) -> Result<(), String> {
        match self {
            Recurrence::Day => Ok(()),
            Recurrence::Week { weekdays } if weekdays.is_empty() => {
                Err("A weekly schedule needs at least one weekday.".into())
            }
            Recurrence::Week { .. } => Ok(()),
            Recurrence::Month {
                day: Some(day),
                nth: None,
                weekday: None,
            } => {
                if (1..=31).contains(day) {
                    Ok(())
                } else {
                    Err(format!("A day of the month is 1 to 31, not {day}."))
                }
            }
            Recurrence::Month {
                day: None,
                nth: Some(nth),
                weekday: Some(_),
            } => {
                if (1..=5).contains(nth) || *nth == -1 {
                    Ok(())
                } else {
                    Err(format!(
                        "The nth weekday of a month is 1 to 5, or -1 for the last; not {nth}."
                    ))
                }
            }
            Recurrence::Month { .. } => Err(
                "A monthly schedule has either \"day\" (1–31) or both \"nth\" and \"weekday\"."
                    .into(),
            ),
        }
    }

    /// "Every day", "Mon, Fri", "Monthly on the 15th", "Second Tuesday".
    pub fn describe(&self) -> String {
        match self {
            Recurrence::Day => "Every day".into(),
            Recurrence::Week { weekdays } => {
                let mut days = weekdays.clone();
                super::order::sort_by(&mut days, Ord::cmp);
                days.dedup();
                if days.len() == 7 {
                    "Every day".into()
                } else if days == Weekday::ALL[..5] {
                    "Weekdays".into()
                } else if days == Weekday::ALL[5..] {
                    "Weekends".into()
                } else {
                    days.iter()
                        .map(|d| d.short())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            }
            Recurrence::Month {
                day: Some(day),
                nth: None,
                ..
            } => format!("Monthly on day {day}"),
            Recurrence::Month {
                nth: Some(nth),
                weekday: Some(weekday),
                ..
            } => {
                let which = match nth {
                    1 => "First",
                    2 => "Second",
                    3 => "Third",
                    4 => "Fourth",
                    5 => "Fifth",
                    _ => "Last",
                };
                format!("{which} {} of the month", weekday.short())
            }
            Recurrence::Month { .. } => "Monthly".into(),
        }
    }
}

/// A local wall-clock time, minutes after midnight, written `"HH:MM"`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(value_type = String, example = "06:00"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeOfDay(pub u16);

impl TimeOfDay {
    pub fn hm(h: u16, m: u16) -> Self {
        Self(h * 60 + m)
    }
    pub fn minutes(self) -> u16 {
        self.0
    }
    fn naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(u32::from(self.0 / 60), u32::from(self.0 % 60), 0)
            .unwrap_or(NaiveTime::MIN)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl std::str::FromStr for TimeOfDay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("“{s}” is not a time of day; write it as HH:MM, 00:00 to 23:59.");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(Self::hm(h, m))
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A daily window in the display's local time. An end before the start runs
/// across midnight; the window belongs to the day it starts on.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

impl Window {
    pub fn check(&self) -> Result<(), String> {
        if self.start == self.end {
            return Err(
                "A window's start and end must differ (leave the window out for all day).".into(),
            );
        }
        Ok(())
    }
    pub fn overnight(&self) -> bool {
        self.end < self.start
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.start, self.end)
    }
}

/// A named window to pick instead of typing one ("Breakfast 06:00–10:30").
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Daypart {
    pub id: String,
    pub name: String,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
    #[serde(default)]
    pub version: i64,
}

impl Daypart {
    pub fn window(&self) -> Window {
        Window {
            start: self.start,
            end: self.end,
        }
    }
}

fn check_name(name: &str, what: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("A {what} needs a name."));
    }
    let chars = name.chars().count();
    if chars > 100 {
        return Err(format!(
            "A {what} name can be at most 100 characters; this one has {chars}."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("A {what} name cannot contain control characters."));
    }
    Ok(name.to_string())
}

pub fn validate_daypart(name: &str, start: TimeOfDay, end: TimeOfDay) -> Result<String, String> {
    let name = check_name(name, "daypart")?;
    Window { start, end }.check()?;
    Ok(name)
}

pub fn validate_takeover_name(name: &str) -> Result<String, String> {
    check_name(name, "takeover")
}

/// What an operator sets on a schedule (everything but its id and version).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    pub name: String,
    pub playlist_id: String,
    /// The display it is for; or
    #[serde(default)]
    pub device_id: Option<String>,
    /// the group it is for (exactly one of the two).
    #[serde(default)]
    pub group_id: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = Date))]
    pub starts_on: NaiveDate,
    /// The last day a window may open on; `null`: no end.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = Date))]
    pub ends_on: Option<NaiveDate>,
    pub recurrence: Recurrence,
    /// Days the window does not open, whatever the recurrence says.
    #[serde(default, rename = "except")]
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<String>))]
    pub except: Vec<NaiveDate>,
    /// `null` with no `daypart_id`: all day.
    #[serde(default)]
    pub window: Option<Window>,
    /// A daypart's window instead of `window`.
    #[serde(default)]
    pub daypart_id: Option<String>,
    /// Higher wins where schedules overlap.
    #[serde(default)]
    pub priority: i32,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

pub const MAX_EXCEPT_DATES: usize = 366;
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -1000..=1000;

impl ScheduleSpec {
    /// Checks the spec on its own (names, shapes, ranges); whether its
    /// playlist, target and daypart exist is the server's to check.
    pub fn check(&self) -> Result<(), String> {
        check_name(&self.name, "schedule")?;
        if self.playlist_id.trim().is_empty() {
            return Err("A schedule needs a playlist.".into());
        }
        match (&self.device_id, &self.group_id) {
            (Some(_), Some(_)) => {
                return Err("A schedule is for one display or one group, not both.".into())
            }
            (None, None) => return Err("A schedule needs a display or a group.".into()),
            _ => {}
        }
        if let Some(end) = self.ends_on {
            if end < self.starts_on {
                return Err(format!(
                    "The schedule ends ({end}) before it starts ({}).",
                    self.starts_on
                ));
            }
        }
        self.recurrence.check()?;
        if self.except.len() > MAX_EXCEPT_DATES {
            return Err(format!(
                "A schedule can skip at most {MAX_EXCEPT_DATES} dates."
            ));
        }
        if let Some(w) = &self.window {
            w.check()?;
            if self.daypart_id.is_some() {
                return Err("Give a window or a daypart, not both.".into());
            }
        }
        if !PRIORITY_RANGE.contains(&self.priority) {
            return Err(format!(
                "A priority is {} to {}; not {}.",
                PRIORITY_RANGE.start(),
                PRIORITY_RANGE.end(),
                self.priority
            ));
        }
        Ok(())
    }

    /// Whether it applies to a display with this id and group.
    pub fn targets(&self, device_id: &str, group_id: Option<&str>) -> bool {
        self.device_id.as_deref() == Some(device_id)
            || (self.group_id.is_some() && self.group_id.as_deref() == group_id)
    }

    /// The window, with its daypart's if it names one: `None` is all day.
    /// A daypart that is gone reads as all day only if it was never there;
    /// the server refuses deleting a daypart a schedule uses.
    pub fn window_with(&self, dayparts: &[Daypart]) -> Option<Window> {
        match &self.daypart_id {
            Some(id) => dayparts.iter().find(|d| &d.id == id).map(Daypart::window),
            None => self.window,
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: String,
    #[serde(flatten)]
    pub spec: ScheduleSpec,
    /// When it was made: the newer of two otherwise equal schedules wins.
    #[serde(default)]
    pub created_at: Millis,
    #[serde(default)]
    pub version: i64,
}

/// A playlist put on a group or the whole fleet now, above every schedule,
/// until `ends_at` or until an operator ends it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Takeover {
    pub id: String,
    pub name: String,
    pub playlist_id: String,
    /// `null`: every display of the organization.
    #[serde(default)]
    pub group_id: Option<String>,
    pub starts_at: Millis,
    /// When it ends by itself, if it was given an end.
    #[serde(default)]
    pub ends_at: Option<Millis>,
    /// When an operator ended it.
    #[serde(default)]
    pub ended_at: Option<Millis>,
    #[serde(default)]
    pub version: i64,
}

impl Takeover {
    /// When it stops (set end or ended by hand), if it does.
    pub fn until(&self) -> Option<Millis> {
        match (self.ends_at, self.ended_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    pub fn active_at(&self, now: Millis) -> bool {
        self.starts_at <= now && self.until().is_none_or(|u| now < u)
    }
    pub fn targets(&self, group_id: Option<&str>) -> bool {
        self.group_id.is_none() || self.group_id.as_deref() == group_id
    }
}

/// A display switched what it plays: reported by its player when its
/// timeline moved on (or derived by the server for a player that does not
/// report). Listed on the Schedules page and the display's detail view.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub id: String,
    pub device_id: String,
    pub at: Millis,
    /// What it plays from `at` (`None`: nothing).
    pub playlist_id: Option<String>,
    pub source: Source,
    pub schedule_id: Option<String>,
    pub takeover_id: Option<String>,
    /// What it played before.
    pub previous_playlist_id: Option<String>,
    /// `true` when the player reported it, `false` when the server derived it.
    pub reported: bool,
}

/// Where a display's manifest is: the version the server sent last, the one
/// its player acknowledged, and what it says it plays.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    /// The display's id (one deploy state per display).
    pub id: String,
    pub sent_version: Option<String>,
    pub sent_at: Option<Millis>,
    pub received_version: Option<String>,
    pub received_at: Option<Millis>,
    pub playing_playlist_id: Option<String>,
    pub playing_since: Option<Millis>,
    #[serde(default)]
    pub version: i64,
}

/// How long a player has to acknowledge a manifest before the console flags it.
pub const DEPLOY_ACK_MS: Millis = 60_000;

/// What the console says about a display's deploy at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployState {
    /// Nothing was sent since the server started tracking.
    Unknown,
    /// Sent and not acknowledged yet (under a minute).
    Sent,
    /// Sent over a minute ago and not acknowledged: flagged.
    Late,
    /// The player has the latest manifest.
    Received,
}

impl Deploy {
    pub fn state(&self, now: Millis) -> DeployState {
        match (&self.sent_version, self.sent_at) {
            (None, _) | (_, None) => DeployState::Unknown,
            (Some(sent), Some(at)) => {
                if self.received_version.as_ref() == Some(sent) {
                    DeployState::Received
                } else if now - at >= DEPLOY_ACK_MS {
                    DeployState::Late
                } else {
                    DeployState::Sent
                }
            }
        }
    }
}

/// Why a segment plays what it plays.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Takeover,
    Schedule,
    /// The display's own default playlist, else its group's.
    Default,
    /// Nothing scheduled and no default: the screen has nothing to play.
    None,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Takeover => "takeover",
            Source::Schedule => "schedule",
            Source::Default => "default",
            Source::None => "none",
        }
    }
}

/// `[start, end)` plays `playlist_id`, because of `source`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub start: Millis,
    pub end: Millis,
    pub playlist_id: Option<String>,
    pub source: Source,
    #[serde(default)]
    pub schedule_id: Option<String>,
    #[serde(default)]
    pub takeover_id: Option<String>,
}

/// The display the timeline is for: its zone, group and default playlists.
#[derive(Debug, Clone, PartialEq)]
pub struct Screen<'a> {
    pub device_id: &'a str,
    pub group_id: Option<&'a str>,
    /// An IANA zone name; an unknown one is evaluated as UTC.
    pub timezone: &'a str,
    pub own_default: Option<&'a str>,
    pub group_default: Option<&'a str>,
}

impl<'a> Screen<'a> {
    /// A display as the rule sees it, with its group's default playlist.
    pub fn of(device: &'a super::Device, group_default: Option<&'a str>) -> Self {
        Self {
            device_id: &device.id,
            group_id: device.group_id.as_deref(),
            timezone: &device.timezone,
            own_default: device.playlist_id.as_deref(),
            group_default,
        }
    }
}

/// Everything the rule reads: schedules, dayparts and takeovers of the
/// organization (those for other displays are skipped).
#[derive(Debug, Clone, Copy, Default)]
pub struct Plan<'a> {
    pub schedules: &'a [Schedule],
    pub dayparts: &'a [Daypart],
    pub takeovers: &'a [Takeover],
}

/// The `[start, end)` instants a schedule's window occupies on local date `day`.
fn occurrence(tz: Zone, day: NaiveDate, window: Option<Window>) -> (Millis, Millis) {
    let next = day.succ_opt().unwrap_or(day);
    match window {
        None => (
            resolve_local(tz, day.and_time(NaiveTime::MIN)),
            resolve_local(tz, next.and_time(NaiveTime::MIN)),
        ),
        Some(w) => {
            let end_day = if w.end <= w.start { next } else { day };
            (
                resolve_local(tz, day.and_time(w.start.naive())),
                resolve_local(tz, end_day.and_time(w.end.naive())),
            )
        }
    }
}

/// Which of two claims on the same instant wins: higher is stronger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    /// 2 takeover, 1 schedule, 0 default.
    tier: u8,
    priority: i32,
    /// 1 for a display's own, 0 for its group's (or the fleet's).
    specific: u8,
    created_at: Millis,
    id: String,
}

#[derive(Debug, Clone)]
struct Claim {
    start: Millis,
    end: Millis,
    rank: Rank,
    playlist_id: Option<String>,
    source: Source,
    schedule_id: Option<String>,
    takeover_id: Option<String>,
}

impl PartialEq for Claim {
    fn eq(&self, other: &Self) -> bool {
        self.rank == other.rank && self.start == other.start
    }
}
impl Eq for Claim {}
impl PartialOrd for Claim {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Claim {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank
            .cmp(&other.rank)
            .then(other.start.cmp(&self.start))
    }
}

/// What `screen` plays over `[from, to)`: ordered segments covering the
/// range exactly, adjacent ones with the same playlist and source merged.
/// Order of precedence: a takeover, then the higher priority, then the more
/// specific target (the display over its group), then the newer schedule.
pub fn timeline(screen: &Screen<'_>, plan: Plan<'_>, from: Millis, to: Millis) -> Vec<Segment> {
    if to <= from {
        return Vec::new();
    }
    let tz = zone(screen.timezone);
    let mut claims = Vec::new();
    // The default fills every gap.
    let (default, specific) = match (screen.own_default, screen.group_default) {
        (Some(p), _) => (Some(p), 1),
        (None, Some(p)) => (Some(p), 0),
        (None, None) => (None, 0),
    };
    claims.push(Claim {
        start: from,
        end: to,
        rank: Rank {
            tier: 0,
            priority: 0,
            specific,
            created_at: 0,
            id: String::new(),
        },
        playlist_id: default.map(str::to_string),
        source: if default.is_some() {
            Source::Default
        } else {
            Source::None
        },
        schedule_id: None,
        takeover_id: None,
    });
    for t in plan.takeovers {
        if !t.targets(screen.group_id) {
            continue;
        }
        let start = t.starts_at.max(from);
        let end = t.until().unwrap_or(to).min(to);
        if start < end {
            claims.push(Claim {
                start,
                end,
                rank: Rank {
                    tier: 2,
                    priority: 0,
                    specific: u8::from(t.group_id.is_some()),
                    created_at: t.starts_at,
                    id: t.id.clone(),
                },
                playlist_id: Some(t.playlist_id.clone()),
                source: Source::Takeover,
                schedule_id: None,
                takeover_id: Some(t.id.clone()),
            });
        }
    }
    // A window opening the day before `from` can still be running at `from`.
    let first_day = local_date(tz, from).pred_opt().unwrap_or(NaiveDate::MIN);
    let last_day = local_date(tz, to - 1);
    for s in plan.schedules {
        let spec = &s.spec;
        if !spec.enabled || !spec.targets(screen.device_id, screen.group_id) {
            continue;
        }
        let window = spec.window_with(plan.dayparts);
        if spec.daypart_id.is_some() && window.is_none() {
            continue;
        }
        let mut day = first_day.max(spec.starts_on);
        let end_day = spec.ends_on.map_or(last_day, |e| e.min(last_day));
        while day <= end_day {
            if spec.recurrence.occurs_on(day) && !spec.except.contains(&day) {
                let (start, end) = occurrence(tz, day, window);
                let (start, end) = (start.max(from), end.min(to));
                if start < end {
                    claims.push(Claim {
                        start,
                        end,
                        rank: Rank {
                            tier: 1,
                            priority: spec.priority,
                            specific: u8::from(spec.device_id.is_some()),
                            created_at: s.created_at,
                            id: s.id.clone(),
                        },
                        playlist_id: Some(spec.playlist_id.clone()),
                        source: Source::Schedule,
                        schedule_id: Some(s.id.clone()),
                        takeover_id: None,
                    });
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
    }
    sweep(claims, from, to)
}

/// The strongest claim over each stretch between boundaries, merged.
fn sweep(mut claims: Vec<Claim>, from: Millis, to: Millis) -> Vec<Segment> {
    let mut bounds: Vec<Millis> = claims.iter().flat_map(|c| [c.start, c.end]).collect();
    bounds.push(from);
    bounds.push(to);
    bounds.sort_unstable();
    bounds.dedup();
    super::order::sort_by_key(&mut claims, |c| c.start);
    let mut pending = claims.into_iter().peekable();
    let mut live: BinaryHeap<Claim> = BinaryHeap::new();
    let mut out: Vec<Segment> = Vec::new();
    for pair in bounds.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        while let Some(c) = pending.next_if(|c| c.start <= start) {
            live.push(c);
        }
        while live.peek().is_some_and(|c| c.end <= start) {
            live.pop();
        }
        let Some(top) = live.peek() else { continue };
        match out.last_mut() {
            Some(last)
                if last.end == start
                    && last.playlist_id == top.playlist_id
                    && last.source == top.source =>
            {
                last.end = end;
            }
            _ => out.push(Segment {
                start,
                end,
                playlist_id: top.playlist_id.clone(),
                source: top.source,
                schedule_id: top.schedule_id.clone(),
                takeover_id: top.takeover_id.clone(),
            }),
        }
    }
    out
}

/// The segment that covers `at`, if any.
pub fn segment_at(segments: &[Segment], at: Millis) -> Option<&Segment> {
    segments.iter().find(|s| s.start <= at && at < s.end)
}

/// Schedules that overlap `candidate` on a shared display at the same or a
/// higher priority within `[from, to)`, by name: what the dialog warns about
/// before saving. `screens` are the displays the candidate reaches.
pub fn overlaps<'a>(
    candidate: &Schedule,
    screens: &[Screen<'_>],
    plan: Plan<'a>,
    from: Millis,
    to: Millis,
) -> Vec<&'a Schedule> {
    let mut found: Vec<&'a Schedule> = Vec::new();
    fn only<'b>(s: &'b Schedule, plan: Plan<'b>) -> Plan<'b> {
        Plan {
            schedules: std::slice::from_ref(s),
            ..plan
        }
    }
    for screen in screens {
        let mine: Vec<(Millis, Millis)> = timeline(screen, only(candidate, plan), from, to)
            .into_iter()
            .filter(|s| s.source == Source::Schedule)
            .map(|s| (s.start, s.end))
            .collect();
        if mine.is_empty() {
            continue;
        }
        for other in plan.schedules {
            if other.id == candidate.id
                || !other.spec.enabled
                || other.spec.priority < candidate.spec.priority
                || found.iter().any(|f| f.id == other.id)
            {
                continue;
            }
            let theirs = timeline(screen, only(other, plan), from, to);
            let hit = theirs.iter().any(|t| {
                t.source == Source::Schedule && mine.iter().any(|(s, e)| t.start < *e && *s < t.end)
            });
            if hit {
                found.push(other);
            }
        }
    }
    found
}

/// Schedules, dayparts, takeovers and deploy states, with the stream
/// position they were read at (the Schedules page, the device detail view).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchedulesSnapshot {
    pub schedules: Vec<Schedule>,
    pub dayparts: Vec<Daypart>,
    pub takeovers: Vec<Takeover>,
    pub deploys: Vec<Deploy>,
    pub seq: i64,
    pub epoch: String,
}

#[cfg(test)]
mod tests;
