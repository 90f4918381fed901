//! `!sal …`: asking the Server Admin Log from IRC, and correcting it.
//!
//! Queries answer one line per entry, `#id HH:MM nick: message` (the date goes before the time
//! for entries of other days than today, UTC), at most 10 lines in a channel; `!sal last N`
//! with N above 10 answers by private message (up to 50). Private entries, made in a security
//! channel, are only ever shown in that channel: not in other channels, not by private message
//! (so nothing long is sent privately from a security channel). Outside security channels IP
//! addresses are masked, as in everything published.
//!
//! Corrections never delete: `!sal redact #id <reason>` (admins) hides an entry, `!sal amend #id
//! <text>` (author or admin) replaces its text; both are recorded with who, when, why and the
//! old text, and queue the wiki update in the same transaction. `!sal #id` on a hidden entry
//! says who hid it and when; a redaction's reason only in a security channel (and the CLI), and
//! a reason that looks like a secret is refused like a `!log` would be.

use super::{Context, Origin, Reply};
use crate::access::Level;
use crate::names::ChannelName;
use crate::privacy::Privacy;
use crate::publish::{self, Targets};
use crate::store::sal::{self, Action, Entry, Filter, Kind, Scope};
use crate::store::Store;
use crate::text::{one_line, strip_formatting, truncate_bytes};
use chrono::{DateTime, NaiveDate};

/// What `!sal` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    /// `!sal`, `!sal last [n]`.
    Last(Option<usize>),
    /// `!sal #42`.
    Show(i64),
    /// `!sal T123456`.
    Task(String),
    /// `!sal search <words>`: the words as typed.
    Search(String),
    /// `!sal since 2h|YYYY-MM-DD`.
    Since(Since),
    /// `!sal amend #id <new text>`.
    Amend {
        id: i64,
        text: String,
    },
    /// `!sal redact #id <reason>`.
    Redact {
        id: i64,
        reason: String,
    },
    /// `!sal restore #id`: a withdrawn entry back (author or admin, within the undo window).
    Restore(i64),
    /// `!sal status`: the publishing outbox.
    Status,
    Help,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// A span back from now (`90m`, `2h`, `3d`, `1w`).
    Ago(chrono::Duration),
    /// From the start of this day, UTC.
    Date(NaiveDate),
}

pub const USAGE: &str = "Usage: !sal [last [n]] | !sal #id | !sal T123456 | !sal search <words> | \
!sal since <2h|3d|YYYY-MM-DD> | !sal amend #id <new text> | !sal redact #id <reason> | !sal restore #id | \
!sal status";

/// Entries shown by default.
const DEFAULT_LAST: usize = 5;
/// At most this many entry lines go to a channel.
pub const CHANNEL_LINES: usize = 10;
/// At most this many by private message.
pub const PRIVATE_LINES: usize = 50;
/// One entry per IRC line: with the longest `:nick!user@host PRIVMSG #channel :` prefix a
/// server relays, 512 bytes leave about this much for the text.
const LINE_BYTES: usize = 360;

