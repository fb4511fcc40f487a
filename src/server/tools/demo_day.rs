//! The demo's signage day, made at first start with no downloads: images
//! drawn by the program and two short videos it encoded (`demo_video`,
//! committed in `demo_media/`), playlists of them, dayparts (breakfast, lunch,
//! evening) scheduled per group in each display's own zone, a default for
//! every group so no demo display sits idle, and a takeover that starts a
//! few minutes after the first start. Everything goes through the change
//! path as the admin, like an operator's own edits.

use std::collections::HashMap;

use image::{ImageFormat, Rgb, RgbImage};

use crate::{
    model::{Change, Op, PlaylistItem, Recurrence, ScheduleSpec, TimeOfDay, Weekday, Window},
    server::{
        core::{change, credential::Credential, new_id, now_ms, Core, CurrentUser},
        library::media,
    },
};

/// The demo's videos: AV1 in WebM, 640×360, 6 s, made by `demo_video`.
pub const VIDEOS: [(&str, &[u8]); 2] = [
    (
        "Morning · sunrise",
        include_bytes!("demo_media/sunrise.webm"),
    ),
    (
        "Evening · city lights",
        include_bytes!("demo_media/city.webm"),
    ),
];

/// One image: a name and the two colours it is drawn in.
struct Art {
    name: &'static str,
    base: [u8; 3],
    accent: [u8; 3],
    /// Which pattern: 0 stripes, 1 rings, 2 blocks.
    pattern: u32,
}

const ART: [Art; 8] = [
    Art {
        name: "Breakfast · coffee",
        base: [92, 52, 28],
        accent: [241, 196, 120],
        pattern: 1,
    },
    Art {
        name: "Breakfast · pastries",
        base: [120, 70, 30],
        accent: [250, 220, 160],
        pattern: 2,
    },
    Art {
        name: "Lunch · specials",
        base: [28, 92, 52],
        accent: [200, 240, 150],
        pattern: 0,
    },
    Art {
        name: "Lunch · salads",
        base: [20, 110, 70],
        accent: [240, 250, 200],
        pattern: 1,
    },
    Art {
        name: "Evening · dinner",
        base: [40, 30, 90],
        accent: [240, 150, 90],
        pattern: 2,
    },
    Art {
        name: "Welcome",
        base: [20, 60, 120],
        accent: [130, 200, 255],
        pattern: 0,
    },
    Art {
        name: "Weekend sale",
        base: [150, 20, 40],
        accent: [255, 210, 80],
        pattern: 2,
    },
    Art {
        name: "Safety notice",
        base: [190, 120, 0],
        accent: [30, 30, 30],
        pattern: 0,
    },
];

