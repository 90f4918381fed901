//! `!incident …` (alias `!inc`): open an incident, hand its two roles around, record its states
//! and timeline, and draft its report. Incidents live in the channel they were opened in; one
//! opened in a security channel is never named anywhere else.

use super::{Context, Reply};
use crate::access::Level;
use crate::config::ChannelRole;
use crate::incident::model::{Incident, Role, State};
use crate::incident::report::{self, human_duration, Format};
use crate::incident::{check_close, check_reopen, check_status, parse_when};
use crate::store::incident::{self as db, Actor};
use crate::store::Store;
use crate::text::{strip_formatting, truncate_bytes};
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

/// What the team's process needs to know about impact (incident-response.md's report rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impact {
    UserFacing,
    DataLoss,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    List,
    Open { summary: String },
    Claim { role: Role, id: Option<i64> },
    Handoff { role: Role, nick: String, id: Option<i64> },
    Status { state: State, note: String, id: Option<i64> },
    Close { summary: String, id: Option<i64> },
    Reopen { id: i64 },
    Note { text: String, id: Option<i64> },
    Impact { impact: Impact, id: Option<i64> },
    At { words: Vec<String>, id: Option<i64> },
    Show { id: Option<i64> },
    Report { id: Option<i64> },
    ReportFiled { id: i64, url: String },
    Snooze { minutes: Option<u32>, id: Option<i64> },
    Help,
}

pub const USAGE: &str =
    "!incident open <summary> | claim|handoff comms|diagnosis [nick] | status investigating|identified|\
monitoring|resolved [note] | note <text> | at <HH:MM> <event> | impact user-facing|data-loss|none | close [summary] | \
reopen N | list | show | report | report-filed N <url> | snooze <min>|off — add #N when several are open.";

/// Takes a trailing incident id off `words`: `#N` always, a bare `N` only where `bare` (commands
/// without free text, where a number cannot be part of a sentence).
fn take_id(words: &mut Vec<&str>, bare: bool) -> Result<Option<i64>, String> {
    let Some(last) = words.last() else { return Ok(None) };
    let digits = match last.strip_prefix('#') {
        Some(d) => d,
        None if bare && last.bytes().all(|b| b.is_ascii_digit()) => last,
        None => return Ok(None),
    };
    let id = digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{} is not an incident id.", truncate_bytes(last, 24)))?;
    words.pop();
    Ok(Some(id))
}

fn role_of(word: Option<&&str>) -> Result<Role, String> {
    let word = word.copied().unwrap_or("");
    Role::parse(word).ok_or_else(|| {
        format!(
            "Unknown role {:?}: the roles are comms (communicator) and diagnosis (primary diagnosis).",
            truncate_bytes(word, 20)
        )
    })
}

fn no_more(words: &[&str], usage: &str) -> Result<(), String> {
    if words.is_empty() {
        Ok(())
    } else {
        Err(format!("Usage: {usage}"))
    }
}

