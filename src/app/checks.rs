//! `check-config`'s checks that belong to other modules, run after `config`'s own.

use crate::config::{self, Check, Config, Problem};
use std::path::Path;

/// Every check outside `config`, in the order `check-config` reports them.
const CHECKS: &[Check] = &[
    crate::alerts::config::validate,
    crate::irc_checks::problems,
    command_aliases,
    clinic_week,
    internal_networks,
    crate::ingest::validate,
    crate::publish::phorge::validate,
];

/// Reads a config file and runs every check. `Err` holds every problem found.
pub fn load_config(path: &Path) -> Result<Config, Vec<Problem>> {
    config::load(path, CHECKS)
}

/// Parses config text and runs every check. `Err` holds every problem found.
pub fn parse_config(raw: &str) -> Result<Config, Vec<Problem>> {
    config::parse_with(raw, CHECKS)
}

fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// `[commands.aliases]` must name commands.
fn command_aliases(c: &Config) -> Vec<(Vec<String>, String)> {
    let names = crate::cmd::NAMES;
    let unknown = c.commands.aliases.iter().filter(|(_, target)| !names.contains(&target.as_str()));
    unknown
        .map(|(alias, target)| {
            (key(&["commands", "aliases", alias]), format!("{target:?} is not a command ({})", names.join(", ")))
        })
        .collect()
}

/// `[clinic]`'s timezone, week start and hand-off time make a week rule.
fn clinic_week(c: &Config) -> Vec<(Vec<String>, String)> {
    let Err(e) = c.clinic.rule() else { return Vec::new() };
    let k = if e.contains("timezone") {
        "timezone"
    } else if e.contains("time") {
        "handoff_time"
    } else {
        "week_starts"
    };
    vec![(key(&["clinic", k]), e)]
}

/// `sal.internal_networks` are CIDR networks.
fn internal_networks(c: &Config) -> Vec<(Vec<String>, String)> {
    let nets = c.sal.internal_networks.iter().enumerate();
    nets.filter_map(|(i, net)| {
        let e = crate::privacy::Networks::parse(std::slice::from_ref(net)).err()?;
        Some((key(&["sal", "internal_networks", &i.to_string()]), e))
    })
    .collect()
}
