//! Reports and the activity history over REST: JSON, or CSV with
//! `Accept: text/csv` (the same rows, a header line first).

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    activity::{self, ActivityFilter},
    report::{self, Filter, Range, MAX_RANGE_MS},
};
use crate::{
    error::AppError,
    model::{
        csv, ActivityItem, ActivityPage, GroupBy, PlayRow, PlayTotals, PlaysReport, UptimeReport,
        UptimeRow, Zone, DAY_MS,
    },
    server::core::{
        http::{in_range, rfc3339_param, Json, Query},
        now_ms, Core, CurrentUser,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(plays, uptime, list_activity),
    components(schemas(PlayRow, PlayTotals, PlaysReport, UptimeRow, UptimeReport, ActivityItem,
        ActivityPage, GroupBy)),
    tags((name = "analytics", description = "Proof of play, uptime and the activity history"))
)]
pub struct AnalyticsDoc;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// RFC 3339 instant; default: `to` − 7 days.
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339 instant after `from` (at most three years later); default: now.
    #[param(format = DateTime)]
    to: Option<String>,
    /// Plays: content, display, group, playlist, day or hour (default
    /// content). Uptime: display or group (default display).
    group_by: Option<String>,
    /// IANA zone that `day` and `hour` buckets are in; default UTC.
    tz: Option<String>,
}

fn range(q: &ReportQuery) -> Result<Range, AppError> {
    let to = rfc3339_param(q.to.as_deref(), "to")?.unwrap_or_else(now_ms);
    let from = rfc3339_param(q.from.as_deref(), "from")?.unwrap_or(to - 7 * DAY_MS);
    if to <= from {
        return Err(AppError::bad_request("`to` must be after `from`."));
    }
    if to - from > MAX_RANGE_MS {
        return Err(AppError::bad_request(
            "A report covers at most three years.",
        ));
    }
    let tz = match q.tz.as_deref() {
        None | Some("") => Zone::UTC,
        Some(name) => Zone::named(name).ok_or_else(|| {
            AppError::bad_request(format!(
                "`tz` must be an IANA time zone such as Europe/Paris; “{name}” is not one."
            ))
        })?,
    };
    Ok(Range { from, to, tz })
}

fn group_by(q: &ReportQuery, allowed: &[GroupBy], default: GroupBy) -> Result<GroupBy, AppError> {
    match q.group_by.as_deref() {
        None | Some("") => Ok(default),
        Some(s) => GroupBy::parse(s)
            .filter(|g| allowed.contains(g))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|g| g.as_str()).collect();
                AppError::bad_request(format!("`group_by` is one of {}.", names.join(", ")))
            }),
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"))
}

/// A report as JSON, or as CSV (`name`.csv) when the request accepts it.
fn answer<T: serde::Serialize>(
    headers: &HeaderMap,
    name: &str,
    report: T,
    as_csv: fn(&T) -> String,
) -> Response {
    if wants_csv(headers) {
        csv_response(name, as_csv(&report))
    } else {
        Json(report).into_response()
    }
}

fn csv_response(name: &str, body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// The rows of a plays report as CSV.
pub fn plays_csv(report: &PlaysReport) -> String {
    csv(
        &["key", "label", "plays", "seconds"],
        report.rows.iter().map(|r| {
            vec![
                r.key.clone(),
                r.label.clone(),
                r.plays.to_string(),
                format!("{:.3}", r.seconds),
            ]
        }),
    )
}

/// The rows of an uptime report as CSV.
pub fn uptime_csv(report: &UptimeReport) -> String {
    csv(
        &[
            "key",
            "label",
            "online_seconds",
            "idle_seconds",
            "offline_seconds",
            "error_seconds",
            "uptime_percent",
        ],
        report.rows.iter().map(|r| {
            vec![
                r.key.clone(),
                r.label.clone(),
                r.online_seconds.to_string(),
                r.idle_seconds.to_string(),
                r.offline_seconds.to_string(),
                r.error_seconds.to_string(),
                format!("{:.1}", r.uptime_percent),
            ]
        }),
    )
}

/// Proof of play over `[from, to)` by content, display, group, playlist,
/// day or hour. A play counts in the range (and bucket) its start falls in;
/// its time counts where it played, split at bucket edges.
#[utoipa::path(get, path = "/api/v1/analytics/plays", tag = "analytics",
    params(ReportQuery, Filter),
    responses((status = 200, content((PlaysReport = "application/json"), (String = "text/csv"))),
        (status = 400, body = AppError)))]
pub(super) async fn plays(
    State(core): State<Core>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    let r = range(&q)?;
    let by = group_by(&q, &GroupBy::ALL, GroupBy::Content)?;
    let report = report::plays(&core.db, &user.org_id, r, by, &f).await?;
    Ok(answer(
        &headers,
        &format!("plays-by-{}", by.as_str()),
        report,
        plays_csv,
    ))
}

/// Time online, idle, offline and in error per display or group over
/// `[from, to)`, worst first. Up is online or idle.
#[utoipa::path(get, path = "/api/v1/analytics/uptime", tag = "analytics",
    params(ReportQuery, Filter),
    responses((status = 200, content((UptimeReport = "application/json"), (String = "text/csv"))),
        (status = 400, body = AppError)))]
pub(super) async fn uptime(
    State(core): State<Core>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    let r = range(&q)?;
    let by = group_by(&q, &[GroupBy::Display, GroupBy::Group], GroupBy::Display)?;
    let report = report::uptime(&core.db, &user.org_id, r, by, &f, now_ms()).await?;
    Ok(answer(
        &headers,
        &format!("uptime-by-{}", by.as_str()),
        report,
        uptime_csv,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// 1 to 500; default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    before: Option<String>,
    /// An operator's email.
    actor: Option<String>,
    /// device, group, content, playlist, schedule, daypart, takeover,
    /// alert, alert_rule, user, token, …
    entity: Option<String>,
    #[param(format = DateTime)]
    from: Option<String>,
    #[param(format = DateTime)]
    to: Option<String>,
}

/// Who changed what, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/activity", tag = "analytics",
    params(ActivityQuery),
    responses((status = 200, body = ActivityPage), (status = 400, body = AppError)))]
pub(super) async fn list_activity(
    State(core): State<Core>,
    user: CurrentUser,
    Query(q): Query<ActivityQuery>,
) -> Result<Json<ActivityPage>, AppError> {
    let limit = in_range(q.limit, "limit", 1, 500, 50)?;
    let before = q
        .before
        .as_deref()
        .filter(|b| !b.is_empty())
        .map(|b| {
            b.parse::<i64>()
                .map_err(|_| AppError::bad_request("`before` is the `next` of a previous page."))
        })
        .transpose()?;
    let filter = ActivityFilter {
        before,
        actor: q.actor.filter(|a| !a.is_empty()),
        entity: q.entity.filter(|e| !e.is_empty()),
        from: rfc3339_param(q.from.as_deref(), "from")?,
        to: rfc3339_param(q.to.as_deref(), "to")?,
    };
    Ok(Json(
        activity::list(&core.db, &user.org_id, &filter, limit).await?,
    ))
}
