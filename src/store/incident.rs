//! SQL for incidents, their role tenures and their timelines.

use super::sal::time_text;
use super::Actor;
use crate::incident::model::{Event, EventKind, Incident, Record, Role, State, Tenure};
use crate::names::ChannelName;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

fn time(s: String) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn opt_time(s: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    s.map(time).transpose()
}

fn bad_value(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, format!("bad {what}").into())
}

fn state(s: String) -> rusqlite::Result<State> {
    State::parse(&s).ok_or_else(|| bad_value("state"))
}

fn role(s: String) -> rusqlite::Result<Role> {
    Role::parse(&s).ok_or_else(|| bad_value("role"))
}

const INCIDENT_COLUMNS: &str = "id, channel, private, summary, state, opened_at, opened_by, resolved_at, closed_at, \
     close_summary, user_facing, data_loss, report_url, last_update_at, number";

fn incident(r: &Row<'_>) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: r.get(0)?,
        channel: r.get(1)?,
        private: r.get(2)?,
        summary: r.get(3)?,
        state: state(r.get(4)?)?,
        opened_at: time(r.get(5)?)?,
        opened_by: r.get(6)?,
        resolved_at: opt_time(r.get(7)?)?,
        closed_at: opt_time(r.get(8)?)?,
        close_summary: r.get(9)?,
        user_facing: r.get(10)?,
        data_loss: r.get(11)?,
        report_url: r.get(12)?,
        last_update_at: time(r.get(13)?)?,
        number: r.get(14)?,
    })
}

/// An event to append to a timeline.
#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub text: &'a str,
    pub from_state: Option<State>,
    pub to_state: Option<State>,
    pub role: Option<Role>,
    pub from_holder: Option<&'a str>,
    pub to_holder: Option<&'a str>,
    pub sal_id: Option<i64>,
    /// For backdated events: when it happened (else the actor's time).
    pub at: Option<DateTime<Utc>>,
}

pub fn add_event(conn: &Connection, incident_id: i64, who: &Actor, e: &NewEvent<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO incident_event (incident_id, at, recorded_at, kind, actor, text, from_state, to_state, role,
                                     from_holder, to_holder, sal_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        incident_id,
        time_text(&e.at.unwrap_or(who.at)),
        time_text(&who.at),
        e.kind,
        who.nick,
        e.text,
        e.from_state.map(State::as_str),
        e.to_state.map(State::as_str),
        e.role.map(Role::as_str),
        e.from_holder,
        e.to_holder,
        e.sal_id
    ])?;
    Ok(conn.last_insert_rowid())
}

fn touch(conn: &Connection, id: i64, at: &DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET last_update_at = ?2, last_reminded_at = NULL WHERE id = ?1")?
        .execute(params![id, time_text(at)])?;
    Ok(())
}

