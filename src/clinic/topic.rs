//! Our section of the channel topic: finding it, rewriting it, and fitting it into TOPICLEN.
//!
//! A topic is a list of sections joined by a separator (`" | "` by default). Ours is the first
//! section that, once its surrounding whitespace is trimmed, starts with the label
//! (`"SRE Clinic Duty:"` by default, case-sensitive). It is found by that label, never by its
//! position, because the humans in the channel reorder sections as they like. It reads:
//!
//! ```text
//! SRE Clinic Duty: Alice Example (backup: Bob Example, SRE-Traffic)   clinician, backup, team
//! SRE Clinic Duty: Alice Example (backup: Bob Example)                no team known
//! SRE Clinic Duty: Alice Example (SRE-Traffic)                        no backup
//! SRE Clinic Duty: Alice Example                                      clinician only
//! SRE Clinic Duty: none                                               no clinic duty this week
//! ```
//!
//! Everything outside our section belongs to the humans and is kept byte for byte: odd spacing,
//! Unicode, mIRC colour codes, even a second section with our label (only the first is ours).
//! When the topic would exceed TOPICLEN (counted in UTF-8 bytes, as servers do), only our
//! section gives way: first the backup goes, then the team, and as a last resort the
//! clinician's name is cut on a character boundary and ends with `…`.

use std::fmt;
use std::ops::Range;

use crate::text;

/// What our section should say: who is on clinic duty this week.
///
/// Fields are cleaned before they reach the topic (formatting and control characters removed,
/// whitespace trimmed); a field that is empty after cleaning counts as absent. Without a
/// clinician there is no clinic duty this week, and the backup and team are not shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Duty {
    /// `None`: no clinic duty this week.
    pub clinician: Option<String>,
    pub backup: Option<String>,
    pub team: Option<String>,
}

/// The full value of our section, without the label: `Alice Example (backup: Bob Example,
/// SRE-Traffic)`, or `none`. This is what [`current_section`] returns when the topic carries the
/// full form, so the two can be compared to answer "who is on duty?".
impl fmt::Display for Duty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let duty = Clean::new(self, "", false);
        match &duty.clinician {
            None => f.write_str(NONE),
            Some(who) => f.write_str(&value(who, duty.backup.as_deref(), duty.team.as_deref())),
        }
    }
}

/// Why our section cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfit {
    /// Even the barest form of our section does not fit: the other sections fill TOPICLEN.
    TooLong,
    /// However we add our section, the next look would not find it there (the rest of the
    /// topic is written so that its separators swallow ours), and every update would add
    /// another one: better to say so once than to fight the topic.
    Ambiguous,
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unfit::TooLong => "the rest of the topic leaves no room for it within TOPICLEN",
            Unfit::Ambiguous => "the rest of the topic ends in a way that would hide it from my next look",
        })
    }
}

impl std::error::Error for Unfit {}

/// What our section says when there is no clinic duty this week.
const NONE: &str = "none";
/// Ends a clinician's name that had to be cut to fit TOPICLEN.
const ELLIPSIS: &str = "…";

