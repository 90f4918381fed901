//! The Server Admin Log page in wikitext, as the teams lay it out: text above the first heading
//! (the preamble) is kept, then a `== YYYY-MM-DD ==` section per day (UTC), newest day on top,
//! and in each day one line per entry, newest on top: `* HH:MM nick: message`.
//!
//! Each line the bot writes ends with an invisible marker, `<!-- sal:42 -->`, naming the entry.
//! The marker is what makes publishing idempotent: applying the same change twice, or again after
//! a crash between the edit and its bookkeeping, or on top of a page someone else edited in the
//! meantime, finds the line already there and never adds a second copy. Users cannot forge a
//! marker because `<` and `>` in messages are escaped.
//!
//! Everything here is pure: [`render_page`] maps (current page text, changes) to the new text.

use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;
use std::sync::LazyLock;

/// An entry as it appears on the page. `text` is already publishable (IPs masked), not escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub nick: String,
    pub text: String,
}

/// What should become true of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The entry is on the page, once, with this text (added or replaced).
    Put(PageEntry),
    /// The entry with this id is not on the page.
    Remove(i64),
}

impl Change {
    pub fn id(&self) -> i64 {
        match self {
            Change::Put(e) => e.id,
            Change::Remove(id) => *id,
        }
    }
}

/// The marker that ends every line the bot writes.
fn marker(id: i64) -> String {
    format!("<!-- sal:{id} -->")
}

static MARKER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<!-- sal:(\d+) -->\s*$").expect("valid marker pattern"));
static DAY_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^==\s*(\d{4}-\d{2}-\d{2})\s*==\s*$").expect("valid day heading pattern"));
static ENTRY_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\*\s*(\d{2}):(\d{2})\b").expect("valid entry time pattern"));

fn marker_id(line: &str) -> Option<i64> {
    MARKER.captures(line).and_then(|c| c[1].parse().ok())
}

fn is_heading(line: &str) -> bool {
    let t = line.trim_end();
    t.len() >= 3 && t.starts_with('=') && t.ends_with('=')
}

/// The line for an entry: `* HH:MM nick: message <!-- sal:ID -->`.
pub fn entry_line(e: &PageEntry) -> String {
    format!("* {} {}: {} {}", e.at.format("%H:%M"), escape_nick(&e.nick), escape_message(&e.text), marker(e.id))
}

