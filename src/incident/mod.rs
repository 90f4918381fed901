//! Incidents: the team's incident process (incident-response.md) made executable.
//!
//! `model` is the data, [`report`] renders the post-mortem draft, and the functions here are
//! the rules: which state changes are allowed, and how a backdated time is read.

pub(crate) mod model;
pub mod report;

use crate::names::ChannelName;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use model::{Event, EventKind, Incident, State};

/// The numbering scope of an incident opened in `channel`: every public channel shares one
/// sequence ("public"), and each security channel has its own (its name folded by IRC's case
/// rule, [`ChannelName::key`]), so that the numbers seen anywhere count nothing private.
/// Migrations 0007 and 0015 compute the same.
pub fn scope(channel: &str, private: bool) -> String {
    if private {
        ChannelName::from(channel).key()
    } else {
        PUBLIC_SCOPE.to_string()
    }
}

/// The scope every public channel's incidents are numbered in (no channel name can be this).
pub const PUBLIC_SCOPE: &str = "public";

/// The nick to call the holder of a role by. Roles follow the services account, so after a nick
/// change the nick stored with the tenure names nobody: among `present` (the channel's identified
/// members, `(nick, account)`), the stored nick when it is still one of the account's, else one
/// the account uses now, else (not in the channel) the stored nick.
pub fn current_nick<'a>(stored: &'a str, account: &str, present: &'a [(String, String)]) -> &'a str {
    let mut theirs = present.iter().filter(|(_, a)| a.eq_ignore_ascii_case(account)).map(|(n, _)| n.as_str());
    let first = theirs.next();
    if first.is_some_and(|n| n.eq_ignore_ascii_case(stored)) || theirs.any(|n| n.eq_ignore_ascii_case(stored)) {
        return stored;
    }
    first.unwrap_or(stored)
}

/// The event impact started with, when the team recorded one after the fact: the earliest
/// `!incident at` event before the opening whose text says so (`first alert`, `impact started`,
/// `outage began`, `paged`, `first user reports`, `wikis down`). Durations count from it rather than from the `open` command.
pub fn impact_start<'a>(inc: &Incident, timeline: &'a [Event]) -> Option<&'a Event> {
    let says_so = |text: &str| {
        text.split(|c: char| !c.is_alphanumeric()).any(|w| {
            let w = w.to_lowercase();
            ["impact", "alert", "outage", "page", "first", "report", "down"].iter().any(|k| w.starts_with(k))
        })
    };
    timeline
        .iter()
        .filter(|e| e.kind == EventKind::Backdated && e.at < inc.opened_at && says_so(&e.text))
        .min_by_key(|e| (e.at, e.id))
}

/// Where an incident's durations start: its impact start, else its opening.
pub fn started_at(inc: &Incident, timeline: &[Event]) -> DateTime<Utc> {
    impact_start(inc, timeline).map_or(inc.opened_at, |e| e.at)
}

/// Says where durations start when it is not the opening: ` (from 08:02, first alert)`.
pub fn start_note(inc: &Incident, timeline: &[Event]) -> String {
    match impact_start(inc, timeline) {
        Some(e) => format!(" (from {}, {})", e.at.format("%H:%M"), crate::text::truncate_bytes(e.text.trim(), 40)),
        None => String::new(),
    }
}

/// How long the incident has run, as `!incident show` and the list say it: `open 17 min` while it
/// is not closed; `closed after 2 min` once it is (a closed incident's clock has stopped).
pub fn age(inc: &Incident, timeline: &[Event], now: DateTime<Utc>) -> String {
    let start = started_at(inc, timeline);
    let note = start_note(inc, timeline);
    match inc.closed() {
        Some(end) => format!("closed after {}{note}", report::human_duration(end - start)),
        None => format!("open {}{note}", report::human_duration(now - start)),
    }
}

