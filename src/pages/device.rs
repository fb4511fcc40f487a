//! One display's detail view (`/devices/:id`): status and what it plays, its
//! live metrics and their history as small charts, its alerts, its latest
//! proof of play, and a screenshot on request.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    api::health::{fetch_device_detail, send_display_command},
    app::use_session,
    components::{ago, fleet::SeverityBadge, status_badge::StatusBadge},
    model::{DeviceDetail, DisplayCommand, EventBody, MetricSample},
    pages::schedules::DisplaySchedule,
    sync::{platform::now_ms, use_alerts, use_devices, use_library, use_schedules, use_sync},
};

#[component]
pub fn DevicePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let devices = use_devices();
    // Made here rather than first in `Detail`, so the three snapshots load at once.
    use_alerts();
    use_library();
    use_schedules();
    // Derived, not a memo: read inside each Suspense, it makes that one wait.
    let device = Signal::derive(move || {
        let id = id.get();
        devices
            .devices
            .with(|all| all.iter().find(|d| d.id == id).cloned())
    });
    view! {
        <Suspense fallback=|| ()>
            <Title text=move || device.get().map(|d| d.name).unwrap_or_else(|| "Display".into())/>
        </Suspense>
        <Suspense fallback=|| view! { <p class="muted">"Loading the display…"</p> }>
            {move || devices.ready.get().map(|r| r.map(|()| {
                view! {
                    <Show
                        when=move || device.with(Option::is_some)
                        fallback=|| view! {
                            <p class="empty-state">"This display does not exist (any more). " <a href="/devices">"Back to Devices"</a></p>
                        }
                    >
                        <Detail id/>
                    </Show>
                }
            }))}
        </Suspense>
    }
}

