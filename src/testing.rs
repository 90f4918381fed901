//! Fixtures shared by the unit tests, tests/, fuzz/ and examples/ (hidden from the docs: not an API),
//! and the crate's items those use: the crate's modules are `pub(crate)`, so each item outside
//! code needs is re-exported here under its own path (`crate::store::sal::insert` is
//! `srebot::testing::store::sal::insert`). Re-export items, not whole modules, so that the compiler
//! still flags what nothing uses.

use crate::config::Config;

pub mod bot {
    pub use crate::bot::{answer, command_in};
}

pub mod clinic {
    pub mod import {
        pub use crate::clinic::import::parse_any;
    }
    pub mod keeper {
        pub use crate::clinic::keeper::CHANSERV_ANSWER_SECS;
    }
    pub mod topic {
        pub use crate::clinic::topic::{current_section, update, Duty, Unfit};
    }
}

pub mod clock {
    pub use crate::clock::Clock;
}

pub mod cmd {
    pub use crate::cmd::{parse, Command, Directory};
    pub mod clinic {
        pub use crate::cmd::clinic::Sub;
    }
    pub mod grammar {
        pub use crate::cmd::grammar::SUBCOMMANDS;
    }
    pub mod incident {
        pub use crate::cmd::incident::{Sub, Target};
    }
    pub mod log {
        pub use crate::cmd::log::{ack_text, is_undo};
    }
    pub mod sal {
        pub use crate::cmd::sal::{Sub, CHANNEL_LINES, PRIVATE_LINES};
    }
}

/// The module shares its name with the function [`config()`](fn@config): one is a path, the other a call.
pub mod config {
    pub use crate::config::{parse, CommandsConfig, Config, MediaWikiConfig, Secret};
}

pub mod irc {
    pub use crate::irc::{casefold_eq, Client, Incoming, Outgoing, Sender};
    pub mod driver {
        pub use crate::irc::driver::wire_safe;
    }
    pub mod line {
        pub use crate::irc::line::parse;
    }
    pub mod roster {
        pub use crate::irc::roster::Roster;
    }
    pub mod sasl {
        pub use crate::irc::sasl::EcdsaKey;
    }
    pub mod session {
        pub use crate::irc::session::{Action, Session, Settings};
    }
    pub mod split {
        pub use crate::irc::split::{assumed_prefix, split_text, text_budget, MAX_LINE};
    }
    pub mod transport {
        pub use crate::irc::transport::fingerprint;
    }
}

pub mod publish {
    pub mod mediawiki {
        pub use crate::publish::mediawiki::{apply, apply_from, Wiki};
    }
    pub mod wikitext {
        pub use crate::publish::wikitext::{Change, PageEntry};
    }
}

pub mod store {
    pub use crate::store::{open_database, schema_version, Actor, Store};
    pub mod clinic {
        pub use crate::store::clinic::import;
    }
    pub mod sal {
        pub use crate::store::sal::{fts_query, get, hide, index_new_entries, insert, time_text, Kind, NewEntry};
    }
}

pub mod text {
    pub use crate::text::{one_line, truncate_bytes};
}

pub mod web {
    pub use crate::web::ROUTES;
}

/// The web view of `config` (on its `storage.database`) served on a free loopback port, without
/// IRC: for the tests and benchmarks of the HTTP routes. The store thread ends with the process.
pub async fn serve_web(config: Config, clock: crate::clock::Clock) -> (u16, crate::store::Store) {
    let (store, _thread) = crate::store::Store::open(&config.storage.database);
    let client = crate::irc::Client::detached();
    let web = crate::web::Web::new(std::sync::Arc::new(config), store.clone(), client, clock).expect("web view");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    tokio::spawn(crate::web::serve(listener, web));
    (port, store)
}

/// The connection settings of [`config`] with SASL PLAIN and an alternative nick `srebot_`: a
/// `Session` the property tests and fuzz targets drive starts from them.
pub fn session_settings() -> crate::irc::session::Settings {
    let mut c = config("[irc.sasl]\nmechanism = \"PLAIN\"\naccount = \"srebot\"\npassword = \"pw-for-tests\"");
    c.irc.alt_nicks = vec!["srebot_".into()];
    match crate::app::session_settings(&c) {
        Ok((settings, _)) => settings,
        Err(e) => panic!("test session settings: {e}"),
    }
}

/// What a server sends to register a session made with [`session_settings`] and join it to
/// `#sre`, so that the lines after it reach a registered, joined session.
pub const REGISTRATION: &[&str] = &[
    ":irc.test CAP * LS :sasl account-tag extended-join server-time message-tags",
    ":irc.test CAP srebot ACK :sasl account-tag extended-join server-time message-tags",
    "AUTHENTICATE +",
    ":irc.test 903 srebot :SASL authentication successful",
    ":irc.test 001 srebot :Welcome",
    ":irc.test 005 srebot CASEMAPPING=rfc1459 TOPICLEN=390 :are supported",
    ":irc.test 376 srebot :End of MOTD",
    ":srebot!~srebot@127.0.0.1 JOIN #sre * :srebot",
    ":irc.test 353 srebot = #sre :@srebot alice",
    ":irc.test 366 srebot #sre :End of NAMES",
];

/// The words `cmd::parse` answers with the default `[commands]`: the command words and the
/// default aliases (`inc`).
pub fn command_words() -> Vec<String> {
    let aliases = crate::config::CommandsConfig::default().aliases.into_keys();
    crate::cmd::NAMES.iter().map(|w| w.to_string()).chain(aliases).collect()
}

/// The smallest configuration the tests start from: the bot `srebot` on 127.0.0.1, a public
/// `#sre` and a security `#sre-security`, and `x.sqlite3`, then `extra` (more tables, more
/// `[[channels]]`). Give a test its own database with `config.storage.database = …`.
pub fn config_text(extra: &str) -> String {
    format!(
        r##"
[irc]
server = "127.0.0.1"
nick = "srebot"
[[channels]]
name = "#sre"
role = "public"
[[channels]]
name = "#sre-security"
role = "security"
[storage]
database = "x.sqlite3"
{extra}
"##
    )
}

/// [`config_text`] parsed and checked like `check-config`; panics with the problems if `extra` does not fit.
pub fn config(extra: &str) -> Config {
    match crate::app::parse_config(&config_text(extra)) {
        Ok(config) => config,
        Err(problems) => panic!("test config: {problems:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_channels_and_sub_tables_may_follow_the_base() {
        let c = config("[irc.sasl]\nmechanism = \"PLAIN\"\naccount = \"srebot\"\npassword = \"pw\"\n[[channels]]\nname = \"#ops\"\nrole = \"public\"\n");
        let names: Vec<&str> = c.channels.iter().map(|ch| ch.name.as_str()).collect();
        assert_eq!(names, ["#sre", "#sre-security", "#ops"]);
        assert!(c.irc.sasl.is_some());
    }
}
