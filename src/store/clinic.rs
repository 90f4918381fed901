//! SQL for the clinic-duty rotation: the base rows, the changes on top, and who is who on IRC.

use super::sal::time_text;
use crate::clinic::import::{Report, Row};
use crate::clinic::schedule::{effective, Change, Person};
use crate::clinic::topic::Duty;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;

fn date(s: String) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Puts `rows` into the base rotation and says what that did (see [`Report`]). Idempotent: a
/// row equal to the stored one is left alone. Weeks the rows do not have are never deleted.
pub fn import(conn: &Connection, rows: &[Row], by: &str, at: DateTime<Utc>) -> rusqlite::Result<Report> {
    let mut report = Report::default();
    let in_file: HashSet<NaiveDate> = rows.iter().map(|r| r.week_start).collect();
    for (week, duty) in all_weeks(conn)? {
        if !in_file.contains(&week) {
            report.not_in_file.push((week, duty));
        }
    }
    for r in rows {
        let stored = base(conn, r.week_start)?;
        let row = r.duty();
        if stored.as_ref() == Some(&row) {
            report.unchanged += 1;
            continue;
        }
        conn.prepare_cached(
            "INSERT INTO clinic_week (week_start, clinician, backup, team, changed_by, changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (week_start) DO UPDATE SET clinician = ?2, backup = ?3, team = ?4, changed_by = ?5, changed_at = ?6",
        )?
        .execute(params![day(r.week_start), r.clinician, r.backup, r.team, by, time_text(&at)])?;
        if !changes(conn, r.week_start)?.is_empty() {
            report.still_changed_on_irc.push((r.week_start, duty(conn, r.week_start)?.unwrap_or_default()));
        }
        match stored {
            Some(before) => report.changed.push((r.week_start, before, row)),
            None => report.added.push((r.week_start, row)),
        }
    }
    Ok(report)
}

fn base(conn: &Connection, week: NaiveDate) -> rusqlite::Result<Option<Duty>> {
    conn.prepare_cached("SELECT clinician, backup, team FROM clinic_week WHERE week_start = ?1")?
        .query_row([day(week)], |r| Ok(Duty { clinician: r.get(0)?, backup: r.get(1)?, team: r.get(2)? }))
        .optional()
}

/// The base rotation as imported, for `srebot clinic export --base`.
pub fn base_rows(conn: &Connection) -> rusqlite::Result<Vec<Row>> {
    conn.prepare_cached("SELECT week_start, clinician, backup, team FROM clinic_week ORDER BY week_start")?
        .query_map([], |r| {
            Ok(Row { week_start: date(r.get(0)?)?, clinician: r.get(1)?, backup: r.get(2)?, team: r.get(3)? })
        })?
        .collect()
}

/// Every week in the schedule as it is in effect (base plus changes), for `srebot clinic export`.
pub fn effective_rows(conn: &Connection) -> rusqlite::Result<Vec<Row>> {
    Ok(all_weeks(conn)?
        .into_iter()
        .map(|(week_start, d)| Row { week_start, clinician: d.clinician, backup: d.backup, team: d.team })
        .collect())
}

/// The teams named anywhere in the schedule, each once whatever its case (in the spelling that
/// sorts first: `SRE-Traffic` before `sre-traffic`).
pub fn teams(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT min(team) FROM (SELECT team FROM clinic_week UNION ALL SELECT team FROM clinic_override)
         WHERE team IS NOT NULL AND trim(team) != '' GROUP BY lower(team) ORDER BY 1",
    )?
    .query_map([], |r| r.get(0))?
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
    weeks_since(conn, &day(from), limit)
}

/// Every week in the schedule (base or changes), in order.
fn all_weeks(conn: &Connection) -> rusqlite::Result<Vec<(NaiveDate, Duty)>> {
    // Every stored date sorts after the empty string.
    weeks_since(conn, "", usize::MAX)
}

