-- Channel names now compare by RFC 1459's case rule everywhere (ASCII letters, and [ ] \ ~ the
-- same as { } | ^), so that every spelling a server may call the same channel finds the same
-- incidents and alerts. Two keys stored before this folded otherwise:
--
-- A security channel's incidents are numbered in a scope named after the channel, which 0007
-- folded with lower() (ASCII). Public incidents keep the scope 'public'.
UPDATE incident
SET scope = replace(replace(replace(replace(scope, '[', '{'), ']', '}'), '\', '|'), '~', '^')
WHERE scope != 'public';

-- The channels an alert was routed to were kept lowercased. (A name with non-ASCII capitals,
-- which Rust's to_lowercase folded and RFC 1459 does not, keeps its old key: SQLite's lower()
-- cannot redo it, and IRC channel names with them are rare.)
UPDATE alert_channel
SET channel = replace(replace(replace(replace(channel, '[', '{'), ']', '}'), '\', '|'), '~', '^');

-- Two stored keys that fold alike cannot exist: config has refused two channels that RFC 1459
-- calls one since before 0007 and 0012.
