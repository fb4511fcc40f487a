//! The device gateway over its real socket loop (driven with channels):
//! pairing, tokens, unpairing, manifests, proof of play.

use std::time::Duration;

use futures::{channel::mpsc as fmpsc, SinkExt};

use super::*;
use crate::{
    model::{DisplayMsg, Metrics, PlaylistItem, ServerMsg},
    server::{
        displays::{self, fleet, socket},
        health::{alerts, evaluator},
    },
};

pub(super) struct Display {
    to_server: fmpsc::UnboundedSender<String>,
    from_server: fmpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<()>,
}

fn connect(f: &Fixture) -> Display {
    connect_to(&f.state)
}

/// A display's socket to one node.
pub(super) fn connect_to(state: &AppState) -> Display {
    let (to_server, incoming) = fmpsc::unbounded::<String>();
    let (outgoing, from_server) = fmpsc::unbounded::<String>();
    let state = state.clone();
    let outgoing = outgoing.sink_map_err(|_| ());
    let task = tokio::spawn(socket::run(
        state.core,
        state.gateway,
        incoming,
        Box::pin(outgoing),
    ));
    Display {
        to_server,
        from_server,
        task,
    }
}

impl Display {
    /// Sends text that may not be a protocol message at all.
    pub(super) fn say_raw(&self, text: &str) {
        self.to_server.unbounded_send(text.to_string()).unwrap();
    }

    /// The next message, or `None` once the server closed the connection.
    pub(super) async fn next_message(&mut self) -> Option<ServerMsg> {
        let text = tokio::time::timeout(Duration::from_secs(5), self.from_server.next())
            .await
            .expect("the server said nothing for 5 s")?;
        Some(serde_json::from_str(&text).unwrap())
    }

    pub(super) fn say(&self, msg: DisplayMsg) {
        self.to_server
            .unbounded_send(serde_json::to_string(&msg).unwrap())
            .unwrap();
    }
    pub(super) async fn hear(&mut self) -> ServerMsg {
        let text = tokio::time::timeout(Duration::from_secs(5), self.from_server.next())
            .await
            .expect("the server said nothing for 5 s")
            .expect("the connection closed");
        serde_json::from_str(&text).unwrap()
    }
    pub(super) async fn closed(&mut self) -> bool {
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.from_server.next()).await,
            Ok(None)
        )
    }
}

pub(super) fn hello(token: Option<&str>) -> DisplayMsg {
    DisplayMsg::Hello {
        token: token.map(str::to_string),
        player_version: "test-1".into(),
    }
}

pub(super) fn pair_op(code: &str, name: &str) -> Op {
    Op {
        op_id: new_id(),
        base_version: None,
        change: Change::PairDevice {
            device_id: new_id(),
            code: code.into(),
            name: name.into(),
            group_id: None,
            timezone: "Europe/Berlin".into(),
        },
    }
}

/// A display that asked to pair, and its code.
async fn waiting_display(f: &Fixture) -> (Display, String) {
    waiting_on(&f.state).await
}

pub(super) async fn waiting_on(state: &AppState) -> (Display, String) {
    let mut d = connect_to(state);
    d.say(hello(None));
    match d.hear().await {
        ServerMsg::Pairing { code, expires_at } => {
            assert!(expires_at > now_ms() + 9 * 60_000);
            (d, code)
        }
        other => panic!("expected a pairing code, got {other:?}"),
    }
}

/// Pairs a new display; returns it (welcomed, manifest read), its id and token.
async fn paired_display(f: &Fixture, name: &str) -> (Display, String, String) {
    paired_on(&f.state, &f.editor, name).await
}

/// Pairs a new display on one node, claimed by `editor` there.
pub(super) async fn paired_on(
    state: &AppState,
    editor: &CurrentUser,
    name: &str,
) -> (Display, String, String) {
    let (mut d, code) = waiting_on(state).await;
    let ack = change::apply(&state.core, editor, pair_op(&code.to_lowercase(), name))
        .await
        .unwrap();
    let EventBody::DeviceUpserted { device } = ack.event.body else {
        panic!("not a display")
    };
    assert!(device.paired);
    let token = match d.hear().await {
        ServerMsg::Paired {
            token, device_id, ..
        } => {
            assert_eq!(device_id, device.id);
            token
        }
        other => panic!("expected the token, got {other:?}"),
    };
    assert!(matches!(d.hear().await, ServerMsg::Welcome { .. }));
    assert!(matches!(d.hear().await, ServerMsg::Manifest(_)));
    (d, device.id, token)
}

