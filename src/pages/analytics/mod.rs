//! Analytics: proof of play and uptime over a range of the operator's days,
//! filtered by group, display, content and playlist. The reports come in
//! one snapshot at a stream position (`fetch_analytics`); every
//! `PlaysRecorded` event after it adds to them in place, so the counters and
//! today's bar grow as displays play, without a refetch.

mod tables;
mod zone;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};

use crate::{
    api::analytics::fetch_analytics,
    components::chart::{Bar, ColumnChart, RowChart},
    model::{human_seconds, thousands, AnalyticsQuery, AnalyticsView, EventBody, GroupBy},
    sync::{use_devices, use_library, use_sync},
};

use tables::{PlaysTable, UptimeTable};

/// The query the URL names, in zone `tz`.
fn query_of(params: &leptos_router::params::ParamsMap, tz: String) -> AnalyticsQuery {
    let get = |k: &str| params.get(k).filter(|v| !v.is_empty());
    AnalyticsQuery {
        range: get("range").unwrap_or_else(|| "7d".into()),
        start: get("start").and_then(|d| d.parse().ok()),
        end: get("end").and_then(|d| d.parse().ok()),
        tz,
        device_id: get("display"),
        group_id: get("group"),
        content_id: get("content"),
        playlist_id: get("playlist"),
    }
}

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let params = use_query_map();
    let tz = zone::operator_zone();
    let query = Memo::new(move |_| params.with(|p| query_of(p, tz.get())));
    let again = RwSignal::new(0u32);
    let sync = use_sync();
    let report = Resource::new(
        move || (query.get(), again.get(), sync.refetch.get()),
        |(q, _, _)| fetch_analytics(q),
    );
    // The report as last fetched, plus the plays the stream has brought since.
    let live = RwSignal::new(None::<AnalyticsView>);
    Effect::new(move |_| {
        if let Some(Ok(v)) = report.get() {
            live.set(Some(v));
        }
    });
    let devices = use_devices();
    let library = use_library();
    Effect::new(move |_| {
        let Some(at) = live.with_untracked(|v| v.as_ref().map(|v| v.seq)) else {
            // Tracks the report so this runs again once it is in.
            live.track();
            return;
        };
        let (events, missed) = sync.store.with(|s| {
            let events: Vec<(i64, Vec<crate::model::PlayTally>)> = s
                .recent()
                .filter(|e| e.seq > at)
                .filter_map(|e| match &e.body {
                    EventBody::PlaysRecorded { tallies } => Some((e.seq, tallies.clone())),
                    _ => None,
                })
                .collect();
            // Events after the report dropped out of the store's window
            // before this saw them: read the report again.
            let gap = s.recent().next().is_some_and(|e| e.seq > at + 1);
            (events, gap && s.seq() > at)
        });
        if missed {
            again.update(|n| *n += 1);
            return;
        }
        if events.is_empty() {
            return;
        }
        let name = |by: GroupBy, id: &str| -> String {
            let found = match by {
                GroupBy::Content => library
                    .content
                    .with_untracked(|c| c.iter().find(|x| x.id == id).map(|x| x.name.clone())),
                GroupBy::Display => devices
                    .devices
                    .with_untracked(|d| d.iter().find(|x| x.id == id).map(|x| x.name.clone())),
                GroupBy::Group => devices
                    .groups
                    .with_untracked(|g| g.iter().find(|x| x.id == id).map(|x| x.name.clone())),
                GroupBy::Playlist => library
                    .playlists
                    .with_untracked(|p| p.iter().find(|x| x.id == id).map(|x| x.name.clone())),
                _ => None,
            };
            found.unwrap_or_else(|| match (by, id) {
                (GroupBy::Group, "") => "No group".into(),
                (GroupBy::Playlist, "") => "No playlist".into(),
                _ => id.to_string(),
            })
        };
        live.update(|v| {
            if let Some(v) = v {
                for (seq, tallies) in &events {
                    v.add(*seq, tallies, name);
                }
            }
        });
    });
    // What the page shows: the live copy once the browser has it, the
    // fetched report before (the server's render and hydration). A memo,
    // so the tables borrow it: a derived signal would clone every report
    // and timeline for each row that reads it (a second and a half of the
    // server render with 1,000 displays).
    let shown: Signal<Option<AnalyticsView>> = Memo::new(move |_| {
        live.get()
            .filter(|v| v.query == query.get())
            .or_else(|| report.get().and_then(Result::ok))
    })
    .into();
    view! {
        <Title text="Analytics"/>
        <header class="page-header">
            <h1>"Analytics"</h1>
            <p class="muted zone-note">"Days and hours in " <strong class="zone">{move || tz.get()}</strong></p>
        </header>
        <Filters query/>
        <Transition fallback=|| view! { <p class="muted">"Reading the reports…"</p> }>
            {move || report.get().map(|r| match r {
                Ok(_) => view! { <Reports shown/> }.into_any(),
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// The range and filter controls; each change is a new URL.
#[component]
fn Filters(query: Memo<AnalyticsQuery>) -> impl IntoView {
    let navigate = use_navigate();
    let devices = use_devices();
    let library = use_library();
    let go = move |change: &dyn Fn(&mut AnalyticsQuery)| {
        let mut q = query.get_untracked();
        change(&mut q);
        let mut parts = vec![format!("range={}", q.range)];
        if q.range == "custom" {
            if let (Some(a), Some(b)) = (q.start, q.end) {
                parts.push(format!("start={a}&end={b}"));
            }
        }
        for (k, v) in [
            ("group", &q.group_id),
            ("display", &q.device_id),
            ("content", &q.content_id),
            ("playlist", &q.playlist_id),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        navigate(
            &format!("/analytics?{}", parts.join("&")),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let go = StoredValue::new(go);
    let pick = move |f: fn(&mut AnalyticsQuery, Option<String>)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            go.with_value(|go| go(&|q| f(q, Some(v.clone()).filter(|v| !v.is_empty()))));
        }
    };
    let range_button = move |value: &'static str, text: &'static str| {
        view! {
            <button type="button" class="button" aria-pressed=move || (query.with(|q| q.range == value)).to_string()
                on:click=move |_| go.with_value(|go| go(&|q| {
                    q.range = value.into();
                    if value == "custom" && q.start.is_none() {
                        let today = crate::model::local_date(crate::model::zone(&q.tz), crate::sync::platform::now_ms() as i64);
                        q.start = Some(today - chrono::Duration::days(13));
                        q.end = Some(today);
                    }
                }))>
                {text}
            </button>
        }
    };
    let date = move |end: bool| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev).parse().ok();
            go.with_value(|go| {
                go(&|q| {
                    q.range = "custom".into();
                    if end {
                        q.end = v;
                    } else {
                        q.start = v;
                    }
                })
            });
        }
    };
    view! {
        <section class="panel analytics-filters" aria-label="Range and filters">
            <div class="segmented" role="group" aria-label="Range">
                {range_button("today", "Today")}
                {range_button("7d", "7 days")}
                {range_button("30d", "30 days")}
                {range_button("custom", "Custom")}
            </div>
            <Show when=move || query.with(|q| q.range == "custom")>
                <label>"From " <input type="date" prop:value=move || query.with(|q| q.start.map(|d| d.to_string()).unwrap_or_default()) on:change=date(false)/></label>
                <label>"To " <input type="date" prop:value=move || query.with(|q| q.end.map(|d| d.to_string()).unwrap_or_default()) on:change=date(true)/></label>
            </Show>
            <Suspense fallback=|| ()>
                <label>"Group "
                    <select aria-label="Group" on:change=pick(|q, v| q.group_id = v) prop:value=move || query.with(|q| q.group_id.clone().unwrap_or_default())>
                        <option value="">"All groups"</option>
                        {move || devices.groups.get().into_iter().map(|g| view! { <option value=g.id.clone()>{g.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Display "
                    <select aria-label="Display" on:change=pick(|q, v| q.device_id = v) prop:value=move || query.with(|q| q.device_id.clone().unwrap_or_default())>
                        <option value="">"All displays"</option>
                        {move || devices.devices.get().into_iter().map(|d| view! { <option value=d.id.clone()>{d.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Content "
                    <select aria-label="Content" on:change=pick(|q, v| q.content_id = v) prop:value=move || query.with(|q| q.content_id.clone().unwrap_or_default())>
                        <option value="">"All content"</option>
                        {move || library.content.get().into_iter().map(|c| view! { <option value=c.id.clone()>{c.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Playlist "
                    <select aria-label="Playlist" on:change=pick(|q, v| q.playlist_id = v) prop:value=move || query.with(|q| q.playlist_id.clone().unwrap_or_default())>
                        <option value="">"All playlists"</option>
                        {move || library.playlists.get().into_iter().map(|p| view! { <option value=p.id.clone()>{p.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
            </Suspense>
        </section>
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// "Tue 1 Dec" for a day key (`2026-12-01`).
fn day_label(key: &str) -> (String, String) {
    match key.parse::<chrono::NaiveDate>() {
        Ok(d) => (
            d.format("%a %-d %b %Y").to_string(),
            d.format("%-d %b").to_string(),
        ),
        Err(_) => (key.to_string(), key.to_string()),
    }
}

#[component]
fn Reports(shown: Signal<Option<AnalyticsView>>) -> impl IntoView {
    let pick = move |f: fn(&AnalyticsView) -> crate::model::PlaysReport| {
        Signal::<crate::model::PlaysReport>::from(Memo::new(move |_| {
            shown.with(|v| v.as_ref().map(f).unwrap_or_default())
        }))
    };
    let by_content = pick(|v| v.by_content.clone());
    let by_display = pick(|v| v.by_display.clone());
    let by_group = pick(|v| v.by_group.clone());
    let by_playlist = pick(|v| v.by_playlist.clone());
    let by_day = pick(|v| v.by_day.clone());
    let today = Signal::derive(move || {
        shown.with(|v| {
            v.as_ref().map(|v| {
                crate::model::local_date(
                    crate::model::zone(&v.query.tz),
                    crate::sync::platform::now_ms() as i64,
                )
                .to_string()
            })
        })
    });
    let day_bars = Signal::derive(move || {
        let today = today.get();
        by_day.with(|r| {
            r.rows
                .iter()
                .map(|row| {
                    let (label, short) = day_label(&row.key);
                    Bar {
                        label,
                        short,
                        value: row.plays as f64,
                        text: plays_text(row.plays, row.seconds),
                        current: today.as_deref() == Some(row.key.as_str()),
                    }
                })
                .collect()
        })
    });
    let top_bars = Signal::derive(move || {
        by_content.with(|r| {
            r.rows
                .iter()
                .take(10)
                .map(|row| Bar {
                    label: row.label.clone(),
                    short: shorten(&row.label, 22),
                    value: row.plays as f64,
                    text: plays_text(row.plays, row.seconds),
                    current: false,
                })
                .collect()
        })
    });
    let uptime_display = Signal::derive(move || {
        shown.with(|v| {
            v.as_ref()
                .map(|v| v.uptime_by_display.clone())
                .unwrap_or_default()
        })
    });
    let uptime_group = Signal::derive(move || {
        shown.with(|v| {
            v.as_ref()
                .map(|v| v.uptime_by_group.clone())
                .unwrap_or_default()
        })
    });
    let fleet_uptime = Signal::derive(move || {
        uptime_display.with(|u| {
            let (up, known) = u.rows.iter().fold((0, 0), |(up, known), r| {
                (
                    up + r.online_seconds + r.idle_seconds,
                    known + r.online_seconds + r.idle_seconds + r.offline_seconds + r.error_seconds,
                )
            });
            if known == 0 {
                "—".to_string()
            } else {
                format!("{:.1} %", up as f64 * 100.0 / known as f64)
            }
        })
    });
    let span = Signal::derive(move || {
        shown.with(|v| {
            v.as_ref()
                .map(|v| {
                    if v.first == v.last {
                        v.first.format("%a %-d %b %Y").to_string()
                    } else {
                        format!(
                            "{} – {}",
                            v.first.format("%-d %b %Y"),
                            v.last.format("%-d %b %Y")
                        )
                    }
                })
                .unwrap_or_default()
        })
    });
    view! {
        <section class="kpis" aria-label="Totals for the range">
            <p class="muted range-note">{span}</p>
            <div class="kpi" data-kpi="plays">
                <span class="kpi-label">"Plays"</span>
                <strong class="value">{move || by_content.with(|r| thousands(r.total.plays))}</strong>
            </div>
            <div class="kpi" data-kpi="play-time">
                <span class="kpi-label">"Play time"</span>
                <strong class="value">{move || by_content.with(|r| human_seconds(r.total.seconds))}</strong>
            </div>
            <div class="kpi" data-kpi="displays">
                <span class="kpi-label">"Displays that played"</span>
                <strong class="value">{move || by_display.with(|r| r.rows.iter().filter(|x| x.plays > 0).count().to_string())}</strong>
            </div>
            <div class="kpi" data-kpi="uptime">
                <span class="kpi-label">"Fleet uptime"</span>
                <strong class="value">{fleet_uptime}</strong>
            </div>
        </section>
        <div class="chart-grid">
            <section class="panel">
                <ColumnChart id="plays-per-day" caption="Plays per day" what="plays" bars=day_bars/>
            </section>
            <section class="panel">
                <RowChart id="top-content" caption="Top content by plays" what="plays" bars=top_bars/>
            </section>
        </div>
        <section class="panel" aria-labelledby="pop-title">
            <h2 id="pop-title">"Proof of play"</h2>
            <PlaysTable id="by-content" caption="Per content" first="Content" report=by_content/>
            <PlaysTable id="by-display" caption="Per display" first="Display" report=by_display/>
            <PlaysTable id="by-group" caption="Per group" first="Group" report=by_group/>
            <PlaysTable id="by-playlist" caption="Per playlist" first="Playlist" report=by_playlist/>
            <PlaysTable id="by-day" caption="Per day" first="Day" report=by_day/>
        </section>
        <section class="panel" aria-labelledby="uptime-title">
            <h2 id="uptime-title">"Uptime"</h2>
            <p class="muted">"Up is online or idle (connected and healthy); worst first. Each strip shows the display's states across the range."</p>
            <UptimeTable id="uptime-by-display" caption="Per display" first="Display" report=uptime_display shown/>
            <UptimeTable id="uptime-by-group" caption="Per group" first="Group" report=uptime_group shown/>
        </section>
    }
}

fn plays_text(plays: i64, seconds: f64) -> String {
    format!(
        "{} {}, {}",
        thousands(plays),
        if plays == 1 { "play" } else { "plays" },
        human_seconds(seconds)
    )
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}
