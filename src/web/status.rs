//! The status page for users (`/status`), its Atom feed (`/atom/status`) and JSON
//! (`/api/v1/status`): open public incidents with their state and latest public update
//! (`!incident update`), and those resolved in the last 7 days. Security-channel incidents are
//! never read (`store::incident::status` selects public ones only), so not even their existence
//! shows.

use super::html::{escape, linkify, page};
use super::{json_error, unavailable, Shared, Web};
use crate::incident::model::{Event, Incident};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::Duration;
use serde_json::json;
use std::fmt::Write;

/// How long a resolved incident stays on the page.
const RESOLVED_DAYS: i64 = 7;

type Listed = Vec<(Incident, Option<Event>)>;

async fn read(web: &Web) -> Result<Listed, String> {
    let since = web.clock.now() - Duration::days(RESOLVED_DAYS);
    let list = web.pool.read(move |c| crate::store::incident::status(c, since)).await?;
    Ok(list.into_iter().filter(|(i, _)| !i.private).collect())
}

pub(super) async fn status_page(State(web): Shared) -> Response {
    let list = match read(&web).await {
        Ok(l) => l,
        Err(e) => return unavailable(e),
    };
    let (open, resolved): (Listed, Listed) = list.into_iter().partition(|(i, _)| i.state.is_open());
    let mut body = String::new();
    if open.is_empty() {
        body.push_str("<p><strong>All systems operational:</strong> no open incidents.</p>");
    } else {
        body.push_str("<h2>Open incidents</h2>");
    }
    let section = |body: &mut String, (i, update): &(Incident, Option<Event>)| {
        let _ = write!(
            body,
            "<section class=\"incident\"><h3><a href=\"/incidents/{n}\">#{n}</a> {}</h3><p><strong>{}</strong> \
             · opened <time>{} UTC</time>{}</p>",
            escape(&web.public(&i.summary)),
            i.state,
            i.opened_at.format("%Y-%m-%d %H:%M"),
            i.resolved_at
                .map(|t| format!(" · resolved <time>{} UTC</time>", t.format("%Y-%m-%d %H:%M")))
                .unwrap_or_default(),
            n = i.number
        );
        match update {
            Some(u) => {
                let _ = write!(
                    body,
                    "<p class=\"update\"><time>{} UTC</time> {}</p>",
                    u.at.format("%Y-%m-%d %H:%M"),
                    linkify(&web.public(&u.text), &web.links)
                );
            }
            None => body.push_str("<p class=\"muted\">No public update yet.</p>"),
        }
        body.push_str("</section>");
    };
    for entry in &open {
        section(&mut body, entry);
    }
    if !resolved.is_empty() {
        let _ = write!(body, "<h2>Resolved in the last {RESOLVED_DAYS} days</h2>");
        for entry in &resolved {
            section(&mut body, entry);
        }
    }
    body.push_str(
        "<p class=\"muted\"><a href=\"/atom/status\">Atom feed</a> · <a href=\"/api/v1/status\">JSON</a></p>",
    );
    Html(page("Status", &body)).into_response()
}

pub(super) async fn atom_status(State(web): Shared) -> Response {
    let list = match read(&web).await {
        Ok(l) => l,
        Err(e) => return unavailable(e),
    };
    let updated = list.iter().filter_map(|(_, u)| u.as_ref().map(|u| u.at)).max();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>Status</title>\n\
         <id>{url}</id>\n<link rel=\"self\" href=\"{url}\"/>\n<link href=\"{}\"/>\n<updated>{}</updated>\n",
        escape(&web.url("/status")),
        updated.map(|t| t.to_rfc3339()).unwrap_or_else(|| "1970-01-01T00:00:00Z".into()),
        url = escape(&web.url("/atom/status"))
    );
    // One entry per incident, at its latest update: a reader sees the incident change.
    for (i, update) in &list {
        let Some(u) = update else { continue };
        let text = web.public(&u.text);
        let _ = writeln!(
            xml,
            "<entry><id>{url}#update-{}</id><link href=\"{url}\"/><title>#{} {} ({})</title>\
             <updated>{}</updated><content type=\"text\">{}</content></entry>",
            u.id,
            i.number,
            escape(&web.public(&i.summary)),
            i.state,
            u.at.to_rfc3339(),
            escape(&text),
            url = escape(&web.url(&format!("/incidents/{}", i.number)))
        );
    }
    xml.push_str("</feed>\n");
    ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], xml).into_response()
}

pub(super) async fn api_status(State(web): Shared) -> Response {
    match read(&web).await {
        Ok(list) => {
            let incidents: Vec<_> = list
                .iter()
                .map(|(i, u)| {
                    let mut v = super::incident_json(&web, i);
                    v["latest_update"] =
                        json!(u.as_ref().map(|u| json!({ "at": u.at.to_rfc3339(), "text": web.public(&u.text) })));
                    v
                })
                .collect();
            Json(json!({ "incidents": incidents })).into_response()
        }
        Err(_) => json_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
