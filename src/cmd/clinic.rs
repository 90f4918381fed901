//! `!clinic …`: who is on SRE Clinic Duty (clinic-duty.md), and changes to the rotation by admins.
//! Changes are stored on top of the imported base rotation, never in it, each with who and when.

use super::{Context, Reply};
use crate::access::Level;
use crate::clinic::schedule::{find_person, nick_of, role_of, same, Change, Found, Person};
use crate::clinic::topic::Duty;
use crate::clinic::week::WeekRule;
use crate::store::clinic as db;
use crate::store::Store;
use crate::text::{strip_formatting, truncate_bytes};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::Connection;

/// A week's duty in a reply: every field, cut so that a reply naming two of them (a change and
/// what it was, or a swap) stays one line whatever an admin typed.
fn summary(duty: &Duty) -> String {
    truncate_bytes(&crate::clinic::schedule::summary(duty), 150)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    Now,
    Next,
    Schedule {
        weeks: usize,
    },
    Who {
        name: String,
    },
    /// `people` is `Clinician[/Backup] [team]` as typed: which words are the team depends on
    /// the teams already in the schedule (see [`parse_duty`]).
    Set {
        week: NaiveDate,
        people: String,
    },
    NoDuty {
        week: NaiveDate,
    },
    /// `unset <date>`: the changes made on IRC for the week go; the imported rotation applies.
    Unset {
        week: NaiveDate,
    },
    Swap {
        a: NaiveDate,
        b: NaiveDate,
    },
    Override {
        week: NaiveDate,
        clinician: String,
    },
    /// `nick: None` forgets the nick.
    Nick {
        name: String,
        nick: Option<String>,
    },
    Help,
    /// `!clinic pages [date]`: the alerts of a duty week (see `cmd::pages`).
    Pages {
        week: Option<NaiveDate>,
    },
}

pub const USAGE: &str =
    "!clinic (who is on duty) | next | schedule [weeks] | who <name|nick> — admins: set <YYYY-MM-DD> \
<clinician>[/<backup>] [team] | none <date> | unset <date> | swap <date> <date> | override <date> <clinician> | nick <name> <nick|-> — pages [YYYY-MM-DD]: alerts of a duty week";

/// The most weeks `!clinic schedule` lists; more than [`IN_CHANNEL`] go by private message.
const MAX_WEEKS: usize = 52;
const IN_CHANNEL: usize = 4;

/// The prefix every team in the rotation has (clinic-duty.md), which may be left out when
/// naming a known team: `Traffic` is `SRE-Traffic`.
const TEAM_PREFIX: &str = "SRE-";

fn date(word: Option<&&str>) -> Result<NaiveDate, String> {
    let w = word.copied().unwrap_or("");
    NaiveDate::parse_from_str(w, "%Y-%m-%d")
        .map_err(|_| format!("{:?} is not a date: use YYYY-MM-DD.", truncate_bytes(w, 20)))
}

