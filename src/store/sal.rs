//! SQL for the Server Admin Log: entries, their corrections, queries, and the publishing outbox.
//!
//! Nothing here deletes an entry. A correction (undo, redaction, amendment) is a row in
//! `sal_correction` that keeps the text it replaced, and undo/redact set `hidden_at`, which every
//! query, the web view and the publishers filter on.

use super::Actor;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

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
    /// The current text (after amendments).
    pub message: String,
    pub private: bool,
    pub tasks: Vec<String>,
    /// Set by an undo or a redaction: the entry is left out of queries and publishing.
    pub hidden_at: Option<String>,
    /// When it was last amended.
    pub amended_at: Option<String>,
}

impl Entry {
    pub fn is_hidden(&self) -> bool {
        self.hidden_at.is_some()
    }

    /// When it was logged, parsed (entries are always written with [`time_text`]).
    pub fn time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.logged_at).ok().map(|t| t.to_utc())
    }
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
    insert_tasks(conn, id, &e.tasks)?;
    Ok(id)
}

/// A real write that changes nothing (a row rewritten with its own value): after a failed write
/// it tells whether the database takes writes again.
pub(crate) fn rewrite_unchanged(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute("UPDATE sal_fts_state SET indexed_upto = indexed_upto", [])
}

/// Adds the entries written since the last call to the full-text index, with one statement;
/// returns how many. The store runs it at the end of every group commit, in the same
/// transaction as the entries (migration 0006 explains why not a trigger per entry).
pub fn index_new_entries(conn: &Connection) -> rusqlite::Result<usize> {
    let (upto, newest): (i64, Option<i64>) = conn
        .prepare_cached("SELECT indexed_upto, (SELECT max(id) FROM sal_entry) FROM sal_fts_state")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let Some(newest) = newest.filter(|&n| n > upto) else { return Ok(0) };
    let added = conn
        .prepare_cached(
            "INSERT INTO sal_fts (rowid, message) SELECT id, message FROM sal_entry WHERE id > ?1 AND id <= ?2",
        )?
        .execute([upto, newest])?;
    conn.prepare_cached("UPDATE sal_fts_state SET indexed_upto = ?1")?.execute([newest])?;
    Ok(added)
}

fn insert_tasks(conn: &Connection, id: i64, tasks: &[String]) -> rusqlite::Result<()> {
    let mut task = conn.prepare_cached("INSERT OR IGNORE INTO sal_task (task, entry_id) VALUES (?1, ?2)")?;
    for t in tasks {
        task.execute(params![t, id])?;
    }
    Ok(())
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
        hidden_at: row.get(9)?,
        amended_at: row.get(10)?,
    })
}

const COLUMNS: &str =
    "id, logged_at, channel, nick, account, userhost, relayed_by, message, private, hidden_at, amended_at";

/// An entry by id, hidden or not.
pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Entry>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM sal_entry WHERE id = ?1"))?
        .query_row([id], |r| entry(conn, r))
        .optional()
}

/// Every entry, oldest first, hidden ones included.
#[cfg(test)]
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM sal_entry ORDER BY id"))?;
    let rows = stmt.query_map([], |r| entry(conn, r))?;
    rows.collect()
}

// Queries ---------------------------------------------------------------------------------------

/// Which entries an asker may see and which ones a query looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Only this channel's entries; `None`: every channel.
    pub channel: Option<String>,
    /// The security channel the question was asked in: its private entries are visible too.
    /// Private entries of any other channel never are.
    pub private_of: Option<String>,
}

/// What a query looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// The latest entries.
    Latest,
    /// Entries that mention a task (`T123456`).
    Task(String),
    /// An FTS5 query (see [`fts_query`]).
    Search(String),
    /// Entries logged at or after this time.
    Since(DateTime<Utc>),
}

/// What a query found: up to `limit` entries, newest first, and how many matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub entries: Vec<Entry>,
    pub total: usize,
}

