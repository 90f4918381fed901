//! The IRC session as a state machine without I/O: lines in, actions out.
//!
//! [`Session`] knows the protocol (CAP 302, SASL, ISUPPORT, nick collisions, joins and their
//! refusals, KICK, PING, account tracking, CTCP) and nothing about sockets or clocks: the driver
//! feeds it each parsed line and a periodic tick with the current time, and carries out the
//! [`Action`]s it returns. So every protocol corner is unit-tested with plain strings.
//!
//! `on_line` and `on_numeric` here route each line; the handlers live by concern in
//! `registration` (nick, CAP, SASL, STS), `channels` (joins, modes, NAMES, topic) and
//! `accounts` (WHOX, messages, CTCP), each another `impl Session` block.

mod accounts;
mod channels;
mod registration;

use super::isupport::{fold, fold_eq, ISupport};
use super::line::Line;
use super::roster::{Account, Roster};
use super::sasl::{fresh_nonce, Credentials, Exchange, Mechanism};
use super::split::{assumed_prefix, split_text, text_budget};
use super::{Event, Incoming, Sender};
use crate::config::Secret;
use base64::Engine;
use chrono::{DateTime, Utc};
use irc::proto::{CapSubCommand, Command};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The capabilities we use, requested only when the server offers them. `cap-notify` tells us
/// when services link again (CAP NEW sasl); CAP 302 implies it, but not for every server.
const WANTED_CAPS: &[&str] = &[
    "sasl",
    "account-tag",
    "extended-join",
    "account-notify",
    "server-time",
    "message-tags",
    "multi-prefix",
    "cap-notify",
];

/// While SASL is configured but not offered, we ask for the capability list again after this
/// long, then twice as long each time up to `SASL_RECHECK_MAX`: not every server announces
/// services linking again with CAP NEW (InspIRCd 3 does not when the mechanism list is
/// unchanged), and a network without services should not hear from us every few seconds.
const SASL_RECHECK: Duration = Duration::from_secs(10);
const SASL_RECHECK_MAX: Duration = Duration::from_secs(300);

/// SASL PLAIN payloads are sent base64-encoded in pieces of this size (IRCv3 SASL 3.1).
const SASL_CHUNK: usize = 400;

/// Our WHOX query token, to tell our replies from anyone else's.
const WHOX_TOKEN: &str = "152";

/// How long after 001 we wait for the end of the MOTD before joining anyway.
const MOTD_GRACE: Duration = Duration::from_secs(10);

/// A JOIN we sent and heard nothing about is sent again after this long.
const JOIN_UNANSWERED: Duration = Duration::from_secs(60);

/// At most one CTCP answer per this long, so a CTCP flood cannot fill our queue.
const CTCP_GAP: Duration = Duration::from_secs(2);

/// Without extended-join a JOIN does not say who someone is logged in as: the joins of this
/// long are asked about together with WHOX, so a join storm costs a few WHO lines.
const JOIN_WHOX_DELAY: Duration = Duration::from_secs(1);

/// More joiners than this in one channel are asked about with one `WHO #channel`.
const JOIN_WHOX_NICKS: usize = 4;

/// A message from someone whose account is not known waits this long at most for the WHOX
/// answer; then it goes on as from someone not identified.
const WHOX_WAIT: Duration = Duration::from_secs(5);

/// Messages waiting for a WHOX answer, at most; beyond that they go on without an account.
const MAX_HELD: usize = 64;

/// How to log in with SASL: the mechanisms to try, in order of preference, and what they need.
#[derive(Clone)]
pub struct SaslLogin {
    pub mechanisms: Vec<Mechanism>,
    pub credentials: Credentials,
}

#[derive(Clone)]
pub struct JoinTarget {
    pub name: String,
    pub key: Option<Secret>,
    /// Joined only after a successful SASL login (when SASL is configured).
    pub security: bool,
}

