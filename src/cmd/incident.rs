//! `!incident …` (alias `!inc`): open an incident, hand its two roles around, record its states
//! and timeline, and draft its report. Incidents live in the channel they were opened in; one
//! opened in a security channel is never named anywhere else.
//!
//! People see and type an incident's *number*, counted per scope (`crate::incident::scope`): one
//! sequence for all public channels, one per security channel, so no number seen in public
//! counts a private incident. The internal id never shows.

use super::{Context, Directory, Origin, Reply};
use crate::access::Level;
use crate::config::Config;
use crate::incident::model::{Event, EventKind, Incident, Role, State, Tenure};
use crate::incident::report::{self, human_duration, Format};
use crate::incident::{check_close, check_reopen, check_status, current_nick, parse_when, start_note, started_at};
use crate::names::ChannelName;
use crate::store::incident as db;
use crate::store::Actor;
use crate::store::{Store, StoreError};
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

/// Which incident a command that takes free text is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Not named: the only one not closed here.
    Only,
    /// Named: `#N`, or a bare `N` with no text before it.
    Named(i64),
    /// A bare number ending the text: the incident, if it names one not closed in this
    /// channel's scope; otherwise the text's last word ("waiting for 2"). See [`settle`].
    Maybe { number: i64, word: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    List,
    Open { summary: String, from_alert: Option<i64> },
    Claim { role: Role, id: Option<i64> },
    Handoff { role: Role, nick: String, id: Option<i64> },
    Status { state: State, note: String, target: Target },
    Close { summary: String, target: Target },
    Reopen { id: i64 },
    Note { text: String, target: Target },
    Update { text: String, target: Target },
    Impact { impact: Impact, id: Option<i64> },
    At { words: Vec<String>, target: Target },
    Show { id: Option<i64> },
    Report { id: Option<i64> },
    ReportPublish { id: Option<i64> },
    ReportFiled { id: i64, url: String },
    Snooze { minutes: Option<u32>, id: Option<i64> },
    Help,
}

pub const USAGE: &str = "!incident open <summary> | claim comms|diagnosis | handoff comms|diagnosis <nick> | status \
investigating|identified|monitoring|resolved [note] | note|update <text> | at <HH:MM> <event> | impact \
user-facing|data-loss|none | close [summary] | reopen N | show | report [publish] | report-filed N <url> | snooze \
<min>|off — N when several are open.";

/// Reads `word` as an incident number, `#N` or `N`; `Ok(None)` when it is not one at all.
fn number(word: &str) -> Result<Option<i64>, String> {
    let digits = word.strip_prefix('#').unwrap_or(word);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let n = digits.parse::<i64>().ok().filter(|n| *n > 0);
    n.map(Some).ok_or_else(|| format!("{} is not an incident number.", truncate_bytes(word, 20)))
}

/// Takes a trailing incident number off `words`, for commands without free text.
fn take_id(words: &mut Vec<&str>) -> Result<Option<i64>, String> {
    let Some(n) = words.last().map(|w| number(w)).transpose()?.flatten() else { return Ok(None) };
    words.pop();
    Ok(Some(n))
}

