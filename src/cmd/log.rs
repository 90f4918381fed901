//! `!log <message>`: a Server Admin Log entry, committed before it is acknowledged, and
//! `!log undo`: its author takes it back.
//!
//! A message that looks like it carries a secret (password, private key, token) is refused
//! before anything is stored, and the refusal does not repeat it. Every refusal of a `!log`
//! starts with "NOT logged:", like a database failure, except the empty message's own answer.
//!
//! A relay (`[access] relays`) logs on behalf of the people it names, but it cannot undo for
//! them: `!log <user@host> undo` is refused, and `!log undo` from the relay only takes back an
//! entry the relay made in its own name.

use super::{Context, Origin, Reply};
use crate::access::Level;
use crate::config::ChannelRole;
use crate::irc::Ack;
use crate::publish::{self, Targets};
use crate::store::{incident, sal, Actor, Store};
use crate::text;
use std::future::Future;

/// Where an entry goes: where it was said, or for a private message the channel configured for
/// them (`[sal] private_message_channel`); always with a channel. Or why it cannot be made here.
fn destination(ctx: &Context<'_>) -> Result<Origin, String> {
    let c = ctx.config;
    match ctx.origin.our_channel() {
        Ok(Some(_)) => Ok(ctx.origin.clone()),
        Err(name) => Err(format!("{name} is not a logging channel.")),
        Ok(None) => match c.sal.private_message_channel.as_deref().and_then(|n| c.channel(n)) {
            Some(ch) => Ok(Origin {
                channel: Some(ch.name.clone()),
                ours: true,
                security: ch.role == ChannelRole::Security,
                ..ctx.origin.clone()
            }),
            None => {
                let public: Vec<&str> =
                    c.channels.iter().filter(|ch| ch.role == ChannelRole::Public).map(|ch| ch.name.as_str()).collect();
                Err(format!(
                    "!log by private message is not enabled here: say it in {} so the team sees it.",
                    if public.is_empty() { "the team channel".to_string() } else { public.join(" or ") }
                ))
            }
        },
    }
}

/// Builds the entry to store, or the refusal to send. Pure: no store, no network.
pub fn plan(message: &str, ctx: &Context<'_>) -> Result<sal::NewEntry, String> {
    let sender = &ctx.msg.sender;
    if ctx.level < Level::Member && !ctx.is_relay {
        return Err(format!("NOT logged: {}", ctx.not_allowed("!log")));
    }
    let to = destination(ctx).map_err(|why| format!("NOT logged: {why}"))?;
    // The whole line, relay prefix included, before anything else looks at it: the reason names
    // the kind of secret only, so the refusal is safe to say in the channel.
    let cleaned = screen(message).map_err(|why| {
        format!(
            "NOT logged: that looks like a secret ({why}). Nothing was stored; log what you did, not the credential."
        )
    })?;
    let mut message = cleaned.trim();
    let mut nick = sender.nick.clone();
    let mut userhost = sender.userhost();
    let mut relayed_by = None;
    if ctx.is_relay {
        // A relay's line reads `!log user@host message`: the entry belongs to user@host.
        if let Some((who, rest)) = message.split_once(char::is_whitespace) {
            if let Some((user, host)) = who.split_once('@').filter(|(u, h)| !u.is_empty() && !h.is_empty()) {
                nick = user.to_string();
                userhost = format!("{user}@{host}");
                relayed_by = sender.account.clone();
                message = rest.trim();
                if undo_request(message).is_some() {
                    return Err(format!(
                        "NOT undone: a relay cannot undo for {user}. An admin can !sal redact #id <reason>."
                    ));
                }
            }
        }
    }
    // Zero-width characters alone would store an entry nobody can see.
    if text::is_blank(message) {
        return Err("Message missing. Nothing logged.".into());
    }
    Ok(sal::NewEntry {
        logged_at: ctx.msg.time,
        channel: to.channel.map(String::from).unwrap_or_default(),
        nick,
        account: sender.account.clone(),
        userhost,
        relayed_by,
        message: message.to_string(),
        private: to.security,
        via_private_message: ctx.origin.channel.is_none(),
        tasks: text::task_refs(message),
    })
}

/// The message without formatting codes, or the kind of secret it seems to carry (then it must
/// not be stored). Every way into the log (`!log`, the ingest API) passes here.
pub(crate) fn screen(message: &str) -> Result<String, &'static str> {
    let cleaned = text::strip_formatting(message);
    match crate::privacy::looks_like_secret(&cleaned) {
        Some(why) => Err(why),
        None => Ok(cleaned),
    }
}

