//! STS policies by host: the TLS port a server asked for and until when.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

/// The policy kept for `host` as `(port, expires)`, if any (expired or not: the caller decides).
pub fn get(conn: &Connection, host: &str) -> rusqlite::Result<Option<(u16, DateTime<Utc>)>> {
    let row: Option<(u16, String)> = conn
        .query_row("SELECT port, expires_at FROM sts_policy WHERE host = ?1", [host], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(port, at)| Some((port, DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc)))))
}

/// Keeps (replacing) or, with `None`, removes the policy for `host`.
pub fn set(conn: &Connection, host: &str, policy: Option<(u16, DateTime<Utc>)>) -> rusqlite::Result<()> {
    match policy {
        Some((port, expires)) => conn.execute(
            "INSERT INTO sts_policy (host, port, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (host) DO UPDATE SET port = excluded.port, expires_at = excluded.expires_at",
            params![host, port, expires.to_rfc3339()],
        )?,
        None => conn.execute("DELETE FROM sts_policy WHERE host = ?1", [host])?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_kept_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open_database(&dir.path().join("t.db")).unwrap();
        let at = DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(get(&conn, "irc.example").unwrap(), None);
        set(&conn, "irc.example", Some((6697, at))).unwrap();
        set(&conn, "irc.example", Some((7000, at))).unwrap();
        assert_eq!(get(&conn, "irc.example").unwrap(), Some((7000, at)));
        assert_eq!(get(&conn, "other.example").unwrap(), None);
        set(&conn, "irc.example", None).unwrap();
        assert_eq!(get(&conn, "irc.example").unwrap(), None);
    }
}
