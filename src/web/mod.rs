//! The read-only web view: the Server Admin Log (firehose, per channel, search, permalinks,
//! Atom), public incidents with their report drafts, clinic duty, a JSON API, and `/metrics`
//! and `/healthz` for Prometheus and Icinga.
//!
//! Every page is rendered on the server from the database's public side: entries and incidents
//! of security channels and hidden (undone or redacted) entries are never read, and IP addresses
//! are masked in every text that leaves (`privacy::mask_ips`).

mod alerts;
pub(crate) mod db;
pub(crate) mod html;
mod ingest;
mod status;
mod timeline;

use crate::clock::Clock;
use crate::config::{ChannelRole, Config};
use crate::incident::model::{Record, Role};
use crate::incident::report::{self, human_duration, Format};
use crate::irc::Client;
use crate::privacy::Privacy;
use crate::store::Store;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use db::{Pool, SalFilter, SalRow};
use html::{escape, linkify, page, url_encode, Links};
use serde::Deserialize;
use serde_json::json;
use std::fmt::Write;
use std::sync::Arc;

/// Entries per page.
const PAGE: usize = 100;

pub struct Web {
    pub config: Arc<Config>,
    pub pool: Arc<Pool>,
    pub store: Store,
    pub client: Client,
    /// "Now" for the pages that show the current week or what is still open.
    pub clock: Clock,
    links: Links,
    privacy: Privacy,
    ingest: ingest::Ingest,
    /// Taking alerts (`[alerts]`); `None`: the alert endpoints refuse.
    alerts: Option<crate::alerts::receive::Receiver>,
}

impl Web {
    pub fn new(config: Arc<Config>, store: Store, client: Client, clock: Clock) -> Result<Arc<Web>, String> {
        let links = Links { task_url: config.web.task_url.clone(), commit_url: config.web.commit_url.clone() };
        let privacy = Privacy::from_config(&config.sal);
        let pool = Pool::new(config.storage.database.clone());
        let ingest = ingest::Ingest::new(&config)?;
        let alerts = crate::alerts::receive::Receiver::new(&config, client.clone())?;
        Ok(Arc::new(Web { config, pool, store, client, clock, links, privacy, ingest, alerts }))
    }

    /// Text fit for publishing: IP addresses masked unless in `[sal] internal_networks`.
    fn public(&self, text: &str) -> String {
        self.privacy.text(text).into_owned()
    }

    fn public_channels(&self) -> Vec<&str> {
        self.config.channels.iter().filter(|c| c.role == ChannelRole::Public).map(|c| c.name.as_str()).collect()
    }

    /// A configured public channel by name (with or without `#`), as configured.
    fn public_channel(&self, name: &str) -> Option<String> {
        let wanted = if name.starts_with(['#', '&']) { name.to_string() } else { format!("#{name}") };
        self.config.channel(&wanted).filter(|c| c.role == ChannelRole::Public).map(|c| c.name.to_string())
    }

    fn url(&self, path: &str) -> String {
        match &self.config.web.base_url {
            Some(base) => format!("{}{path}", base.trim_end_matches('/')),
            None => path.to_string(),
        }
    }
}

/// Serves until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, web: Arc<Web>) -> std::io::Result<()> {
    // The peer address is for `[[ingest.clients]] sources` and `[alerts] loopback_only`.
    axum::serve(listener, router(web).into_make_service_with_connect_info::<std::net::SocketAddr>()).await
}

