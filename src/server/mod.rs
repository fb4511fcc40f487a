//! Everything that runs only on the server: start-up, database, auth, the change
//! path, the event log and its stream, and the demo data.

pub mod alerts;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod config;
pub mod content;
pub mod db;
pub mod demo;
pub mod devices;
pub mod gateway;
pub mod health;
pub mod hub;
pub mod library;
pub mod loadtest;
pub mod log;
pub mod media;
pub mod playlists;
pub mod rest;
pub mod simulator;
pub mod state;
pub mod stream;
#[cfg(test)]
mod tests;
pub mod tokens;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::StatusCode,
    middleware,
    response::IntoResponse,
    routing::{get, post},
    Router,
};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;

use crate::app::{shell, App};
use cli::{GlobalArgs, ServeArgs};
use state::AppState;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/api/v1/stream", get(stream::handler))
        .route("/api/v1/events", get(stream::poll_handler))
        .route("/device/ws", get(gateway::handler))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(rest::routes())
        .merge(library::routes())
        .merge(health::routes())
        .leptos_routes_with_context(&state, routes, || (), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), auth::gate))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(&state.db.pool).await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

pub async fn serve(global: &GlobalArgs, args: ServeArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIZORA_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .init();
    let file = config::load(&global.config)?;
    let leptos_options = config::leptos_options(&file.site, args.bind)?;
    let addr = leptos_options.site_addr;
    let db = global.open_db().await?;
    let first = demo::first_start(&db, args.demo).await?;
    let state = AppState {
        leptos_options,
        hub: hub::StreamHub::new(db.clone()),
        db,
        settings: Arc::new(file.vizora),
        login_limiter: Arc::default(),
        media_dir: global.data_dir.join("media"),
        gateway: Arc::default(),
    };
    // Temp files of uploads a previous run did not finish.
    media::clear_temp(&state.media_dir).await;
    tokio::spawn(housekeeping(state.clone()));
    tokio::spawn(gateway::fleet_ticker(state.clone()));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!(
        "Vizora is serving http://{addr} (database {})",
        global.database_url()
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
    if args.demo && std::env::var("VIZORA_SIMULATE").map_or(true, |v| v != "off") {
        start_demo_fleet(&state, addr).await;
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// Drives the demo fleet (the displays tagged `simulated`) with the
/// simulator, over the real protocol against this server, so statuses move.
async fn start_demo_fleet(state: &AppState, addr: std::net::SocketAddr) {
    let org: Option<(String,)> =
        sqlx::query_as("SELECT id FROM organizations ORDER BY created_at, id LIMIT 1")
            .fetch_optional(&state.db.pool)
            .await
            .ok()
            .flatten();
    let Some((org_id,)) = org else { return };
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE org_id = $1 AND tags LIKE $2")
            .bind(&org_id)
            .bind(format!("%\"{}\"%", simulator::SIM_TAG))
            .fetch_one(&state.db.pool)
            .await
            .unwrap_or(0);
    if count == 0 {
        return;
    }
    match simulator::enroll(&state.db, &org_id, count as usize).await {
        Ok(displays) => {
            println!("demo: {} simulated displays connect to this server (VIZORA_SIMULATE=off stops them)", displays.len());
            let host = if addr.ip().is_unspecified() {
                std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
            } else {
                addr
            };
            simulator::spawn(
                &format!("http://{host}"),
                displays,
                simulator::SimOptions::default(),
            );
        }
        Err(e) => tracing::warn!(error = %e, "could not start the demo fleet"),
    }
}

/// Prunes the event log to its retention and old op receipts, every ten minutes.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Ok(n) = log::prune(&state.db, state.settings.event_retention).await {
            if n > 0 {
                tracing::info!(events = n, "pruned the event log");
            }
        }
        let _ = changes::prune_receipts(&state).await;
        let _ = health::prune_metrics(&state.db).await;
        if let Ok(n) = library::sweep_media(&state).await {
            if n > 0 {
                tracing::info!(files = n, "removed media no item refers to");
            }
        }
    }
}
