//! A display's timeline from the database: the plan that can reach it (its
//! own and its group's schedules, the dayparts, the takeovers for its group
//! or the fleet) evaluated by the shared rule, `model::timeline`.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use crate::{
    error::AppError,
    model::{
        timeline, Daypart, Device, EventBody, Millis, Plan, Schedule, Screen, Segment, Takeover,
    },
    server::{core::Db, devices::store as devices},
};

use super::store::{self, schedule_of, takeover_of, SCHEDULE_COLUMNS, TAKEOVER_COLUMNS};

/// What a display's timeline was read from, for knowing when to read again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reach {
    pub schedules: HashSet<String>,
    pub dayparts: HashSet<String>,
}

/// The schedules, dayparts and takeovers that can reach one display.
#[derive(Debug, Clone, Default)]
pub struct DevicePlan {
    pub schedules: Vec<Schedule>,
    pub dayparts: Vec<Daypart>,
    pub takeovers: Vec<Takeover>,
}

impl DevicePlan {
    pub fn plan(&self) -> Plan<'_> {
        Plan {
            schedules: &self.schedules,
            dayparts: &self.dayparts,
            takeovers: &self.takeovers,
        }
    }
    pub fn reach(&self) -> Reach {
        Reach {
            schedules: self.schedules.iter().map(|s| s.id.clone()).collect(),
            dayparts: self
                .schedules
                .iter()
                .filter_map(|s| s.spec.daypart_id.clone())
                .collect(),
        }
    }
}

/// Reads what can reach `device` over instants after `since` (takeovers
/// that ended before it are left out).
pub async fn plan_for(
    db: &Db,
    org_id: &str,
    device: &Device,
    since: Millis,
) -> Result<DevicePlan, AppError> {
    let group = device.group_id.as_deref().unwrap_or("");
    let schedules = schedules_where(
        db,
        "org_id = $1 AND (device_id = $2 OR group_id = $3)",
        &[org_id, &device.id, group],
    )
    .await?;
    let dayparts = if schedules.iter().any(|s| s.spec.daypart_id.is_some()) {
        store::list_dayparts(db, org_id).await?
    } else {
        Vec::new()
    };
    let rows = sqlx::query(&format!(
        "SELECT {TAKEOVER_COLUMNS} FROM takeovers \
         WHERE org_id = $1 AND (group_id IS NULL OR group_id = $2) \
         AND COALESCE(ended_at, ends_at, $3) >= $3"
    ))
    .bind(org_id)
    .bind(group)
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    let takeovers = rows.iter().map(takeover_of).collect();
    Ok(DevicePlan {
        schedules,
        dayparts,
        takeovers,
    })
}

/// The schedules `condition` (on their columns, with `args` as `$1`…) picks.
async fn schedules_where(
    db: &Db,
    condition: &str,
    args: &[&str],
) -> Result<Vec<Schedule>, AppError> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE {condition}");
    let mut q = sqlx::query(&sql);
    for arg in args {
        q = q.bind(*arg);
    }
    q.fetch_all(&db.pool)
        .await?
        .iter()
        .map(schedule_of)
        .collect()
}

/// The default playlist of the display's group, if it has a group.
pub async fn group_default(
    db: &Db,
    org_id: &str,
    device: &Device,
) -> Result<Option<String>, AppError> {
    match &device.group_id {
        Some(g) => devices::group_playlist(db, org_id, g).await,
        None => Ok(None),
    }
}

/// `device`'s timeline over `[from, to)` and the plan it came from.
pub async fn of_device(
    db: &Db,
    org_id: &str,
    device: &Device,
    from: Millis,
    to: Millis,
) -> Result<(Vec<Segment>, DevicePlan), AppError> {
    let plan = plan_for(db, org_id, device, from).await?;
    let group_default = group_default(db, org_id, device).await?;
    Ok(timeline_of(
        device,
        plan,
        group_default.as_deref(),
        from,
        to,
    ))
}

/// `device`'s timeline over `[from, to)` from its plan and its group's
/// default playlist, however they were read; with the plan.
fn timeline_of(
    device: &Device,
    plan: DevicePlan,
    group_default: Option<&str>,
    from: Millis,
    to: Millis,
) -> (Vec<Segment>, DevicePlan) {
    let screen = Screen::of(device, group_default);
    let segments = timeline(&screen, plan.plan(), from, to);
    (segments, plan)
}

/// One organization's whole plan in memory: every schedule and daypart,
/// the takeovers not ended before `since`, and each group's default
/// playlist. A display's part of it is filtered out in memory.
struct OrgPlan {
    since: Millis,
    schedules: Vec<Schedule>,
    dayparts: Vec<Daypart>,
    takeovers: Vec<Takeover>,
    group_playlists: HashMap<String, String>,
}

