//! What every handler shares, built once at start: the core (database, hub,
//! settings, the change path) and each domain's own state. Handlers take the
//! part they need (`State<Core>`, `State<Arc<Gateway>>`) through `FromRef`.

use std::{path::PathBuf, sync::Arc};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{
    auth::LoginLimiter,
    changes::Changes,
    config::Settings,
    core::{Core, Db},
    displays::Gateway,
    health::screenshots::Screenshots,
};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub core: Core,
    /// Displays: pairing codes, live connections, heartbeats.
    pub gateway: Arc<Gateway>,
    pub login_limiter: Arc<LoginLimiter>,
}

impl AppState {
    /// Wires the domains together: the gateway hands screenshots to health,
    /// and the change path reaches every domain through `Changes`.
    pub fn new(
        leptos_options: LeptosOptions,
        db: Db,
        settings: Arc<Settings>,
        media_dir: PathBuf,
    ) -> Self {
        let gateway = Arc::new(Gateway::new(Arc::new(Screenshots)));
        let changes = Arc::new(Changes {
            gateway: gateway.clone(),
        });
        Self {
            leptos_options,
            core: Core::new(db, settings, media_dir, changes),
            gateway,
            login_limiter: Arc::default(),
        }
    }
}
