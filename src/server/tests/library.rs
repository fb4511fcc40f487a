//! Content, playlists and uploads through the change path and the HTTP
//! routes, on SQLite (and on PostgreSQL under `make unit-postgres`).

use axum::{
    body::{to_bytes, Body},
    http::{Request, StatusCode},
    middleware, Router,
};
use tower::ServiceExt;

use super::*;
use crate::{
    model::{ContentPatch, PlaylistItem},
    server::{auth, library},
};

fn op(change: Change, base_version: Option<i64>) -> Op {
    Op {
        op_id: new_id(),
        base_version,
        change,
    }
}

async fn web_page(f: &Fixture, name: &str) -> String {
    let id = new_id();
    let change = Change::CreateWebPage {
        content_id: id.clone(),
        name: name.into(),
        url: "https://example.com/menu".into(),
        reload_seconds: 300,
        tags: vec![],
    };
    change::apply(&f.state.core, &f.editor, op(change, None))
        .await
        .unwrap();
    id
}

async fn playlist(f: &Fixture, name: &str) -> String {
    let id = new_id();
    let change = Change::CreatePlaylist {
        playlist_id: id.clone(),
        name: name.into(),
    };
    change::apply(&f.state.core, &f.editor, op(change, None))
        .await
        .unwrap();
    id
}

async fn insert(
    f: &Fixture,
    playlist_id: &str,
    item_id: &str,
    content_id: &str,
    after: Option<&str>,
) {
    let change = Change::InsertItem {
        playlist_id: playlist_id.into(),
        item: PlaylistItem {
            id: item_id.into(),
            content_id: content_id.into(),
            duration_ms: 10_000,
        },
        after: after.map(str::to_string),
    };
    change::apply(&f.state.core, &f.editor, op(change, None))
        .await
        .unwrap();
}

async fn order(f: &Fixture, playlist_id: &str) -> Vec<String> {
    crate::server::library::playlists::get(&f.state.core.db, &f.editor.org_id, playlist_id)
        .await
        .unwrap()
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.id)
        .collect()
}

#[tokio::test]
async fn an_item_in_use_cannot_be_deleted_and_the_refusal_names_the_playlist() {
    let f = fixture().await;
    let menu = web_page(&f, "Menu board").await;
    let list = playlist(&f, "Lobby loop").await;
    insert(&f, &list, "i1", &menu, None).await;
    let delete = op(
        Change::DeleteContent {
            content_id: menu.clone(),
        },
        Some(1),
    );
    let err = change::apply(&f.state.core, &f.editor, delete)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Validation { .. }), "{err:?}");
    assert!(err.to_string().contains("“Lobby loop”"), "{err}");
    // Out of the playlist, it can go.
    let remove = Change::RemoveItem {
        playlist_id: list.clone(),
        item_id: "i1".into(),
    };
    change::apply(&f.state.core, &f.editor, op(remove, None))
        .await
        .unwrap();
    let delete = op(
        Change::DeleteContent {
            content_id: menu.clone(),
        },
        Some(1),
    );
    let ack = change::apply(&f.state.core, &f.editor, delete)
        .await
        .unwrap();
    assert!(matches!(ack.event.body, EventBody::ContentDeleted { .. }));
}

