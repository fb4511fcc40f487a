//! A display's timeline from the database: the plan that can reach it (its
//! own and its group's schedules, the dayparts, the takeovers for its group
//! or the fleet) evaluated by the shared rule, `model::timeline`.

use std::collections::HashSet;

use crate::{
    error::AppError,
    model::{timeline, Daypart, Device, Millis, Plan, Schedule, Screen, Segment, Takeover},
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
    let rows = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules \
         WHERE org_id = $1 AND (device_id = $2 OR group_id = $3)"
    ))
    .bind(org_id)
    .bind(&device.id)
    .bind(group)
    .fetch_all(&db.pool)
    .await?;
    let schedules = rows
        .iter()
        .map(schedule_of)
        .collect::<Result<Vec<_>, _>>()?;
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
    let screen = Screen::of(device, group_default.as_deref());
    let segments = timeline(&screen, plan.plan(), from, to);
    Ok((segments, plan))
}
