//! Incidents: the team's incident process (incident-response.md) made executable.
//!
//! [`model`] is the data, [`report`] renders the post-mortem draft, and the functions here are
//! the rules: which state changes are allowed, and how a backdated time is read.

pub mod model;
pub mod report;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use model::State;

/// The numbering scope of an incident opened in `channel`: every public channel shares one
/// sequence ("public"), and each security channel has its own (its name, lowercased), so that
/// the numbers seen anywhere count nothing private. Migration 0007 computes the same.
pub fn scope(channel: &str, private: bool) -> String {
    if private {
        channel.to_ascii_lowercase()
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
    fn numbering_scopes() {
        assert_eq!(scope("#miraheze-sre", false), "public");
        assert_eq!(scope("#other-public", false), "public", "public channels share one sequence");
        assert_eq!(scope("#WikiTide-SRE-Security", true), "#wikitide-sre-security");
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
