//! The bot's message handler without a network: `bot::command_in` and `bot::answer` (what
//! `Bot::on_message` runs after the rate limit) against a store in a temporary directory and a
//! fixed channel roster. Shared by the bad-input catalogue (`tests/it/badinput.rs`) and the
//! property tests (`tests/props.rs`, another test binary, which includes this file by path).

use chrono::{DateTime, Utc};
use srebot::testing::cmd::Directory;
use srebot::testing::config::Config;
use srebot::testing::irc::{Incoming, Outgoing, Sender};
use srebot::testing::store::Store;

/// The channels of the test configuration (`srebot::testing::config`).
pub const PUBLIC: &str = "#sre";
pub const SECURITY: &str = "#sre-security";

/// Who may send: alice and carol are on the access list, root is an admin, logbridge a relay,
/// mallory is identified but not listed; the rest are not identified.
pub const ACCOUNTS: &[(&str, Option<&str>)] = &[
    ("alice", Some("alice")),
    ("carol", Some("carol")),
    ("root", Some("root")),
    ("logbridge", Some("logbridge")),
    ("mallory", Some("mallory")),
    ("bob", None),
    ("alice_", None),
];

/// Everyone in [`ACCOUNTS`] is in both channels, as the connection layer's roster would say.
struct Roster;

impl Directory for Roster {
    fn presence(&self, channel: &str, nick: &str) -> Option<Sender> {
        let ours = [PUBLIC, SECURITY].iter().any(|c| c.eq_ignore_ascii_case(channel));
        let (nick, account) = ACCOUNTS.iter().find(|(n, _)| n.eq_ignore_ascii_case(nick))?;
        ours.then(|| Sender {
            nick: nick.to_string(),
            user: nick.to_string(),
            host: "sre/test".into(),
            account: account.map(String::from),
        })
    }

    fn accounts_in(&self, channel: &str) -> Vec<(String, String)> {
        let ours = [PUBLIC, SECURITY].iter().any(|c| c.eq_ignore_ascii_case(channel));
        let mut all: Vec<(String, String)> =
            ACCOUNTS.iter().filter(|_| ours).filter_map(|(n, a)| a.map(|a| (n.to_string(), a.to_string()))).collect();
        all.sort();
        all
    }
}

/// How the bot is configured: `linked` adds a web view (acks carry links) and lets `!log` by
/// private message go to the public channel; without it, such a `!log` is refused.
pub struct Handler {
    pub config: Config,
    pub store: Store,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Handler {
    pub fn new(linked: bool) -> Handler {
        let dir = tempfile::Builder::new().prefix("srebot-handler-").tempdir().expect("temp dir");
        let database = dir.path().join("srebot.sqlite3");
        let extra = if linked {
            "[web]\nbase_url = \"https://sre.example.org/\"\n[sal]\nprivate_message_channel = \"#sre\"\n"
        } else {
            ""
        };
        let mut config = srebot::testing::config(&format!(
            "[access]\naccounts = [\"alice\", \"carol\"]\nadmins = [\"root\"]\nrelays = [\"logbridge\"]\n{extra}"
        ));
        config.storage.database = database.clone();
        let (store, _thread) = Store::open(&database);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        Handler { config, store, runtime, _dir: dir }
    }

    /// What the bot sends for `msg` (nothing when it is not a command for us).
    pub fn send(&self, msg: &Incoming) -> Vec<Outgoing> {
        let Some(command) = srebot::testing::bot::command_in(&self.config, msg) else { return Vec::new() };
        let replies =
            self.runtime.block_on(srebot::testing::bot::answer(command, msg, &self.config, &self.store, &Roster));
        lines(replies)
    }

    /// `text` from `nick` (with its account from [`ACCOUNTS`]) in `channel`, or privately.
    pub fn say(&self, nick: &str, channel: Option<&str>, text: &str) -> Vec<Outgoing> {
        self.send(&message(nick, channel, text, Utc::now()))
    }

    /// One number from the store's own connection, e.g. `SELECT total_changes()`: the rows
    /// inserted, changed or deleted so far (unchanged means nothing was stored).
    pub fn number(&self, sql: &'static str) -> i64 {
        self.runtime.block_on(self.store.call(move |c| c.query_row(sql, [], |r| r.get(0)))).expect(sql)
    }
}

/// A message from `nick`, with the account [`ACCOUNTS`] gives it (none for other nicks).
pub fn message(nick: &str, channel: Option<&str>, text: &str, time: DateTime<Utc>) -> Incoming {
    let account = ACCOUNTS.iter().find(|(n, _)| *n == nick).and_then(|(_, a)| a.map(String::from));
    Incoming {
        time,
        channel: channel.map(String::from),
        sender: Sender { nick: nick.into(), user: "u".into(), host: format!("sre/{nick}"), account },
        text: text.into(),
    }
}

/// Replies line by line: a bulk answer as the PRIVMSGs it becomes on the wire.
pub fn lines(replies: Vec<Outgoing>) -> Vec<Outgoing> {
    let mut out = Vec::with_capacity(replies.len());
    for reply in replies {
        match reply {
            Outgoing::Bulk { target, lines, .. } => {
                out.extend(lines.into_iter().map(|text| Outgoing::Privmsg { target: target.clone(), text }))
            }
            reply => out.push(reply),
        }
    }
    out
}

/// The target and text of a reply (an ack as it reads alone).
pub fn parts(o: &Outgoing) -> (&str, std::borrow::Cow<'_, str>) {
    match o {
        Outgoing::Privmsg { target, text } | Outgoing::Notice { target, text } | Outgoing::Answer { target, text } => {
            (target, text.into())
        }
        Outgoing::Ack { target, ack } => (target, srebot::testing::cmd::log::ack_text(ack).into()),
        Outgoing::Bulk { target, lines, .. } => (target, lines.join(" / ").into()),
        Outgoing::Topic { channel, text } => (channel, text.into()),
        Outgoing::Quit { message } => ("", message.into()),
    }
}
