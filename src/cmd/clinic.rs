//! `!clinic …`: who is on SRE Clinic Duty (clinic-duty.md), and changes to the rotation by admins.
//! Changes are stored on top of the imported base rotation, never in it, each with who and when.

use super::{Context, Reply};
use crate::access::Level;
use crate::clinic::schedule::{role_of, Change};
use crate::clinic::topic::Duty;
use crate::clinic::week::WeekRule;
use crate::store::clinic as db;
use crate::store::Store;
use crate::text::{strip_formatting, truncate_bytes};
use chrono::{Datelike, Duration, NaiveDate};
use rusqlite::Connection;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    Now,
    Next,
    Schedule { weeks: usize },
    Who { name: String },
    Set { week: NaiveDate, duty: Duty },
    NoDuty { week: NaiveDate },
    Swap { a: NaiveDate, b: NaiveDate },
    Override { week: NaiveDate, clinician: String },
    Nick { nick: String, name: String },
    Help,
}

pub const USAGE: &str = "!clinic (who is on duty) | next | schedule [weeks] | who <name> — admins: set <YYYY-MM-DD> \
<clinician>[/<backup>] [| team] | none <date> | swap <date> <date> | override <date> <clinician> | nick <nick> <name>";

/// The most weeks `!clinic schedule` lists; more than [`IN_CHANNEL`] go by private message.
const MAX_WEEKS: usize = 52;
const IN_CHANNEL: usize = 4;

fn date(word: Option<&&str>) -> Result<NaiveDate, String> {
    let w = word.copied().unwrap_or("");
    NaiveDate::parse_from_str(w, "%Y-%m-%d")
        .map_err(|_| format!("{:?} is not a date: use YYYY-MM-DD.", truncate_bytes(w, 20)))
}

fn name(s: &str) -> Option<String> {
    let s = strip_formatting(s).trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// `Clinician[/Backup] [| Team]`; without `|`, a last word starting with `SRE-` is the team, as
/// in the team's table.
fn parse_duty(words: &[&str]) -> Result<Duty, String> {
    let text = words.join(" ");
    let (people, team) = match text.split_once('|') {
        Some((p, t)) => (p.trim().to_string(), name(t)),
        None => match words.split_last() {
            Some((last, rest)) if !rest.is_empty() && last.to_ascii_uppercase().starts_with("SRE-") => {
                (rest.join(" "), name(last))
            }
            _ => (text.clone(), None),
        },
    };
    let (clinician, backup) = match people.split_once('/') {
        Some((c, b)) => (name(c), name(b)),
        None => (name(&people), None),
    };
    let clinician =
        clinician.ok_or("Who is the clinician? !clinic set <YYYY-MM-DD> <clinician>[/<backup>] [| team]")?;
    Ok(Duty { clinician: Some(clinician), backup, team })
}

pub fn parse(args: &str) -> Result<Sub, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else { return Ok(Sub::Now) };
    Ok(match first.to_ascii_lowercase().as_str() {
        "now" => Sub::Now,
        "next" => Sub::Next,
        "help" => Sub::Help,
        "schedule" => {
            let weeks = match rest.first() {
                None => IN_CHANNEL,
                Some(n) => n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_WEEKS).contains(n))
                    .ok_or_else(|| format!("Usage: !clinic schedule [weeks], 1 to {MAX_WEEKS}."))?,
            };
            Sub::Schedule { weeks }
        }
        "who" => Sub::Who { name: name(&rest.join(" ")).ok_or("Usage: !clinic who <name>")? },
        "set" => Sub::Set { week: date(rest.first())?, duty: parse_duty(rest.get(1..).unwrap_or_default())? },
        "none" => Sub::NoDuty { week: date(rest.first())? },
        "swap" => Sub::Swap { a: date(rest.first())?, b: date(rest.get(1))? },
        "override" => Sub::Override {
            week: date(rest.first())?,
            clinician: name(&rest.get(1..).unwrap_or_default().join(" "))
                .ok_or("Usage: !clinic override <YYYY-MM-DD> <clinician>")?,
        },
        "nick" => {
            let nick = rest.first().ok_or("Usage: !clinic nick <nick> <display name>")?.to_string();
            Sub::Nick { nick, name: name(&rest[1..].join(" ")).ok_or("Usage: !clinic nick <nick> <display name>")? }
        }
        other => return Err(format!("Unknown subcommand {:?}. {USAGE}", truncate_bytes(other, 20))),
    })
}