/// Finds visible (not hidden) entries, newest first.
///
/// A search first indexes the entries written earlier in this transaction (see
/// [`index_new_entries`]), so it finds them too.
pub fn query(conn: &Connection, scope: &Scope, filter: &Filter, limit: usize) -> rusqlite::Result<Found> {
    if let Filter::Search(_) = filter {
        index_new_entries(conn)?;
    }
    let mut conditions = vec!["hidden_at IS NULL".to_string()];
    let mut values: Vec<Value> = Vec::new();
    let bind = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        format!("?{}", values.len())
    };
    match &scope.private_of {
        Some(ch) => {
            let p = bind(Value::Text(ch.clone()), &mut values);
            conditions.push(format!("(private = 0 OR channel = {p})"));
        }
        None => conditions.push("private = 0".into()),
    }
    if let Some(ch) = &scope.channel {
        let p = bind(Value::Text(ch.clone()), &mut values);
        conditions.push(format!("channel = {p}"));
    }
    match filter {
        Filter::Latest => {}
        Filter::Task(t) => {
            let p = bind(Value::Text(t.clone()), &mut values);
            conditions.push(format!("id IN (SELECT entry_id FROM sal_task WHERE task = {p})"));
        }
        Filter::Search(q) => {
            let p = bind(Value::Text(q.clone()), &mut values);
            conditions.push(format!("id IN (SELECT rowid FROM sal_fts WHERE sal_fts MATCH {p})"));
        }
        Filter::Since(t) => {
            let p = bind(Value::Text(time_text(t)), &mut values);
            conditions.push(format!("logged_at >= {p}"));
        }
    }
    let condition = conditions.join(" AND ");
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM sal_entry WHERE {condition}"),
        params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt =
        conn.prepare(&format!("SELECT {COLUMNS} FROM sal_entry WHERE {condition} ORDER BY id DESC LIMIT {limit}"))?;
    let entries = stmt.query_map(params_from_iter(values.iter()), |r| entry(conn, r))?.collect::<Result<_, _>>()?;
    Ok(Found { entries, total: usize::try_from(total).unwrap_or(0) })
}

/// Turns the words a user typed into an FTS5 query that matches entries containing all of them.
///
/// Each word becomes a quoted FTS5 string, so that operators and punctuation (`AND`, `-`, `:`,
/// `"`, `(`) are searched for as text instead of breaking the query; a trailing `*` is kept as
/// a prefix search (`db15*`). `None` when no word has anything searchable in it.
pub fn fts_query(words: &str) -> Option<String> {
    let terms: Vec<String> = words
        .split_whitespace()
        .filter_map(|w| {
            let (word, prefix) = match w.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (w, false),
            };
            // unicode61 only indexes letters and digits: a word without any matches nothing.
            if !word.chars().any(char::is_alphanumeric) {
                return None;
            }
            // A NUL would end the query string inside SQLite ("unterminated string"); the
            // tokenizer splits words there anyway.
            let quoted = format!("\"{}\"", word.replace('"', "\"\"").replace('\0', " "));
            Some(if prefix { format!("{quoted}*") } else { quoted })
        })
        .collect();
    if terms.is_empty() {
        None
    } else {
        Some(terms.join(" "))
    }
}

// Corrections -----------------------------------------------------------------------------------

/// The kinds of correction, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Undo,
    Redact,
    Amend,
    /// `!sal restore`: a withdrawn entry is visible again (migration 0009).
    Restore,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Undo => "undo",
            Kind::Redact => "redact",
            Kind::Amend => "amend",
            Kind::Restore => "restore",
        }
    }

    fn parse(s: &str) -> Kind {
        match s {
            "undo" => Kind::Undo,
            "redact" => Kind::Redact,
            "restore" => Kind::Restore,
            _ => Kind::Amend,
        }
    }
}

/// A stored correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub id: i64,
    pub entry_id: i64,
    pub kind: Kind,
    pub at: String,
    pub actor_nick: String,
    pub actor_account: Option<String>,
    pub reason: String,
    pub old_text: String,
    pub new_text: Option<String>,
}

