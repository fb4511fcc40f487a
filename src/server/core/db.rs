//! The database: one sqlx `Any` pool over SQLite (embedded default, WAL,
//! `synchronous=FULL` so an acknowledged change survives a crash, 16 MiB of
//! page cache a reading or writing connection instead of the default 2: a
//! year's report or a burst of plays touches more pages than that; the
//! stream's connections keep the default) or PostgreSQL
//! (several nodes). Queries use `$N` placeholders, which both accept.
//!
//! Writes take turns. SQLite has one write lock, and a writer that waits for
//! it polls (the busy handler) with no notion of who came first: a writer
//! that commits back to back (the plays writer under a fleet's load) wins it
//! again and again while an operator's change waits for seconds. So on SQLite
//! every write takes the node's [`Turn`] first, a first-come first-served
//! queue, and holds it until it commits; the lock is then always free when a
//! writer asks for it. PostgreSQL locks rows, not the database: there the
//! turn is free and writers run side by side.

use std::{
    ops::{Deref, DerefMut},
    path::Path,
    str::FromStr,
    sync::Arc,
};

use futures::future::BoxFuture;
use sqlx::{
    any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyQueryResult},
    query::Query,
    Any, AnyPool, Executor, Transaction,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Rows a multi-row statement writes (plays, rollups, names, statuses,
/// events, deploy states). Few enough that binding stays cheap: sqlx's
/// SQLite driver looks each `$n` up among all of a statement's parameters, so
/// a statement's bind time grows with the square of its parameters (400 rows
/// of 8 spent most of a backfill there; 32 rows cost next to nothing). Many
/// enough that a burst of a thousand rows costs a few dozen round trips
/// instead of a thousand.
pub const ROWS_PER_STATEMENT: usize = 32;

/// Displays a fleet-wide batch writes to a statement (statuses, last-seen
/// times, deploy states, metrics samples, their events): more than
/// [`ROWS_PER_STATEMENT`], because while a whole fleet connects each round
/// trip to SQLite's worker thread costs more than the binding (measured with
/// `vizora loadtest --displays 19000`: the storm settled in 23 s at 100 rows
/// a statement, 39 s at 32).
pub const FLEET_ROWS_PER_STATEMENT: usize = 100;

/// Parameters a fleet-wide statement binds at most: a wide row (a deploy
/// state binds 8, a switch 11) takes fewer rows to a statement, since the
/// binding cost grows with the square of the parameters.
const FLEET_PARAMS_PER_STATEMENT: usize = 300;

/// Rows of `width` parameters a fleet-wide statement takes.
pub const fn fleet_rows(width: usize) -> usize {
    let rows = FLEET_PARAMS_PER_STATEMENT / width;
    if rows == 0 {
        1
    } else if rows > FLEET_ROWS_PER_STATEMENT {
        FLEET_ROWS_PER_STATEMENT
    } else {
        rows
    }
}

/// Displays a periodic fleet-wide write (last-seen times, metrics samples)
/// covers in one transaction. The write turn is first come, first served, so
/// a status change that arrives while 19,000 rows are written waits for the
/// transaction in hand, not for the whole fleet's.
pub const FLEET_ROWS_PER_TURN: usize = 2 * FLEET_ROWS_PER_STATEMENT;

/// `($first, …, $first+n-1)`: one row's marks in a multi-row statement.
pub fn marks(first: usize, n: usize) -> String {
    format!("({})", list(first, n))
}

/// `$first, …, $first+n-1`: the marks of an `IN (…)` list.
pub fn list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `rows` rows of `width` marks each, numbered from `$first`, for `VALUES`.
pub fn rows(first: usize, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| marks(first + r * width, width))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Clone)]
pub struct Db {
    /// Reads (and PostgreSQL's writes).
    pub pool: AnyPool,
    /// Writes, in their turn. On SQLite a pool of its own with the one
    /// connection that writes, so a writer that has its turn never waits
    /// for a connection behind a crowd of readers (a fleet connecting at
    /// once reads a great deal) while everyone else waits for the turn.
    /// On PostgreSQL the same pool as reads.
    write_pool: AnyPool,
    /// The stream's reads of the event log (the hub's reader per
    /// organization, an operator's catch-up). On SQLite a pool of its own,
    /// so the events that show a fleet coming up reach operators while the
    /// fleet's own reads (every display's hello reads its manifest) queue
    /// for the shared pool. On PostgreSQL the same pool as reads.
    pub stream_pool: AnyPool,
    pub backend: Backend,
    /// Kept for connections outside the pool (the PostgreSQL listener).
    pub url: String,
    /// The write queue (SQLite only; see the module's comment).
    writes: Option<Arc<Turns>>,
}