/// Everything the session needs to know, resolved from the config (secrets read) beforehand.
#[derive(Clone)]
pub struct Settings {
    pub nick: String,
    pub alt_nicks: Vec<String>,
    pub username: String,
    pub realname: String,
    pub sasl: Option<SaslLogin>,
    pub channels: Vec<JoinTarget>,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub register_timeout: Duration,
    pub rejoin: Duration,
    pub rejoin_max: Duration,
    pub nick_regain: Duration,
    /// SASL configured but not offered (services not linked yet, after a server restart): how
    /// long to wait for it before joining the public channels unidentified.
    pub sasl_wait: Duration,
    pub version: String,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this line now (protocol traffic; goes ahead of queued replies).
    Send(String),
    /// Send this line at once even under flood control (PONG, QUIT).
    SendUrgent(String),
    Event(Event),
    /// Drop the connection and reconnect.
    Disconnect(String),
    /// A plaintext connection was offered STS: drop it, say nothing more, and reconnect with
    /// TLS to this port at once.
    UpgradeToTls {
        port: u16,
    },
    /// A TLS connection's STS policy: keep to TLS on this host for this long (zero: forget it).
    StsPolicy {
        duration: Duration,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslState {
    NotConfigured,
    Pending,
    Authenticating,
    Succeeded(String),
    Failed(String),
}

struct Channel {
    target: JoinTarget,
    folded: String,
    joined: bool,
    next_try: Option<Instant>,
    failures: u32,
    /// We already said in the log why this channel is skipped.
    skip_logged: bool,
    topic: String,
    opped: bool,
}

impl Channel {
    fn new(target: &JoinTarget) -> Channel {
        Channel {
            target: target.clone(),
            folded: fold(&target.name, super::isupport::CaseMapping::Rfc1459),
            joined: false,
            next_try: None,
            failures: 0,
            skip_logged: false,
            topic: String::new(),
            opped: false,
        }
    }
}

pub struct Session {
    settings: Arc<Settings>,
    nick: String,
    nick_tries: usize,
    registered: bool,
    ready: bool,
    registered_at: Option<Instant>,
    started: Instant,
    caps_offered: Vec<String>,
    caps: HashSet<String>,
    cap_end_sent: bool,
    sasl: SaslState,
    /// The server's mechanism list from a 908 answer.
    sasl_mechs: Option<String>,
    /// Our mechanisms the server offers (CAP 302 `sasl=`) and we have not tried yet.
    sasl_candidates: VecDeque<Mechanism>,
    sasl_exchange: Option<(Mechanism, Exchange)>,
    /// AUTHENTICATE pieces of a challenge not yet complete (each full piece is 400 bytes).
    sasl_received: String,
    /// Why we aborted the exchange (`AUTHENTICATE *`), for the 906 that follows.
    sasl_aborted: Option<String>,
    /// SASL is configured but was not offered: hold every join until `sasl_wait` has passed
    /// since registration, or SASL has come (cap-notify) and finished.
    awaiting_services: bool,
    /// SASL is configured and the server did not offer it: when to ask `CAP LS` again.
    sasl_recheck: Option<Instant>,
    sasl_recheck_gap: Duration,
    /// We are trying SASL after registration because services came back: if the server
    /// refuses that (InspIRCd 3 does), reconnect once to log in during registration.
    relogin: bool,
    /// The connection is TLS (for STS: a plaintext one offered `sts` upgrades instead).
    tls: bool,
    /// `name=value` of the capabilities offered with a value (`sasl=`, `sts=`).
    cap_values: Vec<(String, String)>,
    pub isupport: ISupport,
    own_userhost: Option<(String, String)>,
    channels: Vec<Channel>,
    roster: Arc<Mutex<Roster>>,
    last_rx: Instant,
    ping_sent: Option<Instant>,
    next_regain: Option<Instant>,
    last_ctcp: Option<Instant>,
    /// Others' JOINs that did not carry an account, by channel, to ask WHOX about together
    /// once `join_whox_due` comes; `None` for more than `JOIN_WHOX_NICKS` (ask the channel).
    join_whox: Vec<(String, Option<Vec<String>>)>,
    join_whox_due: Option<Instant>,
    /// Messages whose sender's account is unknown (no account-tag, not in the roster yet),
    /// held until our WHOX about them is answered, so a permission check never sees "not
    /// identified" only because we had not asked yet.
    held: VecDeque<Held>,
    /// Folded nicks we sent `WHO nick` for and await the end of.
    whox_asked: HashSet<String>,
}

struct Held {
    folded_nick: String,
    since: Instant,
    message: Incoming,
}

fn line(c: Command) -> String {
    String::from(&c)
}

fn raw(cmd: &str, args: &[&str]) -> String {
    line(Command::Raw(cmd.to_string(), args.iter().map(|s| s.to_string()).collect()))
}

/// A WHOX query for `target` (a nick or a channel) asking for what the roster keeps, with the
/// token that marks our 354 answers.
fn whox(target: &str) -> String {
    raw("WHO", &[target, &format!("%tuhnairf,{WHOX_TOKEN}")])
}

impl Session {
    pub fn new(settings: Arc<Settings>, roster: Arc<Mutex<Roster>>, now: Instant) -> Session {
        roster.lock().unwrap().clear();
        let channels = settings.channels.iter().map(Channel::new).collect();
        Session {
            nick: settings.nick.clone(),
            sasl: if settings.sasl.is_some() { SaslState::Pending } else { SaslState::NotConfigured },
            settings,
            nick_tries: 0,
            registered: false,
            ready: false,
            registered_at: None,
            started: now,
            caps_offered: Vec::new(),
            caps: HashSet::new(),
            cap_end_sent: false,
            sasl_mechs: None,
            sasl_candidates: VecDeque::new(),
            sasl_exchange: None,
            sasl_received: String::new(),
            sasl_aborted: None,
            awaiting_services: false,
            sasl_recheck: None,
            sasl_recheck_gap: SASL_RECHECK,
            relogin: false,
            tls: false,
            cap_values: Vec::new(),
            isupport: ISupport::default(),
            own_userhost: None,
            channels,
            roster,
            last_rx: now,
            ping_sent: None,
            next_regain: None,
            last_ctcp: None,
            join_whox: Vec::new(),
            join_whox_due: None,
            held: VecDeque::new(),
            whox_asked: HashSet::new(),
        }
    }

    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// Tells the session its connection is TLS (STS policies are only taken from those).
    pub fn set_tls(&mut self, tls: bool) {
        self.tls = tls;
    }

    /// Registered, and past the MOTD: replies may flow.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    pub fn is_registered(&self) -> bool {
        self.registered
    }

    /// When 001 came, on this connection.
    pub fn registered_at(&self) -> Option<Instant> {
        self.registered_at
    }

    #[cfg(test)]
    pub fn sasl_state(&self) -> &SaslState {
        &self.sasl
    }

    pub fn joined_channels(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().filter(|c| c.joined).map(|c| c.target.name.as_str())
    }

    fn fold(&self, s: &str) -> String {
        fold(s, self.isupport.case_mapping())
    }

    fn is_me(&self, nick: &str) -> bool {
        fold_eq(nick, &self.nick, self.isupport.case_mapping())
    }

    fn is_channel(&self, target: &str) -> bool {
        target.chars().next().is_some_and(|c| self.isupport.chan_types().contains(c))
    }

    /// The lines that open a connection.
    pub fn start(&mut self) -> Vec<Action> {
        vec![
            Action::Send(line(Command::CAP(None, CapSubCommand::LS, Some("302".into()), None))),
            Action::Send(line(Command::NICK(self.nick.clone()))),
            Action::Send(line(Command::USER(
                self.settings.username.clone(),
                "0".into(),
                self.settings.realname.clone(),
            ))),
        ]
    }

    /// `COMMAND target :text` lines for a reply, split to fit the relayed 512-byte limit.
    pub fn render(&self, command: &str, target: &str, text: &str) -> Vec<String> {
        let prefix = match &self.own_userhost {
            Some((user, host)) => format!("{}!{}@{}", self.nick, user, host),
            None => assumed_prefix(&self.nick, &self.settings.username),
        };
        let text = crate::text::one_line(text);
        let target = crate::text::one_line(target).replace(' ', "");
        split_text(&text, text_budget(&prefix, command, &target))
            .into_iter()
            .map(|piece| match command {
                "NOTICE" => line(Command::NOTICE(target.clone(), piece)),
                _ => line(Command::PRIVMSG(target.clone(), piece)),
            })
            .collect()
    }

    /// `TOPIC #chan :text`, cut (on a character boundary) to fit one relayed line.
    pub fn render_topic(&self, channel: &str, text: &str) -> String {
        let prefix = match &self.own_userhost {
            Some((user, host)) => format!("{}!{}@{}", self.nick, user, host),
            None => assumed_prefix(&self.nick, &self.settings.username),
        };
        let channel = crate::text::one_line(channel).replace(' ', "");
        let budget = text_budget(&prefix, "TOPIC", &channel);
        let text = crate::text::one_line(text);
        let text = split_text(&text, budget).into_iter().next().unwrap_or_default();
        line(Command::TOPIC(channel, Some(text)))
    }

    fn channel_mut(&mut self, name: &str) -> Option<&mut Channel> {
        let folded = self.fold(name);
        self.channels.iter_mut().find(|c| c.folded == folded)
    }

    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(sent) = self.ping_sent {
            if now.duration_since(sent) >= self.settings.ping_timeout {
                out.push(Action::Disconnect(format!(
                    "ping timeout ({} s without an answer)",
                    self.settings.ping_timeout.as_secs()
                )));
                return out;
            }
        } else if now.duration_since(self.last_rx) >= self.settings.ping_interval {
            self.ping_sent = Some(now);
            out.push(Action::SendUrgent(line(Command::PING("srebot".into(), None))));
        }
        if !self.registered {
            if now.duration_since(self.started) >= self.settings.register_timeout {
                out.push(Action::Disconnect("registration timed out".into()));
            }
            return out;
        }
        if !self.ready && self.registered_at.is_some_and(|t| now.duration_since(t) >= MOTD_GRACE) {
            out.extend(self.become_ready(now));
        }
        if self.ready {
            out.extend(self.joins_due(now));
        }
        if self.ready && self.sasl_recheck.is_some_and(|t| now >= t) {
            self.sasl_recheck_gap = (self.sasl_recheck_gap * 2).min(SASL_RECHECK_MAX);
            self.sasl_recheck = Some(now + self.sasl_recheck_gap);
            self.caps_offered.clear();
            self.cap_values.clear();
            out.push(Action::Send(line(Command::CAP(None, CapSubCommand::LS, Some("302".into()), None))));
        }
        if self.join_whox_due.is_some_and(|t| now >= t) {
            out.extend(self.ask_about_joiners());
        }
        while self.held.front().is_some_and(|h| now.duration_since(h.since) >= WHOX_WAIT) {
            let nick = self.held.front().map(|h| h.folded_nick.clone()).unwrap_or_default();
            tracing::debug!(nick = %nick, "no WHOX answer in time; the message goes on without an account");
            self.whox_asked.remove(&nick);
            out.extend(self.release(&nick, None));
        }
        if !self.is_me(&self.settings.nick.clone()) && self.next_regain.is_some_and(|t| now >= t) {
            self.next_regain = Some(now + self.settings.nick_regain);
            out.push(Action::Send(line(Command::NICK(self.settings.nick.clone()))));
        }
        out
    }