/// The topic with our section saying `duty`, or `None` when the topic already says exactly that
/// (so nothing needs to be sent).
///
/// Only our section changes; it keeps the whitespace around it. When the topic has no section
/// with our label, ours is appended after the separator (completing it when the topic already
/// ends with it, or with a dangling part of it: `A | B |` gets ` SRE Clinic Duty: …`); an empty
/// or all-blank topic becomes just our section. `topic_len` is the server's TOPICLEN in bytes;
/// see the module documentation for how our section is shortened to fit. `label` and `separator`
/// must not be empty (the configuration checks this): an empty label matches no section, so
/// ours would be appended on every update.
///
/// Whatever is returned is found again by the next look, as our section and whole, so a second
/// update with the same duty returns `None`: names that could form a separator with the text
/// around them (`Eve |` before ` | `) lose the separator's characters, and an append that the
/// topic's own separators would swallow tries the next way of joining.
pub fn update(
    topic: &str,
    label: &str,
    separator: &str,
    duty: &Duty,
    topic_len: usize,
) -> Result<Option<String>, Unfit> {
    let label = label.trim();
    // The parts of the topic that stay as they are, around our section, and the text that joins
    // an appended section to the rest: the candidates in order of preference.
    let placements: Vec<(&str, &str, &str)> = match find(topic, label, separator) {
        Some(range) => vec![(&topic[..range.start], "", &topic[range.end..])],
        None if topic.trim().is_empty() => vec![("", "", "")],
        None => joins(topic, separator).into_iter().map(|glue| (topic, glue, "")).collect(),
    };
    let mut unfit = Unfit::Ambiguous;
    for strict in [false, true] {
        let duty = Clean::new(duty, separator, strict);
        for &(before, glue, after) in &placements {
            let fixed = before.len() + glue.len() + after.len();
            let Some(section) = topic_len.checked_sub(fixed).and_then(|room| fit(label, &duty, room)) else {
                unfit = Unfit::TooLong;
                continue;
            };
            let new_topic = [before, glue, &section, after].concat();
            let start = before.len() + glue.len();
            if find(&new_topic, label, separator) == Some(start..start + section.len()) {
                return Ok((new_topic != topic).then_some(new_topic));
            }
        }
    }
    Err(unfit)
}

/// Ways to join a section to the end of `topic` (which has none of ours), best first: complete
/// the separator the topic ends with, or ends with the start of (`A -` with ` - `); else the
/// whole separator (after `( | | `, whose separators overlap, that is the one found again).
fn joins<'a>(topic: &str, separator: &'a str) -> Vec<&'a str> {
    let dangling = (1..=separator.len())
        .rev()
        .filter(|&n| separator.is_char_boundary(n) && !separator[..n].trim().is_empty())
        .find(|&n| topic.ends_with(&separator[..n]));
    let mut joins = Vec::new();
    if let Some(n) = dangling {
        joins.push(&separator[n..]);
    }
    joins.push(separator);
    joins
}

/// What our section says now, without the label and trimmed (`Alice Example (SRE-Traffic)`,
/// `none`), or `None` when the topic has no section with our label.
///
/// To learn whether the topic already says what we would write, use [`update`] (it returns
/// `Ok(None)` then): comparing with the [`Duty`]'s full form would miss that TOPICLEN may have
/// made us shorten it.
pub fn current_section<'a>(topic: &'a str, label: &str, separator: &str) -> Option<&'a str> {
    let label = label.trim();
    let range = find(topic, label, separator)?;
    topic.get(range.start + label.len()..range.end).map(str::trim)
}

/// The byte range of our section within `topic`, surrounding whitespace excluded: the first
/// section that starts with `label`.
fn find(topic: &str, label: &str, separator: &str) -> Option<Range<usize>> {
    if label.is_empty() {
        return None;
    }
    let mut start = 0;
    for section in split(topic, separator) {
        let content = section.trim();
        let content_start = start + (section.len() - section.trim_start().len());
        if let Some(rest) = content.strip_prefix(label) {
            // "Clinic" must not claim a section starting "Clinicians": a label ending in a word
            // character needs a non-word character after it. A label ending in ':' (the usual
            // case) also matches when someone wrote the value right after it.
            let glued = label.chars().last().is_some_and(char::is_alphanumeric)
                && rest.chars().next().is_some_and(char::is_alphanumeric);
            if !glued {
                return Some(content_start..content_start + content.len());
            }
        }
        start += section.len() + separator.len();
    }
    None
}

/// The sections of `topic`; a topic split by an empty separator is a single section.
fn split<'a>(topic: &'a str, separator: &'a str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
    if separator.is_empty() {
        Box::new(std::iter::once(topic))
    } else {
        Box::new(topic.split(separator))
    }
}

/// The duty's fields as they may appear in the topic.
struct Clean {
    clinician: Option<String>,
    backup: Option<String>,
    team: Option<String>,
}

