//! The week view: one row per group (or per display), one column per day in
//! the row's own time zone, and in each day the stretches of the timeline
//! the screens follow, coloured by playlist. Takeovers are striped and
//! defaults muted; every stretch is a focusable element that says what
//! plays, when and why.

use chrono::Duration;
use leptos::prelude::*;

use super::{clock, playlist_hue, playlist_name, DeployBadge};
use crate::{
    model::{
        day_start, local_date, timeline, zone, Device, DeviceGroup, Millis, Plan, Playlist,
        Schedule, Screen, Segment, Source, Weekday,
    },
    sync::{platform::now_ms, use_devices, use_library, use_schedules},
};

/// How many display rows the view draws at most (the list has every schedule).
const MAX_DISPLAY_ROWS: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    Groups,
    Displays,
}

/// One row of the view: who, in which zone, with which defaults.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: String,
    label: String,
    /// A display's id, for its deploy badge.
    device_id: Option<String>,
    group_id: Option<String>,
    timezone: String,
    own_default: Option<String>,
    group_default: Option<String>,
}

fn group_rows(groups: &[DeviceGroup], devices: &[Device]) -> Vec<Row> {
    groups
        .iter()
        .map(|g| {
            // A group has no zone of its own: its first display's, else UTC.
            let timezone = devices
                .iter()
                .find(|d| d.group_id.as_deref() == Some(g.id.as_str()))
                .map_or_else(|| "UTC".to_string(), |d| d.timezone.clone());
            Row {
                id: g.id.clone(),
                label: g.name.clone(),
                device_id: None,
                group_id: Some(g.id.clone()),
                timezone,
                own_default: None,
                group_default: g.playlist_id.clone(),
            }
        })
        .collect()
}

fn display_rows(groups: &[DeviceGroup], devices: &[Device]) -> Vec<Row> {
    let mut sorted: Vec<&Device> = devices.iter().collect();
    crate::model::order::sort_by(&mut sorted, |a, b| {
        a.name.cmp(&b.name).then(a.id.cmp(&b.id))
    });
    sorted
        .into_iter()
        .take(MAX_DISPLAY_ROWS)
        .map(|d| Row {
            id: d.id.clone(),
            label: d.name.clone(),
            device_id: Some(d.id.clone()),
            group_id: d.group_id.clone(),
            timezone: d.timezone.clone(),
            own_default: d.playlist_id.clone(),
            group_default: d
                .group_id
                .as_ref()
                .and_then(|g| groups.iter().find(|x| &x.id == g))
                .and_then(|g| g.playlist_id.clone()),
        })
        .collect()
}

