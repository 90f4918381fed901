//! The bot: takes events from the connection, runs commands, sends their replies.
//!
//! Each sender's commands run in their own task, in the order they arrived (`senders`), so a
//! slow database call never holds up anyone else's message, and concurrent `!log`s reach the
//! store together (where they share one commit).

use crate::access;
use crate::clock::Clock;
use crate::cmd::{self, Context, Directory};
use crate::config::Config;
use crate::irc::{Client, Event, Incoming, Outgoing};
use crate::live::LiveConfig;
use crate::senders::{Job, Senders, Start};
use crate::store::Store;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long a shutdown waits for commands in flight to finish and reply.
const DRAIN: Duration = Duration::from_secs(5);

/// Commands waiting or running at once. Beyond this the bot stops taking events until some
/// finish, so a burst waits in the driver's bounded buffer (which keeps reading the socket and
/// answering PINGs meanwhile) instead of in memory here; it is twice the store's batch, so
/// group commit still gets full batches.
const MAX_IN_FLIGHT: usize = 1024;

pub struct Bot {
    /// The config in effect, swapped whole by a reload or a grant: read once per message.
    pub config: LiveConfig,
    pub store: Store,
    pub client: Client,
    /// "Now", for commands that depend on it rather than on the message's time.
    pub clock: Clock,
    /// The background jobs that follow the connection (the clinic keeper): every event but
    /// messages goes there.
    pub followed: mpsc::UnboundedSender<Event>,
}

impl Bot {
    /// Handles events until `shutdown` resolves or the connection task ends, then lets commands
    /// in flight finish (their rows committed, their replies queued) and asks the session to QUIT.
    pub async fn run(self, mut events: mpsc::Receiver<Event>, shutdown: impl std::future::Future<Output = ()>) {
        // A task answers with the sender whose commands it ran.
        let mut tasks: JoinSet<String> = JoinSet::new();
        let mut senders = Senders::default();
        let mut config = self.config.get();
        let mut changes = self.config.changes();
        let mut limiter = crate::ratelimit::RateLimiter::new(&config.ratelimit);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                Ok(()) = changes.changed() => {
                    // A reload: what keeps state from the config starts over only if its part changed.
                    let next = changes.borrow_and_update().clone();
                    if next.ratelimit != config.ratelimit {
                        limiter = crate::ratelimit::RateLimiter::new(&next.ratelimit);
                    }
                    config = next;
                }
                _ = &mut shutdown => {
                    tracing::info!("shutting down");
                    break;
                }
                event = events.recv(), if senders.jobs() + tasks.len() < MAX_IN_FLIGHT => match event {
                    None => break,
                    Some(Event::Message(m)) => self.on_message(m, &mut tasks, &mut senders, &mut limiter),
                    Some(Event::Ready { nick }) => tracing::info!(%nick, "ready"),
                    Some(other) => {
                        match &other {
                            Event::Joined { channel, .. } => tracing::debug!(%channel, "in channel"),
                            Event::Disconnected { reason } => tracing::debug!(%reason, "connection lost"),
                            _ => {}
                        }
                        let _ = self.followed.send(other);
                    }
                },
                Some(done) = tasks.join_next(), if !tasks.is_empty() => match done {
                    Ok(sender) => self.finished(&sender, &mut tasks, &mut senders),
                    // The sender's queue is stuck without its task: nothing of it can run again.
                    Err(e) => tracing::error!(error = %e, "a command task failed"),
                }
            }
        }
        let _ = tokio::time::timeout(DRAIN, async {
            while let Some(done) = tasks.join_next().await {
                if let Ok(sender) = done {
                    self.finished(&sender, &mut tasks, &mut senders);
                }
            }
        })
        .await;
        self.client.quit("srebot shutting down");
    }

    fn on_message(
        &self,
        msg: Incoming,
        tasks: &mut JoinSet<String>,
        senders: &mut Senders,
        limiter: &mut crate::ratelimit::RateLimiter,
    ) {
        let config = self.config.get();
        let Some(command) = command_in(&config, &msg) else { return };
        let key = crate::ratelimit::key(&msg.sender);
        let relay = access::is_relay(&config.access, &msg.sender);
        // One spammer must not get a thousand answers: see `ratelimit`. A member's (or a
        // relay's) `!log` is never ignored: it waits its turn in the sender's queue.
        let logs = matches!(command, cmd::Command::Log { .. })
            && (relay || access::level(&config.access, &msg.sender) >= access::Level::Member);
        if !logs {
            match limiter.check(&key, relay, std::time::Instant::now()) {
                crate::ratelimit::Verdict::Allow => {}
                crate::ratelimit::Verdict::Warn => {
                    return self.client.notice(&msg.sender.nick, crate::ratelimit::slow_down(&msg.sender.nick))
                }
                crate::ratelimit::Verdict::Drop => return,
            }
        }
        senders.push(&key, Job { command, msg });
        self.start(&key, tasks, senders);
    }

    /// A step of `sender`'s queue is done: says what did not fit once the queue is empty, or
    /// starts what may start now.
    fn finished(&self, sender: &str, tasks: &mut JoinSet<String>, senders: &mut Senders) {
        if let Some((target, text)) = senders.finished(sender) {
            self.client.privmsg(&target, text);
        }
        self.start(sender, tasks, senders);
    }

    /// Starts every step of `sender`'s queue that may start now, each as a task. A step of
    /// `!log`s plans its entries, hands them to the store once the step before has handed over
    /// its own (so ids follow the order of the lines), and answers once that step has answered.
    fn start(&self, sender: &str, tasks: &mut JoinSet<String>, senders: &mut Senders) {
        while let Some(step) = senders.ready(sender) {
            let (config, store, client, clock, sender) =
                (self.config.get(), self.store.clone(), self.client.clone(), self.clock.clone(), sender.to_string());
            match step {
                Start::Alone(job) => {
                    let live = self.config.clone();
                    tasks.spawn(async move {
                        let grants = matches!(job.command, cmd::Command::Access(Ok(_)));
                        let replies = answer(job.command, &job.msg, &config, &clock, &store, &client).await;
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
                        sender
                    });
                }
                Start::Logs { jobs, after } => {
                    let (submitted, next_submitted) = tokio::sync::oneshot::channel();
                    let (answered, next_answered) = tokio::sync::oneshot::channel();
                    senders
                        .started(&sender, crate::senders::Chain { submitted: next_submitted, answered: next_answered });
                    tasks.spawn(async move {
                        let started = std::time::Instant::now();
                        // Planning in parallel with the step before; handing over after it.
                        let prepared: Vec<_> = jobs
                            .iter()
                            .filter_map(|job| match &job.command {
                                cmd::Command::Log { message } => {
                                    Some(cmd::log::prepare(message, &context(&config, &clock, &job.msg, &client)))
                                }
                                _ => None, // `senders` makes steps of `!log`s only of them
                            })
                            .collect();
                        let (after_submitted, after_answered) = match after {
                            Some(chain) => (Some(chain.submitted), Some(chain.answered)),
                            None => (None, None),
                        };
                        if let Some(after) = after_submitted {
                            let _ = after.await; // an error: the step before ended without a word
                        }
                        let stored: Vec<_> = prepared.into_iter().map(|p| p.submit(&store)).collect();
                        let _ = submitted.send(());
                        let mut answers = Vec::with_capacity(stored.len());
                        for replies in stored {
                            answers.push(outgoing(replies.await, true, &config));
                            crate::metrics::METRICS.command("log", started.elapsed());
                        }
                        if let Some(after) = after_answered {
                            let _ = after.await;
                        }
                        for reply in answers.into_iter().flatten() {
                            client.send(reply);
                        }
                        let _ = answered.send(());
                        sender
                    });
                }
            }
        }
    }
}

