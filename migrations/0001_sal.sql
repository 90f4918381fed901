-- The Server Admin Log: one row per acknowledged `!log`.
CREATE TABLE sal_entry (
    id          INTEGER PRIMARY KEY,
    logged_at   TEXT    NOT NULL,            -- UTC, RFC 3339 with milliseconds (server-time when given)
    channel     TEXT    NOT NULL,            -- the channel the entry belongs to
    nick        TEXT    NOT NULL,            -- who did it (for relayed lines, the attributed user)
    account     TEXT,                        -- services account of the sender, NULL if none
    userhost    TEXT    NOT NULL,            -- user@host of the author (as attributed)
    relayed_by  TEXT,                        -- relay account that sent the line on the author's behalf
    message     TEXT    NOT NULL,            -- formatting codes stripped
    private     INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),  -- made in a security channel
    via_private_message INTEGER NOT NULL DEFAULT 0 CHECK (via_private_message IN (0, 1))
);

CREATE INDEX sal_entry_channel ON sal_entry (channel, id);

-- Task references (`T123456`) found as whole words in an entry.
CREATE TABLE sal_task (
    task     TEXT    NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES sal_entry (id),
    PRIMARY KEY (task, entry_id)
) WITHOUT ROWID;
