//! What a week's duty is, from the base rotation and the changes made on top of it; who a
//! clinician is on IRC; and how a duty reads in the bot's answers.

use super::topic::Duty;

/// A change on top of the base rotation, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `!clinic set`: the whole duty for the week.
    Set(Duty),
    /// `!clinic none`: no clinic duty this week.
    NoDuty,
    /// One side of `!clinic swap`: the duty the other week had.
    Swap(Duty),
    /// `!clinic override`: someone else is the clinician; backup and team stay.
    Clinician(String),
}

/// The effective duty of a week: the base, then each change in the order made. `None` when
/// the week is not in the schedule at all.
pub fn effective(base: Option<Duty>, changes: &[Change]) -> Option<Duty> {
    changes.iter().fold(base, |duty, change| {
        Some(match change {
            Change::Set(d) | Change::Swap(d) => d.clone(),
            Change::NoDuty => Duty::default(),
            Change::Clinician(who) => {
                let before = duty.unwrap_or_default();
                Duty { clinician: Some(who.clone()), backup: before.backup, team: before.team }
            }
        })
    })
}

/// Who a clinician's display name is on IRC: the nick to highlight and, when it was known at
/// the time, the services account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub nick: String,
    pub account: Option<String>,
}

/// The nick to highlight for display name `name`, if one is known.
pub fn nick_of<'a>(people: &'a [Person], name: &str) -> Option<&'a str> {
    people.iter().find(|p| same(&p.name, name)).map(|p| p.nick.as_str())
}

/// Case-insensitive, for any script ("ÁLVARO" is "álvaro"), ignoring surrounding blanks.
pub fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Whether `name` appears in `duty`, as clinician or backup (case-insensitive).
pub fn role_of(duty: &Duty, name: &str) -> Option<&'static str> {
    let is = |n: &Option<String>| n.as_deref().is_some_and(|n| same(n, name));
    if is(&duty.clinician) {
        Some("clinician")
    } else if is(&duty.backup) {
        Some("backup")
    } else {
        None
    }
}

/// Whom `!clinic who <query>` is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// This display name.
    Name(String),
    /// A prefix of several display names: these.
    Ambiguous(Vec<String>),
    /// Nobody we know by that name, nick or account.
    Unknown,
}

/// Finds the person `query` means among the display names `names` (those in the schedule) and
/// `people` (those with a nick): a display name, then a nick or account, then the start of
/// exactly one display name, each compared without regard to case.
pub fn find_person<'a>(query: &str, names: impl IntoIterator<Item = &'a str>, people: &'a [Person]) -> Found {
    let query = query.trim();
    let mut all: Vec<&str> = names.into_iter().chain(people.iter().map(|p| p.name.as_str())).collect();
    all.sort_by_key(|n| n.to_lowercase());
    all.dedup_by(|a, b| same(a, b));
    if let Some(name) = all.iter().find(|n| same(n, query)) {
        return Found::Name(name.to_string());
    }
    let by_irc = |p: &&Person| same(&p.nick, query) || p.account.as_deref().is_some_and(|a| same(a, query));
    if let Some(p) = people.iter().find(by_irc) {
        return Found::Name(p.name.clone());
    }
    let start = query.to_lowercase();
    let starting: Vec<&str> =
        all.into_iter().filter(|n| !start.is_empty() && n.trim().to_lowercase().starts_with(&start)).collect();
    match starting[..] {
        [] => Found::Unknown,
        [one] => Found::Name(one.to_string()),
        _ => Found::Ambiguous(starting.into_iter().map(str::to_string).collect()),
    }
}

