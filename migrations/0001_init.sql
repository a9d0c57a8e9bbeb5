-- Orders as accepted, in arrival order. `photo` and the identity number are
-- kept only while a card may still be printed from them.
CREATE TABLE orders (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id       TEXT NOT NULL UNIQUE,
    content_sha256 TEXT NOT NULL,
    card_number    TEXT NOT NULL,
    student_id     TEXT NOT NULL,
    reason         TEXT NOT NULL,
    pattern        TEXT NOT NULL,
    data           TEXT NOT NULL,
    photo          BLOB,
    status         TEXT NOT NULL
        CHECK (status IN ('queued', 'printing', 'printed', 'held', 'cancelled')),
    hold_code      TEXT,
    hold_message   TEXT,
    received_at    TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX orders_status ON orders (status, seq);
CREATE INDEX orders_student ON orders (student_id);

-- The issuance register: one row per card that left the printer.
CREATE TABLE cards (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    card_number    TEXT NOT NULL,
    order_id       TEXT NOT NULL REFERENCES orders (order_id),
    student_id     TEXT NOT NULL,
    last_name      TEXT NOT NULL,
    first_names    TEXT NOT NULL,
    reason         TEXT NOT NULL,
    printed_at     TEXT NOT NULL,
    printer_model  TEXT NOT NULL,
    printer_serial TEXT NOT NULL,
    batch_id       TEXT,
    operator       TEXT,
    blank_serial   TEXT
);

-- Blanks that did not become a card, and why.
CREATE TABLE spoiled (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     TEXT,
    card_number  TEXT,
    blank_serial TEXT,
    cause        TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    operator     TEXT
);

-- Operator decisions, so a reprint always has a name behind it.
CREATE TABLE operator_actions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    action   TEXT NOT NULL,
    operator TEXT NOT NULL,
    note     TEXT,
    at       TEXT NOT NULL
);

-- Cancels that arrived before their order.
CREATE TABLE early_cancels (
    order_id TEXT PRIMARY KEY,
    at       TEXT NOT NULL
);

-- Events written in the same transaction as the change they report, and
-- published from here: a crash between commit and publish loses nothing.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT
);
CREATE INDEX outbox_unsent ON outbox (sent_at, id);
