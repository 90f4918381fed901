//! `!help [command]`: one or two short lines.

use super::{Context, Reply};

pub fn run(topic: Option<&str>, ctx: &Context<'_>) -> Vec<Reply> {
    let p = &ctx.config.commands.prefix;
    let text = match topic {
        None => format!("srebot keeps the Server Admin Log. {p}log <message> records who did what, when, where. {p}help log for details."),
        Some("log") => format!(
            "{p}log <message>: record an action in the Server Admin Log (identified, listed accounts only). \
             Task ids like T123456 are indexed. Say it in the channel the work belongs to."
        ),
        Some("help") => format!("{p}help [command]: this help. Commands: log, help."),
        Some(other) => format!("No help for {:?}. Commands: log, help.", crate::text::truncate_bytes(other, 30)),
    };
    vec![ctx.reply(text)]
}