/// Parses the words after `!incident`.
pub fn parse(args: &str) -> Result<Sub, String> {
    let mut words: Vec<&str> = args.split_whitespace().collect();
    if words.is_empty() {
        return Ok(Sub::List);
    }
    let sub = words.remove(0).to_ascii_lowercase();
    let rest = |w: &[&str]| w.join(" ");
    Ok(match sub.as_str() {
        "list" | "ls" => {
            no_more(&words, "!incident list")?;
            Sub::List
        }
        "help" => Sub::Help,
        "open" | "new" => {
            let summary = rest(&words);
            if summary.is_empty() {
                return Err("Usage: !incident open <summary> (what is broken, for whom).".into());
            }
            Sub::Open { summary }
        }
        "claim" | "take" => {
            let id = take_id(&mut words, true)?;
            let role = role_of(words.first())?;
            no_more(&words[1..], "!incident claim comms|diagnosis [N]")?;
            Sub::Claim { role, id }
        }
        "handoff" | "hand" | "give" => {
            let id = take_id(&mut words, true)?;
            let role = role_of(words.first())?;
            let nick = words.get(1).ok_or("Usage: !incident handoff comms|diagnosis <nick> [N]")?.to_string();
            no_more(&words[2..], "!incident handoff comms|diagnosis <nick> [N]")?;
            Sub::Handoff { role, nick: nick.trim_end_matches([':', ',']).to_string(), id }
        }
        "status" | "state" => {
            let id = take_id(&mut words, false)?;
            let word = words.first().copied().unwrap_or("");
            let state = State::parse(word).filter(|s| *s != State::Closed).ok_or_else(|| {
                format!(
                    "Unknown status {:?}: investigating, identified, monitoring or resolved.",
                    truncate_bytes(word, 20)
                )
            })?;
            Sub::Status { state, note: rest(words.get(1..).unwrap_or_default()), id }
        }
        "close" => {
            let id = take_id(&mut words, false)?;
            Sub::Close { summary: rest(&words), id }
        }
        "reopen" => {
            let id = take_id(&mut words, true)?.ok_or("Usage: !incident reopen N")?;
            no_more(&words, "!incident reopen N")?;
            Sub::Reopen { id }
        }
        "note" => {
            let id = take_id(&mut words, false)?;
            if words.is_empty() {
                return Err("Usage: !incident note <text> [#N]".into());
            }
            Sub::Note { text: rest(&words), id }
        }
        "impact" => {
            let id = take_id(&mut words, true)?;
            let impact = match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
                Some("user-facing" | "userfacing" | "users" | "user") => Impact::UserFacing,
                Some("data-loss" | "dataloss" | "data") => Impact::DataLoss,
                Some("none") => Impact::None,
                _ => return Err("Usage: !incident impact user-facing|data-loss|none [N]".into()),
            };
            no_more(&words[1..], "!incident impact user-facing|data-loss|none [N]")?;
            Sub::Impact { impact, id }
        }
        "at" => {
            let id = take_id(&mut words, false)?;
            if words.len() < 2 {
                return Err("Usage: !incident at <HH:MM|YYYY-MM-DD HH:MM> <what happened> [#N] (times in UTC)".into());
            }
            Sub::At { words: words.iter().map(|w| w.to_string()).collect(), id }
        }
        "show" | "info" => {
            let id = take_id(&mut words, true)?;
            no_more(&words, "!incident show [N]")?;
            Sub::Show { id }
        }
        "report" => {
            let id = take_id(&mut words, true)?;
            no_more(&words, "!incident report [N]")?;
            Sub::Report { id }
        }
        "report-filed" | "filed" => {
            let usage = "Usage: !incident report-filed N <url>";
            let id = words.first().and_then(|w| w.trim_start_matches('#').parse().ok()).ok_or(usage)?;
            let url = words.get(1).ok_or(usage)?;
            if !(url.starts_with("https://") || url.starts_with("http://")) || words.len() > 2 {
                return Err(usage.into());
            }
            Sub::ReportFiled { id, url: url.to_string() }
        }
        "snooze" => {
            let id = take_id(&mut words, false)?;
            let usage = "Usage: !incident snooze <minutes (1-1440)>|off [#N]";
            let minutes = match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
                Some("off") => None,
                Some(m) => Some(m.parse::<u32>().ok().filter(|m| (1..=1440).contains(m)).ok_or(usage)?),
                None => return Err(usage.into()),
            };
            no_more(&words[1..], usage)?;
            Sub::Snooze { minutes, id }
        }
        other => {
            // Cut again once quoted: escaped control characters and combining marks grow up to
            // sixfold, and with the long usage after it the answer would need a second line.
            let quoted = truncate_bytes(&format!("{:?}", truncate_bytes(other, 20)), 30);
            return Err(format!("Unknown subcommand {quoted}. {USAGE}"));
        }
    })
}

/// The asker and the place, owned, for the store thread.
#[derive(Clone)]
struct Here {
    channel: String,
    private: bool,
    nick: String,
    account: String,
    at: DateTime<Utc>,
}