/// The author's latest visible entry in `channel` (their own, not relayed on someone's behalf).
pub fn latest_own(conn: &Connection, account: &str, channel: &str) -> rusqlite::Result<Option<Entry>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sal_entry
         WHERE account = ?1 COLLATE NOCASE AND channel = ?2 AND relayed_by IS NULL AND hidden_at IS NULL
         ORDER BY id DESC LIMIT 1"
    ))?
    .query_row(params![account, channel], |r| entry(conn, r))
    .optional()
}

/// The author's latest undo in `channel` that still holds (not restored since): when it was
/// made and the entry it took back. A plain `!log undo` reaches only entries logged after it.
pub fn latest_undo(conn: &Connection, account: &str, channel: &str) -> rusqlite::Result<Option<(String, i64)>> {
    conn.prepare_cached(
        "SELECT c.at, c.entry_id FROM sal_correction c JOIN sal_entry e ON e.id = c.entry_id
         WHERE c.kind = 'undo' AND c.actor_account = ?1 COLLATE NOCASE AND e.channel = ?2
           AND NOT EXISTS (SELECT 1 FROM sal_correction r
                           WHERE r.entry_id = c.entry_id AND r.kind = 'restore' AND r.id > c.id)
         ORDER BY c.id DESC LIMIT 1",
    )?
    .query_row(params![account, channel], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

fn record(
    conn: &Connection,
    entry: &Entry,
    kind: Kind,
    who: &Actor,
    reason: &str,
    new_text: Option<&str>,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO sal_correction (entry_id, kind, at, actor_nick, actor_account, reason, old_text, new_text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        entry.id,
        kind.as_str(),
        time_text(&who.at),
        who.nick,
        who.account,
        reason,
        entry.message,
        new_text
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Hides a visible entry (undo or redaction) and records why. Returns false, changing nothing,
/// when the entry is already hidden.
pub fn hide(conn: &Connection, entry: &Entry, kind: Kind, who: &Actor, reason: &str) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE sal_entry SET hidden_at = ?1 WHERE id = ?2 AND hidden_at IS NULL")?
        .execute(params![time_text(&who.at), entry.id])?;
    if changed == 0 {
        return Ok(false);
    }
    record(conn, entry, kind, who, reason, None)?;
    Ok(true)
}

/// Makes a hidden entry visible again and records who did it. Returns false, changing nothing,
/// when the entry is not hidden.
pub fn restore(conn: &Connection, entry: &Entry, who: &Actor) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE sal_entry SET hidden_at = NULL WHERE id = ?1 AND hidden_at IS NOT NULL")?
        .execute([entry.id])?;
    if changed == 0 {
        return Ok(false);
    }
    record(conn, entry, Kind::Restore, who, "", None)?;
    Ok(true)
}

/// Replaces a visible entry's text, keeping the old one in the correction, and re-indexes its
/// tasks. Returns false, changing nothing, when the entry is hidden.
pub fn amend(
    conn: &Connection,
    entry: &Entry,
    new_text: &str,
    tasks: &[String],
    who: &Actor,
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE sal_entry SET message = ?1, amended_at = ?2 WHERE id = ?3 AND hidden_at IS NULL")?
        .execute(params![new_text, time_text(&who.at), entry.id])?;
    if changed == 0 {
        return Ok(false);
    }
    record(conn, entry, Kind::Amend, who, "", Some(new_text))?;
    // Task references are an index of the current text: `!sal T1` must not find a task that an
    // amendment took out. The old text, with its tasks, stays in the correction.
    conn.prepare_cached("DELETE FROM sal_task WHERE entry_id = ?1")?.execute([entry.id])?;
    insert_tasks(conn, entry.id, tasks)?;
    Ok(true)
}

/// An entry's corrections, oldest first.
pub fn corrections(conn: &Connection, entry_id: i64) -> rusqlite::Result<Vec<Correction>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, entry_id, kind, at, actor_nick, actor_account, reason, old_text, new_text
         FROM sal_correction WHERE entry_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([entry_id], |r| {
        Ok(Correction {
            id: r.get(0)?,
            entry_id: r.get(1)?,
            kind: Kind::parse(&r.get::<_, String>(2)?),
            at: r.get(3)?,
            actor_nick: r.get(4)?,
            actor_account: r.get(5)?,
            reason: r.get(6)?,
            old_text: r.get(7)?,
            new_text: r.get(8)?,
        })
    })?;
    rows.collect()
}

// The outbox ------------------------------------------------------------------------------------

/// Why an outbox row exists. The publisher always publishes an entry's current state, so this
/// is for the record (and for people reading the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Publish,
    Update,
    Remove,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Update => "update",
            Action::Remove => "remove",
        }
    }
}

