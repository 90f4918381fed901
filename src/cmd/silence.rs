//! `!silence <alertname|#id> <duration> <reason>`, `!silence list`, `!silence expire <id>`: real
//! silences in Alertmanager (API v2), created by the member's services account.
//!
//! Alertmanager does not know our channels, so a silence made in a security channel carries a
//! marker in its comment, and `!silence list` in other channels leaves those out.

use super::alerts::{duration, Target};
use super::{Context, Reply};
use crate::access::Level;
use crate::alerts::silence::{self, Matcher};
use crate::store::Store;
use chrono::Duration;

pub const USAGE: &str =
    "Usage: !silence <alertname|#id> <duration: 30m|2h|1d> <reason>; !silence list; !silence expire <id>";

/// Appended to the comment of silences made in a security channel.
const PRIVATE_MARK: &str = " [srebot: security channel]";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    Create { target: Target, length: Duration, reason: String },
    List,
    Expire { id: String },
}

pub fn parse(args: &str) -> Result<Sub, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        ["list"] => Ok(Sub::List),
        ["expire", id] if valid_id(id) => Ok(Sub::Expire { id: id.to_string() }),
        ["expire", ..] => Err("Usage: !silence expire <id> (the id !silence answered with)".into()),
        [target, length, reason @ ..] if !reason.is_empty() => Ok(Sub::Create {
            target: Target::parse(target),
            length: duration(length).ok_or("The duration is like 30m, 2h or 1d (at most 30d).")?,
            reason: reason.join(" "),
        }),
        _ => Err(USAGE.into()),
    }
}

/// Alertmanager's silence ids are UUIDs.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

pub async fn run(sub: Sub, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    let Some(base) = ctx.config.alerts.as_ref().and_then(|a| a.alertmanager_url.clone()) else {
        return vec![ctx.reply("No Alertmanager is configured ([alerts] alertmanager_url): cannot silence.")];
    };
    let Some(channel) = ctx.msg.channel.clone() else {
        return vec![ctx.reply("Say it in the channel the alerts go to.")];
    };
    let security = ctx.origin.security;
    if !matches!(sub, Sub::List) && ctx.level < Level::Member {
        return vec![ctx.reply(ctx.not_allowed("!silence"))];
    }
    match sub {
        Sub::List => match silence::active(&base).await {
            Err(e) => vec![ctx.reply(format!("Cannot list silences: {e}."))],
            Ok(all) => {
                let shown: Vec<_> =
                    all.into_iter().filter(|s| security || !s.comment.ends_with(PRIVATE_MARK)).collect();
                if shown.is_empty() {
                    return vec![ctx.reply("No active silences.")];
                }
                let mut out = vec![ctx.reply(format!("{} active silence(s):", shown.len()))];
                for s in shown.iter().take(5) {
                    let comment = s.comment.trim_end_matches(PRIVATE_MARK);
                    let until = s.ends_at.get(..16).unwrap_or(&s.ends_at).replace('T', " ");
                    out.push(ctx.reply(crate::text::truncate_bytes(
                        &format!("{} {} until {until} UTC by {}: {comment}", s.id, s.matchers_text(), s.created_by),
                        350,
                    )));
                }
                if shown.len() > 5 {
                    out.push(ctx.reply(format!("… and {} more (see Alertmanager).", shown.len() - 5)));
                }
                out
            }
        },
        Sub::Expire { id } => match silence::expire(&base, &id).await {
            Ok(()) => vec![ctx.reply(format!("Expired silence {id}."))],
            Err(e) => vec![ctx.reply(format!("NOT expired: {e}."))],
        },
        Sub::Create { target, length, reason } => {
            let matchers = match &target {
                Target::Name(name) => vec![Matcher { name: "alertname".into(), value: name.clone() }],
                Target::Id(id) => {
                    let (id, chan) = (*id, channel.clone());
                    let found = store.call(move |c| crate::store::alert::alert_in(c, id, &chan)).await;
                    match found {
                        Err(e) => return vec![ctx.reply(format!("NOT silenced: {e}"))],
                        Ok(None) => return vec![ctx.reply(format!("No alert #{id} in {channel}: see !alerts."))],
                        Ok(Some(a)) if a.source != "alertmanager" => {
                            return vec![
                                ctx.reply(format!("#{id} came from {}, not Alertmanager: silence it there.", a.source))
                            ]
                        }
                        Ok(Some(a)) => serde_json::from_str::<std::collections::BTreeMap<String, String>>(&a.labels)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(name, value)| Matcher { name, value })
                            .collect(),
                    }
                }
            };
            let by = ctx.msg.sender.account.clone().unwrap_or_else(|| ctx.msg.sender.nick.clone());
            let ends = ctx.clock.now() + length;
            let mut comment = crate::text::strip_formatting(&reason).trim().to_string();
            if security {
                comment += PRIVATE_MARK;
            }
            let what = match &target {
                Target::Name(n) => format!("alertname={n}"),
                Target::Id(id) => format!("alert #{id}"),
            };
            match silence::create(&base, matchers, ends, &by, &comment).await {
                Ok(id) => vec![ctx.reply(format!(
                    "Silenced {what} for {} (until {} UTC): silence {id}. !silence expire {id} ends it.",
                    crate::incident::report::human_duration(length),
                    ends.format("%Y-%m-%d %H:%M")
                ))],
                Err(e) => vec![ctx.reply(format!("NOT silenced: {e}."))],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("list"), Ok(Sub::List));
        assert_eq!(
            parse("expire 0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"),
            Ok(Sub::Expire { id: "0b1c2d3e-aaaa-bbbb-cccc-1234567890ab".into() })
        );
        assert!(parse("expire ../../x").is_err());
        assert_eq!(
            parse("MediaWikiDown 2h deploying the fix"),
            Ok(Sub::Create {
                target: Target::Name("MediaWikiDown".into()),
                length: Duration::hours(2),
                reason: "deploying the fix".into()
            })
        );
        assert!(matches!(parse("#12 30m x"), Ok(Sub::Create { target: Target::Id(12), .. })));
        assert!(parse("MediaWikiDown 2h").is_err(), "a reason is required");
        assert!(parse("MediaWikiDown forever because").is_err());
    }
}