impl Here {
    fn actor(&self) -> Actor<'_> {
        Actor { at: self.at, nick: &self.nick, account: &self.account }
    }
}

/// An outcome for the user: either way it is a reply.
type Answer = Result<Vec<String>, String>;

/// Finds the incident a command is about: the one named, if it belongs here, or the only one
/// not closed here. A private incident named elsewhere gets the same answer as a missing one.
fn resolve(conn: &Connection, here: &Here, id: Option<i64>) -> rusqlite::Result<Result<Incident, String>> {
    if let Some(id) = id {
        return Ok(match db::get(conn, id)? {
            Some(i) if crate::irc::casefold_eq(&i.channel, &here.channel) => Ok(i),
            _ => Err(format!("No incident #{id} here.")),
        });
    }
    let open = db::not_closed_in(conn, &here.channel)?;
    Ok(match open.as_slice() {
        [] => Err(format!("No open incident in {}. Open one with !incident open <summary>.", here.channel)),
        [one] => Ok(one.clone()),
        several => {
            // The first five, so that the question stays one line however many are open.
            let mut list: Vec<String> =
                several.iter().take(5).map(|i| format!("#{} ({})", i.id, truncate_bytes(&i.summary, 40))).collect();
            if several.len() > 5 {
                list.push(format!("{} more", several.len() - 5));
            }
            Err(format!("Several incidents are open here: {}. Which one? Add #N.", list.join(", ")))
        }
    })
}

fn holders(conn: &Connection, id: i64) -> rusqlite::Result<String> {
    let comms = db::holder(conn, id, Role::Comms)?.map(|t| t.nick).unwrap_or_else(|| "nobody".into());
    let diag = db::holder(conn, id, Role::Diagnosis)?.map(|t| t.nick).unwrap_or_else(|| "nobody".into());
    Ok(if comms == diag {
        format!("{comms} holds communicator and primary diagnosis")
    } else {
        format!("communicator: {comms}, primary diagnosis: {diag}")
    })
}

fn report_rule(i: &Incident) -> String {
    match i.report_reasons().as_slice() {
        [] => "No report required.".into(),
        reasons => format!("Report required ({}): !incident report {}.", reasons.join(", "), i.id),
    }
}

fn one_line_summary(conn: &Connection, i: &Incident, now: DateTime<Utc>) -> rusqlite::Result<String> {
    Ok(format!(
        "#{} [{}] {} — {} — open {}",
        i.id,
        i.state,
        truncate_bytes(&i.summary, 80),
        holders(conn, i.id)?,
        human_duration(now - i.opened_at)
    ))
}

pub async fn run(sub: Sub, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    let lines = match execute(sub, ctx, store).await {
        Ok(lines) => lines,
        Err(refusal) => vec![refusal],
    };
    lines.into_iter().map(|l| ctx.reply(l)).collect()
}

async fn execute(sub: Sub, ctx: &Context<'_>, store: &Store) -> Answer {
    if sub == Sub::Help {
        return Ok(vec![USAGE.to_string()]);
    }
    let channel = ctx.msg.channel.as_deref().ok_or("Incidents live in channels: use !incident in the team channel.")?;
    let chan = ctx.config.channel(channel).ok_or("This is not one of srebot's channels.")?;
    let reading = matches!(sub, Sub::List | Sub::Show { .. });
    if !reading && ctx.level < Level::Member {
        return Err(ctx.not_allowed("!incident"));
    }
    let account = match (&ctx.msg.sender.account, reading) {
        (Some(a), _) => a.clone(),
        (None, true) => String::new(),
        (None, false) => return Err("Incident roles belong to services accounts: identify to services first.".into()),
    };
    let here = Here {
        channel: chan.name.clone(),
        private: chan.role == ChannelRole::Security,
        nick: ctx.msg.sender.nick.clone(),
        account,
        at: ctx.msg.time,
    };
    // Facts that need the connection layer or the clock are gathered before the store call.
    let handoff_target = match &sub {
        Sub::Handoff { nick, .. } => match ctx.directory.presence(&here.channel, nick) {
            None => return Err(format!("{} is not in {}.", truncate_bytes(nick, 30), here.channel)),
            Some((_, None)) => {
                return Err(format!("{nick} is not identified to services; roles belong to accounts."));
            }
            Some((nick, Some(account))) => Some((nick, account)),
        },
        _ => None,
    };
    let backdated = match &sub {
        Sub::At { words, .. } => {
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            let (when, used) = parse_when(&refs, here.at)?;
            Some((when, strip_formatting(&refs[used..].join(" ")).trim().to_string()))
        }
        _ => None,
    };
    let write_report = matches!(sub, Sub::Report { .. });
    let outcome = store
        .call(move |conn| apply(conn, &here, sub, handoff_target, backdated))
        .await
        .map_err(|e| format!("Not recorded: {e}"))??;
    match (write_report, outcome) {
        (true, Outcome::Report(record)) => write_drafts(ctx, &record).await,
        (_, Outcome::Lines(lines)) => Ok(lines),
        (_, Outcome::Report(_)) => Err("internal error: unexpected report".into()),
    }
}