/// Queues work for `sink`, due at once. Call it in the transaction that changes the entry.
pub fn enqueue(
    conn: &Connection,
    sink: &str,
    entry_id: i64,
    action: Action,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let now = time_text(&at);
    conn.prepare_cached(
        "INSERT INTO sal_outbox (sink, entry_id, action, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![sink, entry_id, action.as_str(), now])?;
    Ok(())
}

/// One row of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub id: i64,
    /// The SAL entry; in the status notice's rows (`store::incident::STATUS_SINK`), the incident.
    pub entry_id: i64,
    pub attempts: u32,
}

/// Rows of `sink` due at `now`, oldest first, at most `limit`.
pub fn due(conn: &Connection, sink: &str, now: DateTime<Utc>, limit: usize) -> rusqlite::Result<Vec<Work>> {
    work(conn, "next_attempt_at <= ?2", sink, now, limit)
}

/// Work for a sink that writes one page, at `now`, oldest first, at most `limit`: once any of
/// its rows is due, every row still waiting, since they all go into the same edit. (Each failed
/// row has its own jittered retry time; taking only the due ones made a backlog from an outage
/// one edit per entry when the wiki came back.)
pub fn due_together(conn: &Connection, sink: &str, now: DateTime<Utc>, limit: usize) -> rusqlite::Result<Vec<Work>> {
    let any_due = "EXISTS (SELECT 1 FROM sal_outbox WHERE sink = ?1 AND done_at IS NULL AND next_attempt_at <= ?2)";
    work(conn, any_due, sink, now, limit)
}

/// Pending rows of `sink` that also meet `condition` (on `?2`, the time), oldest first.
fn work(
    conn: &Connection,
    condition: &str,
    sink: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<Vec<Work>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, coalesce(entry_id, incident_id), attempts FROM sal_outbox
         WHERE sink = ?1 AND done_at IS NULL AND {condition} ORDER BY id LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![sink, time_text(&now), limit], |r| {
        Ok(Work { id: r.get(0)?, entry_id: r.get(1)?, attempts: r.get(2)? })
    })?;
    rows.collect()
}

/// When the next pending row of `sink` is due, if any.
pub fn next_due(conn: &Connection, sink: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let at: Option<String> = conn.query_row(
        "SELECT min(next_attempt_at) FROM sal_outbox WHERE sink = ?1 AND done_at IS NULL",
        [sink],
        |r| r.get(0),
    )?;
    Ok(at.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.to_utc()))
}

pub fn mark_done(conn: &Connection, ids: &[i64], at: DateTime<Utc>) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("UPDATE sal_outbox SET done_at = ?1 WHERE id = ?2 AND done_at IS NULL")?;
    for id in ids {
        stmt.execute(params![time_text(&at), id])?;
    }
    Ok(())
}

