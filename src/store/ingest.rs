//! SQL of entries that come from machines and from the past: API idempotency keys, and the
//! import keys of entries read from a wiki page.

use super::sal::{self, time_text, NewEntry};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};

/// How long an idempotency key holds: the same key within this answers with the first entry.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);

/// The entry `client` made with `key` within the window before `now`, if any.
pub fn find_request(conn: &Connection, client: &str, key: &str, now: DateTime<Utc>) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT entry_id FROM ingest_request WHERE client = ?1 AND idempotency_key = ?2 AND received_at >= ?3",
    )?
    .query_row(params![client, key, time_text(&(now - IDEMPOTENCY_WINDOW))], |r| r.get(0))
    .optional()
}

/// Remembers that `client`'s `key` made entry `entry_id`, replacing an expired use of the key,
/// and forgets keys older than the window.
pub fn record_request(
    conn: &Connection,
    client: &str,
    key: &str,
    entry_id: i64,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM ingest_request WHERE received_at < ?1")?
        .execute([time_text(&(now - IDEMPOTENCY_WINDOW))])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO ingest_request (client, idempotency_key, entry_id, received_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![client, key, entry_id, time_text(&now)])?;
    Ok(())
}

/// Stores an imported entry under `import_key` unless an entry with that key exists; returns the
/// new id, or None when it was already there. Imported entries are never queued for publishing.
pub fn import(conn: &Connection, entry: &NewEntry, import_key: &str) -> rusqlite::Result<Option<i64>> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT id FROM sal_entry WHERE import_key = ?1")?
        .query_row([import_key], |r| r.get(0))
        .optional()?;
    if known.is_some() {
        return Ok(None);
    }
    let id = sal::insert(conn, entry)?;
    conn.prepare_cached("UPDATE sal_entry SET import_key = ?1 WHERE id = ?2")?.execute(params![import_key, id])?;
    Ok(Some(id))
}

/// Whether entry `id` was imported.
pub fn is_imported(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.query_row("SELECT import_key IS NOT NULL FROM sal_entry WHERE id = ?1", [id], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(message: &str) -> NewEntry {
        NewEntry {
            logged_at: "2026-11-22T10:00:00Z".parse().unwrap(),
            channel: "#sre".into(),
            nick: "deploy".into(),
            account: None,
            userhost: "deploy@mw151".into(),
            relayed_by: Some("scap".into()),
            message: message.into(),
            private: false,
            via_private_message: false,
            tasks: vec![],
        }
    }

    #[test]
    fn keys_hold_for_a_day_per_client() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("i.sqlite3")).unwrap();
        let t0: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let id = sal::insert(&conn, &entry("x")).unwrap();
        record_request(&conn, "scap", "k1", id, t0).unwrap();
        assert_eq!(find_request(&conn, "scap", "k1", t0 + Duration::hours(23)).unwrap(), Some(id));
        assert_eq!(find_request(&conn, "puppet", "k1", t0).unwrap(), None, "keys are per client");
        assert_eq!(find_request(&conn, "scap", "k1", t0 + Duration::hours(25)).unwrap(), None);
        // A later request prunes the expired key; the key may then be used again.
        let id2 = sal::insert(&conn, &entry("y")).unwrap();
        record_request(&conn, "scap", "k1", id2, t0 + Duration::hours(25)).unwrap();
        let rows: i64 = conn.query_row("SELECT count(*) FROM ingest_request", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn an_import_key_is_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("i.sqlite3")).unwrap();
        let first = import(&conn, &entry("old line"), "#sre|2020-01-01|10:00|a|old line|0").unwrap();
        assert!(first.is_some());
        assert_eq!(import(&conn, &entry("old line"), "#sre|2020-01-01|10:00|a|old line|0").unwrap(), None);
        assert!(is_imported(&conn, first.unwrap()).unwrap());
        let logged = sal::insert(&conn, &entry("live")).unwrap();
        assert!(!is_imported(&conn, logged).unwrap());
    }
}
