//! What an attacker tried against the server (issue 10), each with the bound
//! that now holds. The flooding and slow-client ones need a server process
//! and its memory: they are in `scripts/attacks.py`, run by `make test`.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, Request, StatusCode},
    Router,
};
use tower::ServiceExt;

use super::{
    displays::{connect_to, hello},
    *,
};
use crate::model::ServerMsg;

#[tokio::test]
async fn a_two_megabyte_tag_list_is_refused_at_once_and_holds_up_no_one() {
    let f = fixture().await;
    let tags: Vec<String> = (0..100_000).map(|i| format!("tag-{i:014}")).collect();
    let huge = Op {
        op_id: new_id(),
        base_version: None,
        change: Change::CreateDevice {
            device_id: new_id(),
            name: "Tagged".into(),
            group_id: None,
            tags,
            timezone: "UTC".into(),
        },
    };
    assert!(serde_json::to_vec(&huge).unwrap().len() > 2_000_000);
    let (core, editor) = (f.state.core.clone(), f.editor.clone());
    let started = Instant::now();
    let attack = tokio::spawn(async move { change::apply(&core, &editor, huge).await });
    // Meanwhile another organization writes as usual.
    let theirs = change::apply(&f.state.core, &f.stranger, create("Ordinary"))
        .await
        .unwrap();
    assert!(matches!(
        theirs.event.body,
        EventBody::DeviceUpserted { .. }
    ));
    let refused = attack.await.unwrap().unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(refused, AppError::Validation { .. }),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("at most 64 KiB"), "{refused}");
    // Refused before the transaction: it took no seq. (It took 112 s before;
    // the bound is far from any machine's noise.)
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(events_count(&f, &f.editor.org_id).await, 0);
}

#[tokio::test]
async fn many_tags_within_the_size_limit_are_still_refused_by_count() {
    let f = fixture().await;
    let op = Op {
        op_id: new_id(),
        base_version: None,
        change: Change::CreateDevice {
            device_id: new_id(),
            name: "Tagged".into(),
            group_id: None,
            tags: (0..500).map(|i| format!("t{i}")).collect(),
            timezone: "UTC".into(),
        },
    };
    let err = change::apply(&f.state.core, &f.editor, op)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("At most 20 tags"), "{err}");
}

/// The sign-in routes behind the gate, with a client address on each request.
fn sign_in_app(state: &AppState) -> Router {
    crate::server::auth::routes()
        .layer(axum::middleware::from_fn_with_state(
            state.core.clone(),
            crate::server::auth::gate::gate,
        ))
        .with_state(state.clone())
}

async fn sign_in(app: &Router, email: &str, password: &str, from: [u8; 4]) -> String {
    let mut req = Request::builder()
        .method("POST")
        .uri("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("email={email}&password={password}")))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((from, 40_000))));
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn parallel_wrong_sign_ins_stop_at_the_limit() {
    let f = fixture().await;
    crate::server::auth::passwords::create_user(
        &f.state.core.db,
        &f.editor.org_id,
        "dana@acme.test",
        "the right password",
        Role::Editor,
    )
    .await
    .unwrap();
    let app = sign_in_app(&f.state);
    let limit = f.state.core.settings.login_attempts as usize;
    let tries: Vec<_> = (0..3 * limit)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                sign_in(&app, "dana@acme.test", "wrong", [10, 0, 0, (i % 200) as u8]).await
            })
        })
        .collect();
    let mut checked = 0;
    for t in tries {
        let location = t.await.unwrap();
        if location == "/login?error=invalid" {
            checked += 1;
        } else {
            assert!(location.starts_with("/login?error=limited"), "{location}");
        }
    }
    assert_eq!(
        checked, limit,
        "only the allowed attempts had their password checked"
    );
    // Now even the right password waits.
    let location = sign_in(
        &app,
        "dana@acme.test",
        "the%20right%20password",
        [10, 9, 9, 9],
    )
    .await;
    assert!(location.starts_with("/login?error=limited"), "{location}");
}

#[tokio::test]
async fn one_address_trying_many_emails_is_stopped_and_the_table_stays_small() {
    let f = fixture().await;
    let app = sign_in_app(&f.state);
    let per_address = f.state.core.settings.login_attempts_per_address as usize;
    let mut limited = 0;
    for i in 0..per_address + 5 {
        let location = sign_in(&app, &format!("nobody{i}@acme.test"), "x", [192, 0, 2, 1]).await;
        if location.starts_with("/login?error=limited") {
            limited += 1;
        }
    }
    assert_eq!(limited, 5);
    // An email longer than any address is refused before any work.
    let long = format!("{}@acme.test", "a".repeat(300));
    let location = sign_in(&app, &long, "x", [192, 0, 2, 2]).await;
    assert_eq!(location, "/login?error=invalid");
    assert!(f.state.login_limiter.len() <= per_address + 10);
}

#[tokio::test]
async fn the_pairing_guess_budget_holds_across_a_right_code() {
    let f = fixture().await;
    let pair = |code: &str| Op {
        op_id: new_id(),
        base_version: None,
        change: Change::PairDevice {
            device_id: new_id(),
            code: code.into(),
            name: "Mine".into(),
            group_id: None,
            timezone: "UTC".into(),
        },
    };
    for _ in 0..9 {
        let err = change::apply(&f.state.core, &f.editor, pair("ZZZZZZ"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
    }
    // The guesser claims a code of their own: the budget is not reset.
    let mut own = connect_to(&f.state);
    own.say(hello(None));
    let ServerMsg::Pairing { code, .. } = own.hear().await else {
        panic!("no code")
    };
    change::apply(&f.state.core, &f.editor, pair(&code))
        .await
        .unwrap();
    let err = change::apply(&f.state.core, &f.editor, pair("ZZZZZZ"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
    let mut other = connect_to(&f.state);
    other.say(hello(None));
    let ServerMsg::Pairing { code, .. } = other.hear().await else {
        panic!("no code")
    };
    let err = change::apply(&f.state.core, &f.editor, pair(&code))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::RateLimited { .. }), "{err:?}");
    // The code it could not claim is still there for someone allowed to.
    change::apply(&f.state.core, &f.stranger, pair(&code))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_display_that_keeps_sending_garbage_is_hung_up_on() {
    let f = fixture().await;
    let mut d = connect_to(&f.state);
    for _ in 0..crate::server::displays::socket::MAX_STRIKES {
        d.say_raw("not json");
    }
    let mut refusals = 0;
    while let Some(msg) = d.next_message().await {
        assert!(matches!(msg, ServerMsg::Refused { .. }), "{msg:?}");
        refusals += 1;
    }
    assert_eq!(refusals, crate::server::displays::socket::MAX_STRIKES);
}
