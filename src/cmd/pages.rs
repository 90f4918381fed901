//! `!clinic pages [YYYY-MM-DD]`: the "pages for awareness" of a duty week, in one line, with
//! where to get it as wikitext or Markdown. In a security channel it counts that channel's
//! alerts; everywhere else the public ones only.

use super::{Context, Reply};
use crate::alerts::pages;
use crate::clinic::week::WeekRule;
use crate::store::Store;
use chrono::NaiveDate;

pub async fn run(week: Option<NaiveDate>, ctx: &Context<'_>, store: &Store, rule: &WeekRule) -> Vec<Reply> {
    let security = ctx.origin.security_channel().map(|c| c.as_str());
    let channel = security.map(String::from);
    let day = week.unwrap_or_else(|| ctx.clock.now().date_naive());
    let paging = ctx.config.alerts.as_ref().map(|a| a.paging_severities.clone()).unwrap_or_default();
    let rule = rule.clone();
    let found = store.call(move |c| pages::read(c, &rule, day, channel.as_deref(), &paging)).await;
    let (week, groups) = match found {
        Ok(f) => f,
        Err(e) => return vec![ctx.reply(format!("Pages unavailable: {e}"))],
    };
    let line = crate::text::truncate_bytes(&pages::irc_line(week, &groups), 350);
    let copy = match (security, &ctx.config.web.base_url) {
        (Some(chan), _) => format!("As wikitext: srebot alerts pages --week {week} --channel '{chan}'"),
        (None, Some(base)) => format!("As wikitext or Markdown: {}/pages?week={week}", base.trim_end_matches('/')),
        (None, None) => format!("As wikitext: srebot alerts pages --week {week}"),
    };
    vec![ctx.reply(line), ctx.reply(copy)]
}
