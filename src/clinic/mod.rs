//! SRE Clinic Duty: the weekly rotation of who triages the team's incoming requests
//! (clinic-duty.md), and the section of the channel topic that names them.
//!
//! These are the pure parts, with no IRC and no SQL: [`topic`] rewrites our section of a channel
//! topic within TOPICLEN, `week` says which duty week an instant falls in and when the next
//! one begins in the team's timezone, `handoff` says when a week boundary or a schedule
//! change is due and words the hand-off line, and [`import`] reads the schedule from CSV or from the
//! wiki table as people paste it, and writes it back as CSV.

pub(crate) mod handoff;
pub mod import;
pub mod keeper;
pub(crate) mod schedule;
pub mod topic;
pub(crate) mod week;
