//! SQL for the Server Admin Log.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// An entry to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub logged_at: DateTime<Utc>,
    pub channel: String,
    pub nick: String,
    pub account: Option<String>,
    pub userhost: String,
    pub relayed_by: Option<String>,
    pub message: String,
    pub private: bool,
    pub via_private_message: bool,
    pub tasks: Vec<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub logged_at: String,
    pub channel: String,
    pub nick: String,
    pub account: Option<String>,
    pub userhost: String,
    pub relayed_by: Option<String>,
    pub message: String,
    pub private: bool,
    pub tasks: Vec<String>,
}

pub fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Inserts the entry and its task references; returns the new id.
pub fn insert(conn: &Connection, e: &NewEntry) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO sal_entry (logged_at, channel, nick, account, userhost, relayed_by, message, private, via_private_message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        time_text(&e.logged_at),
        e.channel,
        e.nick,
        e.account,
        e.userhost,
        e.relayed_by,
        e.message,
        e.private,
        e.via_private_message
    ])?;
    let id = conn.last_insert_rowid();
    let mut task = conn.prepare_cached("INSERT OR IGNORE INTO sal_task (task, entry_id) VALUES (?1, ?2)")?;
    for t in &e.tasks {
        task.execute(params![t, id])?;
    }
    Ok(id)
}

fn entry(conn: &Connection, row: &Row<'_>) -> rusqlite::Result<Entry> {
    let id: i64 = row.get(0)?;
    let tasks = conn
        .prepare_cached("SELECT task FROM sal_task WHERE entry_id = ?1 ORDER BY task")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(Entry {
        id,
        logged_at: row.get(1)?,
        channel: row.get(2)?,
        nick: row.get(3)?,
        account: row.get(4)?,
        userhost: row.get(5)?,
        relayed_by: row.get(6)?,
        message: row.get(7)?,
        private: row.get(8)?,
        tasks,
    })
}

const COLUMNS: &str = "id, logged_at, channel, nick, account, userhost, relayed_by, message, private";

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Entry>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM sal_entry WHERE id = ?1"))?
        .query_row([id], |r| entry(conn, r))
        .optional()
}

/// Every entry, oldest first (tests and exports).
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM sal_entry ORDER BY id"))?;
    let rows = stmt.query_map([], |r| entry(conn, r))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("s.sqlite3")).unwrap();
        let e = NewEntry {
            logged_at: "2026-11-22T10:00:00.5Z".parse().unwrap(),
            channel: "#sre".into(),
            nick: "alice".into(),
            account: Some("alice".into()),
            userhost: "a@sre/alice".into(),
            relayed_by: None,
            message: "restarted db151 T123".into(),
            private: false,
            via_private_message: false,
            tasks: vec!["T123".into()],
        };
        let id = insert(&conn, &e).unwrap();
        let got = get(&conn, id).unwrap().unwrap();
        assert_eq!(got.logged_at, "2026-11-22T10:00:00.500Z");
        assert_eq!(got.tasks, vec!["T123"]);
        assert_eq!(got.message, e.message);
        assert!(get(&conn, id + 1).unwrap().is_none());
    }
}
