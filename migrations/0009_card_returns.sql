-- A card handed back (a pupil who left, a damaged card): it stays in the
-- register, marked, and takes no more holograms.
ALTER TABLE cards ADD COLUMN returned_at TEXT;
ALTER TABLE cards ADD COLUMN returned_reason TEXT;
ALTER TABLE cards ADD COLUMN returned_by TEXT;
