//! The incident reminder task: on a tick, reminds communicators of quiet incidents and mentions
//! missing reports (what is due is `cmd::incident::reminders`'s to say).

use crate::clock::Clock;
use crate::cmd;
use crate::config::Config;
use crate::irc::Client;
use crate::live::LiveConfig;
use crate::store::Store;
use std::time::Duration;
use tokio::sync::oneshot;

/// Looks for due reminders on every tick until `stop` fires; a reminder being sent is finished
/// first. The tick follows a reload's `[incidents] update_reminder_minutes`.
pub(super) async fn run(live: LiveConfig, store: Store, client: Client, clock: Clock, mut stop: oneshot::Receiver<()>) {
    let mut config = live.get();
    let mut changes = live.changes();
    let mut ticks = ticks(&config);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            Ok(()) = changes.changed() => {
                let next = changes.borrow_and_update().clone();
                if tick(&next) != tick(&config) {
                    ticks = self::ticks(&next);
                }
                config = next;
            }
            _ = ticks.tick() => remind(&config, &store, &client, clock.now()).await,
        }
    }
}

fn ticks(config: &Config) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval(tick(config));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

/// How often to look for due reminders: often enough for the configured interval, at most
/// every 30 s and at least every second.
fn tick(config: &Config) -> Duration {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tick_is_a_quarter_of_the_reminder_interval_between_one_and_thirty_seconds() {
        let with = |minutes: f64| {
            let mut config = crate::testing::config("");
            config.incidents.update_reminder_minutes = minutes;
            tick(&config)
        };
        assert_eq!(with(1.0), Duration::from_secs(15));
        assert_eq!(with(30.0), Duration::from_secs(30), "at most every 30 s");
        assert_eq!(with(0.01), Duration::from_secs(1), "at least every second");
    }
}
