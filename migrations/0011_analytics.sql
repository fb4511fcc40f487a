-- Analytics (issue 12): proof of play as it was, hourly and daily rollups
-- folded in as plays arrive, status intervals for uptime, and the activity
-- history kept in the log. Same SQL on SQLite and PostgreSQL. Rollup keys
-- use '' for "none" (a NULL would make every row its own key).

-- One row per play a display reported, with the names as they were then.
-- No foreign key to devices or content: deleting either keeps history.
CREATE TABLE plays (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    id TEXT NOT NULL,
    device_name TEXT NOT NULL,
    group_id TEXT NOT NULL,
    group_name TEXT NOT NULL,
    content_id TEXT NOT NULL,
    content_name TEXT NOT NULL,
    content_sha256 TEXT,
    playlist_id TEXT NOT NULL,
    playlist_name TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, id)
);
CREATE INDEX plays_org ON plays (org_id, started_at);
CREATE INDEX plays_device ON plays (device_id, started_at);

INSERT INTO plays (org_id, device_id, id, device_name, group_id, group_name, content_id,
    content_name, content_sha256, playlist_id, playlist_name, schedule_id, started_at,
    duration_ms, received_at)
SELECT p.org_id, p.device_id, p.id, d.name, COALESCE(d.group_id, ''), COALESCE(g.name, ''),
    p.content_id, COALESCE(c.name, ''), c.sha256, COALESCE(p.playlist_id, ''),
    COALESCE(l.name, ''), '', p.started_at, p.duration_ms, p.received_at
FROM play_events p
JOIN devices d ON d.id = p.device_id
LEFT JOIN device_groups g ON g.id = d.group_id
LEFT JOIN content c ON c.id = p.content_id
LEFT JOIN playlists l ON l.id = p.playlist_id;

DROP TABLE play_events;

-- Plays per hour (UTC) and display: `plays` counts those that started in
-- the hour, `ms` the time played in it (a play across an hour is split).
CREATE TABLE play_hours (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    content_id TEXT NOT NULL,
    playlist_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, hour, device_id, content_id, playlist_id, group_id)
);
CREATE INDEX play_hours_device ON play_hours (device_id, hour);

-- The same without the display, per hour and per UTC day: what fleet-wide
-- reports over weeks and years read.
CREATE TABLE play_fleet_hours (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    group_id TEXT NOT NULL,
    content_id TEXT NOT NULL,
    playlist_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, hour, group_id, content_id, playlist_id)
);

CREATE TABLE play_fleet_days (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    group_id TEXT NOT NULL,
    content_id TEXT NOT NULL,
    playlist_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, group_id, content_id, playlist_id)
);

-- The latest name each thing was played or tracked under, for report labels
-- (kept after the thing is renamed or deleted). kind: content, display,
-- group, playlist.
CREATE TABLE analytics_names (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (org_id, kind, id)
);

-- Each display's current status and since when; a change closes the
-- interval into the rollups below.
CREATE TABLE status_intervals (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    status TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (org_id, device_id)
);

-- Closed intervals, raw (kept as long as raw plays): what partial hours
-- at a report's edges and each display's small timeline read.
CREATE TABLE status_history (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, device_id, started_at)
);
CREATE INDEX status_history_org ON status_history (org_id, ended_at);

-- Time in each status per hour (UTC) and per UTC day, per display.
CREATE TABLE status_hours (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    online_ms BIGINT NOT NULL,
    idle_ms BIGINT NOT NULL,
    offline_ms BIGINT NOT NULL,
    error_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, hour, device_id, group_id)
);

CREATE TABLE status_days (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    online_ms BIGINT NOT NULL,
    idle_ms BIGINT NOT NULL,
    offline_ms BIGINT NOT NULL,
    error_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, device_id, group_id)
);

-- Activity: operators' events stay in the log after system events are
-- pruned; `pruned_through` says up to where the log has gaps, so a stream
-- resumes only from a complete stretch.
ALTER TABLE organizations ADD COLUMN pruned_through BIGINT NOT NULL DEFAULT 0;
CREATE INDEX events_activity ON events (org_id, seq) WHERE actor IS NOT NULL;
-- A readable line for an operator's event ("renamed display “A” to “B”"),
-- made when it is appended (from the entity's previous event); NULL for
-- system events.
ALTER TABLE events ADD COLUMN summary TEXT;
CREATE INDEX events_entity ON events (org_id, entity_id, seq);
