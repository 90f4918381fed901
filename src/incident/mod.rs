//! Incidents: the team's incident process (incident-response.md) made executable.

pub mod model;
pub mod report;