    pub fn on_line(&mut self, l: &Line, now: Instant, wall: DateTime<Utc>) -> Vec<Action> {
        self.last_rx = now;
        self.ping_sent = None;
        if let Some(code) = l.numeric() {
            return self.on_numeric(code, l, now);
        }
        match l.command.as_str() {
            // The token comes back as it came, but a line the driver decoded lossily (invalid
            // UTF-8 becomes U+FFFD, three bytes for one) can outgrow 512 bytes: cut it to fit.
            "PING" => {
                let token = crate::text::truncate_bytes(l.param(0), 500);
                vec![Action::SendUrgent(line(Command::PONG(token, None)))]
            }
            "ERROR" => vec![Action::Disconnect(format!("server said: {}", l.param(0)))],
            "CAP" => self.on_cap(l),
            "AUTHENTICATE" => self.on_authenticate(l),
            "PRIVMSG" | "NOTICE" => self.on_message(l, now, wall),
            "JOIN" => self.on_join(l, now),
            "PART" => {
                self.on_leave(l.nick(), l.param(0), now);
                vec![]
            }
            "KICK" => {
                let (chan, who) = (l.param(0).to_string(), l.param(1).to_string());
                if self.is_me(&who) {
                    tracing::warn!(channel = %chan, by = %l.nick(), reason = %l.param(2), "kicked; will rejoin");
                }
                self.on_leave(&who, &chan, now);
                vec![]
            }
            "QUIT" => self.on_quit(l),
            "NICK" => self.on_nick(l, now),
            "TOPIC" => {
                let (setter, topic) = (l.nick().to_string(), l.param(1).to_string());
                let by_us = self.is_me(&setter);
                match self.channel_mut(l.param(0)) {
                    Some(c) => {
                        c.topic = topic.clone();
                        vec![Action::Event(Event::Topic { channel: c.target.name.clone(), topic, setter, by_us })]
                    }
                    None => vec![],
                }
            }
            "MODE" => self.on_mode(l),
            "ACCOUNT" => {
                let account = match l.param(0) {
                    "*" => Account::LoggedOut,
                    a => Account::LoggedIn(a.to_string()),
                };
                let who = self.fold(l.nick());
                self.roster.lock().unwrap().set_account(&who, account);
                vec![]
            }
            "CHGHOST" => {
                let who = l.nick().to_string();
                if self.is_me(&who) {
                    self.own_userhost = Some((l.param(0).to_string(), l.param(1).to_string()));
                }
                self.roster.lock().unwrap().set_host(&self.fold(&who), l.param(0), l.param(1));
                vec![]
            }
            _ => vec![],
        }
    }