/// Every path the web view serves, as the router matches it, with its handler. The router is
/// built from this list alone, and the privacy test visits every entry (each `{id}` and
/// `{channel}` filled in with every value there is), so no route can escape that scan.
pub const ROUTES: &[(&str, Handler)] = &[
    ("/", || get(sal_page)),
    ("/sal", || get(sal_page)),
    ("/sal/{id}", || get(sal_permalink)),
    ("/incidents", || get(incidents_page)),
    ("/incidents/{id}", || get(incident_page)),
    ("/incidents/{id}/report.md", || get(report_markdown)),
    ("/incidents/{id}/report.wiki", || get(report_wikitext)),
    ("/clinic", || get(clinic_page)),
    ("/status", || get(status::status_page)),
    ("/atom/status", || get(status::atom_status)),
    ("/api/v1/status", || get(status::api_status)),
    ("/atom/sal", || get(atom_all)),
    ("/atom/sal/{channel}", || get(atom_channel)),
    ("/api/v1/sal", || get(api_sal).post(ingest::post).fallback(ingest::wrong_method)),
    ("/api/v1/sal/{id}", || get(api_sal_entry)),
    ("/api/v1/incidents", || get(api_incidents)),
    ("/api/v1/incidents/{id}", || get(api_incident)),
    ("/api/v1/clinic", || get(api_clinic)),
    ("/api/v1/alerts/alertmanager", || post(alerts::alertmanager)),
    ("/api/v1/alerts/generic", || post(alerts::generic)),
    ("/pages", || get(alerts::pages_page)),
    ("/metrics", || get(metrics)),
    ("/healthz", || get(healthz)),
];

/// Makes the handler of a route in [`ROUTES`].
pub type Handler = fn() -> MethodRouter<Arc<Web>>;

pub fn router(web: Arc<Web>) -> Router {
    ROUTES.iter().fold(Router::new(), |r, (path, handler)| r.route(path, handler())).fallback(not_found).with_state(web)
}

type Shared = State<Arc<Web>>;

fn error_page(status: StatusCode, message: &str) -> Response {
    (status, Html(page(status.canonical_reason().unwrap_or("Error"), &format!("<p>{}</p>", escape(message)))))
        .into_response()
}

/// Anything not in [`ROUTES`]: the API answers in JSON, the rest with a page.
async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        json_error(StatusCode::NOT_FOUND, "no such endpoint")
    } else {
        error_page(StatusCode::NOT_FOUND, "Nothing here.")
    }
}

fn unavailable(e: String) -> Response {
    tracing::warn!(error = %e, "web: database read failed");
    error_page(StatusCode::SERVICE_UNAVAILABLE, "The database is not available right now.")
}

#[derive(Debug, Default, Deserialize)]
pub struct SalQuery {
    channel: Option<String>,
    q: Option<String>,
    until: Option<String>,
    /// Text, so that a bad value gets this view's own answer rather than the extractor's.
    before: Option<String>,
}

/// Checks the query and turns it into a filter; `Err` says why not.
fn filter(web: &Web, q: &SalQuery) -> Result<SalFilter, (StatusCode, &'static str)> {
    let mut f = SalFilter::default();
    if let Some(before) = q.before.as_deref().filter(|b| !b.is_empty()) {
        f.before = Some(parse_id(before).ok_or((StatusCode::BAD_REQUEST, "before must be an entry id."))?);
    }
    if let Some(c) = q.channel.as_deref().filter(|c| !c.is_empty()) {
        // A security channel reads exactly like one that does not exist.
        f.channel = Some(web.public_channel(c).ok_or((StatusCode::NOT_FOUND, "No such channel."))?);
    }
    if let Some(words) = q.q.as_deref().filter(|w| !w.trim().is_empty()) {
        f.fts = Some(
            crate::store::sal::fts_query(words).ok_or((StatusCode::BAD_REQUEST, "Search for at least one word."))?,
        );
    }
    if let Some(day) = q.until.as_deref().filter(|d| !d.is_empty()) {
        f.until = Some(
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| (StatusCode::BAD_REQUEST, "until must be a date: YYYY-MM-DD."))?,
        );
    }
    Ok(f)
}

/// One page of entries, and whether there are older ones (one row more is read to know, so a
/// last page that happens to be full has no link to an empty one).
fn page_of(conn: &rusqlite::Connection, f: &SalFilter) -> rusqlite::Result<(Vec<SalRow>, bool)> {
    let mut rows = db::sal_page(conn, f, PAGE + 1)?;
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    Ok((rows, more))
}

fn time_of(row: &SalRow) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&row.logged_at).ok().map(|t| t.with_timezone(&Utc))
}

