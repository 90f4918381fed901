//! "Pages for awareness": the alerts that fired in a duty week, grouped by name, ready to paste
//! into the weekly meeting's notes (clinic-duty.md). Pure: rows in, text out.

use crate::clinic::week::WeekRule;
use crate::incident::report::Format;
use crate::store::alert::AlertRow;
use chrono::{DateTime, Days, NaiveDate, Utc};

/// One alert name's firings in the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub severity: String,
    pub count: usize,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub hosts: Vec<String>,
}

/// The instants the duty week starting on `week` covers.
pub fn week_range(rule: &WeekRule, week: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = week.checked_add_days(Days::new(7)).unwrap_or(week);
    (rule.boundary(week), rule.boundary(next))
}

/// The duty week that contains `day` (from its hand-off on), and its groups: the alerts routed
/// to `channel` (a security channel's own view), or with `None` the public ones.
pub fn read(
    conn: &rusqlite::Connection,
    rule: &WeekRule,
    day: NaiveDate,
    channel: Option<&str>,
    paging: &[String],
) -> rusqlite::Result<(NaiveDate, Vec<Group>)> {
    let week = rule.week_of(rule.boundary(day) + chrono::Duration::hours(1));
    let (from, to) = week_range(rule, week);
    let fired = crate::store::alert::fired_between(conn, from, to, channel)?;
    Ok((week, group(&fired, paging)))
}

/// `srebot alerts pages`: the section for the week of `day`, public alerts unless `channel` names
/// a security channel.
pub fn cli(c: &crate::config::Config, day: &str, channel: Option<&str>, format: &str) -> Result<String, String> {
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| format!("--week {day:?}: use YYYY-MM-DD"))?;
    let format = Format::parse(format).ok_or_else(|| format!("unknown format {format:?}: wikitext or markdown"))?;
    let rule = c.clinic.rule()?;
    let paging = c.alerts.as_ref().map(|a| a.paging_severities.clone()).unwrap_or_default();
    let conn = crate::store::open_database(&c.storage.database).map_err(|e| e.to_string())?;
    let (week, groups) = read(&conn, &rule, day, channel, &paging).map_err(|e| e.to_string())?;
    Ok(render(week, &groups, format))
}

/// Groups firings by alert name, most frequent first; `paging` (when not empty) keeps only those
/// severities.
pub fn group(fired: &[(AlertRow, DateTime<Utc>)], paging: &[String]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (a, at) in fired {
        if !paging.is_empty() && !paging.iter().any(|s| s.eq_ignore_ascii_case(&a.severity)) {
            continue;
        }
        match groups.iter_mut().find(|g| g.name == a.name) {
            Some(g) => {
                g.count += 1;
                g.first = g.first.min(*at);
                g.last = g.last.max(*at);
                if !a.instance.is_empty() && !g.hosts.contains(&a.instance) {
                    g.hosts.push(a.instance.clone());
                }
            }
            None => groups.push(Group {
                name: a.name.clone(),
                severity: a.severity.clone(),
                count: 1,
                first: *at,
                last: *at,
                hosts: if a.instance.is_empty() { Vec::new() } else { vec![a.instance.clone()] },
            }),
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.first.cmp(&b.first)));
    groups
}

const COLUMNS: [&str; 6] = ["Alert", "Severity", "Times", "First (UTC)", "Last (UTC)", "Hosts"];

/// The section as wikitext or Markdown. Text from monitoring is escaped so it stays text.
pub fn render(week: NaiveDate, groups: &[Group], format: Format) -> String {
    let title = format!("Pages for awareness: week of {week}");
    let mut out = match format {
        Format::Wikitext => format!("== {title} ==\n"),
        Format::Markdown => format!("## {title}\n\n"),
    };
    if groups.is_empty() {
        return out + "No pages this week.\n";
    }
    let escape = |s: &str| if format == Format::Wikitext { wiki(s) } else { markdown(s) };
    let t = |d: DateTime<Utc>| d.format("%Y-%m-%d %H:%M").to_string();
    out += &match format {
        Format::Wikitext => format!("{{| class=\"wikitable\"\n! {}\n", COLUMNS.join(" !! ")),
        Format::Markdown => format!("| {} |\n|{}\n", COLUMNS.join(" | "), "---|".repeat(COLUMNS.len())),
    };
    for g in groups {
        let mut hosts = g.hosts.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        if g.hosts.len() > 5 {
            hosts += &format!(" and {} more", g.hosts.len() - 5);
        }
        let cells = [escape(&g.name), escape(&g.severity), g.count.to_string(), t(g.first), t(g.last), escape(&hosts)];
        out += &match format {
            Format::Wikitext => format!("|-\n| {}\n", cells.join(" || ")),
            Format::Markdown => format!("| {} |\n", cells.join(" | ")),
        };
    }
    if format == Format::Wikitext {
        out += "|}\n";
    }
    out
}

/// One line for IRC: `Pages in the week of 2026-11-30: MediaWikiDown ×3, NodeDown ×1.`
pub fn irc_line(week: NaiveDate, groups: &[Group]) -> String {
    if groups.is_empty() {
        return format!("No pages in the week of {week}.");
    }
    let items: Vec<String> = groups.iter().map(|g| format!("{} ×{}", g.name, g.count)).collect();
    format!("Pages in the week of {week}: {}.", items.join(", "))
}

fn wiki(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' | '[' | ']' | '{' | '}' | '<' | '>' | '&' | '\'' | '=' | '~' => format!("&#{};", c as u32),
            c => c.to_string(),
        })
        .collect()
}

fn markdown(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::line::tests::row;
    use chrono::TimeZone;

    #[test]
    fn groups_by_name_with_counts_and_times() {
        let at = |h| Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap();
        let mut warn = row(3, "DiskFull", "db1", "");
        warn.severity = "warning".into();
        let fired = vec![
            (row(1, "MediaWikiDown", "mw151", ""), at(9)),
            (row(2, "MediaWikiDown", "mw152", ""), at(11)),
            (warn, at(10)),
            (row(1, "MediaWikiDown", "mw151", ""), at(13)),
        ];
        let all = group(&fired, &[]);
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].name.as_str(), all[0].count, all[0].first, all[0].last),
            ("MediaWikiDown", 3, at(9), at(13))
        );
        let paging = group(&fired, &["critical".into()]);
        assert_eq!(paging.len(), 1);
        let week = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let wt = render(week, &paging, Format::Wikitext);
        assert!(
            wt.contains("| MediaWikiDown || critical || 3 || 2026-12-01 09:00 || 2026-12-01 13:00 || mw151, mw152"),
            "{wt}"
        );
        let md = render(week, &paging, Format::Markdown);
        assert!(md.contains("| MediaWikiDown | critical | 3 |"), "{md}");
        assert_eq!(irc_line(week, &paging), "Pages in the week of 2026-11-30: MediaWikiDown ×3.");
        let hostile = group(&[(row(9, "X|{{evil}}", "", ""), at(9))], &[]);
        assert!(!render(week, &hostile, Format::Wikitext).contains("{{evil"));
        assert!(render(week, &hostile, Format::Markdown).contains("X\\|"));
    }
}
