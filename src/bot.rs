//! The bot: takes events from the connection, runs commands, sends their replies.
//!
//! Each command runs in its own task, so a slow database call never holds up the next message,
//! and concurrent `!log`s reach the store together (where they share one commit).

use crate::access;
use crate::clinic_task::TopicEvent;
use crate::cmd::{self, Context, Directory};
use crate::config::Config;
use crate::irc::{Client, Event, Incoming, Outgoing};
use crate::live::LiveConfig;
use crate::store::Store;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long a shutdown waits for commands in flight to finish and reply.
const DRAIN: Duration = Duration::from_secs(5);

/// Commands running at once. Beyond this the bot stops taking events until some finish, so a
/// burst waits in the driver's bounded buffer (which keeps reading the socket and answering
/// PINGs meanwhile) instead of as thousands of tasks in memory; it is twice the store's batch,
/// so group commit still gets full batches.
const MAX_IN_FLIGHT: usize = 1024;

pub struct Bot {
    /// The config in effect, swapped whole by a reload or a grant: read once per message.
    pub config: LiveConfig,
    pub store: Store,
    pub client: Client,
}

impl Bot {
    /// Handles events until `shutdown` resolves or the connection task ends, then lets commands
    /// in flight finish (their rows committed, their replies queued) and asks the session to QUIT.
    pub async fn run(self, mut events: mpsc::Receiver<Event>, shutdown: impl std::future::Future<Output = ()>) {
        let mut tasks = JoinSet::new();
        let mut config = self.config.get();
        let mut changes = self.config.changes();
        let mut limiter = crate::ratelimit::RateLimiter::new(&config.ratelimit);
        tokio::pin!(shutdown);
        let mut clinic = crate::clinic_task::spawn(config.clone(), self.store.clone(), self.client.clone());
        // Each channel's topic and our op status as last heard, so a clinic keeper restarted by
        // a reload learns them as one started at connect does (it acts on joins).
        let mut channels: std::collections::HashMap<String, (String, bool)> = Default::default();
        let mut reminders = tokio::time::interval(reminder_tick(&config));
        reminders.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                Ok(()) = changes.changed() => {
                    // A reload: what keeps state from the config starts over only if its part changed.
                    let next = changes.borrow_and_update().clone();
                    if next.ratelimit != config.ratelimit {
                        limiter = crate::ratelimit::RateLimiter::new(&next.ratelimit);
                    }
                    if reminder_tick(&next) != reminder_tick(&config) {
                        reminders = tokio::time::interval(reminder_tick(&next));
                        reminders.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    }
                    if format!("{:?}", next.clinic) != format!("{:?}", config.clinic) {
                        clinic = crate::clinic_task::spawn(next.clone(), self.store.clone(), self.client.clone());
                        for (channel, (topic, opped)) in &channels {
                            let (channel, topic, opped) = (channel.clone(), topic.clone(), *opped);
                            tell(&clinic, TopicEvent::Joined { channel, topic, opped });
                        }
                    }
                    config = next;
                }
                _ = reminders.tick() => {
                    let (config, store, client) = (config.clone(), self.store.clone(), self.client.clone());
                    tasks.spawn(async move { remind(&config, &store, &client, config.clock.now()).await });
                }
                _ = &mut shutdown => {
                    tracing::info!("shutting down");
                    break;
                }
                event = events.recv(), if tasks.len() < MAX_IN_FLIGHT => match event {
                    None => break,
                    Some(Event::Message(m)) => self.on_message(m, &mut tasks, &mut limiter),
                    Some(Event::Ready { nick }) => tracing::info!(%nick, "ready"),
                    Some(Event::Joined { channel, topic, opped }) => {
                        tracing::debug!(%channel, "in channel");
                        channels.insert(channel.clone(), (topic.clone(), opped));
                        tell(&clinic, TopicEvent::Joined { channel, topic, opped });
                    }
                    Some(Event::Topic { channel, topic, .. }) => {
                        if let Some(known) = channels.get_mut(&channel) {
                            known.0.clone_from(&topic);
                        }
                        tell(&clinic, TopicEvent::Topic { channel, topic })
                    }
                    Some(Event::Opped { channel, opped }) => {
                        if let Some(known) = channels.get_mut(&channel) {
                            known.1 = opped;
                        }
                        tell(&clinic, TopicEvent::Opped { channel, opped })
                    }
                    Some(Event::TopicRefused { channel, retry_later }) => {
                        tell(&clinic, TopicEvent::Refused { channel, retry_later });
                    }
                    Some(Event::Notice { from, text }) => tell(&clinic, TopicEvent::Notice { from, text }),
                    Some(Event::Disconnected { reason }) => {
                        tracing::debug!(%reason, "connection lost");
                        channels.clear();
                        tell(&clinic, TopicEvent::Disconnected);
                    }
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

    fn on_message(&self, msg: Incoming, tasks: &mut JoinSet<()>, limiter: &mut crate::ratelimit::RateLimiter) {
        let config = self.config.get();
        let Some(command) = command_in(&config, &msg) else { return };
        // One spammer must not get a thousand answers: see `ratelimit`.
        let relay = access::is_relay(&config.access, &msg.sender);
        match limiter.check(&crate::ratelimit::key(&msg.sender), relay, std::time::Instant::now()) {
            crate::ratelimit::Verdict::Allow => {}
            crate::ratelimit::Verdict::Warn => {
                return self.client.notice(&msg.sender.nick, crate::ratelimit::slow_down(&msg.sender.nick))
            }
            crate::ratelimit::Verdict::Drop => return,
        }
        let (live, store, client) = (self.config.clone(), self.store.clone(), self.client.clone());
        let grants = matches!(command, cmd::Command::Access(Ok(_)));
        tasks.spawn(async move {
            let replies = answer(command, &msg, &config, &store, &client).await;
            if grants {
                // In effect before the admin hears so: the grants as now committed.
                match store.call(crate::store::access::grants).await {
                    Ok(granted) => live.replace(|c| {
                        let mut next = c.clone();
                        next.access.granted = granted;
                        next
                    }),
                    Err(e) => tracing::error!(error = %e, "cannot read the access grants back"),
                }
            }
            for reply in replies {
                client.send(reply);
            }
        });
    }
}

/// The command a message carries, if it is for us: `None` without our prefix, for a command
/// word we do not have, or in a channel that is not one of ours (a forced join, an invite),
/// where the bot stays quiet.
pub fn command_in(config: &Config, msg: &Incoming) -> Option<cmd::Command> {
    let command = cmd::parse(&config.commands, &msg.text)?;
    match &msg.channel {
        Some(chan) if config.channel(chan).is_none() => None,
        _ => Some(command),
    }
}

/// Runs `command` for `msg` and returns what to send: the bot's message handling after the
/// rate limit, without a network (tests drive it with a temporary store and a fake directory).
pub async fn answer(
    command: cmd::Command,
    msg: &Incoming,
    config: &Config,
    store: &Store,
    directory: &dyn Directory,
) -> Vec<Outgoing> {
    let ctx = Context {
        level: access::level(&config.access, &msg.sender),
        is_relay: access::is_relay(&config.access, &msg.sender),
        config,
        msg,
        directory,
    };
    let is_log = matches!(command, cmd::Command::Log { .. });
    let name = command.name();
    let started = std::time::Instant::now();
    let replies = cmd::run(command, &ctx, store).await;
    crate::metrics::METRICS.command(name, started.elapsed());
    replies.into_iter().map(|reply| outgoing(reply, is_log, config.web.base_url.as_deref())).collect()
}

/// A `!log` acknowledgement (`cmd::log::ack`) as an [`Outgoing::Ack`], so the driver can merge
/// acks that wait behind flood control; any other reply as a PRIVMSG. The ack is recognised by
/// rebuilding its text, so a change of wording degrades to plain messages, never to a wrong id.
fn outgoing(reply: cmd::Reply, is_log: bool, base_url: Option<&str>) -> Outgoing {
    let ack = is_log.then(|| reply.text.rsplit_once(", ")).flatten().and_then(|(head, nick)| {
        let id: i64 = head.rsplit(['#', '/']).next()?.parse().ok()?;
        (cmd::log::ack(id, nick, base_url) == reply.text).then(|| (id, nick.to_string(), head.rsplit(' ').next()))
    });
    match ack {
        Some((id, nick, link)) => Outgoing::Ack {
            url: base_url.and(link).map(String::from),
            target: reply.target,
            id,
            nick,
            text: reply.text,
        },
        None => Outgoing::Privmsg { target: reply.target, text: reply.text },
    }
}

fn tell(clinic: &Option<mpsc::UnboundedSender<TopicEvent>>, event: TopicEvent) {
    if let Some(tx) = clinic {
        let _ = tx.send(event);
    }
}

impl Directory for Client {
    fn presence(&self, channel: &str, nick: &str) -> Option<crate::irc::Sender> {
        Client::presence(self, channel, nick)
    }

    fn accounts_in(&self, channel: &str) -> Vec<(String, String)> {
        Client::accounts_in(self, channel)
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
    match cmd::incident::reminders(config, store, client, now).await {
        Ok(messages) => {
            for (channel, text) in messages {
                client.privmsg(&channel, text);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot check incident reminders"),
    }
}