/// Opens an incident, numbered next in its scope; the opener holds both roles.
pub fn open(conn: &Connection, channel: &str, private: bool, summary: &str, who: &Actor) -> rusqlite::Result<Incident> {
    let at = time_text(&who.at);
    // The store thread runs one call at a time, inside one transaction: nothing can take the
    // same number between the read and the insert (and UNIQUE(scope, number) would refuse it).
    conn.prepare_cached(
        "INSERT INTO incident (channel, private, summary, state, opened_at, opened_by, last_update_at, scope, number)
         VALUES (?1, ?2, ?3, 'investigating', ?4, ?5, ?4, ?6,
                 (SELECT coalesce(max(number), 0) + 1 FROM incident WHERE scope = ?6))",
    )?
    .execute(params![
        channel,
        private,
        summary,
        at,
        who.account.as_deref().unwrap_or_default(),
        crate::incident::scope(channel, private)
    ])?;
    let id = conn.last_insert_rowid();
    add_event(conn, id, who, &NewEvent { kind: "opened", text: summary, ..NewEvent::default() })?;
    for r in [Role::Comms, Role::Diagnosis] {
        start_tenure(conn, id, r, who.account.as_deref().unwrap_or_default(), &who.nick, &who.at, None)?;
    }
    get(conn, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

fn start_tenure(
    conn: &Connection,
    id: i64,
    r: Role,
    account: &str,
    nick: &str,
    at: &DateTime<Utc>,
    handed_by: Option<&str>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO incident_tenure (incident_id, role, account, nick, started_at, handed_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, r.as_str(), account, nick, time_text(at), handed_by])?;
    Ok(())
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Incident>> {
    conn.prepare_cached(&format!("SELECT {INCIDENT_COLUMNS} FROM incident WHERE id = ?1"))?
        .query_row([id], incident)
        .optional()
}

/// The incident numbered `number` in `scope` (see [`crate::incident::scope`]).
pub fn find(conn: &Connection, scope: &str, number: i64) -> rusqlite::Result<Option<Incident>> {
    conn.prepare_cached(&format!("SELECT {INCIDENT_COLUMNS} FROM incident WHERE scope = ?1 AND number = ?2"))?
        .query_row(params![scope, number], incident)
        .optional()
}

/// Incidents of `channel` (any spelling of it, see [`ChannelName`]) that are not closed, oldest
/// first. SQLite's NOCASE knows ASCII only, so the channel is compared here; the incidents not
/// closed are few.
pub fn not_closed_in(conn: &Connection, channel: &str) -> rusqlite::Result<Vec<Incident>> {
    let channel = ChannelName::from(channel);
    let open: Vec<Incident> = conn
        .prepare_cached(&format!("SELECT {INCIDENT_COLUMNS} FROM incident WHERE state != 'closed' ORDER BY id"))?
        .query_map([], incident)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(open.into_iter().filter(|i| channel == i.channel.as_str()).collect())
}

/// Every incident, newest first; `public_only` leaves out security-channel incidents.
pub fn list(conn: &Connection, public_only: bool, limit: i64) -> rusqlite::Result<Vec<Incident>> {
    conn.prepare_cached(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incident WHERE (?1 = 0 OR private = 0) ORDER BY id DESC LIMIT ?2"
    ))?
    .query_map(params![public_only, limit], incident)?
    .collect()
}

pub fn tenures(conn: &Connection, id: i64) -> rusqlite::Result<Vec<Tenure>> {
    conn.prepare_cached(
        "SELECT role, account, nick, started_at, ended_at, handed_by FROM incident_tenure
         WHERE incident_id = ?1 ORDER BY started_at, id",
    )?
    .query_map([id], |r| {
        Ok(Tenure {
            role: role(r.get(0)?)?,
            account: r.get(1)?,
            nick: r.get(2)?,
            from: time(r.get(3)?)?,
            to: opt_time(r.get(4)?)?,
            handed_by: r.get(5)?,
        })
    })?
    .collect()
}

/// The current holder of `r`, if any.
pub fn holder(conn: &Connection, id: i64, r: Role) -> rusqlite::Result<Option<Tenure>> {
    Ok(tenures(conn, id)?.into_iter().rev().find(|t| t.role == r && t.to.is_none()))
}

/// Gives `r` to `account`: ends the current tenure and starts a new one, on the timeline too.
pub fn change_holder(
    conn: &Connection,
    id: i64,
    r: Role,
    account: &str,
    nick: &str,
    who: &Actor,
    handed: bool,
) -> rusqlite::Result<Option<Tenure>> {
    let previous = holder(conn, id, r)?;
    let at = time_text(&who.at);
    conn.prepare_cached(
        "UPDATE incident_tenure SET ended_at = ?3 WHERE incident_id = ?1 AND role = ?2 AND ended_at IS NULL",
    )?
    .execute(params![id, r.as_str(), at])?;
    start_tenure(conn, id, r, account, nick, &who.at, handed.then(|| who.account.as_deref().unwrap_or_default()))?;
    let from = previous.as_ref().map(|p| p.nick.as_str());
    add_event(
        conn,
        id,
        who,
        &NewEvent { kind: "role", role: Some(r), from_holder: from, to_holder: Some(nick), ..NewEvent::default() },
    )?;
    Ok(previous)
}

/// A state change (not close/reopen, which have their own functions).
pub fn set_state(conn: &Connection, id: i64, from: State, to: State, note: &str, who: &Actor) -> rusqlite::Result<()> {
    let at = time_text(&who.at);
    if to == State::Resolved {
        conn.prepare_cached("UPDATE incident SET state = ?2, resolved_at = coalesce(resolved_at, ?3) WHERE id = ?1")?
            .execute(params![id, to.as_str(), at])?;
    } else {
        conn.prepare_cached("UPDATE incident SET state = ?2 WHERE id = ?1")?.execute(params![id, to.as_str()])?;
    }
    add_event(
        conn,
        id,
        who,
        &NewEvent { kind: "state", text: note, from_state: Some(from), to_state: Some(to), ..NewEvent::default() },
    )?;
    Ok(())
}

/// Closes: impact has ended by now at the latest, so `resolved_at` is set if it was not.
pub fn close(conn: &Connection, id: i64, from: State, summary: Option<&str>, who: &Actor) -> rusqlite::Result<()> {
    let at = time_text(&who.at);
    conn.prepare_cached(
        "UPDATE incident SET state = 'closed', closed_at = ?2, resolved_at = coalesce(resolved_at, ?2),
                             close_summary = coalesce(?3, close_summary)
         WHERE id = ?1",
    )?
    .execute(params![id, at, summary])?;
    add_event(
        conn,
        id,
        who,
        &NewEvent {
            kind: "closed",
            text: summary.unwrap_or(""),
            from_state: Some(from),
            to_state: Some(State::Closed),
            ..NewEvent::default()
        },
    )?;
    Ok(())
}

/// Reopens a resolved or closed incident: back to investigating, impact ongoing again.
pub fn reopen(conn: &Connection, id: i64, from: State, who: &Actor) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE incident SET state = 'investigating', closed_at = NULL, resolved_at = NULL, report_nagged_at = NULL
         WHERE id = ?1",
    )?
    .execute([id])?;
    touch(conn, id, &who.at)?;
    add_event(
        conn,
        id,
        who,
        &NewEvent {
            kind: "reopened",
            from_state: Some(from),
            to_state: Some(State::Investigating),
            ..NewEvent::default()
        },
    )?;
    Ok(())
}

