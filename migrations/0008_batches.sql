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
-- Membership in a table of its own, not a column of `orders`: an order's
-- row holds its photo, and SQLite rewrites a whole row to change one column
-- (2,000 orders put in a batch wrote 170 MB and took 97 s that way).
CREATE TABLE batch_orders (
    order_id TEXT PRIMARY KEY REFERENCES orders (order_id),
    batch_id TEXT NOT NULL REFERENCES batches (id)
);
CREATE INDEX batch_orders_batch ON batch_orders (batch_id);
