//! The command parser on raw text and on commands built from its vocabulary (see
//! `common/commands.rs`): never panics; answers only its prefix; every message that starts with
//! one of our command words is a command, and a usage error is one short line.
#![no_main]

#[path = "../common/commands.rs"]
mod commands;

use libfuzzer_sys::fuzz_target;
use srebot::testing::cmd::{self, Command};
use srebot::testing::config::CommandsConfig;
use std::sync::LazyLock;

/// The words `cmd::parse` answers (the command words and the default aliases).
static OURS: LazyLock<Vec<String>> = LazyLock::new(srebot::testing::command_words);

fuzz_target!(|data: &[u8]| {
    let text = commands::text(data);
    let c = CommandsConfig::default();
    let parsed = cmd::parse(&c, &text);
    let word = text.trim_start().strip_prefix('!').map(|r| r.split(char::is_whitespace).next().unwrap_or(""));
    let ours = word.is_some_and(|w| OURS.contains(&w.to_ascii_lowercase()));
    assert_eq!(parsed.is_some(), ours, "{text:?}");
    match parsed {
        Some(Command::Log { message }) => assert_eq!(message.trim(), message),
        Some(
            Command::Incident(Err(e))
            | Command::Clinic(Err(e))
            | Command::Sal(Err(e))
            | Command::Access(Err(e))
            | Command::Alerts(Err(e))
            | Command::Silence(Err(e)),
        ) => {
            assert!(!e.trim().is_empty() && !e.contains(['\r', '\n']) && e.len() <= 400, "{} bytes: {e:?}", e.len());
        }
        _ => {}
    }
});
