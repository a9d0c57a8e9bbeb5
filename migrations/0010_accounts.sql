-- The people who use the web page, their sessions and API tokens, and the
-- audit log of what each did. Passwords and tokens are stored only as
-- hashes (argon2id; SHA-256 of a random token).
CREATE TABLE users (
    login         TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('operator', 'admin', 'auditor')),
    password_hash TEXT NOT NULL,
    disabled_at   TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    login        TEXT NOT NULL REFERENCES users (login),
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    -- Unix seconds: a session ends after a while without use.
    last_seen    INTEGER NOT NULL
);
CREATE INDEX sessions_login ON sessions (login);

CREATE TABLE api_tokens (
    token_sha256 TEXT PRIMARY KEY,
    login        TEXT NOT NULL REFERENCES users (login),
    created_at   TEXT NOT NULL
);

-- Who did what, when, to which order or card: the page's actions ('web'),
-- the API's and the operator commands' ('cli', with the --operator given).
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    login   TEXT NOT NULL,
    via     TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  TEXT
);
CREATE INDEX audit_login ON audit (login, id);
