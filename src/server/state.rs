//! What every handler shares.

use std::{path::PathBuf, sync::Arc};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{auth::LoginLimiter, config::Settings, db::Db, gateway::Gateway, hub::StreamHub};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub hub: Arc<StreamHub>,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<LoginLimiter>,
    /// Displays: pairing codes, live connections, heartbeats (`server::gateway`).
    pub gateway: Arc<Gateway>,
    /// Uploaded media, one file per sha256 (`server::media`).
    pub media_dir: PathBuf,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
