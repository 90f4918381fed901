//! The status notice on the wiki (`[publish.mediawiki] status_page`): a short block at the top
//! of the page, one line per open public incident with its state and latest public update,
//! replaced in place on every change and gone once no incident is open.
//!
//! It goes through the SAL's outbox (sink [`STATUS_SINK`]): an update, a state change, a close
//! or a reopen of a public incident queues a row in its own transaction; the publisher then
//! renders the block from the incidents' *current* state, so any number of rows make one edit,
//! a retry after an outage posts the block once, and a security incident is never read at all.

use super::mediawiki::{Wiki, WikiError};
use super::wikitext::escape_message;
use crate::incident::model::State;
use crate::privacy::Privacy;
use crate::store::incident::{self as db, STATUS_SINK};
use crate::store::{sal, Store};
use chrono::{DateTime, Utc};
use rusqlite::Connection;

const START: &str = "<!-- srebot:status -->";
const END: &str = "<!-- /srebot:status -->";

/// One line of the notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub number: i64,
    pub summary: String,
    pub state: State,
    pub at: DateTime<Utc>,
    /// The latest public update, IPs already masked.
    pub update: String,
}

/// The notices due now: open public incidents that have had a public update.
pub(crate) fn notices(conn: &Connection, privacy: &Privacy, now: DateTime<Utc>) -> rusqlite::Result<Vec<Notice>> {
    Ok(db::status(conn, now)?
        .into_iter()
        .filter(|(i, _)| !i.private && i.state.is_open())
        .filter_map(|(i, update)| {
            let u = update?;
            Some(Notice {
                number: i.number,
                summary: privacy.text(&i.summary).into_owned(),
                state: i.state,
                at: u.at,
                update: privacy.text(&u.text).into_owned(),
            })
        })
        .collect())
}

/// The page with its notice block replaced by one for `notices` (removed when there are none).
/// What people wrote outside the block is kept as it is. Pure.
pub fn render_page(existing: &str, notices: &[Notice]) -> String {
    let rest = match (existing.find(START), existing.find(END)) {
        (Some(s), Some(e)) if s < e => {
            format!("{}{}", &existing[..s], existing[e + END.len()..].trim_start_matches('\n'))
        }
        _ => existing.to_string(),
    };
    let rest = rest.trim_end();
    if notices.is_empty() {
        return rest.to_string();
    }
    let mut block = format!("{START}\n<div class=\"srebot-status\">\n");
    for n in notices {
        block.push_str(&format!(
            "* '''Incident #{}: {}''' ({}) — {} UTC: {}\n",
            n.number,
            escape_message(&n.summary),
            n.state,
            n.at.format("%Y-%m-%d %H:%M"),
            escape_message(&n.update)
        ));
    }
    block.push_str("</div>\n");
    block.push_str(END);
    if rest.is_empty() {
        block
    } else {
        format!("{block}\n{rest}")
    }
}

/// How many times [`apply`] re-reads after a conflict before this attempt gives up.
const MAX_ROUNDS: usize = 6;