#[component]
fn Detail(id: Memo<String>) -> impl IntoView {
    let sync = use_sync();
    let session = use_session();
    let devices = use_devices().devices;
    let alerts = use_alerts().alerts;
    let content = use_library().content;
    let device = Memo::new(move |_| {
        let id = id.get();
        devices.with(|all| all.iter().find(|d| d.id == id).cloned())
    });
    // Refetched on a timer (metrics are sampled, not streamed) and whenever
    // the stream says something about this display.
    let poll = RwSignal::new(0u32);
    let touched = Memo::new(move |_| {
        let id = id.get();
        sync.store.with(|s| {
            s.recent()
                .rev()
                .find(|e| match &e.body {
                    EventBody::DeviceUpserted { device } => device.id == id,
                    EventBody::ScreenshotTaken { device_id, .. } => *device_id == id,
                    _ => false,
                })
                .map(|e| e.seq)
        })
    });
    let detail = Resource::new(
        move || (id.get(), poll.get(), touched.get()),
        |(id, _, _)| fetch_device_detail(id),
    );
    // Re-armed only when the sample period changes, not on every refetch.
    let period = Memo::new(move |_| {
        detail
            .get()
            .and_then(Result::ok)
            .map_or(10, |d| d.sample_seconds.clamp(2, 30))
    });
    Effect::new(move |_| {
        let sample = period.get();
        let handle = set_interval_with_handle(
            move || poll.update(|n| *n += 1),
            std::time::Duration::from_secs(sample),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
        sample
    });
    let device_alerts = Memo::new(move |_| {
        let id = id.get();
        alerts.with(|all| {
            all.iter()
                .filter(|a| a.device_id == id)
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let content_name = move |content_id: &str| {
        content.with_untracked(|all| {
            all.iter()
                .find(|c| c.id == content_id)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| content_id.to_string())
        })
    };
    let command =
        Action::new(move |c: &DisplayCommand| send_display_command(id.get_untracked(), *c));
    let asked = RwSignal::new(None::<DisplayCommand>);
    Effect::new(move |_| match command.value().get() {
        Some(Ok(_)) if asked.get_untracked() == Some(DisplayCommand::Reload) => {
            sync.notices.info("The player is reloading.");
        }
        Some(Err(e)) => sync.notices.error(e.to_string()),
        _ => {}
    });
    view! {
        {move || device.get().map(|d| view! {
            <header class="page-header">
                <div class="title-with-badge">
                    <h1>{d.name.clone()}</h1>
                    <StatusBadge status=d.status/>
                </div>
                <a class="button ghost" href="/devices">"All displays"</a>
            </header>
        })}
        <div class="detail-grid">
            <section class="panel" aria-labelledby="now-title">
                <h2 id="now-title">"Now"</h2>
                <Transition fallback=|| ()>
                    {move || detail.get().map(|r| r.map(|d| {
                        let now = now_ms();
                        view! {
                            <dl class="facts">
                                <dt>"Player"</dt><dd class="connected">{if d.connected { "connected" } else { "not connected" }}</dd>
                                <dt>"Last heartbeat"</dt><dd>{ago(d.last_beat, now)}</dd>
                                <dt>"Playing"</dt><dd class="playing">{d.playing.as_deref().map(content_name).unwrap_or_else(|| "nothing".into())}</dd>
                                <dt>"Player version"</dt><dd>{d.metrics.player_version.clone().unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Uptime"</dt><dd>{d.metrics.uptime_s.map(format_uptime).unwrap_or_else(|| "—".into())}</dd>
                            </dl>
                        }
                    }))}
                </Transition>
            </section>
            <section class="panel screenshot-panel" aria-labelledby="screen-title">
                <h2 id="screen-title">"Screen"</h2>
                <Transition fallback=|| ()>
                    {move || detail.get().map(|r| r.map(|d| match d.screenshot_at {
                        Some(at) => view! {
                            <figure class="screenshot">
                                <img src=format!("/api/v1/devices/{}/screenshot?at={at}", d.device_id) alt="Latest screenshot of this display"/>
                                <figcaption class="muted">"Taken " {ago(Some(at), now_ms())}</figcaption>
                            </figure>
                        }.into_any(),
                        None => view! { <p class="muted">"No screenshot yet."</p> }.into_any(),
                    }))}
                </Transition>
                <div class="toolbar">
                    <button type="button" class="button primary" on:click=move |_| {
                        asked.set(Some(DisplayCommand::Screenshot));
                        command.dispatch(DisplayCommand::Screenshot);
                    }>"Take screenshot"</button>
                    <Show when=move || session.can_edit()>
                        <button type="button" class="button" on:click=move |_| {
                            asked.set(Some(DisplayCommand::Reload));
                            command.dispatch(DisplayCommand::Reload);
                        }>"Reload player"</button>
                    </Show>
                </div>
            </section>
        </div>
        {move || view! { <DisplaySchedule device_id=id.get()/> }}
        <section class="panel" aria-labelledby="metrics-title">
            <h2 id="metrics-title">"Metrics"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading metrics…"</p> }>
                {move || detail.get().map(|r| r.map(|d| view! { <Charts detail=d/> }))}
            </Transition>
        </section>
        <section class="panel" aria-labelledby="device-alerts-title">
            <h2 id="device-alerts-title">"Alerts"</h2>
            <ul class="alert-list compact" aria-label="Alerts on this display">
                <Show when=move || device_alerts.with(Vec::is_empty)>
                    <li class="muted">"No alerts in the last day."</li>
                </Show>
                <For each=move || device_alerts.get() key=|a| (a.id.clone(), a.version) let:alert>
                    <li class=format!("alert-item state-{}", alert.state())>
                        <SeverityBadge severity=alert.severity/>
                        <span>{alert.kind.label()} <span class="muted">{format!(" · {} · {}", alert.message, alert.state())}</span></span>
                    </li>
                </For>
            </ul>
        </section>
        <section class="panel" aria-labelledby="plays-title">
            <h2 id="plays-title">"Proof of play"</h2>
            <Transition fallback=|| ()>
                {move || detail.get().map(|r| r.map(|d| {
                    let now = now_ms();
                    view! {
                        <table class="table">
                            <thead><tr><th scope="col">"Content"</th><th scope="col">"Started"</th><th scope="col">"Seconds"</th></tr></thead>
                            <tbody aria-label="Latest plays">
                                {if d.plays.is_empty() {
                                    view! { <tr class="empty"><td colspan="3">"No plays reported yet."</td></tr> }.into_any()
                                } else {
                                    d.plays.into_iter().map(|p| view! {
                                        <tr>
                                            <td>{content_name(&p.content_id)}</td>
                                            <td>{ago(Some(p.started_at), now)}</td>
                                            <td>{format!("{:.1}", p.duration_ms as f64 / 1000.0)}</td>
                                        </tr>
                                    }).collect_view().into_any()
                                }}
                            </tbody>
                        </table>
                    }
                }))}
            </Transition>
        </section>
    }
}

/// "45 s", "12 min", "3 h 5 min", "2 d 4 h".
fn format_uptime(s: i64) -> String {
    match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min", s / 60),
        3_600..=86_399 => format!("{} h {} min", s / 3_600, (s % 3_600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// Four small charts: CPU, memory, temperature, free storage.
#[component]
fn Charts(detail: DeviceDetail) -> impl IntoView {
    let samples = detail.samples;
    let series = |f: fn(&MetricSample) -> Option<f64>| -> Vec<(i64, f64)> {
        samples
            .iter()
            .filter_map(|s| f(s).map(|v| (s.at, v)))
            .collect()
    };
    let m = detail.metrics;
    let span = match (samples.first(), samples.last()) {
        (Some(a), Some(b)) if b.at > a.at => format!(
            "{} samples over the last {}",
            samples.len(),
            format_uptime((b.at - a.at) / 1000)
        ),
        _ => "No history yet".to_string(),
    };
    let caption = format!(
        "{span} (one every {} s, kept 7 days); the figure is the latest heartbeat.",
        detail.sample_seconds
    );
    view! {
        <p class="muted chart-caption">{caption}</p>
        <div class="charts">
            <Sparkline label="CPU" unit="%" points=series(|s| s.cpu_pct) now=m.cpu_pct fixed_max=Some(100.0)/>
            <Sparkline label="Memory" unit="%" points=series(|s| s.memory_pct) now=m.memory_pct fixed_max=Some(100.0)/>
            <Sparkline label="Temperature" unit="°C" points=series(|s| s.temperature_c) now=m.temperature_c fixed_max=None/>
            <Sparkline label="Storage free" unit="%" points=series(|s| s.storage_free_pct) now=m.storage_free_pct fixed_max=Some(100.0)/>
        </div>
    }
}

/// A line over time in a 240×64 box, with the latest value beside its label.
#[component]
fn Sparkline(
    label: &'static str,
    unit: &'static str,
    points: Vec<(i64, f64)>,
    now: Option<f64>,
    fixed_max: Option<f64>,
) -> impl IntoView {
    const W: f64 = 240.0;
    const H: f64 = 64.0;
    let latest = now.or_else(|| points.last().map(|p| p.1));
    let path = (points.len() >= 2).then(|| {
        let (t0, t1) = (points[0].0, points[points.len() - 1].0);
        let span_t = (t1 - t0).max(1) as f64;
        let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = match fixed_max {
            Some(max) => (0.0, max.max(hi)),
            None => (lo - 2.0, hi + 2.0),
        };
        let span_v = (hi - lo).max(1e-9);
        points
            .iter()
            .map(|(t, v)| {
                let x = (*t - t0) as f64 / span_t * W;
                let y = H - (v - lo) / span_v * H;
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    });
    let count = points.len();
    view! {
        <figure class="chart" data-metric=label.to_lowercase().replace(' ', "-") data-samples=count.to_string()>
            <figcaption>
                <span>{label}</span>
                <strong class="chart-value">{latest.map(|v| format!("{v:.1} {unit}")).unwrap_or_else(|| "—".into())}</strong>
            </figcaption>
            {match path {
                Some(points) => view! {
                    <svg viewBox="0 0 240 64" preserveAspectRatio="none" role="img"
                        aria-label=format!("{label} over the last {count} samples")>
                        <polyline points=points fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke"/>
                    </svg>
                }.into_any(),
                None => view! { <p class="muted chart-empty">"Not enough samples yet."</p> }.into_any(),
            }}
        </figure>
    }
}
