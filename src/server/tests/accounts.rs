//! Accounts, sessions and tokens (issue 10): through the change path and the
//! REST API, and the operator stream closing when its credential ends.

use std::{net::SocketAddr, time::Duration};

use axum::{
    body::{to_bytes, Body},
    extract::ConnectInfo,
    http::{header, Request, StatusCode},
    middleware, Router,
};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use tower::ServiceExt;

use super::*;
use crate::server::auth::{gate, passwords::create_user, tokens};

const PASSWORD: &str = "correct horse battery";

fn app(state: &AppState) -> Router {
    crate::server::auth::routes()
        .merge(crate::server::devices::routes())
        .merge(stream::routes())
        .layer(middleware::from_fn_with_state(
            state.core.clone(),
            gate::gate,
        ))
        .with_state(state.clone())
}

/// The app on a real port, for WebSockets.
async fn serve(state: &AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

struct Answer {
    status: StatusCode,
    body: Value,
    headers: axum::http::HeaderMap,
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    auth: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in auth {
        req = req.header(*k, *v);
    }
    let mut req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    }
}

/// The status of a GET made with one credential header.
async fn get_status(app: &Router, path: &str, credential: (&str, &str)) -> StatusCode {
    call(app, "GET", path, &[credential], None).await.status
}

/// Signs in with the form; the session cookie (`name=value`), or the
/// redirect it was refused with.
async fn sign_in(app: &Router, email: &str, password: &str, next: &str) -> Result<String, String> {
    let mut req = Request::builder()
        .method("POST")
        .uri("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, "TestBrowser/1.0")
        .body(Body::from(format!(
            "email={email}&password={password}&next={next}"
        )))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    match res.headers().get(header::SET_COOKIE) {
        Some(cookie) => Ok(cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()),
        None => Err(location),
    }
}

/// An admin of Acme with a password, as a `CurrentUser` for direct changes.
async fn admin(f: &Fixture) -> CurrentUser {
    let id = create_user(
        &f.state.core.db,
        &f.editor.org_id,
        "admin@acme.test",
        PASSWORD,
        Role::Admin,
    )
    .await
    .unwrap();
    CurrentUser {
        user_id: id,
        email: "admin@acme.test".into(),
        role: Role::Admin,
        ..f.editor.clone()
    }
}

async fn admin_bearer(f: &Fixture, admin: &CurrentUser) -> String {
    let made = tokens::create(&f.state.core.db, admin, "admin tools", Role::Admin)
        .await
        .unwrap();
    format!("Bearer {}", made.secret)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_stream(addr: SocketAddr, header_name: &str, value: &str) -> Socket {
    let mut request = format!("ws://{addr}/api/v1/stream")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        header_name.parse::<header::HeaderName>().unwrap(),
        value.parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    match next_text(&mut socket).await {
        Some(StreamFrame::Hello { .. }) => socket,
        other => panic!("expected hello, got {other:?}"),
    }
}

async fn next_text(socket: &mut Socket) -> Option<StreamFrame> {
    loop {
        match socket.next().await? {
            Ok(tungstenite::Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(tungstenite::Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Reads frames until the stream says signed out and closes; how long it took.
async fn signed_out_within(socket: &mut Socket, limit: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    let ended = tokio::time::timeout(limit, async {
        loop {
            match next_text(socket).await {
                Some(StreamFrame::SignedOut { .. }) => break true,
                Some(_) => continue,
                None => break false,
            }
        }
    })
    .await;
    assert_eq!(
        ended,
        Ok(true),
        "the stream did not say signed out in {limit:?}"
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), next_text(socket)).await;
    assert!(
        matches!(closed, Ok(None)),
        "the stream stayed open: {closed:?}"
    );
    started.elapsed()
}

#[tokio::test]
async fn the_stream_closes_when_its_session_signs_out() {
    let f = fixture().await;
    admin(&f).await;
    let app = app(&f.state);
    let cookie = sign_in(&app, "admin@acme.test", PASSWORD, "/")
        .await
        .unwrap();
    let addr = serve(&f.state).await;
    let mut socket = open_stream(addr, "cookie", &cookie).await;
    let out = call(
        &app,
        "POST",
        "/auth/logout",
        &[("cookie", cookie.as_str())],
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let took = signed_out_within(&mut socket, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(5));
    // The cookie is worth nothing now.
    assert_eq!(
        get_status(&app, "/api/v1/devices", ("cookie", cookie.as_str())).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_stream_closes_when_its_token_is_revoked() {
    let f = fixture().await;
    let admin = admin(&f).await;
    let made = tokens::create(&f.state.core.db, &admin, "feed", Role::Viewer)
        .await
        .unwrap();
    let bearer = format!("Bearer {}", made.secret);
    let addr = serve(&f.state).await;
    let mut socket = open_stream(addr, "authorization", &bearer).await;
    // Another change first: the stream carries it and stays open.
    change::apply(&f.state.core, &f.editor, create("Lobby"))
        .await
        .unwrap();
    assert!(matches!(
        next_text(&mut socket).await,
        Some(StreamFrame::Event { .. })
    ));
    let app = app(&f.state);
    let admin_bearer = admin_bearer(&f, &admin).await;
    let revoke = call(
        &app,
        "DELETE",
        &format!("/api/v1/tokens/{}", made.token.id),
        &[("authorization", admin_bearer.as_str())],
        None,
    )
    .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT, "{:?}", revoke.body);
    signed_out_within(&mut socket, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_expired_session_is_noticed_within_the_check_interval() {
    let mut f = fixture().await;
    f.state.core.settings = Arc::new(Settings {
        credential_check_seconds: 1,
        ..Settings::default()
    });
    admin(&f).await;
    let app = app(&f.state);
    let cookie = sign_in(&app, "admin@acme.test", PASSWORD, "/")
        .await
        .unwrap();
    let addr = serve(&f.state).await;
    let mut socket = open_stream(addr, "cookie", &cookie).await;
    // The session runs out; nothing is said on the stream about it.
    sqlx::query("UPDATE sessions SET expires_at = 1")
        .execute(&f.state.core.db.pool)
        .await
        .unwrap();
    let took = signed_out_within(&mut socket, Duration::from_secs(5)).await;
    assert!(took <= Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn deactivating_an_account_ends_its_sessions_and_tokens_and_keeps_its_history() {
    let f = fixture().await;
    let admin = admin(&f).await;
    let app = app(&f.state);
    let bearer = admin_bearer(&f, &admin).await;
    let auth = [("authorization", bearer.as_str())];

    let made = call(
        &app,
        "POST",
        "/api/v1/users",
        &auth,
        Some(
            json!({"email": "Sam@Acme.test", "role": "editor", "password": "sam's first password"}),
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    assert_eq!(made.body["email"], "sam@acme.test");
    assert_eq!(made.headers[header::ETAG], "\"1\"");
    let sam_id = made.body["id"].as_str().unwrap().to_string();

    // Sam signs in, makes a token and a change, and has a stream open.
    let cookie = sign_in(&app, "sam@acme.test", "sam's first password", "/")
        .await
        .unwrap();
    let sam = lookup(&f, &cookie).await;
    assert_eq!(sam.role, Role::Editor);
    let sam_token = tokens::create(
        &f.state.core.db,
        &CurrentUser {
            role: Role::Admin,
            ..sam.clone()
        },
        "sam's script",
        Role::Editor,
    )
    .await
    .unwrap();
    let sam_bearer = format!("Bearer {}", sam_token.secret);
    let lobby = call(
        &app,
        "POST",
        "/api/v1/devices",
        &[("cookie", cookie.as_str())],
        Some(json!({"name": "Sam's lobby"})),
    )
    .await;
    assert_eq!(lobby.status, StatusCode::CREATED, "{:?}", lobby.body);
    let addr = serve(&f.state).await;
    let mut socket = open_stream(addr, "cookie", &cookie).await;

    // Stale If-Match: a conflict with the account as it is.
    let stale = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{sam_id}"),
        &[auth[0], ("if-match", "\"7\"")],
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.body["current"]["email"], "sam@acme.test");

    let off = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{sam_id}"),
        &[auth[0], ("if-match", "\"1\"")],
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{:?}", off.body);
    assert!(off.body["deactivated_at"].is_i64());
    assert_eq!(off.headers[header::ETAG], "\"2\"");

    signed_out_within(&mut socket, Duration::from_secs(5)).await;
    for credential in [
        ("cookie", cookie.as_str()),
        ("authorization", sam_bearer.as_str()),
    ] {
        let refused = call(&app, "GET", "/api/v1/devices", &[credential], None).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{credential:?}");
    }
    assert_eq!(
        sign_in(&app, "sam@acme.test", "sam's first password", "/").await,
        Err("/login?error=invalid".to_string())
    );
    // History stays: the display Sam made still names Sam as its actor.
    let events = log::read_since(&f.state.core.db, &f.editor.org_id, 0, 100)
        .await
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.actor.as_deref() == Some("sam@acme.test")));
    let listed = call(&app, "GET", "/api/v1/users", &auth, None).await;
    let sam_row = listed.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == sam_id.as_str())
        .cloned()
        .unwrap();
    assert!(sam_row["deactivated_at"].is_i64());

    // Reactivated, Sam signs in again (the old token stays revoked).
    let on = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{sam_id}"),
        &[auth[0], ("if-match", "\"2\"")],
        Some(json!({"active": true, "role": "viewer"})),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{:?}", on.body);
    assert_eq!(on.body["role"], "viewer");
    assert!(on.body["deactivated_at"].is_null());
    let again = sign_in(&app, "sam@acme.test", "sam's first password", "/")
        .await
        .unwrap();
    assert_eq!(lookup(&f, &again).await.role, Role::Viewer);
    assert_eq!(
        get_status(
            &app,
            "/api/v1/devices",
            ("authorization", sam_bearer.as_str())
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
}

async fn lookup(f: &Fixture, cookie: &str) -> CurrentUser {
    let token = cookie.split_once('=').unwrap().1;
    crate::server::auth::sessions::lookup_session(&f.state.core.db, token)
        .await
        .unwrap()
        .expect("a live session")
}

#[tokio::test]
async fn account_rules_hold_whoever_asks() {
    let f = fixture().await;
    let admin = admin(&f).await;
    let app = app(&f.state);
    let bearer = admin_bearer(&f, &admin).await;
    let auth = [("authorization", bearer.as_str())];

    // An editor manages no accounts.
    let refused = change::apply(
        &f.state.core,
        &f.editor,
        Op {
            op_id: new_id(),
            base_version: None,
            change: Change::CreateUser {
                user_id: new_id(),
                email: "x@acme.test".into(),
                role: Role::Admin,
                password: crate::model::Secret("a long password".into()),
            },
        },
    )
    .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden { .. })),
        "{refused:?}"
    );

    // An email taken in any organization, a bad email, a short password.
    for (body, status, says) in [
        (
            json!({"email": "ad@other.test", "role": "viewer", "password": "long enough"}),
            StatusCode::CONFLICT,
            "already exists",
        ),
        (
            json!({"email": "not-an-email", "role": "viewer", "password": "long enough"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not an email",
        ),
        (
            json!({"email": "kim@acme.test", "role": "viewer", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at least 8",
        ),
    ] {
        let answer = call(&app, "POST", "/api/v1/users", &auth, Some(body)).await;
        assert_eq!(answer.status, status);
        assert!(
            answer.body["message"].as_str().unwrap().contains(says),
            "{:?}",
            answer.body
        );
    }

    // The only admin can be neither demoted nor deactivated, by anyone.
    let listed = call(&app, "GET", "/api/v1/users", &auth, None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let me = listed.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "admin@acme.test")
        .cloned()
        .unwrap();
    let my_path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let demote = call(
        &app,
        "PATCH",
        &my_path,
        &[auth[0], ("if-match", "1")],
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(demote.status, StatusCode::CONFLICT);
    assert!(demote.body["message"]
        .as_str()
        .unwrap()
        .contains("only admin"));
    let nothing = call(
        &app,
        "PATCH",
        &my_path,
        &[auth[0], ("if-match", "1")],
        Some(json!({"role": null})),
    )
    .await;
    assert_eq!(
        nothing.status,
        StatusCode::OK,
        "an empty patch changes nothing"
    );
    assert_eq!(nothing.body["role"], "admin");

    // Viewers see only themselves, and no one's sessions but their own.
    let viewer_cookie = {
        create_user(
            &f.state.core.db,
            &f.editor.org_id,
            "val@acme.test",
            PASSWORD,
            Role::Viewer,
        )
        .await
        .unwrap();
        sign_in(&app, "val@acme.test", PASSWORD, "/").await.unwrap()
    };
    let admin_cookie = sign_in(&app, "admin@acme.test", PASSWORD, "/")
        .await
        .unwrap();
    let seen = call(
        &app,
        "GET",
        "/api/v1/users",
        &[("cookie", viewer_cookie.as_str())],
        None,
    )
    .await;
    let users = seen.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["email"], "val@acme.test");
    let sessions = seen.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["user_agent"], "TestBrowser/1.0");

    // A viewer cannot end an admin's session; the admin can end the viewer's.
    let all = call(
        &app,
        "GET",
        "/api/v1/sessions",
        &[("cookie", admin_cookie.as_str())],
        None,
    )
    .await;
    let find = |email: &str| {
        all.body
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (admin_session, viewer_session) = (find("admin@acme.test"), find("val@acme.test"));
    let tried = call(
        &app,
        "DELETE",
        &format!("/api/v1/sessions/{admin_session}"),
        &[("cookie", viewer_cookie.as_str())],
        None,
    )
    .await;
    assert_eq!(tried.status, StatusCode::FORBIDDEN);
    let ended = call(
        &app,
        "DELETE",
        &format!("/api/v1/sessions/{viewer_session}"),
        &[("cookie", admin_cookie.as_str())],
        None,
    )
    .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get_status(&app, "/api/v1/users", ("cookie", viewer_cookie.as_str())).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn changing_your_password_ends_your_other_sessions() {
    let f = fixture().await;
    admin(&f).await;
    let app = app(&f.state);
    let here = sign_in(&app, "admin@acme.test", PASSWORD, "/")
        .await
        .unwrap();
    let there = sign_in(&app, "admin@acme.test", PASSWORD, "/")
        .await
        .unwrap();
    let wrong = call(
        &app,
        "POST",
        "/api/v1/me/password",
        &[("cookie", here.as_str())],
        Some(json!({"current": "not it at all", "new": "a brand new password"})),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body["message"]
        .as_str()
        .unwrap()
        .contains("current password"));
    let changed = call(
        &app,
        "POST",
        "/api/v1/me/password",
        &[("cookie", here.as_str())],
        Some(json!({"current": PASSWORD, "new": "a brand new password"})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{:?}", changed.body);
    assert_eq!(
        get_status(&app, "/api/v1/devices", ("cookie", here.as_str())).await,
        StatusCode::OK
    );
    assert_eq!(
        get_status(&app, "/api/v1/devices", ("cookie", there.as_str())).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(sign_in(&app, "admin@acme.test", PASSWORD, "/")
        .await
        .is_err());
    assert!(
        sign_in(&app, "admin@acme.test", "a brand new password", "/")
            .await
            .is_ok()
    );

    // Guessing the current password is limited.
    let mut limited = None;
    for n in 0..12 {
        let answer = call(
            &app,
            "POST",
            "/api/v1/me/password",
            &[("cookie", here.as_str())],
            Some(json!({"current": format!("guess number {n}"), "new": "whatever I like"})),
        )
        .await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(n);
            break;
        }
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // One wrong guess came before the change above, nine after it.
    assert_eq!(limited, Some(9), "guesses allowed before the limit");
}

#[tokio::test]
async fn the_redirect_after_sign_in_stays_on_this_site() {
    let f = fixture().await;
    admin(&f).await;
    let app = app(&f.state);
    for (next, expected) in [
        ("%2Fcontent", "/content"),
        // `next=/%09/evil.example`: a tab browsers drop, then `//evil.example`.
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
    ] {
        let mut req = Request::builder()
            .method("POST")
            .uri("/auth/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "email=admin@acme.test&password={PASSWORD}&next={next}"
            )))
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.headers()[header::LOCATION], expected, "next={next}");
    }
}

#[tokio::test]
async fn an_idempotency_key_names_one_request() {
    let f = fixture().await;
    let admin = admin(&f).await;
    let app = app(&f.state);
    let bearer = admin_bearer(&f, &admin).await;
    let post = |name: &'static str| {
        let (app, bearer) = (app.clone(), bearer.clone());
        async move {
            call(
                &app,
                "POST",
                "/api/v1/devices",
                &[
                    ("authorization", bearer.as_str()),
                    ("idempotency-key", "lobby-7"),
                ],
                Some(json!({"name": name})),
            )
            .await
        }
    };
    let first = post("Lobby 7").await;
    assert_eq!(first.status, StatusCode::CREATED);
    // A retry, with no id in the body either: the same display, once.
    let again = post("Lobby 7").await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    // The key with another request: refused, and nothing changes.
    let other = post("Lobby 8").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{:?}", other.body);
    assert!(other.body["message"]
        .as_str()
        .unwrap()
        .contains("different request"));
    let all = call(
        &app,
        "GET",
        "/api/v1/devices",
        &[("authorization", bearer.as_str())],
        None,
    )
    .await;
    assert_eq!(all.body["devices"].as_array().unwrap().len(), 1);
}
