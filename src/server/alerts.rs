//! Alert rules and the alerts they raise.
//!
//! The gateway's ticker calls [`evaluate`] every second with what it knows of
//! each display (status, metrics, recent errors). Each rule's condition is
//! checked per display; a condition that has held for the rule's `minutes`
//! raises an alert, and an open alert whose condition cleared is resolved.
//! Both are system events through the log, like status changes; operators
//! acknowledge with an op. Conditions with a measurement clear with a margin
//! (hysteresis), so a reading hovering at the threshold does not flap.

use std::collections::HashMap;

use sqlx::{any::AnyRow, Any, Row, Transaction};

use super::{
    changes::check_version,
    db::{new_id, now_ms, Db},
    gateway::Beat,
    log,
    state::AppState,
};
use crate::{
    error::AppError,
    model::{
        Alert, AlertKind, AlertRule, AlertsSnapshot, DeviceStatus, EventBody, Metrics, RulePatch,
        Severity,
    },
};

/// How far back below (temperature) or above (storage) the threshold a reading
/// must come before the alert resolves.
const MARGIN: f64 = 2.0;

/// What the evaluator knows of one display at one instant.
pub struct Observation<'a> {
    pub now: i64,
    pub status: DeviceStatus,
    /// When the display went offline (its last beat plus the offline window),
    /// if it ever beat.
    pub offline_since: Option<i64>,
    pub metrics: &'a Metrics,
    /// When its recent player errors happened, oldest first.
    pub errors: &'a [i64],
}

fn minutes_ms(minutes: f64) -> i64 {
    (minutes * 60_000.0).round() as i64
}

