-- When the school accepted an order's photo: a revocation covers only photos
-- accepted at or before it.
ALTER TABLE orders ADD COLUMN photo_accepted_at TEXT;
-- An event that could never be published (too large) is set aside, not left
-- to block every event behind it.
ALTER TABLE outbox ADD COLUMN set_aside_at TEXT;
-- Remembered early cancels are forgotten after 30 days.
CREATE INDEX early_cancels_at ON early_cancels (at);
