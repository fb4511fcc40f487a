//! Schedules, dayparts, takeovers, a display's timeline, executions and
//! deploy states over REST. Every change goes through the change path like
//! the console's own ops: `Idempotency-Key` and `If-Match` mean what they
//! mean everywhere else.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{deploys, store, timeline as device_timeline_of, RECENT_TAKEOVERS_MS};
use crate::{
    error::AppError,
    model::{
        local_rfc3339, schedule as model, utc_rfc3339, zone, Change, Daypart, Deploy, EventBody,
        Execution, Millis, OpAck, Schedule, ScheduleSpec, Source, Takeover, TimeOfDay, Zone,
    },
    server::{
        core::{
            apidoc::{self, Rule},
            http::{
                in_range, rfc3339_param, run_change as run, versioned, IdempotencyKey, IfMatch,
                Json, Path, Query,
            },
            now_ms, Core, CurrentUser,
        },
        devices::store as devices,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_schedules, create_schedule, get_schedule, update_schedule, delete_schedule,
          list_dayparts, create_daypart, get_daypart, update_daypart, delete_daypart,
          list_takeovers, start_takeover, get_takeover, end_takeover,
          device_timeline, list_executions, list_deploys),
    tags((name = "schedules", description = "Schedules, dayparts, takeovers, timelines and deploys"))
)]
pub struct SchedulesDoc;

/// `HH:MM`, 00:00 to 23:59.
fn time_of_day() -> serde_json::Value {
    serde_json::json!({"type": "string", "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$"})
}

/// The input rules of schedules, for the document.
pub fn doc_rules() -> Vec<Rule> {
    let name = || apidoc::name(100);
    let priority = || {
        apidoc::range(
            i64::from(*model::PRIORITY_RANGE.start()),
            i64::from(*model::PRIORITY_RANGE.end()),
        )
    };
    let mut rules = Vec::new();
    for schema in ["ScheduleSpec", "NewSchedule"] {
        rules.push(Rule::new(schema, "name", name()));
        rules.push(Rule::new(schema, "priority", priority()));
        rules.push(Rule::new(
            schema,
            "except",
            serde_json::json!({"maxItems": model::MAX_EXCEPT_DATES, "items": {"type": "string", "format": "date"}}),
        ));
    }
    for schema in ["NewDaypart", "DaypartBody", "Daypart"] {
        rules.push(Rule::new(schema, "name", name()));
    }
    rules.push(Rule::new("NewTakeover", "name", name()));
    rules.push(Rule::schema("TimeOfDay", time_of_day()));
    rules.push(Rule::schema(
        "Recurrence",
        serde_json::json!({
            "description": "Every day; chosen weekdays; monthly on a day of the month, or on the nth (1-5, -1 the last) weekday.",
            "oneOf": [
                {"title": "Daily", "type": "object", "required": ["every"],
                 "properties": {"every": {"type": "string", "enum": ["day"]}}},
                {"title": "Weekly", "type": "object", "required": ["every", "weekdays"],
                 "properties": {"every": {"type": "string", "enum": ["week"]},
                    "weekdays": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Weekday"}}}},
                {"title": "Monthly on a day", "type": "object", "required": ["every", "day"],
                 "properties": {"every": {"type": "string", "enum": ["month"]},
                    "day": {"type": "integer", "minimum": 1, "maximum": 31}}},
                {"title": "Monthly on the nth weekday", "type": "object", "required": ["every", "nth", "weekday"],
                 "properties": {"every": {"type": "string", "enum": ["month"]},
                    "nth": {"type": "integer", "enum": [1, 2, 3, 4, 5, -1]},
                    "weekday": {"$ref": "#/components/schemas/Weekday"}}},
            ],
        }),
    ));
    rules
}

fn schedule_of(ack: OpAck) -> Result<Schedule, AppError> {
    match ack.event.body {
        EventBody::ScheduleUpserted { schedule } => Ok(schedule),
        _ => Err(AppError::internal()),
    }
}

fn daypart_of(ack: OpAck) -> Result<Daypart, AppError> {
    match ack.event.body {
        EventBody::DaypartUpserted { daypart } => Ok(daypart),
        _ => Err(AppError::internal()),
    }
}

fn takeover_of(ack: OpAck) -> Result<Takeover, AppError> {
    match ack.event.body {
        EventBody::TakeoverUpserted { takeover } => Ok(takeover),
        _ => Err(AppError::internal()),
    }
}

/// The organization's schedules, by name.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules",
    responses((status = 200, body = Vec<Schedule>)))]
