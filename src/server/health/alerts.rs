//! Alerts: raised and resolved by the evaluator (system events), each
//! acknowledged by an operator with an op; read for Health, Overview and a
//! display's detail view.

use sqlx::{any::AnyRow, Any, Row, Transaction};

use crate::{
    error::AppError,
    model::{Alert, AlertKind, AlertRule, AlertsSnapshot, EventBody, Severity},
    server::core::{log, new_id, now_ms, Core, Db},
};

use super::rules;

const ALERT_COLUMNS: &str =
    "id, device_id, device_name, rule_id, kind, severity, message, raised_at, \
     acknowledged_at, acknowledged_by, resolved_at, version";

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

pub(super) async fn raise(
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

pub(super) async fn resolve(
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

pub(super) async fn open_alerts(db: &Db) -> Result<Vec<(String, Alert)>, AppError> {
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
pub async fn snapshot(core: &Core, org_id: &str) -> Result<AlertsSnapshot, AppError> {
    let (_, seq) = log::position(&core.db, org_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = $1 AND (resolved_at IS NULL OR resolved_at > $2) \
         ORDER BY raised_at DESC LIMIT 1000"
    ))
    .bind(org_id)
    .bind(now_ms() - 24 * 3_600_000)
    .fetch_all(&core.db.pool)
    .await?;
    Ok(AlertsSnapshot {
        seq,
        rules: rules::rules(&core.db, org_id).await?,
        alerts: rows.iter().map(alert_from_row).collect::<Result<_, _>>()?,
    })
}
