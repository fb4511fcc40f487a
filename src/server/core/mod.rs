//! What every domain stands on, naming none of them: the database, ids, the
//! change path, op receipts, system events, the event log, the stream hub,
//! the operator stream, the HTTP request context, and the process's metrics. Everything above
//! (`auth`, `library`, `devices`, `displays`, `health`, and the composition
//! files) may import from here; nothing here imports from above.

pub mod apidoc;
pub mod attempts;
pub mod change;
pub mod credential;
pub mod db;
pub mod http;
pub mod hub;
pub mod ids;
pub mod log;
pub mod metrics;
pub mod receipts;
pub mod stream;
pub mod system;

use std::{path::PathBuf, sync::Arc};

pub use db::{now_ms, Backend, Db, ExecuteWrite, WriteTx};
pub use http::CurrentUser;
pub use ids::new_id;

use super::config::Settings;

/// The state every handler and task needs, whatever its domain.
#[derive(Clone)]
pub struct Core {
    pub db: Db,
    pub hub: Arc<hub::StreamHub>,
    pub settings: Arc<Settings>,
    /// Uploaded media (one file per sha256) and display screenshots.
    pub media_dir: PathBuf,
    /// What each kind of change does (the domains, wired in `server::changes`).
    changes: Arc<dyn change::Dispatch>,
}

impl Core {
    pub fn new(
        db: Db,
        settings: Arc<Settings>,
        media_dir: PathBuf,
        changes: Arc<dyn change::Dispatch>,
    ) -> Self {
        Self {
            hub: hub::StreamHub::new(db.clone()),
            db,
            settings,
            media_dir,
            changes,
        }
    }
}