/// Stores `entry` with everything an entry gets, in the caller's transaction (call it inside a
/// store call): the row, its place in the timelines of the channel's open incidents, and its
/// publication. Returns the id and whether publishing was queued (then see [`committed`]).
pub(crate) fn store_entry(
    conn: &rusqlite::Connection,
    entry: &sal::NewEntry,
    targets: &Targets,
) -> rusqlite::Result<(i64, bool)> {
    let id = sal::insert(conn, entry)?;
    // "!log everything": what is logged during an incident is its timeline.
    let who = Actor { at: entry.logged_at, nick: entry.nick.clone(), account: entry.account.clone() };
    incident::attach_log(conn, &entry.channel, id, &entry.message, &who)?;
    // In the same transaction: an acknowledged entry cannot miss its publication.
    let queued = targets.enqueue(conn, id, &entry.channel, entry.private, sal::Action::Publish, entry.logged_at)?;
    Ok((id, queued))
}

/// After the commit of a [`store_entry`]: wakes the publisher and counts the entry (public
/// channels only: a security channel is not even counted by name).
pub(crate) fn committed(channel: &str, private: bool, queued: bool) {
    if queued {
        publish::wake();
    }
    if !private {
        crate::metrics::METRICS.log_entry(channel);
    }
}

/// The acknowledgement of stored entry `id` for `nick`, with the entry's link when the web view
/// has a public address.
pub fn ack(id: i64, nick: &str, base_url: Option<&str>) -> Ack {
    let url = base_url.map(|base| format!("{}/sal/{id}", base.trim_end_matches('/')));
    Ack { id, nick: nick.to_string(), url, message: None }
}

/// How one ack reads: `Logged #42, alice`, or with the link `Logged #42 <url>, alice` (the
/// `#id` is what `!sal amend` and `!log undo #id` need); an announced entry reads
/// `deploy@mw151 logged #812: synced wmf-config`.
pub fn ack_text(ack: &Ack) -> String {
    match (&ack.message, &ack.url) {
        (Some(message), _) => format!("{} logged #{}: {message}", ack.nick, ack.id),
        (None, Some(url)) => format!("Logged #{} {url}, {}", ack.id, ack.nick),
        (None, None) => format!("Logged #{}, {}", ack.id, ack.nick),
    }
}

/// The announcement of entry `id`, made elsewhere than in the channel (the ingest API) by
/// `author`: an ack, so a burst waiting behind flood control leaves merged (`Logged #1–#500`).
pub(crate) fn announcement(id: i64, author: &str, message: &str) -> Ack {
    Ack { id, nick: author.to_string(), url: None, message: Some(message.to_string()) }
}

/// The words for acks waiting together (the driver's [`crate::irc::AckLine`]): one line for
/// the first of `acks` (sorted by id) that fit in `budget` bytes, and how many it covers. A lone
/// ack reads as [`ack_text`]; several read `Logged #101–#112, #115 (alice ×5, bob ×8)`, with the
/// first link and a count when acks carry links. Every id covered appears in the line, as
/// itself or inside a range.
pub fn ack_line(acks: &[Ack], budget: usize) -> (String, usize) {
    let Some(first) = acks.first() else { return (String::new(), 0) };
    let mut merged = Merged::default();
    merged.add(first);
    let mut best = (ack_text(first), 1);
    for (i, a) in acks.iter().enumerate().skip(1) {
        merged.add(a);
        let text = merged.render();
        if text.len() > budget {
            break;
        }
        best = (text, i + 1);
    }
    best
}

/// Acks merged into one line: the ids as ranges, then who (with counts), then the first link
/// when acks carry links. Built from acks sorted by id.
#[derive(Default)]
struct Merged<'a> {
    ranges: Vec<(i64, i64)>,
    nicks: Vec<(&'a str, usize)>,
    first_url: Option<&'a str>,
    count: usize,
}

impl<'a> Merged<'a> {
    fn add(&mut self, a: &'a Ack) {
        match self.ranges.last_mut() {
            Some((_, end)) if a.id == *end + 1 => *end = a.id,
            Some((_, end)) if a.id == *end => {}
            _ => self.ranges.push((a.id, a.id)),
        }
        match self.nicks.iter_mut().find(|(n, _)| crate::irc::casefold_eq(n, &a.nick)) {
            Some((_, c)) => *c += 1,
            None => self.nicks.push((&a.nick, 1)),
        }
        if self.first_url.is_none() {
            self.first_url = a.url.as_deref();
        }
        self.count += 1;
    }

    fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from("Logged ");
        for (i, (start, end)) in self.ranges.iter().enumerate() {
            let sep = if i > 0 { ", " } else { "" };
            let _ = match end - start {
                0 => write!(out, "{sep}#{start}"),
                _ => write!(out, "{sep}#{start}\u{2013}#{end}"),
            };
        }
        match self.nicks.as_slice() {
            [(nick, _)] => {
                let _ = write!(out, ", {nick}");
            }
            nicks => {
                out.push_str(" (");
                for (i, (nick, n)) in nicks.iter().enumerate() {
                    let sep = if i > 0 { ", " } else { "" };
                    let _ = match n {
                        1 => write!(out, "{sep}{nick}"),
                        _ => write!(out, "{sep}{nick} \u{00d7}{n}"),
                    };
                }
                out.push(')');
            }
        }
        if let Some(url) = self.first_url {
            let _ = match self.count {
                1 => write!(out, ": {url}"),
                n => write!(out, ": {url} and {} more", n - 1),
            };
        }
        out
    }
}

pub async fn run(message: &str, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    if let Some(explicit) = undo_request(message) {
        return vec![ctx.reply(undo(explicit, ctx, store).await.unwrap_or_else(|refusal| refusal))];
    }
    submit(message, ctx, store).await
}

/// Whether `!log <message>` takes back instead of logging.
pub fn is_undo(message: &str) -> bool {
    undo_request(message).is_some()
}

/// `!log <message>` (not undo): plans the entry and hands its store call over before returning,
/// so entries submitted one after another are stored, and acknowledged, in that order (a
/// pasted run of lines keeps its order and still shares one commit). The future answers with
/// the ack or the refusal.
pub fn submit(message: &str, ctx: &Context<'_>, store: &Store) -> impl Future<Output = Vec<Reply>> + Send + 'static {
    prepare(message, ctx).submit(store)
}

/// A planned `!log` (or its refusal), ready to hand to the store: planning takes the CPU
/// (cleaning, secret detection), so it can run in parallel while submitting keeps the order.
pub struct Prepared {
    reply_to: String,
    planned: Result<sal::NewEntry, String>,
    base_url: Option<String>,
    targets: Targets,
}

/// Plans `!log <message>` (not undo) without I/O.
pub fn prepare(message: &str, ctx: &Context<'_>) -> Prepared {
    Prepared {
        reply_to: ctx.reply_to().to_string(),
        planned: plan(message, ctx),
        base_url: ctx.config.web.base_url.clone(),
        targets: Targets::from_config(ctx.config),
    }
}

impl Prepared {
    /// Hands the entry to the store now (see [`Store::submit`]); the future answers.
    pub fn submit(self, store: &Store) -> impl Future<Output = Vec<Reply>> + Send + 'static {
        let Prepared { reply_to, planned, base_url, targets } = self;
        let stored = planned.map(|entry| {
            let (nick, channel, private) = (entry.nick.clone(), entry.channel.clone(), entry.private);
            let stored = store.submit(move |conn| store_entry(conn, &entry, &targets));
            (stored, nick, channel, private)
        });
        async move {
            let (stored, nick, channel, private) = match stored {
                Ok(s) => s,
                Err(refusal) => return vec![Reply::say(&reply_to, refusal)],
            };
            match stored.await {
                Ok((id, queued)) => {
                    committed(&channel, private, queued);
                    vec![Reply::ack(&reply_to, ack(id, &nick, base_url.as_deref()))]
                }
                Err(e) => {
                    tracing::error!(error = %e, "a !log was NOT stored");
                    vec![Reply::say(&reply_to, format!("NOT logged: {}", text::truncate_bytes(&e.to_string(), 200)))]
                }
            }
        }
    }
}

/// `!log undo` (`None`) or `!log undo #id`; `None` when the message is an ordinary entry.
fn undo_request(message: &str) -> Option<Option<i64>> {
    let mut words = message.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("undo") {
        return None;
    }
    match (words.next(), words.next()) {
        (None, _) => Some(None),
        (Some(id), None) => id.strip_prefix('#')?.parse::<i64>().ok().filter(|n| *n > 0).map(Some),
        _ => None,
    }
}

