//! Schedules (issue 11) through the change path, the REST API and a real
//! display socket: versioned and idempotent ops, roles and organizations,
//! the timeline endpoint, and the manifest carrying the timeline.

use std::time::Duration;

use axum::{http::StatusCode, middleware, Router};
use serde_json::{json, Value};

use super::{displays::paired_on, *};
use crate::{
    model::{DisplayMsg, Manifest, PlaylistItem, Recurrence, ScheduleSpec, ServerMsg, Source},
    server::auth::{gate, tokens},
};

fn op(change: Change) -> Op {
    Op {
        op_id: new_id(),
        base_version: None,
        change,
    }
}

fn versioned(base: i64, change: Change) -> Op {
    Op {
        op_id: new_id(),
        base_version: Some(base),
        change,
    }
}

async fn group(f: &Fixture, org_id: &str, name: &str) -> String {
    let id = new_id();
    sqlx::query("INSERT INTO device_groups (id, org_id, name, created_at) VALUES ($1, $2, $3, 0)")
        .bind(&id)
        .bind(org_id)
        .bind(name)
        .execute(&f.state.core.db.pool)
        .await
        .unwrap();
    id
}

/// A playlist with one web page in it.
async fn playlist(f: &Fixture, name: &str) -> String {
    let content_id = new_id();
    change::apply(
        &f.state.core,
        &f.editor,
        op(Change::CreateWebPage {
            content_id: content_id.clone(),
            name: format!("{name} page"),
            url: "https://example.com/".into(),
            reload_seconds: 60,
            tags: vec![],
        }),
    )
    .await
    .unwrap();
    let id = new_id();
    change::apply(
        &f.state.core,
        &f.editor,
        op(Change::CreatePlaylist {
            playlist_id: id.clone(),
            name: name.into(),
        }),
    )
    .await
    .unwrap();
    change::apply(
        &f.state.core,
        &f.editor,
        op(Change::InsertItem {
            playlist_id: id.clone(),
            item: PlaylistItem {
                id: new_id(),
                content_id,
                duration_ms: 10_000,
            },
            after: None,
        }),
    )
    .await
    .unwrap();
    id
}

fn all_day(name: &str, playlist_id: &str, group_id: &str) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        playlist_id: playlist_id.into(),
        device_id: None,
        group_id: Some(group_id.into()),
        starts_on: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        ends_on: None,
        recurrence: Recurrence::Day,
        except: vec![],
        window: None,
        daypart_id: None,
        priority: 0,
        enabled: true,
    }
}

fn schedule_in(body: &EventBody) -> crate::model::Schedule {
    match body {
        EventBody::ScheduleUpserted { schedule } => schedule.clone(),
        other => panic!("not a schedule: {other:?}"),
    }
}