fn errors_in_window(rule: &AlertRule, o: &Observation) -> usize {
    let window = minutes_ms(rule.minutes.max(1.0));
    o.errors.iter().filter(|&&at| o.now - at <= window).count()
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The rule's condition holds for this display now: what was seen, in words.
pub fn breach(rule: &AlertRule, o: &Observation) -> Option<String> {
    let live = o.status != DeviceStatus::Offline;
    match rule.kind {
        AlertKind::Offline => (o.status == DeviceStatus::Offline).then(|| match o.offline_since {
            Some(since) => format!(
                "No heartbeat for {} min",
                ((o.now - since).max(0) / 60_000) + 1
            ),
            None => "Has not sent a heartbeat since the server started".into(),
        }),
        AlertKind::Temperature => {
            let t = o.metrics.temperature_c.filter(|_| live)?;
            (t > rule.threshold)
                .then(|| format!("{} °C, above {} °C", fmt_num(t), fmt_num(rule.threshold)))
        }
        AlertKind::Storage => {
            let free = o.metrics.storage_free_pct.filter(|_| live)?;
            (free < rule.threshold).then(|| {
                format!(
                    "{} % storage free, below {} %",
                    fmt_num(free),
                    fmt_num(rule.threshold)
                )
            })
        }
        AlertKind::Errors => {
            let n = errors_in_window(rule, o);
            (n as f64 >= rule.threshold).then(|| {
                format!(
                    "{n} player error{} in the last {} min",
                    if n == 1 { "" } else { "s" },
                    fmt_num(rule.minutes.max(1.0))
                )
            })
        }
    }
}

/// An open alert's condition is over. Readings must come back past the margin;
/// a display that is offline has no fresh readings, so its metric alerts wait.
pub fn cleared(rule: &AlertRule, o: &Observation) -> bool {
    let live = o.status != DeviceStatus::Offline;
    match rule.kind {
        AlertKind::Offline => live,
        AlertKind::Temperature => {
            live && o
                .metrics
                .temperature_c
                .is_some_and(|t| t <= rule.threshold - MARGIN)
        }
        AlertKind::Storage => {
            live && o
                .metrics
                .storage_free_pct
                .is_some_and(|f| f >= rule.threshold + MARGIN)
        }
        AlertKind::Errors => (errors_in_window(rule, o) as f64) < rule.threshold,
    }
}

#[derive(Debug, PartialEq)]
pub enum Step {
    Raise(String),
    Resolve,
    Hold,
}

/// One rule on one display: whether to raise, resolve or leave things. `since`
/// is when the condition was first seen holding (kept by the caller).
pub fn step(rule: &AlertRule, o: &Observation, open: bool, since: &mut Option<i64>) -> Step {
    if !rule.enabled {
        *since = None;
        return if open { Step::Resolve } else { Step::Hold };
    }
    if open {
        if cleared(rule, o) {
            *since = None;
            return Step::Resolve;
        }
        return Step::Hold;
    }
    match breach(rule, o) {
        Some(message) => {
            // Errors count within a window; the others must hold for `minutes`.
            let hold = if rule.kind == AlertKind::Errors {
                0
            } else {
                minutes_ms(rule.minutes)
            };
            let start = *since.get_or_insert(match rule.kind {
                AlertKind::Offline => o.offline_since.unwrap_or(o.now).min(o.now),
                _ => o.now,
            });
            if o.now - start >= hold {
                Step::Raise(message)
            } else {
                Step::Hold
            }
        }
        None => {
            *since = None;
            Step::Hold
        }
    }
}

/// The evaluator's memory between ticks: open alerts by (display, rule), and
/// since when each not-yet-raised condition has held.
#[derive(Default)]
pub struct Tracker {
    loaded: bool,
    open: HashMap<(String, String), (String, String)>,
    since: HashMap<(String, String), i64>,
    /// Displays this node evaluated last time. Only these resolve when they
    /// leave the fleet (unpaired, deleted): another node's are its own.
    seen: std::collections::HashSet<String>,
    /// Each organization's rules and when they were read.
    rules: HashMap<String, (Vec<AlertRule>, i64)>,
    /// `Gateway::rules_changed` when the rules were last read.
    rules_seen: u64,
}

/// How long rules read by the evaluator are used before it reads them again.
/// A change on this node is seen at once; one made on another node, within this.
const RULES_REFRESH_MS: i64 = 30_000;

impl Tracker {
    async fn rules(
        &mut self,
        state: &AppState,
        org_id: &str,
        now: i64,
    ) -> Result<&[AlertRule], AppError> {
        let changed = state
            .gateway
            .rules_changed
            .load(std::sync::atomic::Ordering::Relaxed);
        if changed != self.rules_seen {
            self.rules.clear();
            self.rules_seen = changed;
        }
        let fresh = self
            .rules
            .get(org_id)
            .is_some_and(|(_, at)| now - at < RULES_REFRESH_MS);
        if !fresh {
            let read = rules(&state.db, org_id).await?;
            self.rules.insert(org_id.to_string(), (read, now));
        }
        Ok(&self.rules[org_id].0)
    }
}

enum Write {
    Raise {
        device_id: String,
        rule: AlertRule,
        message: String,
    },
    Resolve {
        alert_id: String,
    },
}

/// One pass over the fleet: `fleet` is every tracked display with its beat.
pub async fn evaluate(
    state: &AppState,
    tracker: &mut Tracker,
    fleet: &[(String, Beat)],
    interval_ms: i64,
) -> Result<(), AppError> {
    if !tracker.loaded {
        for (org_id, alert) in open_alerts(&state.db).await? {
            tracker.open.insert(
                (alert.device_id.clone(), alert.rule_id.clone()),
                (org_id, alert.id),
            );
        }
        tracker.loaded = true;
    }
    let now = now_ms();
    let mut by_org: HashMap<&str, Vec<&(String, Beat)>> = HashMap::new();
    for entry in fleet {
        by_org
            .entry(entry.1.org_id.as_str())
            .or_default()
            .push(entry);
    }
    let mut writes: HashMap<String, Vec<Write>> = HashMap::new();
    for (org_id, displays) in &by_org {
        let rules = tracker.rules(state, org_id, now).await?.to_vec();
        for (device_id, beat) in displays {
            let status = super::gateway::derive_status(
                now,
                beat.last_beat,
                beat.has_content,
                beat.last_error,
                interval_ms,
            );
            let errors: Vec<i64> = beat.errors.iter().copied().collect();
            let o = Observation {
                now,
                status,
                offline_since: beat.last_beat.map(|b| b + 3 * interval_ms),
                metrics: &beat.metrics,
                errors: &errors,
            };
            for rule in &rules {
                let key = (device_id.clone(), rule.id.clone());
                let open = tracker.open.contains_key(&key);
                let mut since = tracker.since.get(&key).copied();
                let decided = step(rule, &o, open, &mut since);
                match since {
                    Some(at) => tracker.since.insert(key.clone(), at),
                    None => tracker.since.remove(&key),
                };
                let write = match decided {
                    Step::Raise(message) => Write::Raise {
                        device_id: device_id.clone(),
                        rule: rule.clone(),
                        message,
                    },
                    Step::Resolve => Write::Resolve {
                        alert_id: tracker.open[&key].1.clone(),
                    },
                    Step::Hold => continue,
                };
                writes.entry(org_id.to_string()).or_default().push(write);
            }
        }
    }
    // Alerts on displays no longer tracked (unpaired or deleted) resolve.
    let tracked: std::collections::HashSet<&str> =
        fleet.iter().map(|(id, _)| id.as_str()).collect();
    for ((device_id, _), (org_id, alert_id)) in &tracker.open {
        if !tracked.contains(device_id.as_str()) && tracker.seen.contains(device_id) {
            writes
                .entry(org_id.clone())
                .or_default()
                .push(Write::Resolve {
                    alert_id: alert_id.clone(),
                });
        }
    }
    tracker
        .since
        .retain(|(device_id, _), _| tracked.contains(device_id.as_str()));
    tracker.seen = tracked.iter().map(|id| id.to_string()).collect();
    for (org_id, writes) in writes {
        for chunk in writes.chunks(500) {
            for alert in record(state, &org_id, chunk).await? {
                let key = (alert.device_id.clone(), alert.rule_id.clone());
                if alert.is_open() {
                    tracker.open.insert(key, (org_id.clone(), alert.id));
                } else {
                    tracker.open.remove(&key);
                }
            }
        }
    }
    Ok(())
}

/// Raises and resolves in one transaction, each an event.
async fn record(state: &AppState, org_id: &str, writes: &[Write]) -> Result<Vec<Alert>, AppError> {
    let mut tx = state.db.pool.begin().await?;
    log::lock_stream(&mut tx, org_id).await?;
    let now = now_ms();
    let mut written = Vec::new();
    for write in writes {
        let alert = match write {
            Write::Raise {
                device_id,
                rule,
                message,
            } => raise(&mut tx, org_id, device_id, rule, message, now).await?,
            Write::Resolve { alert_id } => resolve(&mut tx, org_id, alert_id, now).await?,
        };
        if let Some(alert) = alert {
            written.push(alert);
        }
    }
    let bodies = written
        .iter()
        .map(|alert| EventBody::AlertUpserted {
            alert: alert.clone(),
        })
        .collect();
    super::changes::commit_system(state, org_id, tx, bodies).await?;
    Ok(written)
}

async fn raise(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    device_id: &str,
    rule: &AlertRule,
    message: &str,
    now: i64,
) -> Result<Option<Alert>, AppError> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM devices WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(device_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(device_name) = name else {
        return Ok(None);
    };
    let alert = Alert {
        id: new_id(),
        device_id: device_id.to_string(),
        device_name,
        rule_id: rule.id.clone(),
        kind: rule.kind,
        severity: rule.severity,
        message: message.to_string(),
        raised_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        version: 1,
    };
    sqlx::query(
        "INSERT INTO alerts (id, org_id, device_id, device_name, rule_id, kind, severity, message, raised_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&alert.id)
    .bind(org_id)
    .bind(&alert.device_id)
    .bind(&alert.device_name)
    .bind(&alert.rule_id)
    .bind(alert.kind.as_str())
    .bind(alert.severity.as_str())
    .bind(&alert.message)
    .bind(alert.raised_at)
    .bind(alert.version)
    .execute(&mut **tx)
    .await?;
    Ok(Some(alert))
}

async fn resolve(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    alert_id: &str,
    now: i64,
) -> Result<Option<Alert>, AppError> {
    let Some(mut alert) = find(tx, org_id, alert_id).await? else {
        return Ok(None);
    };
    if alert.resolved_at.is_some() {
        return Ok(Some(alert));
    }
    alert.resolved_at = Some(now);
    alert.version += 1;
    sqlx::query("UPDATE alerts SET resolved_at = $1, version = $2 WHERE org_id = $3 AND id = $4")
        .bind(now)
        .bind(alert.version)
        .bind(org_id)
        .bind(alert_id)
        .execute(&mut **tx)
        .await?;
    Ok(Some(alert))
}

/// An operator saw the alert (`AcknowledgeAlert`). It stays open until its
/// condition clears.
pub async fn acknowledge(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    alert_id: &str,
    by: &str,
) -> Result<EventBody, AppError> {
    let Some(mut alert) = find(tx, org_id, alert_id).await? else {
        return Err(AppError::NotFound {
            message: "This alert does not exist (any more).".into(),
        });
    };
    if let Some(who) = &alert.acknowledged_by {
        return Err(AppError::validation(format!(
            "This alert was already acknowledged by {who}."
        )));
    }
    if alert.resolved_at.is_some() {
        return Err(AppError::validation(
            "This alert resolved on its own before it was acknowledged.",
        ));
    }
    let now = now_ms();
    alert.acknowledged_at = Some(now);
    alert.acknowledged_by = Some(by.to_string());
    alert.version += 1;
    sqlx::query(
        "UPDATE alerts SET acknowledged_at = $1, acknowledged_by = $2, version = $3 WHERE org_id = $4 AND id = $5",
    )
    .bind(now)
    .bind(by)
    .bind(alert.version)
    .bind(org_id)
    .bind(alert_id)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::AlertUpserted { alert })
}

/// An admin changed a rule in Settings.
pub async fn update_rule(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    rule_id: &str,
    base: Option<i64>,
    patch: &RulePatch,
) -> Result<EventBody, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(rule_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(current) = row.as_ref().map(rule_from_row).transpose()? else {
        return Err(AppError::NotFound {
            message: "There is no such alert rule.".into(),
        });
    };
    check_version(
        &current,
        current.version,
        current.kind.label(),
        "an alert rule",
        base,
    )?;
    let mut rule = patch.apply(&current).map_err(AppError::validation)?;
    rule.version = current.version + 1;
    sqlx::query(
        "UPDATE alert_rules SET threshold = $1, minutes = $2, severity = $3, enabled = $4, version = $5 \
         WHERE org_id = $6 AND id = $7",
    )
    .bind(rule.threshold)
    .bind(rule.minutes)
    .bind(rule.severity.as_str())
    .bind(i64::from(rule.enabled))
    .bind(rule.version)
    .bind(org_id)
    .bind(rule_id)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::AlertRuleUpserted { rule })
}

