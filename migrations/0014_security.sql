-- Issue 17 (security review).
--
-- API tokens expire. Tokens made before this migration had no end: they
-- get one 90 days from the upgrade, the same as a new token's default, so
-- that no script stops the day the station is upgraded.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
UPDATE api_tokens
   SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+90 days')
 WHERE expires_at IS NULL;

-- The retention pass deletes audit lines by age, hourly, on a log that
-- grows for years.
CREATE INDEX audit_at ON audit (at);

-- What each retention pass removed, for the page (the audit log it prunes
-- cannot be where that is read).
CREATE TABLE retention_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT NOT NULL,
    orders_expired INTEGER NOT NULL,
    audit_deleted  INTEGER NOT NULL,
    outbox_deleted INTEGER NOT NULL
);

-- A cancelled order keeps only what recognises its redelivery (its id and
-- content hash); orders cancelled before this kept names, birth date,
-- class, student id and card number for ever.
UPDATE orders
   SET data = '{}', student_id = '', card_number = '', photo = NULL,
       hold_code = NULL, hold_message = NULL
 WHERE status = 'cancelled';
