//! SQL for the clinic-duty rotation: the base rows, the changes on top, and who is who on IRC.

use super::sal::time_text;
use crate::clinic::import::Row;
use crate::clinic::schedule::{effective, Change};
use crate::clinic::topic::Duty;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};

fn date(s: String) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub added: Vec<NaiveDate>,
    pub changed: Vec<NaiveDate>,
    pub unchanged: usize,
}

/// Puts `rows` into the base rotation. Idempotent: a row equal to the stored one is left alone.
pub fn import(conn: &Connection, rows: &[Row], by: &str, at: DateTime<Utc>) -> rusqlite::Result<Imported> {
    let mut report = Imported::default();
    for r in rows {
        let stored = base(conn, r.week_start)?;
        if stored.as_ref() == Some(&r.duty()) {
            report.unchanged += 1;
            continue;
        }
        conn.prepare_cached(
            "INSERT INTO clinic_week (week_start, clinician, backup, team, changed_by, changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (week_start) DO UPDATE SET clinician = ?2, backup = ?3, team = ?4, changed_by = ?5, changed_at = ?6",
        )?
        .execute(params![day(r.week_start), r.clinician, r.backup, r.team, by, time_text(&at)])?;
        if stored.is_some() {
            report.changed.push(r.week_start);
        } else {
            report.added.push(r.week_start);
        }
    }
    Ok(report)
}

fn base(conn: &Connection, week: NaiveDate) -> rusqlite::Result<Option<Duty>> {
    conn.prepare_cached("SELECT clinician, backup, team FROM clinic_week WHERE week_start = ?1")?
        .query_row([day(week)], |r| Ok(Duty { clinician: r.get(0)?, backup: r.get(1)?, team: r.get(2)? }))
        .optional()
}

/// The base rotation, for export.
pub fn base_rows(conn: &Connection) -> rusqlite::Result<Vec<Row>> {
    conn.prepare_cached("SELECT week_start, clinician, backup, team FROM clinic_week ORDER BY week_start")?
        .query_map([], |r| {
            Ok(Row { week_start: date(r.get(0)?)?, clinician: r.get(1)?, backup: r.get(2)?, team: r.get(3)? })
        })?
        .collect()
}

fn changes(conn: &Connection, week: NaiveDate) -> rusqlite::Result<Vec<Change>> {
    conn.prepare_cached("SELECT kind, clinician, backup, team FROM clinic_override WHERE week_start = ?1 ORDER BY id")?
        .query_map([day(week)], |r| {
            let kind: String = r.get(0)?;
            let duty = Duty { clinician: r.get(1)?, backup: r.get(2)?, team: r.get(3)? };
            Ok(match kind.as_str() {
                "none" => Change::NoDuty,
                "swap" => Change::Swap(duty),
                "override" => Change::Clinician(duty.clinician.unwrap_or_default()),
                _ => Change::Set(duty),
            })
        })?
        .collect()
}

/// The duty of the week starting `week` (base plus changes); `None` when it is not scheduled.
pub fn duty(conn: &Connection, week: NaiveDate) -> rusqlite::Result<Option<Duty>> {
    Ok(effective(base(conn, week)?, &changes(conn, week)?))
}

