//! The store: SQLite through one writer thread, and nothing about IRC.
//!
//! Every database call is a closure sent to the store's own thread, so SQLite never blocks the
//! async event loop. The thread takes whatever calls are waiting, runs them in one transaction
//! (each inside its own savepoint, so one failing call does not undo the others), commits, and
//! only then answers each caller: a caller that got `Ok` knows its rows are durable (WAL with
//! `synchronous=FULL`). Grouping raises throughput under bursts without ever answering early.
//!
//! SQLite may end the transaction on its own when a statement fails with SQLITE_FULL, IOERR,
//! NOMEM or BUSY. The thread checks after every call: once the transaction is gone, that call
//! and every one before it in the batch were rolled back, and the calls after it are not run
//! (outside the transaction each would commit alone); all of them are answered with the error.
//!
//! The connection is opened lazily and reopened after a failure, so a database that is missing
//! or unwritable makes calls fail with a short reason while the bot keeps running.

pub mod access;
mod actor;
pub(crate) mod alert;
pub mod clinic;
mod health;
pub mod incident;
pub mod ingest;
pub(crate) mod phorge;
pub mod sal;
pub(crate) mod sts;

pub use actor::Actor;
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
            health.failed(e.to_string());
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
        self.submit(f).await
    }

    /// [`Store::call`], but `f` is handed to the store thread now, not when the answer is first
    /// awaited: calls submitted one after another run in that order, in the same batch when
    /// they are quick enough (one sender's pasted `!log`s get ids in the order they were said).
    pub fn submit<R, F>(&self, f: F) -> impl std::future::Future<Output = Result<R, StoreError>> + Send + 'static
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(Box::new(CallJob { f, reply }));
        async move {
            sent.map_err(|_| StoreError::Unavailable("store stopped".into()))?;
            answer.await.map_err(|_| StoreError::Unavailable("store stopped".into()))?
        }
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

