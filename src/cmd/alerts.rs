//! `!alerts`: what fires now in this channel, `!alerts history [24h]`, `!alerts ack <id|name> [note]`.
//!
//! An alert's scope is the channels it was routed to, so a security channel's alerts are only
//! ever shown there; and, as for `!sal`, nothing is sent privately from a security channel.

use super::{Context, Reply};
use crate::access::Level;
use crate::alerts::line::describe;
use crate::store::alert::{self as db, AlertRow};
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};

pub const USAGE: &str = "!alerts: what fires here now; !alerts history [24h|90m|3d]; !alerts ack <#id|name> [note] \
                         (you take it: shown on later repeats). !silence <name|#id> <2h> <reason>, !silence list, \
                         !silence expire <id>.";

/// Lines said in the channel; the rest go privately (from a public channel).
const IN_CHANNEL: usize = 3;
/// At most this many in all.
const MOST: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    Firing,
    History { back: Duration },
    Ack { target: Target, note: String },
}

/// An alert by number, or every firing alert of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id(i64),
    Name(String),
}

impl Target {
    pub fn parse(word: &str) -> Target {
        match word.trim_start_matches('#').parse::<i64>() {
            Ok(id) if id > 0 => Target::Id(id),
            _ => Target::Name(word.to_string()),
        }
    }
}

pub fn parse(args: &str) -> Result<Sub, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        [] => Ok(Sub::Firing),
        [first, rest @ ..] => match first.to_ascii_lowercase().as_str() {
            "history" => match rest {
                [] => Ok(Sub::History { back: Duration::hours(24) }),
                [d] => Ok(Sub::History { back: duration(d).ok_or(USAGE)? }),
                _ => Err(USAGE.into()),
            },
            "ack" | "take" => match rest {
                [target, note @ ..] => Ok(Sub::Ack { target: Target::parse(target), note: note.join(" ") }),
                [] => Err("Usage: !alerts ack <#id|name> [note]".into()),
            },
            _ => Err(USAGE.into()),
        },
    }
}

