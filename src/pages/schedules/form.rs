//! The schedule dialog: playlist, target, dates, recurrence, window or
//! daypart, priority. Before saving it names the schedules that overlap at
//! the same or a higher priority on the same displays, and previews what
//! plays on a chosen display at a chosen time, with the rule the screens
//! follow.

use chrono::{NaiveDate, NaiveDateTime};
use leptos::prelude::*;

use super::{playlist_name, Editing};
use crate::{
    components::dialog::Dialog,
    model::{
        local_date, overlaps, resolve_local, segment_at, timeline, zone, Change, Device, Millis,
        Plan, Recurrence, Schedule, ScheduleSpec, Screen, Source, TimeOfDay, Weekday, Window,
    },
    sync::{
        platform::{new_op_id, now_ms},
        use_devices, use_library, use_schedules, use_sync,
    },
};

/// What the form holds, as typed.
#[derive(Debug, Clone, PartialEq)]
struct Fields {
    name: String,
    playlist: String,
    /// `group:<id>` or `device:<id>`.
    target: String,
    starts_on: String,
    ends_on: String,
    /// `day`, `week`, `month-day` or `month-nth`.
    every: String,
    weekdays: Vec<Weekday>,
    month_day: String,
    nth: String,
    nth_weekday: String,
    except: String,
    /// `all`, `times` or `daypart`.
    window: String,
    start: String,
    end: String,
    daypart: String,
    priority: String,
    enabled: bool,
}

impl Fields {
    fn of(spec: &ScheduleSpec) -> Self {
        let (every, weekdays, month_day, nth, nth_weekday) = match &spec.recurrence {
            Recurrence::Day => ("day", vec![], String::new(), "1".into(), "mon".into()),
            Recurrence::Week { weekdays } => (
                "week",
                weekdays.clone(),
                String::new(),
                "1".into(),
                "mon".into(),
            ),
            Recurrence::Month { day: Some(d), .. } => {
                ("month-day", vec![], d.to_string(), "1".into(), "mon".into())
            }
            Recurrence::Month { nth, weekday, .. } => (
                "month-nth",
                vec![],
                String::new(),
                nth.unwrap_or(1).to_string(),
                weekday.unwrap_or(Weekday::Mon).as_str().to_string(),
            ),
        };
        let window = match (&spec.daypart_id, &spec.window) {
            (Some(_), _) => "daypart",
            (None, Some(_)) => "times",
            (None, None) => "all",
        };
        Self {
            name: spec.name.clone(),
            playlist: spec.playlist_id.clone(),
            target: match (&spec.group_id, &spec.device_id) {
                (Some(g), _) => format!("group:{g}"),
                (None, Some(d)) => format!("device:{d}"),
                _ => String::new(),
            },
            starts_on: spec.starts_on.to_string(),
            ends_on: spec.ends_on.map(|d| d.to_string()).unwrap_or_default(),
            every: every.into(),
            weekdays,
            month_day,
            nth,
            nth_weekday,
            except: spec
                .except
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            window: window.into(),
            start: spec.window.map_or("06:00".into(), |w| w.start.to_string()),
            end: spec.window.map_or("10:30".into(), |w| w.end.to_string()),
            daypart: spec.daypart_id.clone().unwrap_or_default(),
            priority: spec.priority.to_string(),
            enabled: spec.enabled,
        }
    }

