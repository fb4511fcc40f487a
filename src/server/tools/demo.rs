//! First start: on an empty database, an organization, an admin account (printed
//! once), device groups and, with `--demo`, a fleet of displays in several groups
//! and time zones with varied statuses, so every page shows something real.

use rand::{rngs::StdRng, Rng, SeedableRng};

use super::simulator;
use crate::{
    model::{Device, DeviceStatus, Role},
    server::{
        auth::passwords::create_user,
        core::{ids::random_token, new_id, now_ms, Core, Db, ExecuteWrite},
        devices::store as devices,
        library::{content, playlists},
        orgs::{self, create_organization},
    },
};

pub struct FirstStart {
    pub org_name: String,
    pub email: String,
    pub password: String,
    pub displays: usize,
}

const GROUPS: [&str; 5] = [
    "Lobby screens",
    "Menu boards",
    "Retail floor",
    "Warehouse",
    "Outdoor",
];
const SITES: [(&str, &str); 8] = [
    ("Berlin", "Europe/Berlin"),
    ("London", "Europe/London"),
    ("New York", "America/New_York"),
    ("Los Angeles", "America/Los_Angeles"),
    ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"),
    ("Mumbai", "Asia/Kolkata"),
    ("Auckland", "Pacific/Auckland"),
];
const TAGS: [&str; 6] = [
    "4k",
    "portrait",
    "landscape",
    "touch",
    "outdoor-rated",
    "pilot",
];

pub async fn is_empty(db: &Db) -> Result<bool, sqlx::Error> {
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM organizations")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.0 == 0)
}

/// Seeds an empty database; returns what to print, or `None` if it was not empty.
pub async fn first_start(db: &Db, demo_fleet: Option<usize>) -> Result<Option<FirstStart>, String> {
    if !is_empty(db).await.map_err(|e| e.to_string())? {
        return Ok(None);
    }
    let org_name = "Northwind Signage".to_string();
    let org_id = create_organization(db, &org_name)
        .await
        .map_err(|e| e.to_string())?;
    let email = std::env::var("VIZORA_ADMIN_EMAIL").unwrap_or_else(|_| "admin@vizora.local".into());
    let password =
        std::env::var("VIZORA_ADMIN_PASSWORD").unwrap_or_else(|_| random_token()[..16].to_string());
    create_user(db, &org_id, &email, &password, Role::Admin).await?;
    let now = now_ms();
    let mut group_ids = Vec::new();
    for name in GROUPS {
        let id = new_id();
        sqlx::query(
            "INSERT INTO device_groups (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&org_id)
        .bind(name)
        .bind(now)
        .execute_write(db)
        .await
        .map_err(|e| e.to_string())?;
        group_ids.push(id);
    }
    let mut displays = 0;
    if let Some(fleet) = demo_fleet {
        let mut rng = StdRng::seed_from_u64(20_261_121);
        let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
        let digits = fleet.max(10).ilog10() as usize + 1;
        for i in 0..fleet {
            let g = i % GROUPS.len();
            let (city, tz) = SITES[(i * 3 + i / 7) % SITES.len()];
            let roll: f64 = rng.gen();
            let status = if roll < 0.62 {
                DeviceStatus::Online
            } else if roll < 0.74 {
                DeviceStatus::Idle
            } else if roll < 0.93 {
                DeviceStatus::Offline
            } else {
                DeviceStatus::Error
            };
            let last_seen = match status {
                DeviceStatus::Online | DeviceStatus::Idle => now - rng.gen_range(1_000..30_000),
                DeviceStatus::Error => now - rng.gen_range(30_000..600_000),
                DeviceStatus::Offline => now - rng.gen_range(600_000..172_800_000),
            };
            let mut tags = vec![TAGS[rng.gen_range(0..TAGS.len())].to_string()];
            if rng.gen_bool(0.3) {
                tags.push(TAGS[rng.gen_range(0..TAGS.len())].to_string());
            }
            // The demo fleet is driven by the simulator (`serve --demo`).
            tags.push(simulator::SIM_TAG.to_string());
            let device = Device {
                id: new_id(),
                name: format!(
                    "{} {:0digits$} · {city}",
                    GROUPS[g].trim_end_matches('s').trim_end_matches(" screen"),
                    i + 1
                ),
                group_id: Some(group_ids[g].clone()),
                tags: crate::model::normalize_tags(&tags),
                timezone: tz.to_string(),
                status,
                last_seen: Some(last_seen),
                playlist_id: None,
                paired: false,
                version: 1,
            };
            devices::insert(&mut tx, &org_id, &device, now)
                .await
                .map_err(|e| e.to_string())?;
            displays += 1;
        }
        // A web page in a playlist that the lobby screens play by default.
        let err = |e: crate::error::AppError| e.to_string();
        let page = new_id();
        content::create_web_page(
            &mut tx,
            &org_id,
            &page,
            "Company news",
            "https://example.com/news",
            300,
            &["demo".to_string()],
        )
        .await
        .map_err(err)?;
        let playlist = new_id();
        playlists::create(&mut tx, &org_id, &playlist, "Lobby loop")
            .await
            .map_err(err)?;
        let item = crate::model::PlaylistItem {
            id: new_id(),
            content_id: page,
            duration_ms: 30_000,
        };
        playlists::edit_items(
            &mut tx,
            &org_id,
            &playlist,
            &crate::model::ItemEdit::Insert { item, after: None },
        )
        .await
        .map_err(err)?;
        devices::update_group(&mut tx, &org_id, &group_ids[0], Some(1), Some(&playlist))
            .await
            .map_err(err)?;
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    Ok(Some(FirstStart {
        org_name,
        email,
        password,
        displays,
    }))
}

/// Drives the demo fleet (the displays tagged `simulated`) with the
/// simulator, over the real protocol against this server, so statuses move.
pub async fn start_fleet(core: &Core, addr: std::net::SocketAddr) {
    let Ok((org_id, _)) = orgs::find(&core.db, None).await else {
        return;
    };
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE org_id = $1 AND tags LIKE $2")
            .bind(&org_id)
            .bind(format!("%\"{}\"%", simulator::SIM_TAG))
            .fetch_one(&core.db.pool)
            .await
            .unwrap_or(0);
    if count == 0 {
        return;
    }
    match simulator::enroll(&core.db, &org_id, count as usize).await {
        Ok(displays) => {
            println!("demo: {} simulated displays connect to this server (VIZORA_SIMULATE=off stops them)", displays.len());
            let host = if addr.ip().is_unspecified() {
                std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
            } else {
                addr
            };
            simulator::spawn(
                &format!("http://{host}"),
                displays,
                simulator::SimOptions::default(),
            );
        }
        Err(e) => tracing::warn!(error = %e, "could not start the demo fleet"),
    }
}
