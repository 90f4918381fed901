//! The command parser on arbitrary text: never panics, answers only its prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use srebot::cmd::{self, Command};
use srebot::config::CommandsConfig;

fuzz_target!(|text: &str| {
    let c = CommandsConfig::default();
    if let Some(command) = cmd::parse(&c, text) {
        assert!(text.trim_start().starts_with('!'));
        if let Command::Log { message } = command {
            assert_eq!(message.trim(), message);
        }
    }
});