const RULE_COLUMNS: &str = "id, kind, threshold, minutes, severity, enabled, version";
const ALERT_COLUMNS: &str =
    "id, device_id, device_name, rule_id, kind, severity, message, raised_at, \
     acknowledged_at, acknowledged_by, resolved_at, version";

fn rule_from_row(row: &AnyRow) -> Result<AlertRule, AppError> {
    Ok(AlertRule {
        id: row.get("id"),
        kind: AlertKind::parse(row.get("kind")).ok_or_else(AppError::internal)?,
        threshold: row.get("threshold"),
        minutes: row.get("minutes"),
        severity: Severity::parse(row.get("severity")).ok_or_else(AppError::internal)?,
        enabled: row.get::<i64, _>("enabled") != 0,
        version: row.get("version"),
    })
}

fn alert_from_row(row: &AnyRow) -> Result<Alert, AppError> {
    Ok(Alert {
        id: row.get("id"),
        device_id: row.get("device_id"),
        device_name: row.get("device_name"),
        rule_id: row.get("rule_id"),
        kind: AlertKind::parse(row.get("kind")).ok_or_else(AppError::internal)?,
        severity: Severity::parse(row.get("severity")).ok_or_else(AppError::internal)?,
        message: row.get("message"),
        raised_at: row.get("raised_at"),
        acknowledged_at: row.get("acknowledged_at"),
        acknowledged_by: row.get("acknowledged_by"),
        resolved_at: row.get("resolved_at"),
        version: row.get("version"),
    })
}

