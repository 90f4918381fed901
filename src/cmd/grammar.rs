//! The command grammar's words in one table: each command word and every spelling of the
//! sub-commands its parser knows. The property tests (tests/props.rs) and the fuzz targets
//! (fuzz/common/commands.rs) build their commands from it; the test below holds it to the parsers.

/// Each command word (as in [`super::NAMES`]) and its sub-command words. `!log` takes a
/// message, its one word is `undo`; `!help` takes a command word as its topic.
pub const SUBCOMMANDS: &[(&str, &[&str])] = &[
    ("log", &["undo"]),
    ("help", &[]),
    (
        "incident",
        &[
            "list",
            "ls",
            "help",
            "open",
            "new",
            "claim",
            "take",
            "handoff",
            "hand",
            "give",
            "status",
            "state",
            "close",
            "reopen",
            "note",
            "update",
            "impact",
            "at",
            "show",
            "info",
            "report",
            "report-filed",
            "filed",
            "snooze",
        ],
    ),
    (
        "clinic",
        &[
            "now", "next", "help", "pages", "schedule", "who", "set", "none", "unset", "reset", "swap", "override",
            "nick",
        ],
    ),
    (
        "sal",
        &[
            "last", "latest", "tail", "search", "find", "grep", "since", "amend", "edit", "fix", "redact", "hide",
            "restore", "unhide", "status", "help",
        ],
    ),
    ("access", &["list", "add", "remove"]),
    ("alerts", &["history", "ack", "take"]),
    ("silence", &["list", "expire"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CommandsConfig;

    #[test]
    fn the_table_names_every_command_word() {
        let words: Vec<&str> = SUBCOMMANDS.iter().map(|(w, _)| *w).collect();
        assert_eq!(words, super::super::NAMES);
    }

    /// A listed word is one its parser knows: with no argument or with one, it parses unlike a
    /// word it does not know (`!log undo` is read later, by `!log` itself).
    #[test]
    fn every_listed_word_is_one_its_parser_knows() {
        let c = CommandsConfig::default();
        let parsed = |family: &str, word: &str, args: &str| {
            format!("{:?}", crate::cmd::parse(&c, &format!("!{family} {word} {args}"))).replace(word, "WORD")
        };
        for (family, words) in SUBCOMMANDS.iter().filter(|(f, _)| *f != "log") {
            for word in *words {
                let known =
                    ["", "1", "#1"].iter().any(|args| parsed(family, word, args) != parsed(family, "frobnicate", args));
                assert!(known, "!{family} {word} parses as an unknown word");
            }
        }
    }
}