/// `!log undo [#id]`: hides one of the author's entries in this channel if it is recent enough.
/// The author is known by services account, never by nick. Without an id it takes the latest
/// entry that is still visible and was logged after the author's previous undo (still in force),
/// so a second undo never silently reaches further back: it names the entry it leaves alone.
async fn undo(explicit: Option<i64>, ctx: &Context<'_>, store: &Store) -> Result<String, String> {
    let Some(account) = ctx.msg.sender.account.clone() else {
        return Err(format!(
            "{}, you are not identified to services: !log undo finds your entries by account.",
            ctx.msg.sender.nick
        ));
    };
    let channel = destination(ctx)?.channel.map(String::from).unwrap_or_default();
    let window = chrono::Duration::minutes(i64::from(ctx.config.sal.undo_minutes));
    let minutes = ctx.config.sal.undo_minutes;
    let who = ctx.origin.actor();
    let targets = Targets::from_config(ctx.config);
    let outcome = store
        .call(move |conn| {
            let e = match explicit {
                Some(id) => {
                    let own = |e: &sal::Entry| {
                        e.channel == channel
                            && e.relayed_by.is_none()
                            && e.account.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&account))
                    };
                    match sal::get(conn, id)?.filter(own) {
                        None => return Ok(Err(format!("You have no entry #{id} in {channel}."))),
                        Some(e) if e.is_hidden() => return Ok(Err(format!("#{id} is already hidden."))),
                        Some(e) => e,
                    }
                }
                None => {
                    let Some(e) = sal::latest_own(conn, &account, &channel)? else {
                        return Ok(Err(format!("You have no entry to undo in {channel}.")));
                    };
                    if let Some((undone_at, undone)) = sal::latest_undo(conn, &account, &channel)? {
                        if e.logged_at <= undone_at {
                            return Ok(Err(format!(
                                "NOT undone: your last undo took back #{undone}; #{} ({}) was logged before it and stays. To take it back too: !log undo #{}",
                                e.id,
                                text::truncate_bytes(&e.message, 60),
                                e.id
                            )));
                        }
                    }
                    e
                }
            };
            let age = e.time().map(|t| who.at - t).unwrap_or(chrono::Duration::MAX);
            if age > window {
                return Ok(Err(format!(
                    "Your entry #{} is older than {minutes} minutes: fix it with !sal amend #{} <text>, or ask an \
                     admin to !sal redact #{} <reason>.",
                    e.id, e.id, e.id
                )));
            }
            sal::hide(conn, &e, sal::Kind::Undo, &who, "")?;
            let queued = targets.enqueue(conn, e.id, &e.channel, e.private, sal::Action::Remove, who.at)?;
            Ok(Ok((e, queued)))
        })
        .await
        .map_err(|e| format!("NOT undone: {}", text::truncate_bytes(&e.to_string(), 200)))??;
    let (e, queued) = outcome;
    if queued {
        publish::wake();
    }
    Ok(format!(
        "Undone: #{} ({}). It is kept for the record, hidden everywhere; !sal restore #{} brings it back.",
        e.id,
        text::truncate_bytes(&e.message, 80),
        e.id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irc::{Incoming, Sender};

    fn config() -> crate::config::Config {
        crate::testing::config("[access]\naccounts = [\"alice\"]\nadmins = [\"root\"]\nrelays = [\"logbridge\"]")
    }

    fn msg(channel: Option<&str>, account: Option<&str>) -> Incoming {
        Incoming {
            time: "2026-11-22T10:00:00Z".parse().unwrap(),
            channel: channel.map(Into::into),
            sender: Sender {
                nick: "Alice".into(),
                user: "al".into(),
                host: "sre/alice".into(),
                account: account.map(Into::into),
            },
            text: String::new(),
        }
    }

    static NOBODY: std::sync::LazyLock<crate::cmd::testing::FakeDirectory> = std::sync::LazyLock::new(Default::default);

    fn ctx<'a>(config: &'a crate::config::Config, m: &'a Incoming) -> Context<'a> {
        Context {
            config,
            clock: &crate::clock::Clock::System,
            msg: m,
            level: crate::access::level(&config.access, &m.sender),
            is_relay: crate::access::is_relay(&config.access, &m.sender),
            directory: &*NOBODY,
            origin: crate::cmd::Origin::of(config, m),
        }
    }

    #[test]
    fn plans_an_entry_with_tasks_and_clean_text() {
        let c = config();
        let m = msg(Some("#SRE"), Some("alice"));
        let e = plan("  \x02restarted\x02 db151 for T1234  ", &ctx(&c, &m)).unwrap();
        assert_eq!(e.channel, "#sre");
        assert_eq!(e.message, "restarted db151 for T1234");
        assert_eq!(e.tasks, vec!["T1234"]);
        assert_eq!((e.nick.as_str(), e.userhost.as_str(), e.private), ("Alice", "al@sre/alice", false));
        let m = msg(Some("#sre-security"), Some("alice"));
        assert!(plan("rotated keys", &ctx(&c, &m)).unwrap().private);
    }

    #[test]
    fn refuses_clearly() {
        let c = config();
        let m = msg(Some("#sre"), None);
        let no = plan("x", &ctx(&c, &m)).unwrap_err();
        assert!(no.contains("not identified") && no.contains("root"), "{no}");
        let m = msg(Some("#sre"), Some("mallory"));
        let mallory = plan("x", &ctx(&c, &m)).unwrap_err();
        assert!(mallory.contains("mallory is not on"), "{mallory}");
        let m = msg(Some("#elsewhere"), Some("alice"));
        let elsewhere = plan("x", &ctx(&c, &m)).unwrap_err();
        let m = msg(Some("#sre"), Some("alice"));
        assert_eq!(plan("   ", &ctx(&c, &m)).unwrap_err(), "Message missing. Nothing logged.");
        assert_eq!(plan("\x02\x03", &ctx(&c, &m)).unwrap_err(), "Message missing. Nothing logged.");
        for invisible in ["\u{200B}", "\x02\u{200B}\u{200D}\x0F \u{FEFF}", "\u{2060}\x034,5\u{200C}"] {
            assert_eq!(plan(invisible, &ctx(&c, &m)).unwrap_err(), "Message missing. Nothing logged.", "{invisible:?}");
        }
        let m = msg(None, Some("alice"));
        let pm = plan("x", &ctx(&c, &m)).unwrap_err();
        assert!(pm.contains("#sre") && !pm.contains("security"), "{pm}");
        // Every other "nothing was stored" answer says so the same way as a database failure.
        for refusal in [&no, &mallory, &elsewhere, &pm] {
            assert!(refusal.starts_with("NOT logged: "), "{refusal}");
        }
    }

    #[test]
    fn private_log_goes_to_the_configured_channel() {
        let mut c = config();
        c.sal.private_message_channel = Some("#sre".into());
        let m = msg(None, Some("alice"));
        let e = plan("did a thing", &ctx(&c, &m)).unwrap();
        assert_eq!((e.channel.as_str(), e.via_private_message), ("#sre", true));
    }

    #[test]
    fn relays_attribute_to_the_named_user() {
        let c = config();
        let mut m = msg(Some("#sre"), Some("logbridge"));
        m.sender.nick = "logbot".into();
        let e = plan("jdoe@deploy1002 Synchronized wmf-config", &ctx(&c, &m)).unwrap();
        assert_eq!((e.nick.as_str(), e.userhost.as_str()), ("jdoe", "jdoe@deploy1002"));
        assert_eq!(e.relayed_by.as_deref(), Some("logbridge"));
        assert_eq!(e.message, "Synchronized wmf-config");
        assert_eq!(plan("jdoe@deploy1002", &ctx(&c, &m)).unwrap().nick, "logbot");
    }

    #[tokio::test]
    async fn a_relay_cannot_undo_for_the_people_it_relays() {
        let c = config();
        let dir = tempfile::tempdir().unwrap();
        let (store, _t) = Store::open(&dir.path().join("db.sqlite3"));
        let mut relay = msg(Some("#sre"), Some("logbridge"));
        relay.sender.nick = "logbot".into();
        let said = |text: &'static str| {
            let (c, relay, store) = (&c, &relay, &store);
            async move { run(text, &ctx(c, relay), store).await.remove(0).text }
        };
        assert_eq!(said("jdoe@deploy1002 Synchronized wmf-config").await, "Logged #1, jdoe");
        // On someone's behalf: refused, and nothing stored or hidden.
        let refused = said("jdoe@deploy1002 undo").await;
        assert!(refused.starts_with("NOT undone: a relay cannot undo for jdoe."), "{refused}");
        // In its own name: the relay has nothing of its own to undo; jdoe's entry is not its.
        assert_eq!(said("undo").await, "You have no entry to undo in #sre.");
        let all = store.call(sal::all).await.unwrap();
        assert_eq!(all.len(), 1, "the refused undo was not logged as an entry");
        assert!(!all[0].is_hidden());
        // What the relay logged in its own name, it may take back, and only that.
        assert_eq!(said("restarted the relay").await, "Logged #2, logbot");
        assert!(said("undo").await.starts_with("Undone: #2 (restarted the relay)"));
        assert_eq!(said("undo").await, "You have no entry to undo in #sre.");
        let all = store.call(sal::all).await.unwrap();
        assert!(!all[0].is_hidden() && all[1].is_hidden(), "{all:?}");
    }

    #[test]
    fn ack_formats() {
        assert_eq!(ack_text(&ack(7, "alice", None)), "Logged #7, alice");
        // With a link, the id is still there: `!sal amend #7` needs it.
        assert_eq!(
            ack_text(&ack(7, "alice", Some("https://sal.example/"))),
            "Logged #7 https://sal.example/sal/7, alice"
        );
    }

    fn acked(id: i64, nick: &str) -> Ack {
        ack(id, nick, None)
    }

    #[test]
    fn acks_merge_into_ranges_with_counts() {
        let mut acks: Vec<Ack> = (101..=112).map(|i| acked(i, if i % 2 == 0 { "alice" } else { "bob" })).collect();
        assert_eq!(ack_line(&acks, 400), ("Logged #101\u{2013}#112 (bob ×6, alice ×6)".into(), 12));
        acks.retain(|a| a.id != 102 && a.id != 111);
        assert_eq!(ack_line(&acks, 400), ("Logged #101, #103\u{2013}#110, #112 (bob ×5, alice ×5)".into(), 10));
        // One nick reads like a single ack; a lone ack is left exactly as it was.
        let one: Vec<Ack> = (7..=9).map(|i| acked(i, "carol")).collect();
        assert_eq!(ack_line(&one, 400), ("Logged #7\u{2013}#9, carol".into(), 3));
        assert_eq!(ack_line(&one[..1], 400), ("Logged #7, carol".into(), 1));
        // Nicks differing only in case are one person.
        let mixed = vec![acked(1, "Dave"), acked(2, "dave")];
        assert_eq!(ack_line(&mixed, 400).0, "Logged #1\u{2013}#2, Dave");
    }

    #[test]
    fn merged_acks_respect_the_budget_and_keep_every_id() {
        // Every other id, 30 nicks: far more than one line holds.
        let acks: Vec<Ack> = (0..2000).map(|i| acked(1000 + 2 * i, &format!("user{}", i % 30))).collect();
        let mut rest = &acks[..];
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let (text, used) = ack_line(rest, 300);
            assert!(text.len() <= 300 && used >= 1, "{text}");
            for a in &rest[..used] {
                assert!(text.contains(&format!("#{}", a.id)), "#{} missing from {text}", a.id);
                seen.push(a.id);
            }
            rest = &rest[used..];
        }
        assert_eq!(seen.len(), 2000);
        // Contiguous ids from 20 people: 2,000 acks in one line.
        let burst: Vec<Ack> = (1..=2000).map(|i| acked(i, &format!("loadclient{}", i % 20))).collect();
        let (text, used) = ack_line(&burst, 450);
        assert_eq!(used, 2000, "{text}");
        assert!(text.starts_with("Logged #1\u{2013}#2000 (loadclient1 ×100, "), "{text}");
    }

    #[test]
    fn announcements_read_as_one_line_and_merge_as_acks() {
        let one = announcement(812, "deploy@mw151", "synced wmf-config (T123456)");
        assert_eq!(ack_text(&one), "deploy@mw151 logged #812: synced wmf-config (T123456)");
        let two = [one, announcement(813, "deploy@mw151", "second")];
        assert_eq!(ack_line(&two, 400).0, "Logged #812\u{2013}#813, deploy@mw151");
    }

    #[test]
    fn merged_acks_with_links_give_the_first_and_a_count() {
        let acks: Vec<Ack> = (5..=7).map(|i| ack(i, "alice", Some("https://sal.example"))).collect();
        assert_eq!(ack_line(&acks, 400).0, "Logged #5\u{2013}#7, alice: https://sal.example/sal/5 and 2 more");
        assert_eq!(ack_line(&acks[..1], 400).0, "Logged #5 https://sal.example/sal/5, alice");
    }

    #[tokio::test]
    async fn secrets_are_refused_unstored_and_unechoed() {
        let c = config();
        let dir = tempfile::tempdir().unwrap();
        let (store, _t) = Store::open(&dir.path().join("db.sqlite3"));
        let m = msg(Some("#sre"), Some("alice"));
        for secret in [
            "set db password=Tr0ub4dor&3xyz on db1001",
            "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA",
            "deployed with token ghp_aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2bC4",
        ] {
            let replies = run(secret, &ctx(&c, &m), &store).await;
            assert_eq!(replies.len(), 1);
            let r = &replies[0].text;
            assert!(r.starts_with("NOT logged: that looks like a secret ("), "{r}");
            for word in secret.split_whitespace().filter(|w| w.len() > 8) {
                assert!(!r.contains(word), "the refusal repeats {word:?}: {r}");
            }
        }
        let relay = msg(Some("#sre"), Some("logbridge"));
        let r = run("jdoe@deploy1002 mysql -uroot -phunter2secret db", &ctx(&c, &relay), &store).await;
        assert!(r[0].text.starts_with("NOT logged: that looks like a secret"), "{r:?}");
        let n: i64 =
            store.call(|conn| conn.query_row("SELECT count(*) FROM sal_entry", [], |r| r.get(0))).await.unwrap();
        assert_eq!(n, 0, "nothing stored");
        let fts: i64 =
            store.call(|conn| conn.query_row("SELECT count(*) FROM sal_fts", [], |r| r.get(0))).await.unwrap();
        assert_eq!(fts, 0);
    }

    #[tokio::test]
    async fn undo_takes_back_the_authors_latest_recent_entry() {
        let mut c = config();
        c.sal.undo_minutes = 15;
        let dir = tempfile::tempdir().unwrap();
        let (store, _t) = Store::open(&dir.path().join("db.sqlite3"));
        let mut m = msg(Some("#sre"), Some("alice"));
        assert_eq!(run("first", &ctx(&c, &m), &store).await[0].text, "Logged #1, Alice");
        assert_eq!(run("second", &ctx(&c, &m), &store).await[0].text, "Logged #2, Alice");
        // Someone else cannot undo alice's entry: they have none of their own.
        let mut r = msg(Some("#sre"), Some("root"));
        r.sender.nick = "Alice".into(); // same nick, other account
        assert_eq!(run("undo", &ctx(&c, &r), &store).await[0].text, "You have no entry to undo in #sre.");
        let no_account = msg(Some("#sre"), None);
        assert!(run("undo", &ctx(&c, &no_account), &store).await[0].text.contains("not identified"));
        m.time += chrono::Duration::minutes(14);
        let undone = run("UNDO", &ctx(&c, &m), &store).await;
        assert!(undone[0].text.starts_with("Undone: #2 (second)"), "{undone:?}");
        let two = store.call(|conn| sal::get(conn, 2)).await.unwrap().unwrap();
        assert!(two.is_hidden() && two.message == "second", "hidden, not deleted");
        let corr = store.call(|conn| sal::corrections(conn, 2)).await.unwrap();
        assert_eq!((corr[0].kind, corr[0].actor_account.as_deref()), (sal::Kind::Undo, Some("alice")));
        // The one before it, #1, was logged before that undo: named for an explicit undo, which
        // is itself refused once #1 is too old.
        m.time += chrono::Duration::minutes(2);
        let old = run("undo #1", &ctx(&c, &m), &store).await;
        assert!(
            old[0].text.contains("#1 is older than 15 minutes") && old[0].text.contains("!sal amend #1"),
            "{old:?}"
        );
        assert!(!store.call(|conn| sal::get(conn, 1)).await.unwrap().unwrap().is_hidden());
    }

    #[tokio::test]
    async fn a_second_undo_does_not_reach_further_back() {
        let c = config();
        let dir = tempfile::tempdir().unwrap();
        let (store, _t) = Store::open(&dir.path().join("db.sqlite3"));
        let mut m = msg(Some("#sre"), Some("alice"));
        let say = |text: &'static str, m: Incoming| {
            let (c, store) = (&c, &store);
            async move { run(text, &ctx(c, &m), store).await.remove(0).text }
        };
        say("first", m.clone()).await;
        say("second", m.clone()).await;
        m.time += chrono::Duration::minutes(1);
        assert!(say("undo", m.clone()).await.starts_with("Undone: #2 (second)"));
        m.time += chrono::Duration::seconds(5);
        let twice = say("undo", m.clone()).await;
        assert_eq!(
            twice,
            "NOT undone: your last undo took back #2; #1 (first) was logged before it and stays. To take it back \
             too: !log undo #1"
        );
        assert!(!store.call(|conn| sal::get(conn, 1)).await.unwrap().unwrap().is_hidden(), "#1 untouched");
        // What is logged after the undo can be undone; then the explicit form reaches #1.
        m.time += chrono::Duration::seconds(5);
        assert_eq!(say("third", m.clone()).await, "Logged #3, Alice");
        m.time += chrono::Duration::seconds(5);
        assert!(say("undo", m.clone()).await.starts_with("Undone: #3 (third)"));
        assert!(say("undo #1", m.clone()).await.starts_with("Undone: #1 (first)"));
        assert_eq!(say("undo #1", m.clone()).await, "#1 is already hidden.");
        // Only one's own entries in this channel, and `undo <words>` is an ordinary entry.
        let mut r = m.clone();
        r.sender.account = Some("root".into());
        assert_eq!(say("undo #3", r.clone()).await, "You have no entry #3 in #sre.");
        assert_eq!(say("undo the deploy", m.clone()).await, "Logged #4, Alice");
    }

    #[tokio::test]
    async fn publishing_is_queued_with_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "x").unwrap();
        let mut c = config();
        c.publish.mediawiki = Some(crate::config::MediaWikiConfig {
            api_url: "http://127.0.0.1:1/api.php".into(),
            page: "SAL".into(),
            username: "Bot@sal".into(),
            password_file: pw,
            channels: vec![],
            retry_min_seconds: 1,
            retry_max_seconds: 2,
            timeout_seconds: 1,
            status_page: None,
            report_prefix: "Tech:Incidents/".into(),
        });
        let (store, _t) = Store::open(&dir.path().join("db.sqlite3"));
        run("public work", &ctx(&c, &msg(Some("#sre"), Some("alice"))), &store).await;
        run("secret work", &ctx(&c, &msg(Some("#sre-security"), Some("alice"))), &store).await;
        run("undo", &ctx(&c, &msg(Some("#sre"), Some("alice"))), &store).await;
        let rows: Vec<(i64, String)> = store
            .call(|conn| {
                conn.prepare("SELECT entry_id, action FROM sal_outbox ORDER BY id")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .await
            .unwrap();
        assert_eq!(rows, vec![(1, "publish".to_string()), (1, "remove".to_string())], "never the private entry");
        // Restored, it is queued again: the publisher puts its current state back on the page.
        let m = msg(Some("#sre"), Some("alice"));
        let restored = crate::cmd::sal::run(crate::cmd::sal::parse("restore #1").unwrap(), &ctx(&c, &m), &store).await;
        assert!(restored[0].text.starts_with("Restored #1"), "{restored:?}");
        let last: (i64, String) = store
            .call(|conn| {
                conn.query_row("SELECT entry_id, action FROM sal_outbox ORDER BY id DESC", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
            })
            .await
            .unwrap();
        assert_eq!(last, (1, "publish".to_string()));
    }

    #[tokio::test]
    async fn run_stores_then_acks_and_reports_failure() {
        let c = config();
        let dir = tempfile::tempdir().unwrap();
        let (store, _t) = Store::open(&dir.path().join("db.sqlite3"));
        let m = msg(Some("#sre"), Some("alice"));
        let replies = run("restarted db151", &ctx(&c, &m), &store).await;
        assert_eq!(replies, vec![Reply::ack("#sre", ack(1, "Alice", None))]);
        assert_eq!(replies[0].text, "Logged #1, Alice");
        let stored = store.call(|conn| sal::get(conn, 1)).await.unwrap().unwrap();
        assert_eq!(stored.message, "restarted db151");

        let (broken, _t2) = Store::open(&dir.path().join("missing-dir").join("db.sqlite3"));
        let replies = run("restarted db152", &ctx(&c, &m), &broken).await;
        assert!(replies[0].text.starts_with("NOT logged: database unavailable"), "{replies:?}");
    }
}