pub fn note(conn: &Connection, id: i64, text: &str, who: &Actor) -> rusqlite::Result<()> {
    add_event(conn, id, who, &NewEvent { kind: "note", text, ..NewEvent::default() })?;
    Ok(())
}

/// A public status update: on the timeline, and the clock of the communicator's reminder starts
/// again (notes and status changes are for the team; only this reaches users).
pub fn update(conn: &Connection, id: i64, text: &str, who: &Actor) -> rusqlite::Result<()> {
    touch(conn, id, &who.at)?;
    add_event(conn, id, who, &NewEvent { kind: "update", text, ..NewEvent::default() })?;
    Ok(())
}

/// The outbox's name for the wiki's status notice.
pub const STATUS_SINK: &str = "mediawiki-status";

/// Asks the publisher to bring the wiki's status notice up to date after a change of incident
/// `id`. Call it in the transaction that makes the change, then `publish::wake` after it.
pub fn queue_status(conn: &Connection, id: i64, at: DateTime<Utc>) -> rusqlite::Result<()> {
    let now = time_text(&at);
    conn.prepare_cached(
        "INSERT INTO sal_outbox (sink, incident_id, action, created_at, next_attempt_at) VALUES (?1, ?2, 'status', ?3, ?3)",
    )?
    .execute(params![STATUS_SINK, id, now])?;
    Ok(())
}

/// The report's wiki page as srebot last saved it: `(title, revision)`.
pub fn report_page(conn: &Connection, id: i64) -> rusqlite::Result<Option<(String, u64)>> {
    conn.prepare_cached("SELECT report_page, report_revid FROM incident WHERE id = ?1 AND report_page IS NOT NULL")?
        .query_row([id], |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0) as u64)))
        .optional()
}

/// Records the report's wiki page as the filed report, with the revision srebot saved.
pub fn report_published(
    conn: &Connection,
    id: i64,
    title: &str,
    revid: u64,
    url: &str,
    who: &Actor,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET report_page = ?2, report_revid = ?3 WHERE id = ?1")?.execute(params![
        id,
        title,
        revid as i64
    ])?;
    report_filed(conn, id, url, who)
}

/// Public incidents for the status page: those not resolved or closed, and those resolved or
/// closed since `since`, newest first, each with its latest public update.
pub fn status(conn: &Connection, since: DateTime<Utc>) -> rusqlite::Result<Vec<(Incident, Option<Event>)>> {
    let found: Vec<Incident> = conn
        .prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incident
             WHERE private = 0 AND (state NOT IN ('resolved', 'closed') OR coalesce(resolved_at, closed_at) >= ?1)
             ORDER BY opened_at DESC, id DESC LIMIT 200"
        ))?
        .query_map([time_text(&since)], incident)?
        .collect::<rusqlite::Result<_>>()?;
    found.into_iter().map(|i| Ok((latest_update(conn, i.id)?, i))).map(|r| r.map(|(u, i)| (i, u))).collect()
}

/// The latest public update of incident `id`.
pub fn latest_update(conn: &Connection, id: i64) -> rusqlite::Result<Option<Event>> {
    Ok(timeline(conn, id)?.into_iter().filter(|e| e.kind == EventKind::Update).max_by_key(|e| (e.recorded_at, e.id)))
}

