//! The report tables, each with a CSV export of exactly the rows it shows.

use leptos::prelude::*;

use crate::{
    components::chart::StatusStrip,
    model::{csv, human_seconds, thousands, AnalyticsView, PlaysReport, UptimeReport},
};

/// A link that downloads `make()` as `file`.csv: the document is made at
/// the click, from what the table holds then.
#[component]
fn CsvLink(file: &'static str, label: String, make: Callback<(), String>) -> impl IntoView {
    let on_click = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let body = make.run(());
            let href = format!(
                "data:text/csv;charset=utf-8,{}",
                String::from(js_sys::encode_uri_component(&body))
            );
            if let Some(a) = ev
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            {
                let _ = a.set_attribute("href", &href);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, make);
    };
    view! {
        <a class="button ghost small csv" href="#" download=format!("{file}.csv") aria-label=label on:click=on_click>
            "Export CSV"
        </a>
    }
}

/// Plays and play time per key, with each row's share of the plays.
#[component]
pub fn PlaysTable(
    id: &'static str,
    caption: &'static str,
    first: &'static str,
    report: Signal<PlaysReport>,
) -> impl IntoView {
    let share = |plays: i64, total: i64| {
        if total == 0 {
            0.0
        } else {
            plays as f64 * 100.0 / total as f64
        }
    };
    let make = Callback::new(move |()| {
        report.with(|r| {
            csv(
                &[first, "Plays", "Play time (s)", "Share of plays (%)"],
                r.rows.iter().map(|row| {
                    vec![
                        row.label.clone(),
                        row.plays.to_string(),
                        format!("{:.0}", row.seconds),
                        format!("{:.1}", share(row.plays, r.total.plays)),
                    ]
                }),
            )
        })
    });
    view! {
        <div class="report-table" id=id>
            <div class="table-head">
                <h3>{caption}</h3>
                <CsvLink file=id label=format!("Export {} as CSV", caption.to_lowercase()) make/>
            </div>
            <div class="table-scroll">
                <table class="table" data-report=id>
                    <caption class="visually-hidden">{format!("Proof of play {}", caption.to_lowercase())}</caption>
                    <thead><tr>
                        <th scope="col">{first}</th>
                        <th scope="col" class="num">"Plays"</th>
                        <th scope="col" class="num">"Play time"</th>
                        <th scope="col" class="num">"Share"</th>
                    </tr></thead>
                    <tbody>
                        {move || report.with(|r| {
                            if r.rows.is_empty() {
                                return view! { <tr><td colspan="4" class="empty-state">"No plays in this range."</td></tr> }.into_any();
                            }
                            r.rows.iter().map(|row| view! {
                                <tr data-key=row.key.clone()>
                                    <th scope="row">{row.label.clone()}</th>
                                    <td class="num plays">{thousands(row.plays)}</td>
                                    <td class="num">{human_seconds(row.seconds)}</td>
                                    <td class="num">{format!("{:.1} %", share(row.plays, r.total.plays))}</td>
                                </tr>
                            }).collect_view().into_any()
                        })}
                    </tbody>
                    <tfoot><tr>
                        <th scope="row">"Total"</th>
                        <td class="num total-plays">{move || report.with(|r| thousands(r.total.plays))}</td>
                        <td class="num">{move || report.with(|r| human_seconds(r.total.seconds))}</td>
                        <td></td>
                    </tr></tfoot>
                </table>
            </div>
        </div>
    }
}

/// Uptime per display or group, worst first; displays with their strip.
#[component]
pub fn UptimeTable(
    id: &'static str,
    caption: &'static str,
    first: &'static str,
    report: Signal<UptimeReport>,
    shown: Signal<Option<AnalyticsView>>,
) -> impl IntoView {
    let strips = id == "uptime-by-display";
    let make = Callback::new(move |()| {
        report.with(|r| {
            csv(
                &[
                    first,
                    "Uptime (%)",
                    "Online (s)",
                    "Idle (s)",
                    "Offline (s)",
                    "Error (s)",
                ],
                r.rows.iter().map(|row| {
                    vec![
                        row.label.clone(),
                        format!("{:.1}", row.uptime_percent),
                        row.online_seconds.to_string(),
                        row.idle_seconds.to_string(),
                        row.offline_seconds.to_string(),
                        row.error_seconds.to_string(),
                    ]
                }),
            )
        })
    });
    let strip = move |key: &str, label: &str| {
        shown.with(|v| {
            v.as_ref().map(|v| {
                // Timelines come ordered by display id.
                let spans = v
                    .timelines
                    .binary_search_by(|(d, _)| d.as_str().cmp(key))
                    .map(|i| v.timelines[i].1.clone())
                    .unwrap_or_default();
                let to = v.to.min(crate::sync::platform::now_ms() as i64);
                view! { <StatusStrip label=label.to_string() from=v.from to=to spans/> }
            })
        })
    };
    view! {
        <div class="report-table" id=id>
            <div class="table-head">
                <h3>{caption}</h3>
                <CsvLink file=id label=format!("Export uptime {} as CSV", caption.to_lowercase()) make/>
            </div>
            <div class="table-scroll">
                <table class="table" data-report=id>
                    <caption class="visually-hidden">{format!("Uptime {}", caption.to_lowercase())}</caption>
                    <thead><tr>
                        <th scope="col">{first}</th>
                        <th scope="col" class="num">"Uptime"</th>
                        <th scope="col" class="num">"Online"</th>
                        <th scope="col" class="num">"Idle"</th>
                        <th scope="col" class="num">"Offline"</th>
                        <th scope="col" class="num">"Error"</th>
                        {strips.then(|| view! { <th scope="col" class="timeline-col">"Timeline"</th> })}
                    </tr></thead>
                    <tbody>
                        {move || report.with(|r| {
                            if r.rows.is_empty() {
                                return view! { <tr><td colspan="7" class="empty-state">"No status recorded in this range."</td></tr> }.into_any();
                            }
                            r.rows.iter().map(|row| {
                                let low = if row.uptime_percent < 95.0 { "num uptime low" } else { "num uptime" };
                                view! {
                                    <tr data-key=row.key.clone()>
                                        <th scope="row">{row.label.clone()}</th>
                                        <td class=low>{format!("{:.1} %", row.uptime_percent)}</td>
                                        <td class="num">{human_seconds(row.online_seconds as f64)}</td>
                                        <td class="num">{human_seconds(row.idle_seconds as f64)}</td>
                                        <td class="num">{human_seconds(row.offline_seconds as f64)}</td>
                                        <td class="num">{human_seconds(row.error_seconds as f64)}</td>
                                        {strips.then(|| view! { <td class="timeline-col">{strip(&row.key, &row.label)}</td> })}
                                    </tr>
                                }
                            }).collect_view().into_any()
                        })}
                    </tbody>
                </table>
            </div>
        </div>
    }
}