    /// The spec the fields make, or what is wrong with them.
    fn spec(&self) -> Result<ScheduleSpec, String> {
        let date = |s: &str, what: &str| {
            s.trim()
                .parse::<NaiveDate>()
                .map_err(|_| format!("{what} is a date, YYYY-MM-DD."))
        };
        let (device_id, group_id) = match self.target.split_once(':') {
            Some(("group", id)) => (None, Some(id.to_string())),
            Some(("device", id)) => (Some(id.to_string()), None),
            _ => return Err("Choose the display or group it is for.".into()),
        };
        let recurrence = match self.every.as_str() {
            "week" => Recurrence::Week {
                weekdays: self.weekdays.clone(),
            },
            "month-day" => Recurrence::Month {
                day: Some(
                    self.month_day
                        .trim()
                        .parse()
                        .map_err(|_| "The day of the month is a number from 1 to 31.")?,
                ),
                nth: None,
                weekday: None,
            },
            "month-nth" => Recurrence::Month {
                day: None,
                nth: Some(self.nth.parse().unwrap_or(1)),
                weekday: Weekday::ALL
                    .iter()
                    .copied()
                    .find(|w| w.as_str() == self.nth_weekday),
            },
            _ => Recurrence::Day,
        };
        let except = self
            .except
            .split([',', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(|s| date(s, "Each skipped day"))
            .collect::<Result<Vec<_>, _>>()?;
        let (window, daypart_id) = match self.window.as_str() {
            "times" => (
                Some(Window {
                    start: self.start.parse::<TimeOfDay>()?,
                    end: self.end.parse::<TimeOfDay>()?,
                }),
                None,
            ),
            "daypart" if self.daypart.is_empty() => {
                return Err("Choose a daypart, or give the times.".into())
            }
            "daypart" => (None, Some(self.daypart.clone())),
            _ => (None, None),
        };
        let spec = ScheduleSpec {
            name: self.name.clone(),
            playlist_id: self.playlist.clone(),
            device_id,
            group_id,
            starts_on: date(&self.starts_on, "The first day")?,
            ends_on: if self.ends_on.trim().is_empty() {
                None
            } else {
                Some(date(&self.ends_on, "The last day")?)
            },
            recurrence,
            except,
            window,
            daypart_id,
            priority: self
                .priority
                .trim()
                .parse()
                .map_err(|_| "The priority is a whole number.")?,
            enabled: self.enabled,
        };
        spec.check()?;
        Ok(spec)
    }
}

/// The displays a target reaches, as screens for the rule.
fn reached<'a>(
    spec: &'a ScheduleSpec,
    devices: &'a [Device],
    group_default: impl Fn(&str) -> Option<&'a str>,
) -> Vec<Screen<'a>> {
    devices
        .iter()
        .filter(|d| spec.targets(&d.id, d.group_id.as_deref()))
        .map(|d| Screen::of(d, d.group_id.as_deref().and_then(&group_default)))
        .collect()
}

