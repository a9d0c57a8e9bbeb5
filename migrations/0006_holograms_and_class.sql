-- The pupil's class (oddział), from the contract's optional student.class:
-- a class's cards are validated and handed over together.
ALTER TABLE cards ADD COLUMN class TEXT;
CREATE INDEX cards_class ON cards (class, id);
CREATE INDEX cards_number ON cards (card_number, id);
CREATE INDEX cards_student ON cards (student_id, id);

-- Hologram stickers are strictly accounted forms: every serial received is
-- in stock, on a card, or spoiled, and never deleted.
CREATE TABLE hologram_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    school_year TEXT NOT NULL,
    first       TEXT NOT NULL,
    count       INTEGER NOT NULL,
    operator    TEXT NOT NULL,
    received_at TEXT NOT NULL
);

CREATE TABLE holograms (
    serial         TEXT PRIMARY KEY,
    school_year    TEXT NOT NULL,
    delivery_id    INTEGER NOT NULL REFERENCES hologram_deliveries (id),
    status         TEXT NOT NULL CHECK (status IN ('stock', 'applied', 'spoiled')),
    -- Set once the hologram went on a card; kept when it is spoiled there.
    -- The card is the register's row: a duplicate may carry the same number
    -- on a new blank, with its eight fields empty.
    card_id        INTEGER REFERENCES cards (id),
    card_number    TEXT,
    slot           INTEGER CHECK (slot BETWEEN 1 AND 8),
    applied_at     TEXT,
    applied_by     TEXT,
    spoiled_reason TEXT,
    spoiled_at     TEXT,
    spoiled_by     TEXT
);
CREATE INDEX holograms_year ON holograms (school_year, status, serial);
-- A card field holds one sticker, and a school year is validated once.
CREATE UNIQUE INDEX holograms_card_slot ON holograms (card_id, slot)
    WHERE card_id IS NOT NULL;
CREATE UNIQUE INDEX holograms_card_year ON holograms (card_id, school_year)
    WHERE status = 'applied';