#[component]
pub fn WeekView() -> impl IntoView {
    let devices = use_devices();
    let rows_by = RwSignal::new(Rows::Groups);
    let rows = Memo::new(move |_| {
        let groups = devices.groups.get();
        let all = devices.devices.get();
        match rows_by.get() {
            Rows::Groups => group_rows(&groups, &all),
            Rows::Displays => display_rows(&groups, &all),
        }
    });
    view! {
        <section class="panel week" aria-label="Week">
            <div class="week-head">
                <h2>"This week"</h2>
                <div class="view-switch" role="group" aria-label="Rows">
                    <button type="button" class="button" aria-pressed=move || (rows_by.get() == Rows::Groups).to_string()
                        on:click=move |_| rows_by.set(Rows::Groups)>"By group"</button>
                    <button type="button" class="button" aria-pressed=move || (rows_by.get() == Rows::Displays).to_string()
                        on:click=move |_| rows_by.set(Rows::Displays)>"By display"</button>
                </div>
                <p class="muted legend">
                    <span class="swatch src-schedule"></span>" scheduled "
                    <span class="swatch src-takeover"></span>" takeover "
                    <span class="swatch src-default"></span>" default playlist "
                    <span class="swatch src-none"></span>" nothing to play"
                </p>
            </div>
            {move || {
                let rows = rows.get();
                if rows.is_empty() {
                    let what = if rows_by.get() == Rows::Groups { "groups" } else { "displays" };
                    return view! { <p class="muted">{format!("No {what} yet.")}</p> }.into_any();
                }
                // One set of dates for every row (today in UTC on); each row's
                // days begin and end at midnight in its own zone.
                let today = local_date(zone("UTC"), now_ms() as Millis);
                let dates: Vec<chrono::NaiveDate> = (0..7).map(|i| today + Duration::days(i)).collect();
                view! {
                    <div class="week-grid" role="table" aria-label="What plays this week">
                        <div class="week-row week-dates" role="row">
                            <span role="columnheader" class="week-label muted">"Local time in each row's zone"</span>
                            {dates.iter().map(|d| view! {
                                <span role="columnheader" class="day-label">{format!("{} {}", Weekday::of(*d).short(), d.format("%-d %b"))}</span>
                            }).collect_view()}
                        </div>
                        {rows.into_iter().map(|row| view! { <WeekRow row dates=dates.clone()/> }).collect_view()}
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// A row's seven days (midnight to midnight in its zone), and the timeline over them.
#[component]
fn WeekRow(row: Row, dates: Vec<chrono::NaiveDate>) -> impl IntoView {
    let schedules = use_schedules();
    let library = use_library();
    let now = now_ms() as Millis;
    let tz = zone(&row.timezone);
    let days: Vec<(chrono::NaiveDate, Millis, Millis)> = dates
        .iter()
        .map(|d| (*d, day_start(tz, *d), day_start(tz, *d + Duration::days(1))))
        .collect();
    let (from, to) = (days[0].1, days[6].2);
    let segments = {
        let row = row.clone();
        Memo::new(move |_| {
            let all: Vec<Schedule> = schedules.schedules.get();
            let dayparts = schedules.dayparts.get();
            let takeovers = schedules.takeovers.get();
            let screen = Screen {
                device_id: row.device_id.as_deref().unwrap_or(""),
                group_id: row.group_id.as_deref(),
                timezone: &row.timezone,
                own_default: row.own_default.as_deref(),
                group_default: row.group_default.as_deref(),
            };
            let plan = Plan {
                schedules: &all,
                dayparts: &dayparts,
                takeovers: &takeovers,
            };
            timeline(&screen, plan, from, to)
        })
    };
    let label = row.label.clone();
    let zone_name = row.timezone.clone();
    let badge = row.device_id.clone();
    view! {
        <div class="week-row" role="row" data-row=row.id.clone()>
            <div class="week-label" role="rowheader">
                <strong>{label.clone()}</strong>
                <span class="muted">{zone_name.clone()}</span>
                {badge.map(|device_id| view! { <DeployBadge device_id/> })}
            </div>
            {days.into_iter().map(|(date, start, end)| {
                let day_label = format!("{} {}", Weekday::of(date).short(), date.format("%-d %b"));
                let label = label.clone();
                let zone_name = zone_name.clone();
                view! {
                    <div class="week-day" role="cell" aria-label=format!("{label}, {day_label}")>
                        // SVG: positions and colours are attributes, which the
                        // console's Content-Security-Policy allows (inline styles it does not).
                        <svg class="day-bar" width="100%" height="100%">
                            {move || {
                                let lists: Vec<Playlist> = library.playlists.get();
                                let all = schedules.schedules.get();
                                segments.with(|segs| blocks(segs, start, end, &lists, &all, &zone_name))
                            }}
                            {(now >= start && now < end).then(|| {
                                let left = format!("{:.2}%", (now - start) as f64 * 100.0 / (end - start) as f64);
                                view! { <line class="now-line" x1=left.clone() x2=left y1="0" y2="100%" aria-hidden="true"/> }
                            })}
                        </svg>
                    </div>
                }
            }).collect_view()}
        </div>
    }
}

/// The stretches of `segments` within `[start, end)`, as positioned blocks.
fn blocks(
    segments: &[Segment],
    start: Millis,
    end: Millis,
    lists: &[Playlist],
    schedules: &[Schedule],
    tz: &str,
) -> impl IntoView {
    let span = (end - start).max(1) as f64;
    segments
        .iter()
        .filter(|s| s.end > start && s.start < end)
        .map(|s| {
            let (a, b) = (s.start.max(start), s.end.min(end));
            let left = (a - start) as f64 * 100.0 / span;
            let width = (b - a) as f64 * 100.0 / span;
            let (x, w) = (format!("{left:.3}%"), format!("{width:.3}%"));
            let name = playlist_name(lists, s.playlist_id.as_deref());
            let why = match s.source {
                Source::Takeover => "takeover".to_string(),
                Source::Schedule => {
                    let schedule = s
                        .schedule_id
                        .as_deref()
                        .and_then(|id| schedules.iter().find(|x| x.id == id));
                    format!(
                        "schedule “{}”",
                        schedule.map_or("?", |x| x.spec.name.as_str())
                    )
                }
                Source::Default => "default playlist".to_string(),
                Source::None => "nothing scheduled".to_string(),
            };
            let when = if a == start && b == end {
                "all day".to_string()
            } else {
                format!("{}–{}", clock(tz, a), clock(tz, b))
            };
            let text = format!("{name}, {when} ({why})");
            let hue = s.playlist_id.as_deref().map(playlist_hue).unwrap_or(0);
            let fill = match s.source {
                Source::Schedule => format!("hsl({hue} 55% 42%)"),
                Source::Takeover => format!("hsl({hue} 65% 45%)"),
                Source::Default => format!("hsl({hue} 12% 30%)"),
                Source::None => "transparent".to_string(),
            };
            let class = format!("block src-{}", s.source.as_str());
            let shown = if width > 12.0 {
                name.clone()
            } else {
                String::new()
            };
            // A nested svg clips its name to the block.
            let label = text.clone();
            view! {
                <svg class=class x=x width=w height="100%" tabindex="0" role="img" aria-label=label
                    data-playlist=s.playlist_id.clone().unwrap_or_default()>
                    <title>{text}</title>
                    <rect width="100%" height="100%" fill=fill/>
                    <text x="4" y="62%">{shown}</text>
                </svg>
            }
        })
        .collect_view()
}
