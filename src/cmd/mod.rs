//! The commands: one file each. Parsing is pure; running takes the context of the message
//! (who, where, when, with what rights) and the store, and returns the replies.

pub mod help;
pub mod log;

use crate::access::Level;
use crate::config::Config;
use crate::irc::Incoming;

/// A command recognised in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `!log <message>` (the message may be empty: that gets an error reply).
    Log { message: String },
    /// `!help [topic]`.
    Help { topic: Option<String> },
}

/// Reads a command from a message, or `None` when the message is not for us (no prefix, or a
/// command word we do not have: other bots share these channels).
pub fn parse(prefix: &str, text: &str) -> Option<Command> {
    let rest = text.trim_start().strip_prefix(prefix)?;
    let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let args = args.trim();
    match word.to_ascii_lowercase().as_str() {
        "log" => Some(Command::Log { message: args.to_string() }),
        "help" => Some(Command::Help {
            topic: args.split_whitespace().next().map(|t| t.trim_start_matches(prefix).to_ascii_lowercase()),
        }),
        _ => None,
    }
}

/// What a command knows about the message that invoked it.
pub struct Context<'a> {
    pub config: &'a Config,
    pub msg: &'a Incoming,
    pub level: Level,
    pub is_relay: bool,
}

impl Context<'_> {
    /// Where the answer goes: the channel it was asked in, or the asker privately.
    pub fn reply_to(&self) -> &str {
        self.msg.channel.as_deref().unwrap_or(&self.msg.sender.nick)
    }

    pub fn reply(&self, text: impl Into<String>) -> Reply {
        Reply { target: self.reply_to().to_string(), text: text.into() }
    }
}

/// One line to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub target: String,
    pub text: String,
}

/// Runs a parsed command.
pub async fn run(cmd: Command, ctx: &Context<'_>, store: &crate::store::Store) -> Vec<Reply> {
    match cmd {
        Command::Log { message } => log::run(&message, ctx, store).await,
        Command::Help { topic } => help::run(topic.as_deref(), ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_commands_only() {
        assert_eq!(parse("!", "!log restarted db151"), Some(Command::Log { message: "restarted db151".into() }));
        assert_eq!(parse("!", "  !LOG   spaced out  "), Some(Command::Log { message: "spaced out".into() }));
        assert_eq!(parse("!", "!log"), Some(Command::Log { message: String::new() }));
        assert_eq!(parse("!", "!log\t"), Some(Command::Log { message: String::new() }));
        assert_eq!(parse("!", "!help !log"), Some(Command::Help { topic: Some("log".into()) }));
        assert_eq!(parse("!", "!help"), Some(Command::Help { topic: None }));
        assert_eq!(parse("!", "!logger x"), None);
        assert_eq!(parse("!", "!unknown"), None);
        assert_eq!(parse("!", "log this"), None);
        assert_eq!(parse("!", "!"), None);
        assert_eq!(parse("!", ""), None);
        assert_eq!(parse("%%", "%%log x"), Some(Command::Log { message: "x".into() }));
    }
}
