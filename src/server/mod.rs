//! Everything that runs only on the server, as a core and one folder per
//! domain, imported in one direction only:
//!
//! ```text
//! core ← auth ← library ← devices ← schedules ← analytics ← displays ← health
//!      ← changes, router, tasks, orgs, tools
//! ```
//!
//! `core/` (database, ids, the change path, receipts, system events, the event
//! log, the stream hub and operator stream, the HTTP request context) names no
//! domain. Each domain exposes `apply(ctx, change)` for its changes,
//! `routes()` and, where it has REST, its part of the OpenAPI document. The
//! files at this level compose them: `changes.rs` dispatches each `Change` to
//! its domain, `router.rs` merges the routes, `tasks.rs` runs the ticks,
//! `state.rs` wires the domains' state, `orgs.rs` makes organizations.
//! `make lint` checks the direction (`scripts/layers.py`).

pub mod analytics;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod compress;
pub mod config;
pub mod core;
pub mod devices;
pub mod displays;
pub mod headers;
pub mod health;
pub mod library;
pub mod listen;
pub mod orgs;
pub mod router;
pub mod schedules;
pub mod state;
pub mod tasks;
#[cfg(test)]
mod tests;
pub mod tools;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use state::AppState;

/// What `vizora serve` was told.
pub struct Serve {
    /// The settings file.
    pub config: PathBuf,
    /// Media (and the SQLite database, by default) live here.
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Overrides the settings file's address.
    pub bind: Option<SocketAddr>,
    /// On an empty database, also load (and drive) a demo fleet of this many displays.
    pub demo: Option<usize>,
}

/// Migrates, seeds a first start, and serves until Ctrl-C.
pub async fn serve(args: Serve) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIZORA_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .init();
    let file = config::load(&args.config)?;
    let leptos_options = config::leptos_options(&file.site, args.bind)?;
    let addr = leptos_options.site_addr;
    let db = core::Db::connect(&args.database_url).await?;
    db.migrate().await?;
    let first = tools::demo::first_start(&db, args.demo).await?;
    let state = AppState::new(
        leptos_options,
        db,
        Arc::new(file.vizora),
        args.data_dir.join("media"),
    );
    // Temp files of uploads a previous run did not finish.
    library::media::clear_temp(&state.core.media_dir).await;
    if let Some(first) = first.as_ref().filter(|f| f.displays > 0) {
        // The demo's signage day: images, playlists, dayparts, schedules.
        let org = orgs::find(&state.core.db, None).await?;
        tools::demo_day::seed(&state.core, &org.0, &first.email).await?;
    }
    tokio::spawn(tasks::housekeeping(state.clone()));
    tokio::spawn(tasks::fleet_ticker(state.clone()));
    let listener = listen::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!(
        "Vizora is serving http://{addr} (database {})",
        args.database_url
    );
    if let Some(first) = first {
        println!();
        println!(
            "First start: created the organization “{}” and its admin account.",
            first.org_name
        );
        println!("  email:    {}", first.email);
        println!("  password: {}", first.password);
        if first.displays > 0 {
            println!("  demo fleet: {} displays", first.displays);
        }
        println!("This login is printed only now; add more users with `vizora user add`.");
        println!();
    }
    if args.demo.is_some() && std::env::var("VIZORA_SIMULATE").map_or(true, |v| v != "off") {
        tools::demo::start_fleet(&state.core, addr).await;
    }
    if !state.core.settings.metrics_address.is_empty() {
        serve_metrics(&state.core.settings.metrics_address, state.core.db.clone()).await?;
    }
    let bounds = listen::Bounds {
        per_address: state.core.settings.connections_per_address.max(1),
        header_timeout: std::time::Duration::from_secs(
            state.core.settings.header_timeout_seconds.max(1),
        ),
    };
    listen::serve(
        listener,
        router::router(state),
        bounds,
        listen::shutdown_signal(),
    )
    .await
    .map_err(|e| e.to_string())
}

/// `/metrics` for anyone who can reach `address` (and nothing else there).
async fn serve_metrics(address: &str, db: core::Db) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address} for metrics: {e}"))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let db = db.clone();
            async move { core::metrics::exposition(&db) }
        }),
    );
    println!("Metrics at http://{address}/metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}
