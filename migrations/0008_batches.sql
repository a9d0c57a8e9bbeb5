-- Batches an operator starts on a stack of numbered blanks: in
-- `queue.mode = "batch"` only orders in a running batch print.
CREATE TABLE batches (
    id          TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL UNIQUE,
    operator    TEXT NOT NULL,
    class       TEXT,
    pattern     TEXT NOT NULL,
    first_blank TEXT NOT NULL,
    cards       INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'paused', 'cancelled')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
ALTER TABLE orders ADD COLUMN batch_id TEXT REFERENCES batches (id);
CREATE INDEX orders_batch ON orders (batch_id, seq);
