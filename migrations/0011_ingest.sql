-- Entries from machines (the ingest API, `srebot log`), from the past (`srebot sal
-- import-wiki`), and their mentions of tasks on Phorge.

-- An imported entry carries the key of the wiki line it came from (channel, day, time, nick,
-- text and which occurrence of that same line on that day), so a second import of the same page
-- finds it and adds nothing. NULL: not imported (logged on IRC or through the API).
ALTER TABLE sal_entry ADD COLUMN import_key TEXT;
CREATE UNIQUE INDEX sal_entry_import_key ON sal_entry (import_key) WHERE import_key IS NOT NULL;

-- The idempotency keys of API requests: the same key from the same client within 24 hours
-- answers with the entry it made the first time instead of making a second one. Written in the
-- same transaction as the entry. Rows older than a day are pruned as new ones arrive.
CREATE TABLE ingest_request (
    client          TEXT    NOT NULL,                 -- [[ingest.clients]] name
    idempotency_key TEXT    NOT NULL,
    entry_id        INTEGER NOT NULL REFERENCES sal_entry (id),
    received_at     TEXT    NOT NULL,                 -- UTC, RFC 3339 with milliseconds
    PRIMARY KEY (client, idempotency_key)
) WITHOUT ROWID;

CREATE INDEX ingest_request_received ON ingest_request (received_at);

-- Task mentions ([publish.phorge]): each (entry, task) commented on, or found restricted, once.
-- An outbox row covers every task of its entry; this is what makes a retry skip the tasks that
-- were already done.
CREATE TABLE phorge_mention (
    entry_id INTEGER NOT NULL REFERENCES sal_entry (id),
    task     TEXT    NOT NULL,                        -- T123456
    outcome  TEXT    NOT NULL CHECK (outcome IN ('commented', 'restricted', 'missing')),
    at       TEXT    NOT NULL,                        -- UTC, RFC 3339 with milliseconds
    PRIMARY KEY (entry_id, task)
) WITHOUT ROWID;
