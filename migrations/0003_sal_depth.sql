-- The Server Admin Log in depth: corrections with an audit trail, full-text search, and the
-- outbox of the publishing sinks (MediaWiki).

-- Nothing is ever deleted. `message` is the current text (after amendments); the text before
-- each amendment, and the why of every correction, is in `sal_correction`. `hidden_at` is set by
-- an undo or a redaction: hidden entries are left out of queries, the web view and publishing.
-- The state lives on the row (rather than being derived from `sal_correction` on every read) so
-- that every query filters it with a plain `hidden_at IS NULL`; `sal_correction` is the why.
ALTER TABLE sal_entry ADD COLUMN hidden_at TEXT;      -- UTC; NULL: visible
ALTER TABLE sal_entry ADD COLUMN amended_at TEXT;     -- UTC of the latest amendment; NULL: never

-- One row per correction: who, when, why, and the text it replaced.
CREATE TABLE sal_correction (
    id            INTEGER PRIMARY KEY,
    entry_id      INTEGER NOT NULL REFERENCES sal_entry (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('undo', 'redact', 'amend')),
    at            TEXT    NOT NULL,                  -- UTC, RFC 3339 with milliseconds
    actor_nick    TEXT    NOT NULL,
    actor_account TEXT,                              -- services account of the actor
    reason        TEXT    NOT NULL DEFAULT '',       -- redactions must give one
    old_text      TEXT    NOT NULL,                  -- the entry's text before this correction
    new_text      TEXT                               -- amendments: the text after it
);

CREATE INDEX sal_correction_entry ON sal_correction (entry_id, id);

-- Undo looks for the author's latest entry.
CREATE INDEX sal_entry_account ON sal_entry (account, id);

-- Full-text search over the current text of every entry (an external-content FTS5 table: the
-- text is stored once, in sal_entry). The triggers keep it in step with inserts, amendments
-- and (should one ever happen) deletions.
-- Prefix indexes make `db11*` searches cheap (without them FTS5 merges every matching term).
CREATE VIRTUAL TABLE sal_fts USING fts5 (message, content = 'sal_entry', content_rowid = 'id', tokenize = 'unicode61',
                                         prefix = '2 3 4 5');
INSERT INTO sal_fts (sal_fts) VALUES ('rebuild');

CREATE TRIGGER sal_fts_insert AFTER INSERT ON sal_entry BEGIN
    INSERT INTO sal_fts (rowid, message) VALUES (new.id, new.message);
END;

CREATE TRIGGER sal_fts_delete AFTER DELETE ON sal_entry BEGIN
    INSERT INTO sal_fts (sal_fts, rowid, message) VALUES ('delete', old.id, old.message);
END;

CREATE TRIGGER sal_fts_update AFTER UPDATE OF message ON sal_entry BEGIN
    INSERT INTO sal_fts (sal_fts, rowid, message) VALUES ('delete', old.id, old.message);
    INSERT INTO sal_fts (rowid, message) VALUES (new.id, new.message);
END;

-- Work for the publishing sinks. A row is written in the same transaction as the entry or the
-- correction that causes it, so an acknowledged entry cannot miss its publication; the sink is
-- edited only from here. `action` records why the row exists; the publisher always publishes
-- the entry's current state (visible text, or gone), so rows are idempotent and may be merged.
CREATE TABLE sal_outbox (
    id              INTEGER PRIMARY KEY,
    sink            TEXT    NOT NULL DEFAULT 'mediawiki',
    entry_id        INTEGER NOT NULL REFERENCES sal_entry (id),
    action          TEXT    NOT NULL CHECK (action IN ('publish', 'update', 'remove')),
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,                -- UTC; due when <= now
    last_attempt_at TEXT,                            -- UTC of the latest failed attempt
    last_error      TEXT,                            -- why it failed: short, secret-free
    done_at         TEXT                             -- NULL: still to do
);

CREATE INDEX sal_outbox_pending ON sal_outbox (sink, done_at, next_attempt_at);
