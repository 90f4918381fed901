//! The hand-off at a duty week's boundary: what changed since the last look at the schedule
//! ([`step`]) and the line that announces the new week ([`handoff_line`]). Pure: the topic
//! keeper task (`tasks::clinic_topic`) looks, remembers and says.

use crate::clinic::schedule::{nick_of, Person};
use crate::clinic::topic::Duty;
use crate::clinic::week::WeekRule;
use chrono::{Duration as Days, NaiveDate};

/// What the schedule says at one look: the week, its duty, the schedule's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub week: NaiveDate,
    pub duty: Duty,
    pub version: String,
}

/// What changed since the last look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing (or this is the first look: joining writes the topic).
    Nothing,
    /// A new duty week began; `previous` is the duty of the week that ended.
    Boundary { previous: Duty },
    /// The schedule changed (on IRC, or an import by another process) within the week.
    Changed,
}

/// Compares a look with the last one: a new week is a boundary (whatever else changed), a new
/// fingerprint within the week a change. Each is reported once, as the caller then remembers
/// `now`.
pub fn step(last: Option<&Seen>, now: &Seen) -> Step {
    match last {
        Some(last) if last.week != now.week => Step::Boundary { previous: last.duty.clone() },
        Some(last) if last.version != now.version => Step::Changed,
        _ => Step::Nothing,
    }
}

/// The hand-off line at the start of the week `week`: who is on duty now (their nick, when
/// known, to highlight them) and until when, and who was.
pub fn handoff_line(
    rule: &WeekRule,
    week: NaiveDate,
    previous: &Duty,
    now: &Duty,
    people: &[Person],
) -> Option<String> {
    let until = rule.tz.show(rule.boundary(week + Days::days(7)));
    let on_duty = |who: &str| {
        let parts: Vec<String> = [
            nick_of(people, who).map(str::to_string),
            now.backup.as_ref().map(|b| format!("backup {b}")),
            now.team.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            who.to_string()
        } else {
            format!("{who} ({})", parts.join("; "))
        }
    };
    Some(match (&now.clinician, &previous.clinician) {
        (Some(who), Some(was)) if who == was => {
            format!("SRE Clinic Duty: {} stays on duty until {until}.", on_duty(who))
        }
        (Some(who), Some(was)) => format!("SRE Clinic Duty: now {} until {until}, was {was}.", on_duty(who)),
        (Some(who), None) => format!("SRE Clinic Duty: now {} until {until}.", on_duty(who)),
        (None, Some(was)) => format!("SRE Clinic Duty: no clinic duty this week (until {until}), was {was}."),
        (None, None) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duty(c: &str, b: Option<&str>, t: Option<&str>) -> Duty {
        Duty { clinician: Some(c.into()), backup: b.map(Into::into), team: t.map(Into::into) }
    }

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().unwrap()
    }

    fn berlin() -> WeekRule {
        WeekRule::parse("Europe/Berlin", "monday", "09:30").unwrap()
    }

    fn seen(rule: &WeekRule, at: &str, who: &str, version: &str) -> Seen {
        Seen { week: rule.week_of(utc(at)), duty: duty(who, None, None), version: version.into() }
    }

    #[test]
    fn a_boundary_at_the_handoff_time_in_the_teams_timezone() {
        let r = berlin();
        // Monday 2026-06-15, 09:30 CEST is 07:30 UTC.
        let before = seen(&r, "2026-06-15T07:29:59Z", "Alice", "v1");
        assert_eq!(step(None, &before), Step::Nothing, "the first look: the join writes the topic");
        let still = seen(&r, "2026-06-15T06:00:00Z", "Alice", "v1");
        assert_eq!(step(Some(&before), &still), Step::Nothing);
        // Midnight local (and UTC) is not the boundary.
        let midnight = seen(&r, "2026-06-14T22:00:00Z", "Alice", "v1");
        assert_eq!(midnight.week, before.week);
        let after = seen(&r, "2026-06-15T07:30:00Z", "Bob", "v1");
        assert_eq!(step(Some(&before), &after), Step::Boundary { previous: duty("Alice", None, None) });
        // Once: the next look compares with `after`.
        let later = seen(&r, "2026-06-15T07:30:01Z", "Bob", "v1");
        assert_eq!(step(Some(&after), &later), Step::Nothing);
        // In winter (CET) the same handoff is an hour later in UTC.
        let winter = seen(&r, "2026-12-14T08:29:59Z", "Alice", "v1");
        assert_eq!(
            step(Some(&winter), &seen(&r, "2026-12-14T08:30:00Z", "Bob", "v1")),
            Step::Boundary { previous: duty("Alice", None, None) }
        );
    }

    #[test]
    fn a_schedule_change_is_one_update() {
        let r = berlin();
        let first = seen(&r, "2026-06-16T12:00:00Z", "Alice", "v1");
        let changed = seen(&r, "2026-06-16T12:00:01Z", "Carol", "v2");
        assert_eq!(step(Some(&first), &changed), Step::Changed);
        assert_eq!(step(Some(&changed), &seen(&r, "2026-06-16T12:00:02Z", "Carol", "v2")), Step::Nothing);
        // A change and a boundary at once: the boundary (which also rewrites the topic).
        let next_week = seen(&r, "2026-06-22T07:30:00Z", "Dan", "v3");
        assert_eq!(step(Some(&changed), &next_week), Step::Boundary { previous: duty("Carol", None, None) });
    }

    #[test]
    fn the_handoff_line() {
        let r = berlin();
        let week: NaiveDate = "2021-09-13".parse().unwrap();
        let cathal = duty("Cathal Mooney", Some("Arzhel Younsi"), Some("SRE-Infrastructure Foundations"));
        let alex = duty("Alexandros Kosiaris", None, Some("SRE-Service Operations"));
        let people = [Person { name: "cathal mooney".into(), nick: "topranks".into(), account: None }];
        assert_eq!(
            handoff_line(&r, week, &alex, &cathal, &people).unwrap(),
            "SRE Clinic Duty: now Cathal Mooney (topranks; backup Arzhel Younsi; SRE-Infrastructure Foundations) \
             until Mon 2021-09-20 09:30 CEST, was Alexandros Kosiaris."
        );
        assert_eq!(
            handoff_line(&r, week, &cathal, &alex, &people).unwrap(),
            "SRE Clinic Duty: now Alexandros Kosiaris (SRE-Service Operations) until Mon 2021-09-20 09:30 CEST, \
             was Cathal Mooney."
        );
        assert_eq!(
            handoff_line(&r, week, &cathal, &duty("Cathal Mooney", None, None), &people).unwrap(),
            "SRE Clinic Duty: Cathal Mooney (topranks) stays on duty until Mon 2021-09-20 09:30 CEST."
        );
        assert_eq!(
            handoff_line(&r, week, &Duty::default(), &duty("Jane Doe", None, None), &[]).unwrap(),
            "SRE Clinic Duty: now Jane Doe until Mon 2021-09-20 09:30 CEST."
        );
        assert_eq!(
            handoff_line(&r, week, &alex, &Duty::default(), &people).unwrap(),
            "SRE Clinic Duty: no clinic duty this week (until Mon 2021-09-20 09:30 CEST), was Alexandros Kosiaris."
        );
        assert_eq!(handoff_line(&r, week, &Duty::default(), &Duty::default(), &people), None);
    }
}