/// Copies the database consistently with SQLite's online backup API, while the bot may run,
/// into `dest`, which must not exist unless `replace`. The copy is made beside `dest` and renamed
/// into place, so a failed backup leaves neither a half copy nor a damaged old one. Each error
/// names the file at fault: the database or `dest`.
pub fn backup(database: &Path, dest: &Path, replace: bool) -> Result<(), String> {
    let at_dest = |why: String| format!("{}: {why}", dest.display());
    match std::fs::metadata(dest) {
        Ok(m) if m.is_dir() => return Err(at_dest("is a directory; name the file to write".into())),
        Ok(_) if !replace => return Err(at_dest("already exists; --force replaces it".into())),
        _ => {}
    }
    let name = dest.file_name().ok_or_else(|| at_dest("not a file name".into()))?;
    let partial = dest.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let result = backup_to(database, dest, &partial).and_then(|()| {
        // A journal left beside a replaced database would be replayed into the new copy.
        for side in ["-wal", "-shm", "-journal"] {
            let mut path = dest.as_os_str().to_owned();
            path.push(side);
            let _ = std::fs::remove_file(path);
        }
        std::fs::rename(&partial, dest).map_err(|e| at_dest(format!("cannot write it ({e})")))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// The backup proper, into `partial`; errors name `dest`, the file the operator asked for.
fn backup_to(database: &Path, dest: &Path, partial: &Path) -> Result<(), String> {
    let at_source = |e: rusqlite::Error| format!("{}: cannot read the database ({})", database.display(), reason(&e));
    let src = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(at_source)?;
    src.busy_timeout(std::time::Duration::from_secs(5)).map_err(at_source)?;
    let at_dest = |e: rusqlite::Error| format!("{}: cannot write it ({})", dest.display(), reason(&e));
    let _ = std::fs::remove_file(partial);
    let mut dst = Connection::open(partial).map_err(at_dest)?;
    rusqlite::backup::Backup::new(&src, &mut dst)
        .and_then(|b| b.run_to_completion(1024, std::time::Duration::from_millis(5), None))
        .map_err(|e| format!("backup of {} failed ({})", database.display(), reason(&e)))?;
    let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(at_dest)?;
    if check != "ok" {
        return Err(format!("the copy failed its check: {check}"));
    }
    dst.close().map_err(|(_, e)| at_dest(e))
}

trait Job: Send {
    /// Runs inside the open transaction; returns what to do once the transaction's fate is known.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish>;
    fn fail(self: Box<Self>, err: StoreError);
}

trait Finish: Send {
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
    /// The call's own error, if it failed.
    fn error(&self) -> Option<&StoreError>;
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
                // The call's own error says more than the savepoint's (after SQLite rolled the
                // whole transaction back, RELEASE fails with "no such savepoint").
                match (r, run_cached(conn, "RELEASE job")) {
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(StoreError::from(e)),
                    (Ok(v), Ok(())) => Ok(v),
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

    fn error(&self) -> Option<&StoreError> {
        self.result.as_ref().err()
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
            health.failed(e.to_string());
            tracing::warn!(error = %e, calls = batch.len(), "database unavailable");
            for job in batch {
                job.fail(e.clone());
            }
            return;
        }
    };
    if let Err(e) = conn.execute_batch("BEGIN") {
        let e = StoreError::from(e);
        health.failed(e.to_string());
        for job in batch {
            job.fail(e.clone());
        }
        db.conn = None;
        return;
    }
    let changes = conn.total_changes();
    let mut finishes = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        finishes.push(job.run(conn));
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (or the call ended it): everything so
            // far is undone, and what follows would run outside it, each call committing alone.
            let cause = finishes.last().and_then(|f| f.error()).cloned();
            let rest: Vec<_> = jobs.collect();
            return lost_transaction(db, finishes, rest, cause);
        }
    }
    index_new_entries(conn);
    if conn.is_autocommit() {
        return lost_transaction(db, finishes, Vec::new(), None);
    }
    let wrote = conn.total_changes() > changes;
    let commit = conn.execute_batch("COMMIT").map_err(StoreError::from);
    health.committed(&commit, wrote);
    if let Err(e) = &commit {
        tracing::error!(error = %e, calls = finishes.len(), "commit failed");
        let _ = conn.execute_batch("ROLLBACK");
        // Start from a fresh connection next time: the old one may be in a bad state.
        db.conn = None;
    }
    for f in finishes {
        f.finish(commit.clone());
    }
}

/// The batch's transaction is gone (see the module docs): answers every call with the error,
/// those not run yet without running them.
fn lost_transaction(db: &mut Db, ran: Vec<Box<dyn Finish>>, not_run: Vec<Box<dyn Job>>, cause: Option<StoreError>) {
    let why = match cause {
        Some(StoreError::Failed(why) | StoreError::Unavailable(why)) => format!("transaction rolled back: {why}"),
        None => "transaction rolled back".to_string(),
    };
    let e = StoreError::Failed(why);
    db.health.failed(e.to_string());
    tracing::error!(error = %e, ran = ran.len(), not_run = not_run.len(), "the batch lost its transaction");
    for f in ran {
        f.finish(Err(e.clone()));
    }
    for job in not_run {
        job.fail(e.clone());
    }
    // Start from a fresh connection next time, as after a failed commit.
    db.conn = None;
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

    /// A call for `run_batch`, and where its answer arrives.
    fn job<R: Send + 'static>(
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> (Box<dyn Job>, oneshot::Receiver<Result<R, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        (Box::new(CallJob { f, reply }), answer)
    }

    fn insert(message: &'static str) -> impl FnOnce(&Connection) -> rusqlite::Result<usize> + Send + 'static {
        move |c| {
            c.execute(
                "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#c', 'n', 'u@h', ?1)",
                [message],
            )
        }
    }

    fn messages(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut q = conn.prepare("SELECT message FROM sal_entry ORDER BY id").unwrap();
        q.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn a_batch_whose_transaction_is_rolled_back_reports_every_call_failed_and_runs_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let mut db = Db { path: path.clone(), conn: None, health: WriteHealth::default() };
        // The second call ends the transaction, as SQLite does by itself on SQLITE_FULL, IOERR,
        // NOMEM or BUSY: the first call's row goes with it, and the later ones must not run
        // outside the transaction (each would commit alone while its caller hears "failed").
        let (first, a) = job(insert("first"));
        let (rollback, b) = job(|c| c.execute_batch("ROLLBACK"));
        let (third, c) = job(insert("third"));
        let ran_fourth = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran_fourth.clone();
        let (fourth, d) = job(move |c| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            insert("fourth")(c)
        });
        run_batch(&mut db, vec![first, rollback, third, fourth]);
        let a = a.blocking_recv().unwrap().unwrap_err();
        assert!(a.to_string().contains("transaction rolled back"), "{a}");
        assert!(b.blocking_recv().unwrap().is_err());
        assert!(c.blocking_recv().unwrap().is_err());
        assert!(d.blocking_recv().unwrap().unwrap_err().to_string().contains("transaction rolled back"));
        assert!(!ran_fourth.load(std::sync::atomic::Ordering::SeqCst), "a call after the rollback ran");
        assert_eq!(messages(&path), Vec::<String>::new(), "nothing of the batch may exist");
        // The next batch works again, on a fresh connection.
        let (again, e) = job(insert("again"));
        run_batch(&mut db, vec![again]);
        assert_eq!(e.blocking_recv().unwrap(), Ok(1));
        assert_eq!(messages(&path), vec!["again"]);
    }

    #[test]
    fn a_full_disk_mid_batch_leaves_nothing_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let mut db = Db { path: path.clone(), conn: None, health: WriteHealth::default() };
        let (first, a) = job(insert("first"));
        // The database may not grow by more than a few pages: SQLITE_FULL, on which SQLite
        // rolls back the whole transaction.
        let (filler, b) = job(|c| {
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            c.execute_batch(&format!("PRAGMA max_page_count = {}", pages + 2))?;
            loop {
                c.execute(
                    "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#c', 'n', 'u@h', ?1)",
                    ["x".repeat(3000)],
                )?;
            }
        });
        let (third, c) = job(insert("third"));
        run_batch(&mut db, vec![first, filler, third]);
        let b: Result<(), _> = b.blocking_recv().unwrap();
        assert_eq!(b, Err(StoreError::Failed("transaction rolled back: database or disk is full".into())));
        for answer in [a.blocking_recv().unwrap(), c.blocking_recv().unwrap()] {
            assert!(
                matches!(&answer, Err(StoreError::Failed(why)) if why.starts_with("transaction rolled back")),
                "{answer:?}"
            );
        }
        assert_eq!(messages(&path), Vec::<String>::new());
    }

    #[test]
    fn a_lost_transaction_is_one_write_error_and_the_next_commit_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let mut db = Db { path: path.clone(), conn: None, health: WriteHealth::default() };
        let errors = || crate::metrics::METRICS.db_write_errors.load(std::sync::atomic::Ordering::Relaxed);
        let (full, answer) = job::<()>(|c| {
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            c.execute_batch(&format!("PRAGMA max_page_count = {}", pages + 2))?;
            loop {
                c.execute(
                    "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#c', 'n', 'u@h', ?1)",
                    ["x".repeat(3000)],
                )?;
            }
        });
        let before = errors();
        run_batch(&mut db, vec![full]);
        assert!(answer.blocking_recv().unwrap().is_err());
        // Other tests count too (the metric is process-wide): at least this one, not twice.
        assert!(errors() > before);
        assert!(db.health.get().is_some_and(|why| why.contains("full")), "{:?}", db.health.get());
        // The full disk's error was this batch's: the next batch that writes clears the record.
        let (after, answer) = job(insert("after"));
        run_batch(&mut db, vec![after]);
        assert_eq!(answer.blocking_recv().unwrap(), Ok(1));
        assert_eq!(db.health.get(), None);
        assert_eq!(messages(&path), ["after"]);
    }

    #[test]
    fn a_failing_call_that_keeps_the_transaction_only_fails_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let mut db = Db { path: path.clone(), conn: None, health: WriteHealth::default() };
        let (first, a) = job(insert("first"));
        let (bad, b) = job(|c| c.execute("INSERT INTO sal_entry (message) VALUES ('no channel')", []));
        let (third, c) = job(insert("third"));
        run_batch(&mut db, vec![first, bad, third]);
        assert_eq!(a.blocking_recv().unwrap(), Ok(1));
        let b = b.blocking_recv().unwrap().unwrap_err();
        assert!(b.to_string().contains("NOT NULL"), "the call's own error, not the savepoint's: {b}");
        assert_eq!(c.blocking_recv().unwrap(), Ok(1));
        assert_eq!(messages(&path), vec!["first", "third"]);
    }

    #[tokio::test]
    async fn the_connection_is_durable_and_strict() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = Store::open(&dir.path().join("t.sqlite3"));
        let pragmas = store
            .call(|c| {
                let get = |p: &str| c.query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, rusqlite::types::Value>(0));
                Ok([get("synchronous")?, get("foreign_keys")?, get("journal_mode")?, get("busy_timeout")?])
            })
            .await
            .unwrap();
        use rusqlite::types::Value::{Integer, Text};
        let [synchronous, foreign_keys, journal_mode, busy_timeout] = pragmas;
        assert_eq!(synchronous, Integer(2), "synchronous = FULL");
        assert_eq!(foreign_keys, Integer(1));
        assert_eq!(journal_mode, Text("wal".into()));
        assert!(matches!(busy_timeout, Integer(ms) if ms > 0), "{busy_timeout:?}");
        // Foreign keys are enforced, not only declared.
        let orphan = store.call(|c| c.execute("INSERT INTO sal_task (task, entry_id) VALUES ('T1', 999)", [])).await;
        assert!(matches!(orphan, Err(StoreError::Failed(why)) if why.contains("FOREIGN KEY")));
    }

    #[test]
    fn an_older_database_is_upgraded_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            // A database made by a srebot that knew only migrations 1 to 3.
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &migrations::MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch("PRAGMA user_version = 3").unwrap();
            insert("from before the upgrade")(&conn).unwrap();
        }
        let conn = open_database(&path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version as usize, schema_version());
        assert!(schema_version() > 3);
        drop(conn);
        assert_eq!(messages(&path), vec!["from before the upgrade"]);
        // 0004's table exists, and 0006 counted the old row as indexed (3's trigger did it).
        let conn = open_database(&path).unwrap();
        let weeks: i64 = conn.query_row("SELECT count(*) FROM clinic_week", [], |r| r.get(0)).unwrap();
        let upto: i64 = conn.query_row("SELECT indexed_upto FROM sal_fts_state", [], |r| r.get(0)).unwrap();
        assert_eq!((weeks, upto), (0, 1));
    }

    #[test]
    fn landed_migrations_are_never_edited() {
        let listed: Vec<(&str, &str)> = include_str!("../../migrations/CHECKSUMS")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_once("  ").expect("`<sha256>  <file>` lines"))
            .collect();
        assert!(listed.len() >= 6, "0001 to 0006 at least");
        for (i, (name, sql)) in migrations::MIGRATIONS.iter().enumerate() {
            let hash = sha256_hex(sql.as_bytes());
            match listed.get(i) {
                Some((listed_hash, listed_name)) if listed_name == name => assert_eq!(
                    *listed_hash, hash,
                    "migrations/{name} changed after it landed: undo that, and put the change in a new migration"
                ),
                _ => {
                    panic!("migrations/{name} is not in migrations/CHECKSUMS at place {}: add `{hash}  {name}`", i + 1)
                }
            }
        }
        assert_eq!(listed.len(), migrations::MIGRATIONS.len(), "a landed migration was removed: {listed:?}");
    }

    /// SHA-256 (FIPS 180-4), enough for the test above without a dependency.
    fn sha256_hex(data: &[u8]) -> String {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
            0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
            0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
            0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
            0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
            0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
            0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2,
        ];
        let mut h: [u32; 8] =
            [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        let mut msg = data.to_vec();
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
        for block in msg.chunks(64) {
            let mut w = [0u32; 64];
            for (i, word) in block.chunks(4).enumerate() {
                w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
            for i in 0..64 {
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let ch = (e & f) ^ (!e & g);
                let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let maj = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(maj);
                (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
                *x = x.wrapping_add(y);
            }
        }
        h.iter().map(|x| format!("{x:08x}")).collect()
    }

    #[test]
    fn sha256_matches_the_standard() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(sha256_hex(long), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
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
        backup(&path, &copy, false).unwrap();
        let c2 = Connection::open(&copy).unwrap();
        let n: i64 = c2.query_row("SELECT count(*) FROM sal_entry", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }
}