impl OrgPlan {
    async fn read(db: &Db, org_id: &str, since: Millis) -> Result<Self, AppError> {
        let schedules = schedules_where(db, "org_id = $1 ORDER BY id", &[org_id]).await?;
        let dayparts = store::list_dayparts(db, org_id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {TAKEOVER_COLUMNS} FROM takeovers \
             WHERE org_id = $1 AND COALESCE(ended_at, ends_at, $2) >= $2"
        ))
        .bind(org_id)
        .bind(since)
        .fetch_all(&db.pool)
        .await?;
        let takeovers = rows.iter().map(takeover_of).collect();
        let group_playlists = devices::group_playlists(db, org_id).await?;
        Ok(Self {
            since,
            schedules,
            dayparts,
            takeovers,
            group_playlists,
        })
    }

    /// What [`plan_for`] and [`group_default`] read for `device`.
    fn of(&self, device: &Device, since: Millis) -> (DevicePlan, Option<String>) {
        let group = device.group_id.as_deref();
        let schedules: Vec<Schedule> = self
            .schedules
            .iter()
            .filter(|s| s.spec.targets(&device.id, group))
            .cloned()
            .collect();
        let dayparts = if schedules.iter().any(|s| s.spec.daypart_id.is_some()) {
            self.dayparts.clone()
        } else {
            Vec::new()
        };
        let takeovers = self
            .takeovers
            .iter()
            .filter(|t| {
                // As `plan_for` asks: `COALESCE(ended_at, ends_at, since) >= since`.
                t.targets(group) && t.ended_at.or(t.ends_at).is_none_or(|end| end >= since)
            })
            .cloned()
            .collect();
        let default = group.and_then(|g| self.group_playlists.get(g).cloned());
        (
            DevicePlan {
                schedules,
                dayparts,
                takeovers,
            },
            default,
        )
    }
}

/// Whether an event can change an organization's plan (what [`OrgPlan`]
/// holds). A group's default playlist goes with its group's upsert, or
/// with the playlist's deletion.
fn changes_plan(body: &EventBody) -> bool {
    matches!(
        body,
        EventBody::ScheduleUpserted { .. }
            | EventBody::ScheduleDeleted { .. }
            | EventBody::DaypartUpserted { .. }
            | EventBody::DaypartDeleted { .. }
            | EventBody::TakeoverUpserted { .. }
            | EventBody::GroupUpserted { .. }
            | EventBody::PlaylistDeleted { .. }
    )
}

/// The plans of the organizations whose displays are connected, so a
/// fleet connecting at once reads each organization's plan once rather
/// than its schedules and takeovers once per display. Whoever holds it
/// hands it every event of the organization ([`PlanCache::changed`],
/// called by the event log's reader), and a plan read while an event
/// that changes it went by is not kept.
#[derive(Default)]
pub struct PlanCache {
    orgs: Mutex<HashMap<String, Kept>>,
}

/// One organization's entry: how many plan-changing events went by, the
/// plan read since the last of them, and the turn to read it, so displays
/// that miss it together (a takeover refreshes the whole fleet at once)
/// wait for one read instead of each making its own.
#[derive(Default)]
struct Kept {
    changes: u64,
    plan: Option<Arc<OrgPlan>>,
    reading: Arc<tokio::sync::Mutex<()>>,
}

/// What the cache holds for an organization, asked at an instant.
enum Lookup {
    /// Its events are not followed: read its plan afresh.
    NotFollowed,
    Kept(Arc<OrgPlan>),
    /// Not kept (or kept from a later instant): `changes` so far, and the
    /// turn to read it.
    Missing {
        changes: u64,
        reading: Arc<tokio::sync::Mutex<()>>,
    },
}

impl PlanCache {
    /// From now on every event of `org_id` is handed to [`Self::changed`]:
    /// its plan may be kept. Until then each display's is read afresh.
    pub fn follow(&self, org_id: &str) {
        self.orgs
            .lock()
            .unwrap()
            .entry(org_id.to_string())
            .or_default();
    }

    /// An event of `org_id` went by: a plan it may change is dropped.
    pub fn changed(&self, org_id: &str, body: &EventBody) {
        if changes_plan(body) {
            if let Some(kept) = self.orgs.lock().unwrap().get_mut(org_id) {
                kept.changes += 1;
                kept.plan = None;
            }
        }
    }

    fn lookup(&self, org_id: &str, since: Millis) -> Lookup {
        match self.orgs.lock().unwrap().get(org_id) {
            None => Lookup::NotFollowed,
            Some(Kept {
                plan: Some(plan), ..
            }) if plan.since <= since => Lookup::Kept(plan.clone()),
            Some(kept) => Lookup::Missing {
                changes: kept.changes,
                reading: kept.reading.clone(),
            },
        }
    }

    async fn org_plan(
        &self,
        db: &Db,
        org_id: &str,
        since: Millis,
    ) -> Result<Arc<OrgPlan>, AppError> {
        let reading = match self.lookup(org_id, since) {
            Lookup::NotFollowed => return Ok(Arc::new(OrgPlan::read(db, org_id, since).await?)),
            Lookup::Kept(plan) => return Ok(plan),
            Lookup::Missing { reading, .. } => reading,
        };
        let _turn = reading.lock().await;
        // Whoever read while this one waited may have kept it.
        let seen = match self.lookup(org_id, since) {
            Lookup::Kept(plan) => return Ok(plan),
            Lookup::Missing { changes, .. } => Some(changes),
            Lookup::NotFollowed => None,
        };
        let plan = Arc::new(OrgPlan::read(db, org_id, since).await?);
        if let Some(kept) = self.orgs.lock().unwrap().get_mut(org_id) {
            if Some(kept.changes) == seen {
                kept.plan = Some(plan.clone());
            }
        }
        Ok(plan)
    }

    /// [`of_device`], from the organization's plan in memory (read once
    /// after each change to it).
    pub async fn of_device(
        &self,
        db: &Db,
        org_id: &str,
        device: &Device,
        from: Millis,
        to: Millis,
    ) -> Result<(Vec<Segment>, DevicePlan), AppError> {
        let org_plan = self.org_plan(db, org_id, from).await?;
        let (plan, group_default) = org_plan.of(device, from);
        Ok(timeline_of(
            device,
            plan,
            group_default.as_deref(),
            from,
            to,
        ))
    }
}
