//! SQL of alerts: one row per fingerprint, its firing/resolved history, its channels, acks, and
//! the incidents it joined.

use super::incident::{self, NewEvent};
use super::sal::time_text;
use super::Actor;
use crate::alerts::Alert;
use crate::names::ChannelName;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// What a notification changed about one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It started firing (first seen, or again after it resolved).
    Fired,
    Resolved,
    /// Still firing, said again after `repeat_minutes` (Alertmanager's repeat).
    Repeat,
    /// Nothing new: a re-sent notification. Stored, not said.
    Quiet,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: i64,
    pub source: String,
    pub name: String,
    pub instance: String,
    pub severity: String,
    pub summary: String,
    pub url: String,
    /// JSON object of the labels.
    pub labels: String,
    pub firing: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub private: bool,
    pub acked_by: Option<String>,
    pub ack_note: Option<String>,
}

/// The outcome for one received alert.
#[derive(Debug, Clone)]
pub struct Received {
    pub alert: AlertRow,
    pub channels: Vec<String>,
    pub change: Change,
}

const COLUMNS: &str = "a.id, a.source, a.name, a.instance, a.severity, a.summary, a.url, a.labels, a.status, \
                       a.starts_at, a.ends_at, a.private, a.acked_by, a.ack_note";

fn time(s: String) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn row(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    row_at(r, 0)
}

/// The alert whose columns ([`COLUMNS`]) start at column `i`.
fn row_at(r: &Row<'_>, i: usize) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get(i)?,
        source: r.get(i + 1)?,
        name: r.get(i + 2)?,
        instance: r.get(i + 3)?,
        severity: r.get(i + 4)?,
        summary: r.get(i + 5)?,
        url: r.get(i + 6)?,
        labels: r.get(i + 7)?,
        firing: r.get::<_, String>(i + 8)? == "firing",
        starts_at: time(r.get(i + 9)?)?,
        ends_at: r.get::<_, Option<String>>(i + 10)?.map(time).transpose()?,
        private: r.get(i + 11)?,
        acked_by: r.get(i + 12)?,
        ack_note: r.get(i + 13)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<AlertRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM alert a WHERE a.id = ?1"))?.query_row([id], row).optional()
}

/// How `alert_channel` keeps a channel: folded by IRC's case rule ([`ChannelName::key`]), so
/// that any spelling finds the channel's alerts.
fn channel_key(channel: &str) -> String {
    ChannelName::from(channel).key()
}

/// The channels alert `id` was routed to, as configured (folded, see [`channel_key`]).
pub fn channels(conn: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT channel FROM alert_channel WHERE alert_id = ?1 ORDER BY channel")?
        .query_map([id], |r| r.get(0))?
        .collect()
}