/// What is stored for a week, field by field, as change answers and import reports show it:
/// `clinician Alice, backup Bob, team SRE-Traffic`, or `no clinic duty`.
pub fn summary(duty: &Duty) -> String {
    let Some(who) = &duty.clinician else { return "no clinic duty".into() };
    let mut out = format!("clinician {who}");
    if let Some(b) = &duty.backup {
        out.push_str(&format!(", backup {b}"));
    }
    match &duty.team {
        Some(t) => out.push_str(&format!(", team {t}")),
        None => out.push_str(", no team"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duty(c: &str, b: Option<&str>, t: Option<&str>) -> Duty {
        Duty { clinician: Some(c.into()), backup: b.map(Into::into), team: t.map(Into::into) }
    }

    fn person(name: &str, nick: &str, account: Option<&str>) -> Person {
        Person { name: name.into(), nick: nick.into(), account: account.map(Into::into) }
    }

    #[test]
    fn changes_apply_in_order_on_top_of_the_base() {
        let base = Some(duty("Alice", Some("Bob"), Some("SRE-Traffic")));
        assert_eq!(effective(base.clone(), &[]), base);
        assert_eq!(effective(None, &[]), None);
        assert_eq!(
            effective(base.clone(), &[Change::Clinician("Carol".into())]),
            Some(duty("Carol", Some("Bob"), Some("SRE-Traffic")))
        );
        assert_eq!(effective(base.clone(), &[Change::NoDuty]), Some(Duty::default()));
        let swapped = duty("Dan", None, Some("SRE-Observability"));
        assert_eq!(effective(base, &[Change::NoDuty, Change::Swap(swapped.clone())]), Some(swapped));
        assert_eq!(effective(None, &[Change::Clinician("Eve".into())]), Some(duty("Eve", None, None)));
    }

    #[test]
    fn finds_people_in_a_duty() {
        let d = duty("Alice Example", Some("Bob"), None);
        assert_eq!(role_of(&d, "alice example"), Some("clinician"));
        assert_eq!(role_of(&d, " Bob "), Some("backup"));
        assert_eq!(role_of(&d, "Carol"), None);
        assert_eq!(role_of(&Duty::default(), "Alice"), None);
        // Case-insensitive beyond ASCII.
        assert_eq!(role_of(&duty("Álvaro Núñez", None, None), "ÁLVARO NÚÑEZ"), Some("clinician"));
    }

    #[test]
    fn who_is_found_by_name_nick_account_or_a_unique_prefix() {
        let names = ["Manuel Aróstegui", "Marc Mandere", "Giuseppe Lavagetto", "Cathal Mooney"];
        let people = [
            person("Giuseppe Lavagetto", "_joe_", Some("oblivian")),
            person("Cathal Mooney", "topranks", None),
            // Known on IRC but not in the weeks looked at.
            person("Jane Doe", "jdoe", Some("janedoe")),
        ];
        let find = |q: &str| find_person(q, names, &people);
        let name = |n: &str| Found::Name(n.into());
        assert_eq!(find("manuel ARÓSTEGUI"), name("Manuel Aróstegui"));
        assert_eq!(find("_JOE_"), name("Giuseppe Lavagetto"), "a nick");
        assert_eq!(find("oblivian"), name("Giuseppe Lavagetto"), "an account");
        assert_eq!(find("topranks"), name("Cathal Mooney"));
        assert_eq!(find("janedoe"), name("Jane Doe"));
        assert_eq!(find("Giu"), name("Giuseppe Lavagetto"), "the start of one name");
        assert_eq!(find("ma"), Found::Ambiguous(vec!["Manuel Aróstegui".into(), "Marc Mandere".into()]));
        assert_eq!(find("Mar"), name("Marc Mandere"));
        assert_eq!(find("Nobody"), Found::Unknown);
        assert_eq!(find("Mooney"), Found::Unknown, "a prefix of the name, not of any word in it");
        // A display name wins over someone's nick that happens to be spelled the same.
        let clash = [person("Giuseppe Lavagetto", "cathal mooney", None)];
        assert_eq!(find_person("Cathal Mooney", names, &clash), name("Cathal Mooney"));
        // The same name spelled twice (in the schedule and with a nick) is one person.
        assert_eq!(find_person("cath", ["Cathal Mooney", "cathal mooney"], &people), name("Cathal Mooney"));
    }

    #[test]
    fn nicks_by_display_name() {
        let people = [person("Giuseppe Lavagetto", "_joe_", None)];
        assert_eq!(nick_of(&people, "giuseppe lavagetto"), Some("_joe_"));
        assert_eq!(nick_of(&people, "Giuseppe"), None);
    }

    #[test]
    fn summaries_say_every_field() {
        assert_eq!(
            summary(&duty("Alice", Some("Bob"), Some("SRE-Traffic"))),
            "clinician Alice, backup Bob, team SRE-Traffic"
        );
        assert_eq!(summary(&duty("Alice Traffic", None, None)), "clinician Alice Traffic, no team");
        assert_eq!(summary(&Duty::default()), "no clinic duty");
    }
}
