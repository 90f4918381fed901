//! srebot: an IRC bot that keeps an SRE team's memory in SQLite.
//!
//! The layout follows the path of a message. `irc` is the connection layer: it knows IRC
//! (CAP, SASL, ISUPPORT, flood control, reconnects, who is logged in to which account) and
//! nothing about logs or incidents; it hands the rest of the bot `irc::Event`s and takes
//! replies through an `irc::Client`. `bot` turns each message into a `cmd` — one file per
//! command, each a function from (command, context, store) to replies — deciding rights with
//! `access`, pacing senders with `ratelimit` and keeping each sender's commands in order
//! with `senders`. `store` is SQLite behind one writer
//! thread and knows SQL and nothing about IRC; a reply that acknowledges a write is only sent
//! after that write committed. ARCHITECTURE.md draws the same map and lists the invariants
//! that `architecture_tests` keeps true.
//!
//! The other modules:
//! - domain rules, pure: `incident` (state machine, report draft), `clinic` (duty weeks,
//!   schedule, topic section), `alerts` (reading and routing monitoring alerts, storm folding),
//!   `ingest` (the rules of the HTTP ingest API, `srebot log`, wiki import), `privacy` (what
//!   may be published: secrets refused, IPs masked);
//! - outputs: `publish` (the outbox and the publishers: MediaWiki, Phorge, the status notice),
//!   `web` (the read-only HTTP view and the HTTP receivers), `metrics` (counters, latency);
//! - running: `app` (the composition root: the run and its shutdown order, the config checks
//!   that need other modules, the connection settings), `cli` (the command line and the
//!   subcommands' bodies), `config` (the TOML file, every problem with key and line; it imports
//!   nothing above it), `live` (the config in effect), `reload` (what a reload changes), `tasks` (the background jobs:
//!   clinic topic keeper, incident reminders, SIGHUP reloads, publishers and web view), `clinic_cli`
//!   (`srebot clinic import/remove`), `sts_policies` (STS policies kept in the store), `irc_checks`
//!   (check-config rules for the login and TLS keys);
//! - small and pure: `text` (formatting codes, task references, truncation), `clock` ("now",
//!   settable in tests), `names` (`Sender`, and `ChannelName` with IRC's case rule);
//! - for tests only: `testing` (fixtures, and the items tests/, fuzz/ and examples/ use,
//!   re-exported; hidden from the docs), `architecture_tests` (ARCHITECTURE.md's invariants,
//!   checked on the sources).
//!
//! Only `cli` (its `Cli` and `dispatch`, for `main`) and `testing` are public; every other module is
//! `pub(crate)`, so the compiler flags what nothing calls.

pub(crate) mod access;
pub(crate) mod alerts;
pub(crate) mod app;
#[cfg(test)]
mod architecture_tests;
pub(crate) mod bot;
pub mod cli;
pub(crate) mod clinic;
pub(crate) mod clinic_cli;
pub(crate) mod clock;
pub(crate) mod cmd;
pub(crate) mod config;
pub(crate) mod incident;
pub(crate) mod ingest;
pub(crate) mod irc;
mod irc_checks;
pub(crate) mod live;
pub(crate) mod metrics;
pub(crate) mod names;
pub(crate) mod privacy;
pub(crate) mod publish;
pub(crate) mod ratelimit;
pub(crate) mod reload;
pub(crate) mod senders;
pub(crate) mod store;
pub(crate) mod sts_policies;
pub(crate) mod tasks;
#[doc(hidden)]
pub mod testing;
pub(crate) mod text;
pub(crate) mod web;