/// The write queue: tokio's mutex hands itself to waiters in the order they
/// asked, and a bulk writer (a fleet's deploy states, plays, samples,
/// last-seen times: work that can wait a moment) asks only while no other
/// writer waits. So an operator's change or a status change waits for at
/// most the bulk transactions already in the queue (one per bulk writer),
/// never behind a connect storm's whole backlog of them.
struct Turns {
    lock: Arc<Mutex<()>>,
    /// Writers waiting for a turn that bulk writers let go first.
    urgent: std::sync::atomic::AtomicUsize,
    /// Wakes the bulk writers when no urgent writer waits.
    clear: tokio::sync::Notify,
}

impl Turns {
    /// Resolves once no urgent writer waits.
    async fn none_urgent(&self) {
        loop {
            let clear = self.clear.notified();
            tokio::pin!(clear);
            clear.as_mut().enable();
            if self.urgent.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            clear.await;
        }
    }
}

/// Counts an urgent writer as waiting while it lives.
struct Urgent(Arc<Turns>);

impl Urgent {
    fn new(turns: Arc<Turns>) -> Self {
        turns
            .urgent
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Urgent(turns)
    }
}

impl Drop for Urgent {
    fn drop(&mut self) {
        if self
            .0
            .urgent
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1
        {
            self.0.clear.notify_waiters();
        }
    }
}

/// A writer's turn: while it is held no other write of this node runs. Taken
/// before a connection, so writers waiting their turn hold none.
#[must_use]
pub struct Turn {
    _guard: Option<OwnedMutexGuard<()>>,
    /// When the turn began (its hold time goes to the metrics).
    since: std::time::Instant,
    /// The code that asked for it, named in the log when it held the turn long.
    by: &'static std::panic::Location<'static>,
}

/// A write turn held this long is logged with the code that held it: every
/// other writer of the node waited that long.
const LONG_TURN: std::time::Duration = std::time::Duration::from_millis(250);

impl Drop for Turn {
    fn drop(&mut self) {
        if self._guard.is_some() {
            let held = self.since.elapsed();
            super::metrics::METRICS
                .write_turn_held_seconds
                .observe_duration(held);
            if held >= LONG_TURN {
                tracing::warn!(held_ms = held.as_millis() as u64, by = %self.by, "a write turn was held long");
            }
        }
    }
}

/// A write transaction and the turn it holds until it commits or rolls back
/// (or is dropped, which rolls back). Use it as the transaction it derefs to.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Turn,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = Transaction<'static, Any>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// `sqlite://DATA_DIR/vizora.db` unless a URL is given.
pub fn default_url(data_dir: &Path) -> String {
    format!("sqlite://{}/vizora.db", data_dir.display())
}

/// A single write statement run on the pool in its turn:
/// `sqlx::query("DELETE …").bind(x).execute_write(db)`.
pub trait ExecuteWrite<'q> {
    fn execute_write<'a>(self, db: &'a Db) -> BoxFuture<'a, Result<AnyQueryResult, sqlx::Error>>
    where
        'q: 'a;
}

impl<'q> ExecuteWrite<'q> for Query<'q, Any, AnyArguments<'q>> {
    #[track_caller]
    fn execute_write<'a>(self, db: &'a Db) -> BoxFuture<'a, Result<AnyQueryResult, sqlx::Error>>
    where
        'q: 'a,
    {
        let turn = db.turn();
        Box::pin(async move {
            let _turn = turn.await;
            self.execute(&db.write_pool).await
        })
    }
}

