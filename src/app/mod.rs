//! The composition root: what ties the modules together at start-up. Config checks that need
//! another module's knowledge (command names, SASL rules, alert and ingest settings) are
//! gathered here, so `config` itself imports nothing above it.

mod checks;
#[cfg(test)]
mod config_tests;
mod run;
mod session;

pub use checks::{load_config, parse_config};
pub use run::{run, shutdown_signal};
pub use session::{join_targets, session_settings};
