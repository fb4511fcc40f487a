//! The evaluator: once a second (the fleet tick) it checks every rule
//! against what the gateway knows of each display. A condition that has
//! held for the rule's minutes raises an alert; an open alert whose
//! condition cleared is resolved; both are system events through the log.
//! Each organization's rules are cached, and the cache is dropped when the
//! evaluator reads a rule change from the event log, whichever node made it.

use std::collections::{HashMap, HashSet};

use tokio::sync::broadcast::{self, error::TryRecvError};

use super::{
    alerts,
    rules::{self, step, Observation, Step},
};
use crate::{
    error::AppError,
    model::{Alert, AlertRule, EventBody},
    server::{
        core::{hub::Shared, now_ms, system, Core},
        displays::{derive_status, Beat},
    },
};

/// The evaluator's memory between ticks: open alerts by (display, rule), and
/// since when each not-yet-raised condition has held.
#[derive(Default)]
pub struct Tracker {
    loaded: bool,
    open: HashMap<(String, String), (String, String)>,
    since: HashMap<(String, String), i64>,
    /// Displays this node evaluated last time. Only these resolve when they
    /// leave the fleet (unpaired, deleted): another node's are its own.
    seen: HashSet<String>,
    /// Each organization's rules as last read.
    rules: HashMap<String, CachedRules>,
}

/// An organization's rules, and its event feed, subscribed before they were
/// read: a rule change committed on any node arrives there and drops them.
struct CachedRules {
    rules: Vec<AlertRule>,
    feed: broadcast::Receiver<std::sync::Arc<Shared>>,
}

impl CachedRules {
    /// Whether the feed carried a rule change (or lost events) since the
    /// rules were read.
    fn stale(&mut self) -> bool {
        let mut stale = false;
        loop {
            match self.feed.try_recv() {
                Ok(shared) => {
                    stale |= matches!(shared.event.body, EventBody::AlertRuleUpserted { .. })
                }
                Err(TryRecvError::Empty) => return stale,
                Err(TryRecvError::Lagged(_) | TryRecvError::Closed) => return true,
            }
        }
    }
}

impl Tracker {
    async fn rules(&mut self, core: &Core, org_id: &str) -> Result<&[AlertRule], AppError> {
        let fresh = self.rules.get_mut(org_id).is_some_and(|c| !c.stale());
        if !fresh {
            let feed = core.hub.subscribe(org_id).await?;
            let rules = rules::rules(&core.db, org_id).await?;
            self.rules
                .insert(org_id.to_string(), CachedRules { rules, feed });
        }
        Ok(&self.rules[org_id].rules)
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
    core: &Core,
    tracker: &mut Tracker,
    fleet: &[(String, Beat)],
    interval_ms: i64,
) -> Result<(), AppError> {
    if !tracker.loaded {
        for (org_id, alert) in alerts::open_alerts(&core.db).await? {
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
        let rules = tracker.rules(core, org_id).await?.to_vec();
        for (device_id, beat) in displays {
            let status = derive_status(
                now,
                beat.heard_from(),
                beat.has_content,
                beat.last_error,
                interval_ms,
            );
            let errors: Vec<i64> = beat.errors.iter().copied().collect();
            let o = Observation {
                now,
                status,
                offline_since: beat.heard_from().map(|b| b + 3 * interval_ms),
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
    let tracked: HashSet<&str> = fleet.iter().map(|(id, _)| id.as_str()).collect();
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
            for alert in record(core, &org_id, chunk).await? {
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
async fn record(core: &Core, org_id: &str, writes: &[Write]) -> Result<Vec<Alert>, AppError> {
    let mut tx = system::begin(core, org_id).await?;
    let now = now_ms();
    let mut written = Vec::new();
    for write in writes {
        let alert = match write {
            Write::Raise {
                device_id,
                rule,
                message,
            } => alerts::raise(&mut tx, org_id, device_id, rule, message, now).await?,
            Write::Resolve { alert_id } => alerts::resolve(&mut tx, org_id, alert_id, now).await?,
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
    system::commit(core, org_id, tx, bodies).await?;
    Ok(written)
}