#[tokio::test]
async fn schedule_ops_are_versioned_idempotent_and_for_one_organizations_editors() {
    let f = fixture().await;
    let core = &f.state.core;
    let g = group(&f, &f.editor.org_id, "Lobbies").await;
    let p = playlist(&f, "Breakfast").await;
    let id = new_id();
    let create = op(Change::CreateSchedule {
        schedule_id: id.clone(),
        spec: all_day(" Mornings ", &p, &g),
    });
    let first = change::apply(core, &f.editor, create.clone())
        .await
        .unwrap();
    let before = events_count(&f, &f.editor.org_id).await;
    let again = change::apply(core, &f.editor, create).await.unwrap();
    assert_eq!(first, again, "a replay answers the first outcome");
    assert_eq!(events_count(&f, &f.editor.org_id).await, before);
    let s = schedule_in(&first.event.body);
    assert_eq!((s.spec.name.as_str(), s.version), ("Mornings", 1));

    // Versioned: a stale base is a conflict carrying the schedule as it is.
    let mut spec = s.spec.clone();
    spec.enabled = false;
    let stale = change::apply(
        core,
        &f.editor,
        versioned(
            0,
            Change::UpdateSchedule {
                schedule_id: id.clone(),
                spec: spec.clone(),
            },
        ),
    )
    .await;
    match stale {
        Err(AppError::Conflict { current, .. }) => {
            assert_eq!(current.unwrap()["version"], 1)
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let updated = change::apply(
        core,
        &f.editor,
        versioned(
            1,
            Change::UpdateSchedule {
                schedule_id: id.clone(),
                spec,
            },
        ),
    )
    .await
    .unwrap();
    let s = schedule_in(&updated.event.body);
    assert_eq!((s.spec.enabled, s.version), (false, 2));

    // A viewer cannot write; bad input is refused before anything is stored.
    let refused = change::apply(
        core,
        &f.viewer,
        op(Change::CreateSchedule {
            schedule_id: new_id(),
            spec: all_day("Viewer's", &p, &g),
        }),
    )
    .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden { .. })),
        "{refused:?}"
    );
    let mut bad = all_day("Both", &p, &g);
    bad.device_id = Some("d".into());
    let refused = change::apply(
        core,
        &f.editor,
        op(Change::CreateSchedule {
            schedule_id: new_id(),
            spec: bad,
        }),
    )
    .await;
    assert!(
        matches!(refused, Err(AppError::Validation { .. })),
        "{refused:?}"
    );

    // Another organization can neither see, change nor point at it.
    let strange = change::apply(
        core,
        &f.stranger,
        versioned(
            2,
            Change::DeleteSchedule {
                schedule_id: id.clone(),
            },
        ),
    )
    .await;
    assert!(
        matches!(strange, Err(AppError::NotFound { .. })),
        "{strange:?}"
    );
    let theirs = group(&f, &f.stranger.org_id, "Theirs").await;
    let borrowed = change::apply(
        core,
        &f.stranger,
        op(Change::CreateSchedule {
            schedule_id: new_id(),
            spec: all_day("Borrowed", &p, &theirs),
        }),
    )
    .await;
    assert!(
        matches!(&borrowed, Err(AppError::NotFound { message }) if message.contains("playlist")),
        "{borrowed:?}"
    );
    let listed = crate::server::schedules::store::list_schedules(&core.db, &f.stranger.org_id)
        .await
        .unwrap();
    assert!(listed.is_empty());

    // The playlist cannot be deleted while a schedule plays it.
    let in_use = change::apply(
        core,
        &f.editor,
        versioned(
            2,
            Change::DeletePlaylist {
                playlist_id: p.clone(),
            },
        ),
    )
    .await;
    assert!(
        matches!(&in_use, Err(AppError::Validation { message }) if message.contains("Mornings")),
        "{in_use:?}"
    );
    let deleted = change::apply(
        core,
        &f.editor,
        versioned(2, Change::DeleteSchedule { schedule_id: id }),
    )
    .await
    .unwrap();
    assert!(matches!(
        deleted.event.body,
        EventBody::ScheduleDeleted { version: 3, .. }
    ));
}

#[tokio::test]
async fn a_daypart_in_use_cannot_be_deleted_and_its_schedules_follow_it() {
    let f = fixture().await;
    let core = &f.state.core;
    let g = group(&f, &f.editor.org_id, "Cafés").await;
    let p = playlist(&f, "Lunch").await;
    let daypart = new_id();
    change::apply(
        core,
        &f.editor,
        op(Change::CreateDaypart {
            daypart_id: daypart.clone(),
            name: "Lunch".into(),
            start: "11:30".parse().unwrap(),
            end: "14:00".parse().unwrap(),
        }),
    )
    .await
    .unwrap();
    let mut spec = all_day("Lunch menu", &p, &g);
    spec.daypart_id = Some(daypart.clone());
    change::apply(
        core,
        &f.editor,
        op(Change::CreateSchedule {
            schedule_id: new_id(),
            spec,
        }),
    )
    .await
    .unwrap();
    let refused = change::apply(
        core,
        &f.editor,
        versioned(
            1,
            Change::DeleteDaypart {
                daypart_id: daypart.clone(),
            },
        ),
    )
    .await;
    assert!(
        matches!(&refused, Err(AppError::Validation { message }) if message.contains("Lunch menu")),
        "{refused:?}"
    );
    let same = change::apply(
        core,
        &f.editor,
        versioned(
            1,
            Change::UpdateDaypart {
                daypart_id: daypart,
                name: "Lunch".into(),
                start: "12:00".parse().unwrap(),
                end: "12:00".parse().unwrap(),
            },
        ),
    )
    .await;
    assert!(matches!(same, Err(AppError::Validation { .. })), "{same:?}");
}