async fn find(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    alert_id: &str,
) -> Result<Option<Alert>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(alert_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(alert_from_row).transpose()
}

/// The organization's rules, in kind order.
pub async fn rules(db: &Db, org_id: &str) -> Result<Vec<AlertRule>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules WHERE org_id = $1"
    ))
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    let mut rules = rows
        .iter()
        .map(rule_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    rules.sort_by_key(|r| AlertKind::ALL.iter().position(|k| *k == r.kind));
    Ok(rules)
}

/// A new organization's rules (the same defaults the migration gives old ones).
pub async fn create_default_rules(db: &Db, org_id: &str) -> Result<(), sqlx::Error> {
    for kind in AlertKind::ALL {
        let r = kind.default_rule();
        sqlx::query(
            "INSERT INTO alert_rules (org_id, id, kind, threshold, minutes, severity, enabled, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(org_id)
        .bind(&r.id)
        .bind(r.kind.as_str())
        .bind(r.threshold)
        .bind(r.minutes)
        .bind(r.severity.as_str())
        .bind(i64::from(r.enabled))
        .bind(r.version)
        .execute(&db.pool)
        .await?;
    }
    Ok(())
}

async fn open_alerts(db: &Db) -> Result<Vec<(String, Alert)>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT org_id, {ALERT_COLUMNS} FROM alerts WHERE resolved_at IS NULL"
    ))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.get("org_id"), alert_from_row(r)?)))
        .collect()
}

