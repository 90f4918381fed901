-- IRCv3 STS policies the servers gave us over TLS: while one holds, the bot connects to that
-- host only with TLS, on `port`. Kept across restarts; removed when a server says duration=0.
CREATE TABLE sts_policy (
    host TEXT PRIMARY KEY,
    port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    -- RFC 3339, UTC.
    expires_at TEXT NOT NULL
);
