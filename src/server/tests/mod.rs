//! The change path and the stream against a real SQLite file.

use std::sync::Arc;

use axum::extract::ws::Message;
use futures::{channel::mpsc, StreamExt};

use super::{
    config::Settings,
    core::{
        change,
        credential::{Credential, Recheck},
        log, new_id, now_ms,
        stream::{self, StreamQuery},
        CurrentUser, Db,
    },
    devices::store as devices,
    displays::fleet,
    orgs::create_organization,
    state::AppState,
};
use crate::{
    error::AppError,
    model::{Change, DevicePatch, EventBody, Op, Role, StreamFrame},
};

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
    editor: CurrentUser,
    viewer: CurrentUser,
    stranger: CurrentUser,
}

async fn user(db: &Db, org_id: &str, org_name: &str, email: &str, role: Role) -> CurrentUser {
    let id = new_id();
    // A real hash is not needed here: these tests never sign in.
    sqlx::query("INSERT INTO users (id, org_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, 'x', $4, $5)")
        .bind(&id)
        .bind(org_id)
        .bind(email)
        .bind(role.as_str())
        .bind(now_ms())
        .execute(&db.pool)
        .await
        .unwrap();
    CurrentUser {
        user_id: id,
        org_id: org_id.into(),
        org_name: org_name.into(),
        email: email.into(),
        role,
        credential: Credential::Internal,
    }
}

/// A fresh database: a SQLite file, or, when `VIZORA_TEST_POSTGRES` names a
/// server (`postgres://postgres@127.0.0.1:5432`), a new PostgreSQL database on it.
async fn fresh_db(dir: &tempfile::TempDir) -> Db {
    match std::env::var("VIZORA_TEST_POSTGRES") {
        Ok(server) if !server.is_empty() => {
            let server = server.trim_end_matches('/');
            let name = format!("vizora_test_{}", new_id().replace('-', ""));
            let admin = Db::connect(&format!("{server}/postgres")).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin.pool)
                .await
                .unwrap();
            Db::connect(&format!("{server}/{name}")).await.unwrap()
        }
        _ => Db::connect(&format!("sqlite://{}/vizora.db", dir.path().display()))
            .await
            .unwrap(),
    }
}

/// One app node over `db`, as `vizora serve` builds it.
fn node(db: Db, dir: &tempfile::TempDir) -> AppState {
    AppState::new(
        leptos::config::LeptosOptions::builder()
            .output_name("vizora")
            .build(),
        db,
        Arc::new(Settings::default()),
        dir.path().join("media"),
    )
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(&dir).await;
    db.migrate().await.unwrap();
    let org = create_organization(&db, "Acme").await.unwrap();
    let other = create_organization(&db, "Other").await.unwrap();
    let editor = user(&db, &org, "Acme", "ed@acme.test", Role::Editor).await;
    let viewer = user(&db, &org, "Acme", "vi@acme.test", Role::Viewer).await;
    let stranger = user(&db, &other, "Other", "ad@other.test", Role::Admin).await;
    let state = node(db, &dir);
    Fixture {
        _dir: dir,
        state,
        editor,
        viewer,
        stranger,
    }
}

fn create(name: &str) -> Op {
    Op {
        op_id: new_id(),
        base_version: None,
        change: Change::CreateDevice {
            device_id: new_id(),
            name: name.into(),
            group_id: None,
            tags: vec!["lobby".into()],
            timezone: "Europe/Berlin".into(),
        },
    }
}

fn rename(device_id: &str, base: i64, name: &str) -> Op {
    Op {
        op_id: new_id(),
        base_version: Some(base),
        change: Change::UpdateDevice {
            device_id: device_id.into(),
            patch: DevicePatch {
                name: Some(name.into()),
                ..Default::default()
            },
        },
    }
}