/// Records a change on top of the base rotation.
pub fn change(conn: &Connection, week: NaiveDate, c: &Change, by: &str, at: DateTime<Utc>) -> rusqlite::Result<()> {
    let (kind, d) = match c {
        Change::Set(d) => ("set", d.clone()),
        Change::NoDuty => ("none", Duty::default()),
        Change::Swap(d) => ("swap", d.clone()),
        Change::Clinician(who) => ("override", Duty { clinician: Some(who.clone()), ..Duty::default() }),
    };
    conn.prepare_cached(
        "INSERT INTO clinic_override (week_start, kind, clinician, backup, team, changed_by, changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![day(week), kind, d.clinician, d.backup, d.team, by, time_text(&at)])?;
    Ok(())
}

/// Weeks from `from` on that are in the schedule (base or changes), in order, at most `limit`.
pub fn weeks_from(conn: &Connection, from: NaiveDate, limit: usize) -> rusqlite::Result<Vec<(NaiveDate, Duty)>> {
    let weeks: Vec<String> = conn
        .prepare_cached(
            "SELECT week_start FROM clinic_week WHERE week_start >= ?1
             UNION SELECT week_start FROM clinic_override WHERE week_start >= ?1
             ORDER BY 1 LIMIT ?2",
        )?
        .query_map(params![day(from), limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for w in weeks {
        let week = date(w)?;
        if let Some(d) = duty(conn, week)? {
            out.push((week, d));
        }
    }
    Ok(out)
}

/// A fingerprint of the whole schedule: it changes whenever anything in it does (including
/// an import by another process), so the bot knows to refresh the topic.
pub fn version(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT (SELECT count(*) || '/' || coalesce(max(changed_at), '') FROM clinic_week) || '|' ||
                (SELECT coalesce(max(id), 0) FROM clinic_override) || '|' ||
                (SELECT count(*) || '/' || coalesce(max(changed_at), '') FROM clinic_person)",
        [],
        |r| r.get(0),
    )
}

pub fn set_person(conn: &Connection, name: &str, nick: &str, by: &str, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO clinic_person (name, nick, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET nick = ?2, changed_by = ?3, changed_at = ?4",
    )?
    .execute(params![name, nick, by, time_text(&at)])?;
    Ok(())
}

/// The IRC nick to highlight for a display name, if known.
pub fn nick_of(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT nick FROM clinic_person WHERE name = ?1")?.query_row([name], |r| r.get(0)).optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(week: &str, c: Option<&str>, b: Option<&str>, t: Option<&str>) -> Row {
        Row {
            week_start: week.parse().unwrap(),
            clinician: c.map(Into::into),
            backup: b.map(Into::into),
            team: t.map(Into::into),
        }
    }

    #[test]
    fn import_is_idempotent_and_changes_sit_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("c.sqlite3")).unwrap();
        let at: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let rows = vec![
            row("2026-11-23", Some("Alice"), Some("Bob"), Some("SRE-Traffic")),
            row("2026-11-30", None, None, None),
        ];
        let first = import(&conn, &rows, "cli", at).unwrap();
        assert_eq!((first.added.len(), first.changed.len(), first.unchanged), (2, 0, 0));
        let again = import(&conn, &rows, "cli", at).unwrap();
        assert_eq!((again.added.len(), again.changed.len(), again.unchanged), (0, 0, 2));
        let v1 = version(&conn).unwrap();
        let w1: NaiveDate = "2026-11-23".parse().unwrap();
        let w2: NaiveDate = "2026-11-30".parse().unwrap();
        // A swap: each week gets the other's duty; the base rows stay as imported.
        let (d1, d2) = (duty(&conn, w1).unwrap().unwrap(), duty(&conn, w2).unwrap().unwrap());
        change(&conn, w1, &Change::Swap(d2.clone()), "alice", at).unwrap();
        change(&conn, w2, &Change::Swap(d1.clone()), "alice", at).unwrap();
        assert_eq!(duty(&conn, w1).unwrap(), Some(d2));
        assert_eq!(duty(&conn, w2).unwrap(), Some(d1));
        assert_eq!(base_rows(&conn).unwrap(), rows);
        assert_ne!(version(&conn).unwrap(), v1);
        assert_eq!(weeks_from(&conn, w2, 10).unwrap().len(), 1);
        assert_eq!(duty(&conn, "2027-01-04".parse().unwrap()).unwrap(), None);
        set_person(&conn, "Alice", "alice_irc", "root", at).unwrap();
        assert_eq!(nick_of(&conn, "alice").unwrap().as_deref(), Some("alice_irc"));
    }
}
