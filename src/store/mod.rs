//! The store: SQLite through one writer thread, and nothing about IRC.
//!
//! Every database call is a closure sent to the store's own thread, so SQLite never blocks the
//! async event loop. The thread takes whatever calls are waiting, runs them in one transaction
//! (each inside its own savepoint, so one failing call does not undo the others), commits, and
//! only then answers each caller: a caller that got `Ok` knows its rows are durable (WAL with
//! `synchronous=FULL`). Grouping raises throughput under bursts without ever answering early.
//!
//! The connection is opened lazily and reopened after a failure, so a database that is missing
//! or unwritable makes calls fail with a short reason while the bot keeps running.

pub mod clinic;
mod health;
pub mod incident;
pub mod sal;

use health::{note_io_error, WriteHealth};
use rusqlite::{Connection, OpenFlags};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

mod migrations {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// The most calls grouped into one transaction.
const MAX_BATCH: usize = 512;

/// Why a store call did not happen. The text is short enough to put in an IRC reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The database could not be opened or prepared.
    Unavailable(String),
    /// The statement or the commit failed.
    Failed(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(why) => write!(f, "database unavailable ({why})"),
            StoreError::Failed(why) => write!(f, "database error ({why})"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A short, secret-free reason for an SQLite error.
fn reason(e: &rusqlite::Error) -> String {
    match e {
        // SQLite names the file here; the reply goes to a channel, so keep paths out of it.
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::CannotOpen => {
            "unable to open database file".into()
        }
        rusqlite::Error::SqliteFailure(_, Some(msg)) if !msg.is_empty() => msg.clone(),
        rusqlite::Error::SqliteFailure(code, _) => code.to_string(),
        other => other.to_string(),
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Failed(reason(&e))
    }
}

/// A handle to the store thread. Cheap to clone; the thread ends when every handle is dropped.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Box<dyn Job>>,
    health: WriteHealth,
}

/// Joins the store thread once every [`Store`] handle is gone, so pending writes finish.
pub struct StoreThread(JoinHandle<()>);

impl StoreThread {
    pub fn join(self) {
        let _ = self.0.join();
    }
}

impl Store {
    /// Starts the store thread for the database at `path`. It opens the database right away
    /// (so problems show at start-up) and again on later calls if that failed.
    pub fn open(path: &Path) -> (Store, StoreThread) {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        let health = WriteHealth::default();
        let mut db = Db { path: path.to_path_buf(), conn: None, health: health.clone() };
        if let Err(e) = db.conn() {
            health.set(Some(e.to_string()));
            tracing::error!(database = %path.display(), error = %e, "cannot open the database; will retry on each write");
        }
        let thread = std::thread::Builder::new()
            .name("srebot-store".into())
            .spawn(move || run(db, rx))
            .expect("spawn store thread");
        (Store { jobs: tx, health }, StoreThread(thread))
    }

    /// Why the latest write failed, until a write commits again; `None` while writes work.
    pub fn write_failure(&self) -> Option<String> {
        self.health.get()
    }

    /// Runs `f` on the store thread inside a transaction; answers after the commit.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Box::new(CallJob { f, reply })).map_err(|_| StoreError::Unavailable("store stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("store stopped".into()))?
    }
}

struct Db {
    path: PathBuf,
    conn: Option<Connection>,
    health: WriteHealth,
}

impl Db {
    fn conn(&mut self) -> Result<&Connection, StoreError> {
        if self.conn.is_none() {
            self.conn = Some(open_database(&self.path)?);
        }
        Ok(self.conn.as_ref().expect("just opened"))
    }
}

/// Opens (creating if needed) the database, sets the pragmas and applies pending migrations.
pub fn open_database(path: &Path) -> Result<Connection, StoreError> {
    let unavailable = |e: rusqlite::Error| StoreError::Unavailable(reason(&e));
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(unavailable)?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(unavailable)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(unavailable)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!("cannot use WAL (journal_mode is {mode})")));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;").map_err(unavailable)?;
    migrate(&conn)?;
    Ok(conn)
}

/// Applies the migrations newer than `PRAGMA user_version`, each in its own transaction.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let unavailable = |e: rusqlite::Error| StoreError::Unavailable(reason(&e));
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(unavailable)?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    let known = migrations::MIGRATIONS.len();
    if version > known {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {version}, newer than this srebot's {known}"
        )));
    }
    for (i, (name, sql)) in migrations::MIGRATIONS.iter().enumerate().skip(version) {
        let apply = format!("BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {};\nCOMMIT;", i + 1);
        if let Err(e) = conn.execute_batch(&apply) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::Unavailable(format!("migration {name} failed: {}", reason(&e))));
        }
        tracing::info!(migration = name, "applied migration");
    }
    Ok(())
}

/// The schema version this build expects (the number of migrations).
pub fn schema_version() -> usize {
    migrations::MIGRATIONS.len()
}

/// Copies the database consistently with SQLite's online backup API, while the bot may run.
pub fn backup(database: &Path, dest: &Path) -> Result<(), StoreError> {
    let src = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::Unavailable(reason(&e)))?;
    src.busy_timeout(std::time::Duration::from_secs(5))?;
    let mut dst = Connection::open(dest).map_err(|e| StoreError::Unavailable(reason(&e)))?;
    {
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        backup.run_to_completion(1024, std::time::Duration::from_millis(5), None)?;
    }
    let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Failed(format!("the copy failed its check: {check}")));
    }
    Ok(())
}