fn weeks_since(conn: &Connection, from: &str, limit: usize) -> rusqlite::Result<Vec<(NaiveDate, Duty)>> {
    let weeks: Vec<String> = conn
        .prepare_cached(
            "SELECT week_start FROM clinic_week WHERE week_start >= ?1
             UNION SELECT week_start FROM clinic_override WHERE week_start >= ?1
             ORDER BY 1 LIMIT ?2",
        )?
        .query_map(params![from, i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?
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
                (SELECT count(*) || '/' || coalesce(max(changed_at), '') FROM clinic_person) || '|' ||
                (SELECT coalesce(max(id), 0) FROM clinic_removal)",
        [],
        |r| r.get(0),
    )
}

/// Takes `week` out of the base rotation (`srebot clinic remove`), keeping what it said, who
/// removed it and when in `clinic_removal`. Returns the removed duty; `None`, changing nothing,
/// when the base rotation has no such week. Changes made on IRC for the week stay.
pub fn remove_base(conn: &Connection, week: NaiveDate, by: &str, at: DateTime<Utc>) -> rusqlite::Result<Option<Duty>> {
    let Some(before) = base(conn, week)? else { return Ok(None) };
    conn.prepare_cached("DELETE FROM clinic_week WHERE week_start = ?1")?.execute([day(week)])?;
    record_removal(conn, week, "base", &before, by, at)?;
    Ok(Some(before))
}

/// Drops the changes made on IRC for `week` (`!clinic unset`), so the base rotation applies
/// again; what they made of the week, who and when go to `clinic_removal`. Returns that duty;
/// `None`, changing nothing, when the week has no changes.
pub fn unset_changes(
    conn: &Connection,
    week: NaiveDate,
    by: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<Option<Duty>> {
    if changes(conn, week)?.is_empty() {
        return Ok(None);
    }
    let made = duty(conn, week)?.unwrap_or_default();
    conn.prepare_cached("DELETE FROM clinic_override WHERE week_start = ?1")?.execute([day(week)])?;
    record_removal(conn, week, "changes", &made, by, at)?;
    Ok(Some(made))
}

fn record_removal(
    conn: &Connection,
    week: NaiveDate,
    what: &str,
    d: &Duty,
    by: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO clinic_removal (week_start, what, clinician, backup, team, removed_by, removed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![day(week), what, d.clinician, d.backup, d.team, by, time_text(&at)])?;
    Ok(())
}

/// Records who display name `name` is on IRC (replacing what was known).
pub fn set_person(conn: &Connection, p: &Person, by: &str, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO clinic_person (name, nick, account, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (name) DO UPDATE SET nick = ?2, account = ?3, changed_by = ?4, changed_at = ?5",
    )?
    .execute(params![p.name, p.nick, p.account, by, time_text(&at)])?;
    Ok(())
}

/// Forgets who `name` is on IRC; `false` when nothing was known.
pub fn remove_person(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    Ok(conn.prepare_cached("DELETE FROM clinic_person WHERE name = ?1")?.execute([name])? > 0)
}

/// Everyone whose nick is known, by display name.
pub fn people(conn: &Connection) -> rusqlite::Result<Vec<Person>> {
    conn.prepare_cached("SELECT name, nick, account FROM clinic_person ORDER BY name")?
        .query_map([], |r| Ok(Person { name: r.get(0)?, nick: r.get(1)?, account: r.get(2)? }))?
        .collect()
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

    fn open() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("c.sqlite3")).unwrap();
        (dir, conn)
    }

    #[test]
    fn import_is_idempotent_and_changes_sit_on_top() {
        let (_dir, conn) = open();
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
    }

    #[test]
    fn removing_a_week_or_its_changes_is_recorded() {
        let (_dir, conn) = open();
        let at: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let (w1, w2): (NaiveDate, NaiveDate) = ("2026-11-23".parse().unwrap(), "2026-11-30".parse().unwrap());
        import(&conn, &[row("2026-11-23", Some("Alice"), None, Some("SRE-Traffic"))], "cli:root", at).unwrap();
        change(&conn, w1, &Change::Clinician("Dan".into()), "alice", at).unwrap();
        change(&conn, w2, &Change::NoDuty, "alice", at).unwrap();
        let v = version(&conn).unwrap();
        // The IRC change goes, the base applies again.
        let dan = Duty { clinician: Some("Dan".into()), backup: None, team: Some("SRE-Traffic".into()) };
        assert_eq!(unset_changes(&conn, w1, "root", at).unwrap(), Some(dan));
        let alice = Duty { clinician: Some("Alice".into()), backup: None, team: Some("SRE-Traffic".into()) };
        assert_eq!(duty(&conn, w1).unwrap(), Some(alice.clone()));
        assert_eq!(unset_changes(&conn, w1, "root", at).unwrap(), None, "nothing left to unset");
        assert_ne!(version(&conn).unwrap(), v, "the topic keeper sees the change");
        // The base week goes; a week only changed on IRC has no base row to remove.
        assert_eq!(remove_base(&conn, w1, "cli:root", at).unwrap(), Some(alice));
        assert_eq!(duty(&conn, w1).unwrap(), None);
        assert_eq!(remove_base(&conn, w2, "cli:root", at).unwrap(), None);
        let trail: Vec<(String, String, Option<String>, String)> = conn
            .prepare("SELECT week_start, what, clinician, removed_by FROM clinic_removal ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let t = |w: &str, what: &str, c: &str, by: &str| {
            (w.to_string(), what.to_string(), Some(c.to_string()), by.to_string())
        };
        assert_eq!(trail, [t("2026-11-23", "changes", "Dan", "root"), t("2026-11-23", "base", "Alice", "cli:root")]);
    }

    #[test]
    fn import_reports_old_and_new_and_never_deletes() {
        let (_dir, conn) = open();
        let at: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let first = vec![
            row("2026-11-23", Some("Alice"), None, Some("SRE-Traffic")),
            row("2026-11-30", Some("Bob"), None, Some("SRE-Traffic")),
            row("2026-12-07", Some("Carol"), None, None),
        ];
        import(&conn, &first, "cli", at).unwrap();
        // Set on IRC, on top of the base, and for a week the base does not have.
        let (w1, w3, w4) =
            ("2026-11-23".parse().unwrap(), "2026-12-07".parse().unwrap(), "2026-12-14".parse().unwrap());
        change(&conn, w1, &Change::Clinician("Dan".into()), "alice", at).unwrap();
        change(&conn, w4, &Change::NoDuty, "alice", at).unwrap();
        let second = vec![
            row("2026-11-23", Some("Erin"), None, Some("SRE-Traffic")),
            row("2026-11-30", Some("Bob"), None, Some("SRE-Traffic")),
        ];
        let report = import(&conn, &second, "cli", at).unwrap();
        let alice = Duty { clinician: Some("Alice".into()), backup: None, team: Some("SRE-Traffic".into()) };
        let erin = Duty { clinician: Some("Erin".into()), ..alice.clone() };
        assert_eq!(report.changed, [(w1, alice, erin)]);
        assert_eq!(report.unchanged, 1);
        let carol = Duty { clinician: Some("Carol".into()), ..Duty::default() };
        assert_eq!(report.not_in_file, [(w3, carol.clone()), (w4, Duty::default())]);
        let dan = Duty { clinician: Some("Dan".into()), backup: None, team: Some("SRE-Traffic".into()) };
        assert_eq!(report.still_changed_on_irc, [(w1, dan.clone())]);
        // Nothing was deleted; the change made on IRC still applies.
        assert_eq!(duty(&conn, w3).unwrap(), Some(carol));
        assert_eq!(duty(&conn, w1).unwrap(), Some(dan));
        // Export: the schedule in effect (base and changes), or the base alone.
        let effective = effective_rows(&conn).unwrap();
        assert_eq!(effective.len(), 4);
        assert_eq!(effective[0], row("2026-11-23", Some("Dan"), None, Some("SRE-Traffic")));
        assert_eq!(effective[3], row("2026-12-14", None, None, None));
        let base = base_rows(&conn).unwrap();
        assert_eq!(base.len(), 3);
        assert_eq!(base[0], row("2026-11-23", Some("Erin"), None, Some("SRE-Traffic")));
    }

    #[test]
    fn teams_are_listed_once_each() {
        let (_dir, conn) = open();
        let at: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let rows = vec![
            row("2026-11-23", Some("A"), None, Some("SRE-Traffic")),
            row("2026-11-30", Some("B"), None, Some("sre-traffic")),
            row("2026-12-07", Some("C"), None, None),
        ];
        import(&conn, &rows, "cli", at).unwrap();
        let set = Duty { clinician: Some("D".into()), backup: None, team: Some("SRE-Data Persistence".into()) };
        change(&conn, "2026-12-14".parse().unwrap(), &Change::Set(set), "alice", at).unwrap();
        assert_eq!(teams(&conn).unwrap(), ["SRE-Data Persistence", "SRE-Traffic"]);
    }

    #[test]
    fn people_with_nicks_and_accounts() {
        let (_dir, conn) = open();
        let at: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let v0 = version(&conn).unwrap();
        let alice = Person { name: "Alice Example".into(), nick: "alice_irc".into(), account: Some("alice".into()) };
        set_person(&conn, &alice, "root", at).unwrap();
        let renamed = Person { name: "alice example".into(), nick: "alice2".into(), account: None };
        set_person(&conn, &renamed, "root", at).unwrap();
        // One row per display name, whatever its case; the first spelling stays.
        let stored = Person { name: "Alice Example".into(), ..renamed };
        assert_eq!(people(&conn).unwrap(), [stored]);
        let v1 = version(&conn).unwrap();
        assert_ne!(v1, v0);
        assert!(remove_person(&conn, "ALICE EXAMPLE").unwrap());
        assert!(!remove_person(&conn, "Alice Example").unwrap());
        assert_eq!(people(&conn).unwrap(), []);
        assert_ne!(version(&conn).unwrap(), v1);
    }
}