    fn on_numeric(&mut self, code: u16, l: &Line, now: Instant) -> Vec<Action> {
        match code {
            1 => {
                self.registered = true;
                self.registered_at = Some(now);
                self.nick = l.param(0).to_string();
                if !self.is_me(&self.settings.nick.clone()) {
                    self.next_regain = Some(now + self.settings.nick_regain);
                }
                tracing::info!(nick = %self.nick, "registered");
                vec![]
            }
            5 => {
                let n = l.params.len();
                if n > 2 {
                    self.isupport.absorb(&l.params[1..n - 1]);
                }
                vec![]
            }
            // End of MOTD, or no MOTD: registration is complete.
            376 | 422 if !self.ready => self.become_ready(now),
            396 => {
                if let Some((user, _)) = &self.own_userhost {
                    self.own_userhost = Some((user.clone(), l.param(1).to_string()));
                }
                vec![]
            }
            // RPL_TOPIC on join: the topic as it is.
            332 => {
                let topic = l.param(2).to_string();
                if let Some(c) = self.channel_mut(l.param(1)) {
                    c.topic = topic;
                }
                vec![]
            }
            // End of NAMES: the join is complete.
            366 => match self.channel_mut(l.param(1)) {
                Some(c) if c.joined => vec![Action::Event(Event::Joined {
                    channel: c.target.name.clone(),
                    topic: c.topic.clone(),
                    opped: c.opped,
                })],
                _ => vec![],
            },
            482 => match self.channel_mut(l.param(1)) {
                Some(c) => {
                    vec![Action::Event(Event::TopicRefused { channel: c.target.name.clone(), retry_later: false })]
                }
                None => vec![],
            },
            437 if self.registered && self.is_channel(l.param(1)) => match self.channel_mut(l.param(1)) {
                Some(c) => {
                    vec![Action::Event(Event::TopicRefused { channel: c.target.name.clone(), retry_later: true })]
                }
                None => vec![],
            },
            // Nick in use, erroneous, or temporarily unavailable.
            432 | 433 | 437 if !self.registered => {
                let next = self.next_nick();
                tracing::warn!(refused = %l.param(1), trying = %next, "nick refused");
                self.nick = next.clone();
                vec![Action::Send(line(Command::NICK(next)))]
            }
            432 | 433 | 437 => vec![], // a regain attempt failed; the tick tries again later
            353 => {
                self.on_names(l);
                vec![]
            }
            354 => self.on_whox(l),
            // End of WHO for a nick we asked about: whoever got no 354 is not online.
            315 => {
                let mask = self.fold(l.param(1));
                if self.whox_asked.remove(&mask) {
                    self.release(&mask, None)
                } else {
                    vec![]
                }
            }
            900 => {
                tracing::info!(account = %l.param(2), "logged in to services");
                vec![]
            }
            // 907: we are already logged in (a SASL retry after an earlier success): as good as 903.
            903 | 907 => {
                let account = match (&self.settings.sasl, &self.sasl_exchange) {
                    (_, Some((Mechanism::External, _))) | (None, _) => "(certificate)".to_string(),
                    (Some(login), _) => login.credentials.account.clone(),
                };
                let mechanism = self.sasl_exchange.take().map(|(m, _)| m.name()).unwrap_or("?");
                tracing::info!(code, mechanism, "SASL authentication succeeded");
                self.sasl = SaslState::Succeeded(account);
                self.awaiting_services = false;
                self.sasl_recheck = None;
                self.relogin = false;
                let mut out = self.cap_end();
                if self.ready {
                    out.extend(self.joins_due(now));
                }
                out
            }
            // RPL_SASLMECHS: the mechanisms the server has; the 904 that follows moves on to the
            // next of ours among them.
            908 => {
                self.sasl_mechs = Some(l.param(1).to_string());
                vec![]
            }
            904 if self.sasl_aborted.is_none() && self.sasl == SaslState::Authenticating => {
                let refused = self.sasl_exchange.take().map(|(m, _)| m.name()).unwrap_or("?");
                let listed = self.sasl_mechs.clone();
                let offered = |m: &Mechanism| {
                    listed.as_deref().is_none_or(|list| list.split(',').any(|o| o.eq_ignore_ascii_case(m.name())))
                };
                while let Some(next) = self.sasl_candidates.pop_front() {
                    if offered(&next) {
                        tracing::warn!(refused, trying = next.name(), "SASL mechanism refused; trying the next");
                        return self.authenticate_with(next);
                    }
                }
                let mut why = format!("{code} {} ({refused})", l.params.last().map(String::as_str).unwrap_or(""));
                if let Some(m) = &self.sasl_mechs {
                    why.push_str(&format!(" (server offers: {m})"));
                }
                self.sasl_failed_or_reconnect(why)
            }
            902 | 904 | 905 | 906 => {
                let mut why = format!("{code} {}", l.params.last().map(String::as_str).unwrap_or(""));
                if let Some(aborted) = self.sasl_aborted.take() {
                    why = format!("{why}: we aborted: {aborted}");
                } else if let Some(m) = &self.sasl_mechs {
                    why.push_str(&format!(" (server offers: {m})"));
                }
                self.sasl_exchange = None;
                self.sasl_failed_or_reconnect(why)
            }
            // Cannot join: full, invite-only, banned, bad key, needs registration, too many.
            471 | 473 | 474 | 475 | 477 | 405 | 403 | 520 => {
                let chan = self.fold(l.param(1));
                let (rejoin, max) = (self.settings.rejoin, self.settings.rejoin_max);
                if let Some(c) = self.channels.iter_mut().find(|c| c.folded == chan) {
                    c.failures += 1;
                    let wait = rejoin.saturating_mul(1 << c.failures.min(16).saturating_sub(1)).min(max);
                    c.next_try = Some(now + wait);
                    tracing::warn!(channel = %c.target.name, code, reason = %l.params.last().map(String::as_str).unwrap_or(""),
                        retry_in_s = wait.as_secs(), "cannot join");
                }
                vec![]
            }
            _ => vec![],
        }
    }
}