impl Clean {
    /// `strict`: also drop the separator's mark (`|` of ` | `) where it could meet whitespace (at
    /// the ends of words; anywhere for a separator without spaces) and collapse whitespace, for
    /// when a name would otherwise form a separator with the text around it.
    fn new(duty: &Duty, separator: &str, strict: bool) -> Clean {
        let mark = separator.trim();
        // A separator inside a name would split our section in two the next time we look for it,
        // and control characters (CR, LF, colour codes) have no business in a name.
        let clean = |field: &Option<String>| {
            let mut s = text::strip_formatting(field.as_deref().unwrap_or_default());
            if !mark.is_empty() {
                s = s.replace(separator, " ");
            }
            if strict {
                let is_mark = |c: char| mark.contains(c);
                let words: Vec<&str> =
                    if separator.starts_with(char::is_whitespace) && separator.ends_with(char::is_whitespace) {
                        // ` - ` needs a mark between spaces: `Jean-Luc` keeps its hyphen.
                        s.split_whitespace().map(|w| w.trim_matches(is_mark)).filter(|w| !w.is_empty()).collect()
                    } else {
                        s.split(is_mark).flat_map(str::split_whitespace).collect()
                    };
                s = words.join(" ");
            }
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        let clinician = clean(&duty.clinician);
        let (backup, team) = if clinician.is_some() { (clean(&duty.backup), clean(&duty.team)) } else { (None, None) };
        Clean { clinician, backup, team }
    }
}

/// Our section's value, without the label.
fn value(clinician: &str, backup: Option<&str>, team: Option<&str>) -> String {
    match (backup, team) {
        (Some(backup), Some(team)) => format!("{clinician} (backup: {backup}, {team})"),
        (Some(backup), None) => format!("{clinician} (backup: {backup})"),
        (None, Some(team)) => format!("{clinician} ({team})"),
        (None, None) => clinician.to_string(),
    }
}

/// The fullest form of our section that fits in `room` bytes.
fn fit(label: &str, duty: &Clean, room: usize) -> Option<String> {
    let name = duty.clinician.as_deref().unwrap_or(NONE);
    let forms = match duty.clinician.as_deref() {
        None => vec![NONE.to_string()],
        Some(who) => vec![
            value(who, duty.backup.as_deref(), duty.team.as_deref()),
            value(who, None, duty.team.as_deref()),
            value(who, None, None),
        ],
    };
    for form in forms {
        let section = format!("{label} {form}");
        if section.len() <= room {
            return Some(section);
        }
    }
    // Last resort: as much of the name as fits before the ellipsis. The name alone did not fit,
    // so something is always cut here.
    let for_name = room.checked_sub(label.len() + 1 + ELLIPSIS.len())?;
    let cut = (0..=for_name.min(name.len())).rev().find(|&i| name.is_char_boundary(i)).unwrap_or(0);
    let kept = name.get(..cut).unwrap_or_default().trim_end();
    Some(format!("{label} {kept}{ELLIPSIS}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &str = "SRE Clinic Duty:";
    const SEP: &str = " | ";
    const BIG: usize = 390;

    fn duty(clinician: &str, backup: Option<&str>, team: Option<&str>) -> Duty {
        Duty {
            clinician: Some(clinician.to_string()),
            backup: backup.map(str::to_string),
            team: team.map(str::to_string),
        }
    }

    fn cathal() -> Duty {
        duty("Cathal Mooney", Some("Arzhel Younsi"), Some("SRE-Infrastructure Foundations"))
    }

    fn up(topic: &str, d: &Duty, len: usize) -> Result<Option<String>, Unfit> {
        update(topic, LABEL, SEP, d, len)
    }

    #[test]
    fn section_forms() {
        let cases = [
            (cathal(), "SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations)"),
            (
                duty("Cathal Mooney", Some("Arzhel Younsi"), None),
                "SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi)",
            ),
            (
                duty("Valentín Gutierrez", None, Some("SRE-Traffic")),
                "SRE Clinic Duty: Valentín Gutierrez (SRE-Traffic)",
            ),
            (duty("Valentín Gutierrez", None, None), "SRE Clinic Duty: Valentín Gutierrez"),
            (Duty::default(), "SRE Clinic Duty: none"),
            // Without a clinician there is no duty: backup and team are not shown.
            (
                Duty { clinician: None, backup: Some("B".into()), team: Some("SRE-Traffic".into()) },
                "SRE Clinic Duty: none",
            ),
            // Blank fields count as absent.
            (duty("  Keith Herron ", Some(" "), Some("")), "SRE Clinic Duty: Keith Herron"),
            (duty("   ", Some("Bob"), None), "SRE Clinic Duty: none"),
        ];
        for (d, want) in cases {
            assert_eq!(up("", &d, BIG), Ok(Some(want.to_string())), "{d:?}");
            assert_eq!(format!("{LABEL} {d}"), want);
        }
    }

    #[test]
    fn replaces_only_our_section() {
        let topic = "Status: OK | SRE Clinic Duty: Old Person (SRE-Traffic) | Deploys: see #wikimedia-releng";
        assert_eq!(
            up(topic, &cathal(), BIG).unwrap().unwrap(),
            "Status: OK | SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations) \
             | Deploys: see #wikimedia-releng"
        );
    }

    #[test]
    fn others_sections_untouched_byte_for_byte() {
        // Odd spacing, colour codes, Unicode and an empty section around ours.
        let before = "\x0304,01 ⚠ Ongoing: ✨ migración \x0f |  two  spaces  |";
        let after = "| | trailing \u{200b}zero-width  ";
        let topic = format!("{before}  SRE Clinic Duty: someone   {after}");
        let got = up(&topic, &duty("Moritz Mühlenhoff", None, None), BIG).unwrap().unwrap();
        assert_eq!(got, format!("{before}  SRE Clinic Duty: Moritz Mühlenhoff   {after}"));
    }

    #[test]
    fn section_first_last_and_alone() {
        let d = duty("Filippo Giunchedi", None, Some("SRE-Observability"));
        let new = "SRE Clinic Duty: Filippo Giunchedi (SRE-Observability)";
        assert_eq!(up("SRE Clinic Duty: x | B", &d, BIG).unwrap().unwrap(), format!("{new} | B"));
        assert_eq!(up("A | SRE Clinic Duty: x", &d, BIG).unwrap().unwrap(), format!("A | {new}"));
        assert_eq!(up("SRE Clinic Duty: x", &d, BIG).unwrap().unwrap(), new);
        assert_eq!(up("SRE Clinic Duty:", &d, BIG).unwrap().unwrap(), new);
    }

    #[test]
    fn absent_section_is_appended() {
        let d = Duty::default();
        assert_eq!(up("A | B", &d, BIG).unwrap().unwrap(), "A | B | SRE Clinic Duty: none");
        assert_eq!(up("A | B | ", &d, BIG).unwrap().unwrap(), "A | B | SRE Clinic Duty: none");
        assert_eq!(up("", &d, BIG).unwrap().unwrap(), "SRE Clinic Duty: none");
        assert_eq!(up("   ", &d, BIG).unwrap().unwrap(), "SRE Clinic Duty: none");
    }

    #[test]
    fn found_by_label_not_position() {
        let d = duty("Jaime Crespo", None, None);
        // Case matters, the label must start the section, and a longer word is not our label.
        let topic = "sre clinic duty: a | Note: SRE Clinic Duty: b | SRE Clinic Duty: c";
        assert_eq!(
            up(topic, &d, BIG).unwrap().unwrap(),
            "sre clinic duty: a | Note: SRE Clinic Duty: b | SRE Clinic Duty: Jaime Crespo"
        );
        let custom = update("Clinicians: all | Clinic x", "Clinic", SEP, &d, BIG).unwrap().unwrap();
        assert_eq!(custom, "Clinicians: all | Clinic Jaime Crespo");
        // A value glued to a label ending in ':' is still ours.
        assert_eq!(up("SRE Clinic Duty:someone", &d, BIG).unwrap().unwrap(), "SRE Clinic Duty: Jaime Crespo");
    }

    #[test]
    fn duplicate_section_only_first_updated() {
        let topic = "SRE Clinic Duty: a | x | SRE Clinic Duty: b";
        let got = up(topic, &duty("Rob Halsell", None, None), BIG).unwrap().unwrap();
        assert_eq!(got, "SRE Clinic Duty: Rob Halsell | x | SRE Clinic Duty: b");
    }

    #[test]
    fn unchanged_topic_is_none() {
        let topic = "A | SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations) | B";
        assert_eq!(up(topic, &cathal(), BIG), Ok(None));
        // A shortened form that is still the best that fits is "already right" too.
        let short = up("A", &cathal(), 30).unwrap().unwrap();
        assert_eq!(up(&short, &cathal(), 30), Ok(None));
        // Any byte of difference is a change, even whitespace inside our section.
        assert!(up("A | SRE Clinic Duty:  Rob Halsell", &duty("Rob Halsell", None, None), BIG).unwrap().is_some());
    }

    #[test]
    fn custom_label_and_separator() {
        let got = update("News – Clinic: x – Y", "Clinic:", " – ", &duty("Ådne", None, None), BIG).unwrap().unwrap();
        assert_eq!(got, "News – Clinic: Ådne – Y");
        let appended = update("News", "Clinic:", " – ", &Duty::default(), BIG).unwrap().unwrap();
        assert_eq!(appended, "News – Clinic: none");
    }

    #[test]
    fn names_cannot_break_the_topic() {
        let d = duty("Eve | Mallory\r\nQUIT", Some("\x02Bob\x02"), None);
        let got = up("A", &d, BIG).unwrap().unwrap();
        assert_eq!(got, "A | SRE Clinic Duty: Eve MalloryQUIT (backup: Bob)");
        assert_eq!(current_section(&got, LABEL, SEP), Some("Eve MalloryQUIT (backup: Bob)"));
    }

    #[test]
    fn names_cannot_form_a_separator_with_their_neighbours() {
        // "Eve |" then " (backup" would read "Eve | (backup": the separator's mark goes.
        let d = duty("Eve |", Some("| Bob"), Some("a"));
        let got = up("A", &d, BIG).unwrap().unwrap();
        assert_eq!(got, "A | SRE Clinic Duty: Eve (backup: Bob, a)");
        assert_eq!(up(&got, &d, BIG), Ok(None));
        // ... only when it would: a mark inside a word is harmless and kept.
        let jean = duty("Jean-Luc -", None, None);
        assert_eq!(update("News", "Clinic:", " - ", &jean, BIG).unwrap().unwrap(), "News - Clinic: Jean-Luc -");
        let got = update("News - Clinic: x - Y", "Clinic:", " - ", &jean, BIG).unwrap().unwrap();
        assert_eq!(got, "News - Clinic: Jean-Luc - Y");
        // Without spaces around it, the mark goes wherever it is.
        assert_eq!(update("A", "Clinic:", "|", &duty("a|b", None, None), BIG).unwrap().unwrap(), "A|Clinic: a b");
    }

    #[test]
    fn appending_completes_a_dangling_separator() {
        let d = Duty::default();
        assert_eq!(up("A | B |", &d, BIG).unwrap().unwrap(), "A | B | SRE Clinic Duty: none");
        assert_eq!(update("x -", LABEL, " - ", &d, BIG).unwrap().unwrap(), "x - SRE Clinic Duty: none");
        // Separators that overlap ("( | | " splits as "(", "| "): the next join that is found
        // again as our section.
        let got = up("( | | ", &d, BIG).unwrap().unwrap();
        assert_eq!(current_section(&got, LABEL, SEP), Some("none"), "{got:?}");
        assert!(got.starts_with("( | | "), "the humans' part is kept: {got:?}");
        assert_eq!(up(&got, &d, BIG), Ok(None));
    }

    #[test]
    fn current_section_reads_the_value() {
        let topic = "A |  SRE Clinic Duty: Cathal Mooney (SRE-Traffic)  | B";
        assert_eq!(current_section(topic, LABEL, SEP), Some("Cathal Mooney (SRE-Traffic)"));
        assert_eq!(current_section("A | B", LABEL, SEP), None);
        assert_eq!(current_section("SRE Clinic Duty:", LABEL, SEP), Some(""));
        assert_eq!(current_section("", LABEL, SEP), None);
        assert_eq!(current_section("SRE Clinic Duty: x", "", SEP), None);
        let full = format!("{LABEL} {}", cathal());
        assert_eq!(current_section(&full, LABEL, SEP), Some(cathal().to_string().as_str()));
    }

    #[test]
    fn topic_len_exactly_fitting() {
        let full = "X | SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations)";
        assert_eq!(up("X", &cathal(), full.len()), Ok(Some(full.to_string())));
    }

    #[test]
    fn topic_len_drops_backup_then_team_then_cuts_name() {
        let full = "X | SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations)";
        let no_backup = "X | SRE Clinic Duty: Cathal Mooney (SRE-Infrastructure Foundations)";
        let name_only = "X | SRE Clinic Duty: Cathal Mooney";
        assert_eq!(up("X", &cathal(), full.len() - 1).unwrap().unwrap(), no_backup);
        assert_eq!(up("X", &cathal(), no_backup.len()).unwrap().unwrap(), no_backup);
        assert_eq!(up("X", &cathal(), no_backup.len() - 1).unwrap().unwrap(), name_only);
        assert_eq!(up("X", &cathal(), name_only.len()).unwrap().unwrap(), name_only);
        // One byte short of the name: the ellipsis takes three bytes, so four of the name go.
        assert_eq!(up("X", &cathal(), name_only.len() - 1).unwrap().unwrap(), "X | SRE Clinic Duty: Cathal Mo…");
        // A cut right after a space does not leave the space before the ellipsis.
        assert_eq!(up("X", &cathal(), name_only.len() - 3).unwrap().unwrap(), "X | SRE Clinic Duty: Cathal…");
        // Backup without a team: dropping the backup leaves the name.
        let d = duty("Cathal Mooney", Some("Arzhel Younsi"), None);
        assert_eq!(up("X", &d, name_only.len() + 5).unwrap().unwrap(), name_only);
    }

    #[test]
    fn topic_len_never_splits_a_character() {
        // "Manuel Aróstegui": 'ó' is two bytes, at bytes 9..11.
        let d = duty("Manuel Aróstegui", None, None);
        let prefix = "Y | SRE Clinic Duty: ";
        for keep in 0..14 {
            let len = prefix.len() + keep + ELLIPSIS.len();
            let got = up("Y", &d, len).unwrap().unwrap();
            assert!(got.len() <= len, "{got:?} longer than {len}");
            assert!(got.ends_with(ELLIPSIS));
        }
        let len = prefix.len() + 10 + ELLIPSIS.len();
        assert_eq!(up("Y", &d, len).unwrap().unwrap(), "Y | SRE Clinic Duty: Manuel Ar…");
        let len = prefix.len() + 11 + ELLIPSIS.len();
        assert_eq!(up("Y", &d, len).unwrap().unwrap(), "Y | SRE Clinic Duty: Manuel Aró…");
        // A name made only of multi-byte characters.
        let emoji = duty("🦀🦀🦀", None, None);
        assert_eq!(up("Y", &emoji, prefix.len() + 7 + ELLIPSIS.len()).unwrap().unwrap(), "Y | SRE Clinic Duty: 🦀…");
    }

    #[test]
    fn topic_len_bare_label_or_too_long() {
        let bare = "Y | SRE Clinic Duty: …";
        assert_eq!(up("Y", &cathal(), bare.len()).unwrap().unwrap(), bare);
        assert_eq!(up("Y", &cathal(), bare.len() - 1), Err(Unfit::TooLong));
        assert_eq!(up("Y", &Duty::default(), bare.len()).unwrap().unwrap(), bare);
        // Others' sections alone exceed the limit: we never shorten them.
        assert_eq!(up("a very long topic | SRE Clinic Duty: x", &cathal(), 10), Err(Unfit::TooLong));
        assert_eq!(up("", &cathal(), 0), Err(Unfit::TooLong));
        assert_eq!(up("", &cathal(), usize::MAX).map(|t| t.is_some()), Ok(true));
    }

    #[test]
    fn topic_len_counts_bytes_of_others_sections() {
        // "Ünïcödé" is 7 characters but 11 bytes.
        let topic = "Ünïcödé";
        let want = "Ünïcödé | SRE Clinic Duty: none";
        assert_eq!(up(topic, &Duty::default(), want.len()).unwrap().unwrap(), want);
        assert_eq!(up(topic, &Duty::default(), want.len() - 1).unwrap().unwrap(), "Ünïcödé | SRE Clinic Duty: …");
        assert_eq!(up(topic, &Duty::default(), want.chars().count()), Err(Unfit::TooLong));
    }
}
