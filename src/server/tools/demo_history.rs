//! The demo's last month, so Analytics has figures at a first start: each
//! display's statuses (mostly up, a few outages, ending in the status it
//! has now) through the uptime path, and what its schedules made it play
//! while it was up, cycling each playlist's items, folded through the same
//! ingest batch as live plays. Hourly tallies, not 19 million raw rows: the
//! rollups are what reports over whole days read; the raw plays of the
//! last month are the simulator's from now on.

use std::collections::BTreeMap;

use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{
    error::AppError,
    model::{split_by_hour, DeviceStatus, Millis, DAY_MS},
    server::{
        analytics::{ingest::Batch, uptime},
        core::Core,
        devices::store as devices,
        library::playlists,
        schedules::timeline,
    },
};

/// How far back the history goes.
pub const DAYS: i64 = 30;

/// One stretch of a display's status.
struct Stretch {
    status: DeviceStatus,
    from: Millis,
    to: Millis,
}

/// A month of statuses ending at `now` in `current` (since `since`): up,
/// with one to three outages and now and then an error.
fn statuses(
    rng: &mut StdRng,
    start: Millis,
    now: Millis,
    current: DeviceStatus,
    since: Millis,
) -> Vec<Stretch> {
    let end = since.clamp(start, now);
    let mut breaks: Vec<(Millis, Millis, DeviceStatus)> = (0..rng.gen_range(1..=3))
        .map(|_| {
            let at = rng.gen_range(start..end.max(start + 1));
            let long = rng.gen_range(15 * 60_000..5 * 3_600_000);
            (at, (at + long).min(end), DeviceStatus::Offline)
        })
        .collect();
    if rng.gen_bool(0.3) {
        let at = rng.gen_range(start..end.max(start + 1));
        breaks.push((
            at,
            (at + rng.gen_range(60_000..1_800_000)).min(end),
            DeviceStatus::Error,
        ));
    }
    breaks.sort_by_key(|b| b.0);
    let mut out = Vec::new();
    let mut at = start;
    for (a, b, status) in breaks {
        if a < at || b <= a {
            continue;
        }
        out.push(Stretch {
            status: DeviceStatus::Online,
            from: at,
            to: a,
        });
        out.push(Stretch {
            status,
            from: a,
            to: b,
        });
        at = b;
    }
    out.push(Stretch {
        status: DeviceStatus::Online,
        from: at,
        to: end,
    });
    out.retain(|s| s.to > s.from);
    // Always last, even when it began only now: the interval left open.
    out.push(Stretch {
        status: current,
        from: end,
        to: now,
    });
    out
}

/// Displays that get a history: the demo's sixty. A bigger demo fleet
/// (`--demo-displays`) is for the console's lists, and its other displays
/// start with none.
const HISTORY_DISPLAYS: usize = 60;

/// Backfills the history of the organization's first [`HISTORY_DISPLAYS`].
pub async fn backfill(core: &Core, org_id: &str, now: Millis) -> Result<(), AppError> {
    let started = std::time::Instant::now();
    let db = &core.db;
    let start = now - DAYS * DAY_MS;
    let lists = playlists::list(db, org_id).await?;
    let names: std::collections::HashMap<String, String> =
        sqlx::query_as("SELECT id, name FROM content WHERE org_id = $1")
            .bind(org_id)
            .fetch_all(&db.pool)
            .await?
            .into_iter()
            .collect();
    let groups = devices::list_groups(db, org_id).await?;
    let mut rng = StdRng::seed_from_u64(20_261_202);
    // One batch and one transaction for the whole fleet: the rollups are
    // keyed hour first, so rows written in that order land side by side
    // instead of scattered over the table once per display.
    let mut batch = Batch::default();
    let mut statuses_of = Vec::new();
    for device in devices::list(db, org_id)
        .await?
        .into_iter()
        .take(HISTORY_DISPLAYS)
    {
        let group = device.group_id.clone().unwrap_or_default();
        let since = device.last_seen.unwrap_or(now).min(now);
        let stretches = statuses(&mut rng, start, now, device.status, since);
        let (segments, _) = timeline::of_device(db, org_id, &device, start, now).await?;
        batch.name("display", &device.id, &device.name, now);
        if let Some(g) = groups.iter().find(|g| g.id == group) {
            batch.name("group", &g.id, &g.name, now);
        }
        for seg in &segments {
            let Some(list) = seg
                .playlist_id
                .as_ref()
                .and_then(|id| lists.iter().find(|l| &l.id == id))
            else {
                continue;
            };
            batch.name("playlist", &list.id, &list.name, now);
            // Plays only while the display was up.
            for up in stretches.iter().filter(|s| {
                matches!(s.status, DeviceStatus::Online) && s.from < seg.end && s.to > seg.start
            }) {
                let (a, b) = (up.from.max(seg.start), up.to.min(seg.end));
                // Per (hour, item) first: the batch is keyed by strings.
                let mut sums: BTreeMap<(Millis, usize), (i64, i64)> = BTreeMap::new();
                let mut t = a;
                let mut i = 0usize;
                while t < b && !list.items.is_empty() {
                    let k = i % list.items.len();
                    let ms = list.items[k].duration_ms.max(1_000).min(b - t);
                    for (n, (hour, part)) in split_by_hour(t, ms).enumerate() {
                        let e = sums.entry((hour, k)).or_default();
                        e.0 += i64::from(n == 0);
                        e.1 += part;
                    }
                    t += ms;
                    i += 1;
                }
                for ((hour, k), (plays, ms)) in sums {
                    let item = &list.items[k];
                    batch.add(
                        hour,
                        &device.id,
                        &group,
                        &item.content_id,
                        &list.id,
                        plays,
                        ms,
                    );
                }
            }
            for item in &list.items {
                if let Some(n) = names.get(&item.content_id) {
                    batch.name("content", &item.content_id, n, now);
                }
            }
        }
        statuses_of.push((device.id, group, stretches));
    }
    let mut tx = db.begin_write().await?;
    for (device, group, stretches) in &statuses_of {
        for s in stretches {
            uptime::status_changed(&mut tx, org_id, device, group, s.status, s.from).await?;
        }
    }
    let tallies = batch.fold(&mut tx, org_id).await?.len();
    tx.commit().await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f32(),
        tallies,
        "demo history backfilled"
    );
    Ok(())
}
