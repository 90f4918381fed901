//! The bot's clock, which tests can set.
//!
//! Everything that depends on "now" rather than on a message's time (clinic-duty weeks, the
//! hand-off at a week boundary, incident reminders) asks the [`Clock`]. In production it is the
//! system clock. When the environment variable `SREBOT_CLOCK_FILE` names a file, the clock reads
//! an RFC 3339 time from that file on every call instead, so a test can put the bot at any
//! moment, and move it, without waiting.

use chrono::{DateTime, Utc};
use std::path::PathBuf;

pub const CLOCK_FILE_ENV: &str = "SREBOT_CLOCK_FILE";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    System,
    /// Reads the time from this file (falls back to the system clock while it is unreadable).
    File(PathBuf),
}

impl Clock {
    pub fn from_env() -> Clock {
        match std::env::var_os(CLOCK_FILE_ENV) {
            Some(path) => {
                tracing::warn!(file = ?path, "the clock is set by a file (a test hook), not the system");
                Clock::File(path.into())
            }
            None => Clock::System,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::File(path) => std::fs::read_to_string(path)
                .ok()
                .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(Utc::now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sets_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("now");
        let clock = Clock::File(path.clone());
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 5, "missing file: system time");
        std::fs::write(&path, "2026-03-29T00:30:00+01:00\n").unwrap();
        assert_eq!(clock.now(), "2026-03-28T23:30:00Z".parse::<DateTime<Utc>>().unwrap());
    }
}
