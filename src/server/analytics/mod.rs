//! Analytics: proof of play stored as it was and folded into hourly and
//! daily rollups as it arrives (`ingest`), uptime from status intervals
//! closed into the same kind of rollups (`uptime`), reports that read the
//! coarsest rows that answer exactly (`report`), and the activity history
//! from the event log (`activity`), and the Analytics page's snapshot of
//! them (`page`). REST in `rest`.

pub mod activity;
pub mod ingest;
pub mod page;
pub mod report;
mod rest;
mod sql;
pub mod uptime;

use axum::{extract::FromRef, routing::get, Router};

pub use rest::{plays_csv, uptime_csv, AnalyticsDoc};

use crate::server::core::Core;

/// The analytics and activity REST API.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Core: FromRef<S>,
{
    Router::new()
        .route("/api/v1/analytics/plays", get(rest::plays))
        .route("/api/v1/analytics/uptime", get(rest::uptime))
        .route("/api/v1/activity", get(rest::list_activity))
}
