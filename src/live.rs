//! The config in effect: one shared value that a reload (or an `!access` grant) swaps whole, so
//! every command reads one consistent config, and tasks that keep state from it (the rate
//! limiter, the clinic keeper, the publisher, the web view) hear that it changed.

use crate::config::Config;
use std::sync::Arc;
use tokio::sync::watch;

/// A cheap handle to the config in effect.
#[derive(Clone)]
pub struct LiveConfig(Arc<watch::Sender<Arc<Config>>>);

impl LiveConfig {
    pub fn new(config: Config) -> LiveConfig {
        LiveConfig(Arc::new(watch::Sender::new(Arc::new(config))))
    }

    /// The config now; a command reads it once and keeps that for its whole run.
    pub fn get(&self) -> Arc<Config> {
        self.0.borrow().clone()
    }

    /// Replaces the config with `next(current)`, atomically with respect to other replacements.
    pub fn replace(&self, next: impl FnOnce(&Config) -> Config) {
        self.0.send_modify(|current| *current = Arc::new(next(current)));
    }

    /// A receiver that wakes when the config is replaced.
    pub fn changes(&self) -> watch::Receiver<Arc<Config>> {
        self.0.subscribe()
    }
}
