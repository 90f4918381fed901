-- The full-text index is written once per group commit instead of once per entry.
--
-- With an insert trigger every `INSERT INTO sal_entry` wrote its own FTS5 segment (FTS5 flushes
-- its pending terms whenever a savepoint or statement transaction opens, and every call in a
-- group commit runs in a savepoint), and the index spent the bot's CPU merging them. Now the
-- store indexes every entry past `indexed_upto` with one statement at the end of each batch,
-- inside the same transaction (`store::sal::index_new_entries`): an entry is searchable from the
-- moment it is committed, as before.
DROP TRIGGER sal_fts_insert;

CREATE TABLE sal_fts_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL                    -- every sal_entry.id up to this is indexed
);

-- Until now the trigger indexed every entry.
INSERT INTO sal_fts_state (id, indexed_upto) SELECT 1, coalesce(max(id), 0) FROM sal_entry;

-- An entry not indexed yet has nothing in the index to delete: deleting what is not there
-- would corrupt an external-content FTS5 table. Its current text is indexed with the batch.
DROP TRIGGER sal_fts_delete;
CREATE TRIGGER sal_fts_delete AFTER DELETE ON sal_entry
WHEN old.id <= (SELECT indexed_upto FROM sal_fts_state) BEGIN
    INSERT INTO sal_fts (sal_fts, rowid, message) VALUES ('delete', old.id, old.message);
END;

DROP TRIGGER sal_fts_update;
CREATE TRIGGER sal_fts_update AFTER UPDATE OF message ON sal_entry
WHEN old.id <= (SELECT indexed_upto FROM sal_fts_state) BEGIN
    INSERT INTO sal_fts (sal_fts, rowid, message) VALUES ('delete', old.id, old.message);
    INSERT INTO sal_fts (rowid, message) VALUES (new.id, new.message);
END;

-- Each commit now adds one segment; merging them four at a time (the default) spent more CPU
-- than writing them. Sixteen at a level still keeps a search to a few dozen segments at most.
INSERT INTO sal_fts (sal_fts, rank) VALUES ('automerge', 16);
