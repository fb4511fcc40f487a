-- Displays for real (issue 5): device tokens, proof of play, player errors.

-- sha256 of the display's token (its plain form is shown to the display once,
-- when it is paired); NULL means the display is not paired.
ALTER TABLE devices ADD COLUMN token_hash TEXT;
CREATE UNIQUE INDEX devices_token ON devices (token_hash);

-- Proof of play, one row per item shown; `id` is made by the display, so a
-- buffered event sent twice is stored once.
CREATE TABLE play_events (
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    content_id TEXT NOT NULL,
    playlist_id TEXT,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, id)
);
CREATE INDEX play_events_org ON play_events (org_id, started_at);

CREATE TABLE device_errors (
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (device_id, id)
);