fn name(s: &str) -> Option<String> {
    let s = strip_formatting(s).trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Reads `Clinician[/Backup] [team]`. Names have spaces, so which trailing words are the team
/// is decided by these rules, in order:
/// 1. after a `|`, everything is the team (`Alice | Storage`; a `|` with nothing after it means
///    no team);
/// 2. the longest run of last words that names a team already in the schedule (`known_teams`),
///    with or without its `SRE-` prefix, is that team (`Alice Traffic` is Alice of SRE-Traffic
///    when SRE-Traffic is known);
/// 3. from the first word after the clinician's that starts with `SRE-` on, as in the team's
///    table (`Alice SRE-New Team`);
/// 4. otherwise there is no team, and every word is the clinician's (and backup's) name.
///
/// A known team is stored as the schedule spells it.
pub fn parse_duty(text: &str, known_teams: &[String]) -> Result<Duty, String> {
    let text = text.trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    let (people, team) = if let Some((p, t)) = text.split_once('|') {
        (p.to_string(), name(t).map(|t| known_team(&t, known_teams).unwrap_or(t)))
    } else if let Some((k, team)) = known_team_at_end(&words, known_teams) {
        (words[..words.len() - k].join(" "), Some(team))
    } else if let Some(i) = words.iter().skip(1).position(|w| w.to_uppercase().starts_with(TEAM_PREFIX)).map(|i| i + 1)
    {
        (words[..i].join(" "), name(&words[i..].join(" ")))
    } else {
        (text.to_string(), None)
    };
    let (clinician, backup) = match people.split_once('/') {
        Some((c, b)) => (name(c), name(b)),
        None => (name(&people), None),
    };
    let clinician = clinician.ok_or("Who is the clinician? !clinic set <YYYY-MM-DD> <clinician>[/<backup>] [team]")?;
    Ok(Duty { clinician: Some(clinician), backup, team })
}

/// How many of the last `words` name a known team (the most that do, leaving at least one word
/// for the clinician), and that team.
fn known_team_at_end(words: &[&str], known_teams: &[String]) -> Option<(usize, String)> {
    (1..words.len()).rev().find_map(|k| known_team(&words[words.len() - k..].join(" "), known_teams).map(|t| (k, t)))
}

/// The known team `text` names, in any case and with or without its `SRE-` prefix, spelled as
/// the schedule spells it.
fn known_team(text: &str, known_teams: &[String]) -> Option<String> {
    known_teams
        .iter()
        .find(|team| {
            let prefixed = team.get(..TEAM_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(TEAM_PREFIX));
            same(text, team) || (prefixed && same(text, &team[TEAM_PREFIX.len()..]))
        })
        .cloned()
}

/// Whether `nick` can be an IRC nick (what servers accept varies; this refuses what none do).
fn valid_nick(nick: &str) -> bool {
    !nick.is_empty()
        && nick.len() <= 64
        && !nick.starts_with(['#', '&', ':', '-', '+', '~', '@', '%'])
        && !nick.chars().any(|c| c.is_control() || c.is_whitespace() || ",!@*?".contains(c))
}

pub fn parse(args: &str) -> Result<Sub, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else { return Ok(Sub::Now) };
    Ok(match first.to_ascii_lowercase().as_str() {
        "now" => Sub::Now,
        "next" => Sub::Next,
        "help" => Sub::Help,
        "pages" => Sub::Pages { week: rest.first().map(|w| date(Some(w))).transpose()? },
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
        "who" => Sub::Who { name: name(&rest.join(" ")).ok_or("Usage: !clinic who <name or nick>")? },
        "set" => {
            let week = date(rest.first())?;
            let people = rest.get(1..).unwrap_or_default().join(" ");
            // Refuse a missing clinician now; the team is told apart when the schedule is at hand.
            parse_duty(&people, &[])?;
            Sub::Set { week, people }
        }
        "none" => Sub::NoDuty { week: date(rest.first())? },
        "unset" | "reset" => Sub::Unset { week: date(rest.first())? },
        "swap" => Sub::Swap { a: date(rest.first())?, b: date(rest.get(1))? },
        "override" => Sub::Override {
            week: date(rest.first())?,
            clinician: name(&rest.get(1..).unwrap_or_default().join(" "))
                .ok_or("Usage: !clinic override <YYYY-MM-DD> <clinician>")?,
        },
        "nick" => {
            const NICK_USAGE: &str = "Usage: !clinic nick <display name> <nick> (or - to forget the nick)";
            let Some((nick, who)) = rest.split_last().filter(|(_, who)| !who.is_empty()) else {
                return Err(NICK_USAGE.into());
            };
            let name = name(&who.join(" ")).ok_or(NICK_USAGE)?;
            let nick = match *nick {
                "-" => None,
                n if valid_nick(n) => Some(n.to_string()),
                n => return Err(format!("{:?} is not an IRC nick. {NICK_USAGE}", truncate_bytes(n, 20))),
            };
            Sub::Nick { name, nick }
        }
        other => return Err(format!("Unknown subcommand {:?}. {USAGE}", truncate_bytes(other, 20))),
    })
}

/// How a duty reads in a reply, with the clinician's nick when we know it (to highlight them).
/// Names are cut so that a reply naming two duties (a swap, a change and what it was) stays
/// one line whatever an admin typed.
fn describe(people: &[Person], duty: &Duty) -> String {
    let Some(who) = &duty.clinician else { return "no clinic duty".into() };
    let nick = nick_of(people, who).map(|n| format!(" ({})", truncate_bytes(n, 30))).unwrap_or_default();
    let mut extra = Vec::new();
    if let Some(b) = &duty.backup {
        extra.push(format!("backup: {}", truncate_bytes(b, 40)));
    }
    if let Some(t) = &duty.team {
        extra.push(truncate_bytes(t, 30));
    }
    let extra = if extra.is_empty() { String::new() } else { format!(" ({})", extra.join(", ")) };
    format!("{}{nick}{extra}", truncate_bytes(who, 40))
}

fn local(rule: &WeekRule, week: NaiveDate) -> String {
    rule.tz.show(rule.boundary(week))
}

fn not_scheduled(week: NaiveDate) -> String {
    format!("The week of {week} is not in the clinic schedule (an admin can !clinic set it, or import the table).")
}

fn changes_schedule(sub: &Sub) -> bool {
    matches!(
        sub,
        Sub::Set { .. }
            | Sub::NoDuty { .. }
            | Sub::Unset { .. }
            | Sub::Swap { .. }
            | Sub::Override { .. }
            | Sub::Nick { .. }
    )
}

