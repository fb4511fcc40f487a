-- Accounts (issue 10): admins deactivate users instead of deleting them (their
-- history stays), and every account change is versioned like other entities.
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Sessions get an id to be listed and ended by (the cookie's hash never
-- leaves the server) and the browser they were opened in.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
UPDATE sessions SET id = substr(token_hash, 1, 32) WHERE id IS NULL;
CREATE UNIQUE INDEX sessions_id ON sessions (id);

-- Deactivating a user revokes the API tokens they made.
CREATE INDEX api_tokens_creator ON api_tokens (created_by);
