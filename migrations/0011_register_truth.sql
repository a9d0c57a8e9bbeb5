-- The register records what the card says and the blank it is on.
--
-- The date of issue is the one printed on the card (`card.issue_date`), not
-- the moment (UTC) the printer finished it: after midnight in Poland, or on
-- 1 January, the two differ.
ALTER TABLE cards ADD COLUMN issue_date TEXT;
UPDATE cards SET issue_date = COALESCE(
    (SELECT json_extract(o.data, '$.issue_date') FROM orders o WHERE o.order_id = cards.order_id),
    substr(printed_at, 1, 10));

-- A serial names a blank only with its pattern: MEiN-I/1 000101 and
-- MEiN-I/3-N 000101 are two forms.
ALTER TABLE cards ADD COLUMN blank_pattern TEXT;
UPDATE cards SET blank_pattern = (SELECT pattern FROM orders o WHERE o.order_id = cards.order_id)
    WHERE blank_serial IS NOT NULL;
ALTER TABLE spoiled ADD COLUMN blank_pattern TEXT;
UPDATE spoiled SET blank_pattern = (SELECT pattern FROM orders o WHERE o.order_id = spoiled.order_id)
    WHERE blank_serial IS NOT NULL;

-- One card per order, one card or spoil per blank: the database refuses
-- what the store must never write.
CREATE UNIQUE INDEX cards_order ON cards (order_id);
CREATE UNIQUE INDEX cards_blank ON cards (blank_serial, blank_pattern)
    WHERE blank_serial IS NOT NULL;
CREATE UNIQUE INDEX spoiled_blank ON spoiled (blank_serial, blank_pattern)
    WHERE blank_serial IS NOT NULL;
CREATE INDEX spoiled_order ON spoiled (order_id);

-- Why a running batch stopped by itself (its next card found no blank
-- loaded): the operator loads blanks and resumes it.
ALTER TABLE batches ADD COLUMN paused_reason TEXT;

-- A range of serials recorded in error (a mistyped delivery) is `voided`:
-- kept, with the reason and who, never counted as forms that exist.
-- SQLite cannot change a CHECK constraint, so both tables are rebuilt.
CREATE TABLE blanks_new (
    pattern     TEXT NOT NULL,
    serial      TEXT NOT NULL,
    delivery_id INTEGER NOT NULL REFERENCES blank_deliveries (id),
    status      TEXT NOT NULL
        CHECK (status IN ('stock', 'loaded', 'printed', 'spoiled', 'destroyed', 'returned', 'voided')),
    load_seq    INTEGER,
    loaded_by   TEXT,
    order_id    TEXT,
    cause       TEXT,
    used_at     TEXT,
    used_by     TEXT,
    -- Unloaded while a card had it reserved: if that card turns out never
    -- to have taken it, it went out with the stack, back to stock.
    unload_when_free INTEGER NOT NULL DEFAULT 0,
    -- The batch a stack was loaded for: cancelling it unloads what is left
    -- of that stack, not another batch's.
    batch_id    TEXT,
    PRIMARY KEY (pattern, serial)
);
INSERT INTO blanks_new (pattern, serial, delivery_id, status, load_seq, loaded_by,
                        order_id, cause, used_at, used_by)
    SELECT pattern, serial, delivery_id, status, load_seq, loaded_by,
           order_id, cause, used_at, used_by FROM blanks;
DROP TABLE blanks;
ALTER TABLE blanks_new RENAME TO blanks;
CREATE INDEX blanks_loaded ON blanks (pattern, status, load_seq);
CREATE INDEX blanks_order ON blanks (order_id);
-- At most one loaded blank is reserved by a card.
CREATE UNIQUE INDEX blanks_reserved ON blanks (order_id)
    WHERE status = 'loaded' AND order_id IS NOT NULL;

CREATE TABLE holograms_new (
    serial         TEXT PRIMARY KEY,
    school_year    TEXT NOT NULL,
    delivery_id    INTEGER NOT NULL REFERENCES hologram_deliveries (id),
    status         TEXT NOT NULL CHECK (status IN ('stock', 'applied', 'spoiled', 'voided')),
    card_id        INTEGER REFERENCES cards (id),
    card_number    TEXT,
    slot           INTEGER CHECK (slot BETWEEN 1 AND 8),
    applied_at     TEXT,
    applied_by     TEXT,
    spoiled_reason TEXT,
    spoiled_at     TEXT,
    spoiled_by     TEXT
);
INSERT INTO holograms_new SELECT serial, school_year, delivery_id, status, card_id, card_number,
                                 slot, applied_at, applied_by, spoiled_reason, spoiled_at, spoiled_by
                            FROM holograms;
DROP TABLE holograms;
ALTER TABLE holograms_new RENAME TO holograms;
CREATE INDEX holograms_year ON holograms (school_year, status, serial);
CREATE UNIQUE INDEX holograms_card_slot ON holograms (card_id, slot) WHERE card_id IS NOT NULL;
CREATE UNIQUE INDEX holograms_card_year ON holograms (card_id, school_year)
    WHERE status = 'applied';

-- The audit log by what it is about, for a card's or an order's story.
CREATE INDEX audit_target ON audit (target, id);
