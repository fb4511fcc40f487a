-- Pairing codes live in the database (issue 10), so they are unique across
-- nodes and any node can claim a code a display shows on another node. The
-- display's node makes the token when it issues the code and keeps it in
-- memory; only its sha256 is stored. A claim fills in who claimed it, inside
-- the change path's transaction; the display's node hands the token over.
CREATE TABLE pairing_codes (
    code TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    claimed_at BIGINT,
    org_id TEXT,
    device_id TEXT,
    name TEXT
);

-- Failed attempts that a budget counts (wrong pairing codes per
-- organization), shared by every node; a right attempt never resets them.
CREATE TABLE attempts (
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX attempts_key ON attempts (key, at);
