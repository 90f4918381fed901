//! Who made a change, for every table that records one.

use chrono::{DateTime, Utc};

/// Who is doing what, at what time: recorded with every SAL correction and incident event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub at: DateTime<Utc>,
    pub nick: String,
    /// The services account; `None` when not identified (a `!log` may come from someone who is
    /// not, and then lands on incident timelines too). Incident changes other than those always
    /// have one.
    pub account: Option<String>,
}
