//! The connection layer: everything about IRC and nothing about incidents or logs.
//!
//! [`session`] is the protocol as a pure state machine; [`driver`] owns the socket, the outgoing
//! queue with flood control, timers and reconnection, and talks to the rest of the bot through
//! [`Event`]s (in) and a [`Client`] handle (out).

pub mod driver;
pub(crate) mod isupport;
pub mod line;
mod outqueue;
pub mod roster;
pub mod sasl;
pub mod session;
pub mod split;
pub(crate) mod sts;
pub mod transport;

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

pub use crate::names::Sender;

/// A PRIVMSG addressed to a channel we are in or to us.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// From the `server-time` tag when present, else when we received it. UTC.
    pub time: DateTime<Utc>,
    /// `None` for a private message to us.
    pub channel: Option<String>,
    pub sender: Sender,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Registered and past the MOTD (again, after a reconnect).
    Ready {
        nick: String,
    },
    /// We are in the channel and have its topic and member list (sent at the end of NAMES).
    Joined {
        channel: String,
        topic: String,
        opped: bool,
    },
    /// The topic changed; `by_us` when we set it ourselves (the server's echo).
    Topic {
        channel: String,
        topic: String,
        setter: String,
        by_us: bool,
    },
    /// We gained or lost channel operator status.
    Opped {
        channel: String,
        opped: bool,
    },
    /// The server refused our TOPIC: `retry_later` for its rate limit (437), else no rights (482).
    TopicRefused {
        channel: String,
        retry_later: bool,
    },
    Message(Incoming),
    /// A NOTICE addressed to us by a user (not a server, not CTCP): how services such as
    /// ChanServ answer. Never answered; the bot only reads it.
    Notice {
        from: String,
        text: String,
    },
    Disconnected {
        reason: String,
    },
}

/// A line the bot wants sent; the driver renders and splits it to fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Privmsg {
        target: String,
        text: String,
    },
    Notice {
        target: String,
        text: String,
    },
    /// Set a channel's topic (cut to fit one line).
    Topic {
        channel: String,
        text: String,
    },
    /// An acknowledgement: sent alone when it can go at once, merged with other acks for the
    /// same target when they wait behind flood control (see `driver`). Acks, errors and
    /// announcements (the variants above) go before commands' answers and output.
    Ack {
        target: String,
        ack: Ack,
    },
    /// A command's one-line answer: it waits behind acks and the lines above, and takes turns
    /// with other targets' answers and output, one line each.
    Answer {
        target: String,
        text: String,
    },
    /// A command's long output for one target (a query's answer): like [`Outgoing::Answer`],
    /// and a target gets a bounded share waiting; what does not fit is cut, and the target told
    /// how many lines and `rest` (where to find them).
    Bulk {
        target: String,
        lines: Vec<String>,
        rest: String,
    },
    /// Send QUIT once the queue is drained, then stop the session.
    Quit {
        message: String,
    },
}

/// A stored item to acknowledge. The driver merges acks but does not word them: it asks an
/// [`AckLine`] (given in [`driver::Connector`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub id: i64,
    pub nick: String,
    /// The item's link, when acks carry links.
    pub url: Option<String>,
    /// The entry's text when the ack announces an entry made elsewhere (the ingest API): alone,
    /// it reads with it; merged, like any other ack.
    pub message: Option<String>,
}

/// The words for acks: one line for the first of `acks` (sorted by id) that fit in `budget`
/// bytes, and how many it covers (at least one: a lone ack reads as it would alone). Every id
/// covered must appear in the line.
pub type AckLine = fn(acks: &[Ack], budget: usize) -> (String, usize);

/// The connection's state as the rest of the bot may read it.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub connected: bool,
    pub ready: bool,
    pub nick: String,
    pub joined: Vec<String>,
    pub reconnects: u64,
    pub lines_in: u64,
    pub lines_out: u64,
    pub queue_depth: usize,
    /// TOPICLEN from 005 (390 until the server says).
    pub topic_len: usize,
}

/// The handle through which the bot speaks on IRC and asks who is who.
#[derive(Clone)]
pub struct Client {
    out: mpsc::UnboundedSender<Outgoing>,
    /// Settings changed by a reload (see [`Client::reconfigure`]).
    control: mpsc::UnboundedSender<driver::Reconfigure>,
    roster: Arc<Mutex<roster::Roster>>,
    status: Arc<Mutex<Status>>,
}

impl Client {
    /// A client with no connection behind it (for tools and benchmarks that need the web view
    /// without IRC): what it is told to send goes nowhere, and its status says disconnected.
    pub fn detached() -> Client {
        let (out, _) = mpsc::unbounded_channel();
        let (control, _) = mpsc::unbounded_channel();
        Client { out, control, roster: Arc::default(), status: Arc::default() }
    }

    /// Applies a reload without reconnecting: joins the channels new in `channels` and parts
    /// those no longer there, and paces replies with `flood` from now on.
    pub fn reconfigure(&self, channels: Vec<session::JoinTarget>, flood: crate::config::FloodConfig) {
        let _ = self.control.send(driver::Reconfigure { channels, flood });
    }

    pub fn send(&self, msg: Outgoing) {
        // The driver only goes away at shutdown; a reply lost then is not worth a panic.
        let _ = self.out.send(msg);
    }

    pub fn privmsg(&self, target: &str, text: impl Into<String>) {
        self.send(Outgoing::Privmsg { target: target.to_string(), text: text.into() });
    }

    pub fn notice(&self, target: &str, text: impl Into<String>) {
        self.send(Outgoing::Notice { target: target.to_string(), text: text.into() });
    }

    pub fn quit(&self, message: &str) {
        self.send(Outgoing::Quit { message: message.to_string() });
    }

    pub fn status(&self) -> Status {
        self.status.lock().unwrap().clone()
    }

    /// `nick` as a member of `channel` (nick as the server spells it, user, host, account) when
    /// they are in it; the account is `None` when they are not identified (or we do not know yet).
    pub fn presence(&self, channel: &str, nick: &str) -> Option<Sender> {
        let m = isupport::CaseMapping::Rfc1459;
        let roster = self.roster.lock().unwrap();
        let member = roster.get(&isupport::fold(nick, m))?;
        if !member.channels.contains(&isupport::fold(channel, m)) {
            return None;
        }
        let account = match &member.account {
            roster::Account::LoggedIn(a) => Some(a.clone()),
            _ => None,
        };
        Some(Sender { nick: member.nick.clone(), user: member.user.clone(), host: member.host.clone(), account })
    }

    /// The members of `channel` identified to services now, as `(nick, account)`: a nick
    /// change shows at once, since the roster follows NICK.
    pub fn accounts_in(&self, channel: &str) -> Vec<(String, String)> {
        let chan = isupport::fold(channel, isupport::CaseMapping::Rfc1459);
        let roster = self.roster.lock().unwrap();
        let mut identified: Vec<(String, String)> = roster
            .members()
            .filter(|m| m.channels.contains(&chan))
            .filter_map(|m| match &m.account {
                roster::Account::LoggedIn(a) => Some((m.nick.clone(), a.clone())),
                _ => None,
            })
            .collect();
        identified.sort(); // the same answer for the same roster
        identified
    }
}

/// Case-insensitive comparison of nicks or channel names (RFC 1459 mapping, the common one).
pub fn casefold_eq(a: &str, b: &str) -> bool {
    isupport::fold_eq(a, b, isupport::CaseMapping::Rfc1459)
}
