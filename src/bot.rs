//! The bot: takes events from the connection, runs commands, sends their replies.
//!
//! Each command runs in its own task, so a slow database call never holds up the next message,
//! and concurrent `!log`s reach the store together (where they share one commit).

use crate::access;
use crate::cmd::{self, Context};
use crate::config::Config;
use crate::irc::{Client, Event, Incoming};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long a shutdown waits for commands in flight to finish and reply.
const DRAIN: Duration = Duration::from_secs(5);

pub struct Bot {
    pub config: Arc<Config>,
    pub store: Store,
    pub client: Client,
}

impl Bot {
    /// Handles events until `shutdown` resolves or the connection task ends, then lets commands
    /// in flight finish (their rows committed, their replies queued) and asks the session to QUIT.
    pub async fn run(self, mut events: mpsc::Receiver<Event>, shutdown: impl std::future::Future<Output = ()>) {
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => {
                    tracing::info!("shutting down");
                    break;
                }
                event = events.recv() => match event {
                    None => break,
                    Some(Event::Message(m)) => self.on_message(m, &mut tasks),
                    Some(Event::Ready { nick }) => tracing::info!(%nick, "ready"),
                    Some(Event::Joined { channel }) => tracing::debug!(%channel, "in channel"),
                    Some(Event::Disconnected { reason }) => tracing::debug!(%reason, "connection lost"),
                },
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = done {
                        tracing::error!(error = %e, "a command task failed");
                    }
                }
            }
        }
        let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
        self.client.quit("srebot shutting down");
    }

    fn on_message(&self, msg: Incoming, tasks: &mut JoinSet<()>) {
        let Some(command) = cmd::parse(&self.config.commands.prefix, &msg.text) else { return };
        if let Some(chan) = &msg.channel {
            if self.config.channel(chan).is_none() {
                return; // not one of our channels (forced join, invite): stay quiet
            }
        }
        let (config, store, client) = (self.config.clone(), self.store.clone(), self.client.clone());
        tasks.spawn(async move {
            let ctx = Context {
                level: access::level(&config.access, &msg.sender),
                is_relay: access::is_relay(&config.access, &msg.sender),
                config: &config,
                msg: &msg,
            };
            for reply in cmd::run(command, &ctx, &store).await {
                client.privmsg(&reply.target, reply.text);
            }
        });
    }
}
