//! Alert rules: one per kind and organization (offline for N minutes,
//! temperature above X °C, storage below Y % free, N player errors in M
//! minutes), each with a severity and an on/off switch; what each rule's
//! condition says about one display at one instant, and when it is over.
//! Conditions with a measurement clear with a margin (hysteresis), so a
//! reading hovering at the threshold does not flap.

use sqlx::{any::AnyRow, Any, Row, Transaction};

use crate::{
    error::AppError,
    model::{AlertKind, AlertRule, DeviceStatus, EventBody, Metrics, RulePatch, Severity},
    server::core::{change::check_version, Db, ExecuteWrite},
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

const RULE_COLUMNS: &str = "id, kind, threshold, minutes, severity, enabled, version";

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
        .execute_write(db)
        .await?;
    }
    Ok(())
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
