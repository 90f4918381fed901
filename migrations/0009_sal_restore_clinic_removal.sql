-- `!sal restore #id` brings back an entry its author withdrew by mistake. The restore is a
-- correction like the others (who, when, the text it brought back), so the audit trail shows
-- undo, then restore. SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- with the same columns and rows, and its index made again.
CREATE TABLE sal_correction_new (
    id            INTEGER PRIMARY KEY,
    entry_id      INTEGER NOT NULL REFERENCES sal_entry (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('undo', 'redact', 'amend', 'restore')),
    at            TEXT    NOT NULL,                  -- UTC, RFC 3339 with milliseconds
    actor_nick    TEXT    NOT NULL,
    actor_account TEXT,                              -- services account of the actor
    reason        TEXT    NOT NULL DEFAULT '',       -- redactions must give one
    old_text      TEXT    NOT NULL,                  -- the entry's text before this correction
    new_text      TEXT                               -- amendments: the text after it
);

INSERT INTO sal_correction_new (id, entry_id, kind, at, actor_nick, actor_account, reason, old_text, new_text)
SELECT id, entry_id, kind, at, actor_nick, actor_account, reason, old_text, new_text FROM sal_correction;

DROP TABLE sal_correction;
ALTER TABLE sal_correction_new RENAME TO sal_correction;
CREATE INDEX sal_correction_entry ON sal_correction (entry_id, id);

-- Weeks taken out of the clinic rotation: `srebot clinic remove` deletes a week of the base
-- rotation, `!clinic unset` the changes made on IRC for a week. The rows go; this keeps what
-- they said, who removed them and when.
CREATE TABLE clinic_removal (
    id         INTEGER PRIMARY KEY,
    week_start TEXT NOT NULL,                    -- YYYY-MM-DD
    what       TEXT NOT NULL CHECK (what IN ('base', 'changes')),
    clinician  TEXT,                             -- the base row, or the duty the changes made
    backup     TEXT,
    team       TEXT,
    removed_by TEXT NOT NULL,
    removed_at TEXT NOT NULL
);
