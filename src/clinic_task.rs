//! The bot's clinic-duty keeper: it follows the clock and the schedule, keeps the topic section
//! of `[clinic] topic_channels` current (through [`clinic::keeper`](crate::clinic::keeper)) and
//! announces the hand-off at each week boundary.

use crate::clinic::keeper::{Act, Keeper, Settings};
use crate::clinic::topic::Duty;
use crate::clinic::week::WeekRule;
use crate::config::Config;
use crate::irc::{Client, Outgoing};
use crate::store::{clinic as db, Store};
use chrono::{Duration as Days, NaiveDate};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the keeper needs to hear from the connection.
#[derive(Debug, Clone)]
pub enum TopicEvent {
    Joined { channel: String, topic: String, opped: bool },
    Topic { channel: String, topic: String },
    Opped { channel: String, opped: bool },
    Refused { channel: String, retry_later: bool },
    Disconnected,
}

/// How often the clock and the schedule are looked at.
const TICK: Duration = Duration::from_secs(1);
/// The wait after the server asked us to retry a topic change later (437).
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Starts the keeper; `None` when no channel's topic is to be kept and nothing announced.
pub fn spawn(config: Arc<Config>, store: Store, client: Client) -> Option<mpsc::UnboundedSender<TopicEvent>> {
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
    tokio::spawn(
        Task { config, store, client, rule, keeper, week: None, version: None, retries: HashMap::new() }.run(rx),
    );
    Some(tx)
}

struct Task {
    config: Arc<Config>,
    store: Store,
    client: Client,
    rule: WeekRule,
    keeper: Keeper,
    /// The duty week we last acted on, and its duty.
    week: Option<(NaiveDate, Duty)>,
    version: Option<String>,
    retries: HashMap<String, Instant>,
}

impl Task {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<TopicEvent>) {
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

    /// The week now and its duty (an unscheduled week reads as no duty), or `None` when the
    /// store cannot answer.
    async fn current(&self) -> Option<(NaiveDate, Duty, String)> {
        let week = self.rule.week_of(self.config.clock.now());
        let answer =
            self.store.call(move |conn| Ok((db::duty(conn, week)?.unwrap_or_default(), db::version(conn)?))).await;
        match answer {
            Ok((duty, version)) => Some((week, duty, version)),
            Err(e) => {
                tracing::warn!(error = %e, "clinic schedule unavailable");
                None
            }
        }
    }

    fn topic_len(&self) -> usize {
        self.client.status().topic_len.max(1)
    }

    async fn on_event(&mut self, event: TopicEvent) {
        if let TopicEvent::Disconnected = event {
            self.keeper.disconnected();
            return;
        }
        let Some((_, duty, _)) = self.current().await else { return };
        let len = self.topic_len();
        let acts = match event {
            TopicEvent::Joined { channel, topic, opped } => self.keeper.joined(&channel, &topic, opped, &duty, len),
            TopicEvent::Topic { channel, topic } => {
                self.keeper.topic_seen(&channel, &topic);
                vec![]
            }
            TopicEvent::Opped { channel, opped } => self.keeper.opped(&channel, opped, &duty, len),
            TopicEvent::Refused { channel, retry_later } => self.keeper.refused(&channel, retry_later, &duty, len),
            TopicEvent::Disconnected => vec![],
        };
        self.perform(acts);
    }

    async fn on_tick(&mut self) {
        let Some((week, duty, version)) = self.current().await else { return };
        let len = self.topic_len();
        let mut acts = Vec::new();
        match &self.week {
            Some((previous_week, previous)) if *previous_week != week => {
                self.announce(previous, &duty, week);
                acts.extend(self.keeper.changed(&duty, len));
            }
            Some(_) if self.version.as_ref() != Some(&version) => acts.extend(self.keeper.changed(&duty, len)),
            _ => {}
        }
        self.week = Some((week, duty.clone()));
        self.version = Some(version);
        let now = Instant::now();
        let due: Vec<String> = self.retries.iter().filter(|(_, at)| **at <= now).map(|(c, _)| c.clone()).collect();
        for channel in due {
            self.retries.remove(&channel);
            acts.extend(self.keeper.retry(&channel, &duty, len));
        }
        self.perform(acts);
    }

    /// The hand-off line at a week boundary: who is on duty now, who was.
    fn announce(&self, previous: &Duty, now: &Duty, week: NaiveDate) {
        let until =
            self.rule.boundary(week + Days::days(7)).with_timezone(&self.rule.tz).format("%a %Y-%m-%d %H:%M %Z");
        let text = match (&now.clinician, &previous.clinician) {
            (Some(who), Some(was)) if who == was => format!("SRE Clinic Duty: {now} stays on duty until {until}."),
            (Some(_), Some(was)) => {
                format!("SRE Clinic Duty hand-off: {now} is on duty until {until}, taking over from {was}.")
            }
            (Some(_), None) => format!("SRE Clinic Duty: {now} is on duty until {until}."),
            (None, Some(was)) => format!("No clinic duty this week (until {until}); thanks, {was}."),
            (None, None) => return,
        };
        for channel in &self.config.clinic.topic_channels {
            self.client.privmsg(channel, text.clone());
        }
    }

    fn perform(&mut self, acts: Vec<Act>) {
        for act in acts {
            match act {
                Act::SetTopic { channel, text } => self.client.send(Outgoing::Topic { channel, text }),
                Act::AskChanServ { channel, text } => {
                    self.client.privmsg("ChanServ", format!("TOPIC {channel} {text}"))
                }
                Act::Say { channel, text } => self.client.privmsg(&channel, text),
                Act::RetrySoon { channel } => {
                    self.retries.insert(channel, Instant::now() + RETRY_AFTER);
                }
            }
        }
    }
}
