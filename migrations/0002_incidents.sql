-- Incidents, the two roles of the incident process, and every event of their timeline.
CREATE TABLE incident (
    id               INTEGER PRIMARY KEY,
    channel          TEXT    NOT NULL,
    private          INTEGER NOT NULL CHECK (private IN (0, 1)),   -- opened in a security channel
    summary          TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved', 'closed')),
    opened_at        TEXT    NOT NULL,
    opened_by        TEXT    NOT NULL,                              -- services account
    resolved_at      TEXT,                                          -- impact ended
    closed_at        TEXT,
    close_summary    TEXT,
    user_facing      INTEGER NOT NULL DEFAULT 0 CHECK (user_facing IN (0, 1)),
    data_loss        INTEGER NOT NULL DEFAULT 0 CHECK (data_loss IN (0, 1)),
    report_url       TEXT,
    last_update_at   TEXT    NOT NULL,                              -- last state change or note
    snoozed_until    TEXT,                                          -- no update reminders before this
    last_reminded_at TEXT,
    report_nagged_at TEXT
);

CREATE INDEX incident_channel_state ON incident (channel, state);

-- Who held which role when. A claim or hand-off ends one tenure and starts the next.
CREATE TABLE incident_tenure (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incident (id),
    role        TEXT    NOT NULL CHECK (role IN ('comms', 'diagnosis')),
    account     TEXT    NOT NULL,
    nick        TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    ended_at    TEXT,
    handed_by   TEXT                                                -- account that handed it over
);

CREATE INDEX incident_tenure_incident ON incident_tenure (incident_id, role, started_at);

-- The timeline. `at` is when it happened (corrected for backdated events); `recorded_at` is when
-- the bot heard of it.
CREATE TABLE incident_event (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incident (id),
    at          TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('opened', 'state', 'note', 'log', 'role', 'impact', 'backdated',
                                                  'snooze', 'closed', 'reopened', 'report_filed')),
    actor       TEXT    NOT NULL,
    text        TEXT    NOT NULL DEFAULT '',
    from_state  TEXT,
    to_state    TEXT,
    role        TEXT,
    from_holder TEXT,
    to_holder   TEXT,
    sal_id      INTEGER REFERENCES sal_entry (id)
);

CREATE INDEX incident_event_incident ON incident_event (incident_id, at, id);
