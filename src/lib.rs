//! srebot: an IRC bot that keeps an SRE team's memory in SQLite.
//!
//! The layout follows the path of a message. [`irc`] is the connection layer: it knows IRC
//! (CAP, SASL, ISUPPORT, flood control, reconnects, who is logged in to which account) and
//! nothing about logs or incidents; it hands the rest of the bot [`irc::Event`]s and takes
//! replies through an [`irc::Client`]. [`bot`] turns each message into a [`cmd`] — one file per
//! command, each a function from (command, context, store) to replies — deciding rights with
//! [`access`]. [`store`] is SQLite behind one writer thread and knows SQL and nothing about IRC;
//! a reply that acknowledges a write is only sent after that write committed. [`config`] reads
//! and checks the TOML configuration; [`app`] ties the modules together (the config checks that
//! need other modules, the connection settings, the run and its shutdown order); [`cli`] holds
//! the subcommands' bodies; [`text`] holds the small pure text helpers.
//! ARCHITECTURE.md draws the same map.

pub mod access;
pub mod alerts;
pub mod app;
pub mod bot;
pub mod cli;
pub mod clinic;
pub mod clinic_cli;
pub mod clinic_task;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod incident;
pub mod ingest;
pub mod irc;
mod irc_checks;
pub mod live;
pub mod metrics;
pub mod privacy;
pub mod publish;
pub mod ratelimit;
pub mod reload;
pub mod senders;
pub mod store;
pub mod sts_policies;
#[doc(hidden)]
pub mod testing;
pub mod text;
pub mod web;
