//! The bot's clinic-duty keeper: it follows the clock and the schedule, keeps the topic section
//! of `[clinic] topic_channels` current (through [`clinic::keeper`](crate::clinic::keeper)) and
//! announces the hand-off at each week boundary.

use crate::clinic::keeper::{Act, Keeper, Settings, CHANSERV, CHANSERV_ANSWER_SECS};
use crate::clinic::schedule::{nick_of, Person};
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
    Joined {
        channel: String,
        topic: String,
        opped: bool,
    },
    Topic {
        channel: String,
        topic: String,
    },
    Opped {
        channel: String,
        opped: bool,
    },
    Refused {
        channel: String,
        retry_later: bool,
    },
    /// A NOTICE to us (ChanServ answers this way).
    Notice {
        from: String,
        text: String,
    },
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
    tokio::spawn(Task { config, store, client, rule, keeper, seen: None, timers: HashMap::new() }.run(rx));
    Some(tx)
}

/// What the schedule says at one look: the week, its duty, the schedule's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub week: NaiveDate,
    pub duty: Duty,
    pub version: String,
}

/// What changed since the last look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing (or this is the first look: joining writes the topic).
    Nothing,
    /// A new duty week began; `previous` is the duty of the week that ended.
    Boundary { previous: Duty },
    /// The schedule changed (on IRC, or an import by another process) within the week.
    Changed,
}

/// Compares a look with the last one: a new week is a boundary (whatever else changed), a new
/// fingerprint within the week a change. Each is reported once, as the caller then remembers
/// `now`.
pub fn step(last: Option<&Seen>, now: &Seen) -> Step {
    match last {
        Some(last) if last.week != now.week => Step::Boundary { previous: last.duty.clone() },
        Some(last) if last.version != now.version => Step::Changed,
        _ => Step::Nothing,
    }
}

