//! Bar charts drawn as SVG by us, no chart library. Each chart is a figure
//! whose caption says what it shows and a sentence sums it up; every bar is
//! focusable and names its own figure (`aria-label`, and a `<title>` for the
//! mouse), so the numbers are reachable by keyboard and screen reader alike.

use leptos::prelude::*;

/// One bar: what it is, its value, and how the value reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// A shorter label under the bar (columns) or beside it (rows).
    pub short: String,
    pub value: f64,
    pub text: String,
    /// Marked (today, say).
    pub current: bool,
}

/// The sentence a chart's screen-reader summary starts with.
fn summary(bars: &[Bar], what: &str) -> String {
    match bars
        .iter()
        .filter(|b| b.value > 0.0)
        .max_by(|a, b| a.value.total_cmp(&b.value))
    {
        None => format!("No {what} in this range."),
        Some(top) => format!(
            "{} bars; the highest is {}: {}.",
            bars.len(),
            top.label,
            top.text
        ),
    }
}

const W: f64 = 720.0;
const H: f64 = 180.0;
const AXIS: f64 = 22.0;

/// Vertical bars in a row (one per day, say), labelled underneath.
#[component]
pub fn ColumnChart(
    id: &'static str,
    caption: &'static str,
    /// What the bars count, for the summary ("plays").
    what: &'static str,
    #[prop(into)] bars: Signal<Vec<Bar>>,
) -> impl IntoView {
    let desc = format!("{id}-desc");
    view! {
        <figure class="chart column-chart" id=id aria-labelledby=format!("{id}-caption")>
            <figcaption id=format!("{id}-caption")>{caption}</figcaption>
            <p class="visually-hidden" id=desc.clone()>{move || bars.with(|b| summary(b, what))}</p>
            <svg viewBox=format!("0 0 {W} {}", H + AXIS) role="group" aria-labelledby=format!("{id}-caption")
                aria-describedby=desc preserveAspectRatio="none">
                {move || bars.with(|bars| {
                    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1.0);
                    let n = bars.len().max(1) as f64;
                    let slot = W / n;
                    let every = (n / 12.0).ceil().max(1.0) as usize;
                    bars.iter().enumerate().map(|(i, b)| {
                        let h = (b.value / max * (H - 4.0)).max(if b.value > 0.0 { 2.0 } else { 0.0 });
                        let x = i as f64 * slot + slot * 0.15;
                        let w = slot * 0.7;
                        let class = if b.current { "bar current" } else { "bar" };
                        view! {
                            <g class=class tabindex="0" role="img" aria-label=format!("{}: {}", b.label, b.text)>
                                <title>{format!("{}: {}", b.label, b.text)}</title>
                                // The whole slot takes the pointer; the bar is what shows.
                                <rect class="hit" x=i as f64 * slot y="0" width=slot height=H/>
                                <rect class="fill" x=x y=H - h width=w height=h rx="2"/>
                                {(i % every == 0).then(|| view! {
                                    <text x=x + w / 2.0 y=H + 16.0 text-anchor="middle">{b.short.clone()}</text>
                                })}
                            </g>
                        }
                    }).collect_view()
                })}
            </svg>
        </figure>
    }
}

/// Horizontal bars, one per row, the label beside each (top content, say).
#[component]
pub fn RowChart(
    id: &'static str,
    caption: &'static str,
    what: &'static str,
    #[prop(into)] bars: Signal<Vec<Bar>>,
) -> impl IntoView {
    let desc = format!("{id}-desc");
    // Narrower than the column chart: it sits in the smaller panel, and
    // its text should read at the same size.
    const W: f64 = 460.0;
    const ROW: f64 = 24.0;
    const LABEL: f64 = 150.0;
    view! {
        <figure class="chart row-chart" id=id aria-labelledby=format!("{id}-caption")>
            <figcaption id=format!("{id}-caption")>{caption}</figcaption>
            <p class="visually-hidden" id=desc.clone()>{move || bars.with(|b| summary(b, what))}</p>
            <svg viewBox=move || format!("0 0 {W} {}", bars.with(Vec::len).max(1) as f64 * ROW)
                role="group" aria-labelledby=format!("{id}-caption") aria-describedby=desc>
                {move || bars.with(|bars| {
                    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1.0);
                    let room = W - LABEL - 110.0;
                    bars.iter().enumerate().map(|(i, b)| {
                        let y = i as f64 * ROW;
                        let w = (b.value / max * room).max(if b.value > 0.0 { 2.0 } else { 0.0 });
                        view! {
                            <g class="bar" tabindex="0" role="img" aria-label=format!("{}: {}", b.label, b.text)>
                                <title>{format!("{}: {}", b.label, b.text)}</title>
                                <rect class="hit" x="0" y=y width=W height=ROW/>
                                <text class="label" x=LABEL - 8.0 y=y + ROW * 0.65 text-anchor="end">{b.short.clone()}</text>
                                <rect class="fill" x=LABEL y=y + 5.0 width=w height=ROW - 10.0 rx="2"/>
                                <text class="value" x=LABEL + w + 6.0 y=y + ROW * 0.65>{crate::model::thousands(b.value.round() as i64)}</text>
                            </g>
                        }
                    }).collect_view()
                })}
            </svg>
        </figure>
    }
}

/// A strip of a display's statuses over the range (its uptime row).
#[component]
pub fn StatusStrip(
    label: String,
    from: i64,
    to: i64,
    spans: Vec<crate::model::StatusSpan>,
) -> impl IntoView {
    let width = (to - from).max(1) as f64;
    let summary = {
        let mut known: Vec<(String, i64)> = Vec::new();
        for s in &spans {
            match known.iter_mut().find(|(k, _)| *k == s.status) {
                Some(e) => e.1 += s.to - s.from,
                None => known.push((s.status.clone(), s.to - s.from)),
            }
        }
        let parts: Vec<String> = known
            .iter()
            .map(|(k, ms)| format!("{k} {}", crate::model::human_seconds(*ms as f64 / 1000.0)))
            .collect();
        if parts.is_empty() {
            format!("{label}: no status recorded in this range")
        } else {
            format!("{label}: {}", parts.join(", "))
        }
    };
    view! {
        <svg class="status-strip" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label=summary>
            {spans.into_iter().map(|s| {
                let x = (s.from - from) as f64 / width * 100.0;
                let w = (s.to - s.from) as f64 / width * 100.0;
                view! { <rect class=format!("s-{}", s.status) x=x y="0" width=w height="6"/> }
            }).collect_view()}
        </svg>
    }
}