/// How a duty reads in a reply, with the clinician's nick when we know it (to highlight them).
/// Names are cut so that a reply naming two duties (a swap, a change and what it was) stays
/// one line whatever an admin typed.
fn describe(conn: &Connection, duty: &Duty) -> rusqlite::Result<String> {
    let Some(who) = &duty.clinician else { return Ok("no clinic duty".into()) };
    let nick = db::nick_of(conn, who)?.map(|n| format!(" ({})", truncate_bytes(&n, 30))).unwrap_or_default();
    let mut extra = Vec::new();
    if let Some(b) = &duty.backup {
        extra.push(format!("backup: {}", truncate_bytes(b, 40)));
    }
    if let Some(t) = &duty.team {
        extra.push(truncate_bytes(t, 30));
    }
    let extra = if extra.is_empty() { String::new() } else { format!(" ({})", extra.join(", ")) };
    Ok(format!("{}{nick}{extra}", truncate_bytes(who, 40)))
}

fn local(rule: &WeekRule, week: NaiveDate) -> String {
    rule.boundary(week).with_timezone(&rule.tz).format("%a %Y-%m-%d %H:%M %Z").to_string()
}

fn not_scheduled(week: NaiveDate) -> String {
    format!("The week of {week} is not in the clinic schedule (an admin can !clinic set it, or import the table).")
}

pub async fn run(sub: Sub, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    if sub == Sub::Help {
        return vec![ctx.reply(USAGE)];
    }
    let rule = match ctx.config.clinic.rule() {
        Ok(r) => r,
        Err(e) => return vec![ctx.reply(format!("The clinic schedule is not configured right: {e}"))],
    };
    let admin_change = matches!(
        sub,
        Sub::Set { .. } | Sub::NoDuty { .. } | Sub::Swap { .. } | Sub::Override { .. } | Sub::Nick { .. }
    );
    if admin_change && ctx.level < Level::Admin {
        let admins = &ctx.config.access.admins;
        let who = if admins.is_empty() { "the bot's operator".to_string() } else { admins.join(", ") };
        return vec![ctx.reply(format!("Only srebot admins change the clinic schedule (ask {who})."))];
    }
    for week in match &sub {
        Sub::Set { week, .. } | Sub::NoDuty { week } | Sub::Override { week, .. } => vec![*week],
        Sub::Swap { a, b } => vec![*a, *b],
        _ => vec![],
    } {
        if week.weekday() != rule.week_starts {
            return vec![ctx.reply(format!(
                "{week} is a {:?}; duty weeks start on {:?}.",
                week.weekday(),
                rule.week_starts
            ))];
        }
    }
    let now = ctx.config.clock.now();
    let by = ctx.msg.sender.account.clone().unwrap_or_else(|| ctx.msg.sender.hostmask());
    let long = matches!(sub, Sub::Schedule { weeks } if weeks > IN_CHANNEL);
    let answer = store
        .call(move |conn| {
            let this_week = rule.week_of(now);
            let line = |s: String| Ok(vec![s]);
            match sub {
                Sub::Help => line(USAGE.into()),
                Sub::Now => match db::duty(conn, this_week)? {
                    None => line(not_scheduled(this_week)),
                    Some(d) if d.clinician.is_none() => line(format!(
                        "No clinic duty this week (until {}).",
                        local(&rule, this_week + Duration::days(7))
                    )),
                    Some(d) => line(format!(
                        "On SRE Clinic Duty: {} until {}.",
                        describe(conn, &d)?,
                        local(&rule, this_week + Duration::days(7))
                    )),
                },
                Sub::Next => {
                    let next = this_week + Duration::days(7);
                    match db::duty(conn, next)? {
                        None => line(not_scheduled(next)),
                        Some(d) => line(format!("From {}: {}.", local(&rule, next), describe(conn, &d)?)),
                    }
                }
                Sub::Schedule { weeks } => {
                    let mut out = Vec::new();
                    for i in 0..weeks {
                        let week = this_week + Duration::days(7 * i as i64);
                        let what = match db::duty(conn, week)? {
                            None => "not scheduled".to_string(),
                            Some(d) => describe(conn, &d)?,
                        };
                        out.push(format!("{week}: {what}"));
                    }
                    Ok(out)
                }
                Sub::Who { name } => {
                    let mine: Vec<String> = db::weeks_from(conn, this_week, MAX_WEEKS)?
                        .into_iter()
                        .filter_map(|(week, d)| role_of(&d, &name).map(|role| format!("{week} ({role})")))
                        .collect();
                    let name = truncate_bytes(&name, 60);
                    if mine.is_empty() {
                        line(format!("{name} has no clinic duty in the next {MAX_WEEKS} weeks of the schedule."))
                    } else {
                        let more = mine.len().saturating_sub(6);
                        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                        line(format!("{name}: {}{more}.", mine.into_iter().take(6).collect::<Vec<_>>().join(", ")))
                    }
                }
                Sub::Set { week, duty } => {
                    let before = db::duty(conn, week)?;
                    db::change(conn, week, &Change::Set(duty.clone()), &by, now)?;
                    line(format!("Week of {week}: {}{}.", describe(conn, &duty)?, was(conn, before)?))
                }
                Sub::NoDuty { week } => {
                    let before = db::duty(conn, week)?;
                    db::change(conn, week, &Change::NoDuty, &by, now)?;
                    line(format!("Week of {week}: no clinic duty{}.", was(conn, before)?))
                }
                Sub::Swap { a, b } => {
                    if a == b {
                        return line("Swap two different weeks.".into());
                    }
                    let (Some(da), Some(dbb)) = (db::duty(conn, a)?, db::duty(conn, b)?) else {
                        return line("Both weeks must be in the schedule to swap them.".into());
                    };
                    db::change(conn, a, &Change::Swap(dbb.clone()), &by, now)?;
                    db::change(conn, b, &Change::Swap(da.clone()), &by, now)?;
                    line(format!("Swapped: {a} is now {}, {b} is now {}.", describe(conn, &dbb)?, describe(conn, &da)?))
                }
                Sub::Override { week, clinician } => {
                    let before = db::duty(conn, week)?;
                    db::change(conn, week, &Change::Clinician(clinician.clone()), &by, now)?;
                    let after = db::duty(conn, week)?.unwrap_or_default();
                    line(format!("Week of {week}: {}{}.", describe(conn, &after)?, was(conn, before)?))
                }
                Sub::Nick { nick, name } => {
                    db::set_person(conn, &name, &nick, &by, now)?;
                    line(format!(
                        "{} is highlighted as {} from now on.",
                        truncate_bytes(&name, 60),
                        truncate_bytes(&nick, 30)
                    ))
                }
            }
        })
        .await;
    let lines = match answer {
        Ok(lines) => lines,
        Err(e) => vec![format!("Clinic schedule unavailable: {e}")],
    };
    if long {
        // Long answers go to the asker privately, with a pointer where they asked.
        let nick = ctx.msg.sender.nick.clone();
        let mut out: Vec<Reply> = lines.into_iter().map(|text| Reply { target: nick.clone(), text }).collect();
        if ctx.msg.channel.is_some() {
            out.insert(0, ctx.reply(format!("{nick}: sent you the schedule privately.")));
        }
        return out;
    }
    lines.into_iter().map(|l| ctx.reply(l)).collect()
}

