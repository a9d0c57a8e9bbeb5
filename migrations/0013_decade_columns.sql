-- Ten years of a school, continued (issue 16): columns that spare the
-- station a walk through every order, and the record of backups.

-- A batch's orders by their place in the queue: the next card of the first
-- running batch is found from indexes, whatever the school has waiting.
ALTER TABLE batch_orders ADD COLUMN seq INTEGER;
UPDATE batch_orders SET seq = (SELECT o.seq FROM orders o WHERE o.order_id = batch_orders.order_id);
CREATE INDEX batch_orders_seq ON batch_orders (seq);
CREATE INDEX batch_orders_batch_seq ON batch_orders (batch_id, seq);

-- The register's columns on the card itself: its pupil's date of birth,
-- and the text a search looks in (name, number, class, lowercased by the
-- station, which knows Polish letters; filled for older cards at start).
ALTER TABLE cards ADD COLUMN birth_date TEXT;
UPDATE cards SET birth_date = (SELECT json_extract(o.data, '$.birth_date') FROM orders o
                               WHERE o.order_id = cards.order_id);
ALTER TABLE cards ADD COLUMN search TEXT;
CREATE INDEX cards_unsearchable ON cards (id) WHERE search IS NULL;

-- Every backup made, so a failed one is seen on the page and in the state.
CREATE TABLE backups (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    file    TEXT,
    bytes   INTEGER,
    ok      INTEGER NOT NULL,
    message TEXT NOT NULL
);