pub(super) async fn list_schedules(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<Vec<Schedule>>, AppError> {
    Ok(Json(store::list_schedules(&core.db, &user.org_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewSchedule {
    /// Made when absent (from the Idempotency-Key when there is one).
    pub id: Option<String>,
    #[serde(flatten)]
    pub spec: ScheduleSpec,
}

/// Puts a playlist on a display or a group (`device_id` or `group_id`).
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules", request_body = NewSchedule,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Schedule), (status = 422, body = AppError)))]
pub(super) async fn create_schedule(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    Json(body): Json<NewSchedule>,
) -> Result<Response, AppError> {
    let change = Change::CreateSchedule {
        schedule_id: body.id.unwrap_or_else(|| key.new_entity_id(0)),
        spec: body.spec,
    };
    let s = schedule_of(run(&core, &user, &key, None, change).await?)?;
    Ok(versioned(StatusCode::CREATED, s.version, &s))
}

#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = String, Path)),
    responses((status = 200, body = Schedule), (status = 404, body = AppError)))]
pub(super) async fn get_schedule(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let s = store::get_schedule(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No schedule with this id."))?;
    Ok(versioned(StatusCode::OK, s.version, &s))
}

/// The fields of `patch` laid over `current`: any subset of a schedule's
/// fields; an unknown one is refused.
fn merged(
    current: &ScheduleSpec,
    patch: serde_json::Map<String, serde_json::Value>,
) -> Result<ScheduleSpec, AppError> {
    let mut value = serde_json::to_value(current).map_err(|_| AppError::internal())?;
    let Some(fields) = value.as_object_mut() else {
        return Err(AppError::internal());
    };
    for (k, v) in patch {
        if !fields.contains_key(&k) {
            return Err(AppError::validation(format!(
                "`{k}` is not a field of a schedule."
            )));
        }
        fields.insert(k, v);
    }
    serde_json::from_value(value)
        .map_err(|e| AppError::validation(format!("This schedule cannot be read: {e}.")))
}

/// Changes a schedule (`If-Match` required): any subset of its fields,
/// `enabled` to switch it on or off.
#[utoipa::path(patch, path = "/api/v1/schedules/{id}", tag = "schedules", request_body = ScheduleSpec,
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Schedule), (status = 409, body = AppError), (status = 422, body = AppError)))]
pub(super) async fn update_schedule(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
    Json(patch): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<Response, AppError> {
    let current = store::get_schedule(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No schedule with this id."))?;
    let change = Change::UpdateSchedule {
        schedule_id: id,
        spec: merged(&current.spec, patch)?,
    };
    let s = schedule_of(run(&core, &user, &key, Some(base), change).await?)?;
    Ok(versioned(StatusCode::OK, s.version, &s))
}

#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = AppError)))]
pub(super) async fn delete_schedule(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
) -> Result<Response, AppError> {
    let change = Change::DeleteSchedule { schedule_id: id };
    run(&core, &user, &key, Some(base), change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Named windows schedules can pick, earliest first.
#[utoipa::path(get, path = "/api/v1/dayparts", tag = "schedules",
    responses((status = 200, body = Vec<Daypart>)))]
pub(super) async fn list_dayparts(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<Vec<Daypart>>, AppError> {
    Ok(Json(store::list_dayparts(&core.db, &user.org_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDaypart {
    pub id: Option<String>,
    pub name: String,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DaypartBody {
    pub name: String,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

#[utoipa::path(post, path = "/api/v1/dayparts", tag = "schedules", request_body = NewDaypart,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Daypart), (status = 422, body = AppError)))]
pub(super) async fn create_daypart(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    Json(body): Json<NewDaypart>,
) -> Result<Response, AppError> {
    let change = Change::CreateDaypart {
        daypart_id: body.id.unwrap_or_else(|| key.new_entity_id(0)),
        name: body.name,
        start: body.start,
        end: body.end,
    };
    let d = daypart_of(run(&core, &user, &key, None, change).await?)?;
    Ok(versioned(StatusCode::CREATED, d.version, &d))
}

#[utoipa::path(get, path = "/api/v1/dayparts/{id}", tag = "schedules",
    params(("id" = String, Path)),
    responses((status = 200, body = Daypart), (status = 404, body = AppError)))]
pub(super) async fn get_daypart(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let d = store::get_daypart(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No daypart with this id."))?;
    Ok(versioned(StatusCode::OK, d.version, &d))
}

/// Renames or moves a daypart (`If-Match` required); every schedule that
/// picks it follows.
#[utoipa::path(patch, path = "/api/v1/dayparts/{id}", tag = "schedules", request_body = DaypartBody,
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Daypart), (status = 409, body = AppError), (status = 422, body = AppError)))]
pub(super) async fn update_daypart(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
    Json(body): Json<DaypartBody>,
) -> Result<Response, AppError> {
    let change = Change::UpdateDaypart {
        daypart_id: id,
        name: body.name,
        start: body.start,
        end: body.end,
    };
    let d = daypart_of(run(&core, &user, &key, Some(base), change).await?)?;
    Ok(versioned(StatusCode::OK, d.version, &d))
}

/// Refused (422) while a schedule picks the daypart.
#[utoipa::path(delete, path = "/api/v1/dayparts/{id}", tag = "schedules",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = AppError), (status = 422, body = AppError)))]
pub(super) async fn delete_daypart(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
) -> Result<Response, AppError> {
    let change = Change::DeleteDaypart { daypart_id: id };
    run(&core, &user, &key, Some(base), change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Takeovers running now or ended within the last seven days, newest first.
#[utoipa::path(get, path = "/api/v1/takeovers", tag = "schedules",
    responses((status = 200, body = Vec<Takeover>)))]
pub(super) async fn list_takeovers(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<Vec<Takeover>>, AppError> {
    let since = now_ms() - RECENT_TAKEOVERS_MS;
    Ok(Json(
        store::list_takeovers(&core.db, &user.org_id, since).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTakeover {
    pub id: Option<String>,
    pub name: String,
    pub playlist_id: String,
    /// `null` or absent: every display of the organization.
    pub group_id: Option<String>,
    /// When it starts (milliseconds since the epoch); absent or past: now.
    #[schema(minimum = 0)]
    pub starts_at: Option<Millis>,
    /// When it ends by itself (milliseconds since the epoch, in the future);
    /// absent: until it is ended.
    #[schema(minimum = 0)]
    pub ends_at: Option<Millis>,
}

/// Puts a playlist on a group or the whole fleet from now, above every schedule.
#[utoipa::path(post, path = "/api/v1/takeovers", tag = "schedules", request_body = NewTakeover,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Takeover), (status = 422, body = AppError)))]
pub(super) async fn start_takeover(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    Json(body): Json<NewTakeover>,
) -> Result<Response, AppError> {
    let change = Change::StartTakeover {
        takeover_id: body.id.unwrap_or_else(|| key.new_entity_id(0)),
        name: body.name,
        playlist_id: body.playlist_id,
        group_id: body.group_id,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
    };
    let t = takeover_of(run(&core, &user, &key, None, change).await?)?;
    Ok(versioned(StatusCode::CREATED, t.version, &t))
}

#[utoipa::path(get, path = "/api/v1/takeovers/{id}", tag = "schedules",
    params(("id" = String, Path)),
    responses((status = 200, body = Takeover), (status = 404, body = AppError)))]
pub(super) async fn get_takeover(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let t = store::get_takeover(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No takeover with this id."))?;
    Ok(versioned(StatusCode::OK, t.version, &t))
}

/// Ends a takeover now (`If-Match` required): its displays return to their
/// schedules. 409 if it has already ended.
#[utoipa::path(post, path = "/api/v1/takeovers/{id}/end", tag = "schedules",
    params(("id" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Takeover), (status = 409, body = AppError)))]
pub(super) async fn end_takeover(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
) -> Result<Response, AppError> {
    let change = Change::EndTakeover { takeover_id: id };
    let t = takeover_of(run(&core, &user, &key, Some(base), change).await?)?;
    Ok(versioned(StatusCode::OK, t.version, &t))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// RFC 3339 instant; default: now (or `to` − 48 hours when only `to` is given).
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339 instant after `from`, at most 31 days later; default: `from` + 48 hours.
    #[param(format = DateTime)]
    to: Option<String>,
}

/// One stretch of a display's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineSegment {
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    /// The same instants in the display's own zone, with its offset.
    pub start_local: String,
    pub end_local: String,
    pub playlist_id: Option<String>,
    pub source: Source,
    pub schedule_id: Option<String>,
    pub takeover_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub device_id: String,
    /// The IANA zone the windows were evaluated in.
    pub timezone: String,
    /// Ordered, covering `[from, to)` exactly; neighbours differ in playlist or source.
    pub segments: Vec<TimelineSegment>,
}

/// The most a timeline request may span.
const MAX_TIMELINE_MS: Millis = 31 * 24 * 3_600_000;

/// What a display plays over `[from, to)`: takeovers, schedules and its
/// default, evaluated in its own time zone.
#[utoipa::path(get, path = "/api/v1/devices/{id}/timeline", tag = "schedules",
    params(("id" = String, Path), TimelineQuery),
    responses((status = 200, body = Timeline), (status = 400, body = AppError), (status = 404, body = AppError)))]
pub(super) async fn device_timeline(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<TimelineQuery>,
) -> Result<Json<Timeline>, AppError> {
    let (from, to) = match (
        rfc3339_param(q.from.as_deref(), "from")?,
        rfc3339_param(q.to.as_deref(), "to")?,
    ) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, from + 48 * 3_600_000),
        // The 48 hours before `to`.
        (None, Some(to)) => (to - 48 * 3_600_000, to),
        (None, None) => {
            let now = now_ms();
            (now, now + 48 * 3_600_000)
        }
    };
    if to <= from {
        return Err(AppError::bad_request("`to` must be after `from`."));
    }
    if to - from > MAX_TIMELINE_MS {
        return Err(AppError::bad_request(
            "A timeline spans at most 31 days; ask for several.",
        ));
    }
    let device = devices::get(&core.db, &user.org_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("No display with this id."))?;
    let (segments, _) =
        device_timeline_of::of_device(&core.db, &user.org_id, &device, from, to).await?;
    let tz = zone(&device.timezone);
    Ok(Json(Timeline {
        // The zone the windows were evaluated in: UTC for an unknown name.
        timezone: if tz == Zone::UTC {
            "UTC".to_string()
        } else {
            device.timezone.clone()
        },
        device_id: device.id,
        segments: segments
            .into_iter()
            .map(|s| TimelineSegment {
                start: utc_rfc3339(s.start),
                end: utc_rfc3339(s.end),
                start_local: local_rfc3339(tz, s.start),
                end_local: local_rfc3339(tz, s.end),
                playlist_id: s.playlist_id,
                source: s.source,
                schedule_id: s.schedule_id,
                takeover_id: s.takeover_id,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExecutionsQuery {
    /// Only this display's.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    device_id: Option<String>,
    /// Only those before this instant (milliseconds), for paging.
    before: Option<Millis>,
    /// At most this many, 1 to 1000; default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// What displays switched to and when, newest first.
#[utoipa::path(get, path = "/api/v1/executions", tag = "schedules",
    params(ExecutionsQuery),
    responses((status = 200, body = Vec<Execution>), (status = 400, body = AppError)))]
pub(super) async fn list_executions(
    State(core): State<Core>,
    user: CurrentUser,
    Query(q): Query<ExecutionsQuery>,
) -> Result<Json<Vec<Execution>>, AppError> {
    let limit = in_range(q.limit, "limit", 1, 1000, 100)?;
    if let Some(id) = q.device_id.as_deref() {
        crate::server::core::ids::validate_id(id, "`device_id`")
            .map_err(|e| AppError::bad_request(e.to_string()))?;
    }
    Ok(Json(
        deploys::executions(
            &core.db,
            &user.org_id,
            q.device_id.as_deref(),
            q.before,
            limit,
        )
        .await?,
    ))
}

/// Each display's deploy: the manifest version sent last, the one its player
/// acknowledged, and what it plays.
#[utoipa::path(get, path = "/api/v1/deploys", tag = "schedules",
    responses((status = 200, body = Vec<Deploy>)))]
pub(super) async fn list_deploys(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<Vec<Deploy>>, AppError> {
    Ok(Json(deploys::list(&core.db, &user.org_id).await?))
}