pub fn backdate(conn: &Connection, id: i64, happened: DateTime<Utc>, text: &str, who: &Actor) -> rusqlite::Result<()> {
    add_event(conn, id, who, &NewEvent { kind: "backdated", text, at: Some(happened), ..NewEvent::default() })?;
    Ok(())
}

pub fn set_impact(conn: &Connection, id: i64, user_facing: bool, data_loss: bool, who: &Actor) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET user_facing = ?2, data_loss = ?3 WHERE id = ?1")?.execute(params![
        id,
        user_facing,
        data_loss
    ])?;
    let text = match (user_facing, data_loss) {
        (false, false) => "none".to_string(),
        (u, d) => {
            [u.then_some("user-facing"), d.then_some("data loss")].into_iter().flatten().collect::<Vec<_>>().join(", ")
        }
    };
    add_event(conn, id, who, &NewEvent { kind: "impact", text: &text, ..NewEvent::default() })?;
    Ok(())
}

pub fn snooze(
    conn: &Connection,
    id: i64,
    until: Option<DateTime<Utc>>,
    text: &str,
    who: &Actor,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET snoozed_until = ?2 WHERE id = ?1")?
        .execute(params![id, until.as_ref().map(time_text)])?;
    add_event(conn, id, who, &NewEvent { kind: "snooze", text, ..NewEvent::default() })?;
    Ok(())
}

pub fn report_filed(conn: &Connection, id: i64, url: &str, who: &Actor) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET report_url = ?2 WHERE id = ?1")?.execute(params![id, url])?;
    add_event(conn, id, who, &NewEvent { kind: "report_filed", text: url, ..NewEvent::default() })?;
    Ok(())
}

/// Puts a `!log` entry on the timeline of every incident of its channel that is not closed.
/// Resolved ones included: what is done while the aftermath is watched belongs to the
/// post-mortem too (the draft marks it as after resolution). Returns their ids.
pub fn attach_log(
    conn: &Connection,
    channel: &str,
    sal_id: i64,
    message: &str,
    who: &Actor,
) -> rusqlite::Result<Vec<i64>> {
    let ids: Vec<i64> = not_closed_in(conn, channel)?.into_iter().map(|i| i.id).collect();
    for id in &ids {
        add_event(
            conn,
            *id,
            who,
            &NewEvent { kind: "log", text: message, sal_id: Some(sal_id), ..NewEvent::default() },
        )?;
    }
    Ok(ids)
}

pub fn timeline(conn: &Connection, id: i64) -> rusqlite::Result<Vec<Event>> {
    conn.prepare_cached(
        // A `!log` on the timeline shows the entry as it is now: amended text, or nothing of it
        // once undone or redacted (the correction must reach the report draft too).
        "SELECT ev.id, ev.at, ev.recorded_at, ev.kind, ev.actor,
                CASE WHEN ev.sal_id IS NULL THEN ev.text
                     WHEN s.hidden_at IS NOT NULL THEN '(entry retracted)'
                     ELSE coalesce(s.message, ev.text) END,
                ev.from_state, ev.to_state, ev.role, ev.from_holder, ev.to_holder, ev.sal_id
         FROM incident_event ev LEFT JOIN sal_entry s ON s.id = ev.sal_id
         WHERE ev.incident_id = ?1 ORDER BY ev.at, ev.id",
    )?
    .query_map([id], |r| {
        let kind: String = r.get(3)?;
        let from_state: Option<String> = r.get(6)?;
        let to_state: Option<String> = r.get(7)?;
        let kind = match kind.as_str() {
            "opened" => EventKind::Opened,
            "state" => EventKind::State {
                from: state(from_state.unwrap_or_default())?,
                to: state(to_state.unwrap_or_default())?,
            },
            "note" => EventKind::Note,
            "log" => EventKind::Log { sal_id: r.get::<_, Option<i64>>(11)?.unwrap_or_default() },
            "role" => EventKind::Role {
                role: role(r.get::<_, Option<String>>(8)?.unwrap_or_default())?,
                from: r.get(9)?,
                to: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
            },
            "impact" => EventKind::Impact,
            "backdated" => EventKind::Backdated,
            "snooze" => EventKind::Snooze,
            "closed" => EventKind::Closed,
            "reopened" => EventKind::Reopened,
            "report_filed" => EventKind::ReportFiled,
            "update" => EventKind::Update,
            _ => return Err(bad_value("event kind")),
        };
        Ok(Event {
            id: r.get(0)?,
            at: time(r.get(1)?)?,
            recorded_at: time(r.get(2)?)?,
            kind,
            actor: r.get(4)?,
            text: r.get(5)?,
        })
    })?
    .collect()
}

