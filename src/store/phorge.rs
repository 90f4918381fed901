//! SQL of Phorge task mentions: which tasks an entry names (`sal_task`) and which of them the
//! publisher has already mentioned (`phorge_mention`), so a retry never comments twice.

use rusqlite::{params, Connection};

/// Whether entry `id` names a task.
pub(crate) fn mentions_tasks(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM sal_task WHERE entry_id = ?1)")?.query_row([id], |r| r.get(0))
}

/// The tasks of entry `id` already mentioned (or found restricted or missing).
pub(crate) fn mentioned(conn: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT task FROM phorge_mention WHERE entry_id = ?1")?.query_map([id], |r| r.get(0))?.collect()
}

/// Records what became of mentioning `task` for entry `id` (`outcome`: commented, restricted,
/// missing) at `at`; recording it twice keeps the first.
pub(crate) fn record_mention(
    conn: &Connection,
    id: i64,
    task: &str,
    outcome: &str,
    at: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT OR IGNORE INTO phorge_mention (entry_id, task, outcome, at) VALUES (?1, ?2, ?3, ?4)",
        params![id, task, outcome, at],
    )
}
