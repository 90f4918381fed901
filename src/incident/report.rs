//! Post-mortem drafts: an incident's record rendered as MediaWiki wikitext or Markdown.
//!
//! The draft holds what the bot already knows (times, durations, who held which role, the
//! timeline) and leaves what only people can write as empty sections, following the report the
//! incident process asks for (incident-response.md): how the incident began, its social and
//! technical factors, and how to prevent it.
//!
//! Everything that came from IRC (summary, notes, `!log` text, nicks, the report URL) is
//! untrusted: it goes through [`Doc::user`] so that it shows as the literal text typed and can
//! never add templates, links, HTML, headings or table cells to the page.

use super::model::{Event, EventKind, Incident, Record, Role, State, Tenure};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// The two markups a draft can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// MediaWiki wikitext, for the team's wiki.
    Wikitext,
    /// Markdown, for everything else (task trackers, git, chat).
    Markdown,
}

impl Format {
    /// Reads a format name as users type it (case-insensitive).
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wikitext" | "wiki" | "mediawiki" => Some(Format::Wikitext),
            "markdown" | "md" => Some(Format::Markdown),
            _ => None,
        }
    }

    /// File extension for a saved draft.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Wikitext => "wiki",
            Format::Markdown => "md",
        }
    }
}

/// The file name of a draft, without extension: `incident-N` for a public incident, and
/// `incident-<channel>-N` for a security channel's, whose numbers are their own (security #1 and
/// public #1 are different incidents). The channel part keeps only characters safe in a path.
pub fn file_stem(inc: &Incident) -> String {
    if !inc.private {
        return format!("incident-{}", inc.number);
    }
    let channel: String = inc
        .channel
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '_' })
        .collect();
    format!("incident-{channel}-{}", inc.number)
}

/// Renders the post-mortem draft. Pure: same input, same output. `now` is used only for the
/// durations of an incident still open.
pub fn render(record: &Record, format: Format, now: DateTime<Utc>) -> String {
    let mut doc = Doc { format, out: String::new() };
    let events = sorted_events(&record.timeline);
    let clock = Clock::for_record(record, &events);
    title(&mut doc, &record.incident);
    status(&mut doc, record, &events, now);
    detection(&mut doc, record);
    impact(&mut doc, &record.incident);
    responders(&mut doc, &record.tenures, record.incident.closed(), clock);
    timeline(&mut doc, &events, clock);
    for_the_team(&mut doc);
    doc.out
}

/// When the incident was detected: the first linked alert's start; with no alert linked, a
/// backdated impact start (`!incident at 08:02 first user reports`), else the open time; how
/// long until the incident was opened and until impact ended, from there; and the linked alerts.
fn detection(doc: &mut Doc, record: &Record) {
    let inc = &record.incident;
    let first = record.alerts.iter().min_by_key(|a| (a.starts_at, a.id));
    let reported = crate::incident::impact_start(inc, &record.timeline);
    let (detected, how) = match (first, reported) {
        (Some(a), _) if a.starts_at < inc.opened_at => (a.starts_at, format!("by alert #{}", a.id)),
        (Some(_), _) => (inc.opened_at, "when opened".to_string()),
        (None, Some(e)) => {
            let said = doc.user(&crate::text::truncate_bytes(e.text.trim(), 60));
            (e.at, format!("({said}; no alert linked)"))
        }
        (None, None) => (inc.opened_at, "when opened (no alert linked)".to_string()),
    };
    doc.heading(2, "Detection");
    doc.item(1, &format!("Detected: {} {how}", full_time(detected)));
    doc.item(
        1,
        &format!("Time to detect (detection to incident opened): {}", human_duration(inc.opened_at - detected)),
    );
    let to_resolve = inc.resolved_at.map_or("not resolved yet".to_string(), |t| human_duration(t - detected));
    doc.item(1, &format!("Time to resolve (from detection): {to_resolve}"));
    if record.alerts.is_empty() {
        doc.item(1, "Linked alerts: none");
    } else {
        doc.item(1, "Linked alerts:");
    }
    for a in &record.alerts {
        let text = doc.user(&a.text);
        let end = a.ends_at.map_or(String::new(), |t| format!(", resolved {}", full_time(t)));
        doc.item(2, &format!("#{} {text}: fired {}{end}", a.id, full_time(a.starts_at)));
    }
    doc.blank();
}

/// "1 h 05 min", "3 min", "2 d 4 h", "45 s" — compact human durations (also used by IRC replies).
///
/// Only the two largest units are shown, truncated rather than rounded (an incident open for
/// 59 min 59 s has not been open for an hour). Minutes after hours are zero-padded so columns of
/// durations line up. Negative durations (clock skew, odd backdating) keep their sign.
pub fn human_duration(d: Duration) -> String {
    let secs = d.num_seconds();
    let sign = if secs < 0 { "-" } else { "" };
    format!("{sign}{}", compact(secs.unsigned_abs()))
}