pub fn record(conn: &Connection, id: i64) -> rusqlite::Result<Option<Record>> {
    let Some(incident) = get(conn, id)? else { return Ok(None) };
    Ok(Some(record_of(conn, incident)?))
}

/// The whole record of incident `number` in `scope` (see [`find`]), for a report.
pub fn record_by_number(conn: &Connection, scope: &str, number: i64) -> rusqlite::Result<Option<Record>> {
    find(conn, scope, number)?.map(|incident| record_of(conn, incident)).transpose()
}

fn record_of(conn: &Connection, incident: Incident) -> rusqlite::Result<Record> {
    let alerts = super::alert::linked(conn, incident.id)?
        .into_iter()
        .map(|a| crate::incident::model::LinkedAlert {
            id: a.id,
            text: crate::alerts::line::describe(&a),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
        })
        .collect();
    Ok(Record { tenures: tenures(conn, incident.id)?, timeline: timeline(conn, incident.id)?, alerts, incident })
}

/// The last timeline entry, for "last update" in `!incident show`.
pub fn last_event(conn: &Connection, id: i64) -> rusqlite::Result<Option<Event>> {
    Ok(timeline(conn, id)?.into_iter().max_by_key(|e| (e.recorded_at, e.id)))
}

/// Open incidents (not resolved or closed) with no update for `quiet`, not snoozed, and not
/// reminded within `quiet`: each with its current communicator.
pub fn due_reminders(
    conn: &Connection,
    now: DateTime<Utc>,
    quiet: chrono::Duration,
) -> rusqlite::Result<Vec<(Incident, Option<Tenure>)>> {
    let cutoff = time_text(&(now - quiet));
    let now_text = time_text(&now);
    let due: Vec<Incident> = conn
        .prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incident
             WHERE state IN ('investigating', 'identified', 'monitoring')
               AND last_update_at <= ?1
               AND (snoozed_until IS NULL OR snoozed_until <= ?2)
               AND (last_reminded_at IS NULL OR last_reminded_at <= ?1)
             ORDER BY id"
        ))?
        .query_map(params![cutoff, now_text], incident)?
        .collect::<rusqlite::Result<_>>()?;
    due.into_iter().map(|i| Ok((holder(conn, i.id, Role::Comms)?, i))).map(|r| r.map(|(h, i)| (i, h))).collect()
}

pub fn mark_reminded(conn: &Connection, id: i64, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET last_reminded_at = ?2 WHERE id = ?1")?
        .execute(params![id, time_text(&now)])?;
    Ok(())
}

/// Resolved or closed incidents that need a report (user-facing, data loss, security) and have
/// none filed, not mentioned within `every`.
pub fn due_report_nags(
    conn: &Connection,
    now: DateTime<Utc>,
    every: chrono::Duration,
) -> rusqlite::Result<Vec<Incident>> {
    let cutoff = time_text(&(now - every));
    conn.prepare_cached(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incident
         WHERE state IN ('resolved', 'closed') AND report_url IS NULL
           AND (user_facing = 1 OR data_loss = 1 OR private = 1)
           AND (report_nagged_at IS NULL OR report_nagged_at <= ?1)
         ORDER BY id"
    ))?
    .query_map([cutoff], incident)?
    .collect()
}

