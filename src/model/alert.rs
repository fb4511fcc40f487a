//! Health alerts: the rules an organization sets (Settings) and the alerts
//! they raise on displays (Health). An alert is raised by the server, may be
//! acknowledged by an operator, and is resolved by the server when its
//! condition clears; each step is an `AlertUpserted` event.

use serde::{Deserialize, Serialize};

use super::Millis;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The display has been offline for `minutes`.
    Offline,
    /// Temperature above `threshold` °C for `minutes`.
    Temperature,
    /// Free storage below `threshold` % for `minutes`.
    Storage,
    /// `threshold` or more player errors within the last `minutes`.
    Errors,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] = [
        AlertKind::Offline,
        AlertKind::Temperature,
        AlertKind::Storage,
        AlertKind::Errors,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Offline => "offline",
            AlertKind::Temperature => "temperature",
            AlertKind::Storage => "storage",
            AlertKind::Errors => "errors",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::Offline => "Display offline",
            AlertKind::Temperature => "Temperature high",
            AlertKind::Storage => "Storage low",
            AlertKind::Errors => "Player errors",
        }
    }
    /// The id of the organization's rule of this kind (one rule per kind).
    pub fn rule_id(self) -> String {
        format!("rule-{}", self.as_str())
    }
    /// Whether the rule's `threshold` means anything (offline has none).
    pub fn has_threshold(self) -> bool {
        self != AlertKind::Offline
    }
    /// What the threshold is measured in, for forms.
    pub fn unit(self) -> &'static str {
        match self {
            AlertKind::Offline => "",
            AlertKind::Temperature => "°C",
            AlertKind::Storage => "% free",
            AlertKind::Errors => "errors",
        }
    }
    /// The rule a new organization starts with.
    pub fn default_rule(self) -> AlertRule {
        let (threshold, minutes, severity) = match self {
            AlertKind::Offline => (0.0, 5.0, Severity::Critical),
            AlertKind::Temperature => (75.0, 2.0, Severity::Warning),
            AlertKind::Storage => (10.0, 0.0, Severity::Warning),
            AlertKind::Errors => (3.0, 10.0, Severity::Warning),
        };
        AlertRule {
            id: self.rule_id(),
            kind: self,
            threshold,
            minutes,
            severity,
            enabled: true,
            version: 1,
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One rule per kind and organization, edited in Settings.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: String,
    pub kind: AlertKind,
    /// °C for temperature, % free for storage, a count for errors; unused for offline.
    pub threshold: f64,
    /// How long the condition must hold before the alert is raised; for
    /// errors, the window they are counted in.
    pub minutes: f64,
    pub severity: Severity,
    pub enabled: bool,
    pub version: i64,
}

/// What an operator changes on a rule. `None` leaves a field alone.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RulePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

impl RulePatch {
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.threshold.is_some() {
            out.push("threshold");
        }
        if self.minutes.is_some() {
            out.push("minutes");
        }
        if self.severity.is_some() {
            out.push("severity");
        }
        if self.enabled.is_some() {
            out.push("enabled");
        }
        out
    }

    /// The rule with the patch applied, or what is wrong with the patch.
    pub fn apply(&self, rule: &AlertRule) -> Result<AlertRule, String> {
        let mut next = rule.clone();
        if let Some(t) = self.threshold {
            next.threshold = t;
        }
        if let Some(m) = self.minutes {
            next.minutes = m;
        }
        if let Some(s) = self.severity {
            next.severity = s;
        }
        if let Some(e) = self.enabled {
            next.enabled = e;
        }
        validate_rule(&next)?;
        Ok(next)
    }
}

/// The bounds a rule must keep, with the message an operator sees.
pub fn validate_rule(rule: &AlertRule) -> Result<(), String> {
    if !rule.minutes.is_finite() || !(0.0..=10_080.0).contains(&rule.minutes) {
        return Err("Minutes must be between 0 and 10080 (one week).".into());
    }
    let t = rule.threshold;
    let ok = t.is_finite()
        && match rule.kind {
            AlertKind::Offline => true,
            AlertKind::Temperature => (-40.0..=150.0).contains(&t),
            AlertKind::Storage => (0.0..=100.0).contains(&t),
            AlertKind::Errors => (1.0..=10_000.0).contains(&t) && t.fract() == 0.0,
        };
    if ok {
        Ok(())
    } else {
        Err(match rule.kind {
            AlertKind::Temperature => "The temperature threshold must be between -40 and 150 °C.",
            AlertKind::Storage => "The storage threshold must be between 0 and 100 % free.",
            AlertKind::Errors => "The error threshold must be a whole number from 1 to 10000.",
            AlertKind::Offline => "The threshold must be a number.",
        }
        .into())
    }
}

/// One rule's hit on one display.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub device_id: String,
    /// The display's name when the alert was raised (it outlives renames).
    pub device_name: String,
    pub rule_id: String,
    pub kind: AlertKind,
    pub severity: Severity,
    /// What was seen, in words ("82.5 °C, above 75 °C").
    pub message: String,
    pub raised_at: Millis,
    pub acknowledged_at: Option<Millis>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<Millis>,
    pub version: i64,
}

impl Alert {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
    pub fn state(&self) -> &'static str {
        if self.resolved_at.is_some() {
            "resolved"
        } else if self.acknowledged_at.is_some() {
            "acknowledged"
        } else {
            "raised"
        }
    }
}

/// The rules and the open alerts (plus those resolved in the last day), with
/// the stream position they were read at.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsSnapshot {
    pub seq: i64,
    pub rules: Vec<AlertRule>,
    pub alerts: Vec<Alert>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_keep_rules_in_bounds() {
        let temp = AlertKind::Temperature.default_rule();
        let hot = RulePatch {
            threshold: Some(60.0),
            ..Default::default()
        };
        assert_eq!(hot.apply(&temp).unwrap().threshold, 60.0);
        let absurd = RulePatch {
            threshold: Some(900.0),
            ..Default::default()
        };
        assert!(absurd.apply(&temp).unwrap_err().contains("150 °C"));
        let errors = AlertKind::Errors.default_rule();
        let half = RulePatch {
            threshold: Some(2.5),
            ..Default::default()
        };
        assert!(half.apply(&errors).unwrap_err().contains("whole number"));
        let negative = RulePatch {
            minutes: Some(-1.0),
            ..Default::default()
        };
        assert!(negative.apply(&errors).is_err());
        let nan = RulePatch {
            minutes: Some(f64::NAN),
            ..Default::default()
        };
        assert!(nan.apply(&errors).is_err());
        for kind in AlertKind::ALL {
            assert!(validate_rule(&kind.default_rule()).is_ok(), "{kind:?}");
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
        }
    }
}