fn compact(secs: u64) -> String {
    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    match secs {
        s if s < MIN => format!("{s} s"),
        s if s < HOUR => format!("{} min", s / MIN),
        s if s < DAY => match (s / HOUR, s % HOUR / MIN) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m:02} min"),
        },
        s => match (s / DAY, s % DAY / HOUR) {
            (d, 0) => format!("{d} d"),
            (d, h) => format!("{d} d {h} h"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

fn title(doc: &mut Doc, inc: &Incident) {
    let summary = doc.user(&inc.summary);
    let heading = if summary.is_empty() {
        format!("Incident #{}", inc.number)
    } else {
        format!("Incident #{}: {summary}", inc.number)
    };
    doc.heading(1, &heading);
    let note = doc.italic("Draft generated by srebot from the incident timeline. Check it and fill in the blanks.");
    doc.para(&note);
}

fn status(doc: &mut Doc, record: &Record, events: &[&Event], now: DateTime<Utc>) {
    let inc = &record.incident;
    let closed = closed_at(inc);
    doc.heading(2, "Status");
    doc.item(1, &format!("State: {}", inc.state));
    let channel = doc.user(&inc.channel);
    doc.item(1, &format!("Channel: {channel}"));
    let opener = opener(doc, inc, events);
    doc.item(1, &format!("Opened: {} by {opener}", full_time(inc.opened_at)));
    doc.item(1, &format!("Resolved: {}", inc.resolved_at.map_or("not yet".to_string(), full_time)));
    doc.item(1, &format!("Closed: {}", closed.map_or("not yet".to_string(), full_time)));
    if let Some(s) = inc.close_summary.as_deref().filter(|s| !s.trim().is_empty()) {
        let s = doc.user(s);
        doc.item(1, &format!("Summary at close: {s}"));
    }
    // Durations count from when impact began, when the team recorded that after the fact.
    let (start, from) = match super::impact_start(inc, &record.timeline) {
        Some(e) => {
            let what = doc.user(e.text.trim());
            doc.item(1, &format!("Impact started: {} (backdated: {what})", full_time(e.at)));
            (e.at, " (from the impact start)")
        }
        None => (inc.opened_at, ""),
    };
    let to_resolve = match inc.resolved_at {
        Some(t) => format!("{}{from}", human_duration(t - start)),
        None => "not resolved yet".to_string(),
    };
    doc.item(1, &format!("Time to resolve: {to_resolve}"));
    let total = match closed {
        Some(t) => format!("{}{from}", human_duration(t - start)),
        None => format!("{} (still open){from}", human_duration(now - start)),
    };
    doc.item(1, &format!("Total open time: {total}"));
    doc.blank();

    doc.heading(3, "Time in each state");
    let end = closed.unwrap_or(now);
    let (times, current) = state_times(inc.opened_at, events, end);
    let rows: Vec<Vec<String>> = times
        .iter()
        .map(|(state, d)| {
            let mark = if closed.is_none() && *state == current { " (current)" } else { "" };
            vec![state.to_string(), format!("{}{mark}", human_duration(*d))]
        })
        .collect();
    doc.table(&["State", "Time"], &rows);
}

fn impact(doc: &mut Doc, inc: &Incident) {
    doc.heading(2, "Impact");
    doc.item(1, &format!("User-facing: {}", yes_no(inc.user_facing)));
    doc.item(1, &format!("Data loss: {}", yes_no(inc.data_loss)));
    let security = if inc.private { "yes (keep this report private)" } else { "no" };
    doc.item(1, &format!("Security incident (private): {security}"));
    let reasons = inc.report_reasons();
    let required = if reasons.is_empty() {
        "no (not required by the incident process; file one anyway if documenting it is useful)".to_string()
    } else {
        format!("yes ({})", reasons.join(", "))
    };
    doc.item(1, &format!("Report required: {required}"));
    let report = match inc.report_url.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => doc.url(url),
        None => "not filed yet".to_string(),
    };
    doc.item(1, &format!("Report: {report}"));
    doc.blank();
}

/// Who held each role; a tenure still running when the incident was closed ends at the close.
fn responders(doc: &mut Doc, tenures: &[Tenure], closed: Option<DateTime<Utc>>, clock: Clock) {
    doc.heading(2, "Responders");
    let mut handoffs = Vec::new();
    for role in [Role::Comms, Role::Diagnosis] {
        let mut held: Vec<&Tenure> = tenures.iter().filter(|t| t.role == role).collect();
        held.sort_by_key(|t| t.from);
        doc.item(1, &format!("{}:", capitalised(role.title())));
        if held.is_empty() {
            doc.item(2, "nobody took this role");
        }
        for (i, t) in held.iter().enumerate() {
            let to = t.to.or(closed).map_or("(current)".to_string(), |to| clock.fmt(to));
            let mut line = format!("{}: {} – {to}", who(doc, &t.nick, &t.account), clock.fmt(t.from));
            if let Some(by) = &t.handed_by {
                line.push_str(&format!(" (handed over by {})", handed_by_name(doc, by, &held[..i])));
            }
            doc.item(2, &line);
            if let Some(prev) = i.checked_sub(1).and_then(|p| held.get(p)) {
                let (from, to) = (actor(doc, &prev.nick), actor(doc, &t.nick));
                handoffs.push(format!("{}: {from} → {to} at {}", role.as_str(), clock.fmt(t.from)));
            }
        }
    }
    let handoffs = if handoffs.is_empty() { "none".to_string() } else { handoffs.join("; ") };
    doc.item(1, &format!("Hand-offs: {handoffs}"));
    doc.blank();
}

fn timeline(doc: &mut Doc, events: &[&Event], clock: Clock) {
    doc.heading(2, "Timeline");
    let note = doc.italic("All times UTC.");
    doc.para(&note);
    if events.is_empty() {
        doc.item(1, "no events recorded");
    }
    let mut state = State::Investigating;
    for ev in events {
        let mut line = format!("{} {} — {}", clock.fmt(ev.at), actor(doc, &ev.actor), event_body(doc, ev));
        state = state_after(ev).unwrap_or(state);
        // `!log` keeps attaching while resolved (the aftermath is watched before closing); the
        // post-mortem must tell that work from the work that restored service.
        if matches!(ev.kind, EventKind::Log { .. }) && state == State::Resolved {
            line.push(' ');
            line.push_str(&doc.italic("(after resolution)"));
        }
        if shows_as_backdated(ev) {
            let mark = format!("(backdated; recorded {})", clock.fmt(ev.recorded_at));
            line.push(' ');
            line.push_str(&doc.bold(&mark));
        }
        doc.item(1, &line);
    }
    doc.blank();
}

/// The parts only people can write, each with a prompt saying what goes there.
fn for_the_team(doc: &mut Doc) {
    const SECTIONS: [(&str, &str); 5] = [
        ("How it began", "What triggered the incident, and how was it noticed (monitoring, user reports)?"),
        ("Social factors", "Communication, hand-offs, who was around, and what made responding easier or harder."),
        ("Technical factors", "The root cause and what contributed to it in the systems involved."),
        ("What went well", "What helped: tools, alerts, runbooks, people."),
        ("What went poorly", "What slowed detection, diagnosis or recovery."),
    ];
    for (heading, prompt) in SECTIONS {
        doc.heading(2, heading);
        let prompt = doc.italic(prompt);
        doc.para(&prompt);
    }
    doc.heading(2, "How to prevent it (action items)");
    let prompt = doc.italic("One row per action, with an owner and a task.");
    doc.para(&prompt);
    doc.table(&["Action", "Owner", "Task"], &[vec![String::new(), String::new(), String::new()]]);
}

// ---------------------------------------------------------------------------------------------
// Facts computed from the record
// ---------------------------------------------------------------------------------------------

/// The timeline in the order the report shows it. The store already sorts it, but a report that
/// silently misorders events would mislead the post-mortem, so this does not rely on it.
fn sorted_events(timeline: &[Event]) -> Vec<&Event> {
    let mut events: Vec<&Event> = timeline.iter().collect();
    events.sort_by_key(|e| (e.at, e.id));
    events
}

/// When the incident was closed, if it still is: a reopened incident may keep a stale
/// `closed_at`, and a closed one missing it falls back to its last update (closing is one).
fn closed_at(inc: &Incident) -> Option<DateTime<Utc>> {
    inc.closed()
}

/// The state an event leaves the incident in, for the events that change it: a status change,
/// closing, and reopening (which the store writes as kinds of their own, not as `State`).
fn state_after(ev: &Event) -> Option<State> {
    match ev.kind {
        EventKind::State { to, .. } => Some(to),
        EventKind::Closed => Some(State::Closed),
        EventKind::Reopened => Some(State::Investigating),
        _ => None,
    }
}

/// Time spent in each state (in process order), and the state the timeline ends in.
///
/// The incident starts `investigating` at `opened_at`; each event that changes the state ends the
/// current span and starts the next; the last span ends at `end` (closing, or now). Time while
/// closed is not counted (also between a close and a reopen), so `closed` never appears. Spans
/// are clamped at zero so that an event backdated before the opening cannot make a state's total
/// negative.
fn state_times(opened_at: DateTime<Utc>, events: &[&Event], end: DateTime<Utc>) -> (Vec<(State, Duration)>, State) {
    let mut totals: BTreeMap<State, Duration> = BTreeMap::new();
    let mut add = |state: State, from: DateTime<Utc>, to: DateTime<Utc>| {
        if state != State::Closed {
            *totals.entry(state).or_insert_with(Duration::zero) += (to - from).max(Duration::zero());
        }
    };
    let (mut current, mut since) = (State::Investigating, opened_at);
    for ev in events {
        if let Some(to) = state_after(ev) {
            add(current, since, ev.at);
            (current, since) = (to, ev.at);
        }
    }
    add(current, since, end);
    (totals.into_iter().collect(), current)
}

/// Whether to flag an event's time as corrected. Besides `!incident at` entries, any event whose
/// time differs from when it was recorded by a minute or more is flagged; smaller gaps are clock
/// skew between server-time and the bot and do not show at minute resolution anyway.
fn shows_as_backdated(ev: &Event) -> bool {
    ev.is_backdated() || (ev.recorded_at - ev.at).abs() >= Duration::minutes(1)
}

/// Who opened the incident: the nick of the `Opened` event, with the account stored on the
/// incident.
fn opener(doc: &Doc, inc: &Incident, events: &[&Event]) -> String {
    match events.iter().find(|e| e.kind == EventKind::Opened).filter(|e| !e.actor.trim().is_empty()) {
        Some(ev) => who(doc, &ev.actor, &inc.opened_by),
        None => doc.user(&inc.opened_by),
    }
}

/// Who handed a role over: `handed_by` is an account, shown as the nick its holder had when it
/// held the role (the latest earlier tenure with that account), else as the account.
fn handed_by_name(doc: &Doc, account: &str, earlier: &[&Tenure]) -> String {
    match earlier.iter().rev().find(|t| t.account.eq_ignore_ascii_case(account)) {
        Some(t) => doc.user(&t.nick),
        None => doc.user(account),
    }
}

/// "nick (account)", or just the nick when they are the same.
fn who(doc: &Doc, nick: &str, account: &str) -> String {
    if nick.eq_ignore_ascii_case(account) || account.trim().is_empty() {
        actor(doc, nick)
    } else {
        format!("{} ({})", actor(doc, nick), doc.user(account))
    }
}

fn actor(doc: &Doc, nick: &str) -> String {
    if nick.trim().is_empty() {
        "unknown".to_string()
    } else {
        doc.user(nick)
    }
}

/// What an event says, with a marker for its kind.
fn event_body(doc: &Doc, ev: &Event) -> String {
    let text = doc.user(&ev.text);
    let labelled = |label: &str| if text.is_empty() { label.to_string() } else { format!("{label}: {text}") };
    let with_note = |s: String| if text.is_empty() { s } else { format!("{s} ({text})") };
    match &ev.kind {
        EventKind::Opened => labelled("opened"),
        EventKind::State { from, to } => with_note(format!("status: {from} → {to}")),
        EventKind::Note => labelled("note"),
        EventKind::Log { sal_id } => format!("[SAL #{sal_id}] {text}").trim_end().to_string(),
        EventKind::Role { role, from: None, to } => {
            with_note(format!("role: {} taken by {}", role.title(), doc.user(to)))
        }
        EventKind::Role { role, from: Some(from), to } => {
            with_note(format!("role: {} {} → {}", role.title(), doc.user(from), doc.user(to)))
        }
        EventKind::Impact => labelled("impact"),
        // The "(backdated; …)" mark added by the caller says what kind of entry this is.
        EventKind::Backdated => {
            if text.is_empty() {
                "event".to_string()
            } else {
                text.clone()
            }
        }
        EventKind::Snooze => labelled("reminders snoozed"),
        EventKind::Closed => labelled("closed"),
        EventKind::Reopened => labelled("reopened"),
        EventKind::ReportFiled => labelled("report filed"),
        EventKind::Update => labelled("public update"),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn full_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How times inside the responders and timeline sections are written: `HH:MM` when everything
/// shown there happened on the day the incident opened, else `YYYY-MM-DD HH:MM` throughout, so
/// that a reader never has to guess which day an `HH:MM` belongs to.
#[derive(Debug, Clone, Copy)]
struct Clock {
    with_date: bool,
}

impl Clock {
    fn for_record(record: &Record, events: &[&Event]) -> Clock {
        let day = record.incident.opened_at.date_naive();
        let event_times = events.iter().flat_map(|e| {
            let recorded = shows_as_backdated(e).then_some(e.recorded_at);
            std::iter::once(e.at).chain(recorded)
        });
        let tenure_times = record.tenures.iter().flat_map(|t| std::iter::once(t.from).chain(t.to));
        let with_date = event_times.chain(tenure_times).any(|t| t.date_naive() != day);
        Clock { with_date }
    }

    fn fmt(self, t: DateTime<Utc>) -> String {
        let pattern = if self.with_date { "%Y-%m-%d %H:%M" } else { "%H:%M" };
        t.format(pattern).to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Markup
// ---------------------------------------------------------------------------------------------

/// The document being written. Block methods take "inline" strings that are already safe:
/// literal text written here, or user text passed through [`Doc::user`].
struct Doc {
    format: Format,
    out: String,
}

impl Doc {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    fn heading(&mut self, level: usize, inline: &str) {
        let line = match self.format {
            Format::Wikitext => {
                let marks = "=".repeat(level);
                format!("{marks} {inline} {marks}")
            }
            Format::Markdown => format!("{} {inline}", "#".repeat(level)),
        };
        self.line(&line);
        self.blank();
    }

    fn para(&mut self, inline: &str) {
        self.line(inline);
        self.blank();
    }

    /// A list item; `depth` 1 is top level. Lists must be followed by [`Doc::blank`]: in
    /// Markdown a paragraph right after an item would continue it.
    fn item(&mut self, depth: usize, inline: &str) {
        let marker = match self.format {
            Format::Wikitext => format!("{} ", "*".repeat(depth)),
            Format::Markdown => format!("{}- ", "  ".repeat(depth.saturating_sub(1))),
        };
        self.line(&format!("{marker}{inline}"));
    }

    /// A table of safe inline cells, followed by a blank line.
    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        match self.format {
            Format::Wikitext => {
                self.line("{| class=\"wikitable\"");
                self.line(&format!("! {}", header.join(" !! ")));
                for row in rows {
                    self.line("|-");
                    self.line(format!("| {}", row.join(" || ")).trim_end());
                }
                self.line("|}");
            }
            Format::Markdown => {
                self.line(&format!("| {} |", header.join(" | ")));
                self.line(&format!("|{}", " --- |".repeat(header.len())));
                for row in rows {
                    self.line(&format!("| {} |", row.join(" | ")));
                }
            }
        }
        self.blank();
    }

    /// Italic literal text (never user text).
    fn italic(&self, s: &str) -> String {
        match self.format {
            Format::Wikitext => format!("''{s}''"),
            Format::Markdown => format!("_{s}_"),
        }
    }

    /// Bold literal text (never user text).
    fn bold(&self, s: &str) -> String {
        match self.format {
            Format::Wikitext => format!("'''{s}'''"),
            Format::Markdown => format!("**{s}**"),
        }
    }

    /// User-supplied text made inert: shown exactly as typed, on one line.
    fn user(&self, s: &str) -> String {
        let flat = one_line(s);
        match self.format {
            Format::Wikitext => wiki_text(&flat),
            Format::Markdown => markdown_text(&flat),
        }
    }

    /// The report URL: a link when it is a plain http(s) URL that cannot carry markup,
    /// otherwise inert text like any other user input.
    fn url(&self, s: &str) -> String {
        let url = s.trim();
        if !is_plain_url(url) {
            return self.user(url);
        }
        match self.format {
            // A bare URL is a link in wikitext; `[url]` would number it instead.
            Format::Wikitext => url.to_string(),
            Format::Markdown => format!("<{url}>"),
        }
    }
}

/// Newlines (and any other control character, or Unicode line and paragraph separators) become
/// spaces: user text must never start a new line, where it could open a heading, list or table.
fn one_line(s: &str) -> String {
    let flat: String =
        s.chars().map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c }).collect();
    flat.trim().to_string()
}

/// Wikitext: text that is obviously plain (a word of letters, digits and inner hyphens, like
/// most nicks) is written as is, to keep the source readable; anything else goes inside
/// `<nowiki>`, which disables templates, links, formatting, signatures and magic words. Inside
/// it `<`, `>` and `&` become entities (which nowiki still decodes, so readers see the original
/// characters): without a raw `<`, the text cannot close the nowiki or open any tag.
fn wiki_text(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let plain =
        s.chars().next().is_some_and(char::is_alphanumeric) && s.chars().all(|c| c.is_alphanumeric() || c == '-');
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 20);
    out.push_str("<nowiki>");
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out.push_str("</nowiki>");
    out
}

/// Markdown: a backslash before every character that could start emphasis, code, links, HTML,
/// entities, headings, table cells, strikethrough, math or MDX expressions. CommonMark renders
/// any backslash-escaped ASCII punctuation as the character itself.
fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An http(s) URL made only of characters that are inert in both markups: no brackets, braces,
/// pipes, quotes, angle brackets, `~` (signatures), `;` (entities), or `__` (magic words).
fn is_plain_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.contains("__")
            && r.chars().all(|c| c.is_ascii_alphanumeric() || "-._/:?=&%+,@#".contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, day, h, m, 0).single().expect("valid fixture time")
    }

    fn ev(id: i64, when: DateTime<Utc>, kind: EventKind, actor: &str, text: &str) -> Event {
        Event { id, at: when, recorded_at: when, kind, actor: actor.into(), text: text.into() }
    }

    fn tenure(role: Role, nick: &str, from: DateTime<Utc>, to: Option<DateTime<Utc>>, by: Option<&str>) -> Tenure {
        Tenure { role, account: nick.into(), nick: nick.into(), from, to, handed_by: by.map(Into::into) }
    }

    /// An incident numbered `number`; its internal id differs, and must never show.
    fn incident(number: i64, summary: &str, opened_at: DateTime<Utc>) -> Incident {
        Incident::sample(number, summary, opened_at)
    }

    /// Open → claims → hand-off → logs → backdated impact start → resolved → closed.
    fn whole_incident() -> Record {
        let mut inc = incident(12, "Wikis down for logged-in users", at(5, 10, 0));
        inc.state = State::Closed;
        inc.resolved_at = Some(at(5, 11, 5));
        inc.closed_at = Some(at(5, 12, 0));
        inc.close_summary = Some("php-fpm workers exhausted".into());
        inc.user_facing = true;
        inc.report_url = Some("https://meta.miraheze.org/wiki/Tech:Incidents/2024-03-05".into());
        inc.last_update_at = at(5, 12, 0);
        let mut backdated = ev(7, at(5, 9, 50), EventKind::Backdated, "carol", "first user reports of 503s");
        backdated.recorded_at = at(5, 10, 55);
        let status = |from, to| EventKind::State { from, to };
        let role =
            |role, from: Option<&str>, to: &str| EventKind::Role { role, from: from.map(Into::into), to: to.into() };
        Record {
            alerts: Vec::new(),
            incident: inc,
            tenures: vec![
                tenure(Role::Comms, "alice", at(5, 10, 0), Some(at(5, 10, 42)), None),
                tenure(Role::Comms, "bob", at(5, 10, 42), None, Some("alice")),
                tenure(Role::Diagnosis, "alice", at(5, 10, 1), None, None),
            ],
            timeline: vec![
                ev(1, at(5, 10, 0), EventKind::Opened, "alice", "Wikis down for logged-in users"),
                ev(2, at(5, 10, 1), role(Role::Diagnosis, None, "alice"), "alice", ""),
                ev(3, at(5, 10, 5), EventKind::Log { sal_id: 4041 }, "bob", "depooled mw151"),
                ev(4, at(5, 10, 20), status(State::Investigating, State::Identified), "alice", "php-fpm OOM on mw15x"),
                ev(5, at(5, 10, 42), role(Role::Comms, Some("alice"), "bob"), "alice", ""),
                ev(6, at(5, 10, 50), status(State::Identified, State::Monitoring), "alice", ""),
                backdated,
                ev(8, at(5, 10, 55), EventKind::Impact, "alice", "user-facing: yes"),
                ev(9, at(5, 11, 5), status(State::Monitoring, State::Resolved), "alice", "error rate back to normal"),
                ev(10, at(5, 11, 7), EventKind::Log { sal_id: 4042 }, "alice", "repooled mw151"),
                ev(11, at(5, 12, 0), EventKind::Closed, "alice", "php-fpm workers exhausted"),
                ev(12, at(5, 12, 10), EventKind::ReportFiled, "alice", ""),
            ],
        }
    }

    const SECTION_HEADINGS: [&str; 6] = [
        "How it began",
        "Social factors",
        "Technical factors",
        "What went well",
        "What went poorly",
        "How to prevent it (action items)",
    ];

    fn has_line(out: &str, line: &str) -> bool {
        out.lines().any(|l| l == line)
    }

    #[track_caller]
    fn assert_lines(out: &str, lines: &[&str]) {
        for line in lines {
            assert!(has_line(out, line), "missing line {line:?} in:\n{out}");
        }
    }

    #[test]
    fn parses_formats() {
        assert_eq!(Format::parse("wiki"), Some(Format::Wikitext));
        assert_eq!(Format::parse("MediaWiki"), Some(Format::Wikitext));
        assert_eq!(Format::parse("wikitext"), Some(Format::Wikitext));
        assert_eq!(Format::parse("md"), Some(Format::Markdown));
        assert_eq!(Format::parse(" Markdown "), Some(Format::Markdown));
        assert_eq!(Format::parse("html"), None);
        assert_eq!(Format::Wikitext.extension(), "wiki");
        assert_eq!(Format::Markdown.extension(), "md");
    }

    #[test]
    fn draft_file_names_follow_the_numbering() {
        let mut inc = incident(3, "x", at(5, 10, 0));
        assert_eq!(file_stem(&inc), "incident-3");
        inc.private = true;
        inc.channel = "#WikiTide-SRE-Security".into();
        assert_eq!(file_stem(&inc), "incident-wikitide-sre-security-3");
        inc.channel = "#../../etc/passwd".into();
        assert_eq!(file_stem(&inc), "incident-etc_passwd-3", "no path can come out of a channel name");
    }

    #[test]
    fn human_durations() {
        let s = Duration::seconds;
        assert_eq!(human_duration(s(0)), "0 s");
        assert_eq!(human_duration(s(45)), "45 s");
        assert_eq!(human_duration(s(59)), "59 s");
        assert_eq!(human_duration(s(60)), "1 min");
        assert_eq!(human_duration(s(3 * 60 + 59)), "3 min");
        assert_eq!(human_duration(s(3599)), "59 min");
        assert_eq!(human_duration(s(3600)), "1 h");
        assert_eq!(human_duration(s(3600 + 5 * 60 + 30)), "1 h 05 min");
        assert_eq!(human_duration(s(23 * 3600 + 59 * 60 + 59)), "23 h 59 min");
        assert_eq!(human_duration(s(86_400)), "1 d");
        assert_eq!(human_duration(s(2 * 86_400 + 4 * 3600 + 59 * 60)), "2 d 4 h");
        assert_eq!(human_duration(s(400 * 86_400)), "400 d");
        assert_eq!(human_duration(s(-90)), "-1 min");
        assert_eq!(human_duration(Duration::milliseconds(999)), "0 s");
    }

    #[test]
    fn whole_incident_as_wikitext() {
        let out = render(&whole_incident(), Format::Wikitext, at(6, 9, 0));
        let expected = r#"= Incident #12: <nowiki>Wikis down for logged-in users</nowiki> =

''Draft generated by srebot from the incident timeline. Check it and fill in the blanks.''

== Status ==

* State: closed
* Channel: <nowiki>#miraheze-sre</nowiki>
* Opened: 2024-03-05 10:00 UTC by alice
* Resolved: 2024-03-05 11:05 UTC
* Closed: 2024-03-05 12:00 UTC
* Summary at close: <nowiki>php-fpm workers exhausted</nowiki>
* Impact started: 2024-03-05 09:50 UTC (backdated: <nowiki>first user reports of 503s</nowiki>)
* Time to resolve: 1 h 15 min (from the impact start)
* Total open time: 2 h 10 min (from the impact start)

=== Time in each state ===

{| class="wikitable"
! State !! Time
|-
| investigating || 20 min
|-
| identified || 30 min
|-
| monitoring || 15 min
|-
| resolved || 55 min
|}

== Detection ==

* Detected: 2024-03-05 09:50 UTC (<nowiki>first user reports of 503s</nowiki>; no alert linked)
* Time to detect (detection to incident opened): 10 min
* Time to resolve (from detection): 1 h 15 min
* Linked alerts: none

== Impact ==

* User-facing: yes
* Data loss: no
* Security incident (private): no
* Report required: yes (user-facing outage)
* Report: https://meta.miraheze.org/wiki/Tech:Incidents/2024-03-05

== Responders ==

* Communicator:
** alice: 10:00 – 10:42
** bob: 10:42 – 12:00 (handed over by alice)
* Primary diagnosis:
** alice: 10:01 – 12:00
* Hand-offs: comms: alice → bob at 10:42

== Timeline ==

''All times UTC.''

* 09:50 carol — <nowiki>first user reports of 503s</nowiki> '''(backdated; recorded 10:55)'''
* 10:00 alice — opened: <nowiki>Wikis down for logged-in users</nowiki>
* 10:01 alice — role: primary diagnosis taken by alice
* 10:05 bob — [SAL #4041] <nowiki>depooled mw151</nowiki>
* 10:20 alice — status: investigating → identified (<nowiki>php-fpm OOM on mw15x</nowiki>)
* 10:42 alice — role: communicator alice → bob
* 10:50 alice — status: identified → monitoring
* 10:55 alice — impact: <nowiki>user-facing: yes</nowiki>
* 11:05 alice — status: monitoring → resolved (<nowiki>error rate back to normal</nowiki>)
* 11:07 alice — [SAL #4042] <nowiki>repooled mw151</nowiki> ''(after resolution)''
* 12:00 alice — closed: <nowiki>php-fpm workers exhausted</nowiki>
* 12:10 alice — report filed

== How it began ==

''What triggered the incident, and how was it noticed (monitoring, user reports)?''

== Social factors ==

''Communication, hand-offs, who was around, and what made responding easier or harder.''

== Technical factors ==

''The root cause and what contributed to it in the systems involved.''

== What went well ==

''What helped: tools, alerts, runbooks, people.''

== What went poorly ==

''What slowed detection, diagnosis or recovery.''

== How to prevent it (action items) ==

''One row per action, with an owner and a task.''

{| class="wikitable"
! Action !! Owner !! Task
|-
|  ||  ||
|}

"#;
        assert_eq!(out, expected, "got:\n{out}");
    }

    #[test]
    fn whole_incident_as_markdown() {
        let out = render(&whole_incident(), Format::Markdown, at(6, 9, 0));
        assert!(
            out.starts_with("# Incident #12: Wikis down for logged-in users\n\n_Draft generated by srebot"),
            "{out}"
        );
        assert_lines(
            &out,
            &[
                "## Status",
                "- State: closed",
                "- Channel: \\#miraheze-sre",
                "- Opened: 2024-03-05 10:00 UTC by alice",
                "- Resolved: 2024-03-05 11:05 UTC",
                "- Closed: 2024-03-05 12:00 UTC",
                "- Impact started: 2024-03-05 09:50 UTC (backdated: first user reports of 503s)",
                "- Time to resolve: 1 h 15 min (from the impact start)",
                "- Total open time: 2 h 10 min (from the impact start)",
                "### Time in each state",
                "| State | Time |",
                "| --- | --- |",
                "| investigating | 20 min |",
                "| identified | 30 min |",
                "| monitoring | 15 min |",
                "| resolved | 55 min |",
                "- User-facing: yes",
                "- Report required: yes (user-facing outage)",
                "- Report: <https://meta.miraheze.org/wiki/Tech:Incidents/2024-03-05>",
                "- Communicator:",
                "  - alice: 10:00 – 10:42",
                "  - bob: 10:42 – 12:00 (handed over by alice)",
                "- Primary diagnosis:",
                "  - alice: 10:01 – 12:00",
                "- Hand-offs: comms: alice → bob at 10:42",
                "_All times UTC._",
                "- 09:50 carol — first user reports of 503s **(backdated; recorded 10:55)**",
                "- 10:20 alice — status: investigating → identified (php-fpm OOM on mw15x)",
                "- 10:05 bob — [SAL #4041] depooled mw151",
                "- 11:07 alice — [SAL #4042] repooled mw151 _(after resolution)_",
                "| Action | Owner | Task |",
                "|  |  |  |",
            ],
        );
        assert!(!out.contains("| closed |"), "closed is not a span in the per-state table:\n{out}");
        for heading in SECTION_HEADINGS {
            assert!(has_line(&out, &format!("## {heading}")), "missing {heading}:\n{out}");
        }
        // Sections come in the order the team's report asks for.
        let order = ["# Incident", "## Status", "## Impact", "## Responders", "## Timeline", "## How it began"];
        let positions: Vec<usize> = order.iter().filter_map(|h| out.find(&format!("\n{h}")).or(out.find(h))).collect();
        assert_eq!(positions.len(), order.len());
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    #[test]
    fn render_is_pure() {
        let record = whole_incident();
        for format in [Format::Wikitext, Format::Markdown] {
            assert_eq!(render(&record, format, at(6, 9, 0)), render(&record, format, at(9, 1, 2)));
        }
    }

    #[test]
    fn timeline_is_sorted_by_time_then_id() {
        let mut record = whole_incident();
        record.timeline.reverse();
        assert_eq!(
            render(&record, Format::Markdown, at(6, 9, 0)),
            render(&whole_incident(), Format::Markdown, at(6, 9, 0))
        );
    }

    /// Opened late on one day, still open the next: durations run to `now`, times carry dates.
    fn open_incident() -> Record {
        let mut inc = incident(13, "Elasticsearch slow", at(5, 22, 30));
        inc.state = State::Identified;
        inc.last_update_at = at(5, 23, 10);
        Record {
            alerts: Vec::new(),
            incident: inc,
            tenures: vec![tenure(Role::Diagnosis, "dave", at(5, 22, 31), None, None)],
            timeline: vec![
                ev(1, at(5, 22, 30), EventKind::Opened, "alice", ""),
                ev(
                    2,
                    at(5, 23, 10),
                    EventKind::State { from: State::Investigating, to: State::Identified },
                    "dave",
                    "",
                ),
                ev(3, at(6, 0, 20), EventKind::Note, "dave", "reindexing"),
            ],
        }
    }

    #[test]
    fn open_incident_runs_to_now() {
        let out = render(&open_incident(), Format::Markdown, at(6, 1, 15));
        assert_lines(
            &out,
            &[
                "- State: identified",
                "- Resolved: not yet",
                "- Closed: not yet",
                "- Time to resolve: not resolved yet",
                "- Total open time: 2 h 45 min (still open)",
                "| investigating | 40 min |",
                "| identified | 2 h 05 min (current) |",
                "- Communicator:",
                "  - nobody took this role",
                "  - dave: 2024-03-05 22:31 – (current)",
                "- Hand-offs: none",
                "- 2024-03-05 22:30 alice — opened",
                "- 2024-03-06 00:20 dave — note: reindexing",
                "- Report required: no (not required by the incident process; file one anyway if documenting it is useful)",
                "- Report: not filed yet",
            ],
        );
        let later = render(&open_incident(), Format::Markdown, at(7, 22, 30));
        assert!(has_line(&later, "- Total open time: 2 d (still open)"), "{later}");
    }

    #[test]
    fn reopened_incident_with_stale_closed_at_is_open() {
        let mut record = open_incident();
        record.incident.closed_at = Some(at(5, 23, 0));
        let out = render(&record, Format::Wikitext, at(6, 1, 15));
        assert_lines(&out, &["* Closed: not yet", "* Total open time: 2 h 45 min (still open)"]);
    }

    #[test]
    fn security_incident_requires_report() {
        let mut record = open_incident();
        record.incident.private = true;
        record.incident.data_loss = true;
        let out = render(&record, Format::Wikitext, at(6, 1, 15));
        assert_lines(
            &out,
            &[
                "* Security incident (private): yes (keep this report private)",
                "* Data loss: yes",
                "* Report required: yes (data loss, security incident)",
            ],
        );
    }

    const HOSTILE: &str =
        "{{Delete}} [[Main Page]] <script>alert(1)</script> </nowiki>|} &lt;b&gt; ~~~~ __NOTOC__ ''x'' *bold* [x](javascript:alert(1))\n== x ==\n|}\n# h";

    fn hostile_record() -> Record {
        let mut record = whole_incident();
        record.incident.summary = HOSTILE.into();
        record.incident.close_summary = Some(HOSTILE.into());
        record.incident.channel = "#{{x}}".into();
        record.incident.report_url = Some("javascript:alert(1)//[[x]]".into());
        record.tenures[1].nick = "[bob]|".into();
        record.tenures[1].account = "b<ob>".into();
        for e in &mut record.timeline {
            e.text = HOSTILE.into();
            e.actor = "{{evil}}".into();
        }
        record
    }

    /// The wikitext with every nowiki span's content removed: what MediaWiki would parse.
    fn outside_nowiki(out: &str) -> String {
        let mut rest = out;
        let mut outside = String::new();
        while let Some(start) = rest.find("<nowiki>") {
            outside.push_str(&rest[..start]);
            let inner = &rest[start + "<nowiki>".len()..];
            let end = inner.find("</nowiki>").expect("every nowiki is closed");
            assert!(!inner[..end].contains('<'), "raw < inside nowiki: {:?}", &inner[..end]);
            outside.push_str("<nowiki/>");
            rest = &inner[end + "</nowiki>".len()..];
        }
        outside.push_str(rest);
        outside
    }

    #[test]
    fn hostile_text_is_inert_in_wikitext() {
        let out = render(&hostile_record(), Format::Wikitext, at(6, 9, 0));
        assert_eq!(out.matches("<nowiki>").count(), out.matches("</nowiki>").count());
        let parsed = outside_nowiki(&out);
        for bad in
            ["{{", "[[", "<script", "javascript", "Delete", "Main Page", "~~~", "__NOTOC__", "''x''", "== x", "evil"]
        {
            assert!(!parsed.contains(bad), "{bad:?} outside nowiki:\n{out}");
        }
        // Only the two tables the renderer writes open and close tables.
        assert_eq!(parsed.lines().filter(|l| l.starts_with("{|")).count(), 2, "{out}");
        assert_eq!(parsed.lines().filter(|l| l.starts_with("|}")).count(), 2, "{out}");
        assert!(has_line(&out, &format!("= Incident #12: {} =", wiki_text(&one_line(HOSTILE)))), "{out}");
        assert!(out.contains("&lt;/nowiki&gt;|}"), "{out}");
        assert!(out.contains("&amp;lt;b&amp;gt;"), "an entity typed by a user shows as typed:\n{out}");
        assert!(out.contains("* Report: <nowiki>javascript:alert(1)//[[x]]</nowiki>"), "{out}");
        assert!(out.contains("<nowiki>[bob]|</nowiki> (<nowiki>b&lt;ob&gt;</nowiki>)"), "{out}");
        // Newlines in user text did not start lines of their own.
        assert!(!out.lines().any(|l| l.starts_with("== x") || l.starts_with("# h")), "{out}");
    }

    #[test]
    fn hostile_text_is_inert_in_markdown() {
        let out = render(&hostile_record(), Format::Markdown, at(6, 9, 0));
        let escaped = r"\{\{Delete\}\} \[\[Main Page\]\] \<script\>alert(1)\</script\> \</nowiki\>\|\} \&lt;b\&gt; \~\~\~\~ \_\_NOTOC\_\_ ''x'' \*bold\* \[x\](javascript:alert(1)) == x == \|\} \# h";
        assert_eq!(markdown_text(&one_line(HOSTILE)), escaped);
        assert!(has_line(&out, &format!("# Incident #12: {escaped}")), "{out}");
        // No `<` (HTML) or `](` (link) that a backslash does not neutralise.
        assert!(!out.replace("\\<", "").contains('<'), "{out}");
        assert!(!out.replace("\\]", "").contains("]("), "{out}");
        assert!(out.contains("- Report: javascript:alert(1)//\\[\\[x\\]\\]"), "{out}");
        assert!(out.contains("\\[bob\\]\\| (b\\<ob\\>)"), "{out}");
        // Every heading line is one the renderer wrote; no user text starts a line.
        let headings: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).skip(1).collect();
        let mut expected =
            vec!["## Status", "### Time in each state", "## Detection", "## Impact", "## Responders", "## Timeline"];
        let team: Vec<String> = SECTION_HEADINGS.iter().map(|h| format!("## {h}")).collect();
        expected.extend(team.iter().map(String::as_str));
        assert_eq!(headings, expected);
        assert!(!out.lines().any(|l| l.starts_with("== x") || l.starts_with("|}")), "{out}");
        // Every unescaped `|` in a line that looks like a table row belongs to the renderer's tables.
        for line in out.lines().filter(|l| l.starts_with('|')) {
            assert!(!line.contains("\\|"), "user text in a table row: {line}");
        }
    }

    #[test]
    fn empty_summary_leaves_a_clean_title() {
        let mut record = open_incident();
        record.incident.summary = " \n ".into();
        assert!(render(&record, Format::Wikitext, at(6, 1, 15)).starts_with("= Incident #13 =\n"));
        assert!(render(&record, Format::Markdown, at(6, 1, 15)).starts_with("# Incident #13\n"));
    }

    #[test]
    fn wiki_plain_words_stay_readable() {
        assert_eq!(wiki_text("alice"), "alice");
        assert_eq!(wiki_text("mw151-down"), "mw151-down");
        assert_eq!(wiki_text("Zoë"), "Zoë");
        assert_eq!(wiki_text("-alice"), "<nowiki>-alice</nowiki>");
        assert_eq!(wiki_text("two words"), "<nowiki>two words</nowiki>");
        assert_eq!(wiki_text("a_b"), "<nowiki>a_b</nowiki>");
        assert_eq!(wiki_text(""), "");
    }

    #[test]
    fn only_plain_http_urls_become_links() {
        assert!(is_plain_url("https://meta.miraheze.org/wiki/Tech:Incidents/2024-03-05_db"));
        assert!(is_plain_url("http://example.org/a?b=1&c=2#x"));
        assert!(!is_plain_url("https://"));
        assert!(!is_plain_url("javascript:alert(1)"));
        assert!(!is_plain_url("https://x/]] [[y"));
        assert!(!is_plain_url("https://x/{{y}}"));
        assert!(!is_plain_url("https://x/~~~~"));
        assert!(!is_plain_url("https://x/__NOTOC__"));
        assert!(!is_plain_url("https://x/&lt;b&gt;"));
        assert!(!is_plain_url("https://x/'''bold'''"));
    }

    #[test]
    fn state_events_backdated_before_opening_do_not_go_negative() {
        let opened = at(5, 10, 0);
        let early = ev(1, at(5, 9, 0), EventKind::State { from: State::Investigating, to: State::Identified }, "a", "");
        let (times, current) = state_times(opened, &[&early], at(5, 10, 30));
        assert_eq!(times, vec![(State::Investigating, Duration::zero()), (State::Identified, Duration::minutes(90))]);
        assert_eq!(current, State::Identified);
    }

    /// The events the store writes for status changes, closing and reopening.
    fn st(id: i64, when: DateTime<Utc>, from: State, to: State) -> Event {
        ev(id, when, EventKind::State { from, to }, "a", "")
    }

    fn closed(id: i64, when: DateTime<Utc>) -> Event {
        ev(id, when, EventKind::Closed, "a", "")
    }

    fn reopened(id: i64, when: DateTime<Utc>) -> Event {
        ev(id, when, EventKind::Reopened, "a", "")
    }

    #[test]
    fn reentered_states_add_up() {
        use State::*;
        let events = [
            st(1, at(5, 10, 10), Investigating, Identified),
            st(2, at(5, 10, 20), Identified, Investigating),
            st(3, at(5, 10, 25), Investigating, Resolved),
            closed(4, at(5, 10, 30)),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let (times, current) = state_times(at(5, 10, 0), &refs, at(5, 11, 0));
        let mins = Duration::minutes;
        assert_eq!(times, vec![(Investigating, mins(15)), (Identified, mins(10)), (Resolved, mins(5))]);
        assert_eq!(current, Closed, "closing ends the last span, whatever `end` says");
    }

    /// Resolved at 10:30, impact back at 10:45 (reopened), still open at 11:00.
    fn reopened_after_resolve() -> Record {
        let mut inc = incident(14, "Uploads failing", at(5, 10, 0));
        inc.resolved_at = None; // the store clears it on reopen
        inc.last_update_at = at(5, 10, 45);
        Record {
            alerts: Vec::new(),
            incident: inc,
            tenures: vec![tenure(Role::Comms, "alice", at(5, 10, 0), None, None)],
            timeline: vec![
                ev(1, at(5, 10, 0), EventKind::Opened, "alice", "Uploads failing"),
                st(2, at(5, 10, 10), State::Investigating, State::Identified),
                st(3, at(5, 10, 30), State::Identified, State::Resolved),
                ev(4, at(5, 10, 40), EventKind::Log { sal_id: 7 }, "alice", "watching swift"),
                reopened(5, at(5, 10, 45)),
                ev(6, at(5, 10, 50), EventKind::Log { sal_id: 8 }, "alice", "restarted swift-proxy"),
            ],
        }
    }

    #[test]
    fn reopening_after_resolve_counts_investigating_again() {
        let out = render(&reopened_after_resolve(), Format::Markdown, at(5, 11, 0));
        assert_lines(
            &out,
            &[
                "| investigating | 25 min (current) |",
                "| identified | 20 min |",
                "| resolved | 15 min |",
                "- 10:40 alice — [SAL #7] watching swift _(after resolution)_",
                "- 10:45 a — reopened",
                "- 10:50 alice — [SAL #8] restarted swift-proxy",
                "- Time to resolve: not resolved yet",
            ],
        );
        assert!(!out.contains("resolved | 30 min"), "{out}");
    }

    #[test]
    fn reopening_after_close_does_not_count_the_closed_gap() {
        use State::*;
        // Resolved 10:30, closed 10:40; reopened 12:40, resolved 13:00, closed 13:10.
        let mut record = reopened_after_resolve();
        record.timeline = vec![
            ev(1, at(5, 10, 0), EventKind::Opened, "alice", "Uploads failing"),
            st(2, at(5, 10, 30), Investigating, Resolved),
            closed(3, at(5, 10, 40)),
            reopened(4, at(5, 12, 40)),
            st(5, at(5, 13, 0), Investigating, Resolved),
            closed(6, at(5, 13, 10)),
        ];
        let refs: Vec<&Event> = record.timeline.iter().collect();
        let (times, current) = state_times(at(5, 10, 0), &refs, at(5, 13, 10));
        assert_eq!(times, vec![(Investigating, Duration::minutes(50)), (Resolved, Duration::minutes(20))]);
        assert_eq!(current, Closed);

        record.incident.state = Closed;
        record.incident.resolved_at = Some(at(5, 13, 0));
        record.incident.closed_at = Some(at(5, 13, 10));
        let out = render(&record, Format::Markdown, at(6, 9, 0));
        assert_lines(&out, &["| investigating | 50 min |", "| resolved | 20 min |", "- Total open time: 3 h 10 min"]);
        assert!(
            !out.lines().any(|l| l.starts_with("| ") && l.contains("(current)")),
            "closed: no current state\n{out}"
        );

        // Still open after the reopen: the current span is investigating, and the gap is not in it.
        record.incident.state = Investigating;
        record.timeline.truncate(4);
        let out = render(&record, Format::Markdown, at(5, 13, 0));
        assert_lines(&out, &["| investigating | 50 min (current) |", "| resolved | 10 min |"]);
    }

    #[test]
    fn linked_alerts_give_detection_times() {
        let mut r = whole_incident();
        let alone = render(&r, Format::Markdown, at(6, 9, 0));
        // No alert linked: detection is the backdated impact start (here, the first user reports).
        assert!(
            alone.contains("- Detected: 2024-03-05 09:50 UTC (first user reports of 503s; no alert linked)"),
            "{alone}"
        );
        assert!(alone.contains("- Linked alerts: none"), "{alone}");
        let opened = r.incident.opened_at;
        r.alerts = vec![crate::incident::model::LinkedAlert {
            id: 12,
            text: "MediaWikiDown mw151: [[returns]] 503".into(),
            starts_at: opened - Duration::minutes(7),
            ends_at: None,
        }];
        let out = render(&r, Format::Markdown, at(6, 9, 0));
        let section: Vec<&str> = out.lines().skip_while(|l| *l != "## Detection").take(6).collect();
        assert!(section[2].starts_with("- Detected: ") && section[2].ends_with(" by alert #12"), "{out}");
        assert_eq!(section[3], "- Time to detect (detection to incident opened): 7 min");
        let resolve = r.incident.resolved_at.map(|t| human_duration(t - opened + Duration::minutes(7)));
        assert!(section[4].ends_with(&resolve.unwrap_or("not resolved yet".into())), "{out}");
        assert!(section[6 - 1].starts_with("- Linked alerts:") || out.contains("- Linked alerts:"), "{out}");
        assert!(out.contains("#12 MediaWikiDown mw151: \\[\\[returns\\]\\] 503: fired "), "{out}");
    }
}