pub fn mark_nagged(conn: &Connection, id: i64, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET report_nagged_at = ?2 WHERE id = ?1")?
        .execute(params![id, time_text(&now)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("i.sqlite3")).unwrap();
        (dir, conn)
    }

    /// Minutes after 10:00 on a fixed day.
    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn by(minutes: i64) -> Actor {
        Actor { at: t(minutes), nick: "alice".into(), account: Some("alice".into()) }
    }

    const QUIET: Duration = Duration::minutes(30);

    /// The numbers of the incidents due for an update reminder at `minutes`, each marked reminded.
    fn remind(conn: &Connection, minutes: i64) -> Vec<i64> {
        let due = due_reminders(conn, t(minutes), QUIET).unwrap();
        for (i, _) in &due {
            mark_reminded(conn, i.id, t(minutes)).unwrap();
        }
        due.into_iter().map(|(i, _)| i.number).collect()
    }

    fn nag(conn: &Connection, minutes: i64, every: Duration) -> Vec<i64> {
        let due = due_report_nags(conn, t(minutes), every).unwrap();
        for i in &due {
            mark_nagged(conn, i.id, t(minutes)).unwrap();
        }
        due.into_iter().map(|i| i.number).collect()
    }

    #[test]
    fn migration_0013_keeps_timelines_and_the_outbox() {
        use crate::store::sal::{self, Action};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            let all = crate::store::migrations::MIGRATIONS;
            let upto = all.iter().position(|(name, _)| name.starts_with("0013")).unwrap();
            for (_, sql) in &all[..upto] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", upto as i64).unwrap();
            let i = open(&c, "#sre", false, "db down", &by(0)).unwrap();
            note(&c, i.id, "digging", &by(1)).unwrap();
            c.execute("INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#sre', 'n', 'u@h', 'm')", [])
                .unwrap();
            sal::enqueue(&c, "mediawiki", 1, Action::Publish, t(2)).unwrap();
        }
        let c = crate::store::open_database(&path).unwrap();
        assert_eq!(timeline(&c, 1).unwrap().len(), 2, "opened, note");
        assert_eq!(sal::due(&c, "mediawiki", t(3), 10).unwrap()[0].entry_id, 1, "the pending row is kept");
        update(&c, 1, "we know, we are on it", &by(4)).unwrap();
        assert_eq!(latest_update(&c, 1).unwrap().unwrap().text, "we know, we are on it");
        queue_status(&c, 1, t(4)).unwrap();
        assert_eq!(sal::due(&c, STATUS_SINK, t(5), 10).unwrap()[0].entry_id, 1, "the status row names the incident");
        let neither =
            "INSERT INTO sal_outbox (sink, action, created_at, next_attempt_at) VALUES ('x', 'status', 't', 't')";
        assert!(c.execute(neither, []).is_err(), "a row names an entry or an incident");
    }

    #[test]
    fn numbers_count_per_scope() {
        let (_d, c) = db();
        let open_in = |chan: &str, private: bool| open(&c, chan, private, "x", &by(0)).unwrap();
        let p1 = open_in("#sre", false);
        let s1 = open_in("#sec", true);
        let p2 = open_in("#ops", false);
        let s2 = open_in("#SEC", true);
        let other = open_in("#sec2", true);
        assert_eq!([p1.number, s1.number, p2.number, s2.number, other.number], [1, 1, 2, 2, 1]);
        assert!(p2.id > s1.id, "the internal id still counts everything: it must never show");
        assert_eq!(find(&c, "public", 2).unwrap().unwrap().channel, "#ops");
        assert_eq!(find(&c, "#sec", 2).unwrap().unwrap().id, s2.id);
        assert!(find(&c, "public", 3).unwrap().is_none());
        assert!(find(&c, "#sec2", 2).unwrap().is_none());
        let bracket = open_in("#Sec[2]", true);
        assert_eq!(open_in("#sec{2}", true).number, 2, "RFC 1459: the same channel, the same sequence");
        let ids = |chan: &str| not_closed_in(&c, chan).unwrap().iter().map(|i| i.id).collect::<Vec<_>>();
        assert_eq!(ids("#SEC{2}"), ids("#sec[2]"));
        assert_eq!(ids("#SEC{2}")[0], bracket.id);
        assert_eq!(ids("#SeC").len(), 2, "#sec and #SEC are one channel");
    }

    /// A database migrated up to the migration named `prefix…`, and that migration's SQL.
    fn just_before(prefix: &str) -> (tempfile::TempDir, Connection, &'static str) {
        let dir = tempfile::tempdir().unwrap();
        let c = Connection::open(dir.path().join("old.sqlite3")).unwrap();
        let migrations = crate::store::migrations::MIGRATIONS;
        let at = migrations.iter().position(|(name, _)| name.starts_with(prefix)).expect(prefix);
        for (_, sql) in &migrations[..at] {
            c.execute_batch(sql).unwrap();
        }
        (dir, c, migrations[at].1)
    }

    #[test]
    fn migration_0015_folds_security_scopes_and_alert_channels_by_rfc1459() {
        let (_dir, c, sql) = just_before("0015");
        for (chan, private, scope) in [("#Ops[1]", 0, "public"), ("#Sec[1]\\~", 1, "#sec[1]\\~")] {
            c.execute(
                "INSERT INTO incident (channel, private, summary, state, opened_at, opened_by, last_update_at, scope, number)
                 VALUES (?1, ?2, 'x', 'closed', '2026-01-01T00:00:00.000Z', 'a', '2026-01-01T00:00:00.000Z', ?3, 1)",
                params![chan, private, scope],
            )
            .unwrap();
        }
        c.pragma_update(None, "foreign_keys", false).unwrap(); // a channel row is all 0015 reads
        c.execute("INSERT INTO alert_channel (alert_id, channel) VALUES (1, '#ops[1]\\~')", []).unwrap();
        c.execute_batch(sql).unwrap();
        let alert_channel: String = c.query_row("SELECT channel FROM alert_channel", [], |r| r.get(0)).unwrap();
        assert_eq!(alert_channel, "#ops{1}|^");
        let scopes: Vec<String> = c
            .prepare("SELECT scope FROM incident ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(scopes, ["public".to_string(), crate::incident::scope("#Sec[1]\\~", true)]);
        assert_eq!(scopes[1], "#sec{1}|^");
        assert_eq!(open(&c, "#SEC{1}|^", true, "y", &by(0)).unwrap().number, 2, "the old sequence continues");
    }

    #[test]
    fn migration_numbers_existing_incidents_in_id_order_per_scope() {
        let (_dir, c, sql) = just_before("0007");
        for (chan, private) in [("#sre", 0), ("#Sec", 1), ("#ops", 0), ("#sec", 1), ("#sre", 0)] {
            c.execute(
                "INSERT INTO incident (channel, private, summary, state, opened_at, opened_by, last_update_at)
                 VALUES (?1, ?2, 'x', 'closed', '2026-01-01T00:00:00.000Z', 'a', '2026-01-01T00:00:00.000Z')",
                params![chan, private],
            )
            .unwrap();
        }
        c.execute_batch(sql).unwrap();
        let rows: Vec<(i64, String, i64)> = c
            .prepare("SELECT id, scope, number FROM incident ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let expected = [(1, "public", 1), (2, "#sec", 1), (3, "public", 2), (4, "#sec", 2), (5, "public", 3)];
        let expected: Vec<(i64, String, i64)> = expected.iter().map(|(i, s, n)| (*i, s.to_string(), *n)).collect();
        assert_eq!(rows, expected);
        // New incidents continue each sequence, and a number cannot be taken twice.
        assert_eq!(open(&c, "#sec", true, "y", &by(0)).unwrap().number, 3);
        assert_eq!(open(&c, "#ops", false, "y", &by(0)).unwrap().number, 4);
        let dup = c.execute("UPDATE incident SET number = 1 WHERE id = 3", []);
        assert!(dup.is_err(), "UNIQUE(scope, number)");
    }

    #[test]
    fn update_reminders_once_per_interval_until_an_update() {
        let (_d, c) = db();
        open(&c, "#sre", false, "db down", &by(0)).unwrap();
        assert!(remind(&c, 29).is_empty(), "not quiet long enough");
        assert_eq!(remind(&c, 30), [1]);
        assert!(remind(&c, 31).is_empty() && remind(&c, 59).is_empty(), "once per interval");
        assert_eq!(remind(&c, 60), [1], "and again after another interval");
        // A public update resets the clock (and the reminder's).
        update(&c, 1, "we are looking into it", &by(70)).unwrap();
        assert!(remind(&c, 99).is_empty());
        assert_eq!(remind(&c, 100), [1]);
        // A note or a status change is for the team: users have still heard nothing.
        note(&c, 1, "still digging", &by(110)).unwrap();
        set_state(&c, 1, State::Investigating, State::Identified, "", &by(115)).unwrap();
        assert_eq!(remind(&c, 130), [1]);
        update(&c, 1, "cause found, fix underway", &by(131)).unwrap();
        assert!(remind(&c, 160).is_empty());
        assert_eq!(remind(&c, 161), [1]);
        // A role change or a `!log` is not the update the communicator owes.
        change_holder(&c, 1, Role::Comms, "bob", "bob", &by(150), true).unwrap();
        let entry = crate::store::sal::NewEntry {
            logged_at: t(151),
            channel: "#sre".into(),
            nick: "alice".into(),
            account: Some("alice".into()),
            userhost: "alice@sre/alice".into(),
            relayed_by: None,
            message: "restarted".into(),
            private: false,
            via_private_message: false,
            tasks: Vec::new(),
        };
        let sal_id = crate::store::sal::insert(&c, &entry).unwrap();
        assert_eq!(attach_log(&c, "#sre", sal_id, "restarted", &by(151)).unwrap().len(), 1);
        let (i, comms) = due_reminders(&c, t(200), QUIET).unwrap().remove(0);
        assert_eq!((i.number, comms.map(|t| t.account)), (1, Some("bob".to_string())), "the communicator now");
    }

    #[test]
    fn resolved_and_closed_incidents_do_not_remind() {
        let (_d, c) = db();
        let a = open(&c, "#sre", false, "a", &by(0)).unwrap();
        let b = open(&c, "#sre", false, "b", &by(0)).unwrap();
        open(&c, "#sre", false, "c", &by(0)).unwrap();
        set_state(&c, a.id, State::Investigating, State::Resolved, "", &by(1)).unwrap();
        close(&c, b.id, State::Investigating, None, &by(1)).unwrap();
        assert_eq!(remind(&c, 60), [3]);
        // Reopened, it is open again: quiet for an interval from the reopening, it reminds.
        reopen(&c, a.id, State::Resolved, &by(70)).unwrap();
        assert_eq!(remind(&c, 99), [3], "not #1 yet");
        assert_eq!(remind(&c, 100), [1]);
    }

    #[test]
    fn snooze_suppresses_until_its_time_and_off_resumes() {
        let (_d, c) = db();
        let i = open(&c, "#sre", false, "db down", &by(0)).unwrap();
        snooze(&c, i.id, Some(t(10) + Duration::minutes(60)), "60 min", &by(10)).unwrap();
        assert!(remind(&c, 40).is_empty() && remind(&c, 69).is_empty(), "snoozed");
        assert_eq!(remind(&c, 70), [1], "the snooze ran out");
        snooze(&c, i.id, Some(t(75) + Duration::minutes(120)), "120 min", &by(75)).unwrap();
        assert!(remind(&c, 110).is_empty());
        snooze(&c, i.id, None, "off", &by(111)).unwrap();
        assert_eq!(remind(&c, 111), [1], "off: reminders are back at once (quiet since 10:00)");
        // Each snooze is on the timeline, with who and what.
        let snoozes: Vec<(String, String)> = timeline(&c, i.id)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == EventKind::Snooze)
            .map(|e| (e.actor, e.text))
            .collect();
        let expected = [("alice", "60 min"), ("alice", "120 min"), ("alice", "off")];
        assert_eq!(snoozes, expected.map(|(a, t)| (a.to_string(), t.to_string())));
    }

    #[test]
    fn private_incidents_remind_in_their_own_channel() {
        let (_d, c) = db();
        open(&c, "#sec", true, "key leak", &by(0)).unwrap();
        open(&c, "#sre", false, "db down", &by(0)).unwrap();
        let due: Vec<(String, bool, i64)> = due_reminders(&c, t(30), QUIET)
            .unwrap()
            .into_iter()
            .map(|(i, _)| (i.channel, i.private, i.number))
            .collect();
        assert_eq!(due, [("#sec".to_string(), true, 1), ("#sre".to_string(), false, 1)]);
    }

    #[test]
    fn report_reminders_once_per_period_until_filed() {
        let (_d, c) = db();
        let day = Duration::hours(24);
        let outage = open(&c, "#sre", false, "outage", &by(0)).unwrap();
        let quiet = open(&c, "#sre", false, "no impact", &by(0)).unwrap();
        let lost = open(&c, "#sre", false, "data loss", &by(0)).unwrap();
        let sec = open(&c, "#sec", true, "leak", &by(0)).unwrap();
        set_impact(&c, outage.id, true, false, &by(1)).unwrap();
        set_impact(&c, lost.id, false, true, &by(1)).unwrap();
        assert!(nag(&c, 2, day).is_empty(), "still open: the update reminders are for that");
        set_state(&c, outage.id, State::Investigating, State::Resolved, "", &by(10)).unwrap();
        close(&c, quiet.id, State::Investigating, None, &by(10)).unwrap();
        close(&c, lost.id, State::Investigating, None, &by(10)).unwrap();
        set_state(&c, sec.id, State::Investigating, State::Resolved, "", &by(10)).unwrap();
        let mut due = due_report_nags(&c, t(11), day).unwrap();
        due.sort_by_key(|i| i.id);
        let names: Vec<&str> = due.iter().map(|i| i.summary.as_str()).collect();
        assert_eq!(names, ["outage", "data loss", "leak"], "only incidents that need a report");
        nag(&c, 11, day);
        assert!(nag(&c, 12, day).is_empty() && nag(&c, 11 + 24 * 60 - 1, day).is_empty(), "once a day");
        report_filed(&c, outage.id, "https://wiki/outage", &by(100)).unwrap();
        let mut again = nag(&c, 11 + 24 * 60, day);
        again.sort();
        assert_eq!(again, [1, 3], "#1 (outage) filed; data loss #3 and the security channel's #1 remain");
        let filed = get(&c, outage.id).unwrap().unwrap();
        assert_eq!(filed.report_url.as_deref(), Some("https://wiki/outage"));
        assert!(timeline(&c, outage.id).unwrap().iter().any(|e| e.kind == EventKind::ReportFiled));
    }
}