fn entry_html(web: &Web, row: &SalRow, out: &mut String) {
    let time = time_of(row).map(|t| t.format("%H:%M").to_string()).unwrap_or_default();
    let _ = writeln!(
        out,
        "<li id=\"e{id}\"><a class=\"id\" href=\"/sal/{id}\">#{id}</a> <time datetime=\"{at}\">{time}</time> \
         <span class=\"nick\">{nick}</span>: {msg} <span class=\"muted\">{chan}</span></li>",
        id = row.id,
        at = escape(&row.logged_at),
        nick = escape(&row.nick),
        msg = linkify(&web.public(&row.message), &web.links),
        chan = escape(&row.channel),
    );
}

async fn sal_page(State(web): Shared, Query(q): Query<SalQuery>) -> Response {
    let f = match filter(&web, &q) {
        Ok(f) => f,
        Err((status, why)) => return error_page(status, why),
    };
    let query = f.clone();
    let (rows, more) = match web.pool.read(move |c| page_of(c, &query)).await {
        Ok(page) => page,
        Err(e) => return unavailable(e),
    };
    let mut body = String::new();
    let chosen = f.channel.clone().unwrap_or_default();
    let _ = write!(
        body,
        "<form action=\"/sal\" method=\"get\" role=\"search\"><label for=\"q\">Search</label>\
         <input id=\"q\" name=\"q\" type=\"search\" value=\"{}\"><label for=\"channel\">Channel</label>\
         <select id=\"channel\" name=\"channel\"><option value=\"\">all</option>",
        escape(q.q.as_deref().unwrap_or(""))
    );
    for c in web.public_channels() {
        let selected = if c == chosen { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{}\"{selected}>{}</option>", escape(c), escape(c));
    }
    let _ = write!(
        body,
        "</select><label for=\"until\">Before</label><input id=\"until\" name=\"until\" type=\"date\" value=\"{}\">\
         <button type=\"submit\">Show</button></form>",
        escape(q.until.as_deref().unwrap_or(""))
    );
    if rows.is_empty() {
        body.push_str("<p>No entries.</p>");
    }
    let mut day = String::new();
    for row in &rows {
        let d = row.logged_at.get(..10).unwrap_or("").to_string();
        if d != day {
            if !day.is_empty() {
                body.push_str("</ul>\n");
            }
            let _ = write!(body, "<h2>{}</h2>\n<ul class=\"sal\">\n", escape(&d));
            day = d;
        }
        entry_html(&web, row, &mut body);
    }
    if !day.is_empty() {
        body.push_str("</ul>\n");
    }
    if more {
        let last = rows.last().map(|r| r.id).unwrap_or(0);
        let mut next = format!("/sal?before={last}");
        for (k, v) in [("channel", &q.channel), ("q", &q.q), ("until", &q.until)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                let _ = write!(next, "&amp;{k}={}", url_encode(v));
            }
        }
        let _ = write!(body, "<p><a rel=\"next\" href=\"{next}\">Older entries</a></p>");
    }
    Html(page("Server Admin Log", &body)).into_response()
}

async fn sal_permalink(State(web): Shared, Path(raw): Path<String>) -> Response {
    // Not a number reads like a missing entry, as for incidents.
    let Some(id) = parse_id(&raw) else { return error_page(StatusCode::NOT_FOUND, "No such entry.") };
    match web.pool.read(move |c| db::sal_entry(c, id)).await {
        Err(e) => unavailable(e),
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such entry."),
        Ok(Some(row)) => {
            let mut body = String::from("<ul class=\"sal\">");
            entry_html(&web, &row, &mut body);
            let _ = write!(
                body,
                "</ul><p class=\"muted\">Logged at {} in {}.</p>",
                escape(&row.logged_at),
                escape(&row.channel)
            );
            Html(page(&format!("SAL entry #{id}"), &body)).into_response()
        }
    }
}