#[tokio::test]
async fn content_edits_are_versioned_and_validated() {
    let f = fixture().await;
    let menu = web_page(&f, "Menu").await;
    let tag = |base| {
        op(
            Change::UpdateContent {
                content_id: menu.clone(),
                patch: ContentPatch {
                    tags: Some(vec!["food".into(), " food ".into(), "4k".into()]),
                    ..Default::default()
                },
            },
            Some(base),
        )
    };
    let ack = change::apply(&f.state.core, &f.editor, tag(1))
        .await
        .unwrap();
    let EventBody::ContentUpserted { content } = ack.event.body else {
        panic!("not an upsert")
    };
    assert_eq!(content.tags, vec!["food", "4k"]);
    assert_eq!(content.version, 2);
    let stale = change::apply(&f.state.core, &f.editor, tag(1))
        .await
        .unwrap_err();
    assert!(matches!(
        stale,
        AppError::Conflict {
            current: Some(_),
            ..
        }
    ));
    let window = op(
        Change::UpdateContent {
            content_id: menu.clone(),
            patch: ContentPatch {
                valid_from: Some(Some(2_000)),
                valid_until: Some(Some(1_000)),
                ..Default::default()
            },
        },
        Some(2),
    );
    let err = change::apply(&f.state.core, &f.editor, window)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ends before it starts"), "{err}");
    let bad_url = Change::CreateWebPage {
        content_id: new_id(),
        name: "x".into(),
        url: "javascript:alert(1)".into(),
        reload_seconds: 60,
        tags: vec![],
    };
    let err = change::apply(&f.state.core, &f.editor, op(bad_url, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("http://"), "{err}");
}

#[tokio::test]
async fn two_operators_reordering_one_playlist_both_land_and_nothing_is_lost() {
    let f = fixture().await;
    let menu = web_page(&f, "Menu").await;
    let list = playlist(&f, "Loop").await;
    insert(&f, &list, "a", &menu, None).await;
    insert(&f, &list, "b", &menu, Some("a")).await;
    insert(&f, &list, "c", &menu, Some("b")).await;
    insert(&f, &list, "d", &menu, Some("c")).await;
    // Both made against the same version (5): item edits do not conflict.
    let one = Change::MoveItem {
        playlist_id: list.clone(),
        item_id: "a".into(),
        after: Some("d".into()),
    };
    let two = Change::MoveItem {
        playlist_id: list.clone(),
        item_id: "d".into(),
        after: None,
    };
    let (r1, r2) = tokio::join!(
        change::apply(&f.state.core, &f.editor, op(one, Some(5))),
        change::apply(&f.state.core, &f.editor, op(two, Some(5))),
    );
    r1.unwrap();
    r2.unwrap();
    let got = order(&f, &list).await;
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, ["a", "b", "c", "d"], "no item lost or doubled");
    // Either order of arrival: both moves show in the result.
    assert!(
        got == ["d", "b", "c", "a"] || got == ["d", "a", "b", "c"],
        "{got:?}"
    );
    // The events carry the whole list, so every replica converges on it.
    let events = log::read_since(&f.state.core.db, &f.editor.org_id, 0, 100)
        .await
        .unwrap();
    let EventBody::PlaylistUpserted { playlist } = &events.last().unwrap().body else {
        panic!("last event is not the playlist")
    };
    assert_eq!(
        playlist
            .items
            .iter()
            .map(|i| i.id.clone())
            .collect::<Vec<_>>(),
        got
    );
}

