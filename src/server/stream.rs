//! `GET /api/v1/stream?since=SEQ&epoch=E`: the operator's live feed. On connect
//! it says hello (epoch, head), then sends what the log holds after `since` (or
//! an explicit reset when that cannot be resumed), then every new event of the
//! organization, in `seq` order with no gap and no duplicate, plus a ping frame.
//!
//! The loop is generic over the socket's sink and stream so tests drive it with
//! channels.

use std::sync::Arc;

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        Query, State,
    },
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::{auth::CurrentUser, db::now_ms, log, state::AppState};
use crate::model::{EventsPage, StreamFrame};

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    pub since: Option<i64>,
    pub epoch: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PollQuery {
    pub since: Option<i64>,
    pub epoch: Option<String>,
    /// Seconds to wait for an event when there is none yet (0 to 30, default 25).
    pub wait: Option<u64>,
    pub limit: Option<i64>,
}

/// The event log after `since`, oldest first: what the stream would send, as one
/// JSON answer. Waits for the next event when there is none yet; `reset` is set
/// when `since` cannot be resumed (refetch, then poll from `head`).
#[utoipa::path(get, path = "/api/v1/events", tag = "changes", params(PollQuery),
    responses((status = 200, body = EventsPage), (status = 401, body = crate::error::AppError)))]
pub async fn poll_handler(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Query(query): Query<PollQuery>,
) -> Response {
    let Some(Extension(user)) = user else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match poll(&state, &user, query).await {
        Ok(page) => axum::Json(page).into_response(),
        Err(err) => {
            let status = StatusCode::from_u16(err.status_code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(err)).into_response()
        }
    }
}

pub async fn poll(
    state: &AppState,
    user: &CurrentUser,
    query: PollQuery,
) -> Result<EventsPage, crate::error::AppError> {
    let org = user.org_id.as_str();
    let limit = query.limit.unwrap_or(500).clamp(1, 1_000);
    let wait = std::time::Duration::from_secs(query.wait.unwrap_or(25).min(30));
    // Subscribe before reading, so an event committed in between wakes us.
    let mut live = state.hub.subscribe(org).await?;
    let (epoch, head) = log::position(&state.db, org).await?;
    let since = query.since.unwrap_or(head);
    let oldest = log::oldest_retained(&state.db, org).await?;
    if let log::Resume::Reset(reason) =
        log::plan_resume(since, query.epoch.as_deref(), &epoch, head, oldest)
    {
        return Ok(EventsPage {
            epoch,
            head,
            reset: Some(reason),
            events: Vec::new(),
        });
    }
    let mut events = log::read_since(&state.db, org, since, limit).await?;
    if events.is_empty() && !wait.is_zero() {
        let _ = tokio::time::timeout(wait, live.recv()).await;
        events = log::read_since(&state.db, org, since, limit).await?;
    }
    let head = events.last().map_or(head, |e| e.seq.max(head));
    Ok(EventsPage {
        epoch,
        head,
        reset: None,
        events,
    })
}

pub async fn handler(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let Some(Extension(user)) = user else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    ws.on_upgrade(move |socket: WebSocket| async move {
        let (sink, incoming) = socket.split();
        serve(sink, incoming, state, user, query).await;
    })
}

async fn send<S>(sink: &mut S, frame: &StreamFrame) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(Message::Text(text.into())).await.map_err(|_| ())
}

/// Sends every logged event after `*last`, advancing it.
async fn catch_up<S>(sink: &mut S, state: &AppState, org_id: &str, last: &mut i64) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    loop {
        let events = log::read_since(&state.db, org_id, *last, 500)
            .await
            .map_err(|_| ())?;
        if events.is_empty() {
            return Ok(());
        }
        for event in events {
            *last = event.seq;
            send(sink, &StreamFrame::Event { event }).await?;
        }
    }
}

async fn forward<S>(
    sink: &mut S,
    state: &AppState,
    org_id: &str,
    last: &mut i64,
    shared: &Arc<super::hub::Shared>,
) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    if shared.event.seq <= *last {
        return Ok(()); // already sent by the catch-up
    }
    if shared.event.seq > *last + 1 {
        return catch_up(sink, state, org_id, last).await; // fill the gap from the log
    }
    *last = shared.event.seq;
    sink.send(Message::Text(shared.frame.clone().into()))
        .await
        .map_err(|_| ())
}

pub async fn serve<S, R, E>(
    mut sink: S,
    mut incoming: R,
    state: AppState,
    user: CurrentUser,
    query: StreamQuery,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let org = user.org_id.as_str();
    let Ok(mut live) = state.hub.subscribe(org).await else {
        return;
    };
    let Ok((epoch, head)) = log::position(&state.db, org).await else {
        return;
    };
    if send(
        &mut sink,
        &StreamFrame::Hello {
            epoch: epoch.clone(),
            head,
        },
    )
    .await
    .is_err()
    {
        return;
    }
    let mut last = match query.since {
        None => head,
        Some(since) => {
            let oldest = log::oldest_retained(&state.db, org).await.unwrap_or(None);
            match log::plan_resume(since, query.epoch.as_deref(), &epoch, head, oldest) {
                log::Resume::From(since) => since,
                log::Resume::Reset(reason) => {
                    if send(
                        &mut sink,
                        &StreamFrame::Reset {
                            epoch: epoch.clone(),
                            head,
                            reason,
                        },
                    )
                    .await
                    .is_err()
                    {
                        return;
                    }
                    head
                }
            }
        }
    };
    if catch_up(&mut sink, &state, org, &mut last).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(state.settings.stream_ping());
    ping.tick().await;
    loop {
        let step = tokio::select! {
            received = live.recv() => match received {
                Ok(event) => forward(&mut sink, &state, org, &mut last, &event).await,
                Err(RecvError::Lagged(_)) => catch_up(&mut sink, &state, org, &mut last).await,
                Err(RecvError::Closed) => Err(()),
            },
            _ = ping.tick() => {
                let framed = send(&mut sink, &StreamFrame::Ping { at: now_ms() }).await;
                match framed {
                    Ok(()) => sink.send(Message::Ping(Default::default())).await.map_err(|_| ()),
                    Err(()) => Err(()),
                }
            }
            message = incoming.next() => match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Err(()),
                Some(Ok(_)) => Ok(()),
            },
        };
        if step.is_err() {
            break;
        }
    }
}
