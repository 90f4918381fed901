//! Whether the database takes writes: the store thread's own record of its latest write, for
//! `/healthz`. A probe that writes nothing cannot see a full or read-only disk; the writes the
//! bot makes anyway can.

use super::StoreError;
use std::sync::{Arc, Mutex};

/// Whether the database takes writes, as the store thread last saw it: why the latest write
/// failed (opening, the transaction, the commit, or a statement's I/O error such as a read-only
/// or full disk), until a later write commits. `/healthz` reports it.
#[derive(Clone, Default)]
pub(super) struct WriteHealth(Arc<Mutex<Option<String>>>);

impl WriteHealth {
    pub(super) fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, failure: Option<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = failure;
    }

    /// A write failed (the database would not open, the transaction was lost, the commit
    /// failed): remembered, and counted in the `db_write_errors` metric. The one place that
    /// counts, so that a failure is counted once however it showed.
    pub(super) fn failed(&self, why: String) {
        IO_ERROR.take(); // said by this failure, or by nothing once it is over
        crate::metrics::METRICS.db_write_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.set(Some(why));
    }

    /// After a commit: a statement's I/O error or a failed commit is remembered; a batch that
    /// wrote and committed clears what was remembered.
    pub(super) fn committed(&self, commit: &Result<(), StoreError>, wrote: bool) {
        match (commit, IO_ERROR.take()) {
            (Err(e), _) => self.failed(e.to_string()),
            (Ok(()), Some(why)) => self.failed(why),
            (Ok(()), None) if wrote => self.set(None),
            (Ok(()), None) => {}
        }
    }
}

thread_local! {
    /// The latest I/O-class error of a call on this (the store's) thread, for [`WriteHealth`].
    static IO_ERROR: std::cell::Cell<Option<String>> = const { std::cell::Cell::new(None) };
}

/// Remembers `e` when it says the disk, not the statement, failed.
pub(super) fn note_io_error(e: &rusqlite::Error) {
    use rusqlite::ErrorCode::*;
    if let rusqlite::Error::SqliteFailure(f, _) = e {
        if matches!(
            f.code,
            ReadOnly | DiskFull | SystemIoFailure | CannotOpen | DatabaseCorrupt | NotADatabase | DatabaseBusy
        ) {
            IO_ERROR.set(Some(StoreError::Failed(super::reason(e)).to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;

    #[tokio::test]
    async fn write_failures_are_remembered_until_a_write_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = Store::open(&dir.path().join("later").join("db.sqlite3"));
        // Known from the start: the database could not even be opened.
        assert_eq!(store.write_failure().as_deref(), Some("database unavailable (unable to open database file)"));
        std::fs::create_dir(dir.path().join("later")).unwrap();
        // Reading works again, but only a write proves the database takes writes.
        store.call(|c| c.query_row("SELECT count(*) FROM sal_entry", [], |r| r.get::<_, i64>(0))).await.unwrap();
        assert!(store.write_failure().is_some());
        store.call(|c| c.execute_batch("CREATE TABLE t (x INTEGER NOT NULL)")).await.unwrap();
        assert!(store.write_failure().is_some(), "a schema change writes no rows");
        let write = "INSERT INTO t VALUES (1)";
        store.call(move |c| c.execute(write, [])).await.unwrap();
        assert_eq!(store.write_failure(), None);
        // A statement refused by the disk (here: a read-only connection) is a write failure,
        // even though the transaction around it commits; a statement's own error is not.
        let refused = store
            .call(move |c| {
                c.execute_batch("PRAGMA query_only = ON")?;
                let r = c.execute(write, []);
                c.execute_batch("PRAGMA query_only = OFF")?;
                r
            })
            .await;
        assert!(refused.is_err());
        let why = store.write_failure().expect("remembered");
        assert!(why.contains("readonly"), "{why}");
        let bad = store.call(|c| c.execute("INSERT INTO t VALUES (NULL)", [])).await;
        assert!(bad.is_err());
        assert_eq!(store.write_failure().as_deref(), Some(why.as_str()), "a constraint says nothing of the disk");
        store.call(move |c| c.execute(write, [])).await.unwrap();
        assert_eq!(store.write_failure(), None);
    }
}
