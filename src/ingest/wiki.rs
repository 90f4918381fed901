//! `srebot sal import-wiki`: a team's Server Admin Log history from its wiki page.
//!
//! [`parse`] reads the layouts teams use (pure): `== YYYY-MM-DD ==` or `=== YYYY-MM-DD ===` day
//! headings, newest or oldest day first; entry lines `* HH:MM nick: message`, with or without
//! `{{SAL entry|1=…}}` around the text; relayed lines `* HH:MM LSBot: [user@host] message`
//! (attributed to `user`, relayed by the bot). Lines srebot itself published (they end with its
//! `<!-- sal:N -->` marker) are already in the log and are left alone.
//!
//! [`import`] stores every parsed line as a historical entry, marked imported (its
//! `import_key`), never queued for publishing: a second run adds nothing, and a run after new
//! wiki edits adds only the new lines. [`fetch`] reads a page (and its archive subpages) through
//! the MediaWiki Action API.

use crate::store::sal::NewEntry;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use regex::Regex;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::LazyLock;

/// One entry line of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WikiEntry {
    /// 1-based, in the text it was read from.
    pub line: usize,
    pub at: DateTime<Utc>,
    pub nick: String,
    /// `user@host` of a relayed line.
    pub userhost: Option<String>,
    /// The relay's nick, for a relayed line.
    pub relayed_by: Option<String>,
    pub message: String,
}

/// What the page holds, per day.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub entries: Vec<WikiEntry>,
    /// Lines under a day heading that are not entries: (day, line number, why).
    pub unparsable: Vec<(NaiveDate, usize, String)>,
    /// Lines srebot published itself, per day.
    pub published: BTreeMap<NaiveDate, usize>,
}

static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(={1,6})\s*(.*?)\s*(={1,6})\s*$").expect("valid heading pattern"));
static DAY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d{4}-\d{2}-\d{2})$").expect("valid day pattern"));
static TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\{\{\s*SAL[ _]entry\s*\|\s*(?:1\s*=\s*)?(.*?)\s*\}\}").expect("valid template pattern")
});
static ENTRY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{1,2}):(\d{2})\s+<?([^\s:<>]+?)>?:\s*(.*)$").expect("valid entry pattern"));
static RELAYED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^\s@\]]+)@([^\s\]]+)\]\s*(.*)$").expect("valid relayed pattern"));
static OWN_MARKER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<!-- sal:\d+ -->\s*$").expect("valid marker"));
static COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<!--.*?-->").expect("valid comment pattern"));

/// Undoes the escaping `publish::wikitext` (and people) use for text that would mean markup.
fn unescape(text: &str) -> String {
    let mut out = text.replace("<nowiki>", "").replace("</nowiki>", "").replace("<nowiki/>", "");
    for (entity, c) in [
        ("&#91;", "["),
        ("&#93;", "]"),
        ("&#123;", "{"),
        ("&#125;", "}"),
        ("&#124;", "|"),
        ("&#126;", "~"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&amp;", "&"),
    ] {
        out = out.replace(entity, c);
    }
    out
}

/// One `*` line's entry, or why it is not one.
fn entry_of(day: NaiveDate, line: usize, text: &str) -> Result<WikiEntry, String> {
    let body = text.trim_start_matches('*').trim();
    let body = TEMPLATE.replace(body, "$1");
    let body = COMMENT.replace_all(&body, "");
    let c = ENTRY.captures(body.trim()).ok_or("not `HH:MM nick: message`")?;
    let (h, m): (u32, u32) = (c[1].parse().unwrap_or(99), c[2].parse().unwrap_or(99));
    let time = NaiveTime::from_hms_opt(h, m, 0).ok_or_else(|| format!("{}:{} is not a time", &c[1], &c[2]))?;
    let nick = unescape(&c[3]);
    let mut message = unescape(c[4].trim());
    let (mut author, mut userhost, mut relayed_by) = (nick.clone(), None, None);
    if let Some(r) = RELAYED.captures(&message) {
        author = r[1].to_string();
        userhost = Some(format!("{}@{}", &r[1], &r[2]));
        relayed_by = Some(nick);
        message = r[3].trim().to_string();
    }
    if message.is_empty() {
        return Err("no message".into());
    }
    Ok(WikiEntry { line, at: day.and_time(time).and_utc(), nick: author, userhost, relayed_by, message })
}

/// Reads a SAL page. Lines above the first day heading, and under headings that are not days,
/// are not looked at; blank lines and comments are skipped.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut day: Option<NaiveDate> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if let Some(h) = HEADING.captures(trimmed).filter(|h| h[1].len() == h[3].len()) {
            day = DAY.is_match(&h[2]).then(|| NaiveDate::parse_from_str(&h[2], "%Y-%m-%d").ok()).flatten();
            continue;
        }
        let Some(d) = day else { continue };
        if trimmed.is_empty() || COMMENT.replace_all(trimmed, "").trim().is_empty() {
            continue;
        }
        if OWN_MARKER.is_match(trimmed) {
            *parsed.published.entry(d).or_default() += 1;
            continue;
        }
        if !trimmed.starts_with('*') {
            parsed.unparsable.push((d, line, "not an entry line (`* HH:MM nick: message`)".into()));
            continue;
        }
        match entry_of(d, line, trimmed) {
            Ok(e) => parsed.entries.push(e),
            Err(why) => parsed.unparsable.push((d, line, why)),
        }
    }
    parsed
}

