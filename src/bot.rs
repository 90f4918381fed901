//! The bot: takes events from the connection, runs commands, sends their replies.
//!
//! Each command runs in its own task, so a slow database call never holds up the next message,
//! and concurrent `!log`s reach the store together (where they share one commit).

use crate::access;
use crate::cmd::{self, Context, Directory};
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
        let mut reminders = tokio::time::interval(reminder_tick(&self.config));
        reminders.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = reminders.tick() => {
                    let (config, store, client) = (self.config.clone(), self.store.clone(), self.client.clone());
                    tasks.spawn(async move { remind(&config, &store, &client, chrono::Utc::now()).await });
                }
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
        let Some(command) = cmd::parse(&self.config.commands, &msg.text) else { return };
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
                directory: &client,
            };
            for reply in cmd::run(command, &ctx, &store).await {
                client.privmsg(&reply.target, reply.text);
            }
        });
    }
}

impl Directory for Client {
    fn presence(&self, channel: &str, nick: &str) -> Option<(String, Option<String>)> {
        Client::presence(self, channel, nick)
    }
}

/// How often to look for due reminders: often enough for the configured interval, at most
/// every 30 s and at least every second.
fn reminder_tick(config: &Config) -> Duration {
    let quarter = Duration::from_secs_f64(config.incidents.update_reminder_minutes * 60.0 / 4.0);
    quarter.clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// Reminds communicators of quiet incidents and mentions missing reports, each in the incident's
/// own channel only (a security incident is never mentioned elsewhere).
async fn remind(config: &Config, store: &Store, client: &Client, now: chrono::DateTime<chrono::Utc>) {
    use crate::store::incident as db;
    let quiet = chrono::Duration::milliseconds((config.incidents.update_reminder_minutes * 60_000.0) as i64);
    let nag = chrono::Duration::milliseconds((config.incidents.report_reminder_hours * 3_600_000.0) as i64);
    let due = store
        .call(move |conn| {
            let mut out = Vec::new();
            for (i, comms) in db::due_reminders(conn, now, quiet)? {
                db::mark_reminded(conn, i.id, now)?;
                let who = comms.map(|t| t.nick).unwrap_or_else(|| "nobody holds communicator".into());
                out.push((
                    i.channel.clone(),
                    format!(
                        "#{} ({}): no update for {}. {who}, as communicator, please post one (!incident status … or \
                         !incident note …), or !incident snooze <minutes>.",
                        i.id,
                        crate::text::truncate_bytes(&i.summary, 60),
                        crate::incident::report::human_duration(now - i.last_update_at)
                    ),
                ));
            }
            for i in db::due_report_nags(conn, now, nag)? {
                db::mark_nagged(conn, i.id, now)?;
                out.push((
                    i.channel.clone(),
                    format!(
                        "#{} ({}) is {} and needs a report ({}): !incident report {}, then !incident report-filed {} <url>.",
                        i.id,
                        crate::text::truncate_bytes(&i.summary, 60),
                        i.state,
                        i.report_reasons().join(", "),
                        i.id,
                        i.id
                    ),
                ));
            }
            Ok(out)
        })
        .await;
    match due {
        Ok(messages) => {
            for (channel, text) in messages {
                client.privmsg(&channel, text);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot check incident reminders"),
    }
}
