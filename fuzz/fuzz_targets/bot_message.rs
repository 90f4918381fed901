//! The bot's message handler (`bot::command_in` and `bot::answer`, what `Bot::on_message` runs
//! after the rate limit) on messages from fuzzer bytes, against one store in a temporary
//! directory that lives for the whole run (set TMPDIR to a RAM disk: every write is fsynced).
//! Never panics; every reply goes to the channel asked in or privately to the asker, is one line
//! that splits into at most two, and is never a database error; nothing is stored for an
//! unidentified sender, and a `!log` that is not acknowledged stores nothing.
//!
//! Input: the first byte picks the sender, the second the channel; the rest is the text (see
//! `common/commands.rs`).
#![no_main]

#[path = "../common/commands.rs"]
mod commands;

use libfuzzer_sys::fuzz_target;
use srebot::testing::cmd::{Command, Directory};
use srebot::testing::config::Config;
use srebot::testing::irc::split::{assumed_prefix, split_text, text_budget};
use srebot::testing::irc::{casefold_eq, Incoming, Outgoing, Sender};
use srebot::testing::store::Store;
use std::sync::OnceLock;

/// Nick and account: listed, admin, relay, identified but not listed, not identified.
const SENDERS: &[(&str, Option<&str>)] = &[
    ("alice", Some("alice")),
    ("root", Some("root")),
    ("logbridge", Some("logbridge")),
    ("mallory", Some("mallory")),
    ("bob", None),
];
const CHANNELS: &[Option<&str>] = &[Some("#sre"), Some("#SRE"), Some("#sre-security"), Some("#elsewhere"), None];

struct Roster;

impl Directory for Roster {
    fn presence(&self, channel: &str, nick: &str) -> Option<srebot::testing::irc::Sender> {
        let (nick, account) = SENDERS.iter().find(|(n, _)| casefold_eq(n, nick))?;
        ours(channel).then(|| srebot::testing::irc::Sender {
            nick: nick.to_string(),
            user: nick.to_string(),
            host: "sre/fuzz".into(),
            account: account.map(String::from),
        })
    }

    fn accounts_in(&self, channel: &str) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = SENDERS
            .iter()
            .filter(|_| ours(channel))
            .filter_map(|(n, a)| a.map(|a| (n.to_string(), a.to_string())))
            .collect();
        all.sort();
        all
    }
}

fn ours(channel: &str) -> bool {
    casefold_eq(channel, "#sre") || casefold_eq(channel, "#sre-security")
}

struct Bot {
    config: Config,
    store: Store,
    runtime: tokio::runtime::Runtime,
}

impl Bot {
    fn answer(&self, command: Command, msg: &Incoming) -> Vec<Outgoing> {
        let clock = srebot::testing::clock::Clock::System;
        self.runtime.block_on(srebot::testing::bot::answer(command, msg, &self.config, &clock, &self.store, &Roster))
    }

    fn number(&self, sql: &'static str) -> i64 {
        self.runtime.block_on(self.store.call(move |c| c.query_row(sql, [], |r| r.get(0)))).expect(sql)
    }
}

fn bot() -> &'static Bot {
    static BOT: OnceLock<Bot> = OnceLock::new();
    BOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("srebot-fuzz-bot_message-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let database = dir.join("srebot.sqlite3");
        let mut config = srebot::testing::config(
            r##"
[access]
accounts = ["alice"]
admins = ["root"]
relays = ["logbridge"]
[sal]
private_message_channel = "#sre"
"##,
        );
        config.storage.database = database.clone();
        let (store, _thread) = Store::open(&database);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let bot = Bot { config, store, runtime };
        // Something for the commands to find.
        for (nick, channel, text) in [
            (0, 0, "!log restarted db1 for T123456"),
            (0, 2, "!log rotated a key"),
            (0, 0, "!incident open the API is down"),
            (1, 0, "!clinic set 2026-11-23 Alice/Bob | SRE-Infra"),
        ] {
            let msg = message(nick, channel, text.into());
            if let Some(command) = srebot::testing::bot::command_in(&bot.config, &msg) {
                bot.answer(command, &msg);
            }
        }
        bot
    })
}

fn message(sender: usize, channel: usize, text: String) -> Incoming {
    let (nick, account) = SENDERS[sender % SENDERS.len()];
    Incoming {
        time: chrono::Utc::now(),
        channel: CHANNELS[channel % CHANNELS.len()].map(String::from),
        sender: Sender {
            nick: nick.into(),
            user: "u".into(),
            host: format!("sre/{nick}"),
            account: account.map(String::from),
        },
        text,
    }
}

fuzz_target!(|data: &[u8]| {
    let [sender, channel, rest @ ..] = data else { return };
    // The connection layer splits lines at LF: a message never holds one.
    let msg = message(usize::from(*sender), usize::from(*channel), commands::text(rest).replace('\n', " "));
    let bot = bot();
    let before = bot.number("SELECT total_changes()");
    let entries = bot.number("SELECT count(*) FROM sal_entry");
    let Some(command) = srebot::testing::bot::command_in(&bot.config, &msg) else { return };
    let is_log = matches!(&command, Command::Log { message } if !message.trim().eq_ignore_ascii_case("undo"));
    let replies = bot.answer(command, &msg);
    assert!(!replies.is_empty(), "silence for {msg:?}");
    assert!(msg.channel.as_deref() != Some("#elsewhere"));
    let prefix = assumed_prefix("srebot", "srebot");
    let lines: Vec<(&String, String)> = replies
        .iter()
        .flat_map(|reply| match reply {
            Outgoing::Privmsg { target, text }
            | Outgoing::Notice { target, text }
            | Outgoing::Answer { target, text } => {
                vec![(target, text.clone())]
            }
            Outgoing::Ack { target, ack } => vec![(target, srebot::testing::cmd::log::ack_text(ack))],
            Outgoing::Bulk { target, lines, .. } => lines.iter().map(|l| (target, l.clone())).collect(),
            other => panic!("not a reply: {other:?}"),
        })
        .collect();
    for (target, text) in &lines {
        let here = msg.channel.as_deref().is_some_and(|c| casefold_eq(c, target));
        assert!(here || casefold_eq(target, &msg.sender.nick), "{target}");
        assert!(!text.trim().is_empty() && !text.contains('\n') && !text.contains("database"), "{text:?}");
        let pieces = split_text(&srebot::testing::text::one_line(text), text_budget(&prefix, "PRIVMSG", target));
        assert!(pieces.len() <= 2, "{} lines: {text:?}", pieces.len());
    }
    let changed = bot.number("SELECT total_changes()") != before;
    if msg.sender.account.is_none() {
        assert!(!changed, "stored for an unidentified sender: {msg:?}");
    }
    if is_log {
        let stored = bot.number("SELECT count(*) FROM sal_entry") - entries;
        match replies.as_slice() {
            [Outgoing::Ack { .. }] => assert_eq!(stored, 1),
            _ => assert!(!changed, "a refused !log stored something: {replies:?}"),
        }
    }
});
