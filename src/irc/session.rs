//! The IRC session as a state machine without I/O: lines in, actions out.
//!
//! [`Session`] knows the protocol (CAP 302, SASL, ISUPPORT, nick collisions, joins and their
//! refusals, KICK, PING, account tracking, CTCP) and nothing about sockets or clocks: the driver
//! feeds it each parsed line and a periodic tick with the current time, and carries out the
//! [`Action`]s it returns. So every protocol corner is unit-tested with plain strings.

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

    pub fn sasl_state(&self) -> &SaslState {
        &self.sasl
    }

    pub fn caps(&self) -> &HashSet<String> {
        &self.caps
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

    fn next_nick(&mut self) -> String {
        let s = &self.settings;
        let i = self.nick_tries;
        self.nick_tries += 1;
        match s.alt_nicks.get(i) {
            Some(n) => n.clone(),
            None => {
                let base: String = s.nick.chars().take(12).collect();
                format!("{base}{}", fastrand::u16(100..10000))
            }
        }
    }

    fn cap_end(&mut self) -> Vec<Action> {
        if self.cap_end_sent {
            return vec![];
        }
        self.cap_end_sent = true;
        vec![Action::Send(line(Command::CAP(None, CapSubCommand::END, None, None)))]
    }

    fn sasl_failed(&mut self, why: String) {
        tracing::error!(reason = %why, "SASL failed: security channels will not be joined");
        self.sasl = SaslState::Failed(why);
        self.awaiting_services = false;
    }

    /// SASL failed: give up on it for this connection, or, when it was a login after
    /// registration (services came back), reconnect once to log in before registering.
    fn sasl_failed_or_reconnect(&mut self, why: String) -> Vec<Action> {
        if std::mem::take(&mut self.relogin) {
            tracing::warn!(reason = %why, "SASL after registration refused: reconnecting to log in while registering");
            return vec![Action::Disconnect(format!("reconnecting to log in with SASL ({why})"))];
        }
        self.sasl_failed(why);
        self.cap_end()
    }

    /// The answer to our `CAP LS` after registration (SASL was not offered): request it now if
    /// it is, and log in.
    fn on_relisted(&mut self) -> Vec<Action> {
        if self.sasl_recheck.is_none() || !self.caps_offered.iter().any(|c| c == "sasl") {
            return vec![];
        }
        self.sasl_recheck = None;
        self.sasl_candidates = self.mechanisms_offered(self.cap_value("sasl"));
        if self.sasl_candidates.is_empty() {
            let offered = self.cap_value("sasl").unwrap_or("?").to_string();
            self.sasl_failed(format!("the server now offers SASL {offered}, none of ours"));
            return vec![];
        }
        tracing::info!("SASL is offered now (services linked): logging in");
        self.sasl_mechs = None;
        self.relogin = true;
        vec![Action::Send(line(Command::CAP(None, CapSubCommand::REQ, None, Some("sasl".into()))))]
    }

    /// Our mechanisms, in our order, that the server's `sasl=` value lists (all of them when
    /// it gives no list: CAP 301, or a server that does not say).
    fn mechanisms_offered(&self, value: Option<&str>) -> VecDeque<Mechanism> {
        let Some(login) = &self.settings.sasl else { return VecDeque::new() };
        login
            .mechanisms
            .iter()
            .copied()
            .filter(|m| value.is_none_or(|v| v.split(',').any(|o| o.eq_ignore_ascii_case(m.name()))))
            .collect()
    }

    fn cap_value(&self, name: &str) -> Option<&str> {
        self.cap_values.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `AUTHENTICATE <mechanism>`, starting its exchange.
    fn authenticate_with(&mut self, mechanism: Mechanism) -> Vec<Action> {
        let Some(login) = &self.settings.sasl else { return vec![] };
        let nonce = if mechanism == Mechanism::ScramSha256 { fresh_nonce() } else { String::new() };
        self.sasl_exchange = Some((mechanism, Exchange::start(mechanism, &login.credentials, &nonce)));
        self.sasl_received.clear();
        self.sasl = SaslState::Authenticating;
        vec![Action::Send(line(Command::AUTHENTICATE(mechanism.name().into())))]
    }

    /// Reads an STS value (`port=6697,duration=2592000,…`) as `(port, duration)`.
    fn sts_offer(&self) -> Option<(Option<u16>, Option<Duration>)> {
        let value = self.cap_value("sts")?;
        let key = |k: &str| value.split(',').find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')));
        Some((
            key("port").and_then(|p| p.parse().ok()),
            key("duration").and_then(|d| d.parse().ok()).map(Duration::from_secs),
        ))
    }

    fn on_cap(&mut self, l: &Line) -> Vec<Action> {
        // CAP <nick|*> <subcommand> [*] :<caps>
        let sub = l.param(1).to_ascii_uppercase();
        let more = l.params.len() > 3 && l.param(2) == "*";
        let list = l.params.last().map(String::as_str).unwrap_or("");
        match sub.as_str() {
            "LS" => {
                self.caps_offered.extend(list.split_whitespace().map(|c| c.split('=').next().unwrap_or(c).to_string()));
                self.cap_values.extend(
                    list.split_whitespace()
                        .filter_map(|c| c.split_once('='))
                        .map(|(n, v)| (n.to_string(), v.to_string())),
                );
                if more {
                    return vec![];
                }
                if self.registered {
                    return self.on_relisted();
                }
                let mut out = Vec::new();
                if let Some((port, duration)) = self.sts_offer() {
                    match (self.tls, port) {
                        // Plaintext offered STS: nothing more on this connection, not even CAP END.
                        (false, Some(port)) => {
                            tracing::info!(port, "the server asks for TLS (STS): reconnecting with TLS");
                            return vec![Action::UpgradeToTls { port }];
                        }
                        (true, _) => {
                            if let Some(duration) = duration {
                                out.push(Action::StsPolicy { duration });
                            }
                        }
                        (false, None) => {}
                    }
                }
                let sasl_offered = self.caps_offered.iter().any(|o| o == "sasl");
                if self.settings.sasl.is_some() {
                    self.sasl_candidates = self.mechanisms_offered(self.cap_value("sasl"));
                    if !sasl_offered {
                        self.sasl_failed("the server does not offer SASL (are services linked?)".into());
                        self.awaiting_services = true;
                        self.sasl_recheck = Some(self.started + SASL_RECHECK);
                    } else if !self.sasl_candidates.is_empty() {
                        let order: Vec<&str> = self.sasl_candidates.iter().map(|m| m.name()).collect();
                        tracing::info!(offered = self.cap_value("sasl").unwrap_or("(no list)"), trying = %order.join(","), "SASL");
                    } else {
                        let ours: Vec<&str> =
                            self.settings.sasl.iter().flat_map(|l| &l.mechanisms).map(|m| m.name()).collect();
                        self.sasl_failed(format!(
                            "the server offers SASL {}, none of ours ({})",
                            self.cap_value("sasl").unwrap_or("?"),
                            ours.join(", ")
                        ));
                    }
                }
                let want: Vec<&str> = WANTED_CAPS
                    .iter()
                    .copied()
                    .filter(|w| self.caps_offered.iter().any(|o| o == w))
                    // sasl is requested even with none of our mechanisms on offer (the ACK then
                    // gets CAP END, no AUTHENTICATE), as conformance suites expect.
                    .filter(|w| *w != "sasl" || self.settings.sasl.is_some())
                    .collect();
                if want.is_empty() {
                    out.extend(self.cap_end());
                    return out;
                }
                out.push(Action::Send(line(Command::CAP(None, CapSubCommand::REQ, None, Some(want.join(" "))))));
                out
            }
            "ACK" => {
                for c in list.split_whitespace() {
                    match c.strip_prefix('-') {
                        Some(removed) => {
                            self.caps.remove(removed);
                        }
                        None => {
                            self.caps.insert(c.to_string());
                        }
                    }
                }
                let sasl_acked = list.split_whitespace().any(|c| c == "sasl");
                match self.sasl_candidates.pop_front() {
                    Some(first) if sasl_acked => self.authenticate_with(first),
                    _ if !self.registered => self.cap_end(),
                    _ => vec![],
                }
            }
            "NAK" => {
                if list.split_whitespace().any(|c| c == "sasl") {
                    self.sasl_failed("the server refused the sasl capability".into());
                }
                if self.registered {
                    vec![]
                } else {
                    self.cap_end()
                }
            }
            // cap-notify: services linked later and now offer SASL.
            "NEW" => {
                let offered: Vec<&str> = list.split_whitespace().map(|c| c.split('=').next().unwrap_or(c)).collect();
                let sasl_value = list.split_whitespace().find_map(|c| c.strip_prefix("sasl="));
                let mut retry_sasl = matches!(self.sasl, SaslState::Failed(_)) && offered.contains(&"sasl");
                if retry_sasl {
                    self.sasl_recheck = None;
                    self.sasl_candidates = self.mechanisms_offered(sasl_value);
                    self.sasl_mechs = None;
                    retry_sasl = !self.sasl_candidates.is_empty();
                }
                let want: Vec<&str> = WANTED_CAPS
                    .iter()
                    .copied()
                    .filter(|w| offered.contains(w) && !self.caps.contains(*w))
                    .filter(|w| *w != "sasl" || retry_sasl)
                    .collect();
                if want.is_empty() {
                    return vec![];
                }
                if !self.registered {
                    // A CAP REQ before registration completes suspends it until the next CAP END.
                    self.cap_end_sent = false;
                }
                vec![Action::Send(line(Command::CAP(None, CapSubCommand::REQ, None, Some(want.join(" ")))))]
            }
            "DEL" => {
                for c in list.split_whitespace() {
                    self.caps.remove(c);
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn on_authenticate(&mut self, l: &Line) -> Vec<Action> {
        if self.sasl != SaslState::Authenticating || self.sasl_aborted.is_some() {
            return vec![];
        }
        let Some((mechanism, exchange)) = &mut self.sasl_exchange else { return vec![] };
        let piece = l.param(0);
        if piece != "+" {
            self.sasl_received.push_str(piece);
            if piece.len() == SASL_CHUNK {
                return vec![]; // more pieces follow (or a lone `+`)
            }
        }
        let encoded = std::mem::take(&mut self.sasl_received);
        let reply = base64::engine::general_purpose::STANDARD
            .decode(&encoded)
            .map_err(|_| format!("the server's {mechanism} challenge is not base64"))
            .and_then(|challenge| exchange.respond(&challenge));
        match reply {
            Ok(response) if response.is_empty() => vec![Action::Send(line(Command::AUTHENTICATE("+".into())))],
            Ok(response) => sasl_chunks(&base64::engine::general_purpose::STANDARD.encode(response))
                .into_iter()
                .map(|c| Action::Send(line(Command::AUTHENTICATE(c))))
                .collect(),
            Err(why) => {
                tracing::error!(mechanism = mechanism.name(), reason = %why, "aborting SASL");
                self.sasl_aborted = Some(why);
                vec![Action::Send(line(Command::AUTHENTICATE("*".into())))]
            }
        }
    }

    fn become_ready(&mut self, now: Instant) -> Vec<Action> {
        self.ready = true;
        let mut out = Vec::new();
        if let Some(mode) = self.isupport.bot_mode() {
            out.push(Action::Send(raw("MODE", &[&self.nick, &format!("+{mode}")])));
        }
        out.push(Action::Event(Event::Ready { nick: self.nick.clone() }));
        out.extend(self.joins_due(now));
        out
    }

    /// Takes new settings from a reload: parts the channels no longer listed (with `reason`),
    /// joins the new ones now (a security one only after SASL, as at start), keeps the rest.
    /// Only the channel list is read from them; the driver decides what else may change.
    pub fn set_channels(&mut self, settings: Arc<Settings>, reason: &str, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let wanted: Vec<String> =
            settings.channels.iter().map(|t| fold(&t.name, super::isupport::CaseMapping::Rfc1459)).collect();
        self.channels.retain(|c| {
            let keep = wanted.contains(&c.folded);
            if !keep && c.joined {
                out.push(Action::Send(raw("PART", &[&c.target.name, reason])));
            }
            keep
        });
        for target in &settings.channels {
            let folded = fold(&target.name, super::isupport::CaseMapping::Rfc1459);
            match self.channels.iter_mut().find(|c| c.folded == folded) {
                Some(c) => c.target = target.clone(),
                None => self.channels.push(Channel::new(target)),
            }
        }
        self.settings = settings;
        if self.ready {
            out.extend(self.joins_due(now));
        }
        out
    }

    fn may_join_security(&self) -> bool {
        matches!(self.sasl, SaslState::NotConfigured | SaslState::Succeeded(_))
    }

    fn joins_due(&mut self, now: Instant) -> Vec<Action> {
        if self.awaiting_services {
            let waited = self.registered_at.map(|t| now.duration_since(t)).unwrap_or_default();
            if waited < self.settings.sasl_wait {
                return vec![];
            }
            self.awaiting_services = false;
            tracing::warn!(
                waited_s = waited.as_secs(),
                "SASL still not offered (services not linked?): joining public channels unidentified; \
                 security channels wait for a SASL login"
            );
        }
        let may_join_security = self.may_join_security();
        let reason = match &self.sasl {
            SaslState::Failed(why) => why.clone(),
            _ => "SASL not finished".into(),
        };
        let mut out = Vec::new();
        for c in &mut self.channels {
            if c.joined || c.next_try.is_some_and(|t| now < t) {
                continue;
            }
            if c.target.security && !may_join_security {
                if !c.skip_logged {
                    c.skip_logged = true;
                    tracing::error!(channel = %c.target.name, reason = %reason, "not joining a security channel without a SASL login");
                }
                continue;
            }
            c.next_try = Some(now + JOIN_UNANSWERED);
            let key = c.target.key.as_ref().map(|k| k.expose().to_string());
            out.push(Action::Send(line(Command::JOIN(c.target.name.clone(), key, None))));
        }
        out
    }

    fn on_join(&mut self, l: &Line, now: Instant) -> Vec<Action> {
        let Some(src) = &l.source else { return vec![] };
        let chan = l.param(0).to_string();
        let folded_chan = self.fold(&chan);
        if self.is_me(&src.nick) {
            self.own_userhost = Some((src.user.clone(), src.host.clone()));
            let mut out = Vec::new();
            if let Some(c) = self.channels.iter_mut().find(|c| c.folded == folded_chan) {
                // Joined is announced at the end of NAMES, once the topic and our modes are known.
                c.joined = true;
                c.failures = 0;
                c.next_try = None;
                c.topic.clear();
                c.opped = false;
                tracing::info!(channel = %c.target.name, "joined");
            }
            let who = if self.isupport.whox() { whox(&chan) } else { raw("WHO", &[&chan]) };
            out.push(Action::Send(who));
            return out;
        }
        // extended-join: JOIN #chan account :realname
        let account = if self.caps.contains("extended-join") {
            Some(match l.param(1) {
                "*" | "" => Account::LoggedOut,
                a => Account::LoggedIn(a.to_string()),
            })
        } else {
            None
        };
        let folded = self.fold(&src.nick);
        if account.is_none() && self.isupport.whox() {
            self.queue_join_whox(&chan, &src.nick, now);
        }
        self.roster.lock().unwrap().join(&folded, &src.nick, &src.user, &src.host, &folded_chan, account);
        vec![]
    }

    /// Notes a joiner to ask WHOX about with the others joining about now.
    fn queue_join_whox(&mut self, chan: &str, nick: &str, now: Instant) {
        let case_mapping = self.isupport.case_mapping();
        let i = match self.join_whox.iter().position(|(c, _)| fold_eq(c, chan, case_mapping)) {
            Some(i) => i,
            None => {
                self.join_whox.push((chan.to_string(), Some(Vec::new())));
                self.join_whox.len() - 1
            }
        };
        let slot = &mut self.join_whox[i].1;
        if let Some(nicks) = slot {
            if !nicks.iter().any(|n| fold_eq(n, nick, case_mapping)) {
                nicks.push(nick.to_string());
            }
            if nicks.len() > JOIN_WHOX_NICKS {
                *slot = None;
            }
        }
        self.join_whox_due.get_or_insert(now + JOIN_WHOX_DELAY);
    }

    /// The WHOX queries for the joiners noted since the last ones.
    fn ask_about_joiners(&mut self) -> Vec<Action> {
        self.join_whox_due = None;
        let mut out = Vec::new();
        for (chan, nicks) in std::mem::take(&mut self.join_whox) {
            let targets = match nicks {
                Some(nicks) => nicks,
                None => vec![chan],
            };
            for target in targets {
                out.push(Action::Send(whox(&target)));
            }
        }
        out
    }

    /// Lets the messages held for `folded_nick` go on, with the account we learnt.
    fn release(&mut self, folded_nick: &str, account: Option<String>) -> Vec<Action> {
        let mut out = Vec::new();
        let mut kept = VecDeque::with_capacity(self.held.len());
        for mut h in self.held.drain(..) {
            if h.folded_nick == folded_nick {
                h.message.sender.account = account.clone();
                out.push(Action::Event(Event::Message(h.message)));
            } else {
                kept.push_back(h);
            }
        }
        self.held = kept;
        out
    }

    fn on_leave(&mut self, nick: &str, chan: &str, now: Instant) {
        let folded_chan = self.fold(chan);
        if self.is_me(nick) {
            self.roster.lock().unwrap().forget_channel(&folded_chan);
            let rejoin = self.settings.rejoin;
            if let Some(c) = self.channels.iter_mut().find(|c| c.folded == folded_chan) {
                c.joined = false;
                c.next_try = Some(now + rejoin);
            }
        } else {
            let folded = self.fold(nick);
            self.roster.lock().unwrap().part(&folded, &folded_chan);
        }
    }

    fn on_quit(&mut self, l: &Line) -> Vec<Action> {
        let folded = self.fold(l.nick());
        self.roster.lock().unwrap().quit(&folded);
        self.regain_if_freed(l.nick())
    }

    fn regain_if_freed(&mut self, freed: &str) -> Vec<Action> {
        let main = self.settings.nick.clone();
        if self.registered && !self.is_me(&main) && self.fold(freed) == self.fold(&main) {
            return vec![Action::Send(line(Command::NICK(main)))];
        }
        vec![]
    }

    fn on_nick(&mut self, l: &Line, now: Instant) -> Vec<Action> {
        let old = l.nick().to_string();
        let new = l.param(0).to_string();
        let (old_f, new_f) = (self.fold(&old), self.fold(&new));
        self.roster.lock().unwrap().rename(&old_f, &new_f, &new);
        if self.is_me(&old) {
            tracing::info!(from = %old, to = %new, "our nick changed");
            self.nick = new;
            if self.is_me(&self.settings.nick.clone()) {
                self.next_regain = None;
            } else if self.next_regain.is_none() {
                // Renamed away from our nick (services enforcing, a collision): win it back.
                self.next_regain = Some(now + self.settings.nick_regain);
            }
            return vec![];
        }
        self.regain_if_freed(&old)
    }

    /// Follows `MODE #chan +o-v nick other` for changes to our own operator status.
    fn on_mode(&mut self, l: &Line) -> Vec<Action> {
        let target = l.param(0);
        if !self.is_channel(target) {
            return vec![];
        }
        let (prefix_modes, _) = self.isupport.prefix();
        let [list, always, when_set, _] = self.isupport.chan_modes();
        let mut args = l.params.iter().skip(2);
        let mut adding = true;
        let mut opped = None;
        for m in l.param(1).chars() {
            match m {
                '+' => adding = true,
                '-' => adding = false,
                m if prefix_modes.contains(m) => {
                    let who = args.next().map(String::as_str).unwrap_or("");
                    if "qao".contains(m) && self.is_me(who) {
                        opped = Some(adding);
                    }
                }
                m if list.contains(m) || always.contains(m) || (adding && when_set.contains(m)) => {
                    args.next();
                }
                _ => {}
            }
        }
        let Some(opped) = opped else { return vec![] };
        match self.channel_mut(target) {
            Some(c) if c.opped != opped => {
                c.opped = opped;
                vec![Action::Event(Event::Opped { channel: c.target.name.clone(), opped })]
            }
            _ => vec![],
        }
    }

    fn on_names(&mut self, l: &Line) {
        // 353 me <type> #chan :[prefixes]nick[!user@host] ...
        let chan = self.fold(l.param(2));
        let (_, symbols) = self.isupport.prefix();
        let names = l.params.last().cloned().unwrap_or_default();
        let roster_handle = self.roster.clone();
        let mut roster = roster_handle.lock().unwrap();
        for original in names.split_whitespace() {
            let entry = original.trim_start_matches(|c| symbols.contains(c));
            let (nick, userhost) = entry.split_once('!').unwrap_or((entry, ""));
            let (user, host) = userhost.split_once('@').unwrap_or(("", ""));
            if self.is_me(nick) {
                let opped = original.starts_with(['~', '&', '@']);
                drop(roster);
                if let Some(c) = self.channels.iter_mut().find(|c| c.folded == chan) {
                    c.opped = opped;
                }
                roster = roster_handle.lock().unwrap();
                continue;
            }
            if nick.is_empty() {
                continue;
            }
            roster.join(&self.fold(nick), nick, user, host, &chan, None);
        }
    }

    fn on_whox(&mut self, l: &Line) -> Vec<Action> {
        // 354 me 152 user ip host nick flags account :realname  (fields t,u,i,h,n,f,a,r)
        if l.param(1) != WHOX_TOKEN || l.params.len() < 9 {
            return vec![];
        }
        let (user, host, nick, account) = (l.param(2), l.param(4), l.param(5), l.param(7));
        let folded = self.fold(nick);
        let account = if account == "0" { Account::LoggedOut } else { Account::LoggedIn(account.to_string()) };
        {
            let mut roster = self.roster.lock().unwrap();
            roster.set_host(&folded, user, host);
            roster.set_account(&folded, account.clone());
        }
        match account {
            Account::LoggedIn(a) => self.release(&folded, Some(a)),
            _ => self.release(&folded, None),
        }
    }

    fn on_message(&mut self, l: &Line, now: Instant, wall: DateTime<Utc>) -> Vec<Action> {
        let Some(src) = l.source.clone() else { return vec![] };
        if src.user.is_empty() || self.is_me(&src.nick) {
            return vec![]; // a server notice, or our own line echoed back
        }
        let (target, text) = (l.param(0), l.param(1));
        let folded = self.fold(&src.nick);
        let tagged = self.caps.contains("account-tag").then(|| {
            let account = l.tag("account").map(|a| Account::LoggedIn(a.to_string())).unwrap_or(Account::LoggedOut);
            self.roster.lock().unwrap().set_account(&folded, account.clone());
            account
        });
        if let Some(ctcp) = text.strip_prefix('\x01') {
            return self.on_ctcp(&src.nick, l.command == "PRIVMSG", ctcp.trim_end_matches('\x01'), now);
        }
        if l.command != "PRIVMSG" {
            // Never answered; passed on when it is to us, as services' answers are.
            if self.is_me(target) {
                return vec![Action::Event(Event::Notice { from: src.nick, text: text.to_string() })];
            }
            return vec![];
        }
        let channel = if self.is_channel(target) {
            Some(target.to_string())
        } else if self.is_me(target) {
            None
        } else {
            return vec![]; // STATUSMSG (@#chan) and the like: not addressed to us as a channel member
        };
        let known = tagged.or_else(|| {
            self.roster.lock().unwrap().get(&folded).map(|m| m.account.clone()).filter(|a| *a != Account::Unknown)
        });
        let time = l
            .tag("time")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(wall);
        let account = match &known {
            Some(Account::LoggedIn(a)) => Some(a.clone()),
            _ => None,
        };
        let message = Incoming {
            time,
            channel,
            sender: Sender { nick: src.nick.clone(), user: src.user, host: src.host, account },
            text: text.to_string(),
        };
        // Without account-tag, someone who joined a moment ago or writes to us privately is not
        // in the roster with an account yet: ask, and let the message go on with the answer.
        if known.is_none() && self.isupport.whox() && self.held.len() < MAX_HELD {
            self.held.push_back(Held { folded_nick: folded.clone(), since: now, message });
            if self.whox_asked.insert(folded) {
                return vec![Action::Send(whox(&src.nick))];
            }
            return vec![];
        }
        vec![Action::Event(Event::Message(message))]
    }

    fn on_ctcp(&mut self, nick: &str, is_privmsg: bool, body: &str, now: Instant) -> Vec<Action> {
        if !is_privmsg || self.last_ctcp.is_some_and(|t| now.duration_since(t) < CTCP_GAP) {
            return vec![];
        }
        let (verb, arg) = body.split_once(' ').unwrap_or((body, ""));
        let answer = match verb.to_ascii_uppercase().as_str() {
            "VERSION" => format!("\x01VERSION {}\x01", self.settings.version),
            "PING" => format!("\x01PING {}\x01", crate::text::truncate_bytes(arg, 64)),
            _ => return vec![],
        };
        self.last_ctcp = Some(now);
        self.render("NOTICE", nick, &answer).into_iter().take(1).map(Action::Send).collect()
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
pub(crate) mod tests {
    use super::super::line::parse;
    use super::*;

    /// PLAIN for account `srebot`.
    pub(crate) fn plain(password: &str) -> SaslLogin {
        let credentials = Credentials { account: "srebot".into(), password: Some(Secret(password.into())), key: None };
        SaslLogin { mechanisms: vec![Mechanism::Plain], credentials }
    }

    pub(crate) fn settings(sasl: bool) -> Settings {
        Settings {
            nick: "srebot".into(),
            alt_nicks: vec!["srebot_".into()],
            username: "srebot".into(),
            realname: "srebot test".into(),
            sasl: sasl.then(|| plain("s3cret-pw")),
            channels: vec![
                JoinTarget { name: "#sre".into(), key: None, security: false },
                JoinTarget { name: "#sre-security".into(), key: Some(Secret("k3y".into())), security: true },
            ],
            ping_interval: Duration::from_secs(90),
            ping_timeout: Duration::from_secs(60),
            register_timeout: Duration::from_secs(90),
            rejoin: Duration::from_secs(30),
            rejoin_max: Duration::from_secs(300),
            nick_regain: Duration::from_secs(60),
            sasl_wait: Duration::from_secs(30),
            version: "srebot 0.1.0".into(),
        }
    }

    struct Harness {
        s: Session,
        now: Instant,
    }

    impl Harness {
        fn new(sasl: bool) -> Harness {
            let now = Instant::now();
            Harness { s: Session::new(Arc::new(settings(sasl)), Arc::default(), now), now }
        }
        fn feed(&mut self, raw: &str) -> Vec<Action> {
            self.s.on_line(&parse(raw).unwrap(), self.now, Utc::now())
        }
        fn sent(actions: &[Action]) -> Vec<String> {
            actions
                .iter()
                .filter_map(|a| match a {
                    Action::Send(l) | Action::SendUrgent(l) => Some(l.clone()),
                    _ => None,
                })
                .collect()
        }
        fn register(&mut self) -> Vec<Action> {
            let mut all = self.feed(":irc 001 srebot :Welcome");
            all.extend(self.feed(":irc 005 srebot CASEMAPPING=rfc1459 WHOX BOT=B TOPICLEN=300 :are supported"));
            all.extend(self.feed(":irc 376 srebot :End of MOTD"));
            all
        }
    }

    #[test]
    fn full_sasl_registration() {
        let mut h = Harness::new(true);
        let start = Harness::sent(&h.s.start());
        assert_eq!(start, vec!["CAP LS 302", "NICK srebot", "USER srebot 0 * :srebot test"]);
        assert!(h.feed(":irc CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL").is_empty());
        let req = Harness::sent(&h.feed(":irc CAP * LS :account-tag server-time away-notify extended-join"));
        assert_eq!(req, vec!["CAP REQ :sasl account-tag extended-join server-time multi-prefix"]);
        let auth = Harness::sent(&h.feed(":irc CAP * ACK :sasl account-tag extended-join server-time multi-prefix"));
        assert_eq!(auth, vec!["AUTHENTICATE PLAIN"]);
        let payload = Harness::sent(&h.feed("AUTHENTICATE +"));
        let expected = base64::engine::general_purpose::STANDARD.encode("srebot\0srebot\0s3cret-pw");
        assert_eq!(payload, vec![format!("AUTHENTICATE {expected}")]);
        h.feed(":irc 900 srebot srebot!srebot@127.0.0.1 srebot :You are now logged in as srebot");
        assert_eq!(Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful")), vec!["CAP END"]);
        let ready = Harness::sent(&h.register());
        assert_eq!(ready, vec!["MODE srebot +B", "JOIN #sre", "JOIN #sre-security k3y"]);
        assert!(h.s.is_ready());
    }

    /// SASL configured, registered on a server that did not offer it (services not linked).
    fn registered_before_services() -> Harness {
        let mut h = Harness::new(true);
        h.s.start();
        h.feed(":irc CAP * LS :multi-prefix");
        h.feed(":irc CAP * ACK :multi-prefix");
        h.register();
        h
    }

    /// SASL failed, and the reason says each of `words`.
    fn assert_failed(h: &Harness, words: &[&str]) {
        let state = h.s.sasl_state();
        assert!(matches!(state, SaslState::Failed(why) if words.iter().all(|w| why.contains(w))), "{state:?}");
    }

    fn with_mechanisms(mechanisms: &[Mechanism]) -> Harness {
        let mut settings = settings(true);
        let login = settings.sasl.as_mut().unwrap();
        login.mechanisms = mechanisms.to_vec();
        login.credentials.key =
            Some(super::super::sasl::EcdsaKey::from_pem(super::super::sasl::tests::TEST_KEY).unwrap());
        let now = Instant::now();
        Harness { s: Session::new(Arc::new(settings), Arc::default(), now), now }
    }

    #[test]
    fn only_mechanisms_the_server_lists_are_tried() {
        // CAP 302 says EXTERNAL only; we have PLAIN: no sasl request, no AUTHENTICATE at all.
        let mut h = Harness::new(true);
        h.s.start();
        let sent = Harness::sent(&h.feed(":irc CAP * LS :sasl=EXTERNAL multi-prefix"));
        assert_eq!(sent, vec!["CAP REQ :sasl multi-prefix"]);
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl multi-prefix")), vec!["CAP END"]);
        assert_failed(&h, &["EXTERNAL", "none of ours (PLAIN)"]);
        // A definite answer: the public channels at once, never the security one.
        assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre"]);
        // Nothing of ours at all and nothing else wanted: the ACK gets CAP END, no AUTHENTICATE.
        let mut h = Harness::new(true);
        h.s.start();
        assert_eq!(
            Harness::sent(&h.feed(":irc CAP * LS :sasl=EXTERNAL,ECDSA-NIST256P-CHALLENGE")),
            vec!["CAP REQ sasl"]
        );
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["CAP END"]);
    }

    #[test]
    fn mechanisms_are_tried_in_our_order_moving_on_after_904() {
        let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::EcdsaNist256pChallenge, Mechanism::Plain]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl=PLAIN,SCRAM-SHA-256");
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE SCRAM-SHA-256"]);
        let first = Harness::sent(&h.feed("AUTHENTICATE +"));
        assert!(first[0].starts_with("AUTHENTICATE "), "{first:?}");
        // Refused (say, no SCRAM secret stored for the account): ECDSA was not offered, PLAIN next.
        assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["AUTHENTICATE PLAIN"]);
        let expected = base64::engine::general_purpose::STANDARD.encode("srebot\0srebot\0s3cret-pw");
        assert_eq!(Harness::sent(&h.feed("AUTHENTICATE +")), vec![format!("AUTHENTICATE {expected}")]);
        assert_eq!(Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful")), vec!["CAP END"]);
        assert_eq!(h.s.sasl_state(), &SaslState::Succeeded("srebot".into()));
        // The last one refused too: failed, CAP END, with every reason in the log line.
        let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::Plain]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl=PLAIN,SCRAM-SHA-256");
        h.feed(":irc CAP * ACK :sasl");
        h.feed(":irc 904 srebot :SASL authentication failed");
        assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["CAP END"]);
        assert_failed(&h, &["904", "PLAIN"]);
    }

    #[test]
    fn a_908_list_is_read_and_mechanisms_it_lacks_are_skipped() {
        // No list in CAP LS (CAP 301-style `sasl`): we start with our first; the server answers
        // 908 with what it has, then 904.
        let mut h = with_mechanisms(&[Mechanism::EcdsaNist256pChallenge, Mechanism::ScramSha256, Mechanism::Plain]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl");
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE ECDSA-NIST256P-CHALLENGE"]);
        assert!(h.feed(":irc 908 srebot PLAIN,EXTERNAL :are available SASL mechanisms").is_empty());
        assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["AUTHENTICATE PLAIN"]);
        // And when the list has none of ours left: failed, saying what the server has.
        let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::EcdsaNist256pChallenge]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl");
        h.feed(":irc CAP * ACK :sasl");
        h.feed(":irc 908 srebot PLAIN,EXTERNAL :are available SASL mechanisms");
        assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["CAP END"]);
        assert_failed(&h, &["server offers: PLAIN,EXTERNAL"]);
    }

    /// The server's side of SCRAM-SHA-256 for `password`, salt and rounds fixed: from the
    /// client-first message, the server-first; from the client-final, whether the proof is
    /// right and the server-final.
    struct ScramServer {
        password: &'static str,
        auth: String,
        nonce: String,
    }

    impl ScramServer {
        const SALT: &'static [u8] = b"pepper-and-salt!";
        fn first(&mut self, client_first: &str) -> String {
            let bare = client_first.strip_prefix("n,,").unwrap();
            let client_nonce = bare.split(',').find_map(|a| a.strip_prefix("r=")).unwrap();
            self.nonce = format!("{client_nonce}srv0nce");
            let salt = base64::engine::general_purpose::STANDARD.encode(Self::SALT);
            let first = format!("r={},s={salt},i=4096", self.nonce);
            self.auth = format!("{bare},{first}");
            first
        }
        fn last(&self, client_final: &str) -> (bool, String) {
            use hmac::Mac;
            use sha2::Digest;
            let mac = |k: &[u8], d: &[u8]| {
                let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(k).unwrap();
                m.update(d);
                m.finalize().into_bytes().to_vec()
            };
            let (without_proof, proof) = client_final.rsplit_once(",p=").unwrap();
            let auth = format!("{},{without_proof}", self.auth);
            let mut salted = [0u8; 32];
            pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha256>>(self.password.as_bytes(), Self::SALT, 4096, &mut salted)
                .unwrap();
            let client_key = mac(&salted, b"Client Key");
            let stored = sha2::Sha256::digest(&client_key);
            let signature = mac(&stored, auth.as_bytes());
            let proof = base64::engine::general_purpose::STANDARD.decode(proof).unwrap();
            let recovered: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
            let ok = sha2::Sha256::digest(&recovered)[..] == stored[..]
                && without_proof == format!("c=biws,r={}", self.nonce);
            let server = mac(&mac(&salted, b"Server Key"), auth.as_bytes());
            (ok, format!("v={}", base64::engine::general_purpose::STANDARD.encode(server)))
        }
    }

    fn decoded(line: &str) -> String {
        let b64 = line.strip_prefix("AUTHENTICATE ").unwrap();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
    }

    fn encoded(text: &str) -> String {
        format!("AUTHENTICATE {}", base64::engine::general_purpose::STANDARD.encode(text))
    }

    #[test]
    fn scram_sha_256_login_checks_the_server_signature() {
        let mut h = with_mechanisms(&[Mechanism::ScramSha256]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl=SCRAM-SHA-256");
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE SCRAM-SHA-256"]);
        let mut server = ScramServer { password: "s3cret-pw", auth: String::new(), nonce: String::new() };
        let client_first = decoded(&Harness::sent(&h.feed("AUTHENTICATE +"))[0]);
        assert!(client_first.starts_with("n,,n=srebot,r="), "{client_first}");
        let client_final = decoded(&Harness::sent(&h.feed(&encoded(&server.first(&client_first))))[0]);
        assert!(!client_final.contains("s3cret-pw"));
        let (proof_ok, server_final) = server.last(&client_final);
        assert!(proof_ok, "the client's proof verifies: {client_final}");
        assert_eq!(Harness::sent(&h.feed(&encoded(&server_final))), vec!["AUTHENTICATE +"]);
        assert_eq!(Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful")), vec!["CAP END"]);
        assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre", "JOIN #sre-security k3y"]);

        // A server that does not know the password cannot fake the signature: we abort, and
        // the 906 that follows does not make us try anything else.
        let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::Plain]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl=SCRAM-SHA-256,PLAIN");
        h.feed(":irc CAP * ACK :sasl");
        let mut impostor = ScramServer { password: "guessed", auth: String::new(), nonce: String::new() };
        let client_first = decoded(&Harness::sent(&h.feed("AUTHENTICATE +"))[0]);
        let client_final = decoded(&Harness::sent(&h.feed(&encoded(&impostor.first(&client_first))))[0]);
        let (proof_ok, forged) = impostor.last(&client_final);
        assert!(!proof_ok);
        assert_eq!(Harness::sent(&h.feed(&encoded(&forged))), vec!["AUTHENTICATE *"]);
        assert_eq!(Harness::sent(&h.feed(":irc 906 srebot :SASL authentication aborted")), vec!["CAP END"]);
        assert_failed(&h, &["906", "server signature"]);
        assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre"]);
    }

    #[test]
    fn an_exchange_the_server_aborts_fails_without_retrying() {
        let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::Plain]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl=SCRAM-SHA-256,PLAIN");
        h.feed(":irc CAP * ACK :sasl");
        h.feed("AUTHENTICATE +");
        assert_eq!(Harness::sent(&h.feed(":irc 906 srebot :SASL authentication aborted")), vec!["CAP END"]);
        assert_failed(&h, &["906"]);
        // A challenge that is not base64 is answered with an abort, not a panic.
        let mut h = with_mechanisms(&[Mechanism::ScramSha256]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl");
        h.feed(":irc CAP * ACK :sasl");
        h.feed("AUTHENTICATE +");
        assert_eq!(Harness::sent(&h.feed("AUTHENTICATE %%%")), vec!["AUTHENTICATE *"]);
    }

    #[test]
    fn ecdsa_login_sends_the_account_then_the_signed_challenge() {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let mut h = with_mechanisms(&[Mechanism::EcdsaNist256pChallenge]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl=ECDSA-NIST256P-CHALLENGE,PLAIN");
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE ECDSA-NIST256P-CHALLENGE"]);
        assert_eq!(Harness::sent(&h.feed("AUTHENTICATE +")), vec![encoded("srebot")]);
        let challenge = [42u8; 32];
        let b64 = base64::engine::general_purpose::STANDARD.encode(challenge);
        let signed = Harness::sent(&h.feed(&format!("AUTHENTICATE {b64}")));
        let der =
            base64::engine::general_purpose::STANDARD.decode(signed[0].strip_prefix("AUTHENTICATE ").unwrap()).unwrap();
        let key = super::super::sasl::EcdsaKey::from_pem(super::super::sasl::tests::TEST_KEY).unwrap();
        let public = base64::engine::general_purpose::STANDARD.decode(key.public_base64()).unwrap();
        let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public).unwrap();
        verifying.verify_prehash(&challenge, &p256::ecdsa::Signature::from_der(&der).unwrap()).unwrap();
    }

    #[test]
    fn a_challenge_in_400_byte_pieces_is_put_together() {
        let mut h = with_mechanisms(&[Mechanism::ScramSha256]);
        h.s.start();
        h.feed(":irc CAP * LS :sasl");
        h.feed(":irc CAP * ACK :sasl");
        let client_first = decoded(&Harness::sent(&h.feed("AUTHENTICATE +"))[0]);
        let nonce = client_first.rsplit_once("r=").unwrap().1;
        // A long server nonce makes the server-first message longer than one piece.
        let server_first = format!("r={nonce}{},s=cGVwcGVy,i=4096", "x".repeat(600));
        let b64 = base64::engine::general_purpose::STANDARD.encode(&server_first);
        let pieces = sasl_chunks(&b64);
        assert!(pieces.len() >= 3);
        for p in &pieces[..pieces.len() - 1] {
            assert!(h.feed(&format!("AUTHENTICATE {p}")).is_empty(), "waits for the rest");
        }
        let sent = Harness::sent(&h.feed(&format!("AUTHENTICATE {}", pieces.last().unwrap())));
        assert!(decoded(&sent[0]).starts_with(&format!("c=biws,r={nonce}xxx")), "{sent:?}");
    }

    #[test]
    fn sts_on_plaintext_upgrades_at_once_and_on_tls_is_a_policy() {
        let mut h = Harness::new(true);
        h.s.start();
        let out = h.feed(":irc CAP * LS :sasl sts=port=6697,duration=300 multi-prefix");
        assert_eq!(out, vec![Action::UpgradeToTls { port: 6697 }], "no REQ, no SASL, no CAP END");
        // Over TLS: the policy to keep, and registration goes on as usual.
        let mut h = Harness::new(true);
        h.s.set_tls(true);
        h.s.start();
        let out = h.feed(":irc CAP * LS :sasl sts=duration=300,preload multi-prefix");
        assert_eq!(out[0], Action::StsPolicy { duration: Duration::from_secs(300) });
        assert_eq!(Harness::sent(&out), vec!["CAP REQ :sasl multi-prefix"]);
        let mut h = Harness::new(false);
        h.s.set_tls(true);
        h.s.start();
        assert_eq!(h.feed(":irc CAP * LS :sts=duration=0")[0], Action::StsPolicy { duration: Duration::ZERO });
        // In plaintext without a port the offer cannot be followed: ignored.
        let mut h = Harness::new(false);
        h.s.start();
        assert_eq!(Harness::sent(&h.feed(":irc CAP * LS :sts=duration=300")), vec!["CAP END"]);
    }

    #[test]
    fn new_channels_are_joined_and_removed_ones_parted_without_reconnecting() {
        let mut h = Harness::new(false);
        h.s.start();
        h.register();
        h.feed(":srebot!s@h JOIN #sre");
        let mut next = settings(false);
        next.channels = vec![
            JoinTarget { name: "#SRE-security".into(), key: Some(Secret("k3y".into())), security: true },
            JoinTarget { name: "#ops".into(), key: None, security: false },
        ];
        let out = Harness::sent(&h.s.set_channels(Arc::new(next), "removed from srebot's config", h.now));
        assert_eq!(out, vec!["PART #sre :removed from srebot's config", "JOIN #ops"]);
        h.feed(":srebot!s@h PART #sre :removed");
        assert!(Harness::sent(&h.s.on_tick(h.now + Duration::from_secs(120))).iter().all(|l| !l.contains("#sre ")));
    }

    #[test]
    fn sasl_failure_skips_security_channels() {
        let mut h = Harness::new(true);
        h.s.start();
        h.feed(":irc CAP * LS :sasl");
        h.feed(":irc CAP * ACK :sasl");
        h.feed("AUTHENTICATE +");
        h.feed(":irc 908 srebot PLAIN,EXTERNAL :are available SASL mechanisms");
        assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["CAP END"]);
        assert!(
            matches!(h.s.sasl_state(), SaslState::Failed(why) if why.contains("904") && why.contains("PLAIN,EXTERNAL"))
        );
        let joins = Harness::sent(&h.register());
        assert_eq!(joins, vec!["MODE srebot +B", "JOIN #sre"]);
        // A security channel added by a reload waits for SASL too; a public one is joined.
        let mut next = settings(true);
        next.channels.push(JoinTarget { name: "#sec2".into(), key: None, security: true });
        next.channels.push(JoinTarget { name: "#ops".into(), key: None, security: false });
        assert_eq!(Harness::sent(&h.s.set_channels(Arc::new(next), "bye", h.now)), vec!["JOIN #ops"]);
    }

    #[test]
    fn no_sasl_offered_waits_for_services_then_joins_public_channels_only() {
        let mut h = Harness::new(true);
        h.s.start();
        assert_eq!(Harness::sent(&h.feed(":irc CAP * LS :multi-prefix")), vec!["CAP REQ multi-prefix"]);
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :multi-prefix")), vec!["CAP END"]);
        assert!(matches!(h.s.sasl_state(), SaslState::Failed(_)));
        // Services not linked yet (a server restart): no channel at all for sasl_wait.
        assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B"]);
        h.now += Duration::from_secs(29);
        // Meanwhile we ask whether SASL is there now (no CAP NEW from some servers).
        assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["CAP LS 302"]);
        assert!(h.feed(":irc CAP srebot LS :multi-prefix").is_empty(), "still not");
        h.now += Duration::from_secs(1);
        assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["JOIN #sre"], "then the public ones");
        // Services link later and offer SASL (cap-notify): we log in, then join the rest.
        assert_eq!(Harness::sent(&h.feed(":irc CAP srebot NEW :sasl")), vec!["CAP REQ sasl"]);
        assert_eq!(Harness::sent(&h.feed(":irc CAP srebot ACK :sasl")), vec!["AUTHENTICATE PLAIN"]);
        h.feed("AUTHENTICATE +");
        let after = Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful"));
        assert_eq!(after, vec!["JOIN #sre-security k3y"]);

        // Services come back within the wait: nothing is joined before the login, then all.
        let mut h = Harness::new(true);
        h.s.start();
        h.feed(":irc CAP * LS :multi-prefix");
        h.feed(":irc CAP * ACK :multi-prefix");
        assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B"]);
        h.now += Duration::from_secs(5);
        assert!(Harness::sent(&h.s.on_tick(h.now)).is_empty());
        h.feed(":irc CAP srebot NEW :sasl=PLAIN");
        h.feed(":irc CAP srebot ACK :sasl");
        h.feed("AUTHENTICATE +");
        let after = Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful"));
        assert_eq!(after, vec!["JOIN #sre", "JOIN #sre-security k3y"]);
        // A SASL failure ends the wait at once: public channels, not the security one.
        let mut h = registered_before_services();
        h.feed(":irc CAP srebot NEW :sasl");
        h.feed(":irc CAP srebot ACK :sasl");
        h.feed("AUTHENTICATE +");
        h.feed(":irc 904 srebot :SASL authentication failed");
        assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["JOIN #sre"]);
        // Services back without a CAP NEW: our next CAP LS finds SASL, we log in, then join.
        let mut h = registered_before_services();
        h.now += SASL_RECHECK;
        assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["CAP LS 302"]);
        assert_eq!(
            Harness::sent(&h.feed(":irc CAP srebot LS :multi-prefix sasl=PLAIN,EXTERNAL")),
            vec!["CAP REQ sasl"]
        );
        assert_eq!(Harness::sent(&h.feed(":irc CAP srebot ACK :sasl")), vec!["AUTHENTICATE PLAIN"]);
        h.feed("AUTHENTICATE +");
        let after = Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful"));
        assert_eq!(after, vec!["JOIN #sre", "JOIN #sre-security k3y"]);
        h.now += SASL_RECHECK * 2;
        assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"CAP LS 302".to_string()), "no more asking");
        // Without services at all: asked again less and less often, at most every 5 minutes.
        let mut h = registered_before_services();
        let mut asked = Vec::new();
        for second in 1..=1200 {
            h.now += Duration::from_secs(1);
            h.feed("PING :alive"); // the link is fine
            if Harness::sent(&h.s.on_tick(h.now)).contains(&"CAP LS 302".to_string()) {
                asked.push(second);
                h.feed(":irc CAP srebot LS :multi-prefix");
            }
        }
        assert_eq!(asked, vec![10, 30, 70, 150, 310, 610, 910]);
        // A server that refuses SASL after registration (InspIRCd 3): reconnect to log in then.
        let mut h = registered_before_services();
        h.now += SASL_RECHECK;
        h.s.on_tick(h.now);
        h.feed(":irc CAP srebot LS :sasl=PLAIN");
        h.feed(":irc CAP srebot ACK :sasl");
        let refused = h.feed(":irc 904 srebot :SASL authentication failed");
        assert!(matches!(&refused[..], [Action::Disconnect(why)] if why.contains("904")), "{refused:?}");
    }

    #[test]
    fn sasl_offered_late_during_registration_still_ends_cap() {
        let mut h = Harness::new(true);
        h.s.start();
        h.feed(":irc CAP * LS :multi-prefix");
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :multi-prefix")), vec!["CAP END"]);
        // Services link before 001: the new REQ reopens negotiation, so CAP END must follow again.
        assert_eq!(Harness::sent(&h.feed(":irc CAP * NEW :sasl")), vec!["CAP REQ sasl"]);
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE PLAIN"]);
        h.feed("AUTHENTICATE +");
        assert_eq!(Harness::sent(&h.feed(":irc 903 * :SASL authentication successful")), vec!["CAP END"]);
        assert!(matches!(h.s.sasl_state(), SaslState::Succeeded(_)));
    }

    #[test]
    fn sasl_chunking() {
        assert_eq!(sasl_chunks(&"a".repeat(399)), vec!["a".repeat(399)]);
        assert_eq!(sasl_chunks(&"a".repeat(400)), vec!["a".repeat(400), "+".into()]);
        assert_eq!(sasl_chunks(&"a".repeat(801)), vec!["a".repeat(400), "a".repeat(400), "a".into()]);
        assert_eq!(sasl_chunks(""), vec!["+"]);
    }

    #[test]
    fn nick_collision_uses_alt_nicks_then_regains() {
        let mut h = Harness::new(false);
        h.s.start();
        assert_eq!(Harness::sent(&h.feed(":irc 433 * srebot :Nickname is already in use")), vec!["NICK srebot_"]);
        let third = Harness::sent(&h.feed(":irc 433 * srebot_ :Nickname is already in use"));
        assert!(third[0].starts_with("NICK srebot") && third[0].len() > "NICK srebot_".len() - 1, "{third:?}");
        h.feed(":irc 001 srebot_ :Welcome");
        assert_eq!(h.s.nick(), "srebot_");
        // The holder of our nick quits: take it at once.
        assert_eq!(Harness::sent(&h.feed(":srebot!x@y QUIT :bye")), vec!["NICK srebot"]);
        h.feed(":srebot_!srebot@host NICK srebot");
        assert_eq!(h.s.nick(), "srebot");
    }

    #[test]
    fn periodic_regain_while_on_alt_nick() {
        let mut h = Harness::new(false);
        h.s.start();
        h.feed(":irc 433 * srebot :in use");
        h.feed(":irc 001 srebot_ :Welcome");
        h.feed(":irc 376 srebot_ :End");
        h.now += Duration::from_secs(61);
        let sent = Harness::sent(&h.s.on_tick(h.now));
        assert!(sent.contains(&"NICK srebot".to_string()), "{sent:?}");
        assert!(h.feed(":irc 433 srebot_ srebot :in use").is_empty());
    }

    #[test]
    fn join_refusals_back_off_and_kick_rejoins() {
        let mut h = Harness::new(false);
        h.register();
        h.feed(":irc 474 srebot #sre :Cannot join channel (+b)");
        h.now += Duration::from_secs(29);
        assert!(!Harness::sent(&h.s.on_tick(h.now)).iter().any(|l| l.starts_with("JOIN #sre")));
        h.now += Duration::from_secs(2);
        assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()));
        h.feed(":irc 474 srebot #sre :Cannot join channel (+b)");
        h.now += Duration::from_secs(31);
        assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "second refusal waits 60 s");
        h.now += Duration::from_secs(30);
        assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()));
        let joined = h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
        assert!(Harness::sent(&joined).contains(&"WHO #sre %tuhnairf,152".to_string()));
        h.feed(":irc 332 srebot #sre :Welcome | SRE Clinic Duty: none");
        h.feed(":irc 353 srebot = #sre :@srebot alice");
        let done = h.feed(":irc 366 srebot #sre :End of /NAMES list.");
        let topic = "Welcome | SRE Clinic Duty: none".to_string();
        assert_eq!(done, vec![Action::Event(Event::Joined { channel: "#sre".into(), topic, opped: true })]);
        h.feed(":op!o@h KICK #sre srebot :out");
        h.now += Duration::from_secs(31);
        assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()));
    }

    #[test]
    fn topic_and_operator_status() {
        let mut h = Harness::new(false);
        h.register();
        h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
        h.feed(":irc 353 srebot = #sre :srebot @alice");
        assert_eq!(
            h.feed(":irc 366 srebot #sre :End"),
            vec![Action::Event(Event::Joined { channel: "#sre".into(), topic: String::new(), opped: false })]
        );
        let ev = h.feed(":alice!a@h TOPIC #sre :new topic");
        let topic =
            Event::Topic { channel: "#sre".into(), topic: "new topic".into(), setter: "alice".into(), by_us: false };
        assert_eq!(ev, vec![Action::Event(topic)]);
        // +b takes a parameter, +n none, -v one: our +o is found in the middle.
        let ev = h.feed(":alice!a@h MODE #sre +bnov x!*@* srebot alice");
        assert_eq!(ev, vec![Action::Event(Event::Opped { channel: "#sre".into(), opped: true })]);
        assert!(h.feed(":alice!a@h MODE #sre +o alice").is_empty());
        let ev = h.feed(":alice!a@h MODE #sre -o srebot");
        assert_eq!(ev, vec![Action::Event(Event::Opped { channel: "#sre".into(), opped: false })]);
        let ev = h.feed(":irc 482 srebot #sre :You must be a channel operator");
        assert_eq!(ev, vec![Action::Event(Event::TopicRefused { channel: "#sre".into(), retry_later: false })]);
        let ev = h.feed(":irc 437 srebot #sre :Retry topic change later");
        assert_eq!(ev, vec![Action::Event(Event::TopicRefused { channel: "#sre".into(), retry_later: true })]);
        let long = "é".repeat(400);
        let line = h.s.render_topic("#sre", &long);
        let relayed = format!(":srebot!~srebot@127.0.0.1 {line}\r\n");
        assert!(relayed.len() <= 512 && relayed.len() > 500, "{}", relayed.len());
        assert!(line.starts_with("TOPIC #sre é"), "{line}");
    }

    #[test]
    fn ping_pong_and_dead_link() {
        let mut h = Harness::new(false);
        h.register();
        assert_eq!(Harness::sent(&h.feed("PING :abc")), vec!["PONG abc"]);
        // 180 bytes of invalid UTF-8 decode to 540 bytes of U+FFFD: the answer still fits.
        let lossy = String::from_utf8_lossy(&[0xbf; 180]).into_owned();
        let pong = Harness::sent(&h.feed(&format!("PING {lossy}")));
        assert!(pong[0].starts_with("PONG ") && pong[0].len() + 2 <= 512, "{} bytes", pong[0].len());
        h.feed(":srebot!s@h JOIN #sre");
        h.feed(":srebot!s@h JOIN #sre-security");
        h.now += Duration::from_secs(91);
        assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["PING srebot"]);
        h.now += Duration::from_secs(61);
        assert!(matches!(h.s.on_tick(h.now).as_slice(), [Action::Disconnect(_)]));
    }

    #[test]
    fn messages_carry_accounts_from_tags_or_whox() {
        let mut h = Harness::new(false);
        h.feed(":irc CAP * ACK :account-tag");
        h.register();
        let ev = h.feed("@account=alice;time=2026-11-22T10:00:00.000Z :Al!a@sre/alice PRIVMSG #sre :!log hi");
        let Action::Event(Event::Message(m)) = &ev[0] else { panic!("{ev:?}") };
        assert_eq!(m.sender.account.as_deref(), Some("alice"));
        assert_eq!(m.channel.as_deref(), Some("#sre"));
        assert_eq!(m.time.to_rfc3339(), "2026-11-22T10:00:00+00:00");
        let ev = h.feed(":bob!b@h PRIVMSG srebot :!log private");
        let Action::Event(Event::Message(m)) = &ev[0] else { panic!() };
        assert_eq!(m.sender.account, None);
        assert_eq!(m.channel, None);

        // Without account-tag: from the roster, filled by WHOX.
        let mut h = Harness::new(false);
        h.register();
        h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
        h.feed(":irc 353 srebot = #sre :@carol srebot");
        h.feed(":irc 354 srebot 152 c 127.0.0.1 host carol H@ carolacct :Carol");
        let ev = h.feed(":carol!c@host PRIVMSG #sre :!log x");
        let Action::Event(Event::Message(m)) = &ev[0] else { panic!() };
        assert_eq!(m.sender.account.as_deref(), Some("carolacct"));
        h.feed(":carol!c@host ACCOUNT *");
        let ev = h.feed(":carol!c@host PRIVMSG #sre :!log x");
        let Action::Event(Event::Message(m)) = &ev[0] else { panic!() };
        assert_eq!(m.sender.account, None);
    }

    #[test]
    fn ignores_echoes_notices_and_channel_noise_but_answers_ctcp_version() {
        let mut h = Harness::new(false);
        h.register();
        assert!(h.feed(":srebot!s@h PRIVMSG #sre :!log echo").is_empty());
        assert!(h.feed(":a!b@c NOTICE #sre :!log notice").is_empty());
        assert!(h.feed(":irc.server NOTICE * :*** Looking up").is_empty());
        assert!(h.feed(":a!b@c PRIVMSG @#sre :!log statusmsg").is_empty());
        assert!(h.feed(":a!b@c PRIVMSG #sre :\x01ACTION waves\x01").is_empty());
        let v = Harness::sent(&h.feed(":a!b@c PRIVMSG srebot :\x01VERSION\x01"));
        assert_eq!(v, vec!["NOTICE a :\x01VERSION srebot 0.1.0\x01"]);
        assert!(h.feed(":a!b@c PRIVMSG srebot :\x01PING 1\x01").is_empty(), "rate-limited");
    }

    #[test]
    fn regains_the_nick_after_a_forced_rename() {
        let mut h = Harness::new(false);
        h.register();
        // Services (or a collision) rename us after registration.
        assert!(h.feed(":srebot!~srebot@127.0.0.1 NICK Guest4711").is_empty());
        assert_eq!(h.s.nick(), "Guest4711");
        h.now += Duration::from_secs(59);
        assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"NICK srebot".to_string()), "not before nick_regain");
        h.now += Duration::from_secs(2);
        assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"NICK srebot".to_string()));
        // Refused (held by services): tried again a period later, not at every tick.
        h.feed(":irc 433 Guest4711 srebot :Nickname is already in use");
        h.now += Duration::from_secs(1);
        assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"NICK srebot".to_string()));
        h.now += Duration::from_secs(60);
        assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"NICK srebot".to_string()));
        h.feed(":Guest4711!~srebot@127.0.0.1 NICK srebot");
        assert_eq!(h.s.nick(), "srebot");
        h.now += Duration::from_secs(120);
        assert!(!Harness::sent(&h.s.on_tick(h.now)).iter().any(|l| l.starts_with("NICK")), "no regain once back");
    }

    /// A session that has sent `AUTHENTICATE PLAIN` and had the server's `+`.
    fn authenticating(h: &mut Harness) {
        h.s.start();
        h.feed(":irc CAP * LS :sasl");
        h.feed(":irc CAP * ACK :sasl");
        h.feed("AUTHENTICATE +");
        assert_eq!(h.s.sasl_state(), &SaslState::Authenticating);
    }

    #[test]
    fn sasl_failures_902_904_905_906_keep_security_channels_out() {
        for code in ["902", "904", "905", "906"] {
            let mut h = Harness::new(true);
            authenticating(&mut h);
            let end = Harness::sent(&h.feed(&format!(":irc {code} srebot :SASL says no")));
            assert_eq!(end, vec!["CAP END"], "{code}");
            assert!(matches!(h.s.sasl_state(), SaslState::Failed(why) if why.starts_with(code)), "{code}");
            assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre"], "{code}");
        }
    }

    #[test]
    fn sasl_907_already_authenticated_counts_as_success() {
        let mut h = Harness::new(true);
        authenticating(&mut h);
        let end = Harness::sent(&h.feed(":irc 907 srebot :You have already authenticated using SASL"));
        assert_eq!(end, vec!["CAP END"]);
        assert_eq!(h.s.sasl_state(), &SaslState::Succeeded("srebot".into()));
        assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre", "JOIN #sre-security k3y"]);
        // A late 907 (services relinked, cap-notify, we asked again) joins what waited.
        let mut h = registered_before_services();
        h.feed(":irc CAP srebot NEW :sasl");
        h.feed(":irc CAP srebot ACK :sasl");
        h.feed("AUTHENTICATE +");
        let joins = Harness::sent(&h.feed(":irc 907 srebot :You have already authenticated using SASL"));
        assert_eq!(joins, vec!["JOIN #sre", "JOIN #sre-security k3y"]);
    }

    #[test]
    fn long_sasl_plain_payload_goes_in_400_byte_chunks_then_plus() {
        // "srebot\0srebot\0" is 14 bytes: a 586-byte password makes 600 bytes, 800 in base64.
        let password = "p".repeat(586);
        let mut settings = settings(true);
        settings.sasl = Some(plain(&password));
        let now = Instant::now();
        let mut h = Harness { s: Session::new(Arc::new(settings), Arc::default(), now), now };
        h.s.start();
        h.feed(":irc CAP * LS :sasl");
        assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE PLAIN"]);
        let sent = Harness::sent(&h.feed("AUTHENTICATE +"));
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("srebot\0srebot\0{password}"));
        assert_eq!(encoded.len(), 800);
        assert_eq!(
            sent,
            vec![
                format!("AUTHENTICATE {}", &encoded[..400]),
                format!("AUTHENTICATE {}", &encoded[400..]),
                "AUTHENTICATE +".to_string()
            ]
        );
        // One byte more of password: the last piece is short, and no `+` follows.
        let mut settings = super::tests::settings(true);
        settings.sasl = Some(plain(&"p".repeat(590)));
        let mut h = Harness { s: Session::new(Arc::new(settings), Arc::default(), now), now };
        h.s.start();
        h.feed(":irc CAP * LS :sasl");
        h.feed(":irc CAP * ACK :sasl");
        let sent = Harness::sent(&h.feed("AUTHENTICATE +"));
        assert_eq!(sent.len(), 3);
        assert!(sent.iter().take(2).all(|l| l.len() == "AUTHENTICATE ".len() + 400), "{sent:?}");
        assert_ne!(sent[2], "AUTHENTICATE +");
    }

    #[test]
    fn every_join_refusal_backs_off_then_retries() {
        for (code, why) in [
            ("471", "Cannot join channel (+l)"),
            ("473", "Cannot join channel (+i)"),
            ("475", "Cannot join channel (+k)"),
            ("477", "You need a registered nick to join that channel"),
        ] {
            let mut h = Harness::new(false);
            h.register();
            h.feed(&format!(":irc {code} srebot #sre :{why}"));
            h.now += Duration::from_secs(29);
            assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "{code}: waits");
            h.now += Duration::from_secs(2);
            assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "{code}: retries");
            h.feed(&format!(":irc {code} srebot #sre :{why}"));
            h.now += Duration::from_secs(31);
            assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "{code}: waits longer");
            h.now += Duration::from_secs(30);
            assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "{code}: retries again");
        }
    }

    #[test]
    fn ctcp_ping_and_version_answered_privately_others_ignored() {
        let mut h = Harness::new(false);
        h.register();
        h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
        // In the channel: the answer is a NOTICE to the nick, never to the channel.
        let ping = Harness::sent(&h.feed(":dave!d@h PRIVMSG #sre :\x01PING 1700000000 123\x01"));
        assert_eq!(ping, vec!["NOTICE dave :\x01PING 1700000000 123\x01"]);
        h.now += CTCP_GAP;
        let version = Harness::sent(&h.feed(":erin!e@h PRIVMSG #sre :\x01VERSION\x01"));
        assert_eq!(version, vec!["NOTICE erin :\x01VERSION srebot 0.1.0\x01"]);
        h.now += CTCP_GAP;
        let private = Harness::sent(&h.feed(":dave!d@h PRIVMSG srebot :\x01PING x\x01"));
        assert_eq!(private, vec!["NOTICE dave :\x01PING x\x01"]);
        // Anything else, and CTCP replies (NOTICE), get nothing, and use up no answer.
        h.now += CTCP_GAP;
        for other in ["TIME", "CLIENTINFO", "USERINFO", "FINGER", "SOURCE", "DCC SEND x 1 2 3", "ACTION waves"] {
            assert!(h.feed(&format!(":dave!d@h PRIVMSG #sre :\x01{other}\x01")).is_empty(), "{other}");
            assert!(h.feed(&format!(":dave!d@h PRIVMSG srebot :\x01{other}\x01")).is_empty(), "{other}");
        }
        assert!(h.feed(":dave!d@h NOTICE srebot :\x01VERSION\x01").is_empty());
        assert!(h.feed(":dave!d@h NOTICE srebot :\x01PING 1\x01").is_empty());
        assert_eq!(
            Harness::sent(&h.feed(":dave!d@h PRIVMSG srebot :\x01ping 2\x01")),
            vec!["NOTICE dave :\x01PING 2\x01"]
        );
    }

    /// Registered and in #sre with WHOX but neither account-tag nor extended-join (e.g. a server
    /// without IRCv3 accounts, or with them off), `carol` already known from the channel's WHOX.
    fn whox_only() -> Harness {
        let mut h = Harness::new(false);
        h.register();
        h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
        h.feed(":irc 353 srebot = #sre :@srebot carol");
        h.feed(":irc 354 srebot 152 c 127.0.0.1 host carol H carolacct :Carol");
        h.feed(":irc 315 srebot #sre :End of /WHO list.");
        h.feed(":irc 366 srebot #sre :End of /NAMES list.");
        h
    }

    fn message_account(actions: &[Action]) -> Vec<Option<String>> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Event(Event::Message(m)) => Some(m.sender.account.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn without_extended_join_joiners_are_asked_about_with_whox_in_batches() {
        let mut h = whox_only();
        assert!(h.feed(":dave!d@h JOIN #sre").is_empty(), "asked together with others, a moment later");
        h.now += JOIN_WHOX_DELAY;
        assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["WHO dave %tuhnairf,152"]);
        h.feed(":irc 354 srebot 152 d 127.0.0.1 h dave H daveacct :Dave");
        h.feed(":irc 315 srebot dave :End of /WHO list.");
        assert_eq!(message_account(&h.feed(":dave!d@h PRIVMSG #sre :!log hi")), vec![Some("daveacct".to_string())]);
        h.now += Duration::from_secs(10);
        assert!(!Harness::sent(&h.s.on_tick(h.now)).iter().any(|l| l.starts_with("WHO")), "asked once");
        // A join storm: one WHO for the channel, not one per join.
        for i in 0..50 {
            h.feed(&format!(":user{i}!u@h JOIN #sre"));
        }
        h.now += JOIN_WHOX_DELAY;
        assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["WHO #sre %tuhnairf,152"]);
        // With extended-join the JOIN says it all: no WHO.
        let mut h = Harness::new(false);
        h.feed(":irc CAP * ACK :extended-join");
        h.register();
        h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre * :srebot");
        h.feed(":dave!d@h JOIN #sre daveacct :Dave");
        h.now += JOIN_WHOX_DELAY;
        assert!(Harness::sent(&h.s.on_tick(h.now)).is_empty());
        assert_eq!(message_account(&h.feed(":dave!d@h PRIVMSG #sre :!log hi")), vec![Some("daveacct".to_string())]);
    }

    #[test]
    fn without_account_tag_a_message_from_an_unknown_sender_waits_for_whox() {
        let mut h = whox_only();
        // Known from the channel's WHOX: goes on at once.
        assert_eq!(
            message_account(&h.feed(":carol!c@host PRIVMSG srebot :!log x")),
            vec![Some("carolacct".to_string())]
        );
        // Someone we share no channel with writes privately: ask first, answer with what we learn.
        let asked = h.feed(":erin!e@h PRIVMSG srebot :!log private");
        assert_eq!(Harness::sent(&asked), vec!["WHO erin %tuhnairf,152"]);
        assert!(message_account(&asked).is_empty());
        assert!(Harness::sent(&h.feed(":erin!e@h PRIVMSG srebot :!log again")).is_empty(), "asked once");
        let released = h.feed(":irc 354 srebot 152 e 127.0.0.1 h erin H erinacct :Erin");
        assert_eq!(message_account(&released), vec![Some("erinacct".to_string()), Some("erinacct".to_string())]);
        let Action::Event(Event::Message(m)) = &released[0] else { panic!("{released:?}") };
        assert_eq!((m.text.as_str(), m.channel.as_deref()), ("!log private", None));
        assert!(h.feed(":irc 315 srebot erin :End of /WHO list.").is_empty());
        // Not logged in (account 0): goes on without an account.
        h.feed(":frank!f@h PRIVMSG srebot :!log f");
        assert_eq!(message_account(&h.feed(":irc 354 srebot 152 f 127.0.0.1 h frank H 0 :F")), vec![None]);
        // No such nick any more (only the end of WHO): without an account.
        h.feed(":gina!g@h PRIVMSG srebot :!log g");
        assert_eq!(message_account(&h.feed(":irc 315 srebot gina :End of /WHO list.")), vec![None]);
        // No answer at all: after WHOX_WAIT, without an account.
        h.feed(":hank!k@h PRIVMSG srebot :!log h");
        h.now += WHOX_WAIT;
        assert_eq!(message_account(&h.s.on_tick(h.now)), vec![None]);
        // A joiner whose WHOX answer has not come yet: the message waits for it too.
        h.feed(":ivan!i@h JOIN #sre");
        assert_eq!(Harness::sent(&h.feed(":ivan!i@h PRIVMSG #sre :!log i")), vec!["WHO ivan %tuhnairf,152"]);
        assert_eq!(
            message_account(&h.feed(":irc 354 srebot 152 i 1.2.3.4 h ivan H ivanacct :I")),
            vec![Some("ivanacct".into())]
        );
    }

    #[test]
    fn passes_on_notices_to_us() {
        let mut h = Harness::new(false);
        h.register();
        let notice = Event::Notice { from: "ChanServ".into(), text: "You are not authorized.".into() };
        assert_eq!(
            h.feed(":ChanServ!ChanServ@services. NOTICE srebot :You are not authorized."),
            [Action::Event(notice)]
        );
        assert!(h.feed(":ChanServ!ChanServ@services. NOTICE #sre :to the channel").is_empty());
        assert!(h.feed(":ChanServ!ChanServ@services. NOTICE srebot :\x01PING 1\x01").is_empty());
    }

    #[test]
    fn render_fits_512_with_our_prefix() {
        let mut h = Harness::new(false);
        h.register();
        h.feed(":srebot!~srebot@a-rather-long-host.example.org JOIN #sre");
        let text = "ü".repeat(600);
        for l in h.s.render("PRIVMSG", "#sre", &text) {
            let relayed = format!(":srebot!~srebot@a-rather-long-host.example.org {l}\r\n");
            assert!(relayed.len() <= 512, "{}", relayed.len());
        }
        let injected = h.s.render("PRIVMSG", "#sre", "a\r\nQUIT :x");
        assert_eq!(injected, vec!["PRIVMSG #sre :a  QUIT :x"]);
    }

    #[test]
    fn redacts_secrets() {
        assert_eq!(redact("AUTHENTICATE c2VjcmV0"), "AUTHENTICATE <redacted>");
        assert_eq!(redact("AUTHENTICATE PLAIN"), "AUTHENTICATE PLAIN");
        assert_eq!(redact("JOIN #sec k3y"), "JOIN #sec <key redacted>");
        assert_eq!(redact("PRIVMSG #a :hi"), "PRIVMSG #a :hi");
    }
}