/// Makes a nick inert: IRC nicks may hold `[]{}|`, which mean links, templates and tables here.
pub fn escape_nick(nick: &str) -> String {
    let mut out = String::with_capacity(nick.len());
    for c in nick.chars() {
        match c {
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            '|' => out.push_str("&#124;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '~' => out.push_str("&#126;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Makes a log message safe to put on a wiki line without breaking what people mean by it.
///
/// - `{` `}` become entities: no template (`{{…}}`), parser function or table can start.
/// - `<` `>` become entities: no HTML, `<nowiki>`, `<ref>`, or `<!--` that would swallow the
///   rest of the page (and the markers).
/// - `|` becomes an entity outside links (it splits template arguments and table cells) and
///   stays inside `[[…]]`, so `[[Page|label]]` keeps working.
/// - `[[Category:X]]`, `[[File:X]]` and interlanguage links would categorise the page, embed
///   a file or move to the sidebar; a leading `:` makes every namespaced link a plain link.
/// - three or more `~` would be replaced by the bot's signature on save.
/// - line breaks become spaces: a new line could start a heading or a table.
pub fn escape_message(text: &str) -> String {
    let text = crate::text::one_line(text);
    let text = text.trim();
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_link = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '[' if next == Some('[') => {
                out.push_str("[[");
                i += 2;
                in_link = true;
                // Leading blanks, then the target up to `|` or `]]`.
                while chars.get(i).is_some_and(|c| *c == ' ') {
                    out.push(' ');
                    i += 1;
                }
                let target: String =
                    chars[i..].iter().take_while(|c| !matches!(c, '|' | ']' | '[' | '{' | '}' | '<' | '>')).collect();
                if target.contains(':') && !target.starts_with(':') {
                    out.push(':');
                }
                continue;
            }
            ']' if next == Some(']') && in_link => {
                out.push_str("]]");
                i += 2;
                in_link = false;
                continue;
            }
            '|' if in_link => out.push('|'),
            '|' => out.push_str("&#124;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '~' => {
                let run = chars[i..].iter().take_while(|c| **c == '~').count();
                let one = if run >= 3 { "&#126;" } else { "~" };
                for _ in 0..run {
                    out.push_str(one);
                }
                i += run;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// One `== heading ==` and the lines under it up to the next heading.
#[derive(Debug)]
struct Section {
    heading: String,
    /// Set for day headings.
    day: Option<NaiveDate>,
    lines: Vec<String>,
}

struct Page {
    preamble: Vec<String>,
    sections: Vec<Section>,
}

fn parse(text: &str) -> Page {
    let mut page = Page { preamble: Vec::new(), sections: Vec::new() };
    for line in text.lines() {
        if is_heading(line) {
            let day = DAY_HEADING.captures(line).and_then(|c| NaiveDate::parse_from_str(&c[1], "%Y-%m-%d").ok());
            page.sections.push(Section { heading: line.to_string(), day, lines: Vec::new() });
        } else {
            match page.sections.last_mut() {
                Some(s) => s.lines.push(line.to_string()),
                None => page.preamble.push(line.to_string()),
            }
        }
    }
    page
}

fn unparse(page: &Page) -> String {
    let mut lines: Vec<&str> = page.preamble.iter().map(String::as_str).collect();
    for s in &page.sections {
        lines.push(&s.heading);
        lines.extend(s.lines.iter().map(String::as_str));
    }
    // MediaWiki drops trailing whitespace on save; doing the same keeps "no change" comparable.
    lines.join("\n").trim_end().to_string()
}

fn ends_blank(lines: &[String]) -> bool {
    lines.last().is_none_or(|l| l.trim().is_empty())
}

/// Where an entry line sorts in its day: by time, then by id (lines without a marker, written
/// by people, count as older than the bot's entries of the same minute).
fn sort_key(line: &str) -> Option<(u32, u32, i64)> {
    let c = ENTRY_TIME.captures(line)?;
    let (h, m) = (c[1].parse().ok()?, c[2].parse().ok()?);
    Some((h, m, marker_id(line).unwrap_or(i64::MIN)))
}

fn remove_everywhere(page: &mut Page, id: i64) {
    page.preamble.retain(|l| marker_id(l) != Some(id));
    for s in &mut page.sections {
        s.lines.retain(|l| marker_id(l) != Some(id));
    }
}

fn insert(page: &mut Page, e: &PageEntry) {
    let line = entry_line(e);
    let day = e.at.date_naive();
    let index = match page.sections.iter().position(|s| s.day == Some(day)) {
        Some(i) => i,
        None => {
            // Newest day on top: before the first older day, else after the last day, else
            // right below the preamble.
            let at = page
                .sections
                .iter()
                .position(|s| s.day.is_some_and(|d| d < day))
                .or_else(|| page.sections.iter().rposition(|s| s.day.is_some()).map(|i| i + 1))
                .unwrap_or(0);
            let before = if at == 0 { &mut page.preamble } else { &mut page.sections[at - 1].lines };
            if !before.is_empty() && !ends_blank(before) {
                before.push(String::new());
            }
            let mut lines = Vec::new();
            if at < page.sections.len() {
                lines.push(String::new()); // keeps a blank line before the next heading
            }
            page.sections
                .insert(at, Section { heading: format!("== {} ==", day.format("%Y-%m-%d")), day: Some(day), lines });
            at
        }
    };
    let lines = &mut page.sections[index].lines;
    let key = sort_key(&line);
    let position = lines
        .iter()
        .position(|l| sort_key(l).is_some_and(|k| Some(k) < key))
        .or_else(|| lines.iter().rposition(|l| l.starts_with('*')).map(|i| i + 1))
        .unwrap_or(0);
    lines.insert(position, line);
}

/// The page after applying `changes` to `existing`. Idempotent: applying the result again
/// changes nothing.
pub fn render_page(existing: &str, changes: &[Change]) -> String {
    let mut page = parse(existing);
    for change in changes {
        match change {
            Change::Remove(id) => remove_everywhere(&mut page, *id),
            Change::Put(e) => {
                let line = entry_line(e);
                let day = e.at.date_naive();
                let found: Vec<(Option<usize>, usize)> = std::iter::once((None, &page.preamble))
                    .chain(page.sections.iter().enumerate().map(|(i, s)| (Some(i), &s.lines)))
                    .flat_map(|(s, lines)| {
                        lines.iter().enumerate().filter(|(_, l)| marker_id(l) == Some(e.id)).map(move |(j, _)| (s, j))
                    })
                    .collect();
                match found.as_slice() {
                    // Already there once, in its day: replace in place (an amendment keeps its spot).
                    [(Some(s), j)] if page.sections[*s].day == Some(day) => page.sections[*s].lines[*j] = line,
                    _ => {
                        remove_everywhere(&mut page, e.id);
                        insert(&mut page, e);
                    }
                }
            }
        }
    }
    // A day the bot's removals emptied goes away with its heading.
    page.sections.retain(|s| s.day.is_none() || s.lines.iter().any(|l| !l.trim().is_empty()));
    unparse(&page)
}

/// Checks that `content` reflects `changes`: each entry put is there exactly once with its line,
/// each removed one is gone. The error names the first entry that is not right.
pub fn verify(content: &str, changes: &[Change]) -> Result<(), String> {
    for change in changes {
        let lines: Vec<&str> = content.lines().filter(|l| marker_id(l) == Some(change.id())).collect();
        match change {
            Change::Put(e) => {
                let want = entry_line(e);
                if lines.len() != 1 || lines[0].trim_end() != want {
                    return Err(format!("entry #{} is on the page {} time(s), expected once", e.id, lines.len()));
                }
            }
            Change::Remove(id) => {
                if !lines.is_empty() {
                    return Err(format!("entry #{id} is still on the page"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: i64, at: &str, nick: &str, text: &str) -> PageEntry {
        PageEntry { id, at: at.parse().unwrap(), nick: nick.into(), text: text.into() }
    }

    fn put(id: i64, at: &str, text: &str) -> Change {
        Change::Put(e(id, at, "alice", text))
    }

    #[test]
    fn builds_days_newest_first_with_newest_entries_on_top() {
        let page = render_page(
            "",
            &[
                put(1, "2026-11-21T09:00:00Z", "first"),
                put(3, "2026-11-22T10:30:00Z", "third"),
                put(2, "2026-11-22T08:15:00Z", "second"),
            ],
        );
        assert_eq!(
            page,
            "== 2026-11-22 ==\n\
             * 10:30 alice: third <!-- sal:3 -->\n\
             * 08:15 alice: second <!-- sal:2 -->\n\
             \n\
             == 2026-11-21 ==\n\
             * 09:00 alice: first <!-- sal:1 -->"
        );
        assert_eq!(render_page(&page, &[put(2, "2026-11-22T08:15:00Z", "second")]), page, "idempotent");
    }

    #[test]
    fn keeps_the_preamble_and_other_sections_and_human_lines() {
        let existing = "{{Navigation}}\nThis is the log. Newest on top.\n\n== 2026-11-22 ==\n* 11:00 bob: by hand\n\
                        * 09:00 carol: also by hand\n\n== Archives ==\n* [[SAL/2025]]";
        let page = render_page(
            existing,
            &[put(5, "2026-11-22T10:00:00Z", "between"), put(6, "2026-11-23T00:01:00Z", "new day")],
        );
        assert_eq!(
            page,
            "{{Navigation}}\nThis is the log. Newest on top.\n\n\
             == 2026-11-23 ==\n* 00:01 alice: new day <!-- sal:6 -->\n\n\
             == 2026-11-22 ==\n* 11:00 bob: by hand\n* 10:00 alice: between <!-- sal:5 -->\n* 09:00 carol: also by hand\n\n\
             == Archives ==\n* [[SAL/2025]]"
        );
        // A day older than any on the page goes right after the last day, so that other
        // sections below the days (Archives) stay at the bottom.
        let older = render_page(&page, &[put(7, "2026-11-01T12:00:00Z", "old")]);
        assert!(
            older.contains(
                "* 09:00 carol: also by hand\n\n== 2026-11-01 ==\n* 12:00 alice: old <!-- sal:7 -->\n\n== Archives =="
            ),
            "{older}"
        );
    }

    #[test]
    fn preamble_only_page_gets_days_below_it() {
        let page = render_page("Server admin log.\nSee also [[Incidents]].", &[put(1, "2026-11-22T10:00:00Z", "x")]);
        assert_eq!(
            page,
            "Server admin log.\nSee also [[Incidents]].\n\n== 2026-11-22 ==\n* 10:00 alice: x <!-- sal:1 -->"
        );
    }

    #[test]
    fn removals_and_amendments() {
        let page = render_page(
            "Intro\n",
            &[
                put(1, "2026-11-21T09:00:00Z", "a"),
                put(2, "2026-11-22T09:00:00Z", "b"),
                put(3, "2026-11-22T10:00:00Z", "c"),
            ],
        );
        let amended = render_page(&page, &[put(2, "2026-11-22T09:00:00Z", "b, fixed")]);
        assert!(
            amended.contains("* 10:00 alice: c <!-- sal:3 -->\n* 09:00 alice: b, fixed <!-- sal:2 -->"),
            "{amended}"
        );
        assert!(!amended.contains("alice: b <!--"));
        let removed = render_page(&amended, &[Change::Remove(1), Change::Remove(3)]);
        assert_eq!(removed, "Intro\n\n== 2026-11-22 ==\n* 09:00 alice: b, fixed <!-- sal:2 -->", "an emptied day goes");
        assert_eq!(render_page(&removed, &[Change::Remove(99)]), removed);
        // A duplicate (say, from a human copy-paste) is collapsed to one line.
        let doubled = format!("{removed}\n* 09:00 alice: b, fixed <!-- sal:2 -->");
        assert_eq!(render_page(&doubled, &[put(2, "2026-11-22T09:00:00Z", "b, fixed")]), removed);
    }

    #[test]
    fn verify_checks_presence_and_absence() {
        let changes = [put(1, "2026-11-22T09:00:00Z", "a"), Change::Remove(2)];
        let page = render_page("", &changes);
        assert_eq!(verify(&page, &changes), Ok(()));
        assert!(verify("", &changes).is_err());
        assert!(verify(&format!("{page}\n{page}"), &changes).is_err());
        let with_two = render_page(&page, &[put(2, "2026-11-22T09:30:00Z", "b")]);
        assert_eq!(verify(&with_two, &changes), Err("entry #2 is still on the page".into()));
        let stale = render_page(&page, &[put(1, "2026-11-22T09:00:00Z", "a, amended")]);
        assert!(verify(&stale, &changes).is_err(), "a line with other text is not the entry");
    }

    #[test]
    fn escapes_wikitext_but_keeps_links() {
        let cases = [
            ("restarted db151 for T123", "restarted db151 for T123"),
            ("see [[Tech:Foo]] and [[Bar]]", "see [[:Tech:Foo]] and [[Bar]]"),
            ("piped [[Tech:Foo|the foo]] link", "piped [[:Tech:Foo|the foo]] link"),
            ("[[Category:Outages]] [[:File:x.png]]", "[[:Category:Outages]] [[:File:x.png]]"),
            ("[[ File:x.png]]", "[[ :File:x.png]]"),
            ("{{delete}} and {{#if:x|y}}", "&#123;&#123;delete&#125;&#125; and &#123;&#123;#if:x&#124;y&#125;&#125;"),
            ("a | b", "a &#124; b"),
            ("<script>x</script> <!-- c -->", "&lt;script&gt;x&lt;/script&gt; &lt;!-- c --&gt;"),
            ("fake <!-- sal:1 -->", "fake &lt;!-- sal:1 --&gt;"),
            ("sig ~~~~ and ~ and ~~", "sig &#126;&#126;&#126;&#126; and ~ and ~~"),
            ("[http://example.org/x?a=b docs]", "[http://example.org/x?a=b docs]"),
            ("two\r\nlines", "two  lines"),
            ("unclosed [[link | rest", "unclosed [[link | rest"),
            ("]] stray", "]] stray"),
        ];
        for (input, want) in cases {
            assert_eq!(escape_message(input), want, "{input:?}");
        }
        assert_eq!(escape_nick("[alice]|{x}~"), "&#91;alice&#93;&#124;&#123;x&#125;&#126;");
        let forged = render_page("", &[put(1, "2026-11-22T09:00:00Z", "x <!-- sal:2 -->")]);
        assert_eq!(forged.lines().filter(|l| marker_id(l).is_some()).count(), 1);
        assert_eq!(marker_id(forged.lines().nth(1).unwrap()), Some(1));
    }

    #[test]
    fn survives_odd_pages() {
        for text in [
            "",
            "\n\n",
            "==",
            "== 2026-13-45 ==\n* x",
            "=== 2026-11-22 ===\n* 10:00 a: b",
            "* 99:99 x: y <!-- sal:1 -->",
        ] {
            let once = render_page(text, &[put(1, "2026-11-22T09:00:00Z", "a"), Change::Remove(2)]);
            let twice = render_page(&once, &[put(1, "2026-11-22T09:00:00Z", "a"), Change::Remove(2)]);
            assert_eq!(once, twice, "{text:?}");
            assert_eq!(verify(&once, &[put(1, "2026-11-22T09:00:00Z", "a")]), Ok(()), "{text:?}");
        }
    }
}