/// Records a failed attempt: one more attempt, the error, and the next try `delay(attempts)`
/// after `at`.
pub fn mark_failed(
    conn: &Connection,
    ids: &[i64],
    at: DateTime<Utc>,
    error: &str,
    delay: impl Fn(u32) -> chrono::Duration,
) -> rusqlite::Result<()> {
    let mut read = conn.prepare_cached("SELECT attempts FROM sal_outbox WHERE id = ?1 AND done_at IS NULL")?;
    let mut write = conn.prepare_cached(
        "UPDATE sal_outbox SET attempts = ?1, next_attempt_at = ?2, last_attempt_at = ?3, last_error = ?4 WHERE id = ?5",
    )?;
    for id in ids {
        let Some(attempts) = read.query_row([id], |r| r.get::<_, u32>(0)).optional()? else { continue };
        let attempts = attempts.saturating_add(1);
        let next = at + delay(attempts);
        write.execute(params![attempts, time_text(&next), time_text(&at), error, id])?;
    }
    Ok(())
}

/// What `!sal status` tells about a sink.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxStatus {
    /// Rows not done yet.
    pub pending: usize,
    /// Distinct entries among them.
    pub pending_entries: usize,
    /// The latest failure among pending rows: (when, why).
    pub last_error: Option<(String, String)>,
    pub next_attempt_at: Option<String>,
    /// When the latest row was done.
    pub last_done_at: Option<String>,
}