/// Public incident `number` (in the public numbering, the only one the web knows) with every
/// text masked; `None` for missing ones.
async fn public_record(web: &Web, number: i64) -> Result<Option<Record>, String> {
    let record = web
        .pool
        .read(move |c| crate::store::incident::record_by_number(c, crate::incident::PUBLIC_SCOPE, number))
        .await?;
    Ok(record.filter(|r| !r.incident.private).map(|mut r| {
        r.incident.summary = web.public(&r.incident.summary);
        r.incident.close_summary = r.incident.close_summary.as_deref().map(|s| web.public(s));
        for e in &mut r.timeline {
            e.text = web.public(&e.text);
        }
        r
    }))
}

async fn incidents_page(State(web): Shared) -> Response {
    let list = match web.pool.read(|c| crate::store::incident::list(c, true, 500)).await {
        Ok(l) => l,
        Err(e) => return unavailable(e),
    };
    let mut body = String::from("<table><thead><tr><th>#</th><th>Summary</th><th>State</th><th>Opened (UTC)</th><th>Report</th></tr></thead><tbody>");
    for i in &list {
        let report = match &i.report_url {
            Some(u) if u.starts_with("http") => format!("<a href=\"{}\">filed</a>", escape(u)),
            _ if !i.report_reasons().is_empty() => "required".into(),
            _ => String::new(),
        };
        let _ = write!(
            body,
            "<tr><td><a href=\"/incidents/{id}\">#{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{report}</td></tr>",
            escape(&web.public(&i.summary)),
            i.state,
            i.opened_at.format("%Y-%m-%d %H:%M"),
            id = i.number
        );
    }
    body.push_str("</tbody></table>");
    if list.is_empty() {
        body = "<p>No incidents.</p>".into();
    }
    Html(page("Incidents", &body)).into_response()
}

fn parse_id(raw: &str) -> Option<i64> {
    raw.parse().ok().filter(|n: &i64| *n > 0)
}

async fn incident_page(State(web): Shared, Path(raw): Path<String>) -> Response {
    let Some(id) = parse_id(&raw) else { return error_page(StatusCode::NOT_FOUND, "No such incident.") };
    let r = match public_record(&web, id).await {
        Err(e) => return unavailable(e),
        Ok(None) => return error_page(StatusCode::NOT_FOUND, "No such incident."),
        Ok(Some(r)) => r,
    };
    let i = &r.incident;
    let now = web.clock.now();
    let start = crate::incident::started_at(i, &r.timeline);
    let mut body = format!(
        "<p><strong>{}</strong> — opened {} UTC, {}{}</p>",
        i.state,
        i.opened_at.format("%Y-%m-%d %H:%M"),
        escape(&crate::incident::age(i, &r.timeline, now)),
        i.resolved_at.map(|t| format!(", resolved after {}", human_duration(t - start))).unwrap_or_default()
    );
    body.push_str("<h2>Roles</h2><ul>");
    for role in [Role::Comms, Role::Diagnosis] {
        let tenures: Vec<String> = r
            .tenures
            .iter()
            .filter(|t| t.role == role)
            .map(|t| format!("{} ({})", escape(&t.nick), timeline::tenure_span(t, i)))
            .collect();
        let _ = write!(body, "<li>{}: {}</li>", role.title(), tenures.join(" → "));
    }
    body.push_str("</ul><h2>Timeline (UTC)</h2><ul class=\"sal\">");
    for e in &r.timeline {
        use crate::incident::model::EventKind;
        let what = match &e.kind {
            EventKind::Log { sal_id } => format!("<a href=\"/sal/{sal_id}\">SAL #{sal_id}</a> "),
            EventKind::State { from, to } => format!("status {from} → {to} "),
            EventKind::Role { role, from, to } => {
                format!("{}: {} → {} ", role.title(), escape(from.as_deref().unwrap_or("nobody")), escape(to))
            }
            EventKind::Opened => "opened: ".into(),
            EventKind::Note => "note: ".into(),
            EventKind::Impact => "impact: ".into(),
            EventKind::Backdated => format!("(backdated; recorded {}) ", e.recorded_at.format("%H:%M")),
            EventKind::Snooze => "reminders snoozed: ".into(),
            EventKind::Closed => "closed ".into(),
            EventKind::Reopened => "reopened ".into(),
            EventKind::ReportFiled => "report filed: ".into(),
            EventKind::Update => "public update: ".into(),
        };
        let _ = write!(
            body,
            "<li><time>{}</time> <span class=\"nick\">{}</span>: {what}{}</li>",
            e.at.format("%Y-%m-%d %H:%M"),
            escape(&e.actor),
            linkify(&e.text, &web.links)
        );
    }
    let draft = report::render(&r, Format::Markdown, now);
    let _ = write!(
        body,
        "</ul><h2>Report draft</h2><p><a href=\"/incidents/{id}/report.md\">Markdown</a> · \
         <a href=\"/incidents/{id}/report.wiki\">Wikitext</a></p><pre>{}</pre>",
        escape(&draft)
    );
    Html(page(&format!("Incident #{id}: {}", i.summary), &body)).into_response()
}

