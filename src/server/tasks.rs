//! What runs on a timer, across domains: the fleet tick (derived statuses,
//! last-seen times, metric samples, alert rules) and housekeeping (pruning
//! the log, receipts and metrics; sweeping unused media).

use std::time::Duration;

use super::{
    analytics::{ingest, uptime},
    core::{attempts, log, now_ms, receipts},
    displays::{fleet, pairing},
    health::{evaluator, metrics},
    library::sweep,
    state::AppState,
};

/// Starts the status writer ([`status_writer`]), then once a second: writes
/// last-seen times every ten seconds and metric samples every
/// `metrics-sample-seconds`, and evaluates the alert rules.
pub async fn fleet_ticker(state: AppState) {
    let (core, gateway) = (&state.core, &state.gateway);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n: u64 = 0;
    let mut alerts = evaluator::Tracker::default();
    // Every paired display's uptime is tracked from the first start on.
    if let Err(e) = uptime::track_all(&core.db, now_ms()).await {
        tracing::warn!(error = %e, "could not start the displays' status intervals");
    }
    fleet::track_paired(core, gateway).await;
    tokio::spawn(status_writer(state.clone()));
    let interval_ms = (core.settings.heartbeat_seconds.max(1) * 1000) as i64;
    loop {
        tick.tick().await;
        n += 1;
        if n.is_multiple_of(10) {
            fleet::save_last_seen(core, gateway).await;
            gateway.renew_due(now_ms());
        }
        // One copy of the fleet per second serves the samples and the rules.
        let beats = gateway.fleet();
        if n.is_multiple_of(core.settings.metrics_sample_seconds.max(1)) {
            if let Err(e) = metrics::sample(&core.db, &beats, now_ms(), interval_ms).await {
                tracing::warn!(error = %e, "could not write metric samples");
            }
        }
        if let Err(e) = evaluator::evaluate(core, &mut alerts, &beats, interval_ms).await {
            tracing::warn!(error = %e, "could not evaluate alert rules");
        }
    }
}

/// Writes derived status changes as they happen: a heartbeat that changes a
/// status wakes it at once, and a tick each second catches displays that
/// went quiet. A task of its own, so a status never waits for the once-a-
/// second work of the fleet ticker (rules, samples).
async fn status_writer(state: AppState) {
    let (core, gateway) = (&state.core, &state.gateway);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = gateway.status_changed() => {}
        }
        let interval_ms = (core.settings.heartbeat_seconds.max(1) * 1000) as i64;
        fleet::write_statuses(core, gateway, interval_ms).await;
    }
}

/// Prunes the event log to its retention, raw plays and status intervals
/// past theirs, old op receipts, metric samples,
/// lapsed pairing codes and day-old attempts, and removes unused media,
/// every ten minutes.
pub async fn housekeeping(state: AppState) {
    let core = &state.core;
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let activity_ms = core.settings.activity_retention_days * 24 * 3_600_000;
        if let Ok(n) = log::prune(
            &core.db,
            core.settings.event_retention,
            now_ms() - activity_ms,
        )
        .await
        {
            if n > 0 {
                tracing::info!(events = n, "pruned the event log");
            }
        }
        let _ = receipts::prune(&core.db).await;
        let _ = pairing::prune(&core.db).await;
        let _ = attempts::prune(&core.db, now_ms() - 24 * 3_600_000).await;
        let _ = metrics::prune(&core.db).await;
        let _ = ingest::expire(&core.db, core.settings.analytics_retention_days).await;
        if let Ok(n) = sweep::sweep_media(core).await {
            if n > 0 {
                tracing::info!(files = n, "removed media no item refers to");
            }
        }
    }
}
