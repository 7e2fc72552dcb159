-- gatehouse schema, version 3: failed-attempt counters (auth.FailureCounter),
-- so that a service on SQLite or PostgreSQL alone can throttle.
CREATE TABLE failures (
    scope    TEXT NOT NULL,
    fail_key TEXT NOT NULL,
    count    INTEGER NOT NULL,
    reset_at BIGINT NOT NULL,
    PRIMARY KEY (scope, fail_key)
);
CREATE INDEX failures_reset ON failures (reset_at);