/// Whether `!incident status <to>` is allowed from `current`. A resolved incident goes back to
/// work only through `reopen`, so the timeline always shows that impact came back.
pub fn check_status(id: i64, current: State, to: State) -> Result<(), String> {
    match (current, to) {
        (_, State::Closed) => Err(format!("To close #{id}, use !incident close [summary].")),
        (State::Closed, _) => Err(format!("#{id} is closed: !incident reopen {id} first.")),
        (State::Resolved, State::Resolved) => Err(format!("#{id} is already resolved.")),
        (State::Resolved, _) => Err(format!("#{id} is resolved: if impact is back, !incident reopen {id} first.")),
        (c, t) if c == t => Err(format!("#{id} is already {t}.")),
        _ => Ok(()),
    }
}

pub fn check_close(id: i64, current: State) -> Result<(), String> {
    match current {
        State::Closed => Err(format!("#{id} is already closed.")),
        _ => Ok(()),
    }
}

pub fn check_reopen(id: i64, current: State) -> Result<(), String> {
    match current {
        State::Resolved | State::Closed => Ok(()),
        open => Err(format!("#{id} is still open ({open}).")),
    }
}

/// Reads the time of a backdated event: `HH:MM` (today in UTC, or yesterday when that would be
/// in the future), `YYYY-MM-DD HH:MM` (two words), or RFC 3339 / `YYYY-MM-DDTHH:MM[:SS][Z]`.
/// Returns the time and how many words it used. Times in the future are refused.
pub fn parse_when(words: &[&str], now: DateTime<Utc>) -> Result<(DateTime<Utc>, usize), String> {
    let first = words.first().copied().unwrap_or("");
    let hint = "Say when as HH:MM (UTC) or YYYY-MM-DD HH:MM.";
    let (at, used) = if let Ok(t) = NaiveTime::parse_from_str(first, "%H:%M") {
        let today = now.date_naive().and_time(t).and_utc();
        (if today > now + Duration::minutes(1) { today - Duration::days(1) } else { today }, 1)
    } else if let Ok(t) = DateTime::parse_from_rfc3339(first) {
        (t.with_timezone(&Utc), 1)
    } else if let Some(t) = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(first, f).ok())
    {
        (t.and_utc(), 1)
    } else if let Ok(d) = NaiveDate::parse_from_str(first, "%Y-%m-%d") {
        let t = words
            .get(1)
            .and_then(|w| NaiveTime::parse_from_str(w, "%H:%M").ok())
            .ok_or_else(|| format!("A date needs a time after it. {hint}"))?;
        (d.and_time(t).and_utc(), 2)
    } else {
        return Err(format!("I can't read {:?} as a time. {hint}", crate::text::truncate_bytes(first, 30)));
    };
    if at > now + Duration::minutes(1) {
        return Err(format!("{} UTC is in the future.", at.format("%Y-%m-%d %H:%M")));
    }
    Ok((at, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T10:30:00Z".parse().unwrap()
    }

    #[test]
    fn state_machine() {
        use State::*;
        assert!(check_status(1, Investigating, Identified).is_ok());
        assert!(check_status(1, Monitoring, Investigating).is_ok(), "a regression while monitoring is allowed");
        assert!(check_status(1, Monitoring, Resolved).is_ok());
        assert!(check_status(1, Resolved, Investigating).unwrap_err().contains("reopen 1"));
        assert!(check_status(1, Resolved, Monitoring).is_err());
        assert!(check_status(1, Resolved, Resolved).unwrap_err().contains("already resolved"));
        assert!(check_status(1, Identified, Identified).unwrap_err().contains("already identified"));
        assert!(check_status(1, Closed, Identified).unwrap_err().contains("closed"));
        assert!(check_status(1, Investigating, Closed).unwrap_err().contains("!incident close"));
        assert!(check_close(1, Investigating).is_ok());
        assert!(check_close(1, Closed).is_err());
        assert!(check_reopen(1, Resolved).is_ok() && check_reopen(1, Closed).is_ok());
        assert!(check_reopen(1, Monitoring).unwrap_err().contains("still open"));
    }

    #[test]
    fn names_holders_by_the_nick_they_use_now() {
        let present = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(n, a)| (n.to_string(), a.to_string())).collect()
        };
        let renamed = present(&[("bob", "bob"), ("alice_away", "alice")]);
        assert_eq!(current_nick("alice", "alice", &renamed), "alice_away", "followed the nick change");
        assert_eq!(current_nick("alice", "Alice", &renamed), "alice_away", "accounts compare without case");
        let gone = present(&[("bob", "bob")]);
        assert_eq!(current_nick("alice", "alice", &gone), "alice", "not here: the stored nick");
        let two = present(&[("alice_phone", "alice"), ("Alice", "alice")]);
        assert_eq!(current_nick("alice", "alice", &two), "alice", "still using it: the stored nick");
        let impostor = present(&[("alice", "mallory")]);
        assert_eq!(current_nick("alice", "alice", &impostor), "alice", "someone else on the nick changes nothing");
        assert_eq!(current_nick("alice", "alice", &[]), "alice");
    }

    #[test]
    fn durations_start_at_a_backdated_impact_start_and_stop_at_the_close() {
        use model::{Event, EventKind, Incident};
        let t = |hm: &str| -> DateTime<Utc> { format!("2026-11-22T{hm}:00Z").parse().unwrap() };
        let mut inc = Incident::sample(1, "s", t("08:16"));
        let at = |id, hm: &str, text: &str| Event {
            id,
            at: t(hm),
            recorded_at: t("08:20"),
            kind: EventKind::Backdated,
            actor: "alice".into(),
            text: text.into(),
        };
        // A cause recorded after the fact is not when impact began; nor is an alert after opening.
        let timeline = vec![at(1, "07:30", "deployed change 1234"), at(2, "08:18", "second alert")];
        assert_eq!(impact_start(&inc, &timeline), None);
        assert_eq!(age(&inc, &timeline, t("08:33")), "open 17 min");
        let timeline = vec![at(1, "07:30", "deployed change 1234"), at(3, "08:02", "First alert: 5xx")];
        assert_eq!(impact_start(&inc, &timeline).map(|e| e.id), Some(3));
        assert_eq!(age(&inc, &timeline, t("08:33")), "open 31 min (from 08:02, First alert: 5xx)");
        inc.state = State::Closed;
        inc.closed_at = Some(t("08:18"));
        assert_eq!(age(&inc, &[], t("09:00")), "closed after 2 min", "a closed incident stops counting");
        assert_eq!(age(&inc, &timeline, t("09:00")), "closed after 16 min (from 08:02, First alert: 5xx)");
    }

    #[test]
    fn numbering_scopes() {
        assert_eq!(scope("#miraheze-sre", false), "public");
        assert_eq!(scope("#other-public", false), "public", "public channels share one sequence");
        assert_eq!(scope("#WikiTide-SRE-Security", true), "#wikitide-sre-security");
        assert_eq!(scope("#Sec[1]~", true), scope("#sec{1}^", true), "RFC 1459: one channel, one sequence");
    }

    #[test]
    fn reads_backdated_times() {
        let at = |w: &[&str]| parse_when(w, now());
        assert_eq!(at(&["09:55", "x"]).unwrap(), ("2026-11-22T09:55:00Z".parse().unwrap(), 1));
        assert_eq!(at(&["23:50"]).unwrap().0, "2026-11-21T23:50:00Z".parse::<DateTime<Utc>>().unwrap(), "yesterday");
        assert_eq!(at(&["2026-11-21", "08:00", "x"]).unwrap(), ("2026-11-21T08:00:00Z".parse().unwrap(), 2));
        assert_eq!(at(&["2026-11-22T09:00"]).unwrap().0, "2026-11-22T09:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(
            at(&["2026-11-22T09:00:00+01:00"]).unwrap().0,
            "2026-11-22T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(at(&["2026-11-23T09:00"]).unwrap_err().contains("future"));
        assert!(at(&["2026-11-21"]).unwrap_err().contains("needs a time"));
        assert!(at(&["soon"]).unwrap_err().contains("HH:MM"));
        assert!(at(&["25:00"]).is_err());
        assert!(at(&[]).is_err());
    }
}
