-- Numbered card blanks (druki ścisłego zarachowania): every serial received
-- is in stock, loaded in the printer, printed on, spoiled, destroyed or
-- returned, and never deleted.
CREATE TABLE blank_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern     TEXT NOT NULL,
    first       TEXT NOT NULL,
    count       INTEGER NOT NULL,
    operator    TEXT NOT NULL,
    received_at TEXT NOT NULL
);

CREATE TABLE blanks (
    pattern     TEXT NOT NULL,
    serial      TEXT NOT NULL,
    delivery_id INTEGER NOT NULL REFERENCES blank_deliveries (id),
    status      TEXT NOT NULL
        CHECK (status IN ('stock', 'loaded', 'printed', 'spoiled', 'destroyed', 'returned')),
    -- The order of the stack in the feeder: the printer takes them in turn.
    load_seq    INTEGER,
    loaded_by   TEXT,
    order_id    TEXT,
    cause       TEXT,
    used_at     TEXT,
    used_by     TEXT,
    PRIMARY KEY (pattern, serial)
);
CREATE INDEX blanks_loaded ON blanks (pattern, status, load_seq);
-- The blank a card reserved or used, found from the card's order.
CREATE INDEX blanks_order ON blanks (order_id);