trait Job: Send {
    /// Runs inside the open transaction; returns what to do once the transaction's fate is known.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish>;
    fn fail(self: Box<Self>, err: StoreError);
}

trait Finish: Send {
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

struct CallJob<F, R> {
    f: F,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

struct CallFinish<R> {
    result: Result<R, StoreError>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> Job for CallJob<F, R>
where
    R: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish> {
        let result = match run_cached(conn, "SAVEPOINT job") {
            Err(e) => Err(StoreError::from(e)),
            Ok(()) => {
                let r = (self.f)(conn).map_err(|e| {
                    note_io_error(&e);
                    StoreError::from(e)
                });
                if r.is_err() {
                    let _ = run_cached(conn, "ROLLBACK TO job");
                }
                match run_cached(conn, "RELEASE job") {
                    Ok(()) => r,
                    Err(e) => Err(StoreError::from(e)),
                }
            }
        };
        Box::new(CallFinish { result, reply: self.reply })
    }

    fn fail(self: Box<Self>, err: StoreError) {
        let _ = self.reply.send(Err(err));
    }
}

/// A statement run for every call (savepoints): prepared once, not parsed each time.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

impl<R: Send> Finish for CallFinish<R> {
    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let answer = match commit {
            Ok(()) => self.result,
            Err(e) => Err(e),
        };
        let _ = self.reply.send(answer);
    }
}

fn run(mut db: Db, rx: mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut db, batch);
    }
}

fn run_batch(db: &mut Db, batch: Vec<Box<dyn Job>>) {
    let health = db.health.clone();
    let conn = match db.conn() {
        Ok(c) => c,
        Err(e) => {
            health.set(Some(e.to_string()));
            crate::metrics::METRICS.db_write_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(error = %e, calls = batch.len(), "database unavailable");
            for job in batch {
                job.fail(e.clone());
            }
            return;
        }
    };
    if let Err(e) = conn.execute_batch("BEGIN") {
        let e = StoreError::from(e);
        health.set(Some(e.to_string()));
        for job in batch {
            job.fail(e.clone());
        }
        db.conn = None;
        return;
    }
    let changes = conn.total_changes();
    let finishes: Vec<_> = batch.into_iter().map(|job| job.run(conn)).collect();
    index_new_entries(conn);
    let wrote = conn.total_changes() > changes;
    let commit = conn.execute_batch("COMMIT").map_err(StoreError::from);
    health.committed(&commit, wrote);
    if let Err(e) = &commit {
        crate::metrics::METRICS.db_write_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(error = %e, calls = finishes.len(), "commit failed");
        let _ = conn.execute_batch("ROLLBACK");
        // Start from a fresh connection next time: the old one may be in a bad state.
        db.conn = None;
    }
    for f in finishes {
        f.finish(commit.clone());
    }
}

/// Indexes the batch's new log entries for search, once for the whole batch (one FTS5 segment
/// per commit instead of one per entry: see migration 0006). In its own savepoint: should it
/// fail, the entries are still committed, and indexed with a later batch.
fn index_new_entries(conn: &Connection) {
    let indexed = conn.execute_batch("SAVEPOINT fts").and_then(|()| match sal::index_new_entries(conn) {
        Ok(_) => conn.execute_batch("RELEASE fts"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO fts; RELEASE fts");
            Err(e)
        }
    });
    if let Err(e) = indexed {
        tracing::warn!(error = %StoreError::from(e), "search index not updated; will retry with the next write");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migrates_and_answers_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let (store, thread) = Store::open(&path);
        let v: i64 = store.call(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0))).await.unwrap();
        assert_eq!(v as usize, schema_version());
        let mode: String = store.call(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0))).await.unwrap();
        assert_eq!(mode, "wal");
        // A failing call does not undo a neighbour in the same batch.
        let a = store.call(|c| c.execute("CREATE TABLE t (x INTEGER NOT NULL)", []));
        let b = store.call(|c| c.execute("INSERT INTO t VALUES (NULL)", []));
        let (a, b) = tokio::join!(a, b);
        assert!(a.is_ok());
        assert!(matches!(b, Err(StoreError::Failed(_))));
        drop(store);
        thread.join();
        // Reopening applies nothing new and keeps the rows.
        let conn = open_database(&path).unwrap();
        let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 't'", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn missing_directory_fails_then_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later").join("db.sqlite3");
        let (store, _thread) = Store::open(&path);
        let err = store.call(|c| c.execute("SELECT 1", [])).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
        std::fs::create_dir(dir.path().join("later")).unwrap();
        let n: i64 = store.call(|c| c.query_row("SELECT count(*) FROM sal_entry", [], |r| r.get(0))).await.unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn backup_copies_consistently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sqlite3");
        let conn = open_database(&path).unwrap();
        conn.execute(
            "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#c', 'n', 'u@h', 'm')",
            [],
        )
        .unwrap();
        let copy = dir.path().join("copy.sqlite3");
        backup(&path, &copy).unwrap();
        let c2 = Connection::open(&copy).unwrap();
        let n: i64 = c2.query_row("SELECT count(*) FROM sal_entry", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }
}