enum Outcome {
    Lines(Vec<String>),
    Report(Box<crate::incident::model::Record>),
}

fn lines(text: String) -> Result<Outcome, String> {
    Ok(Outcome::Lines(vec![text]))
}

/// Runs one subcommand inside the store's transaction: read, check, write, answer.
fn apply(
    conn: &Connection,
    here: &Here,
    sub: Sub,
    handoff_target: Option<(String, String)>,
    backdated: Option<(DateTime<Utc>, String)>,
) -> rusqlite::Result<Result<Outcome, String>> {
    let who = here.actor();
    let incident = |id: Option<i64>| resolve(conn, here, id);
    Ok(match sub {
        Sub::Help => lines(USAGE.into()),
        Sub::List => {
            let open = db::not_closed_in(conn, &here.channel)?;
            if open.is_empty() {
                return Ok(lines(format!("No open incidents in {}.", here.channel)));
            }
            let mut out = Vec::new();
            for i in open.iter().take(5) {
                out.push(one_line_summary(conn, i, here.at)?);
            }
            if open.len() > 5 {
                out.push(format!("…and {} more: !incident show N.", open.len() - 5));
            }
            Ok(Outcome::Lines(out))
        }
        Sub::Open { summary } => {
            let summary = strip_formatting(&summary).trim().to_string();
            let id = db::open(conn, &here.channel, here.private, &summary, &who)?;
            lines(format!(
                "Incident #{id} opened: {}. {} holds communicator and primary diagnosis; hand one off with \
                 !incident handoff comms|diagnosis <nick>, or a colleague takes one with !incident claim comms|diagnosis.",
                truncate_bytes(&summary, 120),
                here.nick
            ))
        }
        Sub::Claim { role, id } | Sub::Handoff { role, id, .. } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            if i.state == State::Closed {
                return Ok(Err(format!("#{} is closed.", i.id)));
            }
            let (nick, account, handed) = match handoff_target {
                Some((nick, account)) => (nick, account, true),
                None => (here.nick.clone(), here.account.clone(), false),
            };
            if db::holder(conn, i.id, role)?.is_some_and(|t| t.account.eq_ignore_ascii_case(&account)) {
                return Ok(Err(format!("{nick} already holds {} for #{}.", role.title(), i.id)));
            }
            let previous = db::change_holder(conn, i.id, role, &account, &nick, &who, handed)?;
            let from = previous.map(|p| p.nick).unwrap_or_else(|| "nobody".into());
            let by = if handed { format!(" (handed over by {})", here.nick) } else { String::new() };
            lines(format!("#{} {}: {from} → {nick}{by}.", i.id, role.title()))
        }
        Sub::Status { state, note, id } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(e) = check_status(i.id, i.state, state) {
                return Ok(Err(e));
            }
            let note = strip_formatting(&note).trim().to_string();
            db::set_state(conn, i.id, i.state, state, &note, &who)?;
            let mut text = format!("#{} is now {state} (was {}).", i.id, i.state);
            if state == State::Resolved {
                let i = db::get(conn, i.id)?.unwrap_or(i);
                text = format!(
                    "#{} resolved after {}: impact over. Close it with !incident close [summary] when the work is done. {}",
                    i.id,
                    human_duration(here.at - i.opened_at),
                    report_rule(&i)
                );
            }
            lines(text)
        }
        Sub::Close { summary, id } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(e) = check_close(i.id, i.state) {
                return Ok(Err(e));
            }
            let summary = strip_formatting(&summary).trim().to_string();
            db::close(conn, i.id, i.state, (!summary.is_empty()).then_some(summary.as_str()), &who)?;
            lines(format!("#{} closed after {}. {}", i.id, human_duration(here.at - i.opened_at), report_rule(&i)))
        }
        Sub::Reopen { id } => {
            let i = match incident(Some(id))? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(e) = check_reopen(i.id, i.state) {
                return Ok(Err(e));
            }
            db::reopen(conn, i.id, i.state, &who)?;
            lines(format!("#{} reopened: investigating again. {}.", i.id, holders(conn, i.id)?))
        }
        Sub::Note { text, id } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            let text = strip_formatting(&text).trim().to_string();
            if text.is_empty() {
                return Ok(Err("Note missing. Nothing recorded.".into()));
            }
            db::note(conn, i.id, &text, &who)?;
            lines(format!("Noted on #{}.", i.id))
        }
        Sub::Impact { impact, id } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            let (user_facing, data_loss) = match impact {
                Impact::UserFacing => (true, i.data_loss),
                Impact::DataLoss => (i.user_facing, true),
                Impact::None => (false, false),
            };
            db::set_impact(conn, i.id, user_facing, data_loss, &who)?;
            let i = db::get(conn, i.id)?.unwrap_or(i);
            let what = match (i.user_facing, i.data_loss) {
                (false, false) => "none recorded".to_string(),
                (u, d) => [u.then_some("user-facing"), d.then_some("data loss")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            lines(format!("#{} impact: {what}. {}", i.id, report_rule(&i)))
        }
        Sub::At { id, .. } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            let Some((when, text)) = backdated else { return Ok(Err("internal error: no time".into())) };
            if text.is_empty() {
                return Ok(Err("Say what happened after the time. Nothing recorded.".into()));
            }
            db::backdate(conn, i.id, when, &text, &who)?;
            lines(format!(
                "#{}: recorded at {} UTC (backdated): {}",
                i.id,
                when.format("%Y-%m-%d %H:%M"),
                truncate_bytes(&text, 120)
            ))
        }
        Sub::Show { id } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            let last = db::last_event(conn, i.id)?
                .map(|e| format!("last update {} ago by {}", human_duration(here.at - e.recorded_at), e.actor))
                .unwrap_or_default();
            lines(format!(
                "{} (opened {} UTC by {}; {last}){}",
                one_line_summary(conn, &i, here.at)?,
                i.opened_at.format("%H:%M"),
                i.opened_by,
                i.report_url.as_ref().map(|u| format!(" — report: {u}")).unwrap_or_default()
            ))
        }
        Sub::Report { id } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            match db::record(conn, i.id)? {
                Some(r) => Ok(Outcome::Report(Box::new(r))),
                None => Err(format!("No incident #{} here.", i.id)),
            }
        }
        Sub::ReportFiled { id, url } => {
            let i = match incident(Some(id))? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            db::report_filed(conn, i.id, &url, &who)?;
            lines(format!("#{}: report filed at {url}.", i.id))
        }
        Sub::Snooze { minutes, id } => {
            let i = match incident(id)? {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            match minutes {
                Some(m) => {
                    db::snooze(conn, i.id, Some(here.at + Duration::minutes(m.into())), &format!("{m} min"), &who)?;
                    lines(format!("#{}: update reminders snoozed for {m} min.", i.id))
                }
                None => {
                    db::snooze(conn, i.id, None, "off", &who)?;
                    lines(format!("#{}: update reminders are back on.", i.id))
                }
            }
        }
    })
}

