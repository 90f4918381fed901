//! The commands: one file each. Parsing is pure; running takes the context of the message
//! (who, where, when, with what rights) and the store, and returns the replies.

pub(crate) mod access;
pub(crate) mod alerts;
pub mod clinic;
pub mod grammar;
pub(crate) mod help;
pub mod incident;
pub mod log;
mod origin;
pub(crate) mod pages;
pub mod sal;
pub(crate) mod silence;

use crate::access::Level;
use crate::config::{CommandsConfig, Config};
use crate::irc::Incoming;
pub use origin::Origin;

/// The command words (aliases in `[commands] aliases` map onto these).
pub const NAMES: &[&str] = &["log", "help", "incident", "clinic", "sal", "access", "alerts", "silence"];

/// A command recognised in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `!log <message>` (the message may be empty: that gets an error reply).
    Log { message: String },
    /// `!help [topic]`.
    Help { topic: Option<String> },
    /// `!incident …`; a parse error is kept so the user gets the usage line.
    Incident(Result<incident::Sub, String>),
    /// `!clinic …`, likewise.
    Clinic(Result<clinic::Sub, String>),
    /// `!sal …` (Server Admin Log queries and corrections), likewise.
    Sal(Result<sal::Sub, String>),
    /// `!access …` (grants on IRC), likewise.
    Access(Result<access::Sub, String>),
    /// `!alerts …`, likewise.
    Alerts(Result<alerts::Sub, String>),
    /// `!silence …`, likewise.
    Silence(Result<silence::Sub, String>),
}

impl Command {
    /// The command word, for metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Log { .. } => "log",
            Command::Help { .. } => "help",
            Command::Incident(_) => "incident",
            Command::Clinic(_) => "clinic",
            Command::Sal(_) => "sal",
            Command::Access(_) => "access",
            Command::Alerts(_) => "alerts",
            Command::Silence(_) => "silence",
            #[allow(unreachable_patterns)]
            _ => "other",
        }
    }
}

/// Reads a command from a message, or `None` when the message is not for us (no prefix, or a
/// command word we do not have: other bots share these channels).
pub fn parse(commands: &CommandsConfig, text: &str) -> Option<Command> {
    let prefix = &commands.prefix;
    let rest = text.trim_start().strip_prefix(prefix.as_str())?;
    let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let args = args.trim();
    let word = word.to_ascii_lowercase();
    let word = commands.aliases.get(&word).map(String::as_str).unwrap_or(&word);
    match word {
        "log" => Some(Command::Log { message: args.to_string() }),
        "help" => Some(Command::Help {
            topic: args.split_whitespace().next().map(|t| t.trim_start_matches(prefix.as_str()).to_ascii_lowercase()),
        }),
        "incident" => Some(Command::Incident(incident::parse(args))),
        "clinic" => Some(Command::Clinic(clinic::parse(args))),
        "sal" => Some(Command::Sal(sal::parse(args))),
        "access" => Some(Command::Access(access::parse(args))),
        "alerts" => Some(Command::Alerts(alerts::parse(args))),
        "silence" => Some(Command::Silence(silence::parse(args))),
        _ => None,
    }
}

/// Who is in a channel, and logged in as whom (the connection layer's roster).
pub trait Directory: Send + Sync {
    /// `nick` as a member of `channel` (nick as the server spells it, user, host, account), when
    /// present.
    fn presence(&self, channel: &str, nick: &str) -> Option<crate::irc::Sender>;
    /// The identified members of `channel` now, as `(nick, account)`.
    fn accounts_in(&self, channel: &str) -> Vec<(String, String)>;
}

/// What a command knows about the message that invoked it.
pub struct Context<'a> {
    pub config: &'a Config,
    /// "Now", for what depends on it rather than on the message's time.
    pub clock: &'a crate::clock::Clock,
    pub msg: &'a Incoming,
    pub level: Level,
    pub is_relay: bool,
    pub directory: &'a dyn Directory,
    /// Where and who, once for all commands.
    pub origin: Origin,
}

impl Context<'_> {
    /// Where the answer goes: the channel it was asked in, or the asker privately.
    pub fn reply_to(&self) -> &str {
        self.msg.channel.as_deref().unwrap_or(&self.msg.sender.nick)
    }

    pub fn reply(&self, text: impl Into<String>) -> Reply {
        Reply::say(self.reply_to(), text)
    }

    /// A refusal for a write command, saying who may and how to get access.
    pub fn not_allowed(&self, what: &str) -> String {
        let admins = crate::access::admins(&self.config.access);
        let ask = if admins.is_empty() {
            "ask the bot's operator".to_string()
        } else {
            format!(
                "ask an admin: {}; admins add people with {}access add",
                admins.join(", "),
                self.config.commands.prefix
            )
        };
        match &self.msg.sender.account {
            None => format!(
                "{}, you are not identified to services: {what} needs a logged-in account on srebot's access list ({ask}).",
                self.msg.sender.nick
            ),
            Some(acct) => format!("{what}: account {acct} is not on srebot's access list ({ask})."),
        }
    }
}

/// One line to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub target: String,
    /// How the line reads alone (for an ack, [`log::ack_text`]).
    pub text: String,
    /// Set when the line acknowledges a stored entry: the driver merges acks that wait, and
    /// words them with [`log::ack_line`].
    pub ack: Option<crate::irc::Ack>,
}

