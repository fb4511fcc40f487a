//! Analytics (issue 12) against a real database: rollups agree with the raw
//! plays, plays split at hour edges, uptime over gaps, history that
//! outlives renames and deletes, days in a zone with DST, organizations
//! kept apart, CSV over REST, and the activity history with its lines.

use axum::{
    body::{to_bytes, Body},
    http::{Request, StatusCode},
    middleware, Router,
};
use serde_json::Value;
use tower::ServiceExt;

use super::*;
use crate::{
    model::{DeviceStatus, GroupBy, HOUR_MS},
    server::{
        analytics::{
            self,
            activity::{self as activity_log, ActivityFilter},
            ingest::{self, PlayIn},
            report::{self, Filter, Range},
            uptime,
        },
        auth::{gate, tokens},
    },
};

/// 2027-03-01T00:00:00Z.
const T0: i64 = 1_803_859_200_000;

fn op(change: Change) -> Op {
    Op {
        op_id: new_id(),
        base_version: None,
        change,
    }
}

async fn display(f: &Fixture, name: &str) -> String {
    let o = create(name);
    let Change::CreateDevice { device_id, .. } = &o.change else {
        unreachable!()
    };
    let id = device_id.clone();
    change::apply(&f.state.core, &f.editor, o).await.unwrap();
    id
}

async fn page(f: &Fixture, name: &str) -> String {
    let id = new_id();
    change::apply(
        &f.state.core,
        &f.editor,
        op(Change::CreateWebPage {
            content_id: id.clone(),
            name: name.into(),
            url: "https://example.com/".into(),
            reload_seconds: 60,
            tags: vec![],
        }),
    )
    .await
    .unwrap();
    id
}

async fn play(f: &Fixture, org: &str, device: &str, content: &str, start: i64, ms: i64) {
    let id = new_id();
    let p = PlayIn {
        org_id: org,
        device_id: device,
        id: &id,
        content_id: content,
        playlist_id: None,
        started_at: start,
        duration_ms: ms,
    };
    assert!(ingest::record(&f.state.core.db, &p)
        .await
        .unwrap()
        .is_some());
}

fn utc(from: i64, to: i64) -> Range {
    Range {
        from,
        to,
        tz: crate::model::Zone::UTC,
    }
}