#[tokio::test]
async fn a_moved_item_that_someone_removed_is_not_found() {
    let f = fixture().await;
    let menu = web_page(&f, "Menu").await;
    let list = playlist(&f, "Loop").await;
    insert(&f, &list, "a", &menu, None).await;
    let remove = Change::RemoveItem {
        playlist_id: list.clone(),
        item_id: "a".into(),
    };
    change::apply(&f.state.core, &f.editor, op(remove, None))
        .await
        .unwrap();
    let mv = Change::MoveItem {
        playlist_id: list.clone(),
        item_id: "a".into(),
        after: None,
    };
    let err = change::apply(&f.state.core, &f.editor, op(mv, None))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn a_group_default_playlist_is_versioned_and_blocks_deleting_the_playlist() {
    let f = fixture().await;
    let list = playlist(&f, "Menus").await;
    let group_id = new_id();
    sqlx::query(
        "INSERT INTO device_groups (id, org_id, name, created_at) VALUES ($1, $2, 'Cafés', 0)",
    )
    .bind(&group_id)
    .bind(&f.editor.org_id)
    .execute(&f.state.core.db.pool)
    .await
    .unwrap();
    let set = |base| {
        op(
            Change::UpdateGroup {
                group_id: group_id.clone(),
                playlist_id: Some(list.clone()),
            },
            Some(base),
        )
    };
    let ack = change::apply(&f.state.core, &f.editor, set(1))
        .await
        .unwrap();
    let EventBody::GroupUpserted { group } = ack.event.body else {
        panic!("not a group event")
    };
    assert_eq!(group.playlist_id.as_deref(), Some(list.as_str()));
    assert_eq!(group.version, 2);
    assert!(matches!(
        change::apply(&f.state.core, &f.editor, set(1))
            .await
            .unwrap_err(),
        AppError::Conflict { .. }
    ));
    let delete = op(
        Change::DeletePlaylist {
            playlist_id: list.clone(),
        },
        Some(1),
    );
    let err = change::apply(&f.state.core, &f.editor, delete)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("“Cafés”"), "{err}");
    // Another organization's playlist cannot be assigned.
    let foreign = Change::UpdateGroup {
        group_id: group_id.clone(),
        playlist_id: Some(list.clone()),
    };
    let err = change::apply(&f.state.core, &f.stranger, op(foreign, Some(2)))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn media_items_come_only_from_uploads() {
    let f = fixture().await;
    let forged = Change::AddMedia {
        content_id: new_id(),
        name: "x".into(),
        media: crate::model::MediaInfo {
            kind: crate::model::ContentKind::Image,
            mime: "image/png".into(),
            sha256: "0".repeat(64),
            size: 1,
            width: None,
            height: None,
            duration_ms: None,
        },
    };
    let err = change::apply(&f.state.core, &f.editor, op(forged, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("upload"), "{err}");
}

// ------------------------------------------------------------ over HTTP

fn app(state: &AppState) -> Router {
    library::routes()
        .layer(middleware::from_fn_with_state(
            state.core.clone(),
            auth::gate::gate,
        ))
        .with_state(state.clone())
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload(
    app: &Router,
    token: &str,
    file_name: &str,
    bytes: &[u8],
) -> (StatusCode, serde_json::Value) {
    let boundary = "vizora-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/content")
        .header("authorization", format!("Bearer {token}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

async fn editor_token(f: &Fixture) -> String {
    let admin = CurrentUser {
        role: Role::Admin,
        ..f.editor.clone()
    };
    crate::server::auth::tokens::create(&f.state.core.db, &admin, "uploads", Role::Editor)
        .await
        .unwrap()
        .secret
}

fn media_files(f: &Fixture) -> Vec<String> {
    std::fs::read_dir(&f.state.core.media_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn content_rows(f: &Fixture) -> usize {
    crate::server::library::content::list(&f.state.core.db, &f.editor.org_id)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_uploaded_image_is_stored_once_with_a_thumbnail_and_served_with_ranges() {
    let f = fixture().await;
    let app = app(&f.state);
    let token = editor_token(&f).await;
    let bytes = png(640, 360);
    let (status, body) = upload(&app, &token, "Lobby welcome.png", &bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let item = &body[0];
    assert_eq!(item["name"], "Lobby welcome");
    assert_eq!(item["kind"], "image");
    assert_eq!(item["width"], 640);
    assert_eq!(item["height"], 360);
    let sha = item["sha256"].as_str().unwrap().to_string();
    // The same bytes again: a second item, one file.
    let (status, _) = upload(&app, &token, "again.png", &bytes).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(media_files(&f), vec![format!("{sha}.png")]);
    assert!(f
        .state
        .core
        .media_dir
        .join("thumbs")
        .join(format!("{sha}.png"))
        .exists());

    let get = |headers: Vec<(&'static str, String)>| {
        let app = app.clone();
        let sha = sha.clone();
        async move {
            let mut req = Request::builder().uri(format!("/media/{sha}.png"));
            for (k, v) in headers {
                req = req.header(k, v);
            }
            app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
        }
    };
    let full = get(vec![]).await;
    assert_eq!(full.status(), StatusCode::OK);
    let etag = full.headers()["etag"].to_str().unwrap().to_string();
    assert!(full.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let ranged = get(vec![("range", "bytes=8-15".into())]).await;
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        ranged.headers()["content-range"].to_str().unwrap(),
        format!("bytes 8-15/{}", bytes.len())
    );
    let got = to_bytes(ranged.into_body(), 1 << 20).await.unwrap();
    assert_eq!(&got[..], &bytes[8..16]);
    let cached = get(vec![("if-none-match", etag)]).await;
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn refused_uploads_say_why_and_store_nothing() {
    let mut f = fixture().await;
    let small = Settings {
        upload_limit_mb: 1,
        ..Settings::default()
    };
    f.state.core.settings = Arc::new(small);
    let app = app(&f.state);
    let token = editor_token(&f).await;

    let (status, body) = upload(&app, &token, "notes.png", b"hello, this is just text\n").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["code"], "unsupported_type");
    assert!(
        body["message"].as_str().unwrap().contains("plain text"),
        "{body}"
    );

    let (status, body) = upload(&app, &token, "empty.png", b"").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("empty"),
        "{body}"
    );

    let mut big = png(64, 64);
    big.resize(3 * 1024 * 1024, 0);
    let (status, body) = upload(&app, &token, "huge.png", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["message"].as_str().unwrap().contains("1 MB"), "{body}");

    assert!(media_files(&f).is_empty(), "{:?}", media_files(&f));
    let tmp = f.state.core.media_dir.join("tmp");
    assert!(std::fs::read_dir(&tmp).map_or(true, |mut d| d.next().is_none()));
    assert_eq!(content_rows(&f).await, 0);

    // A viewer cannot upload at all.
    let viewer = CurrentUser {
        role: Role::Admin,
        ..f.editor.clone()
    };
    let viewer_token =
        crate::server::auth::tokens::create(&f.state.core.db, &viewer, "read", Role::Viewer)
            .await
            .unwrap()
            .secret;
    let (status, _) = upload(&app, &viewer_token, "a.png", &png(4, 4)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[test]
fn the_openapi_document_lists_the_library_endpoints() {
    let json = serde_json::to_value(crate::server::router::openapi_doc()).unwrap();
    for path in [
        "/api/v1/content",
        "/api/v1/content/{id}",
        "/api/v1/content/web-pages",
        "/api/v1/playlists/{id}/items/{item_id}",
        "/api/v1/groups/{id}/playlist",
        "/api/v1/devices",
    ] {
        assert!(json["paths"][path].is_object(), "{path} missing");
    }
    let upload = &json["paths"]["/api/v1/content"]["post"]["requestBody"]["content"];
    assert!(upload["multipart/form-data"].is_object(), "{upload}");
}
