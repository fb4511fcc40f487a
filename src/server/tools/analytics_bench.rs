//! `vizora analytics-bench`: a fresh SQLite database with a fleet of
//! displays, a year of proof of play loaded through the ingest batch and a
//! year of status changes through the uptime path (raw rows past the
//! retention expired, as housekeeping would), then the
//! figures: report queries, the Analytics page's snapshot and its server
//! render over HTTP, and ingest through the writer while reports are read.
//! The fleet is shaped like a real one: 20 groups, 40 playlists of ten
//! items drawn from a 200-item library, each display playing its playlist.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{
    model::{
        day_start, local_date, AnalyticsQuery, Change, Device, DeviceStatus, GroupBy, Millis, Op,
        Role, DAY_MS,
    },
    server::{
        analytics::{
            ingest::{self, Ingest, Play},
            page,
            report::{self, Filter, Range},
            uptime,
        },
        auth::{passwords::create_user, sessions::create_session, SESSION_COOKIE},
        config,
        core::{change, credential::Credential, db::default_url, new_id, now_ms, CurrentUser, Db},
        devices::store as devices,
        library::{content, playlists},
        orgs::create_organization,
        state::AppState,
    },
};

pub struct BenchArgs {
    pub plays: u64,
    pub displays: usize,
    pub days: i64,
    pub port: u16,
    /// Keep the database directory instead of removing it.
    pub keep: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `f` five times; the median and the slowest, in ms.
async fn time<F, Fut, T>(mut f: F) -> Result<(f64, f64), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        f().await?;
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let max = runs.iter().copied().fold(0.0, f64::max);
    Ok((median(runs), max))
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    let e = |e: crate::error::AppError| e.to_string();
    let dir = std::env::temp_dir().join(format!("vizora-analytics-{}", now_ms()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = Db::connect(&default_url(&dir)).await?;
    db.migrate().await?;
    let org_id = create_organization(&db, "Bench")
        .await
        .map_err(|e| e.to_string())?;
    let password = "bench-password-1234";
    let user_id = create_user(&db, &org_id, "bench@vizora.test", password, Role::Admin).await?;
    let now = now_ms();
    let mut rng = StdRng::seed_from_u64(7);

    // The fleet: groups, displays, content and playlists.
    let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
    let groups: Vec<String> = (0..20).map(|_| new_id()).collect();
    for (i, g) in groups.iter().enumerate() {
        sqlx::query(
            "INSERT INTO device_groups (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(g)
        .bind(&org_id)
        .bind(format!("Group {i:02}"))
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(|e| e.to_string())?;
    }
    let mut fleet = Vec::new();
    for i in 0..args.displays {
        let d = Device {
            id: new_id(),
            name: format!("Display {i:04}"),
            group_id: Some(groups[i % groups.len()].clone()),
            tags: vec![],
            timezone: "UTC".into(),
            status: DeviceStatus::Online,
            last_seen: Some(now),
            playlist_id: None,
            paired: true,
            version: 1,
        };
        devices::insert(&mut tx, &org_id, &d, now)
            .await
            .map_err(e)?;
        fleet.push(d.id);
    }
    let mut items = Vec::new();
    for i in 0..200 {
        let id = new_id();
        content::create_web_page(
            &mut tx,
            &org_id,
            &id,
            &format!("Item {i:03}"),
            "https://example.com",
            60,
            &[],
        )
        .await
        .map_err(e)?;
        items.push(id);
    }
    let mut lists = Vec::new();
    for i in 0..40 {
        let id = new_id();
        playlists::create(&mut tx, &org_id, &id, &format!("Playlist {i:02}"))
            .await
            .map_err(e)?;
        lists.push(id);
    }
    tx.commit().await.map_err(|e| e.to_string())?;

    let file = config::SettingsFile::default();
    let state = AppState::new(
        config::leptos_options(&file.site, None)?,
        db.clone(),
        Arc::new(file.vizora),
        dir.join("media"),
    );
    let core = state.core.clone();

    // A year of plays, oldest first, a thousand a transaction.
    let start = now - args.days * DAY_MS;
    let span = (now - start) as u64;
    let loaded = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    let mut recent = ingest::RecentNames::default();
    for n in 0..args.plays {
        // Evenly spread in time, each on a random display.
        let at = start + (span as u128 * n as u128 / args.plays.max(1) as u128) as Millis;
        // A display plays its playlist, ten items of the library (playlists
        // overlap: item k of playlist p is library item 5p + k).
        let device = rng.gen_range(0..fleet.len());
        let list = device % lists.len();
        let item = (list * 5 + rng.gen_range(0..10)) % items.len();
        batch.push(Play {
            org_id: org_id.clone(),
            device_id: fleet[device].clone(),
            id: format!("b{n}"),
            content_id: items[item].clone(),
            playlist_id: Some(lists[list].clone()),
            started_at: at,
            duration_ms: rng.gen_range(5_000..60_000),
        });
        if batch.len() == 1000 || n + 1 == args.plays {
            let refs: Vec<&Play> = batch.iter().collect();
            ingest::write_batch(&core, &org_id, &refs, &mut recent)
                .await
                .map_err(e)?;
            batch.clear();
        }
        if (n + 1) % 1_000_000 == 0 {
            println!(
                "  {} plays in {:.0} s",
                n + 1,
                loaded.elapsed().as_secs_f64()
            );
        }
    }
    let load_s = loaded.elapsed().as_secs_f64();
    // A year of status: each display online for one to five days, then
    // offline for ten minutes to three hours, through the same change path
    // the gateway takes, in time order as a fleet reports them (a thousand
    // changes a transaction).
    let statuses = Instant::now();
    let mut timeline: Vec<(Millis, usize, DeviceStatus)> = Vec::new();
    for i in 0..fleet.len() {
        let mut at = start;
        let mut online = true;
        while at < now {
            let status = if online {
                DeviceStatus::Online
            } else {
                DeviceStatus::Offline
            };
            timeline.push((at, i, status));
            at += if online {
                rng.gen_range(DAY_MS..5 * DAY_MS)
            } else {
                rng.gen_range(600_000..3 * 3_600_000)
            };
            online = !online;
        }
    }
    timeline.sort_by_key(|c| (c.0, c.1));
    let changes = timeline.len();
    for chunk in timeline.chunks(1000) {
        let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
        for (at, i, status) in chunk {
            let group = &groups[i % groups.len()];
            uptime::status_changed(&mut tx, &org_id, &fleet[*i], group, *status, *at)
                .await
                .map_err(e)?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    println!(
        "status history: {changes} changes over {} displays in {:.0} s",
        fleet.len(),
        statuses.elapsed().as_secs_f64()
    );
    let expired = ingest::expire(&db, 90).await.map_err(e)?;
    println!(
        "loaded {} plays over {} displays and {} days in {:.0} s ({:.0} plays/s through the ingest batch); raw rows past 90 days expired: {expired}",
        args.plays,
        args.displays,
        args.days,
        load_s,
        args.plays as f64 / load_s
    );
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&db.pool)
                .await
                .unwrap_or(0)
        }
    };
    println!(
        "rows: plays {}, play_hours {}, play_display_days {}, play_fleet_hours {}, play_fleet_days {}, play_group_days {}, status_history {}, status_days {}, status_hours {}",
        count("SELECT COUNT(*) FROM plays").await,
        count("SELECT COUNT(*) FROM play_hours").await,
        count("SELECT COUNT(*) FROM play_display_days").await,
        count("SELECT COUNT(*) FROM play_fleet_hours").await,
        count("SELECT COUNT(*) FROM play_fleet_days").await,
        count("SELECT COUNT(*) FROM play_group_days").await,
        count("SELECT COUNT(*) FROM status_history").await,
        count("SELECT COUNT(*) FROM status_days").await,
        count("SELECT COUNT(*) FROM status_hours").await,
    );

    // Reports over whole UTC days ending today, as the page asks for them.
    let tz = crate::model::Zone::UTC;
    let tomorrow = day_start(tz, local_date(tz, now)) + DAY_MS;
    let range = |days: i64| Range {
        from: tomorrow - days * DAY_MS,
        to: tomorrow,
        tz,
    };
    let f = Filter::default();
    let (m, x) = time(|| async {
        report::plays(&db, &org_id, range(30), GroupBy::Content, &f)
            .await
            .map_err(e)
    })
    .await?;
    println!("30-day report per content:  median {m:.1} ms, slowest {x:.1} ms (of 5)");
    let (m, x) = time(|| async {
        report::plays(&db, &org_id, range(365), GroupBy::Group, &f)
            .await
            .map_err(e)
    })
    .await?;
    println!("365-day report per group:   median {m:.1} ms, slowest {x:.1} ms (of 5)");
    let (m, x) = time(|| async {
        report::plays(&db, &org_id, range(30), GroupBy::Display, &f)
            .await
            .map_err(e)
    })
    .await?;
    println!("30-day report per display:  median {m:.1} ms, slowest {x:.1} ms (of 5)");
    let q = |range: &str| AnalyticsQuery {
        range: range.into(),
        tz: "UTC".into(),
        ..Default::default()
    };
    let (m, x) =
        time(|| async { page::view(&db, &org_id, q("30d"), now).await.map_err(e) }).await?;
    println!(
        "page snapshot, 30 days (all 7 reports and timelines): median {m:.1} ms, slowest {x:.1} ms"
    );
    let today = local_date(tz, now);
    let year = AnalyticsQuery {
        range: "custom".into(),
        start: Some(today - chrono::Duration::days(364)),
        end: Some(today),
        tz: "UTC".into(),
        ..Default::default()
    };
    let (m, x) =
        time(|| async { page::view(&db, &org_id, year.clone(), now).await.map_err(e) }).await?;
    println!("page snapshot, 365 days: median {m:.1} ms, slowest {x:.1} ms; its parts:");
    for by in [
        GroupBy::Content,
        GroupBy::Display,
        GroupBy::Group,
        GroupBy::Playlist,
        GroupBy::Day,
    ] {
        let (m, _) = time(|| async {
            report::plays(&db, &org_id, range(365), by, &f)
                .await
                .map_err(e)
        })
        .await?;
        println!("  plays by {by:?}: {m:.1} ms");
    }
    let (m, _) = time(|| async {
        let mut conn = db.pool.acquire().await.map_err(|e| e.to_string())?;
        report::uptime_both_in(&mut conn, &org_id, range(365), &f, now)
            .await
            .map_err(e)
    })
    .await?;
    println!("  uptime by display and by group: {m:.1} ms");
    let (m, _) = time(|| async {
        let mut conn = db.pool.acquire().await.map_err(|e| e.to_string())?;
        page::timelines(&mut conn, &org_id, range(365), &f, now)
            .await
            .map_err(e)
    })
    .await?;
    println!("  timelines: {m:.1} ms");

    // Ingest through the writer at a target rate while two readers loop.
    let reading = Arc::new(AtomicBool::new(true));
    let reads = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for by in [GroupBy::Content, GroupBy::Group] {
        let (db, org_id, reading, reads) =
            (db.clone(), org_id.clone(), reading.clone(), reads.clone());
        let days = if by == GroupBy::Group { 365 } else { 30 };
        let r = range(days);
        readers.push(tokio::spawn(async move {
            while reading.load(Ordering::Relaxed) {
                let _ = report::plays(&db, &org_id, r, by, &Filter::default()).await;
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Each display sends its own plays as each ends, without waiting for
    // the last one's ack, as a player does (the gateway reads on while the
    // writer works): the offered rate is spread over the fleet.
    let target = 5_000u64;
    let seconds = 10u64;
    let senders = (fleet.len() as u64).clamp(1, target);
    let acked = Arc::new(AtomicU64::new(0));
    let lat = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    // The writer live plays go through (one per node, as the gateway's).
    let writer = Arc::new(Ingest::default());
    let began = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..senders {
        let (core, org_id, acked, lat) = (core.clone(), org_id.clone(), acked.clone(), lat.clone());
        // Display `s`, playing its playlist as in the load above.
        let device = fleet[s as usize].clone();
        let list = s as usize % lists.len();
        let playlist = lists[list].clone();
        let list_items: Vec<String> = (0..10)
            .map(|k| items[(list * 5 + k) % items.len()].clone())
            .collect();
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            let per = target / senders;
            let period = 1_000_000 / per;
            // Spread over the period, not all on one tick.
            tokio::time::sleep(Duration::from_micros(period * s / senders)).await;
            let mut tick = tokio::time::interval(Duration::from_micros(period));
            let mut answers = Vec::new();
            for k in 0..per * seconds {
                tick.tick().await;
                let play = Play {
                    org_id: org_id.clone(),
                    device_id: device.clone(),
                    id: format!("live-{s}-{k}"),
                    content_id: list_items[k as usize % list_items.len()].clone(),
                    playlist_id: Some(playlist.clone()),
                    started_at: now_ms() - 10_000,
                    duration_ms: 10_000,
                };
                let t = Instant::now();
                let Ok(ack) = writer.submit(&core, play).await else {
                    continue;
                };
                let (acked, lat) = (acked.clone(), lat.clone());
                answers.push(tokio::spawn(async move {
                    if ingest::answered(ack).await.is_ok() {
                        acked.fetch_add(1, Ordering::Relaxed);
                        lat.lock().unwrap().push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }));
            }
            for a in answers {
                let _ = a.await;
            }
        }));
    }
    // An operator editing meanwhile: how long a change waits behind the
    // writer's transactions.
    let operator = {
        let (core, reading) = (core.clone(), reading.clone());
        let user = CurrentUser {
            user_id: user_id.clone(),
            org_id: org_id.clone(),
            org_name: "Bench".into(),
            email: "bench@vizora.test".into(),
            role: Role::Admin,
            credential: Credential::Internal,
        };
        tokio::spawn(async move {
            let mut took = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            while reading.load(Ordering::Relaxed) {
                tick.tick().await;
                let op = Op {
                    op_id: new_id(),
                    base_version: None,
                    change: Change::CreateDevice {
                        device_id: new_id(),
                        name: format!("Added while ingesting {}", took.len()),
                        group_id: None,
                        tags: vec![],
                        timezone: "UTC".into(),
                    },
                };
                let t = Instant::now();
                if change::apply(&core, &user, op).await.is_ok() {
                    took.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            took
        })
    };
    for t in tasks {
        let _ = t.await;
    }
    let took = began.elapsed().as_secs_f64();
    reading.store(false, Ordering::Relaxed);
    let mut edits = operator.await.unwrap_or_default();
    edits.sort_by(f64::total_cmp);
    for r in readers {
        let _ = r.await;
    }
    let mut lat = lat.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "ingest while reading: {} plays acked in {took:.1} s = {:.0} plays/s (offered {target}/s); ack p50 {:.0} ms, p99 {:.0} ms; {} reports read meanwhile",
        acked.load(Ordering::Relaxed),
        acked.load(Ordering::Relaxed) as f64 / took,
        p(0.5),
        p(0.99),
        reads.load(Ordering::Relaxed)
    );
    let q = |q: f64| {
        edits
            .get(((edits.len() as f64 * q) as usize).min(edits.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "  an operator's change meanwhile: {} applied, p50 {:.0} ms, p99 {:.0} ms",
        edits.len(),
        q(0.5),
        q(0.99)
    );
    drop(state);

    // The page as a browser gets it: a server process on this database.
    let addr = format!("127.0.0.1:{}", args.port);
    let _server = super::loadtest::start_server(&dir, &addr, None, &[]).await?;
    let token = create_session(&db, &user_id, 1, None)
        .await
        .map_err(|e| e.to_string())?;
    for path in [
        "/analytics?range=30d",
        "/analytics?range=custom&start={year}&end={today}",
    ] {
        let today = local_date(tz, now);
        let path = path
            .replace("{year}", &(today - chrono::Duration::days(364)).to_string())
            .replace("{today}", &today.to_string());
        let (m, x) = time(|| get(&addr, &path, &token)).await?;
        println!("GET {path} (server render, HTML): median {m:.1} ms, slowest {x:.1} ms");
    }
    if args.keep {
        println!("database kept: {}", default_url(&dir));
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// One GET over a plain HTTP/1.1 connection, read to the end.
async fn get(addr: &str, path: &str, token: &str) -> Result<usize, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {SESSION_COOKIE}={token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    s.read_to_end(&mut body).await.map_err(|e| e.to_string())?;
    if !body.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "GET {path}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    Ok(body.len())
}