async fn report(web: &Web, raw: &str, format: Format) -> Response {
    let Some(id) = parse_id(raw) else { return error_page(StatusCode::NOT_FOUND, "No such incident.") };
    match public_record(web, id).await {
        Err(e) => unavailable(e),
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such incident."),
        Ok(Some(r)) => {
            let kind =
                if format == Format::Markdown { "text/markdown; charset=utf-8" } else { "text/plain; charset=utf-8" };
            let name = format!("attachment; filename=\"{}.{}\"", report::file_stem(&r.incident), format.extension());
            (
                [(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_DISPOSITION, name)],
                report::render(&r, format, web.clock.now()),
            )
                .into_response()
        }
    }
}

async fn report_markdown(State(web): Shared, Path(raw): Path<String>) -> Response {
    report(&web, &raw, Format::Markdown).await
}

async fn report_wikitext(State(web): Shared, Path(raw): Path<String>) -> Response {
    report(&web, &raw, Format::Wikitext).await
}

/// This week and the next ones: (week start, duty or None when not scheduled).
async fn clinic_weeks(web: &Web, weeks: usize) -> Result<Vec<(NaiveDate, Option<crate::clinic::topic::Duty>)>, String> {
    let rule = web.config.clinic.rule()?;
    let this = rule.week_of(web.clock.now());
    web.pool
        .read(move |c| {
            (0..weeks)
                .map(|i| this + Duration::days(7 * i as i64))
                .map(|w| Ok((w, crate::store::clinic::duty(c, w)?)))
                .collect()
        })
        .await
}

async fn clinic_page(State(web): Shared) -> Response {
    let weeks = match clinic_weeks(&web, 9).await {
        Ok(w) => w,
        Err(e) => return unavailable(e),
    };
    let mut body = String::from(
        "<table><thead><tr><th>Week starting</th><th>Clinician/backup</th><th>Team</th></tr></thead><tbody>",
    );
    for (i, (week, duty)) in weeks.iter().enumerate() {
        let (who, team) = match duty {
            None => ("<span class=\"muted\">not scheduled</span>".to_string(), String::new()),
            Some(d) if d.clinician.is_none() => ("No clinic duty this week".to_string(), String::new()),
            Some(d) => (
                escape(&format!(
                    "{}{}",
                    d.clinician.clone().unwrap_or_default(),
                    d.backup.as_ref().map(|b| format!("/{b}")).unwrap_or_default()
                )),
                escape(d.team.as_deref().unwrap_or("")),
            ),
        };
        let now = if i == 0 { " <strong>(now)</strong>" } else { "" };
        let _ = write!(body, "<tr><td>{week}{now}</td><td>{who}</td><td>{team}</td></tr>");
    }
    body.push_str("</tbody></table>");
    Html(page("SRE Clinic Duty", &body)).into_response()
}