/// Stores one received alert (routed to `channels`, `private` when one is a security channel)
/// and says what changed. A notification sent again changes nothing but `last_seen`. A change
/// (fired, resolved) joins the timeline of every incident not closed in those channels.
pub fn receive(
    conn: &Connection,
    a: &Alert,
    channels: &[String],
    private: bool,
    now: DateTime<Utc>,
    repeat: Duration,
) -> rusqlite::Result<Received> {
    let before: Option<(String, String, Option<String>)> = conn
        .prepare_cached("SELECT status, starts_at, announced_at FROM alert WHERE fingerprint = ?1")?
        .query_row([&a.fingerprint], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let status = if a.firing { "firing" } else { "resolved" };
    let labels = serde_json::to_string(&a.labels).unwrap_or_else(|_| "{}".into());
    let change = match before {
        None if a.firing => Change::Fired,
        None => Change::Resolved,
        Some((old_status, old_start, announced)) => {
            // Compared as stored: the database keeps milliseconds, Alertmanager sends nanoseconds.
            let new_episode =
                a.firing && (old_status != "firing" || (a.exact_start && old_start != time_text(&a.starts_at)));
            match (a.firing, old_status == "firing") {
                _ if new_episode => Change::Fired,
                (false, true) => Change::Resolved,
                (true, _) if announced.map(time).transpose()?.is_none_or(|t| now - t >= repeat) => Change::Repeat,
                _ => Change::Quiet,
            }
        }
    };
    // One statement for a new alert and a known one: a new episode takes the new start and
    // forgets who took the last one; what is said is remembered, for the repeat interval.
    conn.prepare_cached(
        "INSERT INTO alert (fingerprint, source, name, instance, severity, summary, url, labels, status,
                            starts_at, ends_at, private, first_seen, last_seen, announced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?13)
         ON CONFLICT (fingerprint) DO UPDATE SET
             name = excluded.name, instance = excluded.instance, severity = excluded.severity,
             summary = excluded.summary, url = excluded.url, labels = excluded.labels, status = excluded.status,
             starts_at = CASE WHEN ?14 THEN excluded.starts_at ELSE starts_at END,
             ends_at = excluded.ends_at, private = excluded.private, last_seen = excluded.last_seen,
             announced_at = CASE WHEN ?15 THEN excluded.last_seen ELSE announced_at END,
             acked_by = CASE WHEN ?14 THEN NULL ELSE acked_by END,
             ack_note = CASE WHEN ?14 THEN NULL ELSE ack_note END,
             acked_at = CASE WHEN ?14 THEN NULL ELSE acked_at END",
    )?
    .execute(params![
        a.fingerprint,
        a.source,
        a.name,
        a.instance,
        a.severity,
        a.summary,
        a.url,
        labels,
        status,
        time_text(&a.starts_at),
        a.ends_at.as_ref().map(time_text),
        private,
        time_text(&now),
        change == Change::Fired,
        change != Change::Quiet
    ])?;
    let id: i64 = conn
        .prepare_cached("SELECT id FROM alert WHERE fingerprint = ?1")?
        .query_row([&a.fingerprint], |r| r.get(0))?;
    conn.prepare_cached("DELETE FROM alert_channel WHERE alert_id = ?1")?.execute([id])?;
    for ch in channels {
        conn.prepare_cached("INSERT OR IGNORE INTO alert_channel (alert_id, channel) VALUES (?1, ?2)")?
            .execute(params![id, channel_key(ch)])?;
    }
    let alert = get(conn, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    if matches!(change, Change::Fired | Change::Resolved) {
        let at = if a.firing { a.starts_at } else { a.ends_at.unwrap_or(now) };
        conn.prepare_cached("INSERT INTO alert_event (alert_id, status, at, received_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![id, status, time_text(&at), time_text(&now)])?;
        for ch in channels {
            for inc in incident::not_closed_in(conn, ch)? {
                if inc.private == private {
                    on_timeline(conn, &alert, inc.id, false, now)?;
                }
            }
        }
    }
    Ok(Received { alert, channels: channels.to_vec(), change })
}

/// Links `alert` to incident `incident_id` and puts its latest change on the timeline.
pub fn on_timeline(
    conn: &Connection,
    alert: &AlertRow,
    incident_id: i64,
    explicit: bool,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO alert_incident (alert_id, incident_id, linked_at, explicit) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (alert_id, incident_id) DO UPDATE SET explicit = max(explicit, excluded.explicit)",
    )?
    .execute(params![alert.id, incident_id, time_text(&now), explicit])?;
    let (what, at) = match (alert.firing, alert.ends_at) {
        (false, Some(end)) => ("resolved", end),
        _ => ("fired", alert.starts_at),
    };
    let text = format!("alert {what}: {} (alert #{})", crate::alerts::line::describe(alert), alert.id);
    let who = Actor { at: now, nick: alert.source.clone(), account: Some(alert.source.clone()) };
    incident::add_event(
        conn,
        incident_id,
        &who,
        &NewEvent { kind: "note", text: &text, at: Some(at), ..NewEvent::default() },
    )?;
    Ok(())
}

/// Alert `id` when it was routed to `channel` (an alert is only ever named where it was said).
pub fn alert_in(conn: &Connection, id: i64, channel: &str) -> rusqlite::Result<Option<AlertRow>> {
    let here = channels(conn, id)?.contains(&channel_key(channel));
    Ok(get(conn, id)?.filter(|_| here))
}

/// Alerts firing now that were routed to `channel`, oldest first.
pub fn firing_in(conn: &Connection, channel: &str) -> rusqlite::Result<Vec<AlertRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alert a JOIN alert_channel c ON c.alert_id = a.id
         WHERE c.channel = ?1 AND a.status = 'firing' ORDER BY a.starts_at, a.id"
    ))?
    .query_map([channel_key(channel)], row)?
    .collect()
}