#[tokio::test]
async fn a_claimed_code_pairs_the_display_and_its_token_works_from_then_on() {
    let f = fixture().await;
    let (d, device_id, token) = paired_display(&f, "Lobby east").await;
    assert!(token.starts_with("vzd_"));
    // The token is stored hashed, never as it is.
    let stored: Option<String> = sqlx::query_scalar("SELECT token_hash FROM devices WHERE id = $1")
        .bind(&device_id)
        .fetch_one(&f.state.core.db.pool)
        .await
        .unwrap();
    assert_eq!(
        stored.as_deref(),
        Some(crate::server::core::ids::sha256_hex(&token).as_str())
    );
    drop(d);
    // A new connection with the token is welcomed as that display.
    let mut again = connect(&f);
    again.say(hello(Some(&token)));
    match again.hear().await {
        ServerMsg::Welcome { device_id: id, .. } => assert_eq!(id, device_id),
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn a_code_is_single_use_expires_and_wrong_guesses_are_limited() {
    let f = fixture().await;
    let (_d, code) = waiting_display(&f).await;
    change::apply(&f.state.core, &f.editor, pair_op(&code, "First"))
        .await
        .unwrap();
    // Used once: gone.
    let err = change::apply(&f.state.core, &f.editor, pair_op(&code, "Second"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("No display shows the code"),
        "{err}"
    );

    // Expired after ten minutes.
    let (_d2, code2) = waiting_display(&f).await;
    displays::pairing::age_codes(&f.state.core.db, displays::CODE_TTL_MS + 1).await;
    let err = change::apply(&f.state.core, &f.editor, pair_op(&code2, "Late"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("10 minutes"), "{err}");

    // Guesses: after ten wrong codes (the two above count), even a right one waits.
    let (_d3, code3) = waiting_display(&f).await;
    for _ in 0..8 {
        let err = change::apply(&f.state.core, &f.editor, pair_op("ZZZZZZ", "Guess"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
    }
    let err = change::apply(&f.state.core, &f.editor, pair_op(&code3, "Right"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::RateLimited { .. }), "{err:?}");
    // Another organization's guesses are its own.
    let (_d4, code4) = waiting_display(&f).await;
    change::apply(&f.state.core, &f.stranger, pair_op(&code4, "Theirs"))
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_and_revoked_tokens_are_refused_and_unpairing_disconnects_at_once() {
    let f = fixture().await;
    let mut wrong = connect(&f);
    wrong.say(hello(Some("vzd_not-a-real-token")));
    assert!(matches!(wrong.hear().await, ServerMsg::Unpaired { .. }));
    assert!(wrong.closed().await);

    let (mut d, device_id, token) = paired_display(&f, "Bar").await;
    // Another organization cannot unpair it: to them it does not exist.
    let unpair = |base| Op {
        op_id: new_id(),
        base_version: Some(base),
        change: Change::UnpairDevice {
            device_id: device_id.clone(),
        },
    };
    let err = change::apply(&f.state.core, &f.stranger, unpair(1))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
    change::apply(&f.state.core, &f.editor, unpair(1))
        .await
        .unwrap();
    assert!(matches!(d.hear().await, ServerMsg::Unpaired { .. }));
    assert!(d.closed().await);
    let _ = d.task.await;
    let mut again = connect(&f);
    again.say(hello(Some(&token)));
    assert!(matches!(again.hear().await, ServerMsg::Unpaired { .. }));
}

#[tokio::test]
async fn the_manifest_follows_the_display_playlist_and_plays_are_stored_once() {
    let f = fixture().await;
    let (mut d, device_id, _token) = paired_display(&f, "Menu 1").await;
    // A playlist with one web page, assigned to the display: a new manifest.
    let content_id = new_id();
    let web = Change::CreateWebPage {
        content_id: content_id.clone(),
        name: "Menu".into(),
        url: "https://example.com/menu".into(),
        reload_seconds: 60,
        tags: vec![],
    };
    let mk = |change| Op {
        op_id: new_id(),
        base_version: None,
        change,
    };
    change::apply(&f.state.core, &f.editor, mk(web))
        .await
        .unwrap();
    let playlist_id = new_id();
    change::apply(
        &f.state.core,
        &f.editor,
        mk(Change::CreatePlaylist {
            playlist_id: playlist_id.clone(),
            name: "Menus".into(),
        }),
    )
    .await
    .unwrap();
    change::apply(
        &f.state.core,
        &f.editor,
        mk(Change::InsertItem {
            playlist_id: playlist_id.clone(),
            item: PlaylistItem {
                id: "i1".into(),
                content_id: content_id.clone(),
                duration_ms: 15_000,
            },
            after: None,
        }),
    )
    .await
    .unwrap();
    let assign = Op {
        op_id: new_id(),
        base_version: Some(1),
        change: Change::UpdateDevice {
            device_id: device_id.clone(),
            patch: DevicePatch {
                playlist_id: Some(Some(playlist_id.clone())),
                ..Default::default()
            },
        },
    };
    change::apply(&f.state.core, &f.editor, assign)
        .await
        .unwrap();
    let manifest = loop {
        match d.hear().await {
            ServerMsg::Manifest(m) if !m.items.is_empty() => break m,
            _ => continue,
        }
    };
    assert_eq!(manifest.playlist_id.as_deref(), Some(playlist_id.as_str()));
    assert_eq!(manifest.items[0].url, "https://example.com/menu");
    assert_eq!(manifest.items[0].duration_ms, 15_000);

    // Proof of play, sent twice (a buffered resend): stored once, acked both times.
    let played = DisplayMsg::Played {
        id: "play-1".into(),
        content_id: content_id.clone(),
        playlist_id: Some(playlist_id.clone()),
        started_at: now_ms(),
        duration_ms: 15_000,
    };
    d.say(played.clone());
    d.say(played);
    // Answered by one write or two: two acks either way.
    let mut acked = Vec::new();
    while acked.len() < 2 {
        match d.hear().await {
            ServerMsg::Acked { ids } => acked.extend(ids),
            other => panic!("expected an ack, got {other:?}"),
        }
    }
    assert_eq!(acked, vec!["play-1".to_string(); 2]);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM plays WHERE device_id = $1")
        .bind(&device_id)
        .fetch_one(&f.state.core.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);

    // A heartbeat is kept in memory with what the display has to play.
    d.say(DisplayMsg::Heartbeat {
        seq: 1,
        at: now_ms(),
        metrics: Metrics {
            temperature_c: Some(48.5),
            ..Default::default()
        },
        playing: Some("i1".into()),
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let beat = f.state.gateway.beat(&device_id).unwrap();
    assert!(beat.has_content);
    assert_eq!(beat.metrics.temperature_c, Some(48.5));
}

#[tokio::test]
async fn a_derived_status_change_is_an_event_on_the_stream() {
    let f = fixture().await;
    let (_d, device_id, _token) = paired_display(&f, "Status").await;
    // The display's own traffic (its deploy state) is written on its own
    // time: only its status events are counted.
    let statuses = || async {
        log::read_since(&f.state.core.db, &f.editor.org_id, 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.body, EventBody::DeviceUpserted { .. }))
            .collect::<Vec<_>>()
    };
    let before = statuses().await.len();
    fleet::record_statuses(
        &f.state.core,
        &f.editor.org_id,
        &[(
            device_id.clone(),
            crate::model::DeviceStatus::Idle,
            Some(now_ms()),
        )],
    )
    .await
    .unwrap();
    // The same status again changes nothing and adds no event.
    fleet::record_statuses(
        &f.state.core,
        &f.editor.org_id,
        &[(
            device_id.clone(),
            crate::model::DeviceStatus::Idle,
            Some(now_ms()),
        )],
    )
    .await
    .unwrap();
    let events = statuses().await;
    assert_eq!(events.len(), before + 1);
    let last = events.last().unwrap();
    assert!(last.op_id.is_none() && last.actor.is_none());
    let EventBody::DeviceUpserted { device } = &last.body else {
        panic!("not a display event")
    };
    assert_eq!(device.status, crate::model::DeviceStatus::Idle);
}

#[tokio::test]
async fn simulated_displays_speak_the_real_protocol_to_a_real_socket() {
    let mut f = fixture().await;
    f.state.core.settings = Arc::new(Settings {
        heartbeat_seconds: 1,
        ..Settings::default()
    });
    let app = axum::Router::new()
        .route("/device/ws", axum::routing::get(socket::handler))
        .with_state(f.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let displays = crate::server::tools::simulator::enroll(&f.state.core.db, &f.editor.org_id, 3)
        .await
        .unwrap();
    assert_eq!(displays.len(), 3);
    let ids: Vec<String> = displays.iter().map(|d| d.device_id.clone()).collect();
    let stats = crate::server::tools::simulator::spawn(
        &format!("http://{addr}"),
        displays,
        crate::server::tools::simulator::SimOptions::quiet(),
    );
    // Every display connects with its token and its heartbeats arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let beating = ids
            .iter()
            .filter(|id| {
                f.state
                    .gateway
                    .beat(id)
                    .is_some_and(|b| b.last_beat.is_some() && b.metrics.temperature_c.is_some())
            })
            .count();
        if beating == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {beating} of 3 beat"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stats.heartbeats.load(std::sync::atomic::Ordering::Relaxed) >= 3);
    // Enrolling again takes the same displays (new tokens), never more.
    let again = crate::server::tools::simulator::enroll(&f.state.core.db, &f.editor.org_id, 3)
        .await
        .unwrap();
    let mut again_ids: Vec<String> = again.into_iter().map(|d| d.device_id).collect();
    let mut first = ids.clone();
    again_ids.sort();
    first.sort();
    assert_eq!(again_ids, first);
}

// ------------------------------------------------------------- health

/// Sends a heartbeat and waits until the gateway holds it.
async fn beat_with(f: &Fixture, d: &Display, device_id: &str, metrics: Metrics) {
    beat_on(&f.state, d, device_id, metrics).await
}

/// Sends a heartbeat and waits until the node holds it.
pub(super) async fn beat_on(state: &AppState, d: &Display, device_id: &str, metrics: Metrics) {
    let want = metrics.clone();
    d.say(DisplayMsg::Heartbeat {
        seq: 1,
        at: now_ms(),
        metrics,
        playing: None,
    });
    for _ in 0..500 {
        if state
            .gateway
            .beat(device_id)
            .is_some_and(|b| b.metrics == want)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the heartbeat never arrived");
}

pub(super) fn hot(t: f64) -> Metrics {
    Metrics {
        temperature_c: Some(t),
        storage_free_pct: Some(50.0),
        ..Default::default()
    }
}

/// Waits until the gateway forgot the display (unpaired or deleted): its
/// router reads that from the event log.
async fn left_the_fleet(f: &Fixture, device_id: &str) {
    for _ in 0..500 {
        if f.state.gateway.beat(device_id).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the display never left the fleet");
}

/// Waits for an event the hub fans out, as every subscriber of the
/// organization (an evaluator's rule cache, a router) receives it.
pub(super) async fn heard(
    feed: &mut tokio::sync::broadcast::Receiver<Arc<crate::server::core::hub::Shared>>,
    wanted: impl Fn(&EventBody) -> bool,
) {
    let wait = async {
        loop {
            match feed.recv().await {
                Ok(shared) if wanted(&shared.event.body) => return,
                Ok(_) => {}
                Err(e) => panic!("the feed ended: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("the event never arrived");
}

/// The alert events the log holds after `since`, in order.
pub(super) async fn alert_events(f: &Fixture, since: i64) -> Vec<crate::model::Alert> {
    log::read_since(&f.state.core.db, &f.editor.org_id, since, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::AlertUpserted { alert } => Some(alert),
            _ => None,
        })
        .collect()
}

pub(super) fn rule_op(
    kind: crate::model::AlertKind,
    base: i64,
    patch: crate::model::RulePatch,
) -> Op {
    Op {
        op_id: new_id(),
        base_version: Some(base),
        change: Change::UpdateAlertRule {
            rule_id: kind.rule_id(),
            patch,
        },
    }
}

#[tokio::test]
async fn a_rule_hit_is_raised_acknowledged_and_resolved_as_events() {
    use crate::model::{AlertKind, RulePatch, Severity};
    let f = fixture().await;
    let admin = user(
        &f.state.core.db,
        &f.editor.org_id,
        "Acme",
        "ad@acme.test",
        Role::Admin,
    )
    .await;
    // Only an admin changes rules, within bounds, against the version read.
    let at_once = RulePatch {
        minutes: Some(0.0),
        severity: Some(Severity::Critical),
        ..Default::default()
    };
    let err = change::apply(
        &f.state.core,
        &f.editor,
        rule_op(AlertKind::Temperature, 1, at_once.clone()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
    let absurd = RulePatch {
        threshold: Some(900.0),
        ..Default::default()
    };
    let err = change::apply(
        &f.state.core,
        &admin,
        rule_op(AlertKind::Temperature, 1, absurd),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("150 °C"), "{err}");
    change::apply(
        &f.state.core,
        &admin,
        rule_op(AlertKind::Temperature, 1, at_once.clone()),
    )
    .await
    .unwrap();
    let err = change::apply(
        &f.state.core,
        &admin,
        rule_op(AlertKind::Temperature, 1, at_once),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Conflict { .. }), "{err:?}");

    let (d, device_id, _) = paired_display(&f, "Hot box").await;
    let interval = 10_000;
    let mut tracker = evaluator::Tracker::default();
    let (_, start) = log::position(&f.state.core.db, &f.editor.org_id)
        .await
        .unwrap();
    beat_with(&f, &d, &device_id, hot(82.5)).await;
    evaluator::evaluate(
        &f.state.core,
        &mut tracker,
        &f.state.gateway.fleet(),
        interval,
    )
    .await
    .unwrap();
    // Evaluated again with nothing new: still one alert.
    evaluator::evaluate(
        &f.state.core,
        &mut tracker,
        &f.state.gateway.fleet(),
        interval,
    )
    .await
    .unwrap();
    let raised = alert_events(&f, start).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    let alert = &raised[0];
    assert_eq!(alert.device_id, device_id);
    assert_eq!(alert.device_name, "Hot box");
    assert_eq!(alert.kind, AlertKind::Temperature);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.message, "82.5 °C, above 75 °C");
    assert_eq!(alert.state(), "raised");

    // A viewer cannot acknowledge; an editor can, once.
    let ack = || Op {
        op_id: new_id(),
        base_version: None,
        change: Change::AcknowledgeAlert {
            alert_id: alert.id.clone(),
        },
    };
    assert!(change::apply(&f.state.core, &f.viewer, ack())
        .await
        .is_err());
    let acked = change::apply(&f.state.core, &f.editor, ack())
        .await
        .unwrap();
    let EventBody::AlertUpserted { alert: acked } = acked.event.body else {
        panic!("not an alert")
    };
    assert_eq!(acked.acknowledged_by.as_deref(), Some("ed@acme.test"));
    assert_eq!(acked.state(), "acknowledged");
    let again = change::apply(&f.state.core, &f.editor, ack())
        .await
        .unwrap_err();
    assert!(
        again
            .to_string()
            .contains("already acknowledged by ed@acme.test"),
        "{again}"
    );
    // Another organization does not see it.
    let theirs = change::apply(&f.state.core, &f.stranger, ack())
        .await
        .unwrap_err();
    assert!(matches!(theirs, AppError::NotFound { .. }), "{theirs:?}");

    // 74 °C is inside the 2 °C margin: still open. 70 °C resolves it.
    beat_with(&f, &d, &device_id, hot(74.0)).await;
    evaluator::evaluate(
        &f.state.core,
        &mut tracker,
        &f.state.gateway.fleet(),
        interval,
    )
    .await
    .unwrap();
    assert_eq!(alert_events(&f, start).await.len(), 2);
    beat_with(&f, &d, &device_id, hot(70.0)).await;
    evaluator::evaluate(
        &f.state.core,
        &mut tracker,
        &f.state.gateway.fleet(),
        interval,
    )
    .await
    .unwrap();
    let events = alert_events(&f, start).await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].state(), "resolved");
    assert_eq!(events[2].acknowledged_by.as_deref(), Some("ed@acme.test"));
    // The snapshot lists it among the resolved of the day, and the rules.
    let snap = alerts::snapshot(&f.state.core, &f.editor.org_id)
        .await
        .unwrap();
    assert_eq!(snap.rules.len(), 4);
    assert!(snap.alerts.iter().any(|a| a.id == alert.id && !a.is_open()));
    // A tracker that starts afresh (a restart) picks open alerts up from the
    // database rather than raising them twice.
    beat_with(&f, &d, &device_id, hot(90.0)).await;
    evaluator::evaluate(
        &f.state.core,
        &mut tracker,
        &f.state.gateway.fleet(),
        interval,
    )
    .await
    .unwrap();
    let mut restarted = evaluator::Tracker::default();
    evaluator::evaluate(
        &f.state.core,
        &mut restarted,
        &f.state.gateway.fleet(),
        interval,
    )
    .await
    .unwrap();
    assert_eq!(alert_events(&f, start).await.len(), 4);
    // Unpairing the display resolves what is open on it.
    let device = devices::get(&f.state.core.db, &f.editor.org_id, &device_id)
        .await
        .unwrap()
        .unwrap();
    change::apply(
        &f.state.core,
        &f.editor,
        Op {
            op_id: new_id(),
            base_version: Some(device.version),
            change: Change::UnpairDevice {
                device_id: device_id.clone(),
            },
        },
    )
    .await
    .unwrap();
    left_the_fleet(&f, &device_id).await;
    evaluator::evaluate(
        &f.state.core,
        &mut restarted,
        &f.state.gateway.fleet(),
        interval,
    )
    .await
    .unwrap();
    let events = alert_events(&f, start).await;
    assert_eq!(events.len(), 5);
    assert!(!events[4].is_open());
}

#[tokio::test]
async fn a_display_the_server_knew_but_never_heard_from_goes_offline_and_alerts() {
    let f = fixture().await;
    let (d, device_id, _) = paired_display(&f, "Quiet").await;
    drop(d);
    // As after a restart: the gateway knows only what the database says.
    let gw = displays::Gateway::new(Arc::new(crate::server::health::screenshots::Screenshots));
    let core = &f.state.core;
    sqlx::query("UPDATE devices SET status = 'online', last_seen = $1 WHERE id = $2")
        .bind(now_ms() - 3_600_000)
        .bind(&device_id)
        .execute(&core.db.pool)
        .await
        .unwrap();
    gw.track(devices::paired(&core.db).await.unwrap());
    let beat = gw.beat(&device_id).expect("tracked");
    assert!(!beat.connected);
    let (_, start) = log::position(&core.db, &f.editor.org_id).await.unwrap();
    let mut tracker = evaluator::Tracker::default();
    evaluator::evaluate(core, &mut tracker, &gw.fleet(), 10_000)
        .await
        .unwrap();
    let events = alert_events(&f, start).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, crate::model::AlertKind::Offline);
    assert!(
        events[0].message.starts_with("No heartbeat for 60 min"),
        "{}",
        events[0].message
    );
}

#[tokio::test]
async fn a_screenshot_command_reaches_the_display_and_its_answer_is_stored() {
    use crate::model::DisplayCommand;
    use base64::Engine;
    let f = fixture().await;
    let (mut d, device_id, _) = paired_display(&f, "Camera").await;
    let id = crate::server::health::command(
        &f.state.core,
        &f.state.gateway,
        &f.viewer,
        &device_id,
        DisplayCommand::Screenshot,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    match d.hear().await {
        ServerMsg::Command { id: got, command } => {
            assert_eq!(got, id);
            assert_eq!(command, DisplayCommand::Screenshot);
        }
        other => panic!("expected the command, got {other:?}"),
    }
    // A viewer may look but not reload.
    let err = crate::server::health::command(
        &f.state.core,
        &f.state.gateway,
        &f.viewer,
        &device_id,
        DisplayCommand::Reload,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
    // Not a picture: refused, nothing stored.
    d.say(DisplayMsg::Screenshot {
        command_id: id.clone(),
        image: format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"hello, not a png")
        ),
    });
    match d.hear().await {
        ServerMsg::Refused { message } => assert!(message.contains("PNG or JPEG"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (_, start) = log::position(&f.state.core.db, &f.editor.org_id)
        .await
        .unwrap();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(64, 36, image::Rgb([200, 30, 30]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let bytes = png.into_inner();
    d.say(DisplayMsg::Screenshot {
        command_id: id,
        image: format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        ),
    });
    let mut taken = None;
    for _ in 0..500 {
        let events = log::read_since(&f.state.core.db, &f.editor.org_id, start, 100)
            .await
            .unwrap();
        taken = events.into_iter().find_map(|e| match e.body {
            EventBody::ScreenshotTaken { device_id: id, at } if id == device_id => Some(at),
            _ => None,
        });
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let at = taken.expect("a screenshot_taken event");
    let stored = std::fs::read(f.state.core.media_dir.join("screens").join(&device_id)).unwrap();
    assert_eq!(stored, bytes);
    let detail = crate::server::health::detail(
        &f.state.core,
        &f.state.gateway,
        &f.editor.org_id,
        &device_id,
        24,
    )
    .await
    .unwrap();
    assert_eq!(detail.screenshot_at, Some(at));
    assert!(detail.connected);
    // A display that is not connected gets nothing, and the operator hears why.
    drop(d);
    for _ in 0..500 {
        if !f
            .state
            .gateway
            .beat(&device_id)
            .is_some_and(|b| b.connected)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let err = crate::server::health::command(
        &f.state.core,
        &f.state.gateway,
        &f.editor,
        &device_id,
        DisplayCommand::Screenshot,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");
}

#[tokio::test]
async fn metric_samples_are_kept_for_the_history_charts() {
    let f = fixture().await;
    let (d, device_id, _) = paired_display(&f, "Charted").await;
    for (i, t) in [40.0, 42.5, 45.0].into_iter().enumerate() {
        beat_with(&f, &d, &device_id, hot(t)).await;
        let fleet = f.state.gateway.fleet();
        crate::server::health::metrics::sample(
            &f.state.core.db,
            &fleet,
            now_ms() + i as i64,
            10_000,
        )
        .await
        .unwrap();
    }
    let detail = crate::server::health::detail(
        &f.state.core,
        &f.state.gateway,
        &f.editor.org_id,
        &device_id,
        24,
    )
    .await
    .unwrap();
    let temps: Vec<f64> = detail
        .samples
        .iter()
        .filter_map(|s| s.temperature_c)
        .collect();
    assert_eq!(temps, vec![40.0, 42.5, 45.0]);
    assert_eq!(detail.metrics.temperature_c, Some(45.0));
    // Another organization cannot read them.
    let err = crate::server::health::detail(
        &f.state.core,
        &f.state.gateway,
        &f.stranger.org_id,
        &device_id,
        24,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn a_node_does_not_resolve_alerts_on_displays_it_never_saw() {
    use crate::model::{AlertKind, RulePatch};
    let f = fixture().await;
    let admin = user(
        &f.state.core.db,
        &f.editor.org_id,
        "Acme",
        "ad2@acme.test",
        Role::Admin,
    )
    .await;
    let at_once = RulePatch {
        minutes: Some(0.0),
        ..Default::default()
    };
    change::apply(
        &f.state.core,
        &admin,
        rule_op(AlertKind::Temperature, 1, at_once),
    )
    .await
    .unwrap();
    let (d, device_id, _) = paired_display(&f, "Elsewhere").await;
    let (_, start) = log::position(&f.state.core.db, &f.editor.org_id)
        .await
        .unwrap();
    beat_with(&f, &d, &device_id, hot(90.0)).await;
    let mut here = evaluator::Tracker::default();
    evaluator::evaluate(&f.state.core, &mut here, &f.state.gateway.fleet(), 10_000)
        .await
        .unwrap();
    assert_eq!(alert_events(&f, start).await.len(), 1);
    // Another node, whose fleet does not hold this display, leaves it open.
    let mut other_node = evaluator::Tracker::default();
    for _ in 0..2 {
        evaluator::evaluate(&f.state.core, &mut other_node, &[], 10_000)
            .await
            .unwrap();
    }
    let events = alert_events(&f, start).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].is_open());
    // Disabling the rule is seen by the evaluator as soon as the rule change
    // reaches it from the log (its cached rules are dropped), and what the
    // rule raised resolves.
    let mut feed = f.state.core.hub.subscribe(&f.editor.org_id).await.unwrap();
    let off = RulePatch {
        enabled: Some(false),
        ..Default::default()
    };
    change::apply(
        &f.state.core,
        &admin,
        rule_op(AlertKind::Temperature, 2, off),
    )
    .await
    .unwrap();
    heard(&mut feed, |b| {
        matches!(b, EventBody::AlertRuleUpserted { .. })
    })
    .await;
    evaluator::evaluate(&f.state.core, &mut here, &f.state.gateway.fleet(), 10_000)
        .await
        .unwrap();
    let events = alert_events(&f, start).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(!events[1].is_open());
}

#[tokio::test]
async fn a_tracked_display_that_never_returns_is_forgotten_when_unpaired() {
    let f = fixture().await;
    if f.state.core.db.backend != crate::server::core::Backend::Sqlite {
        // With several nodes each judges only the displays connected to it.
        eprintln!("skipped: one node (SQLite) tracks displays it has not heard from");
        return;
    }
    let (d, device_id, _) = paired_display(&f, "Gone quiet").await;
    drop(d);
    // After a restart the node knows it only from the database.
    let restarted = node(f.state.core.db.clone(), &f._dir);
    fleet::track_paired(&restarted.core, &restarted.gateway).await;
    let beat = restarted.gateway.beat(&device_id).expect("tracked");
    assert!(!beat.connected);
    let device = devices::get(&f.state.core.db, &f.editor.org_id, &device_id)
        .await
        .unwrap()
        .unwrap();
    let unpair = Op {
        op_id: new_id(),
        base_version: Some(device.version),
        change: Change::UnpairDevice {
            device_id: device_id.clone(),
        },
    };
    change::apply(&restarted.core, &f.editor, unpair)
        .await
        .unwrap();
    for _ in 0..500 {
        if restarted.gateway.beat(&device_id).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the unpaired display is still tracked");
}

#[tokio::test]
async fn a_backlog_of_plays_is_written_together_and_each_acked_once() {
    let f = fixture().await;
    let (mut d, device_id, _token) = paired_display(&f, "Back online").await;
    let before = events_count(&f, &f.editor.org_id).await;
    // A display back from a day offline sends its whole outbox at once.
    let n = 300;
    for k in 0..n {
        d.say(DisplayMsg::Played {
            id: format!("backlog-{k}"),
            content_id: "c1".into(),
            playlist_id: None,
            started_at: now_ms() - 86_400_000 + k * 10_000,
            duration_ms: 10_000,
        });
    }
    let mut acked = std::collections::BTreeSet::new();
    while acked.len() < n as usize {
        match d.hear().await {
            ServerMsg::Acked { ids } => acked.extend(ids),
            ServerMsg::Refused { message } => panic!("refused: {message}"),
            _ => continue,
        }
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM plays WHERE device_id = $1")
        .bind(&device_id)
        .fetch_one(&f.state.core.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, n);
    // The gateway read on while the writer worked: the plays shared a few
    // writes (one event each), not one write per play.
    let writes = events_count(&f, &f.editor.org_id).await - before;
    assert!((1..30).contains(&writes), "{n} plays took {writes} writes");
}

/// What a connection's loop holds while it waits for the next message is
/// a fixed part of every display's memory: the future stays small because
/// handling a message (its queries, the manifest) lives on the heap only
/// while it runs.
#[tokio::test]
async fn a_display_connection_waiting_for_its_next_message_is_small() {
    let f = fixture().await;
    let (_to_server, incoming) = fmpsc::unbounded::<String>();
    let (outgoing, _from_server) = fmpsc::unbounded::<String>();
    let run = socket::run(
        f.state.core.clone(),
        f.state.gateway.clone(),
        incoming,
        Box::pin(outgoing.sink_map_err(|_| ())),
    );
    let size = std::mem::size_of_val(&run);
    println!("a display connection's loop: {size} bytes");
    assert!(size <= 1_536, "{size} bytes");
}
