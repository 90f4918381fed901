//! What the web view reads, on its own read-only connections (SQLite's WAL lets them read while
//! the store thread writes), and never anything from a security channel or a hidden entry.

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A few read-only connections, reused across requests.
pub struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    pub fn new(path: PathBuf) -> Arc<Pool> {
        Arc::new(Pool { path, idle: Mutex::new(Vec::new()) })
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        if let Some(c) = self.idle.lock().unwrap().pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        c.busy_timeout(std::time::Duration::from_secs(2))?;
        Ok(c)
    }

    /// Runs `f` on a pooled connection off the async threads.
    pub async fn read<R, F>(self: &Arc<Self>, f: F) -> Result<R, String>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.take().map_err(|e| e.to_string())?;
            let result = f(&conn).map_err(|e| e.to_string());
            let mut idle = pool.idle.lock().unwrap();
            if idle.len() < 8 {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// One public entry, as the web shows it (text not yet masked).
#[derive(Debug, Clone)]
pub struct SalRow {
    pub id: i64,
    pub logged_at: String,
    pub channel: String,
    pub nick: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct SalFilter {
    /// Exact channel name as configured (public channels only; the caller checks).
    pub channel: Option<String>,
    /// An FTS5 query (already made safe by `store::sal::fts_query`).
    pub fts: Option<String>,
    /// Entries before this UTC date.
    pub until: Option<NaiveDate>,
    /// Entries with an id below this (paging).
    pub before: Option<i64>,
}

const PUBLIC: &str = "e.private = 0 AND e.hidden_at IS NULL";

pub fn sal_page(conn: &Connection, f: &SalFilter, limit: usize) -> rusqlite::Result<Vec<SalRow>> {
    let mut bound = f.before.unwrap_or(i64::MAX);
    if let Some(day) = f.until {
        let cutoff = format!("{day}T00:00:00.000Z");
        // Walks the time index down from the cutoff: one row read, not every row before it.
        let last: Option<i64> = conn
            .prepare_cached("SELECT id FROM sal_entry WHERE logged_at < ?1 ORDER BY logged_at DESC, id DESC LIMIT 1")?
            .query_row([cutoff], |r| r.get(0))
            .optional()?;
        bound = bound.min(last.map(|l| l + 1).unwrap_or(0));
    }
    let limit = limit as i64;
    let map = |r: &rusqlite::Row<'_>| {
        Ok(SalRow { id: r.get(0)?, logged_at: r.get(1)?, channel: r.get(2)?, nick: r.get(3)?, message: r.get(4)? })
    };
    let cols = "e.id, e.logged_at, e.channel, e.nick, e.message";
    match (&f.fts, &f.channel) {
        (Some(q), channel) => conn
            .prepare_cached(&format!(
                "SELECT {cols} FROM sal_fts JOIN sal_entry e ON e.id = sal_fts.rowid
                 WHERE sal_fts MATCH ?1 AND sal_fts.rowid < ?2 AND {PUBLIC} AND (?3 IS NULL OR e.channel = ?3)
                 ORDER BY sal_fts.rowid DESC LIMIT ?4"
            ))?
            .query_map(rusqlite::params![q, bound, channel, limit], map)?
            .collect(),
        (None, Some(channel)) => conn
            .prepare_cached(&format!(
                "SELECT {cols} FROM sal_entry e WHERE e.channel = ?1 AND e.id < ?2 AND {PUBLIC} ORDER BY e.id DESC LIMIT ?3"
            ))?
            .query_map(rusqlite::params![channel, bound, limit], map)?
            .collect(),
        (None, None) => conn
            .prepare_cached(&format!("SELECT {cols} FROM sal_entry e WHERE e.id < ?1 AND {PUBLIC} ORDER BY e.id DESC LIMIT ?2"))?
            .query_map(rusqlite::params![bound, limit], map)?
            .collect(),
    }
}

pub fn sal_entry(conn: &Connection, id: i64) -> rusqlite::Result<Option<SalRow>> {
    conn.prepare_cached(&format!(
        "SELECT e.id, e.logged_at, e.channel, e.nick, e.message FROM sal_entry e WHERE e.id = ?1 AND {PUBLIC}"
    ))?
    .query_row([id], |r| {
        Ok(SalRow { id: r.get(0)?, logged_at: r.get(1)?, channel: r.get(2)?, nick: r.get(3)?, message: r.get(4)? })
    })
    .optional()
}

/// Public incidents not closed, for the metrics gauge.
pub fn open_public_incidents(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM incident WHERE private = 0 AND state NOT IN ('resolved', 'closed')", [], |r| {
        r.get(0)
    })
}

/// Publications waiting in the outbox.
pub fn outbox_backlog(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM sal_outbox WHERE done_at IS NULL", [], |r| r.get(0))
}