async fn events_count(f: &Fixture, org_id: &str) -> usize {
    log::read_since(&f.state.core.db, org_id, 0, 10_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_replayed_op_id_applies_once_and_gets_the_first_answer() {
    let f = fixture().await;
    let op = create("Lobby 1");
    let first = change::apply(&f.state.core, &f.editor, op.clone())
        .await
        .unwrap();
    let again = change::apply(&f.state.core, &f.editor, op.clone())
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        devices::list(&f.state.core.db, &f.editor.org_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(events_count(&f, &f.editor.org_id).await, 1);
    assert_eq!(
        log::position(&f.state.core.db, &f.editor.org_id)
            .await
            .unwrap()
            .1,
        1
    );
}

#[tokio::test]
async fn a_refusal_is_stored_and_replayed_too() {
    let f = fixture().await;
    let op = create(&"x".repeat(300));
    let first = change::apply(&f.state.core, &f.editor, op.clone())
        .await
        .unwrap_err();
    assert!(matches!(first, AppError::Validation { .. }), "{first:?}");
    assert!(first.to_string().contains("at most 100 characters"));
    let again = change::apply(&f.state.core, &f.editor, op)
        .await
        .unwrap_err();
    assert_eq!(first, again);
    assert_eq!(events_count(&f, &f.editor.org_id).await, 0);
    assert_eq!(
        log::position(&f.state.core.db, &f.editor.org_id)
            .await
            .unwrap()
            .1,
        0,
        "no seq used"
    );
}

#[tokio::test]
async fn a_stale_base_version_is_a_conflict_carrying_the_current_display() {
    let f = fixture().await;
    let ack = change::apply(&f.state.core, &f.editor, create("Lobby"))
        .await
        .unwrap();
    let id = ack.event.body.entity_id().to_string();
    change::apply(&f.state.core, &f.editor, rename(&id, 1, "Theirs"))
        .await
        .unwrap();
    let err = change::apply(&f.state.core, &f.editor, rename(&id, 1, "Mine"))
        .await
        .unwrap_err();
    match err {
        AppError::Conflict { current, .. } => {
            let current = current.unwrap();
            assert_eq!(current["name"], "Theirs");
            assert_eq!(current["version"], 2);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let now = devices::list(&f.state.core.db, &f.editor.org_id)
        .await
        .unwrap();
    assert_eq!(now[0].name, "Theirs");
}

#[tokio::test]
async fn status_changes_do_not_make_an_operators_base_version_stale() {
    use crate::model::DeviceStatus;
    let f = fixture().await;
    let ack = change::apply(&f.state.core, &f.editor, create("Lobby"))
        .await
        .unwrap();
    let id = ack.event.body.entity_id().to_string();
    // Read at version 1; then the display goes online and idle (versions 2, 3).
    for status in [DeviceStatus::Online, DeviceStatus::Idle] {
        fleet::record_statuses(
            &f.state.core,
            &f.editor.org_id,
            &[(id.clone(), status, Some(now_ms()))],
        )
        .await
        .unwrap();
    }
    let renamed = change::apply(&f.state.core, &f.editor, rename(&id, 1, "Mine"))
        .await
        .unwrap();
    let EventBody::DeviceUpserted { device } = renamed.event.body else {
        panic!("not a display")
    };
    assert_eq!((device.name.as_str(), device.version), ("Mine", 4));
    // The status stays what the heartbeats said.
    assert_eq!(device.status, DeviceStatus::Idle);
    // An operator's change still makes older bases stale, statuses or not.
    fleet::record_statuses(
        &f.state.core,
        &f.editor.org_id,
        &[(id.clone(), DeviceStatus::Offline, None)],
    )
    .await
    .unwrap();
    for base in [1, 3] {
        let err = change::apply(&f.state.core, &f.editor, rename(&id, base, "Stale"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Conflict { .. }), "{err:?}");
    }
    change::apply(&f.state.core, &f.editor, rename(&id, 4, "After the status"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_viewer_cannot_change_anything() {
    let f = fixture().await;
    let err = change::apply(&f.state.core, &f.viewer, create("Nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
    assert!(devices::list(&f.state.core.db, &f.viewer.org_id)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn another_organization_can_neither_read_nor_change() {
    let f = fixture().await;
    let ack = change::apply(&f.state.core, &f.editor, create("Ours"))
        .await
        .unwrap();
    let id = ack.event.body.entity_id().to_string();
    assert!(devices::list(&f.state.core.db, &f.stranger.org_id)
        .await
        .unwrap()
        .is_empty());
    let err = change::apply(&f.state.core, &f.stranger, rename(&id, 1, "Theirs"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
    let delete = Op {
        op_id: new_id(),
        base_version: Some(1),
        change: Change::DeleteDevice {
            device_id: id.clone(),
        },
    };
    assert!(change::apply(&f.state.core, &f.stranger, delete)
        .await
        .is_err());
    assert_eq!(
        devices::list(&f.state.core.db, &f.editor.org_id)
            .await
            .unwrap()[0]
            .name,
        "Ours"
    );
    assert_eq!(events_count(&f, &f.stranger.org_id).await, 0);
}

#[tokio::test]
async fn delete_then_replay_does_not_fail_on_the_missing_row() {
    let f = fixture().await;
    let ack = change::apply(&f.state.core, &f.editor, create("Gone soon"))
        .await
        .unwrap();
    let id = ack.event.body.entity_id().to_string();
    let delete = Op {
        op_id: new_id(),
        base_version: Some(1),
        change: Change::DeleteDevice { device_id: id },
    };
    let first = change::apply(&f.state.core, &f.editor, delete.clone())
        .await
        .unwrap();
    assert!(matches!(first.event.body, EventBody::DeviceDeleted { .. }));
    assert_eq!(
        change::apply(&f.state.core, &f.editor, delete)
            .await
            .unwrap(),
        first
    );
}

/// Serves a stream for `user` over channels; returns the frames it sends and
/// the sender whose drop closes the socket.
fn open_stream(
    state: &AppState,
    user: &CurrentUser,
    since: Option<i64>,
    epoch: Option<String>,
) -> (
    mpsc::UnboundedReceiver<Message>,
    mpsc::UnboundedSender<Result<Message, std::convert::Infallible>>,
    tokio::task::JoinHandle<()>,
) {
    let (sink, frames) = mpsc::unbounded::<Message>();
    let (close, incoming) = mpsc::unbounded::<Result<Message, std::convert::Infallible>>();
    let task = tokio::spawn(stream::serve(
        sink,
        incoming,
        state.core.clone(),
        user.clone(),
        Recheck::always(user.clone()),
        StreamQuery { since, epoch },
    ));
    (frames, close, task)
}

fn frame(message: Message) -> Option<StreamFrame> {
    match message {
        Message::Text(text) => serde_json::from_str(text.as_str()).ok(),
        _ => None,
    }
}

async fn next_frame(rx: &mut mpsc::UnboundedReceiver<Message>) -> StreamFrame {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), rx.next())
            .await
            .expect("a frame within 10 s")
            .expect("the stream is open");
        if let Some(f) = frame(message) {
            if !matches!(f, StreamFrame::Ping { .. }) {
                return f;
            }
        }
    }
}

#[tokio::test]
async fn the_stream_resumes_from_since_with_no_gap_and_no_duplicate() {
    let f = fixture().await;
    for i in 0..5 {
        change::apply(&f.state.core, &f.editor, create(&format!("D{i}")))
            .await
            .unwrap();
    }
    let (mut frames, close, task) = open_stream(&f.state, &f.editor, Some(2), None);
    match next_frame(&mut frames).await {
        StreamFrame::Hello { head, .. } => assert_eq!(head, 5),
        other => panic!("expected hello, got {other:?}"),
    }
    // Changes made while the socket is catching up and after it is live.
    let state = f.state.clone();
    let editor = f.editor.clone();
    let writer = tokio::spawn(async move {
        for i in 5..25 {
            change::apply(&state.core, &editor, create(&format!("D{i}")))
                .await
                .unwrap();
        }
    });
    let mut seqs = Vec::new();
    while seqs.last() != Some(&25) {
        match next_frame(&mut frames).await {
            StreamFrame::Event { event } => seqs.push(event.seq),
            other => panic!("unexpected frame {other:?}"),
        }
    }
    writer.await.unwrap();
    assert_eq!(seqs, (3..=25).collect::<Vec<_>>());
    drop(close);
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

/// An operator whose socket takes nothing is dropped after the send timeout;
/// meanwhile another operator of the same organization gets every event, so
/// the slow one never holds the others up.
#[tokio::test]
async fn a_slow_operator_socket_is_dropped_without_slowing_the_others() {
    let f = fixture().await;
    let dropped_before = super::core::metrics::METRICS.slow_operators_dropped.get();
    // A socket nobody reads: its first frame never completes.
    let (stuck_sink, _unread) = mpsc::channel::<Message>(0);
    let (_keep_open, stuck_incoming) =
        mpsc::unbounded::<Result<Message, std::convert::Infallible>>();
    let slow = tokio::spawn(stream::serve(
        stuck_sink,
        stuck_incoming,
        f.state.core.clone(),
        f.editor.clone(),
        Recheck::always(f.editor.clone()),
        StreamQuery {
            since: None,
            epoch: None,
        },
    ));
    let (mut frames, _close, _task) = open_stream(&f.state, &f.editor, None, None);
    assert!(matches!(
        next_frame(&mut frames).await,
        StreamFrame::Hello { .. }
    ));
    for i in 0..30 {
        change::apply(&f.state.core, &f.editor, create(&format!("S{i}")))
            .await
            .unwrap();
    }
    let mut seen = 0;
    while seen < 30 {
        if let StreamFrame::Event { .. } = next_frame(&mut frames).await {
            seen += 1;
        }
    }
    assert!(
        !slow.is_finished(),
        "the fast socket had everything before the slow one's timeout"
    );
    tokio::time::timeout(stream::SEND_TIMEOUT * 2, slow)
        .await
        .expect("the slow socket is dropped after the send timeout")
        .unwrap();
    assert!(super::core::metrics::METRICS.slow_operators_dropped.get() > dropped_before);
}

#[tokio::test]
async fn the_stream_sends_a_reset_when_the_position_cannot_be_resumed() {
    let f = fixture().await;
    change::apply(&f.state.core, &f.editor, create("A"))
        .await
        .unwrap();
    for (since, epoch) in [(7, None), (1, Some("another-epoch".to_string()))] {
        let (mut frames, _close, _task) = open_stream(&f.state, &f.editor, Some(since), epoch);
        assert!(matches!(
            next_frame(&mut frames).await,
            StreamFrame::Hello { .. }
        ));
        match next_frame(&mut frames).await {
            StreamFrame::Reset { head, .. } => assert_eq!(head, 1),
            other => panic!("expected a reset, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_stream_carries_only_the_operators_organization() {
    let f = fixture().await;
    let (mut frames, _close, _task) = open_stream(&f.state, &f.stranger, Some(0), None);
    assert!(matches!(
        next_frame(&mut frames).await,
        StreamFrame::Hello { .. }
    ));
    change::apply(&f.state.core, &f.editor, create("Not yours"))
        .await
        .unwrap();
    let ours = Op {
        op_id: new_id(),
        ..create("Yours")
    };
    change::apply(&f.state.core, &f.stranger, ours)
        .await
        .unwrap();
    match next_frame(&mut frames).await {
        StreamFrame::Event { event } => match event.body {
            EventBody::DeviceUpserted { device } => assert_eq!(device.name, "Yours"),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pruning_keeps_the_newest_events_and_old_positions_then_reset() {
    let f = fixture().await;
    for i in 0..10 {
        change::apply(&f.state.core, &f.editor, create(&format!("P{i}")))
            .await
            .unwrap();
    }
    log::prune(&f.state.core.db, 4, 0).await.unwrap();
    let oldest = log::oldest_retained(&f.state.core.db, &f.editor.org_id)
        .await
        .unwrap();
    assert_eq!(oldest, Some(7));
    let (epoch, head) = log::position(&f.state.core.db, &f.editor.org_id)
        .await
        .unwrap();
    assert_eq!(
        log::plan_resume(6, None, &epoch, head, oldest),
        log::Resume::From(6)
    );
    assert!(matches!(
        log::plan_resume(5, None, &epoch, head, oldest),
        log::Resume::Reset(_)
    ));
}

#[tokio::test]
async fn a_change_made_on_one_node_reaches_operator_sockets_on_another() {
    let f = fixture().await;
    // A second node: its own pool and hub over the same database.
    let other_node = node(Db::connect(&f.state.core.db.url).await.unwrap(), &f._dir);
    let (mut frames, _close, _task) = open_stream(&other_node, &f.editor, None, None);
    assert!(matches!(
        next_frame(&mut frames).await,
        StreamFrame::Hello { .. }
    ));
    let ack = change::apply(&f.state.core, &f.editor, create("Across nodes"))
        .await
        .unwrap();
    match next_frame(&mut frames).await {
        StreamFrame::Event { event } => assert_eq!(event, ack.event),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn concurrent_writers_get_contiguous_seqs_and_every_change_applies() {
    let f = fixture().await;
    let writers: Vec<_> = (0..10)
        .map(|w| {
            let state = f.state.clone();
            let editor = f.editor.clone();
            tokio::spawn(async move {
                for i in 0..5 {
                    change::apply(&state.core, &editor, create(&format!("W{w}-{i}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let seqs: Vec<i64> = log::read_since(&f.state.core.db, &f.editor.org_id, 0, 1_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
    assert_eq!(
        devices::list(&f.state.core.db, &f.editor.org_id)
            .await
            .unwrap()
            .len(),
        50
    );
}

#[tokio::test]
async fn the_long_poll_answers_at_once_with_what_is_there_and_waits_for_the_next() {
    let f = fixture().await;
    for i in 0..3 {
        change::apply(&f.state.core, &f.editor, create(&format!("L{i}")))
            .await
            .unwrap();
    }
    let q = |since, wait| stream::PollQuery {
        since: Some(since),
        epoch: None,
        wait: Some(wait),
        limit: None,
    };
    let page = stream::poll(&f.state.core, &f.editor, q(1, 0))
        .await
        .unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(page.head, 3);
    // Nothing after 3 yet: the poll waits, and a change made meanwhile ends the wait.
    let state = f.state.clone();
    let editor = f.editor.clone();
    let waiting =
        tokio::spawn(async move { stream::poll(&state.core, &editor, q(3, 20)).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    change::apply(&f.state.core, &f.editor, create("L3"))
        .await
        .unwrap();
    let page = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![4]
    );
    let reset = stream::poll(&f.state.core, &f.editor, q(99, 0))
        .await
        .unwrap();
    assert!(reset.reset.is_some());
}

/// The server render of Devices for a big fleet reads a first screen, with
/// the page's search and filters applied in the database, on both databases.
#[tokio::test]
async fn a_big_fleet_renders_a_first_screen_with_its_counts() {
    use crate::model::{Device, DeviceStatus};
    let f = fixture().await;
    let org = f.editor.org_id.clone();
    let mut tx = f.state.core.db.begin_write().await.unwrap();
    for i in 0..300u32 {
        let device = Device {
            id: new_id(),
            name: format!("Screen {i:03}"),
            group_id: None,
            tags: vec![if i.is_multiple_of(10) {
                "100%_sale"
            } else {
                "lobby"
            }
            .into()],
            timezone: if i.is_multiple_of(2) {
                "Asia/Tokyo"
            } else {
                "Europe/Berlin"
            }
            .into(),
            status: if i.is_multiple_of(3) {
                DeviceStatus::Error
            } else {
                DeviceStatus::Online
            },
            last_seen: None,
            playlist_id: None,
            paired: false,
            version: 1,
        };
        devices::insert(&mut tx, &org, &device, now_ms())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let core = &f.state.core;
    let first = |q: &str, status: &str| devices::Filters {
        q: q.into(),
        group: String::new(),
        status: status.into(),
    };
    let all = super::devices::first_screen(core, &org, &first("", ""))
        .await
        .unwrap();
    let counts = all.first_screen.unwrap();
    assert_eq!((counts.total, counts.matching), (300, 300));
    assert_eq!(all.devices.len(), super::devices::FIRST_SCREEN);
    assert_eq!(all.devices[0].name, "Screen 000");
    // The Overview's: no rows, the counts by status (Online, Idle, Offline, Error).
    let overview = super::devices::counts_screen(core, &org).await.unwrap();
    assert!(overview.devices.is_empty());
    let counts = overview.first_screen.unwrap();
    assert_eq!(counts.total, 300);
    assert_eq!(counts.by_status, Some([200, 0, 0, 100]));
    let tokyo_errors = super::devices::first_screen(core, &org, &first(" TOKYO ", "error"))
        .await
        .unwrap();
    assert_eq!(tokyo_errors.first_screen.unwrap().matching, 50);
    assert!(tokyo_errors
        .devices
        .iter()
        .all(|d| d.status == DeviceStatus::Error && d.timezone == "Asia/Tokyo"));
    // LIKE's wildcards in a search are the characters themselves.
    let sale = super::devices::first_screen(core, &org, &first("0%_s", ""))
        .await
        .unwrap();
    assert_eq!(sale.first_screen.unwrap().matching, 30);
    let none = super::devices::first_screen(core, &org, &first("%", ""))
        .await
        .unwrap();
    assert_eq!(none.first_screen.unwrap().matching, 30);
    // Another organization's fleet is small, and gets the whole snapshot.
    let other = super::devices::first_screen(core, &f.stranger.org_id, &first("", ""))
        .await
        .unwrap();
    assert_eq!(other.first_screen, None);
}

mod accounts;
mod analytics;
mod attacks;
mod displays;
mod library;
mod nodes;
mod schedules;

pub(super) mod api {
    use axum::{
        body::{to_bytes, Body},
        http::{Request, StatusCode},
        middleware, Router,
    };
    use serde_json::{json, Value};
    use tower::ServiceExt;

    use super::*;
    use crate::server::{
        auth::{gate, tokens},
        core::http,
    };

    fn app(state: &AppState) -> Router {
        crate::server::devices::routes()
            .merge(stream::routes())
            .layer(middleware::from_fn_with_state(
                state.core.clone(),
                gate::gate,
            ))
            .with_state(state.clone())
    }

    pub(in crate::server::tests) async fn call(
        app: &Router,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value, Option<String>) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let etag = res
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value, etag)
    }

    async fn token(f: &Fixture, role: Role) -> String {
        let admin = CurrentUser {
            role: Role::Admin,
            ..f.editor.clone()
        };
        tokens::create(&f.state.core.db, &admin, "integration", role)
            .await
            .unwrap()
            .secret
    }

    #[tokio::test]
    async fn replaying_an_idempotency_key_returns_the_first_response_and_changes_nothing() {
        let f = fixture().await;
        let app = app(&f.state);
        let secret = token(&f, Role::Editor).await;
        let bearer = format!("Bearer {secret}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("idempotency-key", "create-lobby-1"),
        ];
        let body = json!({"name": "API lobby", "timezone": "Asia/Tokyo", "tags": ["api"]});
        let first = call(
            &app,
            "POST",
            "/api/v1/devices",
            &headers,
            Some(body.clone()),
        )
        .await;
        let again = call(&app, "POST", "/api/v1/devices", &headers, Some(body)).await;
        assert_eq!(first.0, StatusCode::CREATED);
        assert_eq!(first, again);
        assert_eq!(first.1["name"], "API lobby");
        assert_eq!(first.2.as_deref(), Some("\"1\""));
        assert_eq!(
            devices::list(&f.state.core.db, &f.editor.org_id)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(events_count(&f, &f.editor.org_id).await, 1);
    }

    #[tokio::test]
    async fn a_stale_if_match_is_a_409_carrying_the_current_display() {
        let f = fixture().await;
        let app = app(&f.state);
        let bearer = format!("Bearer {}", token(&f, Role::Editor).await);
        let auth = ("authorization", bearer.as_str());
        let (_, created, etag) = call(
            &app,
            "POST",
            "/api/v1/devices",
            &[auth],
            Some(json!({"name": "Bar"})),
        )
        .await;
        let path = format!("/api/v1/devices/{}", created["id"].as_str().unwrap());
        let etag = etag.unwrap();
        let (ok, renamed, _) = call(
            &app,
            "PATCH",
            &path,
            &[auth, ("if-match", etag.as_str())],
            Some(json!({"name": "Bar 2"})),
        )
        .await;
        assert_eq!((ok, renamed["version"].as_i64()), (StatusCode::OK, Some(2)));
        let (status, err, _) = call(
            &app,
            "PATCH",
            &path,
            &[auth, ("if-match", etag.as_str())],
            Some(json!({"name": "Bar 3"})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(err["code"], "conflict");
        assert_eq!(err["current"]["name"], "Bar 2");
        assert_eq!(err["current"]["version"], 2);
        let (missing, err, _) = call(&app, "DELETE", &path, &[auth], None).await;
        assert_eq!(missing, StatusCode::PRECONDITION_REQUIRED);
        assert!(err["message"].as_str().unwrap().contains("If-Match"));
        let (deleted, _, _) = call(
            &app,
            "DELETE",
            &path,
            &[auth, ("if-match", "W/\"2\"")],
            None,
        )
        .await;
        assert_eq!(deleted, StatusCode::NO_CONTENT);
    }

    #[tokio::test]
    async fn tokens_act_with_their_role_until_revoked() {
        let f = fixture().await;
        let app = app(&f.state);
        let viewer = format!("Bearer {}", token(&f, Role::Viewer).await);
        let (listed, snapshot, _) = call(
            &app,
            "GET",
            "/api/v1/devices",
            &[("authorization", viewer.as_str())],
            None,
        )
        .await;
        assert_eq!(listed, StatusCode::OK);
        assert!(snapshot["devices"].is_array());
        let (refused, err, _) = call(
            &app,
            "POST",
            "/api/v1/devices",
            &[("authorization", viewer.as_str())],
            Some(json!({"name": "x"})),
        )
        .await;
        assert_eq!(
            (refused, err["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );

        let admin = CurrentUser {
            role: Role::Admin,
            ..f.editor.clone()
        };
        let made = tokens::create(&f.state.core.db, &admin, "ci", Role::Editor)
            .await
            .unwrap();
        let editor = format!("Bearer {}", made.secret);
        let (ok, _, _) = call(
            &app,
            "POST",
            "/api/v1/devices",
            &[("authorization", editor.as_str())],
            Some(json!({"name": "ok"})),
        )
        .await;
        assert_eq!(ok, StatusCode::CREATED);
        let revoke = Op {
            op_id: new_id(),
            base_version: None,
            change: Change::RevokeToken {
                token_id: made.token.id.clone(),
            },
        };
        change::apply(&f.state.core, &admin, revoke).await.unwrap();
        let (gone, err, _) = call(
            &app,
            "GET",
            "/api/v1/devices",
            &[("authorization", editor.as_str())],
            None,
        )
        .await;
        assert_eq!(
            (gone, err["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
        let (bogus, _, _) = call(
            &app,
            "GET",
            "/api/v1/devices",
            &[("authorization", "Bearer vz_nope")],
            None,
        )
        .await;
        assert_eq!(bogus, StatusCode::UNAUTHORIZED);
        // The stored hash is not the token.
        let stored: (String,) = sqlx::query_as("SELECT token_hash FROM api_tokens WHERE id = $1")
            .bind(&made.token.id)
            .fetch_one(&f.state.core.db.pool)
            .await
            .unwrap();
        assert_ne!(stored.0, made.secret);
        assert_eq!(stored.0, crate::server::core::ids::sha256_hex(&made.secret));
    }

    #[tokio::test]
    async fn only_an_admin_manages_tokens_and_a_token_never_reaches_another_organization() {
        let f = fixture().await;
        assert!(matches!(
            tokens::create(&f.state.core.db, &f.editor, "x", Role::Editor).await,
            Err(AppError::Forbidden { .. })
        ));
        let app = app(&f.state);
        let ours = format!("Bearer {}", token(&f, Role::Editor).await);
        let theirs = tokens::create(&f.state.core.db, &f.stranger, "theirs", Role::Admin)
            .await
            .unwrap();
        let (_, created, _) = call(
            &app,
            "POST",
            "/api/v1/devices",
            &[("authorization", ours.as_str())],
            Some(json!({"name": "Ours"})),
        )
        .await;
        let path = format!("/api/v1/devices/{}", created["id"].as_str().unwrap());
        let theirs = format!("Bearer {}", theirs.secret);
        let (status, _, _) = call(
            &app,
            "GET",
            &path,
            &[("authorization", theirs.as_str())],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = call(
            &app,
            "PATCH",
            &path,
            &[("authorization", theirs.as_str()), ("if-match", "1")],
            Some(json!({"name": "Hijack"})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn every_refusal_under_api_is_json_with_its_status() {
        let f = fixture().await;
        let app = app(&f.state)
            .route("/api/{*rest}", axum::routing::any(http::api_not_found))
            .layer(axum::extract::DefaultBodyLimit::max(http::MAX_JSON_BODY))
            .layer(middleware::from_fn(http::api_method_not_allowed));
        let bearer = format!("Bearer {}", token(&f, Role::Editor).await);
        let send = |method: &str, path: &str, ctype: Option<&str>, body: Vec<u8>| {
            let mut req = Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", bearer.as_str());
            if let Some(ctype) = ctype {
                req = req.header("content-type", ctype);
            }
            let req = req.body(Body::from(body)).unwrap();
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await.unwrap();
                let status = res.status().as_u16();
                let allow = res
                    .headers()
                    .get("allow")
                    .map(|v| v.to_str().unwrap().to_string());
                let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
                let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                (status, json["code"].as_str().map(str::to_string), allow)
            }
        };
        let json = Some("application/json");
        let code = |c: &str| Some(c.to_string());
        assert_eq!(
            send("GET", "/api/v1/nothing", None, vec![]).await.1,
            code("not_found")
        );
        let (status, c, allow) = send("PUT", "/api/v1/devices", json, b"{}".to_vec()).await;
        assert_eq!((status, c), (405, code("method_not_allowed")));
        assert!(allow.unwrap().contains("POST"));
        let bad = send("POST", "/api/v1/devices", json, b"{nope".to_vec()).await;
        assert_eq!((bad.0, bad.1), (400, code("bad_request")));
        // The stream asked for without a WebSocket upgrade.
        let plain = send("GET", "/api/v1/stream", None, vec![]).await;
        assert_eq!((plain.0, plain.1), (400, code("bad_request")));
        let shape = send("POST", "/api/v1/devices", json, b"{\"name\": 3}".to_vec()).await;
        assert_eq!((shape.0, shape.1), (422, code("validation")));
        let text = send(
            "POST",
            "/api/v1/devices",
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await;
        assert_eq!((text.0, text.1), (415, code("unsupported_type")));
        let big = format!("{{\"name\": \"{}\"}}", "x".repeat(http::MAX_JSON_BODY));
        let big = send("POST", "/api/v1/devices", json, big.into_bytes()).await;
        assert_eq!((big.0, big.1), (413, code("too_large")));
        let query = send("GET", "/api/v1/events?limit=x", None, vec![]).await;
        assert_eq!((query.0, query.1), (400, code("bad_request")));
        let range = send("GET", "/api/v1/events?wait=31", None, vec![]).await;
        assert_eq!((range.0, range.1), (400, code("bad_request")));
        for limit in ["0", "1001", "1.5"] {
            let path = format!("/api/v1/events?limit={limit}");
            let refused = send("GET", &path, None, vec![]).await;
            assert_eq!((refused.0, refused.1), (400, code("bad_request")), "{path}");
        }
        // Whole numbers written with a fraction are the integers they are.
        let ok = send(
            "POST",
            "/api/v1/devices",
            json,
            b"{\"name\": \"Hall\", \"tags\": [], \"x\": 2.0}".to_vec(),
        )
        .await;
        assert_eq!(ok.0, 201);
    }

    #[tokio::test]
    async fn the_openapi_document_describes_every_route() {
        let doc = serde_json::to_value(crate::server::router::openapi_doc()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in [
            "/api/v1/devices",
            "/api/v1/devices/{id}",
            "/api/v1/ops",
            "/api/v1/events",
        ] {
            assert!(doc["paths"][path].is_object(), "missing {path}");
        }
        assert!(doc["components"]["schemas"]["Device"].is_object());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        // A path parameter is one the path names: a query struct documented
        // as path parameters (the long-poll's once) turns every one into a
        // required id.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for param in op["parameters"].as_array().into_iter().flatten() {
                    if param["in"] == "path" {
                        let name = param["name"].as_str().unwrap();
                        assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{method} {path}: path parameter {name} is not in the path"
                        );
                    }
                }
            }
        }
        let events = &doc["paths"]["/api/v1/events"]["get"]["parameters"];
        assert!(events
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["in"] == "query" && p["required"] != true));
    }
}
