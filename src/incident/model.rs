//! The incident data model shared by the store, the commands and the report renderer.

use chrono::{DateTime, Utc};
use std::fmt;

/// Where an incident stands. `Resolved` means impact ended; `Closed` means the work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Investigating => "investigating",
            State::Identified => "identified",
            State::Monitoring => "monitoring",
            State::Resolved => "resolved",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s.to_ascii_lowercase().as_str() {
            "investigating" => State::Investigating,
            "identified" => State::Identified,
            "monitoring" => State::Monitoring,
            "resolved" => State::Resolved,
            "closed" => State::Closed,
            _ => return None,
        })
    }

    /// Open means someone is still working on it (not resolved and not closed).
    pub fn is_open(self) -> bool {
        !matches!(self, State::Resolved | State::Closed)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two roles of the incident process (incident-response.md): the communicator answers
/// users; primary diagnosis restores service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Comms,
    Diagnosis,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Comms => "comms",
            Role::Diagnosis => "diagnosis",
        }
    }

    /// Human title, as the team's documents say it.
    pub fn title(self) -> &'static str {
        match self {
            Role::Comms => "communicator",
            Role::Diagnosis => "primary diagnosis",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "comms" | "communication" | "communicator" | "comm" => Some(Role::Comms),
            "diagnosis" | "diag" | "primary" => Some(Role::Diagnosis),
            _ => None,
        }
    }
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The internal key (other tables refer to it); never shown, since it counts every scope.
    pub id: i64,
    /// What people see and type: its number within its scope (see [`super::scope`]).
    pub number: i64,
    pub channel: String,
    /// Opened in a security channel: never shown anywhere else.
    pub private: bool,
    pub summary: String,
    pub state: State,
    pub opened_at: DateTime<Utc>,
    /// Services account of the opener.
    pub opened_by: String,
    /// When impact ended (first `resolved`), if it has.
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Summary given at close, if any.
    pub close_summary: Option<String>,
    pub user_facing: bool,
    pub data_loss: bool,
    pub report_url: Option<String>,
    /// Time of the last public update, or of the opening or reopening (for the reminder).
    pub last_update_at: DateTime<Utc>,
}

impl Incident {
    /// Why the team's rules require a report, or `None` when none is required.
    /// (incident-response.md: user-facing outage, data loss, any security incident.)
    pub fn report_reasons(&self) -> Vec<&'static str> {
        let mut r = Vec::new();
        if self.user_facing {
            r.push("user-facing outage");
        }
        if self.data_loss {
            r.push("data loss");
        }
        if self.private {
            r.push("security incident");
        }
        r
    }

    /// When it was closed, if it is closed now: a reopened incident may keep a stale
    /// `closed_at`, and a closed one missing it falls back to its last update (closing is one).
    /// A closed incident's clocks stop here.
    pub fn closed(&self) -> Option<DateTime<Utc>> {
        (self.state == State::Closed).then(|| self.closed_at.unwrap_or(self.last_update_at))
    }
}

#[cfg(test)]
impl Incident {
    /// A public incident opened at `opened_at` by alice in #miraheze-sre, not yet resolved.
    pub(crate) fn sample(number: i64, summary: &str, opened_at: DateTime<Utc>) -> Incident {
        Incident {
            id: 7000 + number,
            number,
            channel: "#miraheze-sre".into(),
            private: false,
            summary: summary.into(),
            state: State::Investigating,
            opened_at,
            opened_by: "alice".into(),
            resolved_at: None,
            closed_at: None,
            close_summary: None,
            user_facing: false,
            data_loss: false,
            report_url: None,
            last_update_at: opened_at,
        }
    }
}

/// One holder of one role for a span of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenure {
    pub role: Role,
    pub account: String,
    /// The nick they had when they took the role (for display).
    pub nick: String,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
    /// Account that handed the role over, when it was a hand-off rather than a claim.
    pub handed_by: Option<String>,
}

/// What kind of timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Opened,
    /// A state change (`from` → `to`).
    State {
        from: State,
        to: State,
    },
    Note,
    /// A `!log` made in the channel while the incident was open.
    Log {
        sal_id: i64,
    },
    /// A role changed hands.
    Role {
        role: Role,
        from: Option<String>,
        to: String,
    },
    Impact,
    /// An event reported after the fact (`!incident at`).
    Backdated,
    Snooze,
    Closed,
    Reopened,
    ReportFiled,
    /// A public status update by the communicator (`!incident update`).
    Update,
}

impl EventKind {
    /// The kind's name where it is read by programs (`/api/v1/incidents/<n>`).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::State { .. } => "status",
            EventKind::Note => "note",
            EventKind::Log { .. } => "log",
            EventKind::Role { .. } => "role",
            EventKind::Impact => "impact",
            EventKind::Backdated => "at",
            EventKind::Snooze => "snooze",
            EventKind::Closed => "closed",
            EventKind::Reopened => "reopened",
            EventKind::ReportFiled => "report_filed",
            EventKind::Update => "update",
        }
    }
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    /// When it happened (for backdated events, the corrected time).
    pub at: DateTime<Utc>,
    /// When the bot recorded it (differs from `at` only for backdated events).
    pub recorded_at: DateTime<Utc>,
    pub kind: EventKind,
    /// Nick of who did it (or the attributed nick of a `!log`).
    pub actor: String,
    /// Free text: the note, the log message, the status note, the backdated event's text.
    pub text: String,
}

impl Event {
    pub fn is_backdated(&self) -> bool {
        self.kind == EventKind::Backdated
    }
}

/// Everything the report needs, read in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub incident: Incident,
    pub tenures: Vec<Tenure>,
    /// Ordered by `at`, then `id`.
    pub timeline: Vec<Event>,
    /// Monitoring alerts linked to the incident, by start.
    pub alerts: Vec<LinkedAlert>,
}

/// An alert that joined the incident (routed to its channel while open, or named at opening).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedAlert {
    pub id: i64,
    /// `MediaWikiDown mw151: returns 503`.
    pub text: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}
