-- The communicator's tools (issue #17): public status updates, the status notice on the wiki, and
-- the report published as a wiki page.
--
-- A public update (`!incident update`) is a timeline event of kind 'update'. SQLite cannot change
-- a CHECK constraint, so the timeline table is rebuilt with the new kind; nothing refers to it.
CREATE TABLE incident_event_new (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incident (id),
    at          TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('opened', 'state', 'note', 'log', 'role', 'impact', 'backdated',
                                                  'snooze', 'closed', 'reopened', 'report_filed', 'update')),
    actor       TEXT    NOT NULL,
    text        TEXT    NOT NULL DEFAULT '',
    from_state  TEXT,
    to_state    TEXT,
    role        TEXT,
    from_holder TEXT,
    to_holder   TEXT,
    sal_id      INTEGER REFERENCES sal_entry (id)
);
INSERT INTO incident_event_new SELECT id, incident_id, at, recorded_at, kind, actor, text, from_state, to_state, role,
                                      from_holder, to_holder, sal_id FROM incident_event;
DROP TABLE incident_event;
ALTER TABLE incident_event_new RENAME TO incident_event;
CREATE INDEX incident_event_incident ON incident_event (incident_id, at, id);

-- From now on `incident.last_update_at` is the time of the last public update (or of the opening
-- or reopening): the communicator is reminded when users have heard nothing for a while.

-- The report's wiki page, and the revision srebot last saved there: a later one is people's work.
ALTER TABLE incident ADD COLUMN report_page TEXT;
ALTER TABLE incident ADD COLUMN report_revid INTEGER;

-- The outbox carries the status notice too (sink 'mediawiki-status'): its rows name the incident
-- whose change asked for it instead of a SAL entry. Rebuilt so that `entry_id` may be NULL.
CREATE TABLE sal_outbox_new (
    id              INTEGER PRIMARY KEY,
    sink            TEXT    NOT NULL DEFAULT 'mediawiki',
    entry_id        INTEGER REFERENCES sal_entry (id),
    incident_id     INTEGER REFERENCES incident (id),
    action          TEXT    NOT NULL CHECK (action IN ('publish', 'update', 'remove', 'status')),
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,                -- UTC; due when <= now
    last_attempt_at TEXT,                            -- UTC of the latest failed attempt
    last_error      TEXT,                            -- why it failed: short, secret-free
    done_at         TEXT,                            -- NULL: still to do
    CHECK ((entry_id IS NULL) != (incident_id IS NULL))
);
INSERT INTO sal_outbox_new (id, sink, entry_id, action, created_at, attempts, next_attempt_at, last_attempt_at,
                            last_error, done_at)
    SELECT id, sink, entry_id, action, created_at, attempts, next_attempt_at, last_attempt_at, last_error, done_at
    FROM sal_outbox;
DROP TABLE sal_outbox;
ALTER TABLE sal_outbox_new RENAME TO sal_outbox;
CREATE INDEX sal_outbox_pending ON sal_outbox (sink, done_at, next_attempt_at);