/// The hand-off line at the start of the week `week`: who is on duty now (their nick, when
/// known, to highlight them) and until when, and who was.
pub fn handoff_line(
    rule: &WeekRule,
    week: NaiveDate,
    previous: &Duty,
    now: &Duty,
    people: &[Person],
) -> Option<String> {
    let until = rule.boundary(week + Days::days(7)).with_timezone(&rule.tz).format("%a %Y-%m-%d %H:%M %Z");
    let on_duty = |who: &str| {
        let parts: Vec<String> = [
            nick_of(people, who).map(str::to_string),
            now.backup.as_ref().map(|b| format!("backup {b}")),
            now.team.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            who.to_string()
        } else {
            format!("{who} ({})", parts.join("; "))
        }
    };
    Some(match (&now.clinician, &previous.clinician) {
        (Some(who), Some(was)) if who == was => {
            format!("SRE Clinic Duty: {} stays on duty until {until}.", on_duty(who))
        }
        (Some(who), Some(was)) => format!("SRE Clinic Duty: now {} until {until}, was {was}.", on_duty(who)),
        (Some(who), None) => format!("SRE Clinic Duty: now {} until {until}.", on_duty(who)),
        (None, Some(was)) => format!("SRE Clinic Duty: no clinic duty this week (until {until}), was {was}."),
        (None, None) => return None,
    })
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
    store: Store,
    client: Client,
    rule: WeekRule,
    keeper: Keeper,
    /// The last look at the schedule.
    seen: Option<Seen>,
    timers: HashMap<(String, Timer), Instant>,
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

    /// The week now, its duty (an unscheduled week reads as no duty), the schedule's
    /// fingerprint and who is who on IRC; `None` when the store cannot answer.
    async fn current(&self) -> Option<(Seen, Vec<Person>)> {
        let week = self.rule.week_of(self.config.clock.now());
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

    async fn on_event(&mut self, event: TopicEvent) {
        match &event {
            TopicEvent::Disconnected => {
                self.keeper.disconnected();
                self.timers.clear();
                return;
            }
            // Only ChanServ's answers matter here; spare the store everyone else's notices.
            TopicEvent::Notice { from, .. } if !crate::irc::casefold_eq(from, CHANSERV) => return,
            _ => {}
        }
        let Some((Seen { duty, .. }, _)) = self.current().await else { return };
        let len = self.topic_len();
        let acts = match event {
            TopicEvent::Joined { channel, topic, opped } => self.keeper.joined(&channel, &topic, opped, &duty, len),
            TopicEvent::Topic { channel, topic } => {
                self.keeper.topic_seen(&channel, &topic);
                vec![]
            }
            TopicEvent::Opped { channel, opped } => self.keeper.opped(&channel, opped, &duty, len),
            TopicEvent::Refused { channel, retry_later } => self.keeper.refused(&channel, retry_later, &duty, len),
            TopicEvent::Notice { from, text } => self.keeper.notice(&from, &text, &duty, len),
            TopicEvent::Disconnected => vec![],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn duty(c: &str, b: Option<&str>, t: Option<&str>) -> Duty {
        Duty { clinician: Some(c.into()), backup: b.map(Into::into), team: t.map(Into::into) }
    }

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().unwrap()
    }

    fn berlin() -> WeekRule {
        WeekRule::parse("Europe/Berlin", "monday", "09:30").unwrap()
    }

    fn seen(rule: &WeekRule, at: &str, who: &str, version: &str) -> Seen {
        Seen { week: rule.week_of(utc(at)), duty: duty(who, None, None), version: version.into() }
    }

    #[test]
    fn a_boundary_at_the_handoff_time_in_the_teams_timezone() {
        let r = berlin();
        // Monday 2026-06-15, 09:30 CEST is 07:30 UTC.
        let before = seen(&r, "2026-06-15T07:29:59Z", "Alice", "v1");
        assert_eq!(step(None, &before), Step::Nothing, "the first look: the join writes the topic");
        let still = seen(&r, "2026-06-15T06:00:00Z", "Alice", "v1");
        assert_eq!(step(Some(&before), &still), Step::Nothing);
        // Midnight local (and UTC) is not the boundary.
        let midnight = seen(&r, "2026-06-14T22:00:00Z", "Alice", "v1");
        assert_eq!(midnight.week, before.week);
        let after = seen(&r, "2026-06-15T07:30:00Z", "Bob", "v1");
        assert_eq!(step(Some(&before), &after), Step::Boundary { previous: duty("Alice", None, None) });
        // Once: the next look compares with `after`.
        let later = seen(&r, "2026-06-15T07:30:01Z", "Bob", "v1");
        assert_eq!(step(Some(&after), &later), Step::Nothing);
        // In winter (CET) the same handoff is an hour later in UTC.
        let winter = seen(&r, "2026-12-14T08:29:59Z", "Alice", "v1");
        assert_eq!(
            step(Some(&winter), &seen(&r, "2026-12-14T08:30:00Z", "Bob", "v1")),
            Step::Boundary { previous: duty("Alice", None, None) }
        );
    }

    #[test]
    fn a_schedule_change_is_one_update() {
        let r = berlin();
        let first = seen(&r, "2026-06-16T12:00:00Z", "Alice", "v1");
        let changed = seen(&r, "2026-06-16T12:00:01Z", "Carol", "v2");
        assert_eq!(step(Some(&first), &changed), Step::Changed);
        assert_eq!(step(Some(&changed), &seen(&r, "2026-06-16T12:00:02Z", "Carol", "v2")), Step::Nothing);
        // A change and a boundary at once: the boundary (which also rewrites the topic).
        let next_week = seen(&r, "2026-06-22T07:30:00Z", "Dan", "v3");
        assert_eq!(step(Some(&changed), &next_week), Step::Boundary { previous: duty("Carol", None, None) });
    }

    #[test]
    fn the_handoff_line() {
        let r = berlin();
        let week: NaiveDate = "2021-09-13".parse().unwrap();
        let cathal = duty("Cathal Mooney", Some("Arzhel Younsi"), Some("SRE-Infrastructure Foundations"));
        let alex = duty("Alexandros Kosiaris", None, Some("SRE-Service Operations"));
        let people = [Person { name: "cathal mooney".into(), nick: "topranks".into(), account: None }];
        assert_eq!(
            handoff_line(&r, week, &alex, &cathal, &people).unwrap(),
            "SRE Clinic Duty: now Cathal Mooney (topranks; backup Arzhel Younsi; SRE-Infrastructure Foundations) \
             until Mon 2021-09-20 09:30 CEST, was Alexandros Kosiaris."
        );
        assert_eq!(
            handoff_line(&r, week, &cathal, &alex, &people).unwrap(),
            "SRE Clinic Duty: now Alexandros Kosiaris (SRE-Service Operations) until Mon 2021-09-20 09:30 CEST, \
             was Cathal Mooney."
        );
        assert_eq!(
            handoff_line(&r, week, &cathal, &duty("Cathal Mooney", None, None), &people).unwrap(),
            "SRE Clinic Duty: Cathal Mooney (topranks) stays on duty until Mon 2021-09-20 09:30 CEST."
        );
        assert_eq!(
            handoff_line(&r, week, &Duty::default(), &duty("Jane Doe", None, None), &[]).unwrap(),
            "SRE Clinic Duty: now Jane Doe until Mon 2021-09-20 09:30 CEST."
        );
        assert_eq!(
            handoff_line(&r, week, &alex, &Duty::default(), &people).unwrap(),
            "SRE Clinic Duty: no clinic duty this week (until Mon 2021-09-20 09:30 CEST), was Alexandros Kosiaris."
        );
        assert_eq!(handoff_line(&r, week, &Duty::default(), &Duty::default(), &people), None);
    }
}