/// Why `sub` may not run for this sender or with these dates, if it may not.
fn refusal(sub: &Sub, ctx: &Context<'_>, rule: &WeekRule) -> Option<String> {
    if changes_schedule(sub) && ctx.level < Level::Admin {
        let admins = crate::access::admins(&ctx.config.access);
        let ask = if admins.is_empty() { "the bot's operator".to_string() } else { admins.join(", ") };
        return Some(match &ctx.msg.sender.account {
            None => format!(
                "{}, you are not identified to services: only srebot admins change the clinic schedule, by their \
                 services account (ask {ask}).",
                ctx.msg.sender.nick
            ),
            Some(account) => {
                format!("Only srebot admins change the clinic schedule, and account {account} is not one (ask {ask}).")
            }
        });
    }
    let weeks = match sub {
        Sub::Set { week, .. } | Sub::NoDuty { week } | Sub::Unset { week } | Sub::Override { week, .. } => vec![*week],
        Sub::Swap { a, b } => vec![*a, *b],
        _ => vec![],
    };
    weeks.into_iter().find_map(|w| crate::clinic::import::not_a_week_start(w, rule.week_starts))
}

/// The services account of `nick` if they are in one of our channels now (the one asked in
/// first), so that `!clinic who` finds them by account too.
fn account_of(ctx: &Context<'_>, nick: &str) -> Option<String> {
    let asked_in = ctx.origin.channel.iter();
    let ours = ctx.config.channels.iter().map(|c| &c.name);
    asked_in.chain(ours).find_map(|chan| ctx.directory.presence(chan.as_str(), nick)).and_then(|sender| sender.account)
}

pub async fn run(sub: Sub, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    if sub == Sub::Help {
        return vec![ctx.reply(USAGE)];
    }
    let rule = match ctx.config.clinic.rule() {
        Ok(r) => r,
        Err(e) => return vec![ctx.reply(format!("The clinic schedule is not configured right: {e}"))],
    };
    if let Sub::Pages { week } = sub {
        return super::pages::run(week, ctx, store, &rule).await;
    }
    if let Some(no) = refusal(&sub, ctx, &rule) {
        return vec![ctx.reply(no)];
    }
    let (by, now) = (ctx.origin.recorded_as().to_string(), ctx.clock.now());
    let named = match &sub {
        Sub::Nick { nick: Some(nick), .. } => account_of(ctx, nick),
        _ => None,
    };
    let long = matches!(sub, Sub::Schedule { weeks } if weeks > IN_CHANNEL);
    let lines = match store.call(move |conn| answer(conn, sub, &rule, (&by, now), named)).await {
        Ok(lines) => lines,
        Err(e) => vec![format!("Clinic schedule unavailable: {e}")],
    };
    if long {
        // Long answers go to the asker privately, with a pointer where they asked.
        let nick = &ctx.origin.nick;
        let mut out: Vec<Reply> = lines.into_iter().map(|text| Reply::say(nick, text)).collect();
        if ctx.origin.channel.is_some() {
            out.insert(0, ctx.reply(format!("{nick}: sent you the schedule privately.")));
        }
        return out;
    }
    lines.into_iter().map(|l| ctx.reply(l)).collect()
}

/// Everyone named in `weeks`, clinicians and backups, in week order (with repeats).
fn scheduled_names(weeks: &[(NaiveDate, Duty)]) -> impl Iterator<Item = &str> {
    weeks.iter().flat_map(|(_, d)| [d.clinician.as_deref(), d.backup.as_deref()]).flatten()
}