#[tokio::test]
async fn rollups_agree_with_the_raw_plays_for_random_data_and_ranges() {
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let displays = [display(&f, "A").await, display(&f, "B").await];
    let contents = [
        page(&f, "X").await,
        page(&f, "Y").await,
        page(&f, "Z").await,
    ];
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Three and a half weeks, so ranges read weekly, daily, hourly and raw rows.
    let span = 24 * 24 * HOUR_MS;
    let mut raw = Vec::new();
    for _ in 0..300 {
        let d = &displays[(next() % 2) as usize];
        let c = &contents[(next() % 3) as usize];
        let start = T0 + (next() % span as u64) as i64;
        let ms = (next() % (90 * 60_000)) as i64;
        play(&f, &org, d, c, start, ms).await;
        raw.push((d.clone(), c.clone(), start, ms));
    }
    // A replayed play id is stored (and counted) once.
    let again = PlayIn {
        org_id: &org,
        device_id: &displays[0],
        id: "same",
        content_id: &contents[0],
        playlist_id: None,
        started_at: T0,
        duration_ms: 1000,
    };
    assert!(ingest::record(&f.state.core.db, &again)
        .await
        .unwrap()
        .is_some());
    assert!(ingest::record(&f.state.core.db, &again)
        .await
        .unwrap()
        .is_none());
    raw.push((displays[0].clone(), contents[0].clone(), T0, 1000));

    // What the raw plays `keep` selects add up to in [from, to): plays that
    // start in it, and their time inside it.
    type Raw = (String, String, i64, i64);
    let expected = |raw: &[Raw], from: i64, to: i64, keep: &dyn Fn(&Raw) -> bool| {
        let mine = raw.iter().filter(|r| keep(r));
        let plays = mine
            .clone()
            .filter(|(_, _, s, _)| (from..to).contains(s))
            .count() as i64;
        let ms: i64 = mine
            .map(|(_, _, s, d)| ((s + d).min(to) - (*s).max(from)).max(0))
            .sum();
        (plays, ms)
    };
    for _ in 0..25 {
        let from = T0 - HOUR_MS + (next() % (span as u64)) as i64;
        let to = from + 1 + (next() % (20 * 24 * HOUR_MS as u64)) as i64;
        // By content and display row by row; those and the whole fleet by
        // day and by group (its daily rows per group) in total.
        for by in [
            GroupBy::Content,
            GroupBy::Display,
            GroupBy::Day,
            GroupBy::Group,
        ] {
            let got = report::plays(
                &f.state.core.db,
                &org,
                utc(from, to),
                by,
                &Filter::default(),
            )
            .await
            .unwrap();
            let by_key = matches!(by, GroupBy::Content | GroupBy::Display);
            for row in got.rows.iter().filter(|_| by_key) {
                let (plays, ms) = expected(&raw, from, to, &|(d, c, _, _)| {
                    if by == GroupBy::Content {
                        c == &row.key
                    } else {
                        d == &row.key
                    }
                });
                assert_eq!(row.plays, plays, "plays of {} in [{from}, {to})", row.label);
                assert!(
                    (row.seconds - ms as f64 / 1000.0).abs() < 0.001,
                    "time of {}",
                    row.label
                );
            }
            let (plays, ms) = expected(&raw, from, to, &|_| true);
            assert_eq!(got.total.plays, plays, "{by:?} in [{from}, {to})");
            assert!(
                (got.total.seconds - ms as f64 / 1000.0).abs() < 0.001,
                "{by:?}"
            );
        }
        // One display's days (its daily rows, whatever played) against
        // its raw plays.
        let one = Filter {
            device_id: Some(displays[0].clone()),
            ..Filter::default()
        };
        let got = report::plays(&f.state.core.db, &org, utc(from, to), GroupBy::Day, &one)
            .await
            .unwrap();
        let (plays, ms) = expected(&raw, from, to, &|(d, _, _, _)| d == &displays[0]);
        assert_eq!(
            got.total.plays, plays,
            "one display's plays in [{from}, {to})"
        );
        assert!((got.total.seconds - ms as f64 / 1000.0).abs() < 0.001);
    }
}

#[tokio::test]
async fn a_play_across_an_hour_counts_once_and_its_time_is_split() {
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let d = display(&f, "Lobby").await;
    let c = page(&f, "Menu").await;
    // 10:50 for 20 minutes.
    play(
        &f,
        &org,
        &d,
        &c,
        T0 + 10 * HOUR_MS + 50 * 60_000,
        20 * 60_000,
    )
    .await;
    let r = report::plays(
        &f.state.core.db,
        &org,
        utc(T0 + 10 * HOUR_MS, T0 + 12 * HOUR_MS),
        GroupBy::Hour,
        &Filter::default(),
    )
    .await
    .unwrap();
    let rows: Vec<(&str, i64, f64)> = r
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.plays, r.seconds))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("2027-03-01T10:00", 1, 600.0),
            ("2027-03-01T11:00", 0, 600.0)
        ]
    );
}