/// Makes the page's notice say `notices`, editing only when it does not already.
pub fn apply(wiki: &mut Wiki, title: &str, notices: &[Notice]) -> Result<(), WikiError> {
    if !wiki.logged_in() {
        wiki.login()?;
    }
    let summary = match notices.len() {
        0 => "srebot: no incident open".to_string(),
        n => format!("srebot: status of {n} open incident{}", if n == 1 { "" } else { "s" }),
    };
    for _ in 0..MAX_ROUNDS {
        let page = wiki.read(title)?;
        let text = render_page(&page.content, notices);
        if text == page.content.trim_end() || (text.is_empty() && page.revid.is_none()) {
            return Ok(());
        }
        match wiki.edit(title, &text, &page, &summary) {
            Ok(_) => return Ok(()),
            // Someone saved in between: read theirs and put the block on top of it.
            Err(WikiError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(WikiError::Protocol(format!("the page kept changing; gave up after {MAX_ROUNDS} rounds")))
}

/// One turn of the publisher for the notice: when rows are due, one edit for all of them, then
/// the rows marked done, or failed with the next try after `delay`.
pub(super) async fn step(
    store: &Store,
    wiki: &mut Option<Wiki>,
    title: &str,
    privacy: &Privacy,
    delay: impl Fn(u32) -> chrono::Duration + Send + 'static,
) {
    let now = Utc::now();
    let privacy = privacy.clone();
    let work = store
        .call(move |conn| {
            let rows = sal::due(conn, STATUS_SINK, now, usize::MAX)?;
            let notices = if rows.is_empty() { Vec::new() } else { notices(conn, &privacy, now)? };
            Ok((rows.into_iter().map(|r| r.id).collect::<Vec<i64>>(), notices))
        })
        .await;
    let (ids, notices) = match work {
        Ok((ids, _)) if ids.is_empty() => return,
        Ok(work) => work,
        Err(e) => return tracing::warn!(error = %e, "publisher: cannot read the status outbox"),
    };
    let Some(mut w) = wiki.take() else { return };
    let title = title.to_string();
    let job = tokio::task::spawn_blocking(move || {
        let result = apply(&mut w, &title, &notices);
        (w, result)
    });
    let result = match job.await {
        Ok((w, result)) => {
            *wiki = Some(w);
            result
        }
        Err(e) => return tracing::error!(error = %e, "publisher: the status notice job failed"),
    };
    let at = Utc::now();
    let recorded = match result {
        Ok(()) => {
            tracing::info!(rows = ids.len(), "status notice published to the wiki");
            store.call(move |conn| sal::mark_done(conn, &ids, at)).await
        }
        Err(e) => {
            let why = e.to_string();
            tracing::warn!(error = %why, "publishing the status notice failed; will retry");
            store.call(move |conn| sal::mark_failed(conn, &ids, at, &why, delay)).await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(error = %e, "publisher: cannot record the status notice's outcome (it will be retried)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(number: i64, update: &str) -> Notice {
        Notice {
            number,
            summary: "Wikis down".into(),
            state: State::Identified,
            at: "2026-12-03T10:05:00Z".parse().unwrap(),
            update: update.into(),
        }
    }

    #[test]
    fn the_block_goes_on_top_is_replaced_in_place_and_removed() {
        let people = "Status of our services.\n\n== History ==";
        let one = render_page(people, &[notice(1, "We are looking into it.")]);
        assert_eq!(
            one,
            "<!-- srebot:status -->\n<div class=\"srebot-status\">\n* '''Incident #1: Wikis down''' (identified) — \
             2026-12-03 10:05 UTC: We are looking into it.\n</div>\n<!-- /srebot:status -->\n\
             Status of our services.\n\n== History =="
        );
        let two = render_page(&one, &[notice(1, "Fixed, watching."), notice(2, "Slow edits.")]);
        assert_eq!(two.matches(START).count(), 1, "replaced, not added:\n{two}");
        assert!(two.contains("Fixed, watching.") && two.contains("#2") && !two.contains("looking into"));
        assert!(two.ends_with(people));
        assert_eq!(render_page(&two, &[]), people, "gone when nothing is open");
        assert_eq!(render_page(&render_page("", &[notice(1, "x")]), &[]), "");
    }

    #[test]
    fn hostile_text_stays_inert() {
        let page = render_page("", &[notice(1, "{{Delete}} <!-- [[Category:X]] | ~~~~\n== Heading ==")]);
        let line = page.lines().find(|l| l.starts_with("* ")).unwrap();
        for bad in ["{{", "<!--", "[[Category", "~~~~"] {
            assert!(!line.contains(bad), "{bad} in {line}");
        }
        assert_eq!(page.lines().filter(|l| l.starts_with("==")).count(), 0, "{page}");
        assert_eq!(page.matches(END).count(), 1);
    }
}