fn was(conn: &Connection, before: Option<Duty>) -> rusqlite::Result<String> {
    Ok(match before {
        None => " (was not scheduled)".into(),
        Some(d) => format!(" (was {})", describe(conn, &d)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse(""), Ok(Sub::Now));
        assert_eq!(parse("schedule"), Ok(Sub::Schedule { weeks: 4 }));
        assert_eq!(parse("schedule 12"), Ok(Sub::Schedule { weeks: 12 }));
        assert!(parse("schedule 99").is_err() && parse("schedule x").is_err());
        let set = parse("set 2026-11-30 Alice Example/Bob Builder SRE-Traffic").unwrap();
        let duty = Duty {
            clinician: Some("Alice Example".into()),
            backup: Some("Bob Builder".into()),
            team: Some("SRE-Traffic".into()),
        };
        assert_eq!(set, Sub::Set { week: "2026-11-30".parse().unwrap(), duty });
        let set = parse("set 2026-11-30 Carol | Data Persistence").unwrap();
        let duty = Duty { clinician: Some("Carol".into()), backup: None, team: Some("Data Persistence".into()) };
        assert_eq!(set, Sub::Set { week: "2026-11-30".parse().unwrap(), duty });
        assert!(parse("set 2026-11-30").unwrap_err().contains("clinician"));
        assert!(parse("set 30/11/2026 x").unwrap_err().contains("not a date"));
        assert!(parse("swap 2026-11-30").is_err());
        assert_eq!(
            parse("nick alice Alice Example"),
            Ok(Sub::Nick { nick: "alice".into(), name: "Alice Example".into() })
        );
        assert!(parse("bogus").unwrap_err().starts_with("Unknown subcommand"));
    }
}