pub fn outbox_status(conn: &Connection, sink: &str) -> rusqlite::Result<OutboxStatus> {
    let (pending, pending_entries, next_attempt_at): (i64, i64, Option<String>) = conn.query_row(
        "SELECT count(*), count(DISTINCT entry_id), min(next_attempt_at) FROM sal_outbox WHERE sink = ?1 AND done_at IS NULL",
        [sink],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let last_error = conn
        .query_row(
            "SELECT last_attempt_at, last_error FROM sal_outbox
             WHERE sink = ?1 AND done_at IS NULL AND last_error IS NOT NULL ORDER BY last_attempt_at DESC LIMIT 1",
            [sink],
            |r| Ok((r.get::<_, Option<String>>(0)?.unwrap_or_default(), r.get(1)?)),
        )
        .optional()?;
    let last_done_at: Option<String> =
        conn.query_row("SELECT max(done_at) FROM sal_outbox WHERE sink = ?1", [sink], |r| r.get(0))?;
    Ok(OutboxStatus {
        pending: usize::try_from(pending).unwrap_or(0),
        pending_entries: usize::try_from(pending_entries).unwrap_or(0),
        last_error,
        next_attempt_at,
        last_done_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("s.sqlite3")).unwrap();
        (dir, conn)
    }

    fn new(channel: &str, account: &str, message: &str, private: bool, at: &str) -> NewEntry {
        NewEntry {
            logged_at: at.parse().unwrap(),
            channel: channel.into(),
            nick: account.into(),
            account: Some(account.into()),
            userhost: format!("{account}@sre/{account}"),
            relayed_by: None,
            message: message.into(),
            private,
            via_private_message: false,
            tasks: crate::text::task_refs(message),
        }
    }

    fn who(nick: &str, at: &str) -> Actor {
        Actor { at: at.parse().unwrap(), nick: nick.into(), account: Some(nick.into()) }
    }

    fn ids(found: &Found) -> Vec<i64> {
        found.entries.iter().map(|e| e.id).collect()
    }

    #[test]
    fn insert_and_read_back() {
        let (_dir, conn) = db();
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
        assert!(!got.is_hidden() && got.amended_at.is_none());
        assert!(get(&conn, id + 1).unwrap().is_none());
    }

    #[test]
    fn queries_respect_scope_privacy_and_hidden_entries() {
        let (_dir, conn) = db();
        let t = "2026-11-22T10:00:00Z";
        insert(&conn, &new("#sre", "alice", "restarted db151 for T100", false, t)).unwrap(); // 1
        insert(&conn, &new("#sre-sec", "alice", "rotated db151 keys T100", true, t)).unwrap(); // 2
        insert(&conn, &new("#ops", "bob", "depooled mw1001", false, "2026-11-22T11:00:00Z")).unwrap(); // 3
        insert(&conn, &new("#sre", "bob", "repooled db151", false, "2026-11-22T12:00:00Z")).unwrap(); // 4
        let everywhere = Scope { channel: None, private_of: None };
        let sre = Scope { channel: Some("#sre".into()), private_of: None };
        let sec = Scope { channel: Some("#sre-sec".into()), private_of: Some("#sre-sec".into()) };
        let q = |s: &Scope, f: Filter| query(&conn, s, &f, 10).unwrap();
        assert_eq!(ids(&q(&everywhere, Filter::Latest)), vec![4, 3, 1]);
        assert_eq!(ids(&q(&sre, Filter::Latest)), vec![4, 1]);
        assert_eq!(ids(&q(&sec, Filter::Latest)), vec![2]);
        let in_sec_everywhere = Scope { channel: None, private_of: Some("#sre-sec".into()) };
        assert_eq!(ids(&q(&in_sec_everywhere, Filter::Task("T100".into()))), vec![2, 1]);
        assert_eq!(ids(&q(&everywhere, Filter::Task("T100".into()))), vec![1]);
        let search = |words: &str, s: &Scope| ids(&q(s, Filter::Search(fts_query(words).unwrap())));
        assert_eq!(search("db151", &everywhere), vec![4, 1]);
        assert_eq!(search("DB151 restarted", &everywhere), vec![1]);
        assert_eq!(search("db15*", &everywhere), vec![4, 1]);
        assert_eq!(search("keys", &everywhere), Vec::<i64>::new());
        assert_eq!(search("keys", &in_sec_everywhere), vec![2]);
        assert_eq!(search("mw1001 OR", &everywhere), Vec::<i64>::new(), "OR is a word, not an operator");
        let since = "2026-11-22T11:00:00Z".parse().unwrap();
        assert_eq!(ids(&q(&everywhere, Filter::Since(since))), vec![4, 3]);
        let limited = query(&conn, &everywhere, &Filter::Latest, 2).unwrap();
        assert_eq!((ids(&limited), limited.total), (vec![4, 3], 3));

        // Hidden entries vanish from every query.
        let one = get(&conn, 1).unwrap().unwrap();
        assert!(hide(&conn, &one, Kind::Redact, &who("root", "2026-11-22T13:00:00Z"), "wrong host").unwrap());
        assert!(!hide(&conn, &one, Kind::Undo, &who("alice", "2026-11-22T13:00:00Z"), "").unwrap());
        assert_eq!(ids(&q(&everywhere, Filter::Task("T100".into()))), Vec::<i64>::new());
        assert_eq!(search("restarted", &everywhere), Vec::<i64>::new());
        let c = corrections(&conn, 1).unwrap();
        assert_eq!(c.len(), 1, "a second hide records nothing");
        assert_eq!((c[0].kind, c[0].reason.as_str()), (Kind::Redact, "wrong host"));
        assert_eq!(c[0].old_text, "restarted db151 for T100", "the original text is kept");
        assert_eq!(get(&conn, 1).unwrap().unwrap().message, "restarted db151 for T100");
    }

    #[test]
    fn amend_keeps_the_old_text_and_reindexes() {
        let (_dir, conn) = db();
        let id = insert(&conn, &new("#sre", "alice", "restarted db115 for T1", false, "2026-11-22T10:00:00Z")).unwrap();
        let e = get(&conn, id).unwrap().unwrap();
        let tasks = crate::text::task_refs("restarted db151 for T2");
        assert!(amend(&conn, &e, "restarted db151 for T2", &tasks, &who("alice", "2026-11-22T10:01:00Z")).unwrap());
        let after = get(&conn, id).unwrap().unwrap();
        assert_eq!(after.message, "restarted db151 for T2");
        assert_eq!(after.tasks, vec!["T2"]);
        assert_eq!(after.amended_at.as_deref(), Some("2026-11-22T10:01:00.000Z"));
        let c = corrections(&conn, id).unwrap();
        assert_eq!(
            (c[0].old_text.as_str(), c[0].new_text.as_deref()),
            ("restarted db115 for T1", Some("restarted db151 for T2"))
        );
        let all = Scope { channel: None, private_of: None };
        let found = |words: &str| query(&conn, &all, &Filter::Search(fts_query(words).unwrap()), 10).unwrap().total;
        assert_eq!((found("db115"), found("db151")), (0, 1), "the search index follows the amendment");
        assert_eq!(query(&conn, &all, &Filter::Task("T1".into()), 10).unwrap().total, 0);
        // A hidden entry cannot be amended.
        assert!(hide(&conn, &after, Kind::Undo, &who("alice", "2026-11-22T10:02:00Z"), "").unwrap());
        assert!(!amend(&conn, &after, "x", &[], &who("alice", "2026-11-22T10:03:00Z")).unwrap());
    }

    #[test]
    fn latest_own_is_the_authors_latest_visible_unrelayed_entry() {
        let (_dir, conn) = db();
        let t = "2026-11-22T10:00:00Z";
        let a1 = insert(&conn, &new("#sre", "alice", "one", false, t)).unwrap();
        let a2 = insert(&conn, &new("#sre", "Alice", "two", false, t)).unwrap();
        insert(&conn, &new("#ops", "alice", "elsewhere", false, t)).unwrap();
        let mut relayed = new("#sre", "alice", "relayed", false, t);
        relayed.relayed_by = Some("alice".into());
        insert(&conn, &relayed).unwrap();
        insert(&conn, &new("#sre", "bob", "bob's", false, t)).unwrap();
        assert_eq!(latest_own(&conn, "ALICE", "#sre").unwrap().map(|e| e.id), Some(a2));
        let e = get(&conn, a2).unwrap().unwrap();
        hide(&conn, &e, Kind::Undo, &who("alice", t), "").unwrap();
        assert_eq!(latest_own(&conn, "alice", "#sre").unwrap().map(|e| e.id), Some(a1));
        assert_eq!(latest_own(&conn, "carol", "#sre").unwrap(), None);
    }

    #[test]
    fn the_index_follows_entries_amended_before_and_after_indexing() {
        let (_dir, conn) = db();
        let t = "2026-11-22T10:00:00Z";
        let a = insert(&conn, &new("#sre", "alice", "restarted db115", false, t)).unwrap();
        let b = insert(&conn, &new("#sre", "alice", "depooled cp3050", false, t)).unwrap();
        // Amended before it was indexed: only the new text is ever indexed.
        let e = get(&conn, a).unwrap().unwrap();
        assert!(amend(&conn, &e, "restarted db151", &[], &who("alice", t)).unwrap());
        assert_eq!(index_new_entries(&conn).unwrap(), 2);
        assert_eq!(index_new_entries(&conn).unwrap(), 0, "nothing new");
        // Amended after: the trigger swaps the indexed text.
        let e = get(&conn, b).unwrap().unwrap();
        assert!(amend(&conn, &e, "depooled cp3051", &[], &who("alice", t)).unwrap());
        conn.execute("INSERT INTO sal_fts (sal_fts, rank) VALUES ('integrity-check', 1)", []).unwrap();
        let all = Scope { channel: None, private_of: None };
        let found = |words: &str| ids(&query(&conn, &all, &Filter::Search(fts_query(words).unwrap()), 10).unwrap());
        assert_eq!((found("db115"), found("db151")), (vec![], vec![a]));
        assert_eq!((found("cp3050"), found("cp3051")), (vec![], vec![b]));
        // A search sees entries of its own transaction that no batch has indexed yet.
        let c = insert(&conn, &new("#sre", "bob", "rebooted cp3052", false, t)).unwrap();
        assert_eq!(found("cp3052"), vec![c]);
    }

    #[test]
    fn fts_query_quotes_everything() {
        assert_eq!(fts_query("db151 restarted").as_deref(), Some(r#""db151" "restarted""#));
        assert_eq!(fts_query(r#"say "hi" NOT -x mw*"#).as_deref(), Some(r#""say" """hi""" "NOT" "-x" "mw"*"#));
        assert_eq!(fts_query("  - * ** "), None);
        assert_eq!(fts_query(""), None);
    }

    #[test]
    fn outbox_retries_with_backoff_and_reports_status() {
        let (_dir, conn) = db();
        let t0: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let id = insert(&conn, &new("#sre", "alice", "x", false, "2026-11-22T10:00:00Z")).unwrap();
        enqueue(&conn, "mediawiki", id, Action::Publish, t0).unwrap();
        enqueue(&conn, "mediawiki", id, Action::Remove, t0).unwrap();
        enqueue(&conn, "other", id, Action::Publish, t0).unwrap();
        let work = due(&conn, "mediawiki", t0, 10).unwrap();
        assert_eq!(work.iter().map(|w| w.entry_id).collect::<Vec<_>>(), vec![id, id]);
        let rows: Vec<i64> = work.iter().map(|w| w.id).collect();
        mark_failed(&conn, &rows, t0, "wiki unreachable", |n| chrono::Duration::seconds(10 * i64::from(n))).unwrap();
        assert!(due(&conn, "mediawiki", t0 + chrono::Duration::seconds(9), 10).unwrap().is_empty());
        assert_eq!(next_due(&conn, "mediawiki").unwrap(), Some(t0 + chrono::Duration::seconds(10)));
        let s = outbox_status(&conn, "mediawiki").unwrap();
        assert_eq!((s.pending, s.pending_entries), (2, 1));
        assert_eq!(s.last_error.as_ref().map(|e| e.1.as_str()), Some("wiki unreachable"));
        let again = due(&conn, "mediawiki", t0 + chrono::Duration::seconds(10), 10).unwrap();
        assert_eq!(again[0].attempts, 1);
        mark_failed(&conn, &rows, t0, "still down", |n| chrono::Duration::seconds(10 * i64::from(n))).unwrap();
        assert_eq!(next_due(&conn, "mediawiki").unwrap(), Some(t0 + chrono::Duration::seconds(20)));
        mark_done(&conn, &rows, t0).unwrap();
        let s = outbox_status(&conn, "mediawiki").unwrap();
        assert_eq!((s.pending, s.last_error.clone()), (0, None));
        assert!(s.last_done_at.is_some());
        assert_eq!(outbox_status(&conn, "other").unwrap().pending, 1, "sinks are separate");
    }

    #[test]
    fn rows_waiting_on_the_page_go_together_when_the_first_is_due() {
        let (_dir, conn) = db();
        let t0: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let mut rows = Vec::new();
        for i in 0..5 {
            let id =
                insert(&conn, &new("#sre", "alice", &format!("outage {i}"), false, "2026-11-22T10:00:00Z")).unwrap();
            enqueue(&conn, "mediawiki", id, Action::Publish, t0).unwrap();
            rows.push(conn.last_insert_rowid());
        }
        // Failed at different times while the wiki was down: each has its own (jittered) retry.
        for (i, row) in rows.iter().enumerate() {
            mark_failed(&conn, &[*row], t0, "wiki unreachable", |_| chrono::Duration::seconds(10 + i as i64)).unwrap();
        }
        assert!(due_together(&conn, "mediawiki", t0 + chrono::Duration::seconds(9), 10).unwrap().is_empty());
        let first_due = due_together(&conn, "mediawiki", t0 + chrono::Duration::seconds(10), 10).unwrap();
        assert_eq!(first_due.iter().map(|w| w.id).collect::<Vec<_>>(), rows, "all five, in one edit");
        assert_eq!(
            due_together(&conn, "mediawiki", t0 + chrono::Duration::seconds(10), 3).unwrap().len(),
            3,
            "within the limit"
        );
        enqueue(&conn, "other", 1, Action::Publish, t0 + chrono::Duration::hours(1)).unwrap();
        assert!(
            due_together(&conn, "other", t0, 10).unwrap().is_empty(),
            "another sink's rows wait for their own time"
        );
    }
}
