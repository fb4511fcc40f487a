//! The database: one sqlx `Any` pool over SQLite (embedded default, WAL,
//! `synchronous=FULL` so an acknowledged change survives a crash, 16 MiB of
//! page cache a connection instead of the default 2: a year's report or a
//! burst of plays touches more pages than that) or PostgreSQL
//! (several nodes). Queries use `$N` placeholders, which both accept.

use std::{path::Path, str::FromStr};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyPool, Executor,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Kept for connections outside the pool (the PostgreSQL listener).
    pub url: String,
}

/// `sqlite://DATA_DIR/vizora.db` unless a URL is given.
pub fn default_url(data_dir: &Path) -> String {
    format!("sqlite://{}/vizora.db", data_dir.display())
}

impl Db {
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
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| format!("cannot open the database: {e}"))?;
        Ok(Db { pool, backend, url })
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