/// The history of `channel` since `since`, newest first: (when, fired?, alert).
pub fn history_in(
    conn: &Connection,
    channel: &str,
    since: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<Vec<(DateTime<Utc>, bool, AlertRow)>> {
    conn.prepare_cached(&format!(
        "SELECT e.at, e.status, {COLUMNS} FROM alert_event e JOIN alert a ON a.id = e.alert_id
         JOIN alert_channel c ON c.alert_id = a.id
         WHERE c.channel = ?1 AND e.at >= ?2 ORDER BY e.at DESC, e.id DESC LIMIT ?3"
    ))?
    .query_map(params![channel_key(channel), time_text(&since), limit as i64], |r| {
        let at: String = r.get(0)?;
        let status: String = r.get(1)?;
        Ok((time(at)?, status == "firing", row_at(r, 2)?))
    })?
    .collect()
}

/// Records who took the alerts `ids`.
pub fn ack(conn: &Connection, ids: &[i64], account: &str, note: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    for id in ids {
        conn.prepare_cached("UPDATE alert SET acked_by = ?2, ack_note = ?3, acked_at = ?4 WHERE id = ?1")?
            .execute(params![id, account, (!note.is_empty()).then_some(note), time_text(&now)])?;
    }
    Ok(())
}

/// Alerts linked to incident `incident_id`, by start.
pub fn linked(conn: &Connection, incident_id: i64) -> rusqlite::Result<Vec<AlertRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alert a JOIN alert_incident l ON l.alert_id = a.id
         WHERE l.incident_id = ?1 ORDER BY a.starts_at, a.id"
    ))?
    .query_map([incident_id], row)?
    .collect()
}

/// Every firing of `from..to`: (alert, when it fired), for the pages summary. `channel`: only
/// the alerts routed there (a security channel's own view); `None`: public alerts only.
pub fn fired_between(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    channel: Option<&str>,
) -> rusqlite::Result<Vec<(AlertRow, DateTime<Utc>)>> {
    let sql = format!(
        "SELECT e.at, {COLUMNS} FROM alert_event e JOIN alert a ON a.id = e.alert_id
         WHERE e.status = 'firing' AND e.at >= ?1 AND e.at < ?2
           AND (CASE WHEN ?3 IS NULL THEN a.private = 0
                     ELSE EXISTS (SELECT 1 FROM alert_channel c WHERE c.alert_id = a.id AND c.channel = ?3) END)
         ORDER BY e.at, e.id"
    );
    conn.prepare_cached(&sql)?
        .query_map(params![time_text(&from), time_text(&to), channel.map(channel_key)], |r| {
            Ok((row_at(r, 1)?, time(r.get(0)?)?))
        })?
        .collect()
}

