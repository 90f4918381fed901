//! SQL for incidents, their role tenures and their timelines.

use super::sal::time_text;
use crate::incident::model::{Event, EventKind, Incident, Record, Role, State, Tenure};
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
     close_summary, user_facing, data_loss, report_url, last_update_at";

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
    })
}

/// Who is doing what, at what time: the common part of every change.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub at: DateTime<Utc>,
    pub nick: &'a str,
    pub account: &'a str,
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

pub fn add_event(conn: &Connection, incident_id: i64, who: &Actor<'_>, e: &NewEvent<'_>) -> rusqlite::Result<i64> {
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

/// Opens an incident; the opener holds both roles. Returns its id.
pub fn open(conn: &Connection, channel: &str, private: bool, summary: &str, who: &Actor<'_>) -> rusqlite::Result<i64> {
    let at = time_text(&who.at);
    conn.prepare_cached(
        "INSERT INTO incident (channel, private, summary, state, opened_at, opened_by, last_update_at)
         VALUES (?1, ?2, ?3, 'investigating', ?4, ?5, ?4)",
    )?
    .execute(params![channel, private, summary, at, who.account])?;
    let id = conn.last_insert_rowid();
    add_event(conn, id, who, &NewEvent { kind: "opened", text: summary, ..NewEvent::default() })?;
    for r in [Role::Comms, Role::Diagnosis] {
        start_tenure(conn, id, r, who.account, who.nick, &who.at, None)?;
    }
    Ok(id)
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

/// Incidents of `channel` that are not closed, oldest first.
pub fn not_closed_in(conn: &Connection, channel: &str) -> rusqlite::Result<Vec<Incident>> {
    conn.prepare_cached(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incident WHERE channel = ?1 COLLATE NOCASE AND state != 'closed' ORDER BY id"
    ))?
    .query_map([channel], incident)?
    .collect()
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
    who: &Actor<'_>,
    handed: bool,
) -> rusqlite::Result<Option<Tenure>> {
    let previous = holder(conn, id, r)?;
    let at = time_text(&who.at);
    conn.prepare_cached(
        "UPDATE incident_tenure SET ended_at = ?3 WHERE incident_id = ?1 AND role = ?2 AND ended_at IS NULL",
    )?
    .execute(params![id, r.as_str(), at])?;
    start_tenure(conn, id, r, account, nick, &who.at, handed.then_some(who.account))?;
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
pub fn set_state(
    conn: &Connection,
    id: i64,
    from: State,
    to: State,
    note: &str,
    who: &Actor<'_>,
) -> rusqlite::Result<()> {
    let at = time_text(&who.at);
    if to == State::Resolved {
        conn.prepare_cached("UPDATE incident SET state = ?2, resolved_at = coalesce(resolved_at, ?3) WHERE id = ?1")?
            .execute(params![id, to.as_str(), at])?;
    } else {
        conn.prepare_cached("UPDATE incident SET state = ?2 WHERE id = ?1")?.execute(params![id, to.as_str()])?;
    }
    touch(conn, id, &who.at)?;
    add_event(
        conn,
        id,
        who,
        &NewEvent { kind: "state", text: note, from_state: Some(from), to_state: Some(to), ..NewEvent::default() },
    )?;
    Ok(())
}

/// Closes: impact has ended by now at the latest, so `resolved_at` is set if it was not.
pub fn close(conn: &Connection, id: i64, from: State, summary: Option<&str>, who: &Actor<'_>) -> rusqlite::Result<()> {
    let at = time_text(&who.at);
    conn.prepare_cached(
        "UPDATE incident SET state = 'closed', closed_at = ?2, resolved_at = coalesce(resolved_at, ?2),
                             close_summary = coalesce(?3, close_summary)
         WHERE id = ?1",
    )?
    .execute(params![id, at, summary])?;
    touch(conn, id, &who.at)?;
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
pub fn reopen(conn: &Connection, id: i64, from: State, who: &Actor<'_>) -> rusqlite::Result<()> {
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

pub fn note(conn: &Connection, id: i64, text: &str, who: &Actor<'_>) -> rusqlite::Result<()> {
    touch(conn, id, &who.at)?;
    add_event(conn, id, who, &NewEvent { kind: "note", text, ..NewEvent::default() })?;
    Ok(())
}

pub fn backdate(
    conn: &Connection,
    id: i64,
    happened: DateTime<Utc>,
    text: &str,
    who: &Actor<'_>,
) -> rusqlite::Result<()> {
    add_event(conn, id, who, &NewEvent { kind: "backdated", text, at: Some(happened), ..NewEvent::default() })?;
    Ok(())
}

pub fn set_impact(
    conn: &Connection,
    id: i64,
    user_facing: bool,
    data_loss: bool,
    who: &Actor<'_>,
) -> rusqlite::Result<()> {
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
    who: &Actor<'_>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET snoozed_until = ?2 WHERE id = ?1")?
        .execute(params![id, until.as_ref().map(time_text)])?;
    add_event(conn, id, who, &NewEvent { kind: "snooze", text, ..NewEvent::default() })?;
    Ok(())
}

pub fn report_filed(conn: &Connection, id: i64, url: &str, who: &Actor<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE incident SET report_url = ?2 WHERE id = ?1")?.execute(params![id, url])?;
    add_event(conn, id, who, &NewEvent { kind: "report_filed", text: url, ..NewEvent::default() })?;
    Ok(())
}

/// Puts a `!log` entry on the timeline of every incident of its channel that is not closed.
/// Returns their ids.
pub fn attach_log(
    conn: &Connection,
    channel: &str,
    sal_id: i64,
    message: &str,
    who: &Actor<'_>,
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
    Ok(Some(Record { tenures: tenures(conn, id)?, timeline: timeline(conn, id)?, incident }))
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