#[component]
pub fn ScheduleDialog(
    editing: Editing,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let sync = use_sync();
    let schedules = use_schedules();
    let devices = use_devices();
    let library = use_library();
    let existing: Option<Schedule> = match &editing {
        Editing::Schedule(id) => schedules
            .schedules
            .get_untracked()
            .into_iter()
            .find(|s| &s.id == id),
        Editing::New => None,
    };
    let now = now_ms() as Millis;
    let lists = library.playlists.get_untracked();
    let groups = devices.groups.get_untracked();
    let all_devices = devices.devices.get_untracked();
    let dayparts = schedules.dayparts.get_untracked();
    let initial = existing.as_ref().map_or_else(
        || {
            Fields::of(&ScheduleSpec {
                name: String::new(),
                playlist_id: lists.first().map(|p| p.id.clone()).unwrap_or_default(),
                device_id: None,
                group_id: groups.first().map(|g| g.id.clone()),
                starts_on: local_date(zone("UTC"), now),
                ends_on: None,
                recurrence: Recurrence::Day,
                except: vec![],
                window: Some(Window {
                    start: TimeOfDay::hm(6, 0),
                    end: TimeOfDay::hm(10, 30),
                }),
                daypart_id: None,
                priority: 0,
                enabled: true,
            })
        },
        |s| Fields::of(&s.spec),
    );
    let fields = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    let preview_device = RwSignal::new(String::new());
    let preview_at = RwSignal::new(String::new());
    let id = existing.as_ref().map_or_else(new_op_id, |s| s.id.clone());
    let base = existing.as_ref().map(|s| s.version);
    let candidate = {
        let id = id.clone();
        Memo::new(move |_| {
            fields.with(Fields::spec).map(|spec| Schedule {
                id: id.clone(),
                spec,
                created_at: i64::MAX,
                version: base.unwrap_or(0),
            })
        })
    };
    // Everyone else's schedules, with this one as it would be saved.
    let plan_with = move |c: &Schedule| {
        let mut all: Vec<Schedule> = schedules
            .schedules
            .get()
            .into_iter()
            .filter(|s| s.id != c.id)
            .collect();
        all.push(c.clone());
        all
    };
    let group_default = {
        let groups = groups.clone();
        move |g: &str| {
            groups
                .iter()
                .find(|x| x.id == g)
                .and_then(|x| x.playlist_id.clone())
        }
    };
    let warning = {
        let all_devices = all_devices.clone();
        let group_default = group_default.clone();
        Memo::new(move |_| {
            let Ok(c) = candidate.get() else {
                return None;
            };
            let defaults: Vec<(String, Option<String>)> = all_devices
                .iter()
                .filter_map(|d| d.group_id.clone())
                .map(|g| (g.clone(), group_default(&g)))
                .collect();
            let lookup = |g: &str| {
                defaults
                    .iter()
                    .find(|(id, _)| id == g)
                    .and_then(|(_, p)| p.as_deref())
            };
            let screens = reached(&c.spec, &all_devices, lookup);
            let others: Vec<Schedule> = schedules
                .schedules
                .get()
                .into_iter()
                .filter(|s| s.id != c.id)
                .collect();
            let dayparts = schedules.dayparts.get();
            let plan = Plan {
                schedules: &others,
                dayparts: &dayparts,
                takeovers: &[],
            };
            let found = overlaps(&c, &screens, plan, now, now + 14 * 86_400_000);
            (!found.is_empty()).then(|| {
                let names: Vec<String> = found
                    .iter()
                    .map(|s| format!("“{}” (priority {})", s.spec.name, s.spec.priority))
                    .collect();
                format!(
                    "Overlaps in the next two weeks with {} on the same displays. The higher priority plays; at equal priority, the display's own schedule, then the newer one.",
                    names.join(", ")
                )
            })
        })
    };
    let preview = {
        let all_devices = all_devices.clone();
        let lists = lists.clone();
        Memo::new(move |_| {
            let c = candidate.get().ok()?;
            let chosen = preview_device.get();
            let device = all_devices
                .iter()
                .filter(|d| c.spec.targets(&d.id, d.group_id.as_deref()))
                .find(|d| chosen.is_empty() || d.id == chosen)?
                .clone();
            let tz = zone(&device.timezone);
            let at = NaiveDateTime::parse_from_str(&preview_at.get(), "%Y-%m-%dT%H:%M")
                .map(|local| resolve_local(tz, local))
                .unwrap_or(now);
            let group_default = device.group_id.as_deref().and_then(&group_default);
            let all = plan_with(&c);
            let dayparts = schedules.dayparts.get();
            let takeovers = schedules.takeovers.get();
            let screen = Screen::of(&device, group_default.as_deref());
            let plan = Plan {
                schedules: &all,
                dayparts: &dayparts,
                takeovers: &takeovers,
            };
            let segs = timeline(&screen, plan, at, at + 1);
            let seg = segment_at(&segs, at)?;
            let why = match seg.source {
                Source::Schedule if seg.schedule_id.as_deref() == Some(c.id.as_str()) => {
                    "this schedule".to_string()
                }
                Source::Schedule => {
                    let other = all
                        .iter()
                        .find(|s| Some(s.id.as_str()) == seg.schedule_id.as_deref());
                    format!("schedule “{}”", other.map_or("?", |s| s.spec.name.as_str()))
                }
                Source::Takeover => "a takeover".into(),
                Source::Default => "its default playlist".into(),
                Source::None => "nothing is scheduled".into(),
            };
            Some(format!(
                "{} at {} ({}): plays {} ({why}).",
                device.name,
                crate::model::local_rfc3339(tz, at)
                    .get(..16)
                    .unwrap_or_default()
                    .replace('T', " "),
                device.timezone,
                match &seg.playlist_id {
                    Some(_) => format!("“{}”", playlist_name(&lists, seg.playlist_id.as_deref())),
                    None => "nothing".into(),
                }
            ))
        })
    };
    let submit = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            match fields.with_untracked(Fields::spec) {
                Err(e) => error.set(Some(e)),
                Ok(spec) => {
                    let change = match base {
                        None => Change::CreateSchedule {
                            schedule_id: id.clone(),
                            spec,
                        },
                        Some(_) => Change::UpdateSchedule {
                            schedule_id: id.clone(),
                            spec,
                        },
                    };
                    sync.submit(change, base);
                    on_done();
                }
            }
        }
    };
    let set = move |f: fn(&mut Fields, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            fields.update(|x| f(x, v));
            error.set(None);
        }
    };
    let title = if existing.is_some() {
        "Edit schedule"
    } else {
        "New schedule"
    };
    let reach_devices = all_devices.clone();
    view! {
        <Dialog title=title.to_string() on_close=on_done on_submit=submit>
            <div class="form-grid">
                <label for="schedule-name">"Name"</label>
                <input id="schedule-name" type="text" placeholder="Breakfast menu"
                    prop:value=move || fields.with(|f| f.name.clone()) on:input=set(|f, v| f.name = v)/>
                <label for="schedule-playlist">"Playlist"</label>
                <select id="schedule-playlist" on:change=set(|f, v| f.playlist = v)>
                    {lists.iter().map(|p| view! { <option value=p.id.clone() selected=fields.with_untracked(|f| f.playlist == p.id)>{p.name.clone()}</option> }).collect_view()}
                </select>
                <label for="schedule-target">"For"</label>
                <select id="schedule-target" on:change=set(|f, v| f.target = v)>
                    <optgroup label="Groups">
                        {groups.iter().map(|g| {
                            let value = format!("group:{}", g.id);
                            let selected = fields.with_untracked(|f| f.target == value);
                            view! { <option value=value selected=selected>{g.name.clone()}</option> }
                        }).collect_view()}
                    </optgroup>
                    <optgroup label="Displays">
                        {all_devices.iter().map(|d| {
                            let value = format!("device:{}", d.id);
                            let selected = fields.with_untracked(|f| f.target == value);
                            view! { <option value=value selected=selected>{d.name.clone()}</option> }
                        }).collect_view()}
                    </optgroup>
                </select>
                <label for="schedule-starts">"From"</label>
                <input id="schedule-starts" type="date" prop:value=move || fields.with(|f| f.starts_on.clone()) on:input=set(|f, v| f.starts_on = v)/>
                <label for="schedule-ends">"Until (optional)"</label>
                <input id="schedule-ends" type="date" prop:value=move || fields.with(|f| f.ends_on.clone()) on:input=set(|f, v| f.ends_on = v)/>
                <label for="schedule-every">"Repeats"</label>
                <select id="schedule-every" on:change=set(|f, v| f.every = v)>
                    {[("day", "Every day"), ("week", "On chosen weekdays"), ("month-day", "Monthly on a day"), ("month-nth", "Monthly on the nth weekday")].into_iter().map(|(v, label)| {
                        view! { <option value=v selected=fields.with_untracked(|f| f.every == v)>{label}</option> }
                    }).collect_view()}
                </select>
                <Show when=move || fields.with(|f| f.every == "week")>
                    <span class="label">"Weekdays"</span>
                    <div class="weekdays" role="group" aria-label="Weekdays">
                        {Weekday::ALL.into_iter().map(|w| view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || fields.with(|f| f.weekdays.contains(&w))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        fields.update(|f| {
                                            f.weekdays.retain(|x| *x != w);
                                            if on { f.weekdays.push(w); crate::model::order::sort_by(&mut f.weekdays, Ord::cmp); }
                                        });
                                    }/>
                                {w.short()}
                            </label>
                        }).collect_view()}
                    </div>
                </Show>
                <Show when=move || fields.with(|f| f.every == "month-day")>
                    <label for="schedule-month-day">"Day of the month"</label>
                    <input id="schedule-month-day" type="number" min="1" max="31" prop:value=move || fields.with(|f| f.month_day.clone()) on:input=set(|f, v| f.month_day = v)/>
                </Show>
                <Show when=move || fields.with(|f| f.every == "month-nth")>
                    <label for="schedule-nth">"Which"</label>
                    <div class="inline">
                        <select id="schedule-nth" aria-label="Which week" on:change=set(|f, v| f.nth = v)>
                            {[("1", "First"), ("2", "Second"), ("3", "Third"), ("4", "Fourth"), ("5", "Fifth"), ("-1", "Last")].into_iter().map(|(v, l)| view! {
                                <option value=v selected=fields.with_untracked(|f| f.nth == v)>{l}</option>
                            }).collect_view()}
                        </select>
                        <select aria-label="Weekday" on:change=set(|f, v| f.nth_weekday = v)>
                            {Weekday::ALL.into_iter().map(|w| view! {
                                <option value=w.as_str() selected=fields.with_untracked(|f| f.nth_weekday == w.as_str())>{w.short()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                </Show>
                <label for="schedule-except">"Skip these days"</label>
                <input id="schedule-except" type="text" placeholder="2027-03-17, 2027-12-25"
                    prop:value=move || fields.with(|f| f.except.clone()) on:input=set(|f, v| f.except = v)/>
                <label for="schedule-window">"When"</label>
                <select id="schedule-window" on:change=set(|f, v| f.window = v)>
                    {[("all", "All day"), ("times", "Between two times"), ("daypart", "A daypart")].into_iter().map(|(v, l)| view! {
                        <option value=v selected=fields.with_untracked(|f| f.window == v)>{l}</option>
                    }).collect_view()}
                </select>
                <Show when=move || fields.with(|f| f.window == "times")>
                    <span class="label">"Times (display's local time)"</span>
                    <div class="inline">
                        <input type="time" aria-label="Window start" prop:value=move || fields.with(|f| f.start.clone()) on:input=set(|f, v| f.start = v)/>
                        " to "
                        <input type="time" aria-label="Window end" prop:value=move || fields.with(|f| f.end.clone()) on:input=set(|f, v| f.end = v)/>
                        <span class="muted">{move || fields.with(|f| {
                            let overnight = matches!((f.start.parse::<TimeOfDay>(), f.end.parse::<TimeOfDay>()), (Ok(a), Ok(b)) if b < a);
                            if overnight { " runs past midnight" } else { "" }
                        })}</span>
                    </div>
                </Show>
                <Show when=move || fields.with(|f| f.window == "daypart")>
                    <label for="schedule-daypart">"Daypart"</label>
                    <select id="schedule-daypart" on:change=set(|f, v| f.daypart = v)>
                        <option value="">"Choose…"</option>
                        {dayparts.iter().map(|d| view! {
                            <option value=d.id.clone() selected=fields.with_untracked(|f| f.daypart == d.id)>{format!("{} ({}–{})", d.name, d.start, d.end)}</option>
                        }).collect_view()}
                    </select>
                </Show>
                <label for="schedule-priority">"Priority"</label>
                <input id="schedule-priority" type="number" min="-1000" max="1000" prop:value=move || fields.with(|f| f.priority.clone()) on:input=set(|f, v| f.priority = v)/>
                <label class="check span">
                    <input type="checkbox" prop:checked=move || fields.with(|f| f.enabled)
                        on:change=move |ev| fields.update(|f| f.enabled = event_target_checked(&ev))/>
                    "Enabled"
                </label>
            </div>
            {move || warning.get().map(|w| view! { <p class="form-warning" role="status" data-testid="overlap-warning">{w}</p> })}
            <fieldset class="preview">
                <legend>"Preview"</legend>
                <div class="inline">
                    <select aria-label="Preview display" on:change=move |ev| preview_device.set(event_target_value(&ev))>
                        {move || {
                            let c = candidate.get().ok();
                            reach_devices.iter().filter(|d| c.as_ref().is_some_and(|c| c.spec.targets(&d.id, d.group_id.as_deref())))
                                .map(|d| view! { <option value=d.id.clone()>{d.name.clone()}</option> }).collect_view()
                        }}
                    </select>
                    <input type="datetime-local" aria-label="Preview time (display's local time)"
                        prop:value=move || preview_at.get() on:input=move |ev| preview_at.set(event_target_value(&ev))/>
                </div>
                <p class="preview-answer" role="status" data-testid="schedule-preview">{move || preview.get().unwrap_or_else(|| "Pick a display this schedule reaches to see what it plays.".into())}</p>
            </fieldset>
            {move || error.get().or_else(|| candidate.get().err()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <div class="dialog-actions">
                <button type="button" class="button ghost" on:click=move |_| on_done()>"Cancel"</button>
                <button type="submit" class="button primary">"Save schedule"</button>
            </div>
        </Dialog>
    }
}