/// What an import did, per day.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DayReport {
    pub added: usize,
    pub present: usize,
    /// (line number, why).
    pub unparsable: Vec<(usize, String)>,
}

/// The import's report: per day, oldest first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report(pub BTreeMap<NaiveDate, DayReport>);

impl Report {
    pub fn added(&self) -> usize {
        self.0.values().map(|d| d.added).sum()
    }

    pub fn present(&self) -> usize {
        self.0.values().map(|d| d.present).sum()
    }

    pub fn unparsable(&self) -> usize {
        self.0.values().map(|d| d.unparsable.len()).sum()
    }

    /// One line per day, then the totals.
    pub fn lines(&self, source: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (day, r) in &self.0 {
            let mut l = format!("{source}: {day}: {} added, {} already present", r.added, r.present);
            if !r.unparsable.is_empty() {
                let _ = write!(l, ", {} unparsable:", r.unparsable.len());
                for (line, why) in &r.unparsable {
                    let _ = write!(l, " line {line} ({why});");
                }
                l.pop();
            }
            out.push(l);
        }
        out.push(format!(
            "{source}: {} added, {} already present, {} unparsable, over {} day(s)",
            self.added(),
            self.present(),
            self.unparsable(),
            self.0.len()
        ));
        out
    }
}

/// The import key of `e`: which line of the wiki it is, so the same line is recognised in any
/// later run (`n` tells apart identical lines of the same minute).
fn import_key(channel: &str, e: &WikiEntry, n: usize) -> String {
    let text = format!("{}|{}|{}|{}|{n}", channel.to_lowercase(), e.at.format("%Y-%m-%dT%H:%M"), e.nick, e.message);
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores what `parsed` holds in `channel` (`private` for a security channel), in the caller's
/// transaction; entries are added oldest first, so ids follow time. A line that looks like it
/// carries a secret is not stored and is reported.
pub fn import(conn: &Connection, parsed: &Parsed, channel: &str, private: bool) -> rusqlite::Result<Report> {
    let mut report = Report::default();
    for (day, n) in &parsed.published {
        report.0.entry(*day).or_default().present += n;
    }
    for (day, line, why) in &parsed.unparsable {
        report.0.entry(*day).or_default().unparsable.push((*line, why.clone()));
    }
    let mut order: Vec<&WikiEntry> = parsed.entries.iter().collect();
    // Newest-first pages list a minute's lines newest first too: read those backwards.
    let newest_first = order.first().zip(order.last()).is_some_and(|(a, b)| a.at > b.at);
    if newest_first {
        order.reverse();
    }
    order.sort_by_key(|e| e.at);
    let mut seen: HashMap<(DateTime<Utc>, &str, &str), usize> = HashMap::new();
    for e in order {
        let day = report.0.entry(e.at.date_naive()).or_default();
        if let Some(why) = crate::privacy::looks_like_secret(&e.message) {
            day.unparsable.push((e.line, format!("looks like a secret ({why}): not imported")));
            continue;
        }
        let n = seen.entry((e.at, &e.nick, &e.message)).or_default();
        let key = import_key(channel, e, *n);
        *n += 1;
        let entry = NewEntry {
            logged_at: e.at,
            channel: channel.to_string(),
            nick: e.nick.clone(),
            account: None,
            userhost: e.userhost.clone().unwrap_or_else(|| format!("{}@wiki", e.nick)),
            relayed_by: e.relayed_by.clone(),
            message: e.message.clone(),
            private,
            via_private_message: false,
            tasks: crate::text::task_refs(&e.message),
        };
        match crate::store::ingest::import(conn, &entry, &key)? {
            Some(_) => day.added += 1,
            None => day.present += 1,
        }
    }
    for day in report.0.values_mut() {
        day.unparsable.sort();
    }
    Ok(report)
}

/// Reads `title` (and, with `archives`, every subpage `title/…`) through the Action API at
/// `api`: (title, wikitext) pairs, the page first.
pub fn fetch(api: &str, title: &str, archives: bool) -> Result<Vec<(String, String)>, String> {
    let agent = crate::publish::mediawiki::http_agent(std::time::Duration::from_secs(60));
    let get = |params: &[(&str, &str)]| -> Result<Value, String> {
        let mut all = vec![("format", "json"), ("formatversion", "2")];
        all.extend_from_slice(params);
        let mut r = agent
            .get(api)
            .query_pairs(all)
            .call()
            .map_err(|e| format!("{api}: {}", crate::publish::mediawiki::short_transport_error(&e)))?;
        if r.status().as_u16() != 200 {
            return Err(format!("{api}: HTTP {}", r.status().as_u16()));
        }
        let body = r
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("{api}: {}", crate::publish::mediawiki::short_transport_error(&e)))?;
        let v: Value =
            serde_json::from_str(&body).map_err(|_| format!("{api}: not JSON: is it the wiki's api.php?"))?;
        match v.get("error") {
            Some(e) => Err(format!("{api}: {}", e["info"].as_str().unwrap_or("API error"))),
            None => Ok(v),
        }
    };
    let read = |title: &str| -> Result<(String, i64, String), String> {
        let v = get(&[
            ("action", "query"),
            ("prop", "revisions"),
            ("rvprop", "content"),
            ("rvslots", "main"),
            ("titles", title),
        ])?;
        let page = &v["query"]["pages"][0];
        if page.get("missing").is_some() || page.get("invalid").is_some() {
            return Err(format!("no page {title:?} on {api}"));
        }
        let text = page["revisions"][0]["slots"]["main"]["content"].as_str().unwrap_or("").to_string();
        Ok((page["title"].as_str().unwrap_or(title).to_string(), page["ns"].as_i64().unwrap_or(0), text))
    };
    let (canonical, ns, text) = read(title)?;
    let mut pages = vec![(canonical.clone(), text)];
    if archives {
        // Subpages are listed by their title without the namespace prefix.
        let bare =
            if ns == 0 { canonical.as_str() } else { canonical.split_once(':').map_or(canonical.as_str(), |(_, t)| t) };
        let prefix = format!("{bare}/");
        let ns = ns.to_string();
        let mut from: Option<String> = None;
        loop {
            let mut params = vec![
                ("action", "query"),
                ("list", "allpages"),
                ("apprefix", prefix.as_str()),
                ("apnamespace", ns.as_str()),
                ("aplimit", "max"),
            ];
            if let Some(f) = &from {
                params.push(("apcontinue", f.as_str()));
            }
            let v = get(&params)?;
            for p in v["query"]["allpages"].as_array().into_iter().flatten() {
                if let Some(t) = p["title"].as_str() {
                    pages.push(read(t).map(|(t, _, text)| (t, text))?);
                }
            }
            match v["continue"]["apcontinue"].as_str() {
                Some(next) => from = Some(next.to_string()),
                None => break,
            }
        }
    }
    Ok(pages)
}

