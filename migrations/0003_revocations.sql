-- Revocations, so an order that arrives after its photo was revoked (the
-- broker delivers out of order) is held rather than printed.
CREATE TABLE revocations (
    student_id TEXT NOT NULL,
    revoked_at TEXT NOT NULL
);
CREATE INDEX revocations_student ON revocations (student_id);
