//! What a week's duty is, from the base rotation and the changes made on top of it.

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

/// Whether `name` appears in `duty`, as clinician or backup (case-insensitive).
pub fn role_of(duty: &Duty, name: &str) -> Option<&'static str> {
    let is = |n: &Option<String>| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name.trim()));
    if is(&duty.clinician) {
        Some("clinician")
    } else if is(&duty.backup) {
        Some("backup")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duty(c: &str, b: Option<&str>, t: Option<&str>) -> Duty {
        Duty { clinician: Some(c.into()), backup: b.map(Into::into), team: t.map(Into::into) }
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
    fn finds_people() {
        let d = duty("Alice Example", Some("Bob"), None);
        assert_eq!(role_of(&d, "alice example"), Some("clinician"));
        assert_eq!(role_of(&d, " Bob "), Some("backup"));
        assert_eq!(role_of(&d, "Carol"), None);
        assert_eq!(role_of(&Duty::default(), "Alice"), None);
    }
}
