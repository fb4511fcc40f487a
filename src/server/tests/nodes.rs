//! Two app nodes sharing one PostgreSQL database (`make unit-postgres`):
//! what one node changes reaches the other through the event log, including
//! what the other node's displays and alert evaluator must act on. On SQLite
//! (one node by design) these tests say so and return.

use std::time::{Duration, Instant};

use super::{
    displays::{
        alert_events, beat_on, connect_to, heard, hello, hot, pair_op, paired_on, rule_op,
        waiting_on, Display,
    },
    *,
};
use crate::{
    model::{AlertKind, RulePatch, ServerMsg},
    server::{core::Backend, health::evaluator},
};

/// Node A is the fixture's state; node B has its own pool, hub (with its own
/// PostgreSQL listener), gateway and evaluator over the same database.
async fn two_nodes() -> Option<(Fixture, AppState)> {
    let f = fixture().await;
    if f.state.core.db.backend != Backend::Postgres {
        eprintln!("skipped: several nodes need PostgreSQL (VIZORA_TEST_POSTGRES)");
        return None;
    }
    let b = node(Db::connect(&f.state.core.db.url).await.unwrap(), &f._dir);
    // B's listener is up once a change made on A has reached B's hub.
    let mut feed = b.core.hub.subscribe(&f.editor.org_id).await.unwrap();
    change::apply(&f.state.core, &f.editor, create("Warm-up"))
        .await
        .unwrap();
    heard(&mut feed, |_| true).await;
    Some((f, b))
}

async fn version(f: &Fixture, device_id: &str) -> i64 {
    devices::get(&f.state.core.db, &f.editor.org_id, device_id)
        .await
        .unwrap()
        .unwrap()
        .version
}

/// The display hears that its token is gone within two seconds, and hangs up.
async fn dropped_within_two_seconds(d: &mut Display, since: Instant) {
    let said = tokio::time::timeout(Duration::from_secs(2), d.hear()).await;
    assert!(
        matches!(said, Ok(ServerMsg::Unpaired { .. })),
        "after {:?}: {said:?}",
        since.elapsed()
    );
    assert!(d.closed().await);
}

/// Its token is refused by every node.
async fn refused_everywhere(token: &str, nodes: [&AppState; 2]) {
    for state in nodes {
        let mut again = connect_to(state);
        again.say(hello(Some(token)));
        assert!(matches!(again.hear().await, ServerMsg::Unpaired { .. }));
    }
}

#[tokio::test]
async fn a_display_on_node_b_is_dropped_when_node_a_unpairs_or_deletes_it() {
    let Some((f, b)) = two_nodes().await else {
        return;
    };
    let (mut unpaired, unpaired_id, unpaired_token) =
        paired_on(&b, &f.editor, "On B, unpaired").await;
    let (mut deleted, deleted_id, deleted_token) = paired_on(&b, &f.editor, "On B, deleted").await;

    let unpair = Op {
        op_id: new_id(),
        base_version: Some(version(&f, &unpaired_id).await),
        change: Change::UnpairDevice {
            device_id: unpaired_id.clone(),
        },
    };
    let at = Instant::now();
    change::apply(&f.state.core, &f.editor, unpair)
        .await
        .unwrap();
    dropped_within_two_seconds(&mut unpaired, at).await;

    let delete = Op {
        op_id: new_id(),
        base_version: Some(version(&f, &deleted_id).await),
        change: Change::DeleteDevice {
            device_id: deleted_id.clone(),
        },
    };
    let at = Instant::now();
    change::apply(&f.state.core, &f.editor, delete)
        .await
        .unwrap();
    dropped_within_two_seconds(&mut deleted, at).await;

    refused_everywhere(&unpaired_token, [&f.state, &b]).await;
    refused_everywhere(&deleted_token, [&f.state, &b]).await;
    assert!(b.gateway.beat(&unpaired_id).is_none() && b.gateway.beat(&deleted_id).is_none());
}

#[tokio::test]
async fn a_rule_edited_on_node_a_changes_evaluation_on_node_b() {
    let Some((f, b)) = two_nodes().await else {
        return;
    };
    let admin = user(
        &f.state.core.db,
        &f.editor.org_id,
        "Acme",
        "ad@acme.test",
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
    // A hot display on node B: B's evaluator raises, with the rules it cached.
    let (d, device_id, _) = paired_on(&b, &f.editor, "Hot on B").await;
    let (_, start) = log::position(&f.state.core.db, &f.editor.org_id)
        .await
        .unwrap();
    beat_on(&b, &d, &device_id, hot(90.0)).await;
    let mut on_b = evaluator::Tracker::default();
    evaluator::evaluate(&b.core, &mut on_b, &b.gateway.fleet(), 10_000)
        .await
        .unwrap();
    let raised = alert_events(&f, start).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert!(raised[0].is_open());

    // Node A disables the rule; once the change reaches B's log reader, B's
    // next pass resolves what the rule raised.
    let mut feed = b.core.hub.subscribe(&f.editor.org_id).await.unwrap();
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
    heard(&mut feed, |e| {
        matches!(e, EventBody::AlertRuleUpserted { .. })
    })
    .await;
    evaluator::evaluate(&b.core, &mut on_b, &b.gateway.fleet(), 10_000)
        .await
        .unwrap();
    let events = alert_events(&f, start).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(!events[1].is_open());
}

#[tokio::test]
async fn a_code_shown_on_node_b_is_claimed_on_node_a() {
    let Some((f, b)) = two_nodes().await else {
        return;
    };
    let (mut d, code) = waiting_on(&b).await;
    let ack = change::apply(&f.state.core, &f.editor, pair_op(&code, "Across"))
        .await
        .unwrap();
    let EventBody::DeviceUpserted { device } = ack.event.body else {
        panic!("not a display")
    };
    // Node B sees the claim in the database and hands its token over.
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
    // The code is gone on every node, and the token works on either.
    let err = change::apply(&f.state.core, &f.editor, pair_op(&code, "Again"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("No display shows the code"),
        "{err}"
    );
    for state in [&f.state, &b] {
        let mut again = connect_to(state);
        again.say(hello(Some(&token)));
        assert!(matches!(again.hear().await, ServerMsg::Welcome { .. }));
    }
}