/// The next manifest the display hears (skipping acknowledgements).
async fn next_manifest(d: &mut super::displays::Display) -> Manifest {
    let wait = async {
        loop {
            match d.hear().await {
                ServerMsg::Manifest(m) => return m,
                _ => continue,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("no manifest arrived")
}

#[tokio::test]
async fn the_manifest_carries_the_timeline_and_follows_schedules_and_takeovers() {
    let f = fixture().await;
    let core = &f.state.core;
    let mut feed = core.hub.subscribe(&f.editor.org_id).await.unwrap();
    let (mut d, device_id, _token) = paired_on(&f.state, &f.editor, "Lobby 7").await;
    let g = group(&f, &f.editor.org_id, "Lobbies").await;
    change::apply(
        core,
        &f.editor,
        versioned(
            1,
            Change::UpdateDevice {
                device_id: device_id.clone(),
                patch: DevicePatch {
                    group_id: Some(Some(g.clone())),
                    timezone: Some("Asia/Kathmandu".into()),
                    ..Default::default()
                },
            },
        ),
    )
    .await
    .unwrap();
    // Nothing plays yet either way, so no new manifest goes out for that.
    let p = playlist(&f, "Breakfast").await;
    let schedule_id = new_id();
    change::apply(
        core,
        &f.editor,
        op(Change::CreateSchedule {
            schedule_id: schedule_id.clone(),
            spec: all_day("Every day", &p, &g),
        }),
    )
    .await
    .unwrap();
    let m = next_manifest(&mut d).await;
    let now = now_ms();
    assert!(
        m.timeline.last().unwrap().end - now >= 48 * 3_600_000,
        "48 hours ahead"
    );
    let playing = m.playing_at(now);
    assert_eq!(playing.playlist_id, Some(p.as_str()));
    assert_eq!(playing.items.len(), 1);
    assert_eq!(
        playing.segment.map(|s| (s.source, s.schedule_id.clone())),
        Some((Source::Schedule, Some(schedule_id.clone())))
    );
    assert_eq!(
        m.playlist_id.as_deref(),
        Some(p.as_str()),
        "what plays now, for old players"
    );
    assert!(!m.version.is_empty());

    // The player acknowledges: its deploy shows received.
    d.say(DisplayMsg::ManifestReceived {
        version: m.version.clone(),
    });
    let version = m.version.clone();
    super::displays::heard(&mut feed, |b| {
        matches!(b, EventBody::DeployUpdated { deploy }
            if deploy.received_version.as_deref() == Some(version.as_str())
                && deploy.sent_version.as_deref() == Some(version.as_str()))
    })
    .await;

    // A takeover for the fleet beats the schedule; ending it returns to it.
    let alarm = playlist(&f, "Alarm").await;
    let takeover_id = new_id();
    change::apply(
        core,
        &f.editor,
        op(Change::StartTakeover {
            takeover_id: takeover_id.clone(),
            name: "Fire drill".into(),
            playlist_id: alarm.clone(),
            group_id: None,
            starts_at: None,
            ends_at: None,
        }),
    )
    .await
    .unwrap();
    let m = next_manifest(&mut d).await;
    let playing = m.playing_at(now_ms());
    assert_eq!(playing.playlist_id, Some(alarm.as_str()));
    assert_eq!(playing.segment.unwrap().source, Source::Takeover);
    change::apply(
        core,
        &f.editor,
        versioned(
            1,
            Change::EndTakeover {
                takeover_id: takeover_id.clone(),
            },
        ),
    )
    .await
    .unwrap();
    let m = next_manifest(&mut d).await;
    assert_eq!(m.playing_at(now_ms()).playlist_id, Some(p.as_str()));
    let again = change::apply(
        core,
        &f.editor,
        versioned(2, Change::EndTakeover { takeover_id }),
    )
    .await;
    assert!(matches!(again, Err(AppError::Conflict { .. })), "{again:?}");

    // A switch the player reports is stored once, acknowledged and streamed.
    let switched = DisplayMsg::Switched {
        id: "sw-1".into(),
        at: now_ms(),
        playlist_id: Some(p.clone()),
        source: Source::Schedule,
        schedule_id: Some(schedule_id),
        takeover_id: None,
        previous_playlist_id: Some(alarm),
    };
    d.say(switched.clone());
    let wait = async {
        loop {
            if let ServerMsg::Acked { ids } = d.hear().await {
                return ids;
            }
        }
    };
    let ids = tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap();
    assert_eq!(ids, vec!["sw-1".to_string()]);
    super::displays::heard(
        &mut feed,
        |b| matches!(b, EventBody::ExecutionRecorded { execution } if execution.id == "sw-1"),
    )
    .await;
    d.say(switched);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let listed = crate::server::schedules::deploys::executions(
        &core.db,
        &f.editor.org_id,
        Some(&device_id),
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 1, "stored once");
    assert!(listed[0].reported);
}

fn app(state: &AppState) -> Router {
    crate::server::schedules::routes()
        .merge(crate::server::devices::routes())
        .layer(middleware::from_fn_with_state(
            state.core.clone(),
            gate::gate,
        ))
        .with_state(state.clone())
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, value, _etag) = super::api::call(app, method, path, headers, body).await;
    (status, value)
}

#[tokio::test]
async fn the_rest_api_creates_schedules_and_answers_a_display_timeline() {
    let f = fixture().await;
    let app = app(&f.state);
    let admin = CurrentUser {
        role: Role::Admin,
        ..f.editor.clone()
    };
    let secret = tokens::create(&f.state.core.db, &admin, "it", Role::Editor)
        .await
        .unwrap()
        .secret;
    let bearer = format!("Bearer {secret}");
    let auth = [("authorization", bearer.as_str())];
    let g = group(&f, &f.editor.org_id, "Berlin").await;
    let p = playlist(&f, "Evening").await;
    let device = change::apply(
        &f.state.core,
        &f.editor,
        op(Change::CreateDevice {
            device_id: new_id(),
            name: "Window".into(),
            group_id: Some(g.clone()),
            tags: vec![],
            timezone: "Europe/Berlin".into(),
        }),
    )
    .await
    .unwrap();
    let device_id = device.event.body.entity_id().to_string();
    let body = json!({"name": "Evening", "playlist_id": p, "device_id": null, "group_id": g,
        "starts_on": "2027-03-01", "ends_on": null,
        "recurrence": {"every": "week", "weekdays": ["sat", "sun"]},
        "except": ["2027-03-20"], "window": {"start": "18:00", "end": "01:30"},
        "priority": 10, "enabled": true});
    let keyed = [auth[0], ("idempotency-key", "evening-1")];
    let (status, created) = call(
        &app,
        "POST",
        "/api/v1/schedules",
        &keyed,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(created["recurrence"]["weekdays"], json!(["sat", "sun"]));
    let (_, replayed) = call(&app, "POST", "/api/v1/schedules", &keyed, Some(body)).await;
    assert_eq!(replayed, created);

    // Over the spring-forward weekend: Saturday 18:00 CET to Sunday 01:30,
    // then Sunday 18:00 CEST to Monday 01:30 (2027-03-28 is the change).
    let path = format!(
        "/api/v1/devices/{device_id}/timeline?from=2027-03-27T00:00:00Z&to=2027-03-29T00:00:00Z"
    );
    let (status, t) = call(&app, "GET", &path, &auth, None).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let segments = t["segments"].as_array().unwrap();
    assert_eq!(segments.first().unwrap()["start"], "2027-03-27T00:00:00Z");
    assert_eq!(segments.last().unwrap()["end"], "2027-03-29T00:00:00Z");
    for pair in segments.windows(2) {
        assert_eq!(pair[0]["end"], pair[1]["start"]);
    }
    let scheduled: Vec<(&str, &str, &str)> = segments
        .iter()
        .filter(|s| s["source"] == "schedule")
        .map(|s| {
            (
                s["start"].as_str().unwrap(),
                s["end"].as_str().unwrap(),
                s["start_local"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        scheduled,
        vec![
            (
                "2027-03-27T17:00:00Z",
                "2027-03-28T00:30:00Z",
                "2027-03-27T18:00:00+01:00"
            ),
            (
                "2027-03-28T16:00:00Z",
                "2027-03-28T23:30:00Z",
                "2027-03-28T18:00:00+02:00"
            ),
        ]
    );
    assert_eq!(segments[0]["source"], "none");

    // Bad ranges are 400s; another organization's display is a 404.
    for bad in [
        "from=yesterday",
        "from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z",
        "from=2027-01-01T00:00:00Z&to=2027-03-01T00:00:00Z",
    ] {
        let (status, _) = call(
            &app,
            "GET",
            &format!("/api/v1/devices/{device_id}/timeline?{bad}"),
            &auth,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let stranger = tokens::create(&f.state.core.db, &f.stranger, "it", Role::Admin)
        .await
        .unwrap()
        .secret;
    let theirs = format!("Bearer {stranger}");
    let (status, _) = call(
        &app,
        "GET",
        &path,
        &[("authorization", theirs.as_str())],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, list) = call(
        &app,
        "GET",
        "/api/v1/schedules",
        &[("authorization", theirs.as_str())],
        None,
    )
    .await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));

    // PATCH with If-Match: any subset of fields; a stale version is a 409.
    let id = created["id"].as_str().unwrap();
    let patch_path = format!("/api/v1/schedules/{id}");
    let (status, patched) = call(
        &app,
        "PATCH",
        &patch_path,
        &[auth[0], ("if-match", "\"1\"")],
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["enabled"].clone(), patched["version"].clone()),
        (json!(false), json!(2))
    );
    assert_eq!(patched["name"], "Evening");
    let (status, _) = call(
        &app,
        "PATCH",
        &patch_path,
        &[auth[0], ("if-match", "\"1\"")],
        Some(json!({"priority": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, e) = call(
        &app,
        "PATCH",
        &patch_path,
        &[auth[0], ("if-match", "\"2\"")],
        Some(json!({"colour": "red"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
}

#[tokio::test]
async fn a_player_that_does_not_report_its_switches_gets_them_derived() {
    let f = fixture().await;
    let core = &f.state.core;
    let mut feed = core.hub.subscribe(&f.editor.org_id).await.unwrap();
    // This "player" only listens: it never sends `switched`.
    let (mut d, device_id, _token) = paired_on(&f.state, &f.editor, "Old player").await;
    let p = playlist(&f, "Loop").await;
    change::apply(
        core,
        &f.editor,
        versioned(
            1,
            Change::UpdateDevice {
                device_id: device_id.clone(),
                patch: DevicePatch {
                    playlist_id: Some(Some(p.clone())),
                    ..Default::default()
                },
            },
        ),
    )
    .await
    .unwrap();
    let m = next_manifest(&mut d).await;
    assert_eq!(m.playing_at(now_ms()).playlist_id, Some(p.as_str()));
    let wanted = p.clone();
    let wait = async {
        loop {
            match feed.recv().await {
                Ok(shared) => {
                    if let EventBody::ExecutionRecorded { execution } = &shared.event.body {
                        return execution.clone();
                    }
                }
                Err(e) => panic!("the feed ended: {e}"),
            }
        }
    };
    let e = tokio::time::timeout(Duration::from_secs(15), wait)
        .await
        .expect("no derived switch");
    assert_eq!(e.playlist_id.as_deref(), Some(wanted.as_str()));
    assert_eq!((e.reported, e.source), (false, Source::Default));
    assert_eq!(e.device_id, device_id);
}

/// The gateway reads an organization's plan once and filters each display's
/// part in memory: the same timeline as reading it per display, kept until
/// an event that changes the plan goes by; an organization whose events it
/// does not follow is read afresh every time.
#[tokio::test]
async fn the_gateway_reads_an_organizations_plan_once_until_an_event_changes_it() {
    use crate::server::schedules::timeline::{self, PlanCache};
    let f = fixture().await;
    let core = &f.state.core;
    let org = f.editor.org_id.clone();
    let (lobby, hall) = (
        group(&f, &org, "Lobbies").await,
        group(&f, &org, "Halls").await,
    );
    let (p, q) = (playlist(&f, "Breakfast").await, playlist(&f, "Alarm").await);
    let created = change::apply(
        core,
        &f.editor,
        op(Change::CreateDevice {
            device_id: new_id(),
            name: "Lobby 1".into(),
            group_id: Some(lobby.clone()),
            tags: vec![],
            timezone: "Europe/Berlin".into(),
        }),
    )
    .await
    .unwrap();
    let EventBody::DeviceUpserted { device } = created.event.body else {
        panic!("not a display: {:?}", created.event.body)
    };
    let mut mine = all_day("Mine", &p, &lobby);
    mine.device_id = Some(device.id.clone());
    mine.group_id = None;
    for spec in [
        mine,
        all_day("Lobbies", &p, &lobby),
        all_day("Halls", &q, &hall),
    ] {
        change::apply(
            core,
            &f.editor,
            op(Change::CreateSchedule {
                schedule_id: new_id(),
                spec,
            }),
        )
        .await
        .unwrap();
    }
    // One for the fleet, one for another group, one ended at once.
    for (group_id, end) in [(None, false), (Some(hall.clone()), false), (None, true)] {
        let takeover_id = new_id();
        change::apply(
            core,
            &f.editor,
            op(Change::StartTakeover {
                takeover_id: takeover_id.clone(),
                name: "Drill".into(),
                playlist_id: q.clone(),
                group_id,
                starts_at: None,
                ends_at: None,
            }),
        )
        .await
        .unwrap();
        if end {
            change::apply(
                core,
                &f.editor,
                versioned(1, Change::EndTakeover { takeover_id }),
            )
            .await
            .unwrap();
        }
    }
    let from = crate::server::core::now_ms() + 60_000;
    let to = from + 54 * 3_600_000;
    let (direct, plan) = timeline::of_device(&core.db, &org, &device, from, to)
        .await
        .unwrap();
    assert_eq!((plan.schedules.len(), plan.takeovers.len()), (2, 1));
    let cache = PlanCache::default();
    cache.follow(&org);
    let (cached, cached_plan) = cache
        .of_device(&core.db, &org, &device, from, to)
        .await
        .unwrap();
    assert_eq!(cached, direct, "the same timeline as reading per display");
    assert_eq!(cached_plan.reach(), plan.reach());

    // A new schedule for the display's group: kept out until its event goes by.
    let added = change::apply(
        core,
        &f.editor,
        op(Change::CreateSchedule {
            schedule_id: new_id(),
            spec: all_day("Later", &q, &lobby),
        }),
    )
    .await
    .unwrap();
    async fn schedules(
        cache: &PlanCache,
        db: &crate::server::core::Db,
        org: &str,
        device: &crate::model::Device,
        (from, to): (i64, i64),
    ) -> usize {
        let (_, plan) = cache.of_device(db, org, device, from, to).await.unwrap();
        plan.schedules.len()
    }
    let schedules = |cache| schedules(cache, &core.db, &org, &device, (from, to));
    assert_eq!(schedules(&cache).await, 2, "the plan in memory is used");
    // Events about something else leave it.
    cache.changed(
        &org,
        &EventBody::DeviceUpserted {
            device: device.clone(),
        },
    );
    assert_eq!(schedules(&cache).await, 2);
    cache.changed(&org, &added.event.body);
    assert_eq!(schedules(&cache).await, 3, "read again after the change");
    // Not followed: read every time.
    let unfollowed = PlanCache::default();
    assert_eq!(schedules(&unfollowed).await, 3);
}
