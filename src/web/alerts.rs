//! The alert routes: the two receivers (POST) and `/pages`, the public "pages for awareness".

use super::{error_page, unavailable, Shared};
use crate::alerts::pages;
use crate::incident::report::Format;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, Request};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use std::net::SocketAddr;

fn peer(req: &Request) -> Option<ConnectInfo<SocketAddr>> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().cloned()
}

type Parts = (HeaderMap, Option<ConnectInfo<SocketAddr>>, Bytes);

async fn body_of(req: Request) -> Result<Parts, Box<Response>> {
    let (peer, headers) = (peer(&req), req.headers().clone());
    // Alertmanager's payloads stay far below this; a bigger body is refused with 413.
    match axum::body::to_bytes(req.into_body(), 8 << 20).await {
        Ok(b) => Ok((headers, peer, b)),
        Err(_) => Err(Box::new(super::json_error(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "the body is too large or was cut off",
        ))),
    }
}

pub(super) async fn alertmanager(axum::extract::State(web): Shared, req: Request) -> Response {
    let (headers, peer, body) = match body_of(req).await {
        Ok(parts) => parts,
        Err(answer) => return *answer,
    };
    crate::alerts::receive::take(&web.config, &web.clock, &web.store, web.alerts.as_ref(), &headers, peer, || {
        crate::alerts::parse_alertmanager(&body)
    })
    .await
}

pub(super) async fn generic(axum::extract::State(web): Shared, req: Request) -> Response {
    let (headers, peer, body) = match body_of(req).await {
        Ok(parts) => parts,
        Err(answer) => return *answer,
    };
    let now = web.clock.now();
    crate::alerts::receive::take(&web.config, &web.clock, &web.store, web.alerts.as_ref(), &headers, peer, || {
        crate::alerts::parse_generic(&body, now).map(|a| vec![a])
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PagesQuery {
    week: Option<String>,
    format: Option<String>,
}

/// `/pages[?week=YYYY-MM-DD][&format=wikitext|markdown]`: public alerts only.
pub(super) async fn pages_page(axum::extract::State(web): Shared, Query(q): Query<PagesQuery>) -> Response {
    let rule = match web.config.clinic.rule() {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let day = match q.week.as_deref().filter(|w| !w.is_empty()) {
        None => web.clock.now().date_naive(),
        Some(w) => match NaiveDate::parse_from_str(w, "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => return error_page(axum::http::StatusCode::BAD_REQUEST, "week must be a date: YYYY-MM-DD."),
        },
    };
    let paging = web.config.alerts.as_ref().map(|a| a.paging_severities.clone()).unwrap_or_default();
    let severities = paging.clone();
    let (week, mut groups) = match web.pool.read(move |c| pages::read(c, &rule, day, None, &severities)).await {
        Ok(found) => found,
        Err(e) => return unavailable(e),
    };
    for g in &mut groups {
        for h in &mut g.hosts {
            *h = web.public(h);
        }
    }
    match q.format.as_deref().map(Format::parse) {
        Some(Some(format)) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], pages::render(week, &groups, format))
                .into_response()
        }
        Some(None) => error_page(axum::http::StatusCode::BAD_REQUEST, "format must be wikitext or markdown."),
        None => {
            let body = format!(
                "<p>Alerts that fired in the duty week of {week}{}. Copy as \
                 <a href=\"/pages?week={week}&amp;format=wikitext\">wikitext</a> or \
                 <a href=\"/pages?week={week}&amp;format=markdown\">Markdown</a>.</p><pre>{}</pre>",
                if paging.is_empty() { String::new() } else { format!(" (severities {})", paging.join(", ")) },
                super::html::escape(&pages::render(week, &groups, Format::Markdown))
            );
            Html(super::html::page("Pages for awareness", &body)).into_response()
        }
    }
}