/// Writes the draft in both formats and says where it is. Files of a security incident are
/// readable by the bot's user only.
async fn write_drafts(ctx: &Context<'_>, record: &crate::incident::model::Record) -> Answer {
    let dir = ctx.config.report_dir();
    let id = record.incident.id;
    // With the web view, a public incident's draft is a link (always current); the files are
    // still written, for security incidents and for editing.
    let link = match (&ctx.config.web.base_url, record.incident.private) {
        (Some(base), false) => Some(format!("{}/incidents/{id}", base.trim_end_matches('/'))),
        _ => None,
    };
    let mut paths = Vec::new();
    for format in [Format::Markdown, Format::Wikitext] {
        let path = dir.join(format!("incident-{id}.{}", format.extension()));
        let text = report::render(record, format, ctx.msg.time);
        let private = record.incident.private;
        let target = path.clone();
        let dir = dir.clone();
        let written = tokio::task::spawn_blocking(move || write_file(&dir, &target, &text, private)).await;
        match written {
            Ok(Ok(())) => paths.push(path.display().to_string()),
            Ok(Err(e)) => return Err(format!("Could not write the report draft: {e}")),
            Err(e) => return Err(format!("Could not write the report draft: {e}")),
        }
    }
    Ok(vec![match link {
        Some(url) => format!(
            "Report draft for #{id}: {url} (files: {}). File it, then !incident report-filed {id} <url>.",
            paths[0]
        ),
        None => format!(
            "Report draft for #{id}: {} (wikitext: {}). File it, then !incident report-filed {id} <url>.",
            paths[0], paths[1]
        ),
    }])
}

