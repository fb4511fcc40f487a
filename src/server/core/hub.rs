//! The stream hub: one reader per organization follows the event log and fans
//! new events out to that organization's sockets. A commit only wakes the
//! reader; the reader always reads the rows, so a lost wake-up (or a change
//! made by another node) is picked up by the next poll and nothing is lost.
//! Observers (the display gateway's router) are called by the reader itself,
//! so they see every event however large the burst; sockets subscribe to a
//! bounded channel and catch up from the log when they fall behind.

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::sync::{broadcast, Mutex, Notify};

use super::{
    db::{Backend, Db},
    log,
};
use crate::model::Event;

/// How often a reader looks at the log without being woken.
const POLL: Duration = Duration::from_secs(2);
/// Events buffered per organization for slow sockets before they must catch up from the log.
const FANOUT_CAPACITY: usize = 1024;

/// An event as fanned out: its stream frame is serialized once, by the reader,
/// not once per socket.
pub struct Shared {
    pub event: Event,
    pub frame: String,
}

/// Called by an organization's reader with each event, in `seq` order, as
/// it is read: it never lags, so it must be quick (no I/O, a lock held for
/// a lookup at most).
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

struct Feed {
    events: broadcast::Sender<Arc<Shared>>,
    wake: Arc<Notify>,
    observers: Arc<std::sync::Mutex<Vec<Observer>>>,
}

pub struct StreamHub {
    db: Db,
    feeds: Mutex<HashMap<String, Feed>>,
}

impl StreamHub {
    pub fn new(db: Db) -> Arc<Self> {
        let hub = Arc::new(Self {
            db,
            feeds: Mutex::new(HashMap::new()),
        });
        if hub.db.backend == Backend::Postgres {
            tokio::spawn(listen(Arc::downgrade(&hub)));
        }
        hub
    }

    /// Called after a change commits.
    pub async fn wake(&self, org_id: &str) {
        if let Some(feed) = self.feeds.lock().await.get(org_id) {
            feed.wake.notify_one();
        }
    }

    /// Live events of an organization from now on. Subscribe first, then read the
    /// log for catch-up, and skip what the catch-up already sent: no gap, no dup.
    pub async fn subscribe(
        &self,
        org_id: &str,
    ) -> Result<broadcast::Receiver<Arc<Shared>>, crate::error::AppError> {
        let mut feeds = self.feeds.lock().await;
        Ok(self.feed(&mut feeds, org_id).await?.events.subscribe())
    }

    /// Every event of the organization from now on, handed to `observer` by
    /// the reader itself, before any socket has it. Unlike a subscriber an
    /// observer cannot fall behind a burst (the display gateway's router
    /// sees every event of a fleet connecting at once).
    pub async fn observe(
        &self,
        org_id: &str,
        observer: Observer,
    ) -> Result<(), crate::error::AppError> {
        let mut feeds = self.feeds.lock().await;
        let feed = self.feed(&mut feeds, org_id).await?;
        feed.observers.lock().unwrap().push(observer);
        Ok(())
    }

    /// The organization's feed, its reader started from the log's head.
    async fn feed<'a>(
        &self,
        feeds: &'a mut HashMap<String, Feed>,
        org_id: &str,
    ) -> Result<&'a Feed, crate::error::AppError> {
        if !feeds.contains_key(org_id) {
            let (_, head) = log::position(&self.db, org_id).await?;
            let (tx, _) = broadcast::channel(FANOUT_CAPACITY);
            let wake = Arc::new(Notify::new());
            let observers = Arc::new(std::sync::Mutex::new(Vec::new()));
            feeds.insert(
                org_id.to_string(),
                Feed {
                    events: tx.clone(),
                    wake: wake.clone(),
                    observers: observers.clone(),
                },
            );
            tokio::spawn(follow(
                self.db.clone(),
                org_id.to_string(),
                head,
                tx,
                wake,
                observers,
            ));
        }
        Ok(&feeds[org_id])
    }
}

/// Wakes this node's readers when any node commits a change (PostgreSQL).
/// Reconnects after a drop; what was missed meanwhile the poll picks up.
async fn listen(hub: std::sync::Weak<StreamHub>) {
    loop {
        let Some(url) = hub.upgrade().map(|h| h.db.url.clone()) else {
            return;
        };
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if listener.listen(log::NOTIFY_CHANNEL).await.is_ok() {
                    while let Ok(note) = listener.recv().await {
                        let Some(hub) = hub.upgrade() else { return };
                        hub.wake(note.payload()).await;
                    }
                }
                tracing::warn!("lost the PostgreSQL listener; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen on PostgreSQL"),
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn follow(
    db: Db,
    org_id: String,
    mut cursor: i64,
    tx: broadcast::Sender<Arc<Shared>>,
    wake: Arc<Notify>,
    observers: Arc<std::sync::Mutex<Vec<Observer>>>,
) {
    loop {
        let _ = tokio::time::timeout(POLL, wake.notified()).await;
        loop {
            match log::read_since(&db, &org_id, cursor, 500).await {
                Ok(events) if events.is_empty() => break,
                Ok(events) => {
                    super::metrics::METRICS.events.add(events.len() as u64);
                    let observing = observers.lock().unwrap().clone();
                    for event in events {
                        cursor = event.seq;
                        for observe in &observing {
                            observe(&event);
                        }
                        // No subscriber is fine: sockets read the log when they connect.
                        let frame = serde_json::to_string(&crate::model::StreamFrame::Event {
                            event: event.clone(),
                        })
                        .unwrap_or_default();
                        let _ = tx.send(Arc::new(Shared { event, frame }));
                    }
                }
                Err(_) => {
                    tokio::time::sleep(POLL).await;
                    break;
                }
            }
        }
    }
}
