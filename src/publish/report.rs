//! An incident's report draft as its own wiki page (`!incident report publish`): created once,
//! updated in place while srebot is its only author, and left alone as soon as people have
//! edited it (their words win over a regenerated draft).
//!
//! Blocking (the Action API client is): the command runs it on tokio's blocking pool.

use super::mediawiki::{Page, Wiki, WikiError};
use crate::incident::model::Incident;

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The page was created, or updated from srebot's own last revision: this is its revision
    /// now (the same one when the text had not changed).
    Saved { revid: u64, created: bool },
    /// People edited the page after srebot's last revision: left as it is.
    EditedByPeople,
    /// A page of that title exists and srebot never wrote it: left alone.
    Taken,
    /// srebot wrote it once, and it has been deleted since: not recreated behind people's back.
    Deleted,
}

/// The page title: `<prefix><opening day> <summary>`, e.g. `Tech:Incidents/2026-12-03 Wiki farm
/// returns 503`. Characters a title may not hold are dropped, and the length kept well inside
/// MediaWiki's 255 bytes.
pub fn title(prefix: &str, i: &Incident) -> String {
    let cleaned: String = i
        .summary
        .chars()
        .map(|c| if c.is_control() || "#<>[]{}|_".contains(c) { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let summary = crate::text::truncate_bytes(&cleaned, 150).trim_end_matches(['.', ' ', '…', '/', ':']).to_string();
    let summary = if summary.is_empty() { format!("Incident {}", i.number) } else { summary };
    format!("{prefix}{} {summary}", i.opened_at.format("%Y-%m-%d"))
}

/// The page's address for people, from the wiki's `api.php` address.
pub fn page_url(api_url: &str, title: &str) -> String {
    let base = api_url.strip_suffix("api.php").unwrap_or(api_url);
    format!("{base}index.php?title={}", crate::web::html::url_encode(&title.replace(' ', "_")))
}

/// Creates or updates the page `title` with `text`. `last_saved` is the revision srebot saved
/// there last time, if any: any other latest revision is someone else's work.
pub fn publish(
    wiki: &mut Wiki,
    title: &str,
    last_saved: Option<u64>,
    text: &str,
    summary: &str,
) -> Result<Published, WikiError> {
    if !wiki.logged_in() {
        wiki.login()?;
    }
    let page = wiki.read(title)?;
    match (last_saved, page.revid) {
        (None, Some(_)) => Ok(Published::Taken),
        (Some(_), None) => Ok(Published::Deleted),
        (Some(ours), Some(latest)) if ours != latest => Ok(Published::EditedByPeople),
        (Some(ours), Some(_)) => match wiki.edit(title, text, &page, summary) {
            Ok(revid) => Ok(Published::Saved { revid: revid.unwrap_or(ours), created: false }),
            // Someone saved between our read and our edit: theirs stays.
            Err(WikiError::Conflict) => Ok(Published::EditedByPeople),
            Err(e) => Err(e),
        },
        (None, None) => match wiki.edit(title, text, &Page::default(), summary) {
            Ok(Some(revid)) => Ok(Published::Saved { revid, created: true }),
            Ok(None) => Err(WikiError::Protocol("no revision for a new page".into())),
            Err(WikiError::Conflict) => Ok(Published::Taken),
            Err(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(summary: &str) -> Incident {
        let at = "2026-12-03T10:00:00Z".parse().unwrap();
        Incident {
            id: 7,
            number: 3,
            channel: "#sre".into(),
            private: false,
            summary: summary.into(),
            state: crate::incident::model::State::Resolved,
            opened_at: at,
            opened_by: "alice".into(),
            resolved_at: Some(at),
            closed_at: None,
            close_summary: None,
            user_facing: true,
            data_loss: false,
            report_url: None,
            last_update_at: at,
        }
    }

    #[test]
    fn titles_are_valid_and_dated() {
        let p = "Tech:Incidents/";
        assert_eq!(title(p, &incident("Wiki farm returns 503")), "Tech:Incidents/2026-12-03 Wiki farm returns 503");
        assert_eq!(title(p, &incident("a [[link]] | {{tpl}} #x\u{1}")), "Tech:Incidents/2026-12-03 a link tpl x");
        assert_eq!(title(p, &incident("  ### ")), "Tech:Incidents/2026-12-03 Incident 3");
        assert!(title(p, &incident(&"é".repeat(500))).len() < 200);
    }

    #[test]
    fn urls_point_at_index_php() {
        assert_eq!(
            page_url("https://wiki.example.org/w/api.php", "Tech:Incidents/2026-12-03 Down"),
            "https://wiki.example.org/w/index.php?title=Tech%3AIncidents%2F2026-12-03_Down"
        );
    }
}
