-- gatehouse schema, version 6: one counter that every change to a table
-- the SQLite read cache keeps (users, tokens, sessions, rules,
-- revoked_certs) moves, by triggers, in the changing transaction, by any
-- process. The cache asks it instead of PRAGMA data_version, which moves
-- with every commit: nonces, failure counters and other writes no longer
-- clear the cache. The triggers are SQLite's own (sqlstore.go,
-- cacheChangeTriggers): PostgreSQL has the table and never caches.
CREATE TABLE cache_changes (
    id INTEGER PRIMARY KEY,
    n  BIGINT NOT NULL
);
INSERT INTO cache_changes (id, n) VALUES (1, 0);