impl Reply {
    pub fn say(target: &str, text: impl Into<String>) -> Reply {
        Reply { target: target.to_string(), text: text.into(), ack: None }
    }

    pub fn ack(target: &str, ack: crate::irc::Ack) -> Reply {
        Reply { target: target.to_string(), text: log::ack_text(&ack), ack: Some(ack) }
    }
}

/// Runs a parsed command.
pub async fn run(cmd: Command, ctx: &Context<'_>, store: &crate::store::Store) -> Vec<Reply> {
    match cmd {
        Command::Log { message } => log::run(&message, ctx, store).await,
        Command::Help { topic } => help::run(topic.as_deref(), ctx),
        Command::Incident(Ok(sub)) => incident::run(sub, ctx, store).await,
        Command::Incident(Err(usage)) => vec![ctx.reply(usage)],
        Command::Clinic(Ok(sub)) => clinic::run(sub, ctx, store).await,
        Command::Clinic(Err(usage)) => vec![ctx.reply(usage)],
        Command::Sal(Ok(sub)) => sal::run(sub, ctx, store).await,
        Command::Sal(Err(usage)) => vec![ctx.reply(usage)],
        Command::Access(Ok(sub)) => access::run(sub, ctx, store).await,
        Command::Access(Err(usage)) => vec![ctx.reply(usage)],
        Command::Alerts(Ok(sub)) => alerts::run(sub, ctx, store).await,
        Command::Silence(Ok(sub)) => silence::run(sub, ctx, store).await,
        Command::Alerts(Err(usage)) | Command::Silence(Err(usage)) => vec![ctx.reply(usage)],
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use std::collections::HashMap;

    /// Runs `text` as `nick` (identified as `account`, or not) said it in `channel` (or
    /// privately) at `time`: what the bot does after the rate limit, without a network.
    pub async fn say(
        config: &crate::config::Config,
        clock: &crate::clock::Clock,
        store: &crate::store::Store,
        directory: &dyn Directory,
        (time, channel): (chrono::DateTime<chrono::Utc>, Option<&str>),
        (nick, account): (&str, Option<&str>),
        text: &str,
    ) -> Vec<Reply> {
        let msg = Incoming {
            time,
            channel: channel.map(Into::into),
            sender: crate::irc::Sender {
                nick: nick.into(),
                user: "u".into(),
                host: "h".into(),
                account: account.map(Into::into),
            },
            text: text.into(),
        };
        let ctx = Context {
            config,
            clock,
            msg: &msg,
            level: crate::access::level(&config.access, &msg.sender),
            is_relay: false,
            directory,
            origin: Origin::of(config, &msg),
        };
        let cmd = parse(&config.commands, text).expect("a command");
        run(cmd, &ctx, store).await
    }

    /// A directory from a fixed map of (channel, nick) → account.
    #[derive(Default)]
    pub struct FakeDirectory(pub HashMap<(String, String), Option<String>>);

    impl Directory for FakeDirectory {
        fn presence(&self, channel: &str, nick: &str) -> Option<crate::irc::Sender> {
            self.0.get(&(channel.to_ascii_lowercase(), nick.to_ascii_lowercase())).map(|a| crate::irc::Sender {
                nick: nick.to_string(),
                user: "u".into(),
                host: "h".into(),
                account: a.clone(),
            })
        }

        fn accounts_in(&self, channel: &str) -> Vec<(String, String)> {
            let mut found: Vec<(String, String)> = self
                .0
                .iter()
                .filter(|((c, _), _)| c.eq_ignore_ascii_case(channel))
                .filter_map(|((_, n), a)| Some((n.clone(), a.clone()?)))
                .collect();
            found.sort();
            found
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds() -> CommandsConfig {
        CommandsConfig::default()
    }

    #[test]
    fn parses_known_commands_only() {
        let c = cmds();
        assert_eq!(parse(&c, "!log restarted db151"), Some(Command::Log { message: "restarted db151".into() }));
        assert_eq!(parse(&c, "  !LOG   spaced out  "), Some(Command::Log { message: "spaced out".into() }));
        assert_eq!(parse(&c, "!log"), Some(Command::Log { message: String::new() }));
        assert_eq!(parse(&c, "!log\t"), Some(Command::Log { message: String::new() }));
        assert_eq!(parse(&c, "!help !log"), Some(Command::Help { topic: Some("log".into()) }));
        assert_eq!(parse(&c, "!help"), Some(Command::Help { topic: None }));
        assert_eq!(parse(&c, "!logger x"), None);
        assert_eq!(parse(&c, "!unknown"), None);
        assert_eq!(parse(&c, "log this"), None);
        assert_eq!(parse(&c, "!"), None);
        assert_eq!(parse(&c, ""), None);
        assert!(matches!(parse(&c, "!inc list"), Some(Command::Incident(Ok(incident::Sub::List)))));
        let custom = CommandsConfig { prefix: "%%".into(), aliases: Default::default() };
        assert_eq!(parse(&custom, "%%log x"), Some(Command::Log { message: "x".into() }));
        assert_eq!(parse(&custom, "%%inc list"), None);
    }
}
