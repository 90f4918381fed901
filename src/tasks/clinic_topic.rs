//! The clinic-duty keeper task: it follows the clock and the schedule, keeps the topic section
//! of `[clinic] topic_channels` current (through [`clinic::keeper`](crate::clinic::keeper)) and
//! announces the hand-off at each week boundary (the rules: [`clinic::handoff`](crate::clinic::handoff)).
//! It hears the connection's events ([`irc::Event`](crate::irc::Event)) from the bot, and starts
//! over when a reload changes `[clinic]`.

use crate::clinic::handoff::{handoff_line, step, Seen, Step};
use crate::clinic::keeper::{Act, Keeper, Settings, CHANSERV, CHANSERV_ANSWER_SECS};
use crate::clinic::schedule::Person;
use crate::clinic::week::WeekRule;
use crate::clock::Clock;
use crate::config::Config;
use crate::irc::{Client, Event, Outgoing};
use crate::live::LiveConfig;
use crate::store::{clinic as db, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How often the clock and the schedule are looked at.
const TICK: Duration = Duration::from_secs(1);
/// The wait after the server asked us to retry a topic change later (437).
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Keeps the clinic duty with the config in effect until `events` ends (the bot stopped): hands
/// the keeper the connection's events, and starts a new keeper when a reload changes `[clinic]`.
pub(super) async fn follow(
    live: LiveConfig,
    store: Store,
    client: Client,
    clock: Clock,
    mut events: mpsc::UnboundedReceiver<Event>,
) {
    let mut config = live.get();
    let mut changes = live.changes();
    let mut keeper = spawn(config.clone(), store.clone(), client.clone(), clock.clone());
    // Each channel's topic and our op status as last heard, so a keeper restarted by a reload
    // learns them as one started at connect does (it acts on joins).
    let mut channels: HashMap<String, (String, bool)> = HashMap::new();
    loop {
        tokio::select! {
            Ok(()) = changes.changed() => {
                let next = changes.borrow_and_update().clone();
                if next.clinic != config.clinic {
                    keeper = spawn(next.clone(), store.clone(), client.clone(), clock.clone());
                    for (channel, (topic, opped)) in &channels {
                        let (channel, topic, opped) = (channel.clone(), topic.clone(), *opped);
                        tell(&keeper, Event::Joined { channel, topic, opped });
                    }
                }
                config = next;
            }
            event = events.recv() => {
                let Some(event) = event else { return };
                match &event {
                    Event::Joined { channel, topic, opped } => {
                        channels.insert(channel.clone(), (topic.clone(), *opped));
                    }
                    Event::Topic { channel, topic, .. } => {
                        if let Some(known) = channels.get_mut(channel) {
                            known.0.clone_from(topic);
                        }
                    }
                    Event::Opped { channel, opped } => {
                        if let Some(known) = channels.get_mut(channel) {
                            known.1 = *opped;
                        }
                    }
                    Event::Disconnected { .. } => channels.clear(),
                    _ => {}
                }
                tell(&keeper, event);
            }
        }
    }
}

fn tell(keeper: &Option<mpsc::UnboundedSender<Event>>, event: Event) {
    if let Some(tx) = keeper {
        let _ = tx.send(event);
    }
}

/// Starts the keeper; `None` when no channel's topic is to be kept and nothing announced.
fn spawn(config: Arc<Config>, store: Store, client: Client, clock: Clock) -> Option<mpsc::UnboundedSender<Event>> {
    if config.clinic.topic_channels.is_empty() {
        return None;
    }
    let rule = match config.clinic.rule() {
        Ok(rule) => rule,
        Err(e) => {
            tracing::error!(error = %e, "clinic duty not kept: bad [clinic] settings");
            return None;
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let settings = Settings {
        label: config.clinic.topic_label.clone(),
        separator: config.clinic.topic_separator.clone(),
        via_chanserv: config.clinic.topic_via_chanserv,
    };
    let keeper = Keeper::new(settings, &config.clinic.topic_channels);
    tokio::spawn(Task { config, clock, store, client, rule, keeper, seen: None, timers: HashMap::new() }.run(rx));
    Some(tx)
}

/// Something to do later, for a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Timer {
    /// Try a topic change again after a 437.
    Retry,
    /// ChanServ has had its time to set the topic.
    ChanServ,
}

struct Task {
    config: Arc<Config>,
    clock: Clock,
    store: Store,
    client: Client,
    rule: WeekRule,
    keeper: Keeper,
    /// The last look at the schedule.
    seen: Option<Seen>,
    timers: HashMap<(String, Timer), Instant>,
}

impl Task {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    None => return,
                    Some(e) => self.on_event(e).await,
                },
                _ = tick.tick() => self.on_tick().await,
            }
        }
    }

    /// The week now, its duty (an unscheduled week reads as no duty), the schedule's
    /// fingerprint and who is who on IRC; `None` when the store cannot answer.
    async fn current(&self) -> Option<(Seen, Vec<Person>)> {
        let week = self.rule.week_of(self.clock.now());
        let answer = self
            .store
            .call(move |conn| {
                let duty = db::duty(conn, week)?.unwrap_or_default();
                Ok((Seen { week, duty, version: db::version(conn)? }, db::people(conn)?))
            })
            .await;
        match answer {
            Ok(now) => Some(now),
            Err(e) => {
                tracing::warn!(error = %e, "clinic schedule unavailable");
                None
            }
        }
    }

    fn topic_len(&self) -> usize {
        self.client.status().topic_len.max(1)
    }

    async fn on_event(&mut self, event: Event) {
        match &event {
            Event::Disconnected { .. } => {
                self.keeper.disconnected();
                self.timers.clear();
                return;
            }
            // Only ChanServ's answers matter here; spare the store everyone else's notices.
            Event::Notice { from, .. } if !crate::irc::casefold_eq(from, CHANSERV) => return,
            Event::Ready { .. } | Event::Message(_) => return,
            _ => {}
        }
        let Some((Seen { duty, .. }, _)) = self.current().await else { return };
        let len = self.topic_len();
        let acts = match event {
            Event::Joined { channel, topic, opped } => self.keeper.joined(&channel, &topic, opped, &duty, len),
            Event::Topic { channel, topic, .. } => {
                self.keeper.topic_seen(&channel, &topic);
                vec![]
            }
            Event::Opped { channel, opped } => self.keeper.opped(&channel, opped, &duty, len),
            Event::TopicRefused { channel, retry_later } => self.keeper.refused(&channel, retry_later, &duty, len),
            Event::Notice { from, text } => self.keeper.notice(&from, &text, &duty, len),
            _ => vec![],
        };
        self.perform(acts);
    }

    async fn on_tick(&mut self) {
        let Some((now, people)) = self.current().await else { return };
        let len = self.topic_len();
        let mut acts = Vec::new();
        match step(self.seen.as_ref(), &now) {
            Step::Boundary { previous } => {
                if let Some(line) = handoff_line(&self.rule, now.week, &previous, &now.duty, &people) {
                    for channel in &self.config.clinic.topic_channels {
                        self.client.privmsg(channel, line.clone());
                    }
                }
                acts.extend(self.keeper.changed(&now.duty, len));
            }
            Step::Changed => acts.extend(self.keeper.changed(&now.duty, len)),
            Step::Nothing => {}
        }
        let due: Vec<(String, Timer)> =
            self.timers.iter().filter(|(_, at)| **at <= Instant::now()).map(|(k, _)| k.clone()).collect();
        for (channel, timer) in due {
            self.timers.remove(&(channel.clone(), timer));
            acts.extend(match timer {
                Timer::Retry => self.keeper.retry(&channel, &now.duty, len),
                Timer::ChanServ => self.keeper.chanserv_silent(&channel, &now.duty, len),
            });
        }
        self.seen = Some(now);
        self.perform(acts);
    }

    fn perform(&mut self, acts: Vec<Act>) {
        for act in acts {
            match act {
                Act::SetTopic { channel, text } => self.client.send(Outgoing::Topic { channel, text }),
                Act::AskChanServ { channel, text } => {
                    self.client.privmsg(CHANSERV, format!("TOPIC {channel} {text}"));
                    let answer_by = Instant::now() + Duration::from_secs(CHANSERV_ANSWER_SECS);
                    self.timers.insert((channel, Timer::ChanServ), answer_by);
                }
                Act::Say { channel, text } => self.client.privmsg(&channel, text),
                Act::RetrySoon { channel } => {
                    self.timers.insert((channel, Timer::Retry), Instant::now() + RETRY_AFTER);
                }
            }
        }
    }
}