/// Public alerts firing now, for `/metrics`.
pub fn public_firing(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM alert WHERE status = 'firing' AND private = 0", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Actor;
    use chrono::TimeZone;

    fn alert(fp: &str, firing: bool, start_min: u32) -> Alert {
        let start = Utc.with_ymd_and_hms(2026, 12, 3, 10, start_min, 0).unwrap() + Duration::nanoseconds(123_456_789);
        Alert {
            fingerprint: format!("am:{fp}"),
            source: "alertmanager".into(),
            name: "MediaWikiDown".into(),
            instance: "mw151".into(),
            severity: "critical".into(),
            summary: "returns 503".into(),
            url: String::new(),
            labels: [("alertname".to_string(), "MediaWikiDown".to_string())].into(),
            firing,
            starts_at: start,
            exact_start: true,
            ends_at: (!firing).then(|| start + Duration::minutes(5)),
        }
    }

    #[test]
    fn a_fingerprint_is_one_row_with_its_history_and_resent_notifications_say_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("db")).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 1, 0).unwrap();
        let hour = Duration::minutes(60);
        let chans = vec!["#SRE".to_string()];
        // An incident open in the channel: the alert joins its timeline.
        let who = Actor { at: now, nick: "alice".into(), account: Some("alice".into()) };
        let inc = crate::store::incident::open(&conn, "#sre", false, "wikis down", &who).unwrap();

        let r = receive(&conn, &alert("f1", true, 0), &chans, false, now, hour).unwrap();
        assert_eq!(r.change, Change::Fired);
        let again = receive(&conn, &alert("f1", true, 0), &chans, false, now + Duration::minutes(5), hour).unwrap();
        assert_eq!((again.change, again.alert.id), (Change::Quiet, r.alert.id));
        let later = receive(&conn, &alert("f1", true, 0), &chans, false, now + Duration::minutes(70), hour).unwrap();
        assert_eq!(later.change, Change::Repeat);
        let done = receive(&conn, &alert("f1", false, 0), &chans, false, now + Duration::minutes(71), hour).unwrap();
        assert_eq!(done.change, Change::Resolved);
        let resent = receive(&conn, &alert("f1", false, 0), &chans, false, now + Duration::minutes(72), hour).unwrap();
        assert_eq!(resent.change, Change::Quiet);
        ack(&conn, &[r.alert.id], "alice", "on it", now).unwrap();
        let back = receive(&conn, &alert("f1", true, 30), &chans, false, now + Duration::minutes(80), hour).unwrap();
        assert_eq!(back.change, Change::Fired);
        assert_eq!(back.alert.acked_by, None, "a new episode is not taken yet");

        let rows: i64 = conn.query_row("SELECT count(*) FROM alert", [], |r| r.get(0)).unwrap();
        let events: Vec<String> = conn
            .prepare("SELECT status FROM alert_event ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!((rows, events), (1, vec!["firing".to_string(), "resolved".into(), "firing".into()]));
        assert_eq!(firing_in(&conn, "#sre").unwrap().len(), 1);
        assert_eq!(history_in(&conn, "#Sre", now - hour, 10).unwrap().len(), 3);
        let timeline = crate::store::incident::timeline(&conn, inc.id).unwrap();
        let alerts: Vec<&str> =
            timeline.iter().filter(|e| e.actor == "alertmanager").map(|e| e.text.as_str()).collect();
        assert_eq!(alerts.len(), 3, "{timeline:?}");
        assert!(alerts[0].starts_with("alert fired: MediaWikiDown mw151: returns 503 (alert #"), "{alerts:?}");
        assert_eq!(linked(&conn, inc.id).unwrap().len(), 1);
        // A private alert is not counted publicly, nor in the public pages.
        receive(&conn, &alert("secret", true, 0), &["#sec".into()], true, now, hour).unwrap();
        assert_eq!(public_firing(&conn).unwrap(), 1);
        let week = fired_between(&conn, now - hour, now + hour * 3, None).unwrap();
        assert!(week.iter().all(|(a, _)| !a.private) && week.len() == 2, "{week:?}");
        assert_eq!(fired_between(&conn, now - hour, now + hour, Some("#SEC")).unwrap().len(), 1);
        // A generic alert sent again while firing is the same episode, whatever time it came.
        let mut generic = alert("icinga", true, 0);
        generic.exact_start = false;
        let other = vec!["#other".to_string()];
        assert_eq!(receive(&conn, &generic, &other, false, now, hour).unwrap().change, Change::Fired);
        generic.starts_at += Duration::minutes(2);
        assert_eq!(receive(&conn, &generic, &other, false, now, hour).unwrap().change, Change::Quiet);
        // Any spelling IRC calls the same channel finds its alerts, [ ] \ ~ included.
        let odd = receive(&conn, &alert("odd", true, 0), &["#Ops[1]~".into()], false, now, hour).unwrap();
        assert_eq!(firing_in(&conn, "#ops{1}^").unwrap().len(), 1);
        assert!(alert_in(&conn, odd.alert.id, "#OPS{1}~").unwrap().is_some());
    }
}
