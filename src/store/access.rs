//! SQL of the access grants made on IRC (`!access`), on top of the config file's lists, and
//! their audit trail.

use super::sal::time_text;
use crate::access::Grant;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

/// Every grant, by account.
pub fn grants(conn: &Connection) -> rusqlite::Result<Vec<Grant>> {
    let mut stmt = conn
        .prepare_cached("SELECT account, level, granted_by, granted_at, reason FROM access_grant ORDER BY account")?;
    let rows = stmt.query_map([], |r| {
        Ok(Grant {
            account: r.get(0)?,
            admin: r.get::<_, String>(1)? == "admin",
            by: r.get(2)?,
            at: r.get(3)?,
            reason: r.get(4)?,
        })
    })?;
    rows.collect()
}

fn level(admin: bool) -> &'static str {
    if admin {
        "admin"
    } else {
        "member"
    }
}

/// Grants (or changes) `account`'s level, and records who did it, when and why.
pub fn put(
    conn: &Connection,
    account: &str,
    admin: bool,
    actor: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let account = account.to_ascii_lowercase();
    conn.execute(
        "INSERT INTO access_grant (account, level, granted_by, granted_at, reason) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account) DO UPDATE SET level = ?2, granted_by = ?3, granted_at = ?4, reason = ?5",
        params![account, level(admin), actor, time_text(&at), reason],
    )?;
    audit(conn, "add", &account, Some(admin), actor, reason, at)
}

/// Takes `account`'s grant back and records it; false when it had none.
pub fn remove(
    conn: &Connection,
    account: &str,
    actor: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let account = account.to_ascii_lowercase();
    let had: Option<String> =
        conn.query_row("SELECT level FROM access_grant WHERE account = ?1", [&account], |r| r.get(0)).optional()?;
    let Some(had) = had else { return Ok(false) };
    conn.execute("DELETE FROM access_grant WHERE account = ?1", [&account])?;
    audit(conn, "remove", &account, Some(had == "admin"), actor, reason, at)?;
    Ok(true)
}

fn audit(
    conn: &Connection,
    action: &str,
    account: &str,
    admin: Option<bool>,
    actor: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO access_audit (at, actor, action, account, level, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![time_text(&at), actor, action, account, admin.map(level), reason],
    )?;
    Ok(())
}

/// One change from the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub account: String,
    pub level: Option<String>,
    pub reason: String,
}

/// The latest `limit` changes, newest first.
pub fn audit_trail(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, actor, action, account, level, reason FROM access_audit ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(AuditRow {
            at: r.get(0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            account: r.get(3)?,
            level: r.get(4)?,
            reason: r.get(5)?,
        })
    })?;
    rows.collect()
}