impl Db {
    /// Waits for this node's turn to write (at once on PostgreSQL). Hold it
    /// across a single write statement; a transaction takes it with
    /// [`Db::begin_write`].
    /// (Not an `async fn`, so the caller it records is the one that asked.)
    #[track_caller]
    pub fn turn(&self) -> impl std::future::Future<Output = Turn> + Send + 'static {
        self.turn_as(false)
    }

    /// [`Db::turn`] for a bulk writer: asked for only while no other writer
    /// waits (see [`Turns`]).
    #[track_caller]
    pub fn bulk_turn(&self) -> impl std::future::Future<Output = Turn> + Send + 'static {
        self.turn_as(true)
    }

    #[track_caller]
    fn turn_as(&self, bulk: bool) -> impl std::future::Future<Output = Turn> + Send + 'static {
        let by = std::panic::Location::caller();
        let queue = self.writes.clone();
        async move {
            let asked = std::time::Instant::now();
            match queue {
                Some(queue) => {
                    let _waiting = if bulk {
                        queue.none_urgent().await;
                        None
                    } else {
                        Some(Urgent::new(queue.clone()))
                    };
                    let guard = queue.lock.clone().lock_owned().await;
                    super::metrics::METRICS
                        .write_turn_wait_seconds
                        .observe_duration(asked.elapsed());
                    Turn {
                        _guard: Some(guard),
                        since: std::time::Instant::now(),
                        by,
                    }
                }
                None => Turn {
                    _guard: None,
                    since: asked,
                    by,
                },
            }
        }
    }

    /// Opens a transaction that writes, in its turn.
    #[track_caller]
    pub fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<WriteTx, sqlx::Error>> + Send + '_ {
        self.begin_write_as(false)
    }

    /// [`Db::begin_write`] for a bulk writer (see [`Db::bulk_turn`]).
    #[track_caller]
    pub fn begin_bulk_write(
        &self,
    ) -> impl std::future::Future<Output = Result<WriteTx, sqlx::Error>> + Send + '_ {
        self.begin_write_as(true)
    }

    #[track_caller]
    fn begin_write_as(
        &self,
        bulk: bool,
    ) -> impl std::future::Future<Output = Result<WriteTx, sqlx::Error>> + Send + '_ {
        let turn = self.turn_as(bulk);
        async move {
            let turn = turn.await;
            let tx = self.write_pool.begin().await?;
            Ok(WriteTx { tx, _turn: turn })
        }
    }

    /// A read-only transaction whose every query sees one committed state
    /// (SQLite's WAL snapshot, taken at its first read; PostgreSQL's REPEATABLE
    /// READ): a report and the stream position read in it agree exactly, so
    /// a client adds the events after that position and counts nothing twice.
    pub async fn snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?;
        }
        Ok(tx)
    }

    pub async fn connect(url: &str) -> Result<Db, String> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(format!(
                "unsupported database URL '{url}': use sqlite://PATH or postgres://..."
            ));
        };
        let url = if backend == Backend::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or(path);
            if let Some(parent) = Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
            }
            if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            }
        } else {
            url.to_string()
        };
        let options =
            AnyConnectOptions::from_str(&url).map_err(|e| format!("database URL: {e}"))?;
        // `cache_kib`: each SQLite connection's own page cache.
        let pool_of = |connections: u32, cache_kib: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(
                                format!(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                     PRAGMA cache_size = -{cache_kib}; PRAGMA temp_store = MEMORY;"
                                )
                                .as_str(),
                            )
                            .await?;
                        }
                        Ok(())
                    })
                })
        };
        let open = |e: sqlx::Error| format!("cannot open the database: {e}");
        let (pool, write_pool, stream_pool) = match backend {
            Backend::Sqlite => (
                pool_of(8, 16_384)
                    .connect_with(options.clone())
                    .await
                    .map_err(open)?,
                pool_of(1, 16_384)
                    .connect_with(options.clone())
                    .await
                    .map_err(open)?,
                // The stream reads the log's newest pages: SQLite's default
                // 2 MiB holds them. A large cache there only grew with every
                // event a connect storm wrote (the server's memory per
                // display, measured by `vizora loadtest`).
                pool_of(2, 2_048)
                    .connect_with(options)
                    .await
                    .map_err(open)?,
            ),
            Backend::Postgres => {
                let pool = pool_of(16, 16_384)
                    .connect_with(options)
                    .await
                    .map_err(open)?;
                (pool.clone(), pool.clone(), pool)
            }
        };
        let writes = (backend == Backend::Sqlite).then(|| {
            Arc::new(Turns {
                lock: Arc::new(Mutex::new(())),
                urgent: Default::default(),
                clear: Default::default(),
            })
        });
        Ok(Db {
            pool,
            write_pool,
            stream_pool,
            backend,
            url,
            writes,
        })
    }

    pub async fn migrate(&self) -> Result<(), String> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| format!("migrations failed: {e}"))
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    use super::*;

    /// A fresh SQLite database with one table `t (n)`.
    async fn with_table() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&default_url(dir.path())).await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(&db.pool)
            .await
            .unwrap();
        (dir, db)
    }

    /// The plays writer commits back to back; an operator's write that asks
    /// meanwhile goes next, after at most the one write holding the turn
    /// (SQLite's own busy handler promises no such thing).
    #[tokio::test]
    async fn a_writer_waiting_goes_next_behind_one_that_writes_back_to_back() {
        let (_dir, db) = with_table().await;
        let committed = Arc::new(AtomicI64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let busy = tokio::spawn({
            let (db, committed, stop) = (db.clone(), committed.clone(), stop.clone());
            async move {
                while !stop.load(Ordering::SeqCst) {
                    let mut tx = db.begin_write().await.unwrap();
                    for n in 0..50 {
                        sqlx::query("INSERT INTO t (n) VALUES ($1)")
                            .bind(n)
                            .execute(&mut **tx)
                            .await
                            .unwrap();
                    }
                    tx.commit().await.unwrap();
                    committed.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        while committed.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        for _ in 0..20 {
            // Asked and queued in one poll: nothing runs in between.
            let asked = committed.load(Ordering::SeqCst);
            let mut tx = db.begin_write().await.unwrap();
            let ahead = committed.load(Ordering::SeqCst) - asked;
            assert!(ahead <= 1, "{ahead} writes went first");
            sqlx::query("INSERT INTO t (n) VALUES (-1)")
                .execute(&mut **tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        busy.await.unwrap();
        let marks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE n = -1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(marks, 20);
    }

    /// A bulk writer that asks while another writer waits for the turn
    /// lets it go first, and takes the turn once no one else waits.
    #[tokio::test]
    async fn a_bulk_writer_lets_a_waiting_writer_go_first() {
        let (_dir, db) = with_table().await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = db.turn().await;
        let write = |bulk: bool, n: i64| {
            let (db, order) = (db.clone(), order.clone());
            tokio::spawn(async move {
                let _turn = if bulk {
                    db.bulk_turn().await
                } else {
                    db.turn().await
                };
                order.lock().unwrap().push(n);
            })
        };
        let waiting = || db.writes.as_ref().unwrap().urgent.load(Ordering::SeqCst);
        let first = write(false, 1);
        while waiting() < 1 {
            tokio::task::yield_now().await;
        }
        // Asks before the third, goes after it: first come, first served
        // would give 1, 2, 3.
        let bulk = write(true, 2);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let third = write(false, 3);
        while waiting() < 2 {
            tokio::task::yield_now().await;
        }
        drop(held);
        for w in [first, bulk, third] {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![1, 3, 2]);
        // With no one waiting, a bulk writer has the turn at once.
        let turn = tokio::time::timeout(std::time::Duration::from_secs(5), db.bulk_turn()).await;
        assert!(turn.is_ok());
    }

    /// Writers waiting for their turn hold no connection: however many
    /// queue up behind a long write, reads still get one.
    #[tokio::test]
    async fn writers_waiting_their_turn_leave_the_pool_to_readers() {
        let (_dir, db) = with_table().await;
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO t (n) VALUES (1)")
            .execute(&mut **tx)
            .await
            .unwrap();
        let waiting: Vec<_> = (0..20)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move {
                    sqlx::query("INSERT INTO t (n) VALUES ($1)")
                        .bind(n + 2)
                        .execute_write(&db)
                        .await
                        .unwrap();
                })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM t").fetch_one(&db.pool),
        )
        .await
        .expect("a read gets a connection while 20 writers wait")
        .unwrap();
        assert_eq!(read, 0, "the open write is not committed yet");
        tx.commit().await.unwrap();
        for w in waiting {
            w.await.unwrap();
        }
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(rows, 21);
    }
}
