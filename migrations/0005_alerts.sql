-- Health (issue 5): alert rules, the alerts they raise, metric history, and
-- the latest screenshot of each display.

-- One rule per kind and organization (see model::alert). `enabled` is 0 or 1.
CREATE TABLE alert_rules (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('offline', 'temperature', 'storage', 'errors')),
    threshold DOUBLE PRECISION NOT NULL,
    minutes DOUBLE PRECISION NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    enabled BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- The defaults every organization starts with (new ones get them in code).
INSERT INTO alert_rules (org_id, id, kind, threshold, minutes, severity, enabled, version)
    SELECT id, 'rule-offline', 'offline', 0, 5, 'critical', 1, 1 FROM organizations;
INSERT INTO alert_rules (org_id, id, kind, threshold, minutes, severity, enabled, version)
    SELECT id, 'rule-temperature', 'temperature', 75, 2, 'warning', 1, 1 FROM organizations;
INSERT INTO alert_rules (org_id, id, kind, threshold, minutes, severity, enabled, version)
    SELECT id, 'rule-storage', 'storage', 10, 0, 'warning', 1, 1 FROM organizations;
INSERT INTO alert_rules (org_id, id, kind, threshold, minutes, severity, enabled, version)
    SELECT id, 'rule-errors', 'errors', 3, 10, 'warning', 1, 1 FROM organizations;

-- Alerts outlive their display (the history stays readable), so no foreign key
-- on device_id; `device_name` is the name it had when the alert was raised.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    device_name TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    resolved_at BIGINT,
    version BIGINT NOT NULL
);
CREATE INDEX alerts_org_open ON alerts (org_id, resolved_at);

-- A sample of each connected display's metrics every `metrics-sample-seconds`,
-- pruned by age (no foreign key: a sample batch must not fail on a display
-- deleted a moment before).
CREATE TABLE device_metrics (
    device_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    cpu_pct DOUBLE PRECISION,
    memory_pct DOUBLE PRECISION,
    temperature_c DOUBLE PRECISION,
    storage_free_pct DOUBLE PRECISION,
    PRIMARY KEY (device_id, at)
);

-- The latest screenshot a display sent; the image is a file under media/screens.
CREATE TABLE device_screenshots (
    device_id TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    mime TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL
);

-- The display version of the last operator change. Status changes bump
-- `version` but not this, so a base version between the two still holds
-- (see devices::check_edit_version).
ALTER TABLE devices ADD COLUMN edited_version BIGINT NOT NULL DEFAULT 0;
UPDATE devices SET edited_version = version;