fn parse_id(word: Option<&str>, usage: &str) -> Result<i64, String> {
    let word = word.ok_or_else(|| usage.to_string())?;
    word.strip_prefix('#')
        .unwrap_or(word)
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{:?} is not an entry id (like #42). {usage}", truncate_bytes(word, 20)))
}

/// `T123456` (any case) as a task id, normalised.
fn task(word: &str) -> Option<String> {
    let digits = word.strip_prefix(['T', 't'])?;
    (!digits.is_empty() && !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("T{digits}"))
}

fn parse_since(word: &str) -> Result<Since, String> {
    let usage = "Usage: !sal since <90m|2h|3d|1w|YYYY-MM-DD> (UTC)";
    if let Ok(day) = NaiveDate::parse_from_str(word, "%Y-%m-%d") {
        return Ok(Since::Date(day));
    }
    if looks_like_date(word) {
        return Err(format!("{} is not a valid date (YYYY-MM-DD, UTC).", truncate_bytes(word, 20)));
    }
    let split = word.find(|c: char| !c.is_ascii_digit()).ok_or(usage)?;
    let (n, unit) = word.split_at(split);
    let n: i64 = n.parse().map_err(|_| usage.to_string())?;
    let minutes = match unit.to_ascii_lowercase().as_str() {
        "m" | "min" | "mins" => n,
        "h" | "hr" | "hrs" | "hour" | "hours" => n * 60,
        "d" | "day" | "days" => n * 60 * 24,
        "w" | "week" | "weeks" => n * 60 * 24 * 7,
        _ => return Err(usage.into()),
    };
    if !(1..=60 * 24 * 366).contains(&minutes) {
        return Err("!sal since looks back at most a year.".into());
    }
    Ok(Since::Ago(chrono::Duration::minutes(minutes)))
}

/// `2026-13-01`: shaped like a date, so the answer is about the date, not the usage.
fn looks_like_date(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `since` as it can be typed again.
fn since_arg(since: Since) -> String {
    match since {
        Since::Date(day) => day.to_string(),
        Since::Ago(d) => {
            let m = d.num_minutes();
            let (week, day, hour) = (60 * 24 * 7, 60 * 24, 60);
            match m {
                m if m % week == 0 => format!("{}w", m / week),
                m if m % day == 0 => format!("{}d", m / day),
                m if m % hour == 0 => format!("{}h", m / hour),
                m => format!("{m}m"),
            }
        }
    }
}

/// Parses the words after `!sal`.
pub fn parse(args: &str) -> Result<Sub, String> {
    let args = args.trim();
    let (first, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    let rest = rest.trim();
    let word = first.to_ascii_lowercase();
    Ok(match word.as_str() {
        "" => Sub::Last(None),
        "last" | "latest" | "tail" => match rest {
            "" => Sub::Last(None),
            n => Sub::Last(Some(n.parse::<usize>().ok().filter(|n| (1..=PRIVATE_LINES).contains(n)).ok_or_else(
                || {
                    format!(
                        "Usage: !sal last [n], n from 1 to {PRIVATE_LINES} (more than {CHANNEL_LINES} come privately)."
                    )
                },
            )?)),
        },
        "search" | "find" | "grep" => {
            // Colour and bold codes are not part of the words, and must not be echoed back.
            let rest = crate::text::strip_formatting(rest);
            let rest = rest.trim();
            if sal::fts_query(rest).is_none() {
                return Err("Usage: !sal search <words> (entries that contain all of them; word* for a prefix)".into());
            }
            Sub::Search(rest.to_string())
        }
        "since" => {
            if rest.is_empty() || rest.contains(char::is_whitespace) {
                return Err("Usage: !sal since <90m|2h|3d|1w|YYYY-MM-DD> (UTC)".into());
            }
            Sub::Since(parse_since(rest)?)
        }
        "amend" | "edit" | "fix" => {
            let usage = "Usage: !sal amend #id <new text>";
            let (id, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let id = parse_id(Some(id).filter(|w| !w.is_empty()), usage)?;
            if text.trim().is_empty() {
                return Err(usage.into());
            }
            Sub::Amend { id, text: text.trim().to_string() }
        }
        "redact" | "hide" => {
            let usage = "Usage: !sal redact #id <reason> (admins; the entry is hidden, not deleted)";
            let (id, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let id = parse_id(Some(id).filter(|w| !w.is_empty()), usage)?;
            if reason.trim().is_empty() {
                return Err(usage.into());
            }
            Sub::Redact { id, reason: reason.trim().to_string() }
        }
        "restore" | "unhide" => {
            let usage = "Usage: !sal restore #id (brings back an entry withdrawn with !log undo)";
            Sub::Restore(parse_id(Some(rest).filter(|w| !w.is_empty()), usage)?)
        }
        "status" => Sub::Status,
        "help" => Sub::Help,
        w if w.starts_with('#') && rest.is_empty() => Sub::Show(parse_id(Some(first), USAGE)?),
        w if w.bytes().all(|b| b.is_ascii_digit()) => {
            let w = truncate_bytes(w, 20);
            return Err(format!("Did you mean !sal #{w} (entry {w}) or !sal last {w}?"));
        }
        _ => match task(first) {
            Some(t) if rest.is_empty() => Sub::Task(t),
            _ => return Err(format!("Unknown !sal query {:?}. {USAGE}", truncate_bytes(first, 20))),
        },
    })
}

/// How many entries a list answers with by default: fewer in a channel.
fn lines(origin: &Origin) -> usize {
    if origin.channel.is_some() {
        CHANNEL_LINES
    } else {
        PRIVATE_LINES
    }
}

/// The scope of a query asked here: a security channel sees its own private entries too.
fn scope(origin: &Origin, channel: Option<&ChannelName>) -> Scope {
    Scope { channel: channel.map(ToString::to_string), private_of: origin.security_channel().map(ToString::to_string) }
}

/// How an entry is shown on IRC.
fn entry_line(e: &Entry, today: NaiveDate, privacy: Option<&Privacy>) -> String {
    let when = match e.time() {
        Some(t) if t.date_naive() == today => t.format("%H:%M").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => e.logged_at.clone(),
    };
    let text = match privacy {
        Some(p) => p.text(&e.message),
        None => std::borrow::Cow::Borrowed(e.message.as_str()),
    };
    truncate_bytes(&one_line(&format!("#{} {when} {}: {text}", e.id, e.nick)), LINE_BYTES)
}

fn web(ctx: &Context<'_>) -> Option<String> {
    ctx.config.web.base_url.as_deref().map(|b| format!("{}/sal", b.trim_end_matches('/')))
}

pub async fn run(sub: Sub, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    match execute(sub, ctx, store).await {
        Ok(replies) => replies,
        Err(refusal) => vec![ctx.reply(refusal)],
    }
}

async fn execute(sub: Sub, ctx: &Context<'_>, store: &Store) -> Result<Vec<Reply>, String> {
    let origin = &ctx.origin;
    if origin.our_channel().is_err() {
        return Err("This is not one of srebot's channels.".into());
    }
    match sub {
        Sub::Help => Ok(vec![ctx.reply(USAGE)]),
        Sub::Status => status(ctx, store).await.map(|line| vec![ctx.reply(line)]),
        Sub::Show(id) => show(id, origin, ctx, store).await.map(|line| vec![ctx.reply(line)]),
        Sub::Redact { id, reason } => redact(id, &reason, origin, ctx, store).await.map(|l| vec![ctx.reply(l)]),
        Sub::Amend { id, text } => amend(id, &text, origin, ctx, store).await.map(|l| vec![ctx.reply(l)]),
        Sub::Restore(id) => restore(id, origin, ctx, store).await.map(|l| vec![ctx.reply(l)]),
        Sub::Last(n) => {
            let q = Question {
                scope: scope(origin, origin.channel.as_ref()),
                filter: Filter::Latest,
                wanted: n.unwrap_or(DEFAULT_LAST),
                nothing: match &origin.channel {
                    Some(c) => format!("No entries in {c} yet."),
                    None => "No entries yet.".to_string(),
                },
                privately: format!("!sal last {PRIVATE_LINES}"),
            };
            list(ctx, store, origin, q).await
        }
        Sub::Since(since) => {
            let from = match since {
                Since::Ago(d) => ctx.msg.time - d,
                Since::Date(day) => day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(ctx.msg.time),
            };
            let q = Question {
                scope: scope(origin, origin.channel.as_ref()),
                filter: Filter::Since(from),
                wanted: lines(origin),
                nothing: format!("No entries since {} UTC.", from.format("%Y-%m-%d %H:%M")),
                privately: format!("!sal since {}", since_arg(since)),
            };
            list(ctx, store, origin, q).await
        }
        Sub::Task(t) => {
            let q = Question {
                scope: scope(origin, None),
                filter: Filter::Task(t.clone()),
                wanted: lines(origin),
                nothing: format!("No entries mention {t}."),
                privately: format!("!sal {t}"),
            };
            list(ctx, store, origin, q).await
        }
        Sub::Search(words) => {
            let q = Question {
                scope: scope(origin, None),
                filter: Filter::Search(sal::fts_query(&words).ok_or(USAGE)?),
                wanted: lines(origin),
                nothing: format!("Nothing found for {:?}.", truncate_bytes(&words, 60)),
                privately: format!("!sal search {}", one_line(&words)),
            };
            list(ctx, store, origin, q).await
        }
    }
}

/// A query and how to talk about its answer.
struct Question {
    scope: Scope,
    filter: Filter,
    /// How many entries the asker wants.
    wanted: usize,
    /// The answer when nothing matched.
    nothing: String,
    /// The command to suggest for asking privately.
    privately: String,
}

/// Runs a query and lays out the answer: where it goes, how many lines, and the footer.
async fn list(ctx: &Context<'_>, store: &Store, origin: &Origin, q: Question) -> Result<Vec<Reply>, String> {
    let Question { scope, filter, wanted, nothing, privately } = q;
    let asker = ctx.msg.sender.nick.clone();
    // Long answers go privately, except from a security channel: its entries never leave it.
    let (target, limit) = match &origin.channel {
        Some(c) if origin.security => (c.to_string(), wanted.min(CHANNEL_LINES)),
        Some(c) if wanted <= CHANNEL_LINES => (c.to_string(), wanted),
        Some(_) => (asker.clone(), wanted.min(PRIVATE_LINES)),
        None => (asker.clone(), wanted.min(PRIVATE_LINES)),
    };
    let found = store
        .call(move |conn| sal::query(conn, &scope, &filter, limit))
        .await
        .map_err(|e| format!("Cannot read the log: {e}"))?;
    if found.entries.is_empty() {
        return Ok(vec![ctx.reply(nothing)]);
    }
    let privacy = Privacy::from_config(&ctx.config.sal);
    let privacy = (!origin.security).then_some(&privacy);
    let today = ctx.msg.time.date_naive();
    let mut out: Vec<Reply> =
        found.entries.iter().map(|e| Reply::say(&target, entry_line(e, today, privacy))).collect();
    let more = found.total.saturating_sub(found.entries.len());
    let mut footer = Vec::new();
    if more > 0 {
        let hint = if origin.security {
            "narrow it down (private entries stay in this channel)".to_string()
        } else if origin.channel.is_some() && privately.len() <= 120 {
            format!("/msg {} {privately} for up to {PRIVATE_LINES}", ctx.config.irc.nick)
        } else if origin.channel.is_some() {
            // Search words too long to repeat in a one-line footer.
            format!("ask me by private message for up to {PRIVATE_LINES}")
        } else {
            "narrow it down".to_string()
        };
        footer.push(format!("…and {more} more: {hint}"));
    }
    if let Some(web) = web(ctx).filter(|_| !origin.security) {
        footer.push(format!("web: {web}"));
    }
    if !footer.is_empty() {
        out.push(Reply::say(&target, footer.join(" — ")));
    }
    if origin.channel.as_ref().is_some_and(|c| c.as_str() != target) {
        out.insert(0, ctx.reply(format!("{asker}: sent you {} entries privately.", found.entries.len())));
    }
    Ok(out)
}

async fn show(id: i64, origin: &Origin, ctx: &Context<'_>, store: &Store) -> Result<String, String> {
    let (entry, corrections) = store
        .call(move |conn| {
            let e = sal::get(conn, id)?;
            let c = if e.is_some() { sal::corrections(conn, id)? } else { Vec::new() };
            Ok((e, c))
        })
        .await
        .map_err(|e| format!("Cannot read the log: {e}"))?;
    // A private entry asked for elsewhere gets the same answer as a missing one.
    let Some(e) = entry.filter(|e| origin.may_see(e.private, &e.channel)) else {
        return Err(format!("No entry #{id}."));
    };
    if e.is_hidden() {
        let why = corrections.iter().rev().find(|c| c.kind != Kind::Amend);
        return Ok(match why {
            Some(c) if c.kind == Kind::Undo => {
                format!("#{id} was withdrawn by its author {} ({}).", c.actor_nick, short_time(&c.at))
            }
            // Why is for the security channel and the CLI: a reason can name what was wrong
            // with the entry (a customer's address, a host), which is what the redaction hid.
            Some(c) if origin.security => format!(
                "#{id} was redacted by {} on {}: {}",
                c.actor_nick,
                short_time(&c.at),
                truncate_bytes(&one_line(&c.reason), 200)
            ),
            Some(c) => format!("#{id} was redacted by {} on {}.", c.actor_nick, short_time(&c.at)),
            None => format!("#{id} is hidden."),
        });
    }
    let privacy = Privacy::from_config(&ctx.config.sal);
    let mut line = entry_line(&e, ctx.msg.time.date_naive(), (!origin.security).then_some(&privacy));
    if e.amended_at.is_some() {
        line.push_str(" (amended)");
    }
    if let Some(web) = web(ctx).filter(|_| !origin.security) {
        line.push_str(&format!(" — {web}/{id}"));
    }
    Ok(line)
}

fn short_time(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.to_utc().format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// `!sal restore #id`: brings back an entry its author withdrew with `!log undo`, by the author
/// or an admin, while an undo would still be allowed. A redaction is an admin's decision and is
/// not undone here. Recorded in the audit trail; the publisher puts the entry back on the wiki.
async fn restore(id: i64, origin: &Origin, ctx: &Context<'_>, store: &Store) -> Result<String, String> {
    let (who, targets, is_admin) = (origin.actor(), Targets::from_config(ctx.config), ctx.level >= Level::Admin);
    let origin = origin.clone();
    let minutes = ctx.config.sal.undo_minutes;
    let window = chrono::Duration::minutes(i64::from(minutes));
    let outcome = store
        .call(move |conn| {
            let Some(e) = sal::get(conn, id)?.filter(|e| origin.may_see(e.private, &e.channel)) else {
                return Ok(Err(format!("No entry #{id}.")));
            };
            if !e.is_hidden() {
                return Ok(Err(format!("#{id} is not withdrawn.")));
            }
            let last = sal::corrections(conn, id)?.into_iter().rev().find(|c| c.kind != Kind::Amend);
            if last.is_some_and(|c| c.kind != Kind::Undo) {
                return Ok(Err(format!("#{id} was redacted by an admin: !sal restore brings back only what !log undo took.")));
            }
            let author = e.relayed_by.is_none()
                && e.account.as_deref().is_some_and(|a| who.account.as_deref().is_some_and(|w| w.eq_ignore_ascii_case(a)));
            if !author && !is_admin {
                return Ok(Err(format!("Only the author of #{id} or an admin can restore it.")));
            }
            if e.time().is_none_or(|t| who.at - t > window) {
                return Ok(Err(format!(
                    "#{id} was logged more than {minutes} minutes ago: it stays withdrawn. Log it again if it still holds."
                )));
            }
            sal::restore(conn, &e, &who)?;
            let queued = targets.enqueue(conn, id, &e.channel, e.private, Action::Publish, who.at)?;
            Ok(Ok((e, queued)))
        })
        .await
        .map_err(|e| format!("NOT restored: {e}"))??;
    let (e, queued) = outcome;
    if queued {
        publish::wake();
    }
    Ok(format!("Restored #{id} ({}): back in queries, the web and the wiki.", truncate_bytes(&e.message, 80)))
}

async fn redact(id: i64, reason: &str, origin: &Origin, ctx: &Context<'_>, store: &Store) -> Result<String, String> {
    if ctx.level < Level::Admin {
        let admins = &ctx.config.access.admins;
        let ask = if admins.is_empty() { "the bot's operator".to_string() } else { admins.join(", ") };
        return Err(format!(
            "!sal redact is for srebot's admins ({ask}). The author can !log undo within {} minutes or !sal amend.",
            ctx.config.sal.undo_minutes
        ));
    }
    let reason = strip_formatting(reason).trim().to_string();
    // The reason is stored and shown in security channels: it must not carry what it hides.
    if let Some(why) = crate::privacy::looks_like_secret(&reason) {
        return Err(format!(
            "NOT redacted: that reason looks like a secret ({why}). Nothing was changed; say what was wrong, not the \
             credential."
        ));
    }
    let (who, targets, origin) = (origin.actor(), Targets::from_config(ctx.config), origin.clone());
    let outcome = store
        .call(move |conn| {
            let Some(e) = sal::get(conn, id)?.filter(|e| origin.may_see(e.private, &e.channel)) else {
                return Ok(Err(format!("No entry #{id}.")));
            };
            if !sal::hide(conn, &e, Kind::Redact, &who, &reason)? {
                return Ok(Err(format!("#{id} is already hidden.")));
            }
            let queued = targets.enqueue(conn, id, &e.channel, e.private, Action::Remove, who.at)?;
            Ok(Ok(queued))
        })
        .await
        .map_err(|e| format!("NOT redacted: {e}"))??;
    if outcome {
        publish::wake();
    }
    Ok(format!("Redacted #{id}: hidden from queries, the web and the wiki. The original is kept for admins."))
}

async fn amend(id: i64, text: &str, origin: &Origin, ctx: &Context<'_>, store: &Store) -> Result<String, String> {
    let text = strip_formatting(text).trim().to_string();
    if text.is_empty() {
        return Err("Usage: !sal amend #id <new text>".into());
    }
    if let Some(why) = crate::privacy::looks_like_secret(&text) {
        return Err(format!("NOT amended: that looks like a secret ({why}). Nothing was changed."));
    }
    let Some(account) = ctx.msg.sender.account.clone() else {
        return Err("!sal amend: identify to services first (authors are known by account).".into());
    };
    let admin = ctx.level >= Level::Admin;
    let tasks = crate::text::task_refs(&text);
    let (who, targets, origin) = (origin.actor(), Targets::from_config(ctx.config), origin.clone());
    let queued = store
        .call(move |conn| {
            let Some(e) = sal::get(conn, id)?.filter(|e| origin.may_see(e.private, &e.channel)) else {
                return Ok(Err(format!("No entry #{id}.")));
            };
            let author =
                e.relayed_by.is_none() && e.account.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&account));
            if !author && !admin {
                return Ok(Err(format!("#{id} is {}'s entry: only its author or an admin may amend it.", e.nick)));
            }
            if e.message == text {
                return Ok(Err(format!("#{id} already says that.")));
            }
            if !sal::amend(conn, &e, &text, &tasks, &who)? {
                return Ok(Err(format!("#{id} is hidden: it cannot be amended.")));
            }
            Ok(Ok(targets.enqueue(conn, id, &e.channel, e.private, Action::Update, who.at)?))
        })
        .await
        .map_err(|e| format!("NOT amended: {e}"))??;
    if queued {
        publish::wake();
    }
    Ok(format!("Amended #{id} (the old text is kept)."))
}

async fn status(ctx: &Context<'_>, store: &Store) -> Result<String, String> {
    let Some(mw) = &ctx.config.publish.mediawiki else {
        return Ok("Publishing is off: no [publish.mediawiki] in srebot's config.".into());
    };
    let s = store
        .call(|conn| sal::outbox_status(conn, publish::MEDIAWIKI))
        .await
        .map_err(|e| format!("Cannot read the outbox: {e}"))?;
    let page = truncate_bytes(&mw.page, 80);
    if s.pending == 0 {
        let last = s.last_done_at.as_deref().map(|t| format!(" Last published {}.", short_time(t))).unwrap_or_default();
        return Ok(format!("MediaWiki ({page}): nothing waiting.{last}"));
    }
    let mut line = format!(
        "MediaWiki ({page}): {} change{} waiting ({} entr{}).",
        s.pending,
        if s.pending == 1 { "" } else { "s" },
        s.pending_entries,
        if s.pending_entries == 1 { "y" } else { "ies" }
    );
    if let Some((at, why)) = &s.last_error {
        line.push_str(&format!(" Last error {}: {}.", short_time(at), truncate_bytes(&one_line(why), 160)));
    }
    if let Some(next) = &s.next_attempt_at {
        line.push_str(&format!(" Next try {}.", short_time(next)));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irc::{Incoming, Sender};
    use crate::store::Actor;

    fn config() -> crate::config::Config {
        crate::testing::config(
            r##"
[access]
accounts = ["alice", "bob"]
admins = ["root"]
[web]
base_url = "https://sal.example/"
"##,
        )
    }

    fn msg(channel: Option<&str>, account: &str) -> Incoming {
        Incoming {
            time: "2026-11-22T12:00:00Z".parse().unwrap(),
            channel: channel.map(Into::into),
            sender: Sender { nick: account.into(), user: "u".into(), host: "h".into(), account: Some(account.into()) },
            text: String::new(),
        }
    }

    static NOBODY: std::sync::LazyLock<crate::cmd::testing::FakeDirectory> = std::sync::LazyLock::new(Default::default);

    async fn ask(
        c: &crate::config::Config,
        store: &Store,
        channel: Option<&str>,
        account: &str,
        args: &str,
    ) -> Vec<Reply> {
        let m = msg(channel, account);
        let ctx = Context {
            config: c,
            clock: &crate::clock::Clock::System,
            msg: &m,
            level: crate::access::level(&c.access, &m.sender),
            is_relay: false,
            directory: &*NOBODY,
            origin: crate::cmd::Origin::of(c, &m),
        };
        match parse(args) {
            Ok(sub) => run(sub, &ctx, store).await,
            Err(e) => vec![ctx.reply(e)],
        }
    }

    fn texts(r: &[Reply]) -> Vec<&str> {
        r.iter().map(|r| r.text.as_str()).collect()
    }

    async fn seeded() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = Store::open(&dir.path().join("db.sqlite3"));
        store
            .call(|conn| {
                let mut e = sal::NewEntry {
                    logged_at: "2026-11-21T09:00:00Z".parse().unwrap(),
                    channel: "#sre".into(),
                    nick: "alice".into(),
                    account: Some("alice".into()),
                    userhost: "a@h".into(),
                    relayed_by: None,
                    message: "restarted db151 for T100".into(),
                    private: false,
                    via_private_message: false,
                    tasks: vec!["T100".into()],
                };
                sal::insert(conn, &e)?; // 1, yesterday
                e.logged_at = "2026-11-22T10:00:00Z".parse().unwrap();
                e.channel = "#sre-security".into();
                e.private = true;
                e.message = "rotated keys for T100 on 198.51.100.4".into();
                sal::insert(conn, &e)?; // 2, private
                e.channel = "#sre".into();
                e.private = false;
                e.tasks = vec![];
                for i in 0..14 {
                    e.logged_at = format!("2026-11-22T11:{i:02}:00Z").parse().unwrap();
                    e.nick = "bob".into();
                    e.account = Some("bob".into());
                    e.message = format!("deploy {i} from 203.0.113.7");
                    sal::insert(conn, &e)?; // 3..=16
                }
                Ok(())
            })
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn queries_answer_one_line_per_entry_and_keep_private_entries_home() {
        let c = config();
        let (_dir, store) = seeded().await;
        let r = ask(&c, &store, Some("#sre"), "eve", "").await;
        assert_eq!(r.len(), 6, "{r:?}");
        assert_eq!(r[0].text, "#16 11:13 bob: deploy 13 from [IP hidden]");
        assert!(r.iter().all(|r| r.target == "#sre"));
        assert!(
            r[5].text.contains("…and 10 more: /msg srebot !sal last 50")
                && r[5].text.contains("web: https://sal.example/sal")
        );
        // Long answers go privately, with a note in the channel.
        let r = ask(&c, &store, Some("#sre"), "eve", "last 20").await;
        assert_eq!(r[0], Reply::say("#sre", "eve: sent you 15 entries privately."));
        assert_eq!(r.len(), 17, "15 entries, the note, the web footer");
        assert!(r[1..].iter().all(|r| r.target == "eve"));
        assert_eq!(r[15].text, "#1 2026-11-21 09:00 alice: restarted db151 for T100", "other days carry their date");
        assert!(!r.iter().any(|r| r.text.contains("rotated")), "never the private entry");
        // In the security channel: its private entry, unmasked, at most 10 lines, never privately.
        let r = ask(&c, &store, Some("#sre-security"), "alice", "last 30").await;
        assert_eq!(texts(&r), vec!["#2 10:00 alice: rotated keys for T100 on 198.51.100.4"]);
        let r = ask(&c, &store, Some("#sre-security"), "alice", "T100").await;
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|r| r.target == "#sre-security"));
        let r = ask(&c, &store, Some("#sre"), "alice", "T100").await;
        assert_eq!(
            texts(&r),
            vec!["#1 2026-11-21 09:00 alice: restarted db151 for T100", "web: https://sal.example/sal"]
        );
        let r = ask(&c, &store, None, "eve", "T100").await;
        assert_eq!(r[0].target, "eve");
        assert_eq!(r.len(), 2, "by private message: public entries only");
        // #id: the private entry is 'missing' outside its channel.
        assert_eq!(texts(&ask(&c, &store, Some("#sre"), "alice", "#2").await), vec!["No entry #2."]);
        assert_eq!(texts(&ask(&c, &store, None, "alice", "#2").await), vec!["No entry #2."]);
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre-security"), "alice", "#2").await),
            vec!["#2 10:00 alice: rotated keys for T100 on 198.51.100.4"]
        );
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre"), "eve", "#3").await),
            vec!["#3 11:00 bob: deploy 0 from [IP hidden] — https://sal.example/sal/3"]
        );
        assert_eq!(texts(&ask(&c, &store, Some("#sre"), "eve", "#99").await), vec!["No entry #99."]);
        // Search and since.
        let r = ask(&c, &store, Some("#sre"), "eve", "search restarted").await;
        assert_eq!(r[0].text, "#1 2026-11-21 09:00 alice: restarted db151 for T100");
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre"), "eve", "search rotated").await),
            vec!["Nothing found for \"rotated\"."]
        );
        // Colour codes are not echoed back, in the answer or in the footer.
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre"), "eve", "search \x0304rotated\x03 \x02keys\x02").await),
            vec!["Nothing found for \"rotated keys\"."]
        );
        let r = ask(&c, &store, Some("#sre"), "eve", "search \x0304deploy\x03 from").await;
        assert!(r[10].text.starts_with("…and 4 more: /msg srebot !sal search deploy from for up to 50"), "{r:?}");
        let r = ask(&c, &store, Some("#sre"), "eve", "since 50m").await;
        assert_eq!(r.len(), 5, "11:10 to 11:13, and the footer: {r:?}");
        let r = ask(&c, &store, Some("#sre"), "eve", "since 2026-11-22").await;
        assert_eq!(r.len(), 11, "10 lines in a channel, and the footer");
        // The footer names the command to type for the rest, as it can be typed.
        assert!(r[10].text.starts_with("…and 4 more: /msg srebot !sal since 2026-11-22 for up to 50"), "{r:?}");
        let r = ask(&c, &store, Some("#sre"), "eve", "since 120m").await;
        assert!(r[10].text.starts_with("…and 4 more: /msg srebot !sal since 2h for up to 50"), "{r:?}");
        let r = ask(&c, &store, Some("#sre"), "eve", "search  deploy from").await;
        assert!(r[10].text.starts_with("…and 4 more: /msg srebot !sal search deploy from for up to 50"), "{r:?}");
        // Words too long to repeat in the footer (found by the bot_message fuzz target).
        let r = ask(&c, &store, Some("#sre"), "eve", &format!("search deploy{}", " from".repeat(40))).await;
        assert!(r[10].text.starts_with("…and 4 more: ask me by private message for up to 50"), "{r:?}");
        assert!(r.iter().all(|r| r.text.len() <= 400), "{r:?}");
        assert_eq!(since_arg(Since::Ago(chrono::Duration::minutes(90))), "90m");
        assert_eq!(since_arg(Since::Ago(chrono::Duration::days(14))), "2w");
        assert_eq!(since_arg(Since::Ago(chrono::Duration::days(3))), "3d");
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre"), "eve", "since 1m").await),
            vec!["No entries since 2026-11-22 11:59 UTC."]
        );
    }

    #[tokio::test]
    async fn corrections_check_rights_and_keep_the_trail() {
        let c = config();
        let (_dir, store) = seeded().await;
        // redact: admins only, and a private entry only from its own channel.
        let r = ask(&c, &store, Some("#sre"), "alice", "redact #3 wrong").await;
        assert!(r[0].text.starts_with("!sal redact is for srebot's admins (root)"), "{r:?}");
        assert_eq!(texts(&ask(&c, &store, Some("#sre"), "root", "redact #2 x").await), vec!["No entry #2."]);
        let r = ask(&c, &store, Some("#sre"), "root", "redact #3 contained a customer IP").await;
        assert!(r[0].text.starts_with("Redacted #3"), "{r:?}");
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre"), "root", "redact #3 again").await),
            vec!["#3 is already hidden."]
        );
        // Publicly: who and when, never why (the reason may name what the redaction hid).
        let shown = ask(&c, &store, Some("#sre"), "eve", "#3").await;
        assert_eq!(texts(&shown), vec!["#3 was redacted by root on 2026-11-22 12:00 UTC."]);
        assert_eq!(texts(&ask(&c, &store, None, "eve", "#3").await), texts(&shown), "by private message too");
        // In a security channel, the reason too.
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre-security"), "root", "#3").await),
            vec!["#3 was redacted by root on 2026-11-22 12:00 UTC: contained a customer IP"]
        );
        // A reason that looks like a secret is refused and not echoed; the entry stays visible.
        let r = ask(&c, &store, Some("#sre"), "root", "redact #5 it had password=Tr0ub4dor&3xyz in it").await;
        assert!(r[0].text.starts_with("NOT redacted: that reason looks like a secret (password assignment)"), "{r:?}");
        assert!(!r[0].text.contains("Tr0ub4dor"));
        assert!(ask(&c, &store, Some("#sre"), "eve", "#5").await[0].text.starts_with("#5 11:02 bob: deploy 2"));
        assert_eq!(store.call(|conn| sal::corrections(conn, 5)).await.unwrap(), vec![]);
        assert!(!ask(&c, &store, Some("#sre"), "eve", "search deploy").await.iter().any(|r| r.text.starts_with("#3 ")));
        // amend: the author or an admin; secrets refused; the old text kept.
        let r = ask(&c, &store, Some("#sre"), "alice", "amend #4 deploy 1 to canaries").await;
        assert_eq!(texts(&r), vec!["#4 is bob's entry: only its author or an admin may amend it."]);
        let r = ask(&c, &store, Some("#sre"), "bob", "amend #4 deploy with password=hunter2hunter2").await;
        assert!(r[0].text.starts_with("NOT amended: that looks like a secret (password assignment)"), "{r:?}");
        assert!(!r[0].text.contains("hunter2"));
        let r = ask(&c, &store, Some("#sre"), "bob", "amend #4 deploy 1 to canaries T200").await;
        assert_eq!(texts(&r), vec!["Amended #4 (the old text is kept)."]);
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre"), "root", "amend #4 deploy 1 to canaries T200").await),
            vec!["#4 already says that."]
        );
        let r = ask(&c, &store, Some("#sre"), "eve", "T200").await;
        assert!(r[0].text.starts_with("#4 11:01 bob: deploy 1 to canaries T200"), "{r:?}");
        assert!(ask(&c, &store, Some("#sre"), "eve", "#4").await[0].text.contains("(amended)"));
        assert_eq!(
            texts(&ask(&c, &store, Some("#sre"), "root", "amend #3 x").await),
            vec!["#3 is hidden: it cannot be amended."]
        );
        let trail = store.call(|conn| sal::corrections(conn, 4)).await.unwrap();
        assert_eq!(trail[0].old_text, "deploy 1 from 203.0.113.7");
        assert_eq!(trail[0].actor_account.as_deref(), Some("bob"));
    }

    #[tokio::test]
    async fn restore_brings_back_a_withdrawn_entry_for_its_author_or_an_admin() {
        let mut c = config();
        c.sal.undo_minutes = 60;
        let (_dir, store) = seeded().await;
        let at = |t: &str| Actor { at: t.parse().unwrap(), nick: "x".into(), account: Some("x".into()) };
        store
            .call(move |conn| {
                let bob = Actor { account: Some("bob".into()), ..at("2026-11-22T11:50:00Z") };
                sal::hide(conn, &sal::get(conn, 16)?.unwrap(), Kind::Undo, &bob, "")?;
                sal::hide(conn, &sal::get(conn, 14)?.unwrap(), Kind::Undo, &bob, "")?;
                let root = Actor { account: Some("root".into()), ..at("2026-11-22T11:51:00Z") };
                sal::hide(conn, &sal::get(conn, 15)?.unwrap(), Kind::Redact, &root, "a customer's address")
            })
            .await
            .unwrap();
        let said = |channel: Option<&'static str>, who: &'static str, args: &'static str| {
            let (c, store) = (&c, &store);
            async move { ask(c, store, channel, who, args).await.remove(0).text }
        };
        assert_eq!(
            said(Some("#sre"), "alice", "restore #16").await,
            "Only the author of #16 or an admin can restore it."
        );
        assert_eq!(
            said(Some("#sre"), "bob", "restore #16").await,
            "Restored #16 (deploy 13 from 203.0.113.7): back in queries, the web and the wiki."
        );
        assert!(!store.call(|conn| sal::get(conn, 16)).await.unwrap().unwrap().is_hidden());
        let trail = store.call(|conn| sal::corrections(conn, 16)).await.unwrap();
        let kinds: Vec<Kind> = trail.iter().map(|k| k.kind).collect();
        assert_eq!(kinds, vec![Kind::Undo, Kind::Restore]);
        assert_eq!(
            (trail[1].actor_account.as_deref(), trail[1].at.as_str()),
            (Some("bob"), "2026-11-22T12:00:00.000Z")
        );
        assert_eq!(said(Some("#sre"), "bob", "restore #16").await, "#16 is not withdrawn.");
        assert_eq!(
            said(Some("#sre"), "root", "restore 14").await.split(':').next(),
            Some("Restored #14 (deploy 11 from 203.0.113.7)")
        );
        assert!(said(Some("#sre"), "root", "restore #15").await.contains("redacted by an admin"));
        assert_eq!(said(Some("#sre"), "bob", "restore #2").await, "No entry #2.");
        // Out of the undo window, it stays withdrawn.
        c.sal.undo_minutes = 15;
        store
            .call(move |conn| {
                let bob = Actor { account: Some("bob".into()), ..at("2026-11-22T11:55:00Z") };
                sal::hide(conn, &sal::get(conn, 16)?.unwrap(), Kind::Undo, &bob, "")
            })
            .await
            .unwrap();
        let late = ask(&c, &store, Some("#sre"), "bob", "restore #16").await.remove(0).text;
        assert!(late.starts_with("#16 was logged more than 15 minutes ago: it stays withdrawn."), "{late}");
        assert_eq!(
            parse("restore"),
            Err("Usage: !sal restore #id (brings back an entry withdrawn with !log undo)".into())
        );
    }

    #[tokio::test]
    async fn status_without_a_wiki_says_so() {
        let c = config();
        let (_dir, store) = seeded().await;
        let r = ask(&c, &store, Some("#sre"), "eve", "status").await;
        assert_eq!(texts(&r), vec!["Publishing is off: no [publish.mediawiki] in srebot's config."]);
        assert_eq!(texts(&ask(&c, &store, Some("#sre"), "eve", "help").await), vec![USAGE]);
    }

    #[test]
    fn parses_queries() {
        assert_eq!(parse(""), Ok(Sub::Last(None)));
        assert_eq!(parse("last"), Ok(Sub::Last(None)));
        assert_eq!(parse("LAST 30"), Ok(Sub::Last(Some(30))));
        assert!(parse("last 51").unwrap_err().contains("1 to 50"));
        assert!(parse("last 0").is_err());
        assert!(parse("last x").is_err());
        assert_eq!(parse("#42"), Ok(Sub::Show(42)));
        assert!(parse("#x").unwrap_err().contains("not an entry id"));
        assert!(parse("42").unwrap_err().contains("!sal #42"));
        assert_eq!(parse("T123456"), Ok(Sub::Task("T123456".into())));
        assert_eq!(parse("t99"), Ok(Sub::Task("T99".into())));
        assert!(parse("T0123").is_err());
        assert_eq!(parse("search db151  restart"), Ok(Sub::Search("db151  restart".into())));
        assert_eq!(parse("search \x0304,12db151\x03 \x1Frestart"), Ok(Sub::Search("db151 restart".into())));
        assert!(parse("search \x0304\x02").is_err());
        assert!(parse("search").is_err());
        assert!(parse("search - *").is_err());
        assert_eq!(parse("since 2h"), Ok(Sub::Since(Since::Ago(chrono::Duration::hours(2)))));
        assert_eq!(parse("since 90m"), Ok(Sub::Since(Since::Ago(chrono::Duration::minutes(90)))));
        assert_eq!(parse("since 1w"), Ok(Sub::Since(Since::Ago(chrono::Duration::days(7)))));
        assert_eq!(
            parse("since 2026-11-22"),
            Ok(Sub::Since(Since::Date(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap())))
        );
        assert!(parse("since").is_err());
        assert!(parse("since 2 h").is_err());
        assert!(parse("since 5y").is_err());
        assert!(parse("since 400d").unwrap_err().contains("a year"));
        assert_eq!(parse("since 2026-13-01"), Err("2026-13-01 is not a valid date (YYYY-MM-DD, UTC).".into()));
        assert_eq!(parse("since 2026-02-30"), Err("2026-02-30 is not a valid date (YYYY-MM-DD, UTC).".into()));
        assert_eq!(parse("status"), Ok(Sub::Status));
        assert_eq!(parse("help"), Ok(Sub::Help));
        assert!(parse("frobnicate").unwrap_err().starts_with("Unknown !sal query"));
    }

    #[test]
    fn parses_corrections() {
        assert_eq!(
            parse("redact #5 contained a customer IP"),
            Ok(Sub::Redact { id: 5, reason: "contained a customer IP".into() })
        );
        assert_eq!(parse("redact 5 typo"), Ok(Sub::Redact { id: 5, reason: "typo".into() }));
        assert!(parse("redact #5").unwrap_err().contains("<reason>"));
        assert!(parse("redact").unwrap_err().contains("<reason>"));
        assert_eq!(
            parse("amend #7 restarted db151, not db115"),
            Ok(Sub::Amend { id: 7, text: "restarted db151, not db115".into() })
        );
        assert!(parse("amend #7").is_err());
        assert!(parse("amend seven x").unwrap_err().contains("not an entry id"));
    }

    #[test]
    fn formats_one_line_per_entry() {
        let e = Entry {
            id: 42,
            logged_at: "2026-11-22T10:05:00.000Z".into(),
            channel: "#sre".into(),
            nick: "alice".into(),
            account: None,
            userhost: "a@h".into(),
            relayed_by: None,
            message: format!("moved 203.0.113.5 {}", "x".repeat(600)),
            private: false,
            tasks: vec![],
            hidden_at: None,
            amended_at: None,
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let privacy = Privacy::from_config(&crate::config::SalConfig::default());
        let line = entry_line(&e, today, Some(&privacy));
        assert!(line.starts_with("#42 10:05 alice: moved [IP hidden] xxx"), "{line}");
        assert!(line.len() <= LINE_BYTES && line.ends_with('…'));
        let other_day = entry_line(&e, today.succ_opt().unwrap(), None);
        assert!(other_day.starts_with("#42 2026-11-22 10:05 alice: moved 203.0.113.5"), "{other_day}");
    }
}
