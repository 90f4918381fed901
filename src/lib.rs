//! srebot: an IRC bot that keeps an SRE team's memory in SQLite.
//!
//! The layout follows the path of a message. [`irc`] is the connection layer: it knows IRC
//! (CAP, SASL, ISUPPORT, flood control, reconnects, who is logged in to which account) and
//! nothing about logs or incidents; it hands the rest of the bot [`irc::Event`]s and takes
//! replies through an [`irc::Client`]. [`bot`] turns each message into a [`cmd`] — one file per
//! command, each a function from (command, context, store) to replies — deciding rights with
//! `access`, pacing senders with `ratelimit` and keeping each sender's commands in order
//! with `senders`. [`store`] is SQLite behind one writer
//! thread and knows SQL and nothing about IRC; a reply that acknowledges a write is only sent
//! after that write committed. ARCHITECTURE.md draws the same map and lists the invariants
//! that `architecture_tests` keeps true.
//!
//! The other modules:
//! - domain rules, pure: [`incident`] (state machine, report draft), [`clinic`] (duty weeks,
//!   schedule, topic section), [`alerts`] (reading and routing monitoring alerts, storm folding),
//!   [`ingest`] (the rules of the HTTP ingest API, `srebot log`, wiki import), `privacy` (what
//!   may be published: secrets refused, IPs masked);
//! - outputs: [`publish`] (the outbox and the publishers: MediaWiki, Phorge, the status notice),
//!   [`web`] (the read-only HTTP view and the HTTP receivers), `metrics` (counters, latency);
//! - running: [`app`] (the composition root: the run and its shutdown order, the config checks
//!   that need other modules, the connection settings), [`cli`] (the command line and the
//!   subcommands' bodies), [`config`] (the TOML file, every problem with key and line; it imports
//!   nothing above it), [`live`] (the config in effect), [`reload`] (SIGHUP), `clinic_task` (the topic keeper), [`clinic_cli`]
//!   (`srebot clinic import/remove`), [`sts_policies`] (STS policies kept in the store), `irc_checks`
//!   (check-config rules for the login and TLS keys);
//! - small and pure: [`text`] (formatting codes, task references, truncation), [`clock`] ("now",
//!   settable in tests), [`names`] (`Sender`, and `ChannelName` with IRC's case rule);
//! - for tests only: `testing` (fixtures for unit tests, tests/, fuzz/ and examples/; hidden from
//!   the docs), `architecture_tests` (ARCHITECTURE.md's invariants, checked on the sources).

pub(crate) mod access;
pub mod alerts;
pub mod app;
#[cfg(test)]
mod architecture_tests;
pub mod bot;
pub mod cli;
pub mod clinic;
pub mod clinic_cli;
pub(crate) mod clinic_task;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod incident;
pub mod ingest;
pub mod irc;
mod irc_checks;
pub mod live;
pub(crate) mod metrics;
pub mod names;
pub(crate) mod privacy;
pub mod publish;
pub(crate) mod ratelimit;
pub mod reload;
pub(crate) mod senders;
pub mod store;
pub mod sts_policies;
#[doc(hidden)]
pub mod testing;
pub mod text;
pub mod web;
