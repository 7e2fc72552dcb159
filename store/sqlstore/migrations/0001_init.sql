-- gatehouse schema, version 1. Portable between SQLite and PostgreSQL:
-- times are BIGINT Unix nanoseconds (0 = none), flags INTEGER 0/1, lists JSON text.
CREATE TABLE users (
    login         TEXT PRIMARY KEY,
    user_name     TEXT NOT NULL,
    user_domain   TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    group_list    TEXT NOT NULL,
    disabled      INTEGER NOT NULL,
    updated       BIGINT NOT NULL
);
CREATE INDEX users_login_fold ON users (lower(login));

CREATE TABLE rules (
    pos      INTEGER PRIMARY KEY,
    priority DOUBLE PRECISION NOT NULL,
    subject  TEXT NOT NULL,
    methods  TEXT NOT NULL,
    path     TEXT NOT NULL,
    verdict  TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    note     TEXT NOT NULL
);

CREATE TABLE tokens (
    id        TEXT PRIMARY KEY,
    hash      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    login     TEXT NOT NULL,
    token_name TEXT NOT NULL,
    scopes    TEXT NOT NULL,
    created   BIGINT NOT NULL,
    expires   BIGINT NOT NULL,
    last_used BIGINT NOT NULL,
    revoked   BIGINT NOT NULL
);
CREATE UNIQUE INDEX tokens_hash ON tokens (hash) WHERE hash <> '';
CREATE UNIQUE INDEX tokens_pat_name ON tokens (login, token_name) WHERE kind = 'pat';
CREATE INDEX tokens_login ON tokens (login, created);

CREATE TABLE sessions (
    hash         TEXT PRIMARY KEY,
    login        TEXT NOT NULL,
    scheme       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    user_updated BIGINT NOT NULL,
    created      BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    idle_ns      BIGINT NOT NULL,
    expires      BIGINT NOT NULL,
    csrf         INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE consumers (
    consumer_key TEXT PRIMARY KEY,
    secret       TEXT NOT NULL,
    rsa_pem      TEXT NOT NULL,
    disabled     INTEGER NOT NULL,
    user_list    TEXT NOT NULL
);

CREATE TABLE clients (
    client_id   TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    disabled    INTEGER NOT NULL,
    scopes      TEXT NOT NULL,
    grants      TEXT NOT NULL
);

CREATE TABLE revoked_certs (
    serial  TEXT PRIMARY KEY,
    revoked BIGINT NOT NULL
);

CREATE TABLE nonces (
    consumer_key TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    expires      BIGINT NOT NULL,
    PRIMARY KEY (consumer_key, nonce)
);
CREATE INDEX nonces_expires ON nonces (expires);