/// Open alerts of a display, newest first (its detail view).
pub async fn for_device(db: &Db, org_id: &str, device_id: &str) -> Result<Vec<Alert>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = $1 AND device_id = $2 \
         ORDER BY raised_at DESC LIMIT 50"
    ))
    .bind(org_id)
    .bind(device_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(alert_from_row).collect()
}

/// The rules, every open alert, and those resolved in the last day.
pub async fn snapshot(state: &AppState, org_id: &str) -> Result<AlertsSnapshot, AppError> {
    let (_, seq) = log::position(&state.db, org_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = $1 AND (resolved_at IS NULL OR resolved_at > $2) \
         ORDER BY raised_at DESC LIMIT 1000"
    ))
    .bind(org_id)
    .bind(now_ms() - 24 * 3_600_000)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(AlertsSnapshot {
        seq,
        rules: rules(&state.db, org_id).await?,
        alerts: rows.iter().map(alert_from_row).collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn obs<'a>(
        now: i64,
        status: DeviceStatus,
        metrics: &'a Metrics,
        errors: &'a [i64],
    ) -> Observation<'a> {
        Observation {
            now,
            status,
            offline_since: Some(now - 4 * MIN),
            metrics,
            errors,
        }
    }

    fn rule(kind: AlertKind, threshold: f64, minutes: f64) -> AlertRule {
        AlertRule {
            threshold,
            minutes,
            ..kind.default_rule()
        }
    }

    #[test]
    fn offline_counts_from_when_the_display_went_offline() {
        let r = rule(AlertKind::Offline, 0.0, 5.0);
        let m = Metrics::default();
        let now = 100 * MIN;
        // Offline for 4 minutes: not yet, and `since` remembers the start.
        let mut since = None;
        assert_eq!(
            step(
                &r,
                &obs(now, DeviceStatus::Offline, &m, &[]),
                false,
                &mut since
            ),
            Step::Hold
        );
        assert_eq!(since, Some(now - 4 * MIN));
        // One minute later it has been five: raised.
        let later = obs(now + MIN, DeviceStatus::Offline, &m, &[]);
        assert!(
            matches!(step(&r, &later, false, &mut since), Step::Raise(msg) if msg.contains("No heartbeat for 5 min"))
        );
        // Back online: resolved, whether acknowledged or not.
        let back = obs(now + 2 * MIN, DeviceStatus::Online, &m, &[]);
        assert_eq!(step(&r, &back, true, &mut since), Step::Resolve);
        // Online and nothing open: nothing to do.
        assert_eq!(step(&r, &back, false, &mut since), Step::Hold);
        assert_eq!(since, None);
        // Zero minutes raises at once.
        let at_once = rule(AlertKind::Offline, 0.0, 0.0);
        let mut since = None;
        assert!(matches!(
            step(
                &at_once,
                &obs(now, DeviceStatus::Offline, &m, &[]),
                false,
                &mut since
            ),
            Step::Raise(_)
        ));
    }

    #[test]
    fn temperature_must_hold_and_clears_with_a_margin() {
        let r = rule(AlertKind::Temperature, 75.0, 2.0);
        let hot = Metrics {
            temperature_c: Some(80.0),
            ..Default::default()
        };
        let at_threshold = Metrics {
            temperature_c: Some(75.0),
            ..Default::default()
        };
        let just_under = Metrics {
            temperature_c: Some(74.0),
            ..Default::default()
        };
        let cool = Metrics {
            temperature_c: Some(73.0),
            ..Default::default()
        };
        let t0 = 10 * MIN;
        let mut since = None;
        // Exactly at the threshold is not above it.
        assert_eq!(
            step(
                &r,
                &obs(t0, DeviceStatus::Online, &at_threshold, &[]),
                false,
                &mut since
            ),
            Step::Hold
        );
        assert_eq!(since, None);
        assert_eq!(
            step(
                &r,
                &obs(t0, DeviceStatus::Online, &hot, &[]),
                false,
                &mut since
            ),
            Step::Hold
        );
        // A dip below resets the clock.
        assert_eq!(
            step(
                &r,
                &obs(t0 + MIN, DeviceStatus::Online, &just_under, &[]),
                false,
                &mut since
            ),
            Step::Hold
        );
        assert_eq!(since, None);
        assert_eq!(
            step(
                &r,
                &obs(t0 + MIN, DeviceStatus::Online, &hot, &[]),
                false,
                &mut since
            ),
            Step::Hold
        );
        assert_eq!(
            step(
                &r,
                &obs(t0 + 3 * MIN - 1, DeviceStatus::Online, &hot, &[]),
                false,
                &mut since
            ),
            Step::Hold
        );
        let raised = step(
            &r,
            &obs(t0 + 3 * MIN, DeviceStatus::Online, &hot, &[]),
            false,
            &mut since,
        );
        assert_eq!(raised, Step::Raise("80 °C, above 75 °C".into()));
        // 74 °C is under the threshold but inside the margin: still open.
        assert_eq!(
            step(
                &r,
                &obs(t0 + 4 * MIN, DeviceStatus::Online, &just_under, &[]),
                true,
                &mut since
            ),
            Step::Hold
        );
        // Offline: no fresh reading, neither raised nor resolved.
        assert_eq!(
            step(
                &r,
                &obs(t0 + 4 * MIN, DeviceStatus::Offline, &cool, &[]),
                true,
                &mut since
            ),
            Step::Hold
        );
        assert_eq!(
            step(
                &r,
                &obs(t0 + 5 * MIN, DeviceStatus::Online, &cool, &[]),
                true,
                &mut since
            ),
            Step::Resolve
        );
        // No sensor: never raised.
        let unknown = Metrics::default();
        assert_eq!(
            step(
                &r,
                &obs(t0, DeviceStatus::Online, &unknown, &[]),
                false,
                &mut since
            ),
            Step::Hold
        );
    }

    #[test]
    fn storage_below_threshold() {
        let r = rule(AlertKind::Storage, 10.0, 0.0);
        let low = Metrics {
            storage_free_pct: Some(4.5),
            ..Default::default()
        };
        let ten = Metrics {
            storage_free_pct: Some(10.0),
            ..Default::default()
        };
        let eleven = Metrics {
            storage_free_pct: Some(11.0),
            ..Default::default()
        };
        let twelve = Metrics {
            storage_free_pct: Some(12.0),
            ..Default::default()
        };
        let mut since = None;
        assert_eq!(
            step(
                &r,
                &obs(MIN, DeviceStatus::Online, &low, &[]),
                false,
                &mut since
            ),
            Step::Raise("4.5 % storage free, below 10 %".into())
        );
        assert_eq!(
            step(
                &r,
                &obs(MIN, DeviceStatus::Online, &ten, &[]),
                false,
                &mut None
            ),
            Step::Hold
        );
        assert_eq!(
            step(
                &r,
                &obs(MIN, DeviceStatus::Online, &eleven, &[]),
                true,
                &mut since
            ),
            Step::Hold
        );
        assert_eq!(
            step(
                &r,
                &obs(MIN, DeviceStatus::Online, &twelve, &[]),
                true,
                &mut since
            ),
            Step::Resolve
        );
    }

    #[test]
    fn errors_count_within_the_window() {
        let r = rule(AlertKind::Errors, 3.0, 10.0);
        let m = Metrics::default();
        let now = 60 * MIN;
        let two = [now - 2 * MIN, now - MIN];
        let three_one_stale = [now - 11 * MIN, now - 2 * MIN, now - MIN];
        let three = [now - 10 * MIN, now - 2 * MIN, now];
        let mut since = None;
        assert_eq!(
            step(
                &r,
                &obs(now, DeviceStatus::Error, &m, &two),
                false,
                &mut since
            ),
            Step::Hold
        );
        assert_eq!(
            step(
                &r,
                &obs(now, DeviceStatus::Error, &m, &three_one_stale),
                false,
                &mut since
            ),
            Step::Hold
        );
        assert_eq!(
            step(
                &r,
                &obs(now, DeviceStatus::Error, &m, &three),
                false,
                &mut since
            ),
            Step::Raise("3 player errors in the last 10 min".into())
        );
        // Errors still count while the display is offline; they age out.
        assert_eq!(
            step(
                &r,
                &obs(now + MIN, DeviceStatus::Offline, &m, &three),
                true,
                &mut since
            ),
            Step::Resolve
        );
    }

    #[test]
    fn a_disabled_rule_raises_nothing_and_resolves_what_it_raised() {
        let mut r = rule(AlertKind::Offline, 0.0, 0.0);
        r.enabled = false;
        let m = Metrics::default();
        let o = obs(MIN, DeviceStatus::Offline, &m, &[]);
        assert_eq!(step(&r, &o, false, &mut None), Step::Hold);
        assert_eq!(step(&r, &o, true, &mut None), Step::Resolve);
    }
}