#[tokio::test]
async fn history_keeps_the_names_it_was_played_under() {
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let d = display(&f, "Lobby").await;
    let c = page(&f, "Spring menu").await;
    play(&f, &org, &d, &c, T0, 10_000).await;
    // Deleting the content later does not change what was proved.
    let version: i64 = sqlx::query_scalar("SELECT version FROM content WHERE id = $1")
        .bind(&c)
        .fetch_one(&f.state.core.db.pool)
        .await
        .unwrap();
    change::apply(
        &f.state.core,
        &f.editor,
        Op {
            op_id: new_id(),
            base_version: Some(version),
            change: Change::DeleteContent {
                content_id: c.clone(),
            },
        },
    )
    .await
    .unwrap();
    let r = report::plays(
        &f.state.core.db,
        &org,
        utc(T0, T0 + HOUR_MS),
        GroupBy::Content,
        &Filter::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(
        (r.rows[0].label.as_str(), r.rows[0].plays),
        ("Spring menu", 1)
    );
    let (name, sha): (String, Option<String>) =
        sqlx::query_as("SELECT content_name, content_sha256 FROM plays WHERE content_id = $1")
            .bind(&c)
            .fetch_one(&f.state.core.db.pool)
            .await
            .unwrap();
    assert_eq!((name.as_str(), sha), ("Spring menu", None));
}

#[tokio::test]
async fn a_rename_relabels_reports_at_the_writers_next_play_even_a_backlogged_one() {
    let f = fixture().await;
    let core = &f.state.core;
    let org = f.editor.org_id.clone();
    let d = display(&f, "Lobby").await;
    let c = page(&f, "Menu").await;
    // Through one writer, which remembers the names it stored.
    let writer = ingest::Ingest::default();
    let play = |id: &str, at: i64| ingest::Play {
        org_id: org.clone(),
        device_id: d.clone(),
        id: id.into(),
        content_id: c.clone(),
        playlist_id: None,
        started_at: at,
        duration_ms: 10_000,
    };
    let label = || async {
        let r = report::plays(
            &core.db,
            &org,
            utc(T0 - HOUR_MS, T0 + 2 * HOUR_MS),
            GroupBy::Display,
            &Filter::default(),
        )
        .await
        .unwrap();
        assert_eq!(r.rows.len(), 1);
        (r.rows[0].label.clone(), r.rows[0].plays)
    };
    assert!(writer.record(core, play("a", T0)).await.unwrap());
    assert!(writer.record(core, play("b", T0 + 60_000)).await.unwrap());
    assert_eq!(label().await, ("Lobby".to_string(), 2));
    let version: i64 = sqlx::query_scalar("SELECT version FROM devices WHERE id = $1")
        .bind(&d)
        .fetch_one(&core.db.pool)
        .await
        .unwrap();
    change::apply(core, &f.editor, rename(&d, version, "Lobby Main"))
        .await
        .unwrap();
    // A play from before the rename, sent late, is stored under the name the
    // display has now, and the label follows it.
    assert!(writer.record(core, play("c", T0 - 60_000)).await.unwrap());
    assert_eq!(label().await, ("Lobby Main".to_string(), 3));
    assert!(writer.record(core, play("d", T0 + 120_000)).await.unwrap());
    assert_eq!(label().await, ("Lobby Main".to_string(), 4));
}

#[tokio::test]
async fn days_follow_the_zone_across_a_dst_change() {
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let d = display(&f, "Berlin").await;
    let c = page(&f, "Menu").await;
    let tz = crate::model::zone("Europe/Berlin");
    // 2027-03-28: clocks go from 02:00 to 03:00, a 23-hour day.
    let day = |date: &str| {
        crate::model::day_start(
            tz,
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
        )
    };
    let (d27, d28, d29, d30) = (
        day("2027-03-27"),
        day("2027-03-28"),
        day("2027-03-29"),
        day("2027-03-30"),
    );
    assert_eq!(d29 - d28, 23 * HOUR_MS);
    // The last minute of the 28th locally, and the first of the 29th.
    play(&f, &org, &d, &c, d29 - 60_000, 1_000).await;
    play(&f, &org, &d, &c, d29, 1_000).await;
    play(&f, &org, &d, &c, d28, 1_000).await;
    let r = report::plays(
        &f.state.core.db,
        &org,
        Range {
            from: d27,
            to: d30,
            tz,
        },
        GroupBy::Day,
        &Filter::default(),
    )
    .await
    .unwrap();
    let rows: Vec<(&str, i64)> = r.rows.iter().map(|r| (r.key.as_str(), r.plays)).collect();
    assert_eq!(
        rows,
        vec![("2027-03-27", 0), ("2027-03-28", 2), ("2027-03-29", 1)]
    );
    // A zone with a 45-minute offset splits days at :15 past the hour.
    let nepal = crate::model::zone("Asia/Kathmandu");
    let r = report::plays(
        &f.state.core.db,
        &org,
        Range {
            from: d27,
            to: d30,
            tz: nepal,
        },
        GroupBy::Day,
        &Filter::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.total.plays, 3);
}

#[tokio::test]
async fn uptime_counts_each_status_over_a_range_with_gaps() {
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let d = display(&f, "Kiosk").await;
    let db = &f.state.core.db;
    let set = |status, at| {
        let (org, d) = (org.clone(), d.clone());
        async move {
            let mut tx = db.pool.begin().await.unwrap();
            uptime::status_changed(&mut tx, &org, &d, "", status, at)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    };
    // Online 2 h, offline 30 min (a gap in its heartbeats), online 1.5 h, then error.
    set(DeviceStatus::Online, T0).await;
    set(DeviceStatus::Offline, T0 + 2 * HOUR_MS).await;
    set(DeviceStatus::Online, T0 + 2 * HOUR_MS + 30 * 60_000).await;
    set(DeviceStatus::Error, T0 + 4 * HOUR_MS).await;
    let r = report::uptime(
        db,
        &org,
        utc(T0 - HOUR_MS, T0 + 4 * HOUR_MS),
        GroupBy::Display,
        &Filter::default(),
        T0 + 5 * HOUR_MS,
    )
    .await
    .unwrap();
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert_eq!(
        (row.online_seconds, row.offline_seconds, row.error_seconds),
        (3 * 3600 + 1800, 1800, 0)
    );
    assert_eq!(row.uptime_percent, 87.5);
    // Part of an hour at each edge, and the open interval up to now.
    let r = report::uptime(
        db,
        &org,
        utc(T0 + 90 * 60_000, T0 + 10 * HOUR_MS),
        GroupBy::Display,
        &Filter::default(),
        T0 + 5 * HOUR_MS,
    )
    .await
    .unwrap();
    let row = &r.rows[0];
    assert_eq!(
        (row.online_seconds, row.offline_seconds, row.error_seconds),
        (1800 + 5400, 1800, 3600)
    );
    // Three weeks online after that: a range inside reads weekly rows and
    // the days and hours at its ends, and counts every second once.
    let back = T0 + 20 * HOUR_MS;
    set(DeviceStatus::Online, back).await;
    set(DeviceStatus::Offline, back + 21 * 24 * HOUR_MS).await;
    let (from, to) = (back + 7 * 60_000, back + 20 * 24 * HOUR_MS + 13 * 60_000);
    let r = report::uptime(
        db,
        &org,
        utc(from, to),
        GroupBy::Display,
        &Filter::default(),
        back + 30 * 24 * HOUR_MS,
    )
    .await
    .unwrap();
    let row = &r.rows[0];
    assert_eq!(
        (row.online_seconds, row.offline_seconds, row.error_seconds),
        ((to - from) / 1000, 0, 0)
    );
}

#[tokio::test]
async fn another_organization_sees_no_plays_uptime_or_activity() {
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let d = display(&f, "Ours").await;
    let c = page(&f, "Our menu").await;
    play(&f, &org, &d, &c, T0, 5_000).await;
    // Their display id in a play of ours is not theirs to count.
    let theirs = f.stranger.org_id.clone();
    let stray = PlayIn {
        org_id: &theirs,
        device_id: &d,
        id: "stray",
        content_id: &c,
        playlist_id: None,
        started_at: T0,
        duration_ms: 5_000,
    };
    assert!(ingest::record(&f.state.core.db, &stray)
        .await
        .unwrap()
        .is_none());
    let range = utc(T0 - HOUR_MS, T0 + HOUR_MS);
    for by in [GroupBy::Content, GroupBy::Display, GroupBy::Day] {
        let r = report::plays(&f.state.core.db, &theirs, range, by, &Filter::default())
            .await
            .unwrap();
        assert_eq!(r.total.plays, 0);
    }
    let u = report::uptime(
        &f.state.core.db,
        &theirs,
        range,
        GroupBy::Display,
        &Filter::default(),
        T0 + HOUR_MS,
    )
    .await
    .unwrap();
    assert!(u.rows.is_empty());
    let a = activity_log::list(&f.state.core.db, &theirs, &ActivityFilter::default(), 50)
        .await
        .unwrap();
    assert!(a.items.is_empty());
}

fn api(f: &Fixture) -> Router {
    analytics::routes()
        .layer(middleware::from_fn_with_state(
            f.state.core.clone(),
            gate::gate,
        ))
        .with_state(f.state.clone())
}

async fn viewer_token(f: &Fixture) -> String {
    let admin = CurrentUser {
        role: Role::Admin,
        ..f.editor.clone()
    };
    tokens::create(&f.state.core.db, &admin, "reports", Role::Viewer)
        .await
        .unwrap()
        .secret
}

/// GETs `path` with the token (and `accept`): the status and the body as text.
async fn get(app: &Router, token: &str, path: &str, accept: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_rest_api_answers_json_and_csv_and_refuses_bad_input() {
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let d = display(&f, "Lobby, north").await;
    let c = page(&f, "The \"big\" menu").await;
    play(&f, &org, &d, &c, T0 + 60_000, 30_000).await;
    let app = api(&f);
    let token = viewer_token(&f).await;
    let q = "from=2027-03-01T00:00:00Z&to=2027-03-02T00:00:00Z";
    let (status, body) = get(
        &app,
        &token,
        &format!("/api/v1/analytics/plays?{q}&group_by=display"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["total"]["plays"], 1);
    assert_eq!(json["rows"][0]["label"], "Lobby, north");
    assert_eq!(json["rows"][0]["seconds"], 30.0);
    let (status, csv) = get(
        &app,
        &token,
        &format!("/api/v1/analytics/plays?{q}&group_by=content"),
        Some("text/csv"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        csv,
        format!("key,label,plays,seconds\r\n{c},\"The \"\"big\"\" menu\",1,30.000\r\n")
    );
    for bad in [
        "from=yesterday",
        "from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z",
        "group_by=week",
        "tz=Mars/Olympus",
    ] {
        let (status, _) = get(
            &app,
            &token,
            &format!("/api/v1/analytics/plays?{bad}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _) = get(
        &app,
        &token,
        "/api/v1/analytics/uptime?group_by=content",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn activity_lists_who_changed_what_in_words_newest_first_and_pages() {
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let d = display(&f, "Lobby 7").await;
    let version: i64 = sqlx::query_scalar("SELECT version FROM devices WHERE id = $1")
        .bind(&d)
        .fetch_one(&f.state.core.db.pool)
        .await
        .unwrap();
    change::apply(&f.state.core, &f.editor, rename(&d, version, "Lobby Main"))
        .await
        .unwrap();
    page(&f, "Menu").await;
    let db = &f.state.core.db;
    let all = activity_log::list(db, &org, &ActivityFilter::default(), 50)
        .await
        .unwrap();
    let lines: Vec<(&str, &str)> = all
        .items
        .iter()
        .map(|i| (i.actor.as_str(), i.summary.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("ed@acme.test", "added content “Menu”"),
            ("ed@acme.test", "renamed display “Lobby 7” to “Lobby Main”"),
            ("ed@acme.test", "added display “Lobby 7”"),
        ]
    );
    // Filtered by entity, and a page at a time.
    let devices = ActivityFilter {
        entity: Some("device".into()),
        ..Default::default()
    };
    let first = activity_log::list(db, &org, &devices, 1).await.unwrap();
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.items[0].entity_id, d);
    let next = ActivityFilter {
        before: first.next.as_deref().map(|n| n.parse().unwrap()),
        ..devices
    };
    let second = activity_log::list(db, &org, &next, 1).await.unwrap();
    assert_eq!(second.items[0].summary, "added display “Lobby 7”");
    assert_eq!(second.next, None);
    // System events (a status the fleet derived) are not activity.
    fleet::record_statuses(
        &f.state.core,
        &org,
        &[(d.clone(), DeviceStatus::Online, Some(now_ms()))],
    )
    .await
    .unwrap();
    let after = activity_log::list(db, &org, &ActivityFilter::default(), 50)
        .await
        .unwrap();
    assert_eq!(after.items.len(), 3);
}

#[tokio::test]
async fn the_page_snapshot_plus_the_plays_streamed_after_it_equals_a_later_snapshot() {
    use crate::model::{AnalyticsQuery, EventBody};
    let f = fixture().await;
    let core = &f.state.core;
    let org = f.editor.org_id.clone();
    let displays = [display(&f, "A").await, display(&f, "B").await];
    let contents = [page(&f, "X").await, page(&f, "Y").await];
    // Through the writer, as displays' plays come: each write one event.
    let writer = ingest::Ingest::default();
    let mut n = 0;
    let mut plays = |count: usize| {
        let batch: Vec<ingest::Play> = (0..count)
            .map(|_| {
                n += 1;
                ingest::Play {
                    org_id: org.clone(),
                    device_id: displays[n % 2].clone(),
                    id: format!("p{n}"),
                    content_id: contents[n % 3 % 2].clone(),
                    playlist_id: None,
                    started_at: T0 + n as i64 * 97_000,
                    duration_ms: 40_000,
                }
            })
            .collect();
        batch
    };
    for p in plays(30) {
        assert!(writer.record(core, p).await.unwrap());
    }
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 1);
    let q = AnalyticsQuery {
        range: "custom".into(),
        start: day,
        end: day,
        tz: "UTC".into(),
        ..Default::default()
    };
    let later = T0 + 2 * 24 * HOUR_MS;
    let mut seen = analytics::page::view(&core.db, &org, q.clone(), later)
        .await
        .unwrap();
    assert_eq!(seen.by_content.total.plays, 30);
    assert_eq!(seen.by_day.rows.len(), 1);
    // More plays, some concurrently with nothing reading; then the events
    // after the snapshot's position are added to it.
    let more = plays(25);
    let writes = more.into_iter().map(|p| writer.record(core, p));
    for ok in futures::future::join_all(writes).await {
        assert!(ok.unwrap());
    }
    let events = crate::server::core::log::read_since(&core.db, &org, seen.seq, 1000)
        .await
        .unwrap();
    assert!(!events.is_empty());
    for e in events {
        if let EventBody::PlaysRecorded { tallies } = &e.body {
            seen.add(e.seq, tallies, |_, id| id.to_string());
        }
    }
    let fresh = analytics::page::view(&core.db, &org, q, later)
        .await
        .unwrap();
    let sums = |r: &crate::model::PlaysReport| {
        let mut rows: Vec<(String, i64, i64)> = r
            .rows
            .iter()
            .map(|x| (x.key.clone(), x.plays, x.seconds as i64))
            .collect();
        rows.sort();
        (rows, r.total.plays)
    };
    assert_eq!(fresh.by_content.total.plays, 55);
    assert_eq!(sums(&seen.by_content), sums(&fresh.by_content));
    assert_eq!(sums(&seen.by_display), sums(&fresh.by_display));
    assert_eq!(sums(&seen.by_day), sums(&fresh.by_day));
    assert_eq!(seen.seq, fresh.seq);
}

#[tokio::test]
async fn the_page_refuses_a_range_it_cannot_read_with_a_reason() {
    use crate::model::AnalyticsQuery;
    let f = fixture().await;
    let q = AnalyticsQuery {
        range: "custom".into(),
        start: chrono::NaiveDate::from_ymd_opt(2027, 3, 2),
        end: chrono::NaiveDate::from_ymd_opt(2027, 3, 1),
        tz: "UTC".into(),
        ..Default::default()
    };
    let err = analytics::page::view(&f.state.core.db, &f.editor.org_id, q, T0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ends before it starts"), "{err}");
}