/// Splits a base64 SASL payload into AUTHENTICATE arguments: 400-byte pieces, and a lone `+`
/// after a final piece of exactly 400 bytes (or for an empty payload).
pub fn sasl_chunks(encoded: &str) -> Vec<String> {
    let mut out: Vec<String> =
        encoded.as_bytes().chunks(SASL_CHUNK).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    if encoded.len().is_multiple_of(SASL_CHUNK) {
        out.push("+".into());
    }
    out
}

/// Hides secrets in a raw line before it is logged: SASL payloads, channel keys, passwords.
pub fn redact(raw: &str) -> String {
    let upper = raw.trim_start().to_ascii_uppercase();
    if let Some(arg) = upper.strip_prefix("AUTHENTICATE ") {
        let said = [Mechanism::Plain, Mechanism::External, Mechanism::ScramSha256, Mechanism::EcdsaNist256pChallenge]
            .iter()
            .any(|m| m.name() == arg)
            || arg == "+"
            || arg == "*";
        if !said {
            return "AUTHENTICATE <redacted>".into();
        }
    }
    if upper.starts_with("PASS ") || upper.starts_with("OPER ") {
        return format!("{} <redacted>", &raw[..4]);
    }
    if upper.starts_with("JOIN ") && raw.split(' ').count() > 2 {
        let chans = raw.split(' ').nth(1).unwrap_or("");
        return format!("JOIN {chans} <key redacted>");
    }
    raw.to_string()
}

#[cfg(test)]
pub(crate) mod tests;