/// Takes a trailing incident number off `words`, for commands whose free text starts at word
/// `text_from`. `#N` always names an incident, and so does a bare `N` that nothing of the text
/// precedes (`status resolved 2`: a note "2" would say nothing); a bare `N` after text may be
/// part of it, which only the store can tell.
fn take_target(words: &mut Vec<&str>, text_from: usize) -> Result<Target, String> {
    let Some(&last) = words.last() else { return Ok(Target::Only) };
    let target = match number(last)? {
        None => return Ok(Target::Only),
        Some(n) if last.starts_with('#') || words.len() <= text_from + 1 => Target::Named(n),
        Some(number) => Target::Maybe { number, word: last.to_string() },
    };
    words.pop();
    Ok(target)
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
            // `--from-alert N` (or `#N` of `!alerts`) links the alert that made us open it.
            let from_alert = match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
                Some("--from-alert" | "--alert") => {
                    let id =
                        words.get(1).and_then(|w| w.trim_start_matches('#').parse::<i64>().ok()).filter(|n| *n > 0);
                    words.drain(..2.min(words.len()));
                    Some(id.ok_or("Usage: !incident open --from-alert <alert id> <summary>")?)
                }
                _ => None,
            };
            let summary = rest(&words);
            if summary.is_empty() {
                return Err(
                    "Usage: !incident open [--from-alert <alert id>] <summary> (what is broken, for whom).".into()
                );
            }
            Sub::Open { summary, from_alert }
        }
        "claim" | "take" => {
            let id = take_id(&mut words)?;
            let role = role_of(words.first())?;
            no_more(&words[1..], "!incident claim comms|diagnosis [N]")?;
            Sub::Claim { role, id }
        }
        "handoff" | "hand" | "give" => {
            let id = take_id(&mut words)?;
            let role = role_of(words.first())?;
            let nick = words.get(1).ok_or("Usage: !incident handoff comms|diagnosis <nick> [N]")?.to_string();
            no_more(&words[2..], "!incident handoff comms|diagnosis <nick> [N]")?;
            Sub::Handoff { role, nick: nick.trim_end_matches([':', ',']).to_string(), id }
        }
        "status" | "state" => {
            let target = take_target(&mut words, 1)?;
            let word = words.first().copied().unwrap_or("");
            let state = State::parse(word).filter(|s| *s != State::Closed).ok_or_else(|| {
                format!(
                    "Unknown status {:?}: investigating, identified, monitoring or resolved.",
                    truncate_bytes(word, 20)
                )
            })?;
            Sub::Status { state, note: rest(words.get(1..).unwrap_or_default()), target }
        }
        "close" => {
            let target = take_target(&mut words, 0)?;
            Sub::Close { summary: rest(&words), target }
        }
        "reopen" => {
            let id = take_id(&mut words)?.ok_or("Usage: !incident reopen N")?;
            no_more(&words, "!incident reopen N")?;
            Sub::Reopen { id }
        }
        "note" => {
            let target = take_target(&mut words, 0)?;
            if words.is_empty() {
                return Err("Usage: !incident note <text> [N]".into());
            }
            Sub::Note { text: rest(&words), target }
        }
        "update" => {
            let target = take_target(&mut words, 0)?;
            if words.is_empty() {
                return Err("Usage: !incident update <what users should know> [N]".into());
            }
            Sub::Update { text: rest(&words), target }
        }
        "impact" => {
            let id = take_id(&mut words)?;
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
            let target = take_target(&mut words, 1)?;
            if words.len() < 2 {
                return Err("Usage: !incident at <HH:MM|YYYY-MM-DD HH:MM> <what happened> [N] (times in UTC)".into());
            }
            Sub::At { words: words.iter().map(|w| w.to_string()).collect(), target }
        }
        "show" | "info" => {
            let id = take_id(&mut words)?;
            no_more(&words, "!incident show [N]")?;
            Sub::Show { id }
        }
        "report" if words.first().is_some_and(|w| w.eq_ignore_ascii_case("publish")) => {
            let id = take_id(&mut words)?;
            no_more(&words[1..], "!incident report publish [N]")?;
            Sub::ReportPublish { id }
        }
        "report" => {
            let id = take_id(&mut words)?;
            no_more(&words, "!incident report [N]")?;
            Sub::Report { id }
        }
        "report-filed" | "filed" => {
            let usage = "Usage: !incident report-filed N <url>";
            let id = words.first().map(|w| number(w)).transpose()?.flatten().ok_or(usage)?;
            let url = words.get(1).ok_or(usage)?;
            if !(url.starts_with("https://") || url.starts_with("http://")) || words.len() > 2 {
                return Err(usage.into());
            }
            Sub::ReportFiled { id, url: url.to_string() }
        }
        "snooze" => {
            let usage = "!incident snooze <minutes (1-1440)>|off [N]";
            // The minutes are a number too: only a second number can name the incident.
            let id = if words.len() > 1 { take_id(&mut words)? } else { None };
            let minutes = match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
                Some("off") => None,
                Some(m) => {
                    Some(m.parse::<u32>().ok().filter(|m| (1..=1440).contains(m)).ok_or(format!("Usage: {usage}"))?)
                }
                None => return Err(format!("Usage: {usage}")),
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

/// Where and who (the message's [`Origin`], in one of srebot's channels) with what the incident
/// rules need of the place, owned for the store thread.
#[derive(Clone)]
struct Here {
    origin: Origin,
    /// The numbering the channel's incidents are in.
    scope: String,
    /// The channel's identified members as `(nick, account)`, when the command came.
    present: Vec<(String, String)>,
    /// Where `!incident report` writes drafts.
    drafts: std::path::PathBuf,
    /// Its incidents' changes go to the wiki's status notice (public, and `status_page` set).
    status_notice: bool,
}

impl Here {
    /// The channel, as configured.
    fn channel(&self) -> &str {
        self.origin.channel.as_ref().map_or("", ChannelName::as_str)
    }

    /// The asker's account ("" when reading without one; writing needs one).
    fn account(&self) -> &str {
        self.origin.account.as_deref().unwrap_or_default()
    }

    /// What to call a role holder: the nick their account uses now.
    fn name(&self, t: &Tenure) -> String {
        current_nick(&t.nick, &t.account, &self.present).to_string()
    }
}

/// An outcome for the user: either way it is a reply.
type Answer = Result<Vec<String>, String>;

/// Finds the incident a command is about: the one numbered `number` in this channel's scope, if
/// it belongs here, or the only one not closed here. A private incident named elsewhere gets the
/// same answer as a missing one (it is not even in the scope searched).
fn resolve(conn: &Connection, here: &Here, number: Option<i64>) -> Result<Incident, Failure> {
    if let Some(n) = number {
        return match db::find(conn, &here.scope, n)? {
            Some(i) if here.origin.said_in(&i.channel) => Ok(i),
            _ => Err(Failure::Refused(format!("No incident #{n} here."))),
        };
    }
    let open = db::not_closed_in(conn, here.channel())?;
    match open.as_slice() {
        [] => Err(Failure::Refused(format!(
            "No open incident in {}. Open one with !incident open <summary>.",
            here.channel()
        ))),
        [one] => Ok(one.clone()),
        several => {
            // The first five, so that the question stays one line however many are open.
            let mut list: Vec<String> =
                several.iter().take(5).map(|i| format!("#{} ({})", i.number, truncate_bytes(&i.summary, 40))).collect();
            if several.len() > 5 {
                list.push(format!("{} more", several.len() - 5));
            }
            Err(Failure::Refused(format!(
                "Several incidents are open here: {}. Which one? End with its number.",
                list.join(", ")
            )))
        }
    }
}

/// Decides what a trailing bare number after text is: the incident's number when it names one
/// not closed in this channel's scope, else the last word of `text`, put back. Either way the
/// reply names the incident acted on, so a misreading shows at once.
fn settle(conn: &Connection, here: &Here, target: Target, text: &mut String) -> rusqlite::Result<Option<i64>> {
    Ok(match target {
        Target::Only => None,
        Target::Named(n) => Some(n),
        Target::Maybe { number, word } => {
            if db::find(conn, &here.scope, number)?.is_some_and(|i| i.state != State::Closed) {
                Some(number)
            } else {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(&word);
                None
            }
        }
    })
}

fn holders(conn: &Connection, here: &Here, id: i64) -> rusqlite::Result<String> {
    let name = |r| -> rusqlite::Result<String> {
        Ok(db::holder(conn, id, r)?.map(|t| here.name(&t)).unwrap_or_else(|| "nobody".into()))
    };
    let (comms, diag) = (name(Role::Comms)?, name(Role::Diagnosis)?);
    Ok(if comms == diag {
        format!("{comms} holds communicator and primary diagnosis")
    } else {
        format!("communicator: {comms}, primary diagnosis: {diag}")
    })
}

/// What the team's report rule asks next, from what is known: no conclusion before the impact
/// was stated (`!incident impact`), and once the draft is written, the step after it.
fn report_rule(i: &Incident, timeline: &[Event], draft_written: bool) -> String {
    let n = i.number;
    let impact_stated = timeline.iter().any(|e| e.kind == EventKind::Impact);
    match i.report_reasons().as_slice() {
        [] if !impact_stated => format!("Impact? !incident impact user-facing|data-loss|none {n}"),
        [] => "No report required.".into(),
        _ if i.report_url.is_some() => "The report is filed.".into(),
        reasons if draft_written => format!(
            "Report required ({}): the draft is written; once it is filed, !incident report-filed {n} <url>.",
            reasons.join(", ")
        ),
        reasons => format!("Report required ({}): !incident report {n}.", reasons.join(", ")),
    }
}

/// Whether `!incident report` has written this incident's draft.
fn draft_written(here: &Here, i: &Incident) -> bool {
    here.drafts.join(format!("{}.{}", report::file_stem(i), Format::Markdown.extension())).exists()
}

fn one_line_summary(conn: &Connection, here: &Here, i: &Incident) -> rusqlite::Result<String> {
    Ok(format!(
        "#{} [{}] {} — {} — {}",
        i.number,
        i.state,
        truncate_bytes(&i.summary, 80),
        holders(conn, here, i.id)?,
        crate::incident::age(i, &db::timeline(conn, i.id)?, here.origin.at)
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
    let origin = &ctx.origin;
    let channel = match origin.our_channel() {
        Ok(Some(channel)) => channel.as_str(),
        Ok(None) => return Err("Incidents live in channels: use !incident in the team channel.".into()),
        Err(_) => return Err("This is not one of srebot's channels.".into()),
    };
    let reading = matches!(sub, Sub::List | Sub::Show { .. });
    if !reading && ctx.level < Level::Member {
        return Err(ctx.not_allowed("!incident"));
    }
    if origin.account.is_none() && !reading {
        return Err("Incident roles belong to services accounts: identify to services first.".into());
    }
    let private = origin.security;
    let here = Here {
        origin: origin.clone(),
        scope: crate::incident::scope(channel, private),
        present: ctx.directory.accounts_in(channel),
        drafts: ctx.config.report_dir(),
        status_notice: !private && ctx.config.publish.mediawiki.as_ref().is_some_and(|mw| mw.status_page.is_some()),
    };
    // The privacy guard, before anything is stored: the refusal names the kind of secret only.
    if let Sub::Update { text, .. } = &sub {
        if let Some(why) = crate::privacy::looks_like_secret(&strip_formatting(text)) {
            return Err(format!(
                "NOT posted: that looks like a secret ({why}). Nothing was stored; say what users need to know."
            ));
        }
    }
    if matches!(sub, Sub::ReportPublish { .. }) && private {
        return Err(
            "A security incident's report is never published, not even that it exists: use !incident report.".into()
        );
    }
    let wakes_publisher = here.status_notice
        && matches!(sub, Sub::Update { .. } | Sub::Status { .. } | Sub::Close { .. } | Sub::Reopen { .. });
    // Facts that need the connection layer or the clock are gathered before the store call.
    let handoff_target = match &sub {
        Sub::Handoff { nick, .. } => Some(handoff_target(ctx, here.channel(), nick)?),
        _ => None,
    };
    let backdated = match &sub {
        Sub::At { words, .. } => {
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            let (when, used) = parse_when(&refs, here.origin.at)?;
            Some((when, strip_formatting(&refs[used..].join(" ")).trim().to_string()))
        }
        _ => None,
    };
    let write_report = matches!(sub, Sub::Report { .. });
    let account = here.account().to_string();
    let outcome = store
        .call(move |conn| match apply(conn, &here, sub, handoff_target, backdated) {
            Ok(outcome) => Ok(Ok(outcome)),
            Err(Failure::Refused(refusal)) => Ok(Err(refusal)),
            Err(Failure::Db(e)) => Err(e),
        })
        .await
        .map_err(|e| format!("Not recorded: {e}"))??;
    if wakes_publisher {
        crate::publish::wake();
    }
    match (write_report, outcome) {
        (true, Outcome::Report(record)) => write_drafts(ctx, &record).await,
        (false, Outcome::Report(record)) => publish_report(ctx, store, *record, account).await,
        (_, Outcome::Lines(lines)) => Ok(lines),
    }
}

/// Who a role may be handed to: someone in the channel, identified, whose account may use write
/// commands (the access list), since the role makes them post for the incident. `(nick, account)`.
fn handoff_target(ctx: &Context<'_>, channel: &str, nick: &str) -> Result<(String, String), String> {
    let Some(target) = ctx.directory.presence(channel, nick) else {
        return Err(format!("{} is not in {channel}.", truncate_bytes(nick, 30)));
    };
    let Some(account) = target.account.clone() else {
        return Err(format!("{} is not identified to services; roles belong to accounts.", target.nick));
    };
    if crate::access::level(&ctx.config.access, &target) < Level::Member {
        return Err(format!(
            "{} may not hold an incident role: account {account} is not on srebot's access list.",
            target.nick
        ));
    }
    Ok((target.nick, account))
}

enum Outcome {
    Lines(Vec<String>),
    Report(Box<crate::incident::model::Record>),
}

/// Why a subcommand did not happen: a refusal the user reads, or a database failure (which
/// rolls back everything the call wrote).
enum Failure {
    Refused(String),
    Db(rusqlite::Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Failure {
        Failure::Db(e)
    }
}

impl From<String> for Failure {
    fn from(refusal: String) -> Failure {
        Failure::Refused(refusal)
    }
}

fn lines(text: String) -> Result<Outcome, Failure> {
    Ok(Outcome::Lines(vec![text]))
}

/// Runs one subcommand inside the store's transaction: read, check, write, answer.
fn apply(
    conn: &Connection,
    here: &Here,
    sub: Sub,
    handoff_target: Option<(String, String)>,
    backdated: Option<(DateTime<Utc>, String)>,
) -> Result<Outcome, Failure> {
    let who = here.origin.actor();
    let incident = |id: Option<i64>| resolve(conn, here, id);
    match sub {
        Sub::Help => lines(USAGE.into()),
        Sub::List => {
            let open = db::not_closed_in(conn, here.channel())?;
            if open.is_empty() {
                return lines(format!("No open incidents in {}.", here.channel()));
            }
            let mut out = Vec::new();
            for i in open.iter().take(5) {
                out.push(one_line_summary(conn, here, i)?);
            }
            if open.len() > 5 {
                out.push(format!("…and {} more: !incident show N.", open.len() - 5));
            }
            Ok(Outcome::Lines(out))
        }
        Sub::Open { summary, from_alert } => {
            let summary = strip_formatting(&summary).trim().to_string();
            let alert = match from_alert
                .map(|id| crate::store::alert::alert_in(conn, id, here.channel()))
                .transpose()?
            {
                Some(None) => {
                    return Err(
                        format!("No alert #{} in {}: see !alerts.", from_alert.unwrap_or(0), here.channel()).into()
                    )
                }
                found => found.flatten(),
            };
            let i = db::open(conn, here.channel(), here.origin.security, &summary, &who)?;
            if let Some(a) = &alert {
                crate::store::alert::on_timeline(conn, a, i.id, true, who.at)?;
            }
            lines(format!(
                "Incident #{} opened: {}. {} holds communicator and primary diagnosis; hand one off with \
                 !incident handoff comms|diagnosis <nick>, or a colleague takes one with !incident claim comms|diagnosis.",
                i.number,
                truncate_bytes(&summary, 120),
                here.origin.nick
            ))
        }
        Sub::Claim { role, id } | Sub::Handoff { role, id, .. } => {
            let i = incident(id)?;
            if i.state == State::Closed {
                return Err(Failure::Refused(format!("#{} is closed.", i.number)));
            }
            let (nick, account, handed) = match handoff_target {
                Some((nick, account)) => (nick, account, true),
                None => (here.origin.nick.clone(), here.account().to_string(), false),
            };
            if db::holder(conn, i.id, role)?.is_some_and(|t| t.account.eq_ignore_ascii_case(&account)) {
                return Err(Failure::Refused(format!("{nick} already holds {} for #{}.", role.title(), i.number)));
            }
            let previous = db::change_holder(conn, i.id, role, &account, &nick, &who, handed)?;
            let from = previous.map(|p| here.name(&p)).unwrap_or_else(|| "nobody".into());
            let by = if handed { format!(" (handed over by {})", here.origin.nick) } else { String::new() };
            lines(format!("#{} {}: {from} → {nick}{by}.", i.number, role.title()))
        }
        Sub::Status { state, mut note, target } => {
            let i = incident(settle(conn, here, target, &mut note)?)?;
            check_status(i.number, i.state, state)?;
            let note = strip_formatting(&note).trim().to_string();
            db::set_state(conn, i.id, i.state, state, &note, &who)?;
            if here.status_notice {
                db::queue_status(conn, i.id, here.origin.at)?;
            }
            let mut text = format!("#{} is now {state} (was {}).", i.number, i.state);
            if state == State::Resolved {
                let i = db::get(conn, i.id)?.unwrap_or(i);
                let timeline = db::timeline(conn, i.id)?;
                text = format!(
                    "#{} resolved after {}{}: impact over. Close it with !incident close [summary] when the work is \
                     done. {}",
                    i.number,
                    human_duration(here.origin.at - started_at(&i, &timeline)),
                    start_note(&i, &timeline),
                    report_rule(&i, &timeline, draft_written(here, &i))
                );
            }
            lines(text)
        }
        Sub::Close { mut summary, target } => {
            let i = incident(settle(conn, here, target, &mut summary)?)?;
            check_close(i.number, i.state)?;
            let summary = strip_formatting(&summary).trim().to_string();
            db::close(conn, i.id, i.state, (!summary.is_empty()).then_some(summary.as_str()), &who)?;
            if here.status_notice {
                db::queue_status(conn, i.id, here.origin.at)?;
            }
            let timeline = db::timeline(conn, i.id)?;
            lines(format!(
                "#{} closed after {}{}. {}",
                i.number,
                human_duration(here.origin.at - started_at(&i, &timeline)),
                start_note(&i, &timeline),
                report_rule(&i, &timeline, draft_written(here, &i))
            ))
        }
        Sub::Reopen { id } => {
            let i = incident(Some(id))?;
            check_reopen(i.number, i.state)?;
            db::reopen(conn, i.id, i.state, &who)?;
            if here.status_notice {
                db::queue_status(conn, i.id, here.origin.at)?;
            }
            lines(format!("#{} reopened: investigating again. {}.", i.number, holders(conn, here, i.id)?))
        }
        Sub::Note { mut text, target } => {
            let i = incident(settle(conn, here, target, &mut text)?)?;
            let text = strip_formatting(&text).trim().to_string();
            if text.is_empty() {
                return Err(Failure::Refused("Note missing. Nothing recorded.".into()));
            }
            db::note(conn, i.id, &text, &who)?;
            lines(format!("Noted on #{}: {}", i.number, truncate_bytes(&text, 120)))
        }
        Sub::Update { mut text, target } => {
            let i = incident(settle(conn, here, target, &mut text)?)?;
            if i.state == State::Closed {
                return Err(Failure::Refused(format!("#{} is closed: reopen it first.", i.number)));
            }
            match db::holder(conn, i.id, Role::Comms)? {
                Some(t) if t.account.eq_ignore_ascii_case(here.account()) => {}
                Some(t) => {
                    return Err(Failure::Refused(format!(
                        "You are not the communicator of #{n} ({} is): claim it with !incident claim comms {n}, \
                         or tell the team with !incident note.",
                        here.name(&t),
                        n = i.number
                    )))
                }
                None => {
                    return Err(Failure::Refused(format!(
                        "Nobody is the communicator of #{n}: claim it with !incident claim comms {n} first.",
                        n = i.number
                    )))
                }
            }
            let text = strip_formatting(&text).trim().to_string();
            if text.is_empty() {
                return Err(Failure::Refused("Update missing. Nothing posted.".into()));
            }
            db::update(conn, i.id, &text, &who)?;
            if here.status_notice {
                db::queue_status(conn, i.id, here.origin.at)?;
            }
            lines(if i.private {
                format!(
                    "#{}: update recorded at {} UTC. A security incident's updates are never published: tell users yourself.",
                    i.number,
                    here.origin.at.format("%H:%M")
                )
            } else {
                format!(
                    "#{}: public update posted at {} UTC: {}",
                    i.number,
                    here.origin.at.format("%H:%M"),
                    truncate_bytes(&text, 120)
                )
            })
        }
        Sub::Impact { impact, id } => {
            let i = incident(id)?;
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
            lines(format!(
                "#{} impact: {what}. {}",
                i.number,
                report_rule(&i, &db::timeline(conn, i.id)?, draft_written(here, &i))
            ))
        }
        Sub::At { target, .. } => {
            let Some((when, mut text)) = backdated else {
                return Err(Failure::Refused("internal error: no time".into()));
            };
            let i = incident(settle(conn, here, target, &mut text)?)?;
            if text.is_empty() {
                return Err(Failure::Refused("Say what happened after the time. Nothing recorded.".into()));
            }
            db::backdate(conn, i.id, when, &text, &who)?;
            lines(format!(
                "#{}: recorded at {} UTC (backdated): {}",
                i.number,
                when.format("%Y-%m-%d %H:%M"),
                truncate_bytes(&text, 120)
            ))
        }
        Sub::Show { id } => {
            let i = incident(id)?;
            let last = db::last_event(conn, i.id)?
                .map(|e| format!("last update {} ago by {}", human_duration(here.origin.at - e.recorded_at), e.actor))
                .unwrap_or_default();
            lines(format!(
                "{} (opened {} UTC by {}; {last}){}",
                one_line_summary(conn, here, &i)?,
                i.opened_at.format("%H:%M"),
                i.opened_by,
                i.report_url.as_ref().map(|u| format!(" — report: {u}")).unwrap_or_default()
            ))
        }
        Sub::Report { id } => {
            let i = incident(id)?;
            match db::record(conn, i.id)? {
                Some(r) => Ok(Outcome::Report(Box::new(r))),
                None => Err(Failure::Refused(format!("No incident #{} here.", i.number))),
            }
        }
        Sub::ReportPublish { id } => {
            let i = incident(id)?;
            if i.state.is_open() {
                return Err(Failure::Refused(format!(
                    "#{} is still {}: publish its report once it is resolved.",
                    i.number, i.state
                )));
            }
            match db::record(conn, i.id)? {
                Some(r) => Ok(Outcome::Report(Box::new(r))),
                None => Err(Failure::Refused(format!("No incident #{} here.", i.number))),
            }
        }
        Sub::ReportFiled { id, url } => {
            let i = incident(Some(id))?;
            db::report_filed(conn, i.id, &url, &who)?;
            lines(format!("#{}: report filed at {url}.", i.number))
        }
        Sub::Snooze { minutes, id } => {
            let i = incident(id)?;
            match minutes {
                Some(m) => {
                    db::snooze(
                        conn,
                        i.id,
                        Some(here.origin.at + Duration::minutes(m.into())),
                        &format!("{m} min"),
                        &who,
                    )?;
                    lines(format!("#{}: update reminders snoozed for {m} min.", i.number))
                }
                None => {
                    db::snooze(conn, i.id, None, "off", &who)?;
                    lines(format!("#{}: update reminders are back on.", i.number))
                }
            }
        }
    }
}

/// Publishes the draft as its own wiki page (public incidents only: the caller refused the
/// others), then records the page as the filed report.
async fn publish_report(
    ctx: &Context<'_>,
    store: &Store,
    record: crate::incident::model::Record,
    account: String,
) -> Answer {
    use crate::publish::report::{self as page, Published};
    let Some(mw) = ctx.config.publish.mediawiki.clone() else {
        return Err("No wiki is configured ([publish.mediawiki]): !incident report writes the draft as files.".into());
    };
    let (id, number) = (record.incident.id, record.incident.number);
    let saved = store.call(move |conn| db::report_page(conn, id)).await.map_err(|e| format!("Not published: {e}"))?;
    // The same masking as every other publication; and a secret in a note stops it whole.
    let privacy = crate::privacy::Privacy::from_config(&ctx.config.sal);
    let text = privacy.text(&report::render(&record, Format::Wikitext, ctx.msg.time)).into_owned();
    if let Some(why) = crate::privacy::looks_like_secret(&text) {
        return Err(format!("Not published: the draft holds what looks like a secret ({why}). Nothing was sent."));
    }
    let title = match &saved {
        Some((title, _)) => title.clone(),
        None => page::title(&mw.report_prefix, &record.incident),
    };
    let url = page::page_url(&mw.api_url, &title);
    let password = mw.resolve_password().map_err(|e| format!("Not published: {e}"))?;
    let job = {
        let (title, last) = (title.clone(), saved.map(|(_, revid)| revid));
        let summary = format!("srebot: report draft of incident #{number}");
        tokio::task::spawn_blocking(move || {
            let mut wiki = crate::publish::mediawiki::Wiki::new(&mw, password);
            page::publish(&mut wiki, &title, last, &text, &summary)
        })
    };
    let published = match job.await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(format!("Not published: {e}. Try again later.")),
        Err(e) => return Err(format!("Not published: {e}")),
    };
    let (revid, created) = match published {
        Published::Saved { revid, created } => (revid, created),
        Published::EditedByPeople => {
            return Ok(vec![format!(
                "#{number}: {url} has been edited by people since srebot wrote it: left as it is."
            )])
        }
        Published::Taken => {
            return Ok(vec![format!(
                "#{number}: a page {title:?} exists already and srebot did not write it: left alone. \
                 If it is the report, !incident report-filed {number} {url}"
            )])
        }
        Published::Deleted => {
            return Ok(vec![format!("#{number}: the report page {url} has been deleted since: not recreated.")])
        }
    };
    let (nick, at, filed_url) = (ctx.msg.sender.nick.clone(), ctx.msg.time, url.clone());
    store
        .call(move |conn| {
            let who = Actor { at, nick, account: Some(account) };
            db::report_published(conn, id, &title, revid, &filed_url, &who)
        })
        .await
        .map_err(|e| format!("Published at {url}, but not recorded: {e}"))?;
    let done = if created { "published" } else { "updated" };
    Ok(vec![format!("#{number}: report draft {done} at {url} and recorded as the filed report; finish it there.")])
}

/// Writes the draft in both formats and says where it is. Files of a security incident are
/// readable by the bot's user only, and named after their channel (their numbers are its own).
async fn write_drafts(ctx: &Context<'_>, record: &crate::incident::model::Record) -> Answer {
    let dir = ctx.config.report_dir();
    let number = record.incident.number;
    let stem = report::file_stem(&record.incident);
    // With the web view, a public incident's draft is a link (always current); the files are
    // still written, for security incidents and for editing.
    let link = match (&ctx.config.web.base_url, record.incident.private) {
        (Some(base), false) => Some(format!("{}/incidents/{number}", base.trim_end_matches('/'))),
        _ => None,
    };
    let mut paths = Vec::new();
    for format in [Format::Markdown, Format::Wikitext] {
        let path = dir.join(format!("{stem}.{}", format.extension()));
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
            "Report draft for #{number}: {url} (files: {}). File it, then !incident report-filed {number} <url>.",
            paths[0]
        ),
        None => format!(
            "Report draft for #{number}: {} (wikitext: {}). File it, then !incident report-filed {number} <url>.",
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

/// The reminders due at `now`, as `(channel, line)`: update reminders for quiet open incidents,
/// naming the communicator by the nick their account uses now, and report reminders for resolved
/// or closed ones still without a report. Each goes to its incident's own channel only, so a
/// security incident is never mentioned elsewhere. Marks them sent.
pub async fn reminders(
    config: &Config,
    store: &Store,
    directory: &dyn Directory,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, StoreError> {
    let quiet = Duration::milliseconds((config.incidents.update_reminder_minutes * 60_000.0) as i64);
    let nag = Duration::milliseconds((config.incidents.report_reminder_hours * 3_600_000.0) as i64);
    let (quiet_ones, unreported) = store
        .call(move |conn| {
            let quiet_ones = db::due_reminders(conn, now, quiet)?;
            for (i, _) in &quiet_ones {
                db::mark_reminded(conn, i.id, now)?;
            }
            let unreported = db::due_report_nags(conn, now, nag)?;
            for i in &unreported {
                db::mark_nagged(conn, i.id, now)?;
            }
            Ok((quiet_ones, unreported))
        })
        .await?;
    let mut out = Vec::new();
    for (i, comms) in quiet_ones {
        let present = directory.accounts_in(&i.channel);
        let who = match &comms {
            Some(t) => {
                format!("{}, as communicator, please post a public one", current_nick(&t.nick, &t.account, &present))
            }
            None => "Nobody holds communicator: !incident claim comms, then post one".into(),
        };
        let line = format!(
            "#{} ({}): no update for {}. {who} (!incident update <text for users>), or !incident snooze <minutes>.",
            i.number,
            truncate_bytes(&i.summary, 60),
            human_duration(now - i.last_update_at)
        );
        out.push((i.channel, line));
    }
    for i in unreported {
        let line = format!(
            "#{n} ({}) is {} and needs a report ({}): !incident report {n}, then !incident report-filed {n} <url>.",
            truncate_bytes(&i.summary, 60),
            i.state,
            i.report_reasons().join(", "),
            n = i.number
        );
        out.push((i.channel, line));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::FakeDirectory;

    fn maybe(number: i64) -> Target {
        Target::Maybe { number, word: number.to_string() }
    }

    #[test]
    fn usage_says_the_handoff_nick_is_required() {
        assert!(USAGE.contains("handoff comms|diagnosis <nick>"), "{USAGE}");
        assert!(!USAGE.contains("[nick]"), "{USAGE}");
        // With "Unknown subcommand <30 bytes>. " before it, one short line.
        assert!(USAGE.len() <= 349, "{}", USAGE.len());
    }

    #[test]
    fn parses_subcommands_and_numbers() {
        assert_eq!(parse(""), Ok(Sub::List));
        assert_eq!(
            parse("open Wikis down for logged-in users"),
            Ok(Sub::Open { summary: "Wikis down for logged-in users".into(), from_alert: None })
        );
        assert_eq!(
            parse("open --from-alert #12 Wikis down"),
            Ok(Sub::Open { summary: "Wikis down".into(), from_alert: Some(12) })
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
            parse("status resolved #4"),
            Ok(Sub::Status { state: State::Resolved, note: String::new(), target: Target::Named(4) })
        );
        assert_eq!(
            parse("status resolved 2"),
            Ok(Sub::Status { state: State::Resolved, note: String::new(), target: Target::Named(2) }),
            "a bare number with no note before it names the incident"
        );
        assert!(parse("status closed").unwrap_err().contains("Unknown status"));
        assert!(parse("status fixed").unwrap_err().contains("Unknown status"));
        assert_eq!(parse("close"), Ok(Sub::Close { summary: String::new(), target: Target::Only }));
        assert_eq!(parse("close 3"), Ok(Sub::Close { summary: String::new(), target: Target::Named(3) }));
        assert_eq!(parse("reopen 4"), Ok(Sub::Reopen { id: 4 }));
        assert_eq!(parse("reopen #4"), Ok(Sub::Reopen { id: 4 }));
        assert!(parse("reopen").is_err());
        assert_eq!(
            parse("update Fixed, watching #2"),
            Ok(Sub::Update { text: "Fixed, watching".into(), target: Target::Named(2) })
        );
        assert!(parse("update").unwrap_err().contains("Usage"));
        assert_eq!(parse("report publish"), Ok(Sub::ReportPublish { id: None }));
        assert_eq!(parse("report publish #3"), Ok(Sub::ReportPublish { id: Some(3) }));
        assert!(parse("report publish now").unwrap_err().contains("Usage"));
        assert_eq!(parse("impact data-loss"), Ok(Sub::Impact { impact: Impact::DataLoss, id: None }));
        assert_eq!(parse("impact data-loss 2"), Ok(Sub::Impact { impact: Impact::DataLoss, id: Some(2) }));
        assert_eq!(
            parse("at 09:55 impact started #2").unwrap(),
            Sub::At { words: vec!["09:55".into(), "impact".into(), "started".into()], target: Target::Named(2) }
        );
        assert_eq!(
            parse("report-filed 2 https://wiki/x"),
            Ok(Sub::ReportFiled { id: 2, url: "https://wiki/x".into() })
        );
        assert_eq!(
            parse("report-filed #2 https://wiki/x"),
            Ok(Sub::ReportFiled { id: 2, url: "https://wiki/x".into() })
        );
        assert!(parse("report-filed 2 not-a-url").is_err());
        assert!(parse("report-filed https://wiki/x").is_err());
        assert_eq!(parse("snooze off"), Ok(Sub::Snooze { minutes: None, id: None }));
        assert_eq!(parse("snooze 45"), Ok(Sub::Snooze { minutes: Some(45), id: None }), "45 is the minutes");
        assert_eq!(parse("snooze 45 #2"), Ok(Sub::Snooze { minutes: Some(45), id: Some(2) }));
        assert_eq!(parse("snooze 45 2"), Ok(Sub::Snooze { minutes: Some(45), id: Some(2) }));
        assert_eq!(parse("snooze off 2"), Ok(Sub::Snooze { minutes: None, id: Some(2) }));
        assert!(parse("snooze 0").is_err() && parse("snooze 99999").is_err());
        for wrong in ["snooze", "snooze 0", "snooze 5 extra", "snooze soon"] {
            assert_eq!(parse(wrong), Err("Usage: !incident snooze <minutes (1-1440)>|off [N]".into()), "{wrong}");
        }
        assert!(parse("show #0").unwrap_err().contains("not an incident number"));
        assert!(parse("show 99999999999999999999").unwrap_err().contains("not an incident number"));
        assert!(parse("frobnicate").unwrap_err().contains("Unknown subcommand"));
        assert!(parse(&"x".repeat(10_000)).unwrap_err().len() < 600);
    }

    #[test]
    fn a_number_after_text_may_be_part_of_it() {
        assert_eq!(
            parse("status identified bad puppet change on db151 2"),
            Ok(Sub::Status { state: State::Identified, note: "bad puppet change on db151".into(), target: maybe(2) })
        );
        assert_eq!(parse("note waiting for 2"), Ok(Sub::Note { text: "waiting for".into(), target: maybe(2) }));
        assert_eq!(
            parse("note waiting for #2"),
            Ok(Sub::Note { text: "waiting for".into(), target: Target::Named(2) }),
            "#N is always the incident"
        );
        assert_eq!(
            parse("note see #wikimedia-ops"),
            Ok(Sub::Note { text: "see #wikimedia-ops".into(), target: Target::Only }),
            "a channel name is text"
        );
        assert_eq!(parse("close reverted 3"), Ok(Sub::Close { summary: "reverted".into(), target: maybe(3) }));
        assert_eq!(
            parse("at 09:55 impact started 2").unwrap(),
            Sub::At { words: vec!["09:55".into(), "impact".into(), "started".into()], target: maybe(2) }
        );
        assert_eq!(
            parse("note 007 is back 007").unwrap(),
            Sub::Note { text: "007 is back".into(), target: Target::Maybe { number: 7, word: "007".into() } },
            "the word is kept as typed, to be put back"
        );
        assert!(parse("note 2").unwrap_err().contains("Usage"), "a number alone is no note");
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
            let mut config = crate::testing::config(&format!(
                r##"
[[channels]]
name = "#ops"
role = "public"
[incidents]
report_dir = {:?}
[access]
accounts = ["alice", "bob"]
"##,
                dir.path().join("reports")
            ));
            config.storage.database = dir.path().join("db.sqlite3");
            // Short, and sorting before #sre: the draft names and reminder order below say `sec`.
            config.channels[1].name = "#sec".into();
            let (store, thread) = Store::open(&config.storage.database);
            let mut directory = FakeDirectory::default();
            for chan in ["#sre", "#ops", "#sec"] {
                directory.0.insert((chan.into(), "alice".into()), Some("alice".into()));
            }
            directory.0.insert(("#sre".into(), "bob".into()), Some("bob".into()));
            directory.0.insert(("#sre".into(), "anon".into()), None);
            directory.0.insert(("#sre".into(), "carol".into()), Some("carol".into()));
            World { config, store, _thread: thread, _dir: dir, directory }
        }

        fn time(minute: u32) -> DateTime<Utc> {
            Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + Duration::minutes(minute.into())
        }

        async fn say(&self, channel: &str, nick: &str, minute: u32, text: &str) -> Vec<String> {
            let account = ["alice", "bob", "carol"].contains(&nick).then(|| nick.to_string());
            self.say_as(channel, nick, account.as_deref(), minute, text).await
        }

        async fn say_as(
            &self,
            channel: &str,
            nick: &str,
            account: Option<&str>,
            minute: u32,
            text: &str,
        ) -> Vec<String> {
            let when = (World::time(minute), Some(channel));
            let replies = crate::cmd::testing::say(
                &self.config,
                &crate::clock::Clock::System,
                &self.store,
                &self.directory,
                when,
                (nick, account),
                text,
            )
            .await;
            replies.into_iter().map(|r| r.text).collect()
        }

        /// The one answer to a command.
        async fn one(&self, channel: &str, nick: &str, minute: u32, text: &str) -> String {
            let mut r = self.say(channel, nick, minute, text).await;
            assert_eq!(r.len(), 1, "{text}: {r:?}");
            r.remove(0)
        }

        async fn timeline_len(&self, scope: &str, number: i64) -> usize {
            let scope = scope.to_string();
            self.store
                .call(move |c| {
                    let i = db::find(c, &scope, number)?.expect("the incident");
                    Ok(db::timeline(c, i.id)?.len())
                })
                .await
                .unwrap()
        }

        async fn incident(&self, scope: &str, number: i64) -> Incident {
            let scope = scope.to_string();
            self.store.call(move |c| db::find(c, &scope, number)).await.unwrap().expect("the incident")
        }
    }

    use chrono::TimeZone;

    #[tokio::test]
    async fn a_whole_incident() {
        let w = World::new();
        let r = w.one("#sre", "alice", 0, "!inc open Wikis down for logged-in users").await;
        assert!(
            r.starts_with("Incident #1 opened: Wikis down")
                && r.contains("alice holds communicator and primary diagnosis"),
            "{r}"
        );
        assert_eq!(w.one("#sre", "bob", 2, "!incident claim diagnosis").await, "#1 primary diagnosis: alice → bob.");
        assert_eq!(
            w.one("#sre", "bob", 2, "!incident claim diagnosis").await,
            "bob already holds primary diagnosis for #1."
        );
        w.say("#sre", "alice", 3, "!log depooled db151").await;
        let r = w.one("#sre", "bob", 5, "!incident status identified bad puppet change").await;
        assert_eq!(r, "#1 is now identified (was investigating).");
        let r = w.one("#sre", "alice", 6, "!incident at 09:55 impact started (monitoring alert)").await;
        assert!(r.contains("recorded at 2026-11-22 09:55 UTC (backdated)"), "{r}");
        let r = w.one("#sre", "alice", 7, "!incident impact user-facing").await;
        assert!(r.contains("user-facing") && r.contains("Report required"), "{r}");
        let r = w.one("#sre", "bob", 30, "!incident status resolved reverted").await;
        // Durations count from the backdated impact start, and say so.
        assert!(r.starts_with("#1 resolved after 35 min (from 09:55, impact started (monitoring alert)): "), "{r}");
        assert!(w.one("#sre", "bob", 31, "!incident status investigating").await.contains("reopen 1"));
        let r = w.one("#sre", "alice", 40, "!incident close reverted the puppet change").await;
        assert!(
            r.starts_with("#1 closed after 45 min (from 09:55, impact started (monitoring alert)). Report required (user-facing outage): !incident report 1."),
            "{r}"
        );
        assert_eq!(w.one("#sre", "alice", 41, "!incident").await, "No open incidents in #sre.");

        let r = w.one("#sre", "alice", 42, "!incident report 1").await;
        assert!(r.starts_with("Report draft for #1: "), "{r}");
        let path = w.config.report_dir().join("incident-1.md");
        let draft = std::fs::read_to_string(path).unwrap();
        for needle in
            ["Wikis down for logged-in users", "depooled db151", "SAL #1", "backdated", "bob", "user-facing outage"]
        {
            assert!(draft.contains(needle), "draft lacks {needle:?}:\n{draft}");
        }
        let r = w.one("#sre", "alice", 43, "!incident report-filed 1 https://wiki.example/Incidents/1").await;
        assert_eq!(r, "#1: report filed at https://wiki.example/Incidents/1.");
        assert!(w.one("#sre", "alice", 44, "!incident reopen 1").await.starts_with("#1 reopened"));
    }

    #[tokio::test]
    async fn closed_incidents_stop_counting_and_the_report_rule_waits_for_the_impact() {
        let w = World::new();
        w.say("#sre", "alice", 0, "!incident open db replication lag").await;
        // Impact never stated: the bot asks rather than concluding that no report is needed.
        let r = w.one("#sre", "alice", 2, "!incident status resolved").await;
        assert!(r.ends_with("Impact? !incident impact user-facing|data-loss|none 1"), "{r}");
        assert!(!r.contains("No report required"), "{r}");
        let r = w.one("#sre", "alice", 3, "!incident close").await;
        assert_eq!(r, "#1 closed after 3 min. Impact? !incident impact user-facing|data-loss|none 1");
        // Closed after 3 minutes: 20 minutes later it is still 3 minutes.
        let r = w.one("#sre", "alice", 20, "!incident show 1").await;
        assert!(r.starts_with("#1 [closed] db replication lag — ") && r.contains(" — closed after 3 min ("), "{r}");
        assert!(!r.contains("open 20 min"), "{r}");
        assert_eq!(
            w.one("#sre", "alice", 21, "!incident impact none 1").await,
            "#1 impact: none recorded. No report required."
        );

        // Once the draft is written, closing points to the step after it.
        w.say("#sre", "alice", 22, "!incident open search index stale").await;
        w.say("#sre", "alice", 23, "!incident impact user-facing").await;
        assert!(w.one("#sre", "alice", 24, "!incident report").await.starts_with("Report draft for #2: "));
        let r = w.one("#sre", "alice", 25, "!incident close").await;
        assert_eq!(
            r,
            "#2 closed after 3 min. Report required (user-facing outage): the draft is written; once it is filed, \
             !incident report-filed 2 <url>."
        );
    }

    #[tokio::test]
    async fn asks_which_when_several_are_open_and_keeps_security_incidents_to_themselves() {
        let w = World::new();
        w.say("#sre", "alice", 0, "!incident open first").await;
        w.say("#sre", "alice", 1, "!incident open second").await;
        let r = w.one("#sre", "alice", 2, "!incident note something").await;
        assert!(r.contains("Several incidents are open here: #1 (first), #2 (second)"), "{r}");
        assert_eq!(w.one("#sre", "alice", 2, "!incident note something #2").await, "Noted on #2: something");
        // A security channel numbers its incidents itself: nothing in public counts them.
        let r = w.one("#sec", "alice", 3, "!incident open leaked credential on a public paste").await;
        assert!(r.starts_with("Incident #1 opened"), "{r}");
        let r = w.one("#ops", "alice", 4, "!incident open ops thing").await;
        assert!(r.starts_with("Incident #3 opened"), "public channels share one sequence, without a gap: {r}");
        // From the public channel, a private number is exactly like a number that does not exist.
        assert_eq!(w.one("#sre", "alice", 4, "!incident show 99").await, "No incident #99 here.");
        assert!(!w.one("#sre", "alice", 4, "!incident show 1").await.contains("leaked"));
        assert_eq!(w.one("#ops", "alice", 4, "!incident show 1").await, "No incident #1 here.", "#1 is #sre's");
        let listed = w.say("#sre", "alice", 4, "!incident list").await.join("\n");
        assert!(!listed.contains("leaked") && listed.contains("#1 [investigating] first"), "{listed}");
        assert!(w.one("#sec", "alice", 5, "!incident show").await.contains("leaked credential"));
        assert!(w.one("#sec", "alice", 5, "!incident show 1").await.starts_with("#1 [investigating] leaked"));
        assert_eq!(w.one("#sec", "alice", 5, "!incident show 2").await, "No incident #2 here.");

        // Their drafts do not overwrite each other: the security channel's are named after it.
        w.say("#sre", "alice", 6, "!incident report 1").await;
        let r = w.one("#sec", "alice", 6, "!incident report").await;
        assert!(r.starts_with("Report draft for #1: ") && r.contains("incident-sec-1.md"), "{r}");
        let dir = w.config.report_dir();
        assert!(std::fs::read_to_string(dir.join("incident-1.md")).unwrap().contains("# Incident #1: first"));
        let private = std::fs::read_to_string(dir.join("incident-sec-1.md")).unwrap();
        assert!(private.contains("# Incident #1: leaked credential"), "{private}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("incident-sec-1.md")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "a security draft is readable by the bot's user only");
    }

    #[tokio::test]
    async fn a_trailing_number_is_the_incident_only_when_it_names_an_open_one() {
        let w = World::new();
        w.say("#sre", "alice", 0, "!incident open first").await;
        // No #2 yet: the 2 is part of the note, on the only open incident.
        assert_eq!(w.one("#sre", "alice", 1, "!incident note waiting for 2").await, "Noted on #1: waiting for 2");
        w.say("#sre", "alice", 2, "!incident open second").await;
        // Now #2 is open: the same words are a note on #2, and the reply says so.
        assert_eq!(w.one("#sre", "alice", 3, "!incident note waiting for 2").await, "Noted on #2: waiting for");
        assert_eq!(w.timeline_len("public", 1).await, 2, "opened, note");
        // `status resolved 2`: nothing but the number after the state, so it is #2, not a note "2".
        let r = w.one("#sre", "alice", 4, "!incident status resolved 2").await;
        assert!(r.starts_with("#2 resolved after"), "{r}");
        assert_eq!(w.incident("public", 2).await.state, State::Resolved);
        assert_eq!(w.incident("public", 1).await.state, State::Investigating);
        // Resolved is not closed: #2 is still named by a trailing 2.
        assert_eq!(w.one("#sre", "alice", 5, "!incident note aftermath 2").await, "Noted on #2: aftermath");
        w.say("#sre", "alice", 6, "!incident close done 2").await;
        assert_eq!(w.incident("public", 2).await.state, State::Closed);
        // Closed: a trailing 2 is text again (only #1 is open)…
        assert_eq!(w.one("#sre", "alice", 7, "!incident note see also 2").await, "Noted on #1: see also 2");
        // …but reopen takes any incident of the scope, and #N always names one.
        assert!(w.one("#sre", "alice", 8, "!incident reopen 2").await.starts_with("#2 reopened"));
        assert_eq!(w.one("#sre", "alice", 9, "!incident status resolved 7").await, "No incident #7 here.");
        assert_eq!(w.one("#sre", "alice", 9, "!incident note gone #7").await, "No incident #7 here.");
        assert_eq!(w.incident("public", 1).await.state, State::Investigating, "nothing changed");
        // A number open in another public channel is an incident of this scope, but not one to act
        // on here: refused, rather than recorded as text where it was not meant.
        assert!(w.one("#ops", "alice", 9, "!incident open ops thing").await.starts_with("Incident #3 opened"));
        assert_eq!(w.one("#sre", "alice", 9, "!incident note waiting for 3").await, "No incident #3 here.");

        // Scopes are apart: in the security channel, a public incident's number is just text.
        w.say("#sec", "alice", 10, "!incident open key leak").await;
        assert_eq!(w.one("#sec", "alice", 11, "!incident note rotated 2").await, "Noted on #1: rotated 2");
        let r = w.one("#sec", "alice", 12, "!incident at 10:05 key revoked 2").await;
        assert!(r.starts_with("#1: recorded at 2026-11-22 10:05 UTC (backdated): key revoked 2"), "{r}");
        let r = w.one("#sec", "alice", 13, "!incident snooze 30 1").await;
        assert_eq!(r, "#1: update reminders snoozed for 30 min.");
    }

    #[tokio::test]
    async fn bad_input_changes_nothing() {
        let w = World::new();
        w.say("#sre", "alice", 0, "!incident open db down").await;
        let r = w.one("#sre", "anon", 1, "!incident claim comms").await;
        assert!(r.contains("not identified"), "{r}");
        assert_eq!(w.one("#sre", "alice", 1, "!incident handoff comms ghost").await, "ghost is not in #sre.");
        assert!(w.one("#sre", "alice", 1, "!incident handoff comms anon").await.contains("not identified"));
        // Carol is identified but not on the access list: the role would make her post for it.
        assert_eq!(
            w.one("#sre", "alice", 1, "!incident handoff diagnosis carol").await,
            "carol may not hold an incident role: account carol is not on srebot's access list."
        );
        assert!(w.one("#sre", "carol", 1, "!incident claim comms").await.contains("not on srebot's access list"));
        assert!(w.one("#sre", "alice", 1, "!incident claim janitor").await.contains("Unknown role"));
        assert_eq!(w.one("#sre", "alice", 1, "!incident status resolved #7").await, "No incident #7 here.");
        assert_eq!(w.timeline_len("public", 1).await, 1, "only the opening");
        assert!(w.one("#sre", "alice", 1, "!incident at 23:59 later").await.contains("recorded"), "yesterday is fine");
        let show = w.one("#sre", "alice", 2, "!incident show").await;
        assert!(
            show.contains("alice holds communicator and primary diagnosis") && show.contains("[investigating]"),
            "{show}"
        );
        let r = w.one("#sre", "alice", 3, "!incident handoff comms bob").await;
        assert_eq!(r, "#1 communicator: alice → bob (handed over by alice).");
    }

    #[tokio::test]
    async fn holders_are_named_by_the_nick_they_use_now() {
        let mut w = World::new();
        w.say("#sre", "alice", 0, "!incident open db down").await;
        w.say("#sre", "bob", 1, "!incident claim diagnosis").await;
        // Alice changes nick: her account is in the channel as alice_away now.
        w.directory.0.remove(&("#sre".into(), "alice".into()));
        w.directory.0.insert(("#sre".into(), "alice_away".into()), Some("alice".into()));
        let show = w.one("#sre", "bob", 2, "!incident show").await;
        assert!(show.contains("communicator: alice_away, primary diagnosis: bob"), "{show}");
        let listed = w.one("#sre", "bob", 2, "!incident").await;
        assert!(listed.contains("communicator: alice_away,"), "{listed}");

        let due = reminders(&w.config, &w.store, &w.directory, World::time(40)).await.unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(due[0].0, "#sre");
        assert!(due[0].1.starts_with("#1 (db down): no update for 40 min. alice_away, as communicator"), "{due:?}");
        // Her role is still hers, under the new nick: taking it back names her as she is now.
        let r = w.say_as("#sre", "alice_away", Some("alice"), 41, "!incident claim comms").await;
        assert_eq!(r, vec!["alice_away already holds communicator for #1."]);
        let r = w.one("#sre", "bob", 42, "!incident claim comms").await;
        assert_eq!(r, "#1 communicator: alice_away → bob.");
        // Gone from the channel: the nick stored with the tenure is all the bot knows.
        w.directory.0.remove(&("#sre".into(), "alice_away".into()));
        w.say_as("#sre", "alice_away", Some("alice"), 43, "!incident claim diagnosis").await;
        assert!(w.one("#sre", "bob", 44, "!incident show").await.contains("primary diagnosis: alice_away"));
    }

    #[tokio::test]
    async fn public_updates_are_the_communicators_and_reset_the_reminder() {
        let w = World::new();
        w.say("#sre", "alice", 0, "!incident open db down").await;
        w.say("#sre", "bob", 1, "!incident claim comms").await;
        let r = w.one("#sre", "alice", 2, "!incident update We are looking into it").await;
        assert_eq!(
            r,
            "You are not the communicator of #1 (bob is): claim it with !incident claim comms 1, or tell the team with \
             !incident note."
        );
        let r = w.one("#sre", "bob", 3, "!incident update password=hunter2hunter2 is the db login").await;
        assert!(r.starts_with("NOT posted: that looks like a secret (") && !r.contains("hunter2"), "{r}");
        assert_eq!(w.timeline_len("public", 1).await, 2, "opened, role: nothing of the refused ones");
        let r = w.one("#sre", "bob", 4, "!incident update We are looking into it, from 203.0.113.9").await;
        assert_eq!(r, "#1: public update posted at 10:04 UTC: We are looking into it, from 203.0.113.9");
        let i = w.incident("public", 1).await;
        assert_eq!(i.last_update_at, World::time(4));
        // Notes and status changes are for the team: the communicator is reminded 30 min after
        // the last public update all the same.
        w.say("#sre", "alice", 10, "!incident note replica lag").await;
        w.say("#sre", "alice", 20, "!incident status identified").await;
        assert!(reminders(&w.config, &w.store, &w.directory, World::time(33)).await.unwrap().is_empty());
        let due = reminders(&w.config, &w.store, &w.directory, World::time(34)).await.unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        assert!(due[0].1.contains("bob, as communicator, please post a public one (!incident update"), "{due:?}");
        // Without a wiki status page, nothing is queued for the wiki.
        let queued: i64 =
            w.store.call(|c| c.query_row("SELECT count(*) FROM sal_outbox", [], |r| r.get(0))).await.unwrap();
        assert_eq!(queued, 0);

        // In a security channel the update is recorded, and said to be never published.
        w.say("#sec", "alice", 40, "!incident open key leak").await;
        let r = w.one("#sec", "alice", 41, "!incident update Rotating keys").await;
        assert!(r.starts_with("#1: update recorded at 10:41 UTC. A security incident's updates are never published"));
        assert!(w
            .one("#sec", "alice", 42, "!incident report publish")
            .await
            .starts_with("A security incident's report"));
        // Closed: no more updates; a report is published only once the incident is resolved.
        assert!(w.one("#sre", "bob", 50, "!incident report publish").await.starts_with("#1 is still identified"));
        w.say("#sre", "bob", 51, "!incident close").await;
        assert_eq!(w.one("#sre", "bob", 52, "!incident update back #1").await, "#1 is closed: reopen it first.");
        assert!(w.one("#sre", "bob", 53, "!incident report publish 1").await.starts_with("No wiki is configured"));
    }

    #[tokio::test]
    async fn reminders_stay_in_their_channel_and_use_numbers() {
        let w = World::new();
        w.say("#sre", "alice", 0, "!incident open public one").await;
        w.say("#sec", "alice", 0, "!incident open private one").await;
        w.say("#sec", "alice", 0, "!incident impact user-facing").await;
        let mut due = reminders(&w.config, &w.store, &w.directory, World::time(31)).await.unwrap();
        due.sort();
        assert_eq!(due.len(), 2, "{due:?}");
        assert!(due[0].0 == "#sec" && due[0].1.starts_with("#1 (private one): no update"), "{due:?}");
        assert!(due[1].0 == "#sre" && due[1].1.starts_with("#1 (public one): no update"), "{due:?}");
        assert!(reminders(&w.config, &w.store, &w.directory, World::time(32)).await.unwrap().is_empty(), "once");
        w.say("#sec", "alice", 33, "!incident status resolved").await;
        let due = reminders(&w.config, &w.store, &w.directory, World::time(34)).await.unwrap();
        assert_eq!(
            due,
            vec![(
                "#sec".to_string(),
                "#1 (private one) is resolved and needs a report (user-facing outage, security incident): \
                 !incident report 1, then !incident report-filed 1 <url>."
                    .to_string()
            )]
        );
    }
}
