-- Ten years of a school answer from indexes, not from scans of the whole
-- register (issue 16).
-- The state report counts blanks in the printer and in stock per card.
CREATE INDEX blanks_status ON blanks (status);
-- The register of a year, by the date on the card.
CREATE INDEX cards_issue_date ON cards (issue_date);
-- Cards and spoils recorded without a serial, for the blanks accounting:
-- few, found without reading every card.
CREATE INDEX cards_unnumbered ON cards (id) WHERE blank_serial IS NULL;
CREATE INDEX spoiled_unnumbered ON spoiled (id) WHERE blank_serial IS NULL;
-- A batch's cards, for its protocol.
CREATE INDEX cards_batch ON cards (batch_id) WHERE batch_id IS NOT NULL;