/// `90m`, `2h`, `3d`, `1w` (at most 30 days).
pub fn duration(word: &str) -> Option<Duration> {
    let split = word.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = word.split_at(split);
    let n: i64 = n.parse().ok()?;
    let minutes = match unit.to_ascii_lowercase().as_str() {
        "m" | "min" | "mins" => n,
        "h" | "hr" | "hrs" | "hour" | "hours" => n * 60,
        "d" | "day" | "days" => n * 60 * 24,
        "w" | "week" | "weeks" => n * 60 * 24 * 7,
        _ => return None,
    };
    (1..=60 * 24 * 30).contains(&minutes).then(|| Duration::minutes(minutes))
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

/// `#12 MediaWikiDown mw151: returns 503, since 10:02 (taken by alice: on it)`.
pub fn firing_line(a: &AlertRow) -> String {
    let taken = a
        .acked_by
        .as_ref()
        .map(|by| format!(" (taken by {by}{})", a.ack_note.as_deref().map(|n| format!(": {n}")).unwrap_or_default()))
        .unwrap_or_default();
    let url = if a.url.is_empty() { String::new() } else { format!(" — {}", a.url) };
    format!("#{} {}, since {} UTC{taken}{url}", a.id, describe(a), hhmm(a.starts_at))
}

pub async fn run(sub: Sub, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    let Some(channel) = ctx.msg.channel.clone() else {
        return vec![ctx.reply("Ask in the channel: alerts are kept per channel.")];
    };
    let security = ctx.origin.security;
    let now = ctx.clock.now();
    match sub {
        Sub::Firing => {
            let chan = channel.clone();
            match store.call(move |c| db::firing_in(c, &chan)).await {
                Err(e) => vec![ctx.reply(format!("Alerts unavailable: {e}"))],
                Ok(found) if found.is_empty() => vec![ctx.reply(format!("Nothing is firing in {channel}."))],
                Ok(found) => {
                    let head = format!("{} firing in {channel}:", found.len());
                    spread(ctx, security, head, found.iter().map(firing_line).collect(), "!alerts")
                }
            }
        }
        Sub::History { back } => {
            let chan = channel.clone();
            match store.call(move |c| db::history_in(c, &chan, now - back, MOST + 1)).await {
                Err(e) => vec![ctx.reply(format!("Alerts unavailable: {e}"))],
                Ok(found) if found.is_empty() => {
                    vec![ctx.reply(format!("No alerts in {channel} in the last {}.", human(back)))]
                }
                Ok(found) => {
                    let lines = found
                        .iter()
                        .map(|(at, fired, a)| {
                            let what = if *fired { "FIRING" } else { "RESOLVED" };
                            format!("{} {what} #{} {}", at.format("%m-%d %H:%M"), a.id, describe(a))
                        })
                        .collect();
                    let head = format!("Alerts in {channel} in the last {}, newest first:", human(back));
                    spread(ctx, security, head, lines, "!alerts history")
                }
            }
        }
        Sub::Ack { target, note } => {
            if ctx.level < Level::Member {
                return vec![ctx.reply(ctx.not_allowed("!alerts ack"))];
            }
            let account = ctx.msg.sender.account.clone().unwrap_or_else(|| ctx.msg.sender.nick.clone());
            let note = crate::text::strip_formatting(&note).trim().to_string();
            let chan = channel.clone();
            let result = store
                .call(move |c| {
                    let firing = db::firing_in(c, &chan)?;
                    let chosen: Vec<&AlertRow> = firing
                        .iter()
                        .filter(|a| match &target {
                            Target::Id(id) => a.id == *id,
                            Target::Name(n) => a.name.eq_ignore_ascii_case(n),
                        })
                        .collect();
                    let ids: Vec<i64> = chosen.iter().map(|a| a.id).collect();
                    db::ack(c, &ids, &account, &note, now)?;
                    Ok(chosen.into_iter().map(|a| format!("#{} {}", a.id, a.name)).collect::<Vec<_>>())
                })
                .await;
            match result {
                Err(e) => vec![ctx.reply(format!("NOT taken: {e}"))],
                Ok(taken) if taken.is_empty() => {
                    vec![ctx.reply(format!("Nothing firing in {channel} by that id or name: see !alerts."))]
                }
                Ok(taken) => vec![ctx.reply(crate::text::truncate_bytes(
                    &format!("{} took {}.", ctx.msg.sender.nick, taken.join(", ")),
                    300,
                ))],
            }
        }
    }
}

/// The first lines in the channel and the rest privately; from a security channel nothing goes
/// privately, and what does not fit is only counted.
fn spread(ctx: &Context<'_>, security: bool, head: String, lines: Vec<String>, again: &str) -> Vec<Reply> {
    let total = lines.len();
    let mut out = vec![ctx.reply(head)];
    let here = if security { 10 } else { IN_CHANNEL };
    out.extend(lines.iter().take(here).map(|l| ctx.reply(l.clone())));
    if total > here {
        if security {
            out.push(ctx.reply(format!("… and {} more (not sent privately from a security channel).", total - here)));
        } else {
            let nick = ctx.msg.sender.nick.clone();
            out.push(ctx.reply(format!("… and {} more sent to {nick} privately ({again}).", total - here)));
            out.extend(lines.into_iter().skip(here).take(MOST - here).map(|text| Reply::say(&nick, text)));
        }
    }
    out
}

fn human(d: Duration) -> String {
    crate::incident::report::human_duration(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse(""), Ok(Sub::Firing));
        assert_eq!(parse("history"), Ok(Sub::History { back: Duration::hours(24) }));
        assert_eq!(parse("history 90m"), Ok(Sub::History { back: Duration::minutes(90) }));
        assert!(parse("history forever").is_err());
        assert_eq!(parse("ack #12 on it now"), Ok(Sub::Ack { target: Target::Id(12), note: "on it now".into() }));
        assert_eq!(
            parse("ack MediaWikiDown"),
            Ok(Sub::Ack { target: Target::Name("MediaWikiDown".into()), note: String::new() })
        );
        assert!(parse("ack").is_err());
        assert!(parse("bogus").is_err());
        assert_eq!(duration("2h"), Some(Duration::hours(2)));
        assert_eq!(duration("0m"), None);
        assert_eq!(duration("31d"), None);
        assert_eq!(duration("h"), None);
    }
}
