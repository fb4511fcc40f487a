//! `GET /api/v1/stream?since=SEQ&epoch=E`: the operator's live feed. On connect
//! it says hello (epoch, head), then sends what the log holds after `since` (or
//! an explicit reset when that cannot be resumed), then every new event of the
//! organization, in `seq` order with no gap and no duplicate, plus a ping frame.
//!
//! The loop is generic over the socket's sink and stream so tests drive it with
//! channels.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{
        ws::{rejection::WebSocketUpgradeRejection, Message, WebSocket, WebSocketUpgrade},
        FromRef, State,
    },
    response::{IntoResponse, Response},
    routing::{get, post},
    Extension, Router,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::{
    change,
    credential::Recheck,
    db::now_ms,
    http::{CurrentUser, Json, Query},
    hub::Shared,
    log,
    metrics::{Held, METRICS},
    Core,
};
use crate::{
    error::AppError,
    model::{EventsPage, Op, OpAck, StreamFrame},
};

/// The stream, the long-poll and the op endpoint: what every domain's
/// changes travel through.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Core: FromRef<S>,
{
    Router::new()
        .route("/api/v1/stream", get(handler))
        .route("/api/v1/events", get(poll_handler))
        .route("/api/v1/ops", post(apply_op))
}

/// Applies an op in the console's own shape: what the pages send.
#[utoipa::path(post, path = "/api/v1/ops", tag = "changes", request_body = Op,
    responses((status = 200, body = OpAck), (status = 409, body = AppError), (status = 422, body = AppError)))]
pub async fn apply_op(
    State(core): State<Core>,
    user: CurrentUser,
    Json(op): Json<Op>,
) -> Result<Json<OpAck>, AppError> {
    Ok(Json(change::apply(&core, &user, op).await?))
}

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    pub since: Option<i64>,
    pub epoch: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollQuery {
    pub since: Option<i64>,
    pub epoch: Option<String>,
    /// Seconds to wait for an event when there is none yet (0 to 30, default 5;
    /// the console asks for 25).
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u64>,
    /// At most this many events, 1 to 1000; default 500.
    #[param(minimum = 1, maximum = 1_000)]
    pub limit: Option<i64>,
}

/// The event log after `since`, oldest first: what the stream would send, as one
/// JSON answer. Waits for the next event when there is none yet; `reset` is set
/// when `since` cannot be resumed (refetch, then poll from `head`).
#[utoipa::path(get, path = "/api/v1/events", tag = "changes", params(PollQuery),
    responses((status = 200, body = EventsPage), (status = 401, body = crate::error::AppError)))]
pub async fn poll_handler(
    State(core): State<Core>,
    user: CurrentUser,
    Query(query): Query<PollQuery>,
) -> Result<Json<EventsPage>, AppError> {
    Ok(Json(poll(&core, &user, query).await?))
}

pub async fn poll(
    core: &Core,
    user: &CurrentUser,
    query: PollQuery,
) -> Result<EventsPage, AppError> {
    let org = user.org_id.as_str();
    let limit = super::http::in_range(query.limit, "limit", 1, 1_000, 500)?;
    let wait = super::http::in_range(query.wait, "wait", 0, 30, 5)?;
    let wait = std::time::Duration::from_secs(wait);
    // Subscribe before reading, so an event committed in between wakes us.
    let mut live = core.hub.subscribe(org).await?;
    let (epoch, head) = log::position(&core.db, org).await?;
    let since = query.since.unwrap_or(head);
    let oldest = log::oldest_retained(&core.db, org).await?;
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
    let mut events = log::read_since(&core.db, org, since, limit).await?;
    if events.is_empty() && !wait.is_zero() {
        let _ = tokio::time::timeout(wait, live.recv()).await;
        events = log::read_since(&core.db, org, since, limit).await?;
    }
    let head = events.last().map_or(head, |e| e.seq.max(head));
    Ok(EventsPage {
        epoch,
        head,
        reset: None,
        events,
    })
}

/// A frame the peer has not taken within this long ends the stream: a
/// client that does not read is dropped, never buffered for.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// An operator sends nothing but pongs and a close: anything larger is refused.
pub const MAX_INCOMING: usize = 4 * 1024;

pub async fn handler(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(core): State<Core>,
    user: CurrentUser,
    recheck: Option<Extension<Recheck>>,
    Query(query): Query<StreamQuery>,
) -> Response {
    // Like every refusal under /api: JSON, with what to do instead.
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return AppError::bad_request(format!(
                "/api/v1/stream is a WebSocket ({e}); without one, long-poll GET /api/v1/events."
            ))
            .into_response()
        }
    };
    let recheck = match recheck {
        Some(Extension(r)) => r,
        None => Recheck::always(user.clone()),
    };
    ws.max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING)
        .on_upgrade(move |socket: WebSocket| async move {
            let (sink, incoming) = socket.split();
            serve(sink, incoming, core, user, recheck, query).await;
        })
}

/// Awaits a write to the peer, or gives up on a peer that has not taken it
/// in time.
async fn in_time<E>(write: impl std::future::Future<Output = Result<(), E>>) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            METRICS.slow_operators_dropped.inc();
            Err(())
        }
    }
}

/// Sends one message (and flushes it).
async fn push<S>(sink: &mut S, message: Message) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    in_time(sink.send(message)).await
}

