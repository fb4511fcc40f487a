-- Schedules (issue 11): what each display plays and when. Same SQL on SQLite
-- and PostgreSQL. A schedule's rule (dates, recurrence, window, priority,
-- enabled) is its `spec`, the JSON of model::ScheduleSpec, read and written
-- whole; the columns beside it are what queries and references need.

CREATE TABLE dayparts (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- Minutes after local midnight.
    start_minute BIGINT NOT NULL,
    end_minute BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX dayparts_org ON dayparts (org_id);

CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    playlist_id TEXT NOT NULL REFERENCES playlists (id),
    device_id TEXT REFERENCES devices (id),
    group_id TEXT REFERENCES device_groups (id),
    daypart_id TEXT REFERENCES dayparts (id),
    spec TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_org ON schedules (org_id);
CREATE INDEX schedules_playlist ON schedules (playlist_id);

-- A playlist put on a group (or, with no group, the whole fleet) above every
-- schedule, until ends_at or until an operator ends it (ended_at).
CREATE TABLE takeovers (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    playlist_id TEXT NOT NULL REFERENCES playlists (id),
    group_id TEXT REFERENCES device_groups (id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT,
    ended_at BIGINT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX takeovers_org ON takeovers (org_id, starts_at);

-- What a display switched to and when: reported by its player (reported = 1)
-- or derived by the server for a player that does not report (0).
CREATE TABLE schedule_executions (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    playlist_id TEXT,
    source TEXT NOT NULL,
    schedule_id TEXT,
    takeover_id TEXT,
    previous_playlist_id TEXT,
    reported BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX schedule_executions_org ON schedule_executions (org_id, at);
CREATE INDEX schedule_executions_device ON schedule_executions (device_id, at);

-- Deploys: the manifest version last sent to each display and the one its
-- player acknowledged, so the console shows sent, received and playing.
CREATE TABLE manifest_deploys (
    device_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    sent_version TEXT,
    sent_at BIGINT,
    received_version TEXT,
    received_at BIGINT,
    playing_playlist_id TEXT,
    playing_since BIGINT,
    version BIGINT NOT NULL
);
CREATE INDEX manifest_deploys_org ON manifest_deploys (org_id);
