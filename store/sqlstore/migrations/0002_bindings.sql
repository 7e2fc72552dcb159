-- gatehouse schema, version 2: credentials bound to accounts, grant families,
-- consumer signature methods, and a full index for token lookups by hash.
ALTER TABLE users ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_changed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN family TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN password_stamp BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN credential TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN methods TEXT NOT NULL DEFAULT '[]';
-- The unique index on hash is partial (JWT rows have no hash), and SQLite
-- cannot use a partial index for "WHERE hash = ?": this one it can.
CREATE INDEX tokens_hash_lookup ON tokens (hash);
CREATE INDEX tokens_family ON tokens (family);
CREATE INDEX sessions_login ON sessions (login);