async fn send<S>(sink: &mut S, frame: &StreamFrame) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    push(sink, Message::Text(text.into())).await
}

/// Queues one message without flushing it. A burst is queued this way and
/// flushed once.
async fn queue<S>(sink: &mut S, message: Message) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    in_time(sink.feed(message)).await
}

async fn flush<S>(sink: &mut S) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    in_time(sink.flush()).await
}

/// Sends every logged event after `*last`, advancing it: a page of the log
/// at a time, flushed once a page.
async fn catch_up<S>(sink: &mut S, core: &Core, org_id: &str, last: &mut i64) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    loop {
        let events = log::read_since(&core.db, org_id, *last, 500)
            .await
            .map_err(|_| ())?;
        if events.is_empty() {
            return Ok(());
        }
        for event in events {
            *last = event.seq;
            let text = serde_json::to_string(&StreamFrame::Event { event }).map_err(|_| ())?;
            queue(sink, Message::Text(text.into())).await?;
        }
        flush(sink).await?;
    }
}

/// Queues `shared` unless the catch-up sent it already; a gap is filled
/// from the log. The caller flushes.
async fn forward<S>(
    sink: &mut S,
    core: &Core,
    org_id: &str,
    last: &mut i64,
    shared: &Arc<Shared>,
) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    if shared.event.seq <= *last {
        return Ok(()); // already sent by the catch-up
    }
    if shared.event.seq > *last + 1 {
        return catch_up(sink, core, org_id, last).await; // fill the gap from the log
    }
    *last = shared.event.seq;
    queue(sink, Message::Text(shared.frame.clone().into())).await?;
    METRICS.deliveries.inc();
    METRICS
        .delivery_seconds
        .observe((now_ms() - shared.event.at).max(0) as f64 / 1000.0);
    Ok(())
}

/// The most events taken from the hub for one flush.
const BURST: usize = 256;

/// Forwards `first` and whatever else already waits (up to [`BURST`]),
/// then flushes once: a burst of events is a few writes to the socket,
/// not one per event. Catches up from the log when the hub says this
/// socket fell behind. Whether any event touched credentials is returned,
/// so the caller checks the session after the burst.
async fn forward_burst<S>(
    sink: &mut S,
    core: &Core,
    org_id: &str,
    last: &mut i64,
    live: &mut tokio::sync::broadcast::Receiver<Arc<Shared>>,
    first: Arc<Shared>,
) -> Result<bool, ()>
where
    S: Sink<Message> + Unpin,
{
    METRICS.operator_queue_depth.observe(live.len() as f64);
    let mut credentials = first.event.body.touches_credentials();
    forward(sink, core, org_id, last, &first).await?;
    for _ in 1..BURST {
        match live.try_recv() {
            Ok(next) => {
                credentials |= next.event.body.touches_credentials();
                forward(sink, core, org_id, last, &next).await?;
            }
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {
                catch_up(sink, core, org_id, last).await?;
            }
            Err(_) => break,
        }
    }
    flush(sink).await?;
    Ok(credentials)
}

/// Whether the stream's credential still holds; when it has ended, says so
/// to the client (which goes to the sign-in page) and the stream closes.
async fn still_signed_in<S>(sink: &mut S, recheck: &Recheck) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    match recheck.check().await {
        Ok(Some(_)) => Ok(()),
        // A failed check (the database is away) is not a sign-out: next time.
        Err(_) => Ok(()),
        Ok(None) => {
            let _ = send(
                sink,
                &StreamFrame::SignedOut {
                    reason: "Your session has ended. Sign in again.".into(),
                },
            )
            .await;
            let _ = push(sink, Message::Close(None)).await;
            Err(())
        }
    }
}

pub async fn serve<S, R, E>(
    mut sink: S,
    mut incoming: R,
    core: Core,
    user: CurrentUser,
    recheck: Recheck,
    query: StreamQuery,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let org = user.org_id.as_str();
    let _open = Held::new(&METRICS.operator_connections);
    let Ok(mut live) = core.hub.subscribe(org).await else {
        return;
    };
    let Ok((epoch, head)) = log::position(&core.db, org).await else {
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
            let oldest = log::oldest_retained(&core.db, org).await.unwrap_or(None);
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
    if catch_up(&mut sink, &core, org, &mut last).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(core.settings.stream_ping());
    ping.tick().await;
    let mut credential = tokio::time::interval(core.settings.credential_check());
    credential.tick().await;
    loop {
        let step = tokio::select! {
            received = live.recv() => match received {
                Ok(event) => match forward_burst(&mut sink, &core, org, &mut last, &mut live, event).await {
                    Ok(true) => still_signed_in(&mut sink, &recheck).await,
                    Ok(false) => Ok(()),
                    Err(()) => Err(()),
                },
                Err(RecvError::Lagged(_)) => catch_up(&mut sink, &core, org, &mut last).await,
                Err(RecvError::Closed) => Err(()),
            },
            _ = ping.tick() => {
                let framed = send(&mut sink, &StreamFrame::Ping { at: now_ms() }).await;
                match framed {
                    Ok(()) => push(&mut sink, Message::Ping(Default::default())).await,
                    Err(()) => Err(()),
                }
            }
            _ = credential.tick() => still_signed_in(&mut sink, &recheck).await,
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
