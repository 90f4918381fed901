-- Alerts from Alertmanager and other monitoring (Icinga), each kept by its fingerprint with its
-- firing/resolved history, the channels it was routed to, who acknowledged it, and the incidents
-- it joined.
CREATE TABLE alert (
    id           INTEGER PRIMARY KEY,
    fingerprint  TEXT    NOT NULL UNIQUE,                          -- 'am:<fingerprint>' or '<source>:<id>'
    source       TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    instance     TEXT    NOT NULL DEFAULT '',
    severity     TEXT    NOT NULL DEFAULT '',
    summary      TEXT    NOT NULL DEFAULT '',
    url          TEXT    NOT NULL DEFAULT '',
    labels       TEXT    NOT NULL DEFAULT '{}',                     -- JSON object, for silences
    status       TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at    TEXT    NOT NULL,                                  -- this episode's start
    ends_at      TEXT,                                              -- set when resolved
    private      INTEGER NOT NULL CHECK (private IN (0, 1)),         -- routed to a security channel
    first_seen   TEXT    NOT NULL,
    last_seen    TEXT    NOT NULL,
    announced_at TEXT,                                              -- last line said about it
    acked_by     TEXT,                                              -- services account, this episode
    ack_note     TEXT,
    acked_at     TEXT
);

CREATE INDEX alert_status ON alert (status, starts_at);

-- Where an alert was routed.
CREATE TABLE alert_channel (
    alert_id INTEGER NOT NULL REFERENCES alert (id),
    channel  TEXT    NOT NULL,                                      -- lowercased
    PRIMARY KEY (alert_id, channel)
) WITHOUT ROWID;

CREATE INDEX alert_channel_channel ON alert_channel (channel, alert_id);

-- Every transition: fired (with its startsAt) and resolved (with its endsAt).
CREATE TABLE alert_event (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alert (id),
    status      TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    at          TEXT    NOT NULL,
    received_at TEXT    NOT NULL
);

CREATE INDEX alert_event_at ON alert_event (at, alert_id);
CREATE INDEX alert_event_alert ON alert_event (alert_id, at);

-- Alerts that joined an incident: automatically (routed to its channel while it was open) or
-- named with `!incident open --from-alert`.
CREATE TABLE alert_incident (
    alert_id    INTEGER NOT NULL REFERENCES alert (id),
    incident_id INTEGER NOT NULL REFERENCES incident (id),
    linked_at   TEXT    NOT NULL,
    explicit    INTEGER NOT NULL CHECK (explicit IN (0, 1)),
    PRIMARY KEY (alert_id, incident_id)
) WITHOUT ROWID;

CREATE INDEX alert_incident_incident ON alert_incident (incident_id);
