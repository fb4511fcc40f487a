-- One schema for SQLite and PostgreSQL: TEXT ids (UUIDs made by whoever creates
-- the row), BIGINT milliseconds since the epoch in UTC for every instant, BIGINT
-- for every integer (PostgreSQL INTEGER would decode as 32-bit), no booleans.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Changes whenever the event log is reset or restored, so clients refetch.
    epoch TEXT NOT NULL,
    -- The last event seq handed out. Bumping it is the first write of every
    -- change transaction: it takes the row lock (PostgreSQL) or the write lock
    -- (SQLite), so seqs commit in order and readers never see a gap fill in later.
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at BIGINT NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE sessions (
    -- sha256 of the cookie value; the cookie itself is never stored.
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE device_groups (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    group_id TEXT REFERENCES device_groups (id) ON DELETE SET NULL,
    -- JSON array of strings.
    tags TEXT NOT NULL DEFAULT '[]',
    timezone TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('online', 'idle', 'offline', 'error')),
    last_seen BIGINT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX devices_org ON devices (org_id, name);

-- The append-only record of every change; the stream reads from here.
CREATE TABLE events (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    op_id TEXT,
    actor TEXT,
    -- JSON of model::EventBody.
    payload TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);

-- The stored outcome of every op, so a replayed op_id changes nothing and gets
-- the first answer back (errors included).
CREATE TABLE op_receipts (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    op_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- 'applied' or 'refused'
    outcome TEXT NOT NULL,
    -- JSON: model::OpAck when applied, error::AppError when refused.
    response TEXT NOT NULL,
    PRIMARY KEY (org_id, op_id)
);
CREATE INDEX op_receipts_age ON op_receipts (created_at);