/// Where the page comes from.
pub enum Source<'a> {
    Page { title: &'a str, api: Option<&'a str>, archives: bool },
    File(&'a std::path::Path),
}

/// `srebot sal import-wiki`: reads the page(s), imports them into `channel` in one transaction
/// per page, and returns the report's lines.
pub fn run(config: &crate::config::Config, source: Source<'_>, channel: &str) -> Result<Vec<String>, String> {
    let Some(ch) = config.channel(channel) else {
        return Err(format!("{channel} is not one of the config's [[channels]]"));
    };
    let private = ch.role == crate::config::ChannelRole::Security;
    let pages = match source {
        Source::File(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {}", path.display(), e.kind()))?;
            vec![(path.display().to_string(), text)]
        }
        Source::Page { title, api, archives } => {
            let api = api
                .or(config.publish.mediawiki.as_ref().map(|m| m.api_url.as_str()))
                .ok_or("no --api URL and no [publish.mediawiki] api_url")?;
            fetch(api, title, archives)?
        }
    };
    let mut conn = crate::store::open_database(&config.storage.database).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    for (name, text) in pages {
        let parsed = parse(&text);
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        let report =
            import(&tx, &parsed, ch.name.as_str(), private).map_err(|e| format!("{name}: nothing imported: {e}"))?;
        // Searchable at once, as the bot's own commits are.
        crate::store::sal::index_new_entries(&tx).map_err(|e| format!("{name}: nothing imported: {e}"))?;
        tx.commit().map_err(|e| format!("{name}: nothing imported: {e}"))?;
        lines.extend(report.lines(&name));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\
Intro text, not a day.
* 09:00 someone: above the first day, ignored
== 2026-01-02 ==
* 10:05 {{SAL entry|1=alice: restarted db1001 (T1234)}}
* 10:01 LSBot: [deploy@mw151] synced wmf-config
* 09:59 bob: depooled &#91;cp3050&#93; &lt;now&gt;
* 09:59 bob: depooled &#91;cp3050&#93; &lt;now&gt;
* 08:00 srebot-published: x <!-- sal:7 -->
this line is stray
* 25:61 carol: bad time

=== 2026-01-01 ===
* 23:59 <dave>: {{SAL entry|1=new year's eve}}
* 12:00 erin:
== Notes ==
* 11:00 frank: under a heading that is not a day
";

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn reads_the_layouts_teams_use() {
        let p = parse(PAGE);
        let got: Vec<String> = p
            .entries
            .iter()
            .map(|e| {
                let at = e.at.format("%Y-%m-%d %H:%M");
                format!("{} {at} {} {:?} {:?} {}", e.line, e.nick, e.userhost, e.relayed_by, e.message)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                "4 2026-01-02 10:05 alice None None restarted db1001 (T1234)",
                "5 2026-01-02 10:01 deploy Some(\"deploy@mw151\") Some(\"LSBot\") synced wmf-config",
                "6 2026-01-02 09:59 bob None None depooled [cp3050] <now>",
                "7 2026-01-02 09:59 bob None None depooled [cp3050] <now>",
                "13 2026-01-01 23:59 dave None None new year's eve",
            ]
        );
        let bad: Vec<(NaiveDate, usize)> = p.unparsable.iter().map(|(d, l, _)| (*d, *l)).collect();
        assert_eq!(bad, vec![(day("2026-01-02"), 9), (day("2026-01-02"), 10), (day("2026-01-01"), 14)]);
        assert_eq!(p.published.get(&day("2026-01-02")), Some(&1));
    }

    #[test]
    fn imports_once_and_then_only_new_lines() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("w.sqlite3")).unwrap();
        let first = import(&conn, &parse(PAGE), "#sre", false).unwrap();
        assert_eq!((first.added(), first.present(), first.unparsable()), (5, 1, 3));
        let d2 = &first.0[&day("2026-01-02")];
        assert_eq!((d2.added, d2.present, d2.unparsable.iter().map(|u| u.0).collect::<Vec<_>>()), (4, 1, vec![9, 10]));
        // Oldest first: ids follow time.
        let all = crate::store::sal::all(&conn).unwrap();
        assert_eq!(all[0].message, "new year's eve");
        assert_eq!(all[4].tasks, vec!["T1234"]);
        assert!(all.iter().all(|e| crate::store::ingest::is_imported(&conn, e.id).unwrap()));
        let again = import(&conn, &parse(PAGE), "#sre", false).unwrap();
        assert_eq!((again.added(), again.present()), (0, 6));
        let edited = PAGE.replace("== 2026-01-02 ==\n", "== 2026-01-02 ==\n* 11:00 alice: a later line\n");
        let later = import(&conn, &parse(&edited), "#sre", false).unwrap();
        assert_eq!((later.added(), later.present()), (1, 6));
        // Nothing queued for the wiki.
        let queued: i64 = conn.query_row("SELECT count(*) FROM sal_outbox", [], |r| r.get(0)).unwrap();
        assert_eq!(queued, 0);
        let lines = later.lines("page");
        assert_eq!(lines.last().unwrap(), "page: 1 added, 6 already present, 3 unparsable, over 2 day(s)");
        assert!(
            lines[1].starts_with("page: 2026-01-02: 1 added, 5 already present, 2 unparsable: line 10 ("),
            "{lines:?}"
        );
    }

    #[test]
    fn oldest_first_pages_keep_their_order_too() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("w.sqlite3")).unwrap();
        let page = "== 2026-01-01 ==\n* 10:00 a: one\n* 10:00 a: two\n== 2026-01-02 ==\n* 09:00 b: three\n";
        assert_eq!(import(&conn, &parse(page), "#sre", false).unwrap().added(), 3);
        let texts: Vec<String> = crate::store::sal::all(&conn).unwrap().into_iter().map(|e| e.message).collect();
        assert_eq!(texts, ["one", "two", "three"]);
        // The same page newest first: the same order of ids.
        let newest = "== 2026-01-02 ==\n* 09:00 b: three\n== 2026-01-01 ==\n* 10:00 a: two\n* 10:00 a: one\n";
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("w.sqlite3")).unwrap();
        import(&conn, &parse(newest), "#sre", false).unwrap();
        let texts: Vec<String> = crate::store::sal::all(&conn).unwrap().into_iter().map(|e| e.message).collect();
        assert_eq!(texts, ["one", "two", "three"]);
    }

    #[test]
    fn secrets_are_reported_not_imported() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("w.sqlite3")).unwrap();
        let page = "== 2026-01-02 ==\n* 10:00 alice: set db password=Tr0ub4dor&3xyz on db1001\n";
        let r = import(&conn, &parse(page), "#sre", false).unwrap();
        assert_eq!((r.added(), r.unparsable()), (0, 1));
        assert!(!r.lines("p")[0].contains("Tr0ub4dor"));
    }
}