/// A 1280×720 PNG of `art`: a gradient with its pattern over it.
fn draw(art: &Art) -> Vec<u8> {
    let (w, h) = (1280u32, 720u32);
    let img = RgbImage::from_fn(w, h, |x, y| {
        let t = y as f32 / h as f32;
        let shade = |c: u8| (f32::from(c) * (0.65 + 0.35 * (1.0 - t))) as u8;
        let base = Rgb([shade(art.base[0]), shade(art.base[1]), shade(art.base[2])]);
        let on = match art.pattern {
            0 => (x + y) / 60 % 3 == 0,
            1 => {
                let (dx, dy) = (x as f32 - 900.0, y as f32 - 360.0);
                ((dx * dx + dy * dy).sqrt() as u32 / 45).is_multiple_of(2) && x > 560
            }
            _ => (x / 160 + y / 120) % 4 == 0 && y > 180,
        };
        // A banner across the top, where a menu's title would go.
        if (60..150).contains(&y) && (80..1200).contains(&x) {
            Rgb(art.accent)
        } else if on {
            Rgb([
                ((u16::from(base[0]) + u16::from(art.accent[0])) / 2) as u8,
                ((u16::from(base[1]) + u16::from(art.accent[1])) / 2) as u8,
                ((u16::from(base[2]) + u16::from(art.accent[2])) / 2) as u8,
            ])
        } else {
            base
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    let _ = img.write_to(&mut out, ImageFormat::Png);
    out.into_inner()
}

fn op(change: Change) -> Op {
    Op {
        op_id: new_id(),
        base_version: None,
        change,
    }
}

/// The organization's admin, acting for the demo.
async fn admin(core: &Core, org_id: &str, email: &str) -> Result<CurrentUser, String> {
    let row: (String, String) = sqlx::query_as(
        "SELECT u.id, o.name FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&core.db.pool)
    .await
    .map_err(|e| e.to_string())?;
    Ok(CurrentUser {
        user_id: row.0,
        org_id: org_id.to_string(),
        org_name: row.1,
        email: email.to_string(),
        role: crate::model::Role::Admin,
        credential: Credential::Internal,
    })
}

async fn group_id(core: &Core, org_id: &str, name: &str) -> Result<String, String> {
    sqlx::query_scalar("SELECT id FROM device_groups WHERE org_id = $1 AND name = $2")
        .bind(org_id)
        .bind(name)
        .fetch_one(&core.db.pool)
        .await
        .map_err(|e| e.to_string())
}

/// Seeds the day. `email` is the admin the first start made.
pub async fn seed(core: &Core, org_id: &str, email: &str) -> Result<(), String> {
    let who = admin(core, org_id, email).await?;
    let err = |e: crate::error::AppError| e.to_string();
    let apply = |change: Change| {
        let who = who.clone();
        async move { change::apply_trusted(core, &who, op(change)).await }
    };
    // The images, stored like uploads; each with how long it plays.
    let mut library: Vec<Option<(String, i64)>> = Vec::new();
    for art in &ART {
        library.push(store(core, &who, art.name, draw(art)).await);
    }
    // Then the videos (8 and 9).
    for (name, bytes) in VIDEOS {
        library.push(store(core, &who, name, bytes.to_vec()).await);
    }
    // Playlists of them.
    let lists: [(&str, &[usize]); 6] = [
        ("Breakfast menu", &[8, 0, 1]),
        ("Lunch menu", &[2, 3]),
        ("Evening menu", &[9, 4]),
        ("Welcome loop", &[8, 5, 0]),
        ("Weekend sale", &[6, 5]),
        ("Safety notice", &[7]),
    ];
    let mut playlist = HashMap::new();
    for (name, items) in lists {
        let id = new_id();
        apply(Change::CreatePlaylist {
            playlist_id: id.clone(),
            name: name.into(),
        })
        .await
        .map_err(err)?;
        let mut after = None;
        for (content_id, duration_ms) in items
            .iter()
            .filter_map(|i| library.get(*i).and_then(Option::as_ref))
        {
            let item_id = new_id();
            apply(Change::InsertItem {
                playlist_id: id.clone(),
                item: PlaylistItem {
                    id: item_id.clone(),
                    content_id: content_id.clone(),
                    duration_ms: *duration_ms,
                },
                after: after.clone(),
            })
            .await
            .map_err(err)?;
            after = Some(item_id);
        }
        playlist.insert(name, id);
    }
    // Dayparts.
    let mut daypart = HashMap::new();
    for (name, start, end) in [
        ("Breakfast", TimeOfDay::hm(6, 0), TimeOfDay::hm(10, 30)),
        ("Lunch", TimeOfDay::hm(11, 0), TimeOfDay::hm(14, 30)),
        ("Evening", TimeOfDay::hm(17, 0), TimeOfDay::hm(22, 0)),
    ] {
        let id = new_id();
        apply(Change::CreateDaypart {
            daypart_id: id.clone(),
            name: name.into(),
            start,
            end,
        })
        .await
        .map_err(err)?;
        daypart.insert(name, id);
    }
    // Every group has a default, so no display waits for something to play.
    let defaults = [
        ("Lobby screens", "Welcome loop"),
        ("Menu boards", "Welcome loop"),
        ("Retail floor", "Weekend sale"),
        ("Warehouse", "Safety notice"),
        ("Outdoor", "Welcome loop"),
    ];
    for (group, list) in defaults {
        let g = group_id(core, org_id, group).await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM device_groups WHERE id = $1")
            .bind(&g)
            .fetch_one(&core.db.pool)
            .await
            .map_err(|e| e.to_string())?;
        change::apply_trusted(
            core,
            &who,
            Op {
                op_id: new_id(),
                base_version: Some(version),
                change: Change::UpdateGroup {
                    group_id: g,
                    playlist_id: Some(playlist[list].clone()),
                },
            },
        )
        .await
        .map_err(err)?;
    }
    // Schedules: the menu boards follow the dayparts, the retail floor has
    // its weekend sale, the lobbies greet on weekday mornings.
    // They began a month ago: the backfilled history (`demo_history`) follows them.
    let today =
        crate::model::local_date(crate::model::Zone::UTC, now_ms()) - chrono::Duration::days(30);
    let schedules = [
        (
            "Breakfast menu",
            "Menu boards",
            Some("Breakfast"),
            None,
            Recurrence::Day,
            10,
        ),
        (
            "Lunch menu",
            "Menu boards",
            Some("Lunch"),
            None,
            Recurrence::Day,
            10,
        ),
        (
            "Evening menu",
            "Menu boards",
            Some("Evening"),
            None,
            Recurrence::Day,
            10,
        ),
        (
            "Weekend sale",
            "Retail floor",
            None,
            None,
            Recurrence::Week {
                weekdays: vec![Weekday::Sat, Weekday::Sun],
            },
            5,
        ),
        (
            "Breakfast menu",
            "Lobby screens",
            None,
            Some(Window {
                start: TimeOfDay::hm(7, 0),
                end: TimeOfDay::hm(9, 30),
            }),
            Recurrence::Week {
                weekdays: Weekday::ALL[..5].to_vec(),
            },
            5,
        ),
    ];
    for (list, group, part, window, recurrence, priority) in schedules {
        let name = match part {
            Some(p) => format!("{p} on {group}"),
            None => format!("{list} on {group}"),
        };
        apply(Change::CreateSchedule {
            schedule_id: new_id(),
            spec: ScheduleSpec {
                name,
                playlist_id: playlist[list].clone(),
                device_id: None,
                group_id: Some(group_id(core, org_id, group).await?),
                starts_on: today,
                ends_on: None,
                recurrence,
                except: vec![],
                window,
                daypart_id: part.map(|p| daypart[p].clone()),
                priority,
                enabled: true,
            },
        })
        .await
        .map_err(err)?;
    }
    // A fire drill on the warehouse screens, a few minutes after first start.
    let starts_at = now_ms() + 5 * 60_000;
    apply(Change::StartTakeover {
        takeover_id: new_id(),
        name: "Fire drill".into(),
        playlist_id: playlist["Safety notice"].clone(),
        group_id: Some(group_id(core, org_id, "Warehouse").await?),
        starts_at: Some(starts_at),
        ends_at: Some(starts_at + 3 * 60_000),
    })
    .await
    .map_err(err)?;
    // A month of history for Analytics, consistent with all of the above.
    super::demo_history::backfill(core, org_id, now_ms())
        .await
        .map_err(err)?;
    Ok(())
}

/// Stores demo media like an upload and adds it to the library: its id and
/// how long it plays, or `None` (logged) when that failed.
async fn store(
    core: &Core,
    who: &CurrentUser,
    name: &str,
    bytes: Vec<u8>,
) -> Option<(String, i64)> {
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
    let stored = match media::store_stream(&core.media_dir, Box::pin(chunks), u64::MAX).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::warn!(name, error = %e, "demo media not stored");
            return None;
        }
    };
    let content_id = new_id();
    let add = Change::AddMedia {
        content_id: content_id.clone(),
        name: name.to_string(),
        media: stored.media_info(),
    };
    match change::apply_trusted(core, who, op(add)).await {
        Ok(_) => Some((content_id, stored.duration_ms.unwrap_or(8_000))),
        Err(e) => {
            tracing::warn!(name, error = %e, "demo media not added");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_committed_videos_are_stored_like_uploads_with_their_size_and_length() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in VIDEOS {
            let chunks =
                futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
            let stored = media::store_stream(dir.path(), Box::pin(chunks), u64::MAX)
                .await
                .unwrap();
            assert_eq!(stored.kind, media::MediaKind::Webm, "{name}");
            assert_eq!(
                (stored.width, stored.height),
                (Some(640), Some(360)),
                "{name}"
            );
            assert_eq!(stored.duration_ms, Some(6_000), "{name}");
        }
    }
}