/// The answer to `sub` (allowed, its dates checked), from the schedule in `conn`; a change is
/// recorded as `by` (see [`Origin::recorded_as`](super::Origin::recorded_as)) at `now`. For
/// `nick`, `named` is the services account of that nick, when they are here to tell.
fn answer(
    conn: &Connection,
    sub: Sub,
    rule: &WeekRule,
    (by, now): (&str, DateTime<Utc>),
    named: Option<String>,
) -> rusqlite::Result<Vec<String>> {
    let this_week = rule.week_of(now);
    let people = db::people(conn)?;
    let line = |s: String| Ok(vec![s]);
    let was = |before: Option<Duty>| match before {
        None => "not scheduled".to_string(),
        Some(d) => summary(&d),
    };
    match sub {
        Sub::Help => line(USAGE.into()),
        Sub::Pages { .. } => Ok(Vec::new()), // answered by `cmd::pages`, which knows the channel
        Sub::Now => match db::duty(conn, this_week)? {
            None => line(not_scheduled(this_week)),
            Some(d) if d.clinician.is_none() => {
                line(format!("No clinic duty this week (until {}).", local(rule, this_week + Duration::days(7))))
            }
            Some(d) => line(format!(
                "On SRE Clinic Duty: {} until {}.",
                describe(&people, &d),
                local(rule, this_week + Duration::days(7))
            )),
        },
        Sub::Next => {
            let next = this_week + Duration::days(7);
            match db::duty(conn, next)? {
                None => line(not_scheduled(next)),
                Some(d) => line(format!("From {}: {}.", local(rule, next), describe(&people, &d))),
            }
        }
        Sub::Schedule { weeks } => (0..weeks)
            .map(|i| {
                let week = this_week + Duration::days(7 * i as i64);
                let what = match db::duty(conn, week)? {
                    None => "not scheduled".to_string(),
                    Some(d) => describe(&people, &d),
                };
                Ok(format!("{week}: {what}"))
            })
            .collect(),
        Sub::Who { name: query } => {
            let weeks = db::weeks_from(conn, this_week, MAX_WEEKS)?;
            let name = match find_person(&query, scheduled_names(&weeks), &people) {
                Found::Name(name) => name,
                Found::Ambiguous(names) => {
                    let names = names.into_iter().take(5).collect::<Vec<_>>().join(", ");
                    return line(format!("Whom do you mean: {names}?"));
                }
                Found::Unknown => query,
            };
            let mine: Vec<String> = weeks
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
        Sub::Set { week, people } => {
            let duty = match parse_duty(&people, &db::teams(conn)?) {
                Ok(d) => d,
                Err(e) => return line(e),
            };
            let before = db::duty(conn, week)?;
            db::change(conn, week, &Change::Set(duty.clone()), by, now)?;
            line(format!("Week of {week}: {} (was: {}).", summary(&duty), was(before)))
        }
        Sub::NoDuty { week } => {
            let before = db::duty(conn, week)?;
            db::change(conn, week, &Change::NoDuty, by, now)?;
            line(format!("Week of {week}: no clinic duty (was: {}).", was(before)))
        }
        Sub::Unset { week } => match db::unset_changes(conn, week, by, now)? {
            None => line(format!("Week of {week} has no changes made on IRC: nothing to unset.")),
            Some(made) => line(format!(
                "Week of {week}: IRC changes removed, {} (was: {}).",
                match db::duty(conn, week)? {
                    Some(d) => format!("back to the imported {}", summary(&d)),
                    None => "not scheduled now".to_string(),
                },
                summary(&made)
            )),
        },
        Sub::Swap { a, b } => {
            if a == b {
                return line("Swap two different weeks.".into());
            }
            let (Some(da), Some(dbb)) = (db::duty(conn, a)?, db::duty(conn, b)?) else {
                return line("Both weeks must be in the schedule to swap them.".into());
            };
            db::change(conn, a, &Change::Swap(dbb.clone()), by, now)?;
            db::change(conn, b, &Change::Swap(da.clone()), by, now)?;
            line(format!("Swapped: week of {a}: {}; week of {b}: {}.", summary(&dbb), summary(&da)))
        }
        Sub::Override { week, clinician } => {
            let before = db::duty(conn, week)?;
            db::change(conn, week, &Change::Clinician(clinician), by, now)?;
            let after = db::duty(conn, week)?.unwrap_or_default();
            line(format!("Week of {week}: {} (was: {}).", summary(&after), was(before)))
        }
        Sub::Nick { name, nick: None } => {
            let removed = db::remove_person(conn, &name)?;
            let name = truncate_bytes(&name, 60);
            if removed {
                line(format!("{name} is no longer highlighted."))
            } else {
                line(format!("No nick was set for {name}."))
            }
        }
        Sub::Nick { name, nick: Some(nick) } => {
            // The display name as the schedule spells it, when it is there.
            let weeks = db::weeks_from(conn, this_week, MAX_WEEKS)?;
            let name = scheduled_names(&weeks).find(|n| same(n, &name)).map(str::to_string).unwrap_or(name);
            let account = named;
            let with_account = account.as_ref().map(|a| format!(" (account {a})")).unwrap_or_default();
            db::set_person(conn, &Person { name: name.clone(), nick: nick.clone(), account }, by, now)?;
            line(format!(
                "{} is highlighted as {}{with_account} from now on.",
                truncate_bytes(&name, 60),
                truncate_bytes(&nick, 30)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::FakeDirectory;
    use crate::store::StoreThread;

    fn teams() -> Vec<String> {
        ["SRE-Traffic", "SRE-Data Persistence", "Observability"].map(String::from).to_vec()
    }

    fn duty(c: &str, b: Option<&str>, t: Option<&str>) -> Duty {
        Duty { clinician: Some(c.into()), backup: b.map(Into::into), team: t.map(Into::into) }
    }

    #[test]
    fn parses() {
        assert_eq!(parse(""), Ok(Sub::Now));
        assert_eq!(parse("schedule"), Ok(Sub::Schedule { weeks: 4 }));
        assert_eq!(parse("schedule 12"), Ok(Sub::Schedule { weeks: 12 }));
        assert!(parse("schedule 99").is_err() && parse("schedule x").is_err());
        assert_eq!(
            parse("set 2026-11-30 Alice Example/Bob Builder Traffic"),
            Ok(Sub::Set { week: "2026-11-30".parse().unwrap(), people: "Alice Example/Bob Builder Traffic".into() })
        );
        assert!(parse("set 2026-11-30").unwrap_err().contains("clinician"));
        assert!(parse("set 2026-11-30 | SRE-Traffic").unwrap_err().contains("clinician"));
        assert!(parse("set 30/11/2026 x").unwrap_err().contains("not a date"));
        assert!(parse("swap 2026-11-30").is_err());
        assert!(parse("bogus").unwrap_err().starts_with("Unknown subcommand"));
    }

    #[test]
    fn parses_nicks() {
        assert_eq!(
            parse("nick Giuseppe Lavagetto _joe_"),
            Ok(Sub::Nick { name: "Giuseppe Lavagetto".into(), nick: Some("_joe_".into()) })
        );
        assert_eq!(parse("nick Giuseppe Lavagetto -"), Ok(Sub::Nick { name: "Giuseppe Lavagetto".into(), nick: None }));
        for bad in ["nick", "nick alice", "nick -"] {
            assert!(parse(bad).unwrap_err().starts_with("Usage: !clinic nick"), "{bad}");
        }
        for bad in ["nick Alice #sre", "nick Alice a,b", "nick Alice a!b@c", "nick Alice *"] {
            assert!(parse(bad).unwrap_err().contains("is not an IRC nick"), "{bad}");
        }
    }

    #[test]
    fn the_team_after_a_bar() {
        let known = teams();
        assert_eq!(parse_duty("Carol | Data Persistence", &[]), Ok(duty("Carol", None, Some("Data Persistence"))));
        // A known team is spelled as the schedule spells it.
        assert_eq!(
            parse_duty("Carol | data persistence", &known),
            Ok(duty("Carol", None, Some("SRE-Data Persistence")))
        );
        assert_eq!(parse_duty("Carol | Storage", &known), Ok(duty("Carol", None, Some("Storage"))));
        // A bar with nothing after it: no team, even when the last word names one.
        assert_eq!(parse_duty("Alice Traffic |", &known), Ok(duty("Alice Traffic", None, None)));
        assert_eq!(parse_duty("A/B | SRE-Traffic", &[]), Ok(duty("A", Some("B"), Some("SRE-Traffic"))));
    }

    #[test]
    fn a_known_team_at_the_end() {
        let known = teams();
        // With or without the SRE- prefix, any case; stored as the schedule spells it.
        assert_eq!(parse_duty("Alice Traffic", &known), Ok(duty("Alice", None, Some("SRE-Traffic"))));
        assert_eq!(parse_duty("Alice sre-traffic", &known), Ok(duty("Alice", None, Some("SRE-Traffic"))));
        assert_eq!(
            parse_duty("Giuseppe Lavagetto/Jaime Crespo data persistence", &known),
            Ok(duty("Giuseppe Lavagetto", Some("Jaime Crespo"), Some("SRE-Data Persistence")))
        );
        assert_eq!(parse_duty("Cole White Observability", &known), Ok(duty("Cole White", None, Some("Observability"))));
        // The clinician keeps at least one word.
        assert_eq!(parse_duty("Traffic", &known), Ok(duty("Traffic", None, None)));
        // Not a known team: the words are the name.
        assert_eq!(parse_duty("Alice Traffic", &[]), Ok(duty("Alice Traffic", None, None)));
        assert_eq!(parse_duty("Giuseppe Lavagetto", &known), Ok(duty("Giuseppe Lavagetto", None, None)));
    }

    #[test]
    fn an_sre_team_as_in_the_table() {
        assert_eq!(
            parse_duty("Alice Example/Bob Builder SRE-Traffic", &[]),
            Ok(duty("Alice Example", Some("Bob Builder"), Some("SRE-Traffic")))
        );
        // A team of several words: everything from SRE- on.
        assert_eq!(
            parse_duty("Manuel Aróstegui SRE-Data Persistence", &[]),
            Ok(duty("Manuel Aróstegui", None, Some("SRE-Data Persistence")))
        );
        // The first word is always the clinician's.
        assert_eq!(parse_duty("SRE-Bot", &[]), Ok(duty("SRE-Bot", None, None)));
        assert!(parse_duty("   ", &[]).is_err());
        assert!(parse_duty("/Bob", &[]).is_err());
    }

    /// A config, a store and a clock the test sets, to run `!clinic` as people would.
    struct World {
        config: crate::config::Config,
        clock: crate::clock::Clock,
        store: Store,
        _thread: StoreThread,
        dir: tempfile::TempDir,
        directory: FakeDirectory,
    }

    impl World {
        fn new(now: &str) -> World {
            let dir = tempfile::tempdir().unwrap();
            let mut config = crate::testing::config(
                r##"
[access]
accounts = ["bob"]
admins = ["alice"]
[clinic]
timezone = "Europe/Berlin"
handoff_time = "09:30"
"##,
            );
            config.storage.database = dir.path().join("db.sqlite3");
            let clock = dir.path().join("now");
            std::fs::write(&clock, now).unwrap();
            let clock = crate::clock::Clock::File(clock);
            let (store, thread) = Store::open(&config.storage.database);
            let mut directory = FakeDirectory::default();
            directory.0.insert(("#sre".into(), "_joe_".into()), Some("oblivian".into()));
            directory.0.insert(("#sre".into(), "anon".into()), None);
            World { config, clock, store, _thread: thread, dir, directory }
        }

        /// Weeks of clinic-duty.md, from 2021-08-30 to 2021-10-11 and some later.
        async fn with_schedule(now: &str) -> World {
            let w = World::new(now);
            let text = format!(
                "{}{}",
                include_str!("../../tests/fixtures/clinic-duty.txt"),
                "2021-10-25Sukhbir SinghSRE-Traffic\n2021-11-08Cole WhiteSRE-Observability\n\
                 2021-12-13MV/Manuel ArósteguiSRE-Data Persistence\n2021-12-27No clinic duty this week\n"
            );
            let (rows, errors) = crate::clinic::import::parse_any(&text);
            assert_eq!(errors, []);
            let at = w.clock.now();
            w.store.call(move |c| db::import(c, &rows, "test", at)).await.unwrap();
            w
        }

        fn set_clock(&self, now: &str) {
            std::fs::write(self.dir.path().join("now"), now).unwrap();
        }

        /// Runs `text` as said in `channel` (or privately) by `nick`, identified as `account`.
        async fn say_as(&self, channel: Option<&str>, nick: &str, account: Option<&str>, text: &str) -> Vec<Reply> {
            let when = (self.clock.now(), channel);
            crate::cmd::testing::say(
                &self.config,
                &self.clock,
                &self.store,
                &self.directory,
                when,
                (nick, account),
                text,
            )
            .await
        }

        /// The reply texts to an admin's `text` in #sre.
        async fn say(&self, text: &str) -> Vec<String> {
            self.say_as(Some("#sre"), "Alice", Some("alice"), text).await.into_iter().map(|r| r.text).collect()
        }
    }

    #[tokio::test]
    async fn who_is_on_duty_now_and_next() {
        // Wednesday of Cathal Mooney's week, in Berlin.
        let w = World::with_schedule("2021-09-15T12:00:00Z").await;
        assert_eq!(
            w.say("!clinic").await,
            ["On SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations) until \
              Mon 2021-09-20 09:30 CEST."]
        );
        assert_eq!(
            w.say("!clinic next").await,
            ["From Mon 2021-09-20 09:30 CEST: Manuel Aróstegui (SRE-Data Persistence)."]
        );
        // Monday morning before the handoff time: still last week's.
        w.set_clock("2021-09-20T07:29:59Z");
        assert!(w.say("!clinic").await[0].starts_with("On SRE Clinic Duty: Cathal Mooney"));
        w.set_clock("2021-09-20T07:30:00Z");
        assert!(w.say("!clinic").await[0].starts_with("On SRE Clinic Duty: Manuel Aróstegui"));
        // The week of 2021-10-04 has no clinic duty.
        w.set_clock("2021-10-06T08:00:00Z");
        assert_eq!(w.say("!clinic").await, ["No clinic duty this week (until Mon 2021-10-11 09:30 CEST)."]);
        assert!(w.say("!clinic next").await[0].ends_with(": Chris Danis (SRE-Infrastructure Foundations)."));
        // Past the end of the schedule.
        w.set_clock("2023-01-04T08:00:00Z");
        assert!(w.say("!clinic").await[0].starts_with("The week of 2023-01-02 is not in the clinic schedule"));
    }

    #[tokio::test]
    async fn schedule_in_the_channel_up_to_four_weeks_then_privately() {
        let w = World::with_schedule("2021-09-15T12:00:00Z").await;
        assert_eq!(
            w.say("!clinic schedule").await,
            [
                "2021-09-13: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations)",
                "2021-09-20: Manuel Aróstegui (SRE-Data Persistence)",
                "2021-09-27: Giuseppe Lavagetto (SRE-Service Operations)",
                "2021-10-04: no clinic duty",
            ]
        );
        let two = w.say_as(Some("#sre"), "Alice", Some("alice"), "!clinic schedule 2").await;
        assert!(two.iter().all(|r| r.target == "#sre") && two.len() == 2, "{two:?}");
        // Five weeks: a pointer in the channel, the weeks to the asker.
        let five = w.say_as(Some("#sre"), "Eve", None, "!clinic schedule 5").await;
        assert_eq!(five[0], Reply::say("#sre", "Eve: sent you the schedule privately."));
        assert_eq!(five.len(), 6);
        assert!(five[1..].iter().all(|r| r.target == "Eve"), "{five:?}");
        assert_eq!(five[5].text, "2021-10-11: Chris Danis (SRE-Infrastructure Foundations)");
        // Asked privately: no pointer.
        let private = w.say_as(None, "Eve", None, "!clinic schedule 5").await;
        assert_eq!(private.len(), 5);
        assert!(private.iter().all(|r| r.target == "Eve"));
        // Past the table's end.
        w.set_clock("2021-12-22T12:00:00Z");
        let end = w.say("!clinic schedule 3").await;
        assert_eq!(end[1..], ["2021-12-27: no clinic duty".to_string(), "2022-01-03: not scheduled".to_string()]);
    }

    #[tokio::test]
    async fn set_says_exactly_what_it_stored() {
        let w = World::with_schedule("2021-09-15T12:00:00Z").await;
        // "Traffic" is SRE-Traffic, a team of the schedule.
        assert_eq!(
            w.say("!clinic set 2021-09-27 Alice Traffic").await,
            ["Week of 2021-09-27: clinician Alice, team SRE-Traffic (was: clinician Giuseppe Lavagetto, team SRE-Service \
              Operations)."]
        );
        assert_eq!(
            w.say("!clinic set 2021-09-27 Alice Traffic |").await,
            ["Week of 2021-09-27: clinician Alice Traffic, no team (was: clinician Alice, team SRE-Traffic)."]
        );
        assert_eq!(
            w.say("!clinic set 2022-01-03 Giuseppe Lavagetto/Jaime Crespo SRE-New Team").await,
            ["Week of 2022-01-03: clinician Giuseppe Lavagetto, backup Jaime Crespo, team SRE-New Team (was: not \
              scheduled)."]
        );
        // A team first named by a set is known from then on.
        assert_eq!(
            w.say("!clinic set 2022-01-10 Jane Doe new team").await,
            ["Week of 2022-01-10: clinician Jane Doe, team SRE-New Team (was: not scheduled)."]
        );
        assert_eq!(
            w.say("!clinic set 2021-09-28 X").await,
            ["2021-09-28 is a Tuesday, but duty weeks start on Monday."],
            "the words an import refuses it with"
        );
        assert_eq!(
            w.say("!clinic none 2021-09-20").await,
            ["Week of 2021-09-20: no clinic duty (was: clinician Manuel Aróstegui, team SRE-Data Persistence)."]
        );
        assert_eq!(
            w.say("!clinic override 2021-09-13 Jane Doe").await,
            ["Week of 2021-09-13: clinician Jane Doe, backup Arzhel Younsi, team SRE-Infrastructure Foundations (was: \
              clinician Cathal Mooney, backup Arzhel Younsi, team SRE-Infrastructure Foundations)."]
        );
        assert!(w.say("!clinic").await[0].starts_with("On SRE Clinic Duty: Jane Doe (backup: Arzhel Younsi"));
    }

    #[tokio::test]
    async fn unset_takes_back_the_irc_changes_of_a_week() {
        let w = World::with_schedule("2021-09-15T12:00:00Z").await;
        w.say("!clinic none 2021-09-20").await;
        w.say("!clinic set 2022-01-03 Jane Doe").await;
        let bob = w.say_as(Some("#sre"), "bob", Some("bob"), "!clinic unset 2021-09-20").await;
        assert!(bob[0].text.starts_with("Only srebot admins change the clinic schedule"), "{bob:?}");
        assert_eq!(
            w.say("!clinic unset 2021-09-20").await,
            ["Week of 2021-09-20: IRC changes removed, back to the imported clinician Manuel Aróstegui, team SRE-Data \
              Persistence (was: no clinic duty)."]
        );
        assert_eq!(
            w.say("!clinic unset 2021-09-20").await,
            ["Week of 2021-09-20 has no changes made on IRC: nothing to unset."]
        );
        assert_eq!(
            w.say("!clinic unset 2022-01-03").await,
            ["Week of 2022-01-03: IRC changes removed, not scheduled now (was: clinician Jane Doe, no team)."]
        );
        assert_eq!(
            w.say("!clinic unset 2021-09-21").await,
            ["2021-09-21 is a Tuesday, but duty weeks start on Monday."]
        );
        let by: Vec<(String, String)> = w
            .store
            .call(|c| {
                c.prepare("SELECT week_start, removed_by FROM clinic_removal ORDER BY id")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .await
            .unwrap();
        assert_eq!(by, [("2021-09-20".to_string(), "alice".to_string()), ("2022-01-03".into(), "alice".into())]);
    }

    #[tokio::test]
    async fn swap_exchanges_two_weeks() {
        let w = World::with_schedule("2021-09-15T12:00:00Z").await;
        assert_eq!(
            w.say("!clinic swap 2021-09-27 2021-10-04").await,
            ["Swapped: week of 2021-09-27: no clinic duty; week of 2021-10-04: clinician Giuseppe Lavagetto, team \
              SRE-Service Operations."]
        );
        assert_eq!(
            w.say("!clinic schedule 4").await[2..],
            ["2021-09-27: no clinic duty", "2021-10-04: Giuseppe Lavagetto (SRE-Service Operations)"]
        );
        assert_eq!(w.say("!clinic swap 2021-09-27 2021-09-27").await, ["Swap two different weeks."]);
        assert_eq!(
            w.say("!clinic swap 2021-09-27 2023-01-02").await,
            ["Both weeks must be in the schedule to swap them."]
        );
        // The base rotation is untouched.
        let base = w.store.call(db::base_rows).await.unwrap();
        let row = base.iter().find(|r| r.week_start.to_string() == "2021-09-27").unwrap();
        assert_eq!(row.clinician.as_deref(), Some("Giuseppe Lavagetto"));
    }

    #[tokio::test]
    async fn changes_are_for_admins_only() {
        let w = World::with_schedule("2021-09-15T12:00:00Z").await;
        for text in ["!clinic set 2021-09-27 Eve", "!clinic none 2021-09-27", "!clinic nick Eve eve"] {
            let anon = w.say_as(Some("#sre"), "anon", None, text).await;
            assert_eq!(anon.len(), 1);
            assert_eq!(
                anon[0].text,
                "anon, you are not identified to services: only srebot admins change the clinic schedule, by their \
                 services account (ask alice)."
            );
            let member = w.say_as(Some("#sre"), "bob", Some("bob"), text).await;
            assert_eq!(
                member[0].text,
                "Only srebot admins change the clinic schedule, and account bob is not one (ask alice)."
            );
        }
        // Nothing changed.
        assert_eq!(
            w.say("!clinic next").await,
            ["From Mon 2021-09-20 09:30 CEST: Manuel Aróstegui (SRE-Data Persistence)."]
        );
        // Anyone may ask.
        assert!(w.say_as(Some("#sre"), "anon", None, "!clinic").await[0].text.starts_with("On SRE Clinic Duty"));
    }

    #[tokio::test]
    async fn nicks_highlight_and_find_people() {
        let w = World::with_schedule("2021-09-22T12:00:00Z").await;
        // _joe_ is in #sre as account oblivian: both are recorded. The name is spelled as in the schedule.
        assert_eq!(
            w.say("!clinic nick giuseppe lavagetto _joe_").await,
            ["Giuseppe Lavagetto is highlighted as _joe_ (account oblivian) from now on."]
        );
        assert_eq!(
            w.say("!clinic nick Manuel Aróstegui marostegui").await,
            ["Manuel Aróstegui is highlighted as marostegui from now on."]
        );
        assert_eq!(
            w.say("!clinic next").await,
            ["From Mon 2021-09-27 09:30 CEST: Giuseppe Lavagetto (_joe_) (SRE-Service Operations)."]
        );
        // Found by display name, nick, account, or the start of a name.
        for q in ["Giuseppe Lavagetto", "_JOE_", "oblivian", "giu"] {
            assert_eq!(
                w.say(&format!("!clinic who {q}")).await,
                ["Giuseppe Lavagetto: 2021-09-27 (clinician)."],
                "{q}"
            );
        }
        assert_eq!(
            w.say("!clinic who marostegui").await,
            ["Manuel Aróstegui: 2021-09-20 (clinician), 2021-12-13 (backup)."]
        );
        assert!(w.say("!clinic who c").await[0].starts_with("Whom do you mean: Chris Danis, Cole White"));
        assert_eq!(
            w.say("!clinic who Nobody").await,
            ["Nobody has no clinic duty in the next 52 weeks of the schedule."]
        );
        // Forgotten: no highlight, not found by nick.
        assert_eq!(w.say("!clinic nick Giuseppe Lavagetto -").await, ["Giuseppe Lavagetto is no longer highlighted."]);
        assert_eq!(w.say("!clinic nick Giuseppe Lavagetto -").await, ["No nick was set for Giuseppe Lavagetto."]);
        assert_eq!(
            w.say("!clinic next").await,
            ["From Mon 2021-09-27 09:30 CEST: Giuseppe Lavagetto (SRE-Service Operations)."]
        );
        assert_eq!(
            w.say("!clinic who _joe_").await,
            ["_joe_ has no clinic duty in the next 52 weeks of the schedule."]
        );
    }
}