fn atom(web: &Web, title: &str, self_path: &str, rows: &[SalRow]) -> Response {
    let updated = rows.first().map(|r| r.logged_at.clone()).unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>{}</title>\n\
         <id>{}</id>\n<link rel=\"self\" href=\"{}\"/>\n<link href=\"{}\"/>\n<updated>{}</updated>\n",
        escape(title),
        escape(&web.url(self_path)),
        escape(&web.url(self_path)),
        escape(&web.url("/sal")),
        escape(&updated)
    );
    for r in rows {
        let text = web.public(&r.message);
        let _ = writeln!(
            xml,
            "<entry><id>{url}</id><link href=\"{url}\"/><title>{}: {}</title><author><name>{}</name></author>\
             <updated>{}</updated><content type=\"text\">{}</content></entry>",
            escape(&r.nick),
            escape(&crate::text::truncate_bytes(&text, 100)),
            escape(&r.nick),
            escape(&r.logged_at),
            escape(&text),
            url = escape(&web.url(&format!("/sal/{}", r.id)))
        );
    }
    xml.push_str("</feed>\n");
    ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], xml).into_response()
}

async fn atom_all(State(web): Shared) -> Response {
    match web.pool.read(|c| db::sal_page(c, &SalFilter::default(), 50)).await {
        Ok(rows) => atom(&web, "Server Admin Log", "/atom/sal", &rows),
        Err(e) => unavailable(e),
    }
}

async fn atom_channel(State(web): Shared, Path(channel): Path<String>) -> Response {
    let Some(channel) = web.public_channel(&channel) else {
        return error_page(StatusCode::NOT_FOUND, "No such channel.");
    };
    let f = SalFilter { channel: Some(channel.clone()), ..SalFilter::default() };
    match web.pool.read(move |c| db::sal_page(c, &f, 50)).await {
        Ok(rows) => {
            let path = format!("/atom/sal/{}", url_encode(channel.trim_start_matches('#')));
            atom(&web, &format!("Server Admin Log: {channel}"), &path, &rows)
        }
        Err(e) => unavailable(e),
    }
}

fn entry_json(web: &Web, r: &SalRow) -> serde_json::Value {
    let message = web.public(&r.message);
    json!({
        "id": r.id,
        "time": r.logged_at,
        "channel": r.channel,
        "nick": r.nick,
        "message": message,
        "tasks": crate::text::task_refs(&message),
        "url": web.url(&format!("/sal/{}", r.id)),
    })
}

pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn api_sal(State(web): Shared, Query(q): Query<SalQuery>) -> Response {
    let f = match filter(&web, &q) {
        Ok(f) => f,
        Err((status, why)) => return json_error(status, why),
    };
    match web.pool.read(move |c| page_of(c, &f)).await {
        Ok((rows, more)) => {
            let next = more.then(|| rows.last().map(|r| r.id)).flatten();
            Json(
                json!({ "entries": rows.iter().map(|r| entry_json(&web, r)).collect::<Vec<_>>(), "next_before": next }),
            )
            .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "api: read failed");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn api_sal_entry(State(web): Shared, Path(raw): Path<String>) -> Response {
    let Some(id) = parse_id(&raw) else { return json_error(StatusCode::NOT_FOUND, "no such entry") };
    match web.pool.read(move |c| db::sal_entry(c, id)).await {
        Ok(Some(r)) => Json(entry_json(&web, &r)).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such entry"),
        Err(_) => json_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

fn incident_json(web: &Web, i: &crate::incident::model::Incident) -> serde_json::Value {
    json!({
        "id": i.number,
        "channel": i.channel,
        "summary": web.public(&i.summary),
        "state": i.state.as_str(),
        "opened_at": i.opened_at.to_rfc3339(),
        "resolved_at": i.resolved_at.map(|t| t.to_rfc3339()),
        "closed_at": i.closed_at.map(|t| t.to_rfc3339()),
        "user_facing": i.user_facing,
        "data_loss": i.data_loss,
        "report_required": !i.report_reasons().is_empty(),
        "report_url": i.report_url,
        "url": web.url(&format!("/incidents/{}", i.number)),
    })
}

async fn api_incidents(State(web): Shared) -> Response {
    match web.pool.read(|c| crate::store::incident::list(c, true, 500)).await {
        Ok(list) => Json(json!({ "incidents": list.iter().map(|i| incident_json(&web, i)).collect::<Vec<_>>() }))
            .into_response(),
        Err(_) => json_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

async fn api_incident(State(web): Shared, Path(raw): Path<String>) -> Response {
    let Some(id) = parse_id(&raw) else { return json_error(StatusCode::NOT_FOUND, "no such incident") };
    match public_record(&web, id).await {
        Ok(Some(r)) => {
            let mut v = incident_json(&web, &r.incident);
            v["tenures"] = json!(r.tenures.iter().map(|t| timeline::tenure_json(t, &r.incident)).collect::<Vec<_>>());
            v["timeline"] = json!(r.timeline.iter().map(timeline::event_json).collect::<Vec<_>>());
            Json(v).into_response()
        }
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such incident"),
        Err(_) => json_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

async fn api_clinic(State(web): Shared) -> Response {
    match clinic_weeks(&web, 9).await {
        Ok(weeks) => Json(json!({ "weeks": weeks.iter().map(|(w, d)| json!({
            "week_start": w.to_string(),
            "scheduled": d.is_some(),
            "clinician": d.as_ref().and_then(|d| d.clinician.clone()),
            "backup": d.as_ref().and_then(|d| d.backup.clone()),
            "team": d.as_ref().and_then(|d| d.team.clone()),
        })).collect::<Vec<_>>() }))
        .into_response(),
        Err(_) => json_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

async fn metrics(State(web): Shared) -> Response {
    use crate::metrics::{gauge, METRICS};
    let st = web.client.status();
    let mut out = String::new();
    gauge(&mut out, "srebot_irc_connected", "1 when the IRC connection is up.", st.connected as u8 as f64);
    gauge(&mut out, "srebot_irc_ready", "1 when registered and joined.", st.ready as u8 as f64);
    crate::metrics::counter(&mut out, "srebot_irc_reconnects_total", "Connections lost.", st.reconnects);
    crate::metrics::counter(&mut out, "srebot_irc_lines_in_total", "Lines read from the server.", st.lines_in);
    crate::metrics::counter(&mut out, "srebot_irc_lines_out_total", "Lines written to the server.", st.lines_out);
    gauge(&mut out, "srebot_irc_queue_depth", "Outgoing lines waiting.", st.queue_depth as f64);
    let counts = web.pool.read(|c| Ok((db::open_public_incidents(c)?, db::outbox_backlog(c).unwrap_or(0)))).await;
    if let Ok((open, backlog)) = counts {
        gauge(&mut out, "srebot_incidents_open", "Public incidents not resolved.", open as f64);
        gauge(&mut out, "srebot_outbox_backlog", "Publications waiting.", backlog as f64);
    }
    if let Ok(firing) = web.pool.read(crate::store::alert::public_firing).await {
        gauge(&mut out, "srebot_alerts_firing", "Alerts firing now, of public channels.", firing as f64);
    }
    METRICS.render(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

/// 200 when connected to IRC and the database takes writes; 503 with the reasons otherwise.
async fn healthz(State(web): Shared) -> Response {
    let mut problems = Vec::new();
    let irc = web.client.status();
    if !irc.ready {
        problems.push(
            if irc.connected { "IRC: connected, not registered and joined yet" } else { "IRC: not connected" }
                .to_string(),
        );
    }
    if let Some(why) = write_failure(&web).await {
        problems.push(format!("database not writable: {why}"));
    }
    if problems.is_empty() {
        (StatusCode::OK, "OK: connected to IRC, database writable\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("CRITICAL: {}\n", problems.join("; "))).into_response()
    }
}

/// Why the database does not take writes, if it does not: the store's record of its latest
/// write. After a failure one real write (a row rewritten with its own value) tells whether the
/// database is back, so the check clears without waiting for the next `!log`.
async fn write_failure(web: &Web) -> Option<String> {
    web.store.write_failure()?;
    let _ = web.store.call(crate::store::sal::rewrite_unchanged).await;
    web.store.write_failure()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once_and_ids_are_strict() {
        let mut sorted: Vec<&str> = ROUTES.iter().map(|(path, _)| *path).collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ROUTES.len(), "a route listed twice");
        assert_eq!(parse_id("42"), Some(42));
        for bad in ["0", "-1", "abc", "1e3", " 1", ""] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }
}
