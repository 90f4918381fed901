//! `!help [command]`: one or two short lines.

use super::{Context, Reply};

pub fn run(topic: Option<&str>, ctx: &Context<'_>) -> Vec<Reply> {
    let p = &ctx.config.commands.prefix;
    let text = match topic.map(|t| ctx.config.commands.aliases.get(t).map(String::as_str).unwrap_or(t)) {
        None => format!(
            "srebot keeps the team's memory: {p}log <message> (Server Admin Log), {p}sal (query it), \
             {p}incident (open, roles, status, report), {p}clinic (who is on duty), {p}access (who may log; admins). \
             {p}help <command> for details."
        ),
        Some("log") => format!(
            "{p}log <message>: record an action in the Server Admin Log (identified, listed accounts only); \
             {p}log undo [#id] takes back your latest entry ({p}sal restore #id brings it back). Task ids like \
             T123456 are indexed."
        ),
        Some("sal") => super::sal::USAGE.to_string(),
        Some("incident") => super::incident::USAGE.to_string(),
        Some("clinic") => super::clinic::USAGE.to_string(),
        Some("access") => super::access::USAGE.to_string(),
        Some("alerts" | "silence") => super::alerts::USAGE.to_string(),
        Some("help") => format!("{p}help [command]: this help. Commands: {}.", super::NAMES.join(", ")),
        Some(other) => {
            format!("No help for {:?}. Commands: {}.", crate::text::truncate_bytes(other, 30), super::NAMES.join(", "))
        }
    };
    vec![ctx.reply(text)]
}