fn context<'a>(config: &'a Config, clock: &'a Clock, msg: &'a Incoming, directory: &'a dyn Directory) -> Context<'a> {
    Context {
        level: access::level(&config.access, &msg.sender),
        is_relay: access::is_relay(&config.access, &msg.sender),
        config,
        clock,
        msg,
        directory,
        origin: cmd::Origin::of(config, msg),
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
    clock: &Clock,
    store: &Store,
    directory: &dyn Directory,
) -> Vec<Outgoing> {
    let ctx = context(config, clock, msg, directory);
    let name = command.name();
    let started = std::time::Instant::now();
    let replies = cmd::run(command, &ctx, store).await;
    crate::metrics::METRICS.command(name, started.elapsed());
    outgoing(replies, name == "log", config)
}

/// A command's replies as the driver takes them: an ack as an [`Outgoing::Ack`] (the driver
/// merges acks that wait behind flood control) and the rest of a `!log`'s answers (refusals,
/// errors) as PRIVMSGs, which go first; another command's line as an [`Outgoing::Answer`], and
/// several lines to one target as one [`Outgoing::Bulk`], which take turns by target after
/// those (bulk output capped per target).
fn outgoing(replies: Vec<cmd::Reply>, is_log: bool, config: &Config) -> Vec<Outgoing> {
    let mut out: Vec<Outgoing> = Vec::with_capacity(replies.len());
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for reply in replies {
        match reply.ack {
            Some(ack) => out.push(Outgoing::Ack { target: reply.target, ack }),
            None => match lines.iter_mut().find(|(t, _)| *t == reply.target) {
                Some((_, said)) => said.push(reply.text),
                None => lines.push((reply.target, vec![reply.text])),
            },
        }
    }
    for (target, mut said) in lines {
        out.push(match said.len() {
            _ if is_log => {
                out.extend(said.into_iter().map(|text| Outgoing::Privmsg { target: target.clone(), text }));
                continue;
            }
            1 => Outgoing::Answer { target, text: said.remove(0) },
            _ => Outgoing::Bulk { target, lines: said, rest: where_the_rest_is(config) },
        });
    }
    out
}

/// Where someone whose long answer was cut finds the rest.
fn where_the_rest_is(config: &Config) -> String {
    match &config.web.base_url {
        Some(base) => format!("The log is at {}/", base.trim_end_matches('/')),
        None => "Ask for less at a time (!sal last <n>, !sal since <time>), or use the srebot CLI.".into(),
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