fn write_file(dir: &std::path::Path, path: &std::path::Path, text: &str, private: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::FakeDirectory;
    use crate::irc::{Incoming, Sender};

    #[test]
    fn parses_subcommands_and_ids() {
        assert_eq!(parse(""), Ok(Sub::List));
        assert_eq!(
            parse("open Wikis down for logged-in users"),
            Ok(Sub::Open { summary: "Wikis down for logged-in users".into() })
        );
        assert!(parse("open").unwrap_err().contains("Usage"));
        assert_eq!(parse("claim diagnosis"), Ok(Sub::Claim { role: Role::Diagnosis, id: None }));
        assert_eq!(parse("claim comms 3"), Ok(Sub::Claim { role: Role::Comms, id: Some(3) }));
        assert_eq!(parse("claim comms #3"), Ok(Sub::Claim { role: Role::Comms, id: Some(3) }));
        assert!(parse("claim janitor").unwrap_err().contains("Unknown role"));
        assert_eq!(
            parse("handoff comms bob: 2"),
            Ok(Sub::Handoff { role: Role::Comms, nick: "bob".into(), id: Some(2) })
        );
        assert!(parse("handoff comms").unwrap_err().contains("Usage"));
        assert_eq!(
            parse("status identified bad puppet change on db151 2"),
            Ok(Sub::Status { state: State::Identified, note: "bad puppet change on db151 2".into(), id: None }),
            "a bare number ends a note, it is not an id"
        );
        assert_eq!(
            parse("status resolved #4"),
            Ok(Sub::Status { state: State::Resolved, note: String::new(), id: Some(4) })
        );
        assert!(parse("status closed").unwrap_err().contains("Unknown status"));
        assert!(parse("status fixed").unwrap_err().contains("Unknown status"));
        assert_eq!(parse("reopen 4"), Ok(Sub::Reopen { id: 4 }));
        assert!(parse("reopen").is_err());
        assert_eq!(parse("impact data-loss"), Ok(Sub::Impact { impact: Impact::DataLoss, id: None }));
        assert_eq!(
            parse("at 09:55 impact started #2").unwrap(),
            Sub::At { words: vec!["09:55".into(), "impact".into(), "started".into()], id: Some(2) }
        );
        assert_eq!(
            parse("report-filed 2 https://wiki/x"),
            Ok(Sub::ReportFiled { id: 2, url: "https://wiki/x".into() })
        );
        assert!(parse("report-filed 2 not-a-url").is_err());
        assert_eq!(parse("snooze off"), Ok(Sub::Snooze { minutes: None, id: None }));
        assert_eq!(parse("snooze 45 #2"), Ok(Sub::Snooze { minutes: Some(45), id: Some(2) }));
        assert!(parse("snooze 0").is_err() && parse("snooze 99999").is_err());
        assert!(parse("show #0").unwrap_err().contains("not an incident id"));
        assert!(parse("frobnicate").unwrap_err().contains("Unknown subcommand"));
        assert!(parse(&"x".repeat(10_000)).unwrap_err().len() < 600);
    }

    struct World {
        config: crate::config::Config,
        store: Store,
        _thread: crate::store::StoreThread,
        _dir: tempfile::TempDir,
        directory: FakeDirectory,
    }

    impl World {
        fn new() -> World {
            let dir = tempfile::tempdir().unwrap();
            let config = crate::config::parse(&format!(
                r##"
[irc]
server = "127.0.0.1"
nick = "srebot"
[[channels]]
name = "#sre"
role = "public"
[[channels]]
name = "#sec"
role = "security"
[storage]
database = {:?}
[access]
accounts = ["alice", "bob"]
"##,
                dir.path().join("db.sqlite3")
            ))
            .unwrap();
            let (store, thread) = Store::open(&config.storage.database);
            let mut directory = FakeDirectory::default();
            directory.0.insert(("#sre".into(), "bob".into()), Some("bob".into()));
            directory.0.insert(("#sre".into(), "anon".into()), None);
            World { config, store, _thread: thread, _dir: dir, directory }
        }

        async fn say(&self, channel: &str, nick: &str, minute: u32, text: &str) -> Vec<String> {
            let account = ["alice", "bob"].contains(&nick).then(|| nick.to_string());
            let msg = Incoming {
                time: format!("2026-11-22T10:{minute:02}:00Z").parse().unwrap(),
                channel: Some(channel.into()),
                sender: Sender { nick: nick.into(), user: "u".into(), host: "h".into(), account },
                text: text.into(),
            };
            let ctx = Context {
                config: &self.config,
                msg: &msg,
                level: crate::access::level(&self.config.access, &msg.sender),
                is_relay: false,
                directory: &self.directory,
            };
            let cmd = crate::cmd::parse(&self.config.commands, text).expect("a command");
            crate::cmd::run(cmd, &ctx, &self.store).await.into_iter().map(|r| r.text).collect()
        }
    }

    #[tokio::test]
    async fn a_whole_incident() {
        let w = World::new();
        let r = w.say("#sre", "alice", 0, "!inc open Wikis down for logged-in users").await;
        assert!(
            r[0].starts_with("Incident #1 opened: Wikis down")
                && r[0].contains("alice holds communicator and primary diagnosis"),
            "{r:?}"
        );
        let r = w.say("#sre", "bob", 2, "!incident claim diagnosis").await;
        assert_eq!(r, vec!["#1 primary diagnosis: alice → bob."]);
        assert_eq!(
            w.say("#sre", "bob", 2, "!incident claim diagnosis").await,
            vec!["bob already holds primary diagnosis for #1."]
        );
        w.say("#sre", "alice", 3, "!log depooled db151").await;
        let r = w.say("#sre", "bob", 5, "!incident status identified bad puppet change").await;
        assert_eq!(r, vec!["#1 is now identified (was investigating)."]);
        let r = w.say("#sre", "alice", 6, "!incident at 09:55 impact started (monitoring alert)").await;
        assert!(r[0].contains("recorded at 2026-11-22 09:55 UTC (backdated)"), "{r:?}");
        let r = w.say("#sre", "alice", 7, "!incident impact user-facing").await;
        assert!(r[0].contains("user-facing") && r[0].contains("Report required"), "{r:?}");
        let r = w.say("#sre", "bob", 30, "!incident status resolved reverted").await;
        assert!(r[0].starts_with("#1 resolved after 30 min"), "{r:?}");
        assert!(w.say("#sre", "bob", 31, "!incident status investigating").await[0].contains("reopen 1"));
        let r = w.say("#sre", "alice", 40, "!incident close reverted the puppet change").await;
        assert!(r[0].starts_with("#1 closed after 40 min. Report required (user-facing outage)"), "{r:?}");
        assert_eq!(w.say("#sre", "alice", 41, "!incident").await, vec!["No open incidents in #sre."]);

        let r = w.say("#sre", "alice", 42, "!incident report 1").await;
        assert!(r[0].starts_with("Report draft for #1: "), "{r:?}");
        let path = w.config.report_dir().join("incident-1.md");
        let draft = std::fs::read_to_string(path).unwrap();
        for needle in
            ["Wikis down for logged-in users", "depooled db151", "SAL #1", "backdated", "bob", "user-facing outage"]
        {
            assert!(draft.contains(needle), "draft lacks {needle:?}:\n{draft}");
        }
        let r = w.say("#sre", "alice", 43, "!incident report-filed 1 https://wiki.example/Incidents/1").await;
        assert_eq!(r, vec!["#1: report filed at https://wiki.example/Incidents/1."]);
        assert!(w.say("#sre", "alice", 44, "!incident reopen 1").await[0].starts_with("#1 reopened"));
    }

    #[tokio::test]
    async fn asks_which_when_several_are_open_and_keeps_security_incidents_to_themselves() {
        let w = World::new();
        w.say("#sre", "alice", 0, "!incident open first").await;
        w.say("#sre", "alice", 1, "!incident open second").await;
        let r = w.say("#sre", "alice", 2, "!incident note something").await;
        assert!(r[0].contains("Several incidents are open here: #1 (first), #2 (second)"), "{r:?}");
        assert_eq!(w.say("#sre", "alice", 2, "!incident note something #2").await, vec!["Noted on #2."]);
        let r = w.say("#sec", "alice", 3, "!incident open leaked credential on a public paste").await;
        assert!(r[0].starts_with("Incident #3 opened"));
        // From the public channel, #3 is exactly like an incident that does not exist.
        assert_eq!(w.say("#sre", "alice", 4, "!incident show 99").await, vec!["No incident #99 here."]);
        assert_eq!(w.say("#sre", "alice", 4, "!incident show 3").await, vec!["No incident #3 here."]);
        let listed = w.say("#sre", "alice", 4, "!incident list").await.join("\n");
        assert!(!listed.contains("leaked") && !listed.contains("#3"), "{listed}");
        assert!(w.say("#sec", "alice", 5, "!incident show").await[0].contains("leaked credential"));
    }

    #[tokio::test]
    async fn bad_input_changes_nothing() {
        let w = World::new();
        w.say("#sre", "alice", 0, "!incident open db down").await;
        let r = w.say("#sre", "anon", 1, "!incident claim comms").await;
        assert!(r[0].contains("not identified"), "{r:?}");
        assert!(w.say("#sre", "alice", 1, "!incident handoff comms ghost").await[0].contains("ghost is not in #sre"));
        assert!(w.say("#sre", "alice", 1, "!incident handoff comms anon").await[0].contains("not identified"));
        assert!(w.say("#sre", "alice", 1, "!incident claim janitor").await[0].contains("Unknown role"));
        assert_eq!(w.say("#sre", "alice", 1, "!incident status resolved #7").await, vec!["No incident #7 here."]);
        assert!(
            w.say("#sre", "alice", 1, "!incident at 23:59 later").await[0].contains("recorded"),
            "yesterday is fine"
        );
        let show = w.say("#sre", "alice", 2, "!incident show").await;
        assert!(
            show[0].contains("alice holds communicator and primary diagnosis") && show[0].contains("[investigating]"),
            "{show:?}"
        );
        let r = w.say("#sre", "alice", 3, "!incident handoff comms bob").await;
        assert_eq!(r, vec!["#1 communicator: alice → bob (handed over by alice)."]);
    }
}
