-- The content library and playlists (issue 4). Same SQL on SQLite and PostgreSQL.

CREATE TABLE content (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'web')),
    mime TEXT,
    sha256 TEXT,
    size BIGINT,
    width BIGINT,
    height BIGINT,
    duration_ms BIGINT,
    url TEXT,
    reload_seconds BIGINT,
    -- JSON array of strings.
    tags TEXT NOT NULL DEFAULT '[]',
    valid_from BIGINT,
    valid_until BIGINT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX content_org ON content (org_id, created_at);
-- Media files are shared by hash; a file is removed when no row refers to it.
CREATE INDEX content_sha ON content (sha256);

CREATE TABLE playlists (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX playlists_org ON playlists (org_id, name);

-- Items in order: `position` is rewritten for the whole list on each edit
-- (playlists are short; one ordered read rebuilds the list).
CREATE TABLE playlist_items (
    playlist_id TEXT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    position BIGINT NOT NULL,
    content_id TEXT NOT NULL REFERENCES content (id),
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (playlist_id, id)
);
CREATE INDEX playlist_items_content ON playlist_items (content_id);

ALTER TABLE devices ADD COLUMN playlist_id TEXT REFERENCES playlists (id);
ALTER TABLE device_groups ADD COLUMN playlist_id TEXT REFERENCES playlists (id);
ALTER TABLE device_groups ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
