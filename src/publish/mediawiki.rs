//! The MediaWiki Action API, as much of it as publishing a log page needs: bot-password login,
//! reading a page with its revision, and editing it safely.
//!
//! Blocking (ureq): the publisher runs it on tokio's blocking pool.
//!
//! Safety of edits: every edit carries `baserevid` (the revision the new text was computed
//! from) and `basetimestamp`, so MediaWiki reports a conflict when someone else changed the page
//! in between. MediaWiki does *not* report one when every edit since the base was made by the
//! same user (another srebot, or an edit of ours whose answer was lost), and then the new text
//! silently replaces theirs. So after each edit we look at the new revision's parent: if it is
//! not the revision we started from, we rebuild from the revision our edit replaced and edit
//! again. Finally the page is read back and checked ([`wikitext::verify`]).
//!
//! Edits also send `assert=user`: if the session was lost, MediaWiki refuses instead of saving
//! the edit anonymously (which would publish the bot's IP address).

use super::wikitext::{self, Change};
use crate::config::{MediaWikiConfig, Secret};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Why a wiki call failed. The text is short and never contains the password or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WikiError {
    /// Could not reach the wiki (connection refused, timeout, TLS).
    Unreachable(String),
    /// An HTTP status other than 200.
    Http(u16),
    /// The API refused: its error code and message.
    Api { code: String, info: String },
    /// Someone else edited the page since we read it.
    Conflict,
    /// The session is gone (expired cookie, bad token): log in again.
    Session(String),
    /// Login refused (wrong bot password, missing grants).
    Login(String),
    /// An answer we did not expect.
    Protocol(String),
}

impl fmt::Display for WikiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WikiError::Unreachable(why) => write!(f, "wiki unreachable ({why})"),
            WikiError::Http(status) => write!(f, "wiki answered HTTP {status}"),
            WikiError::Api { code, info } => write!(f, "wiki refused: {code}: {info}"),
            WikiError::Conflict => f.write_str("edit conflict"),
            WikiError::Session(why) => write!(f, "wiki session lost ({why})"),
            WikiError::Login(why) => write!(f, "wiki login failed ({why})"),
            WikiError::Protocol(why) => write!(f, "unexpected wiki answer ({why})"),
        }
    }
}

impl std::error::Error for WikiError {}

/// A page as read: its latest revision (None when the page does not exist) and text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub revid: Option<u64>,
    pub timestamp: Option<String>,
    pub content: String,
}

/// A logged-in (or not yet) API client for one wiki.
pub struct Wiki {
    agent: ureq::Agent,
    api: String,
    username: String,
    password: Secret,
    /// Session cookies by name. One wiki, one path: a map is all the jar we need.
    cookies: BTreeMap<String, String>,
    csrf: Option<String>,
}

/// Pages can be large; the SAL grows until someone archives it.
const MAX_BODY: u64 = 64 * 1024 * 1024;
/// How many times [`apply`] re-reads and re-applies before giving up for this attempt.
const MAX_ROUNDS: usize = 6;

/// A blocking HTTP client whose every answer (4xx, 5xx too) is a response, not an error.
pub(crate) fn http_agent(timeout: Duration) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder();
    // The same trust as the IRC side: the system's roots (where an operator adds an internal
    // CA); Mozilla's bundled roots only when the system has none.
    let native = rustls_native_certs::load_native_certs();
    if !native.certs.is_empty() {
        let certs: Vec<_> =
            native.certs.iter().map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()).collect();
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(format!("srebot/{} (IRC Server Admin Log bot)", env!("CARGO_PKG_VERSION")))
        .tls_config(tls.build())
        .build()
        .new_agent()
}

impl Wiki {
    pub fn new(config: &MediaWikiConfig, password: Secret) -> Wiki {
        let timeout = Duration::from_secs(config.timeout_seconds.max(1));
        Wiki {
            agent: http_agent(timeout),
            api: config.api_url.clone(),
            username: config.username.clone(),
            password,
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn take_cookies(&mut self, response: &ureq::http::Response<ureq::Body>) {
        for value in response.headers().get_all("set-cookie") {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, v)) = parts.next().and_then(|nv| nv.split_once('=')) else { continue };
            let (name, v) = (name.trim().to_string(), v.trim().to_string());
            let expired = v.is_empty()
                || v == "deleted"
                || parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0") || a.trim().starts_with("Max-Age=-"));
            if expired {
                self.cookies.remove(&name);
            } else {
                self.cookies.insert(name, v);
            }
        }
    }

    /// One API call: GET (reads) or POST (writes, login). Returns the JSON, API errors mapped.
    fn call(&mut self, post: bool, params: &[(&str, &str)]) -> Result<Value, WikiError> {
        let mut all: Vec<(&str, &str)> = vec![("format", "json"), ("formatversion", "2")];
        all.extend_from_slice(params);
        let cookies = self.cookie_header();
        let result = if post {
            let mut req = self.agent.post(&self.api);
            if !cookies.is_empty() {
                req = req.header("Cookie", &cookies);
            }
            req.send_form(all.iter().copied())
        } else {
            let mut req = self.agent.get(&self.api).query_pairs(all.iter().copied());
            if !cookies.is_empty() {
                req = req.header("Cookie", &cookies);
            }
            req.call()
        };
        let mut response = result.map_err(|e| WikiError::Unreachable(short_transport_error(&e)))?;
        self.take_cookies(&response);
        let status = response.status().as_u16();
        if status != 200 {
            return Err(WikiError::Http(status));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| WikiError::Unreachable(short_transport_error(&e)))?;
        let json: Value = serde_json::from_str(&body)
            .map_err(|_| WikiError::Protocol("not JSON: is api_url the wiki's api.php?".into()))?;
        if let Some(err) = json.get("error") {
            let code = err.get("code").and_then(Value::as_str).unwrap_or("unknown").to_string();
            let info = err.get("info").and_then(Value::as_str).unwrap_or("").to_string();
            return Err(match code.as_str() {
                "editconflict" | "articleexists" | "missingtitle" | "pagedeleted" => WikiError::Conflict,
                "badtoken" | "notloggedin" | "assertuserfailed" | "assertbotfailed" | "assertnameduserfailed" => {
                    self.csrf = None;
                    WikiError::Session(code)
                }
                _ => WikiError::Api { code, info: crate::text::truncate_bytes(&info, 160) },
            });
        }
        Ok(json)
    }

    /// Logs in with the bot password (action=login, as Special:BotPasswords documents).
    pub fn login(&mut self) -> Result<(), WikiError> {
        self.cookies.clear();
        self.csrf = None;
        let tokens = self.call(false, &[("action", "query"), ("meta", "tokens"), ("type", "login")])?;
        let token = str_at(&tokens, &["query", "tokens", "logintoken"])?.to_string();
        let password = self.password.expose().to_string();
        let username = self.username.clone();
        let answer = self.call(
            true,
            &[("action", "login"), ("lgname", &username), ("lgpassword", &password), ("lgtoken", &token)],
        )?;
        match answer.pointer("/login/result").and_then(Value::as_str) {
            Some("Success") => Ok(()),
            other => {
                let reason = answer.pointer("/login/reason").and_then(Value::as_str).unwrap_or(other.unwrap_or("?"));
                Err(WikiError::Login(crate::text::truncate_bytes(reason, 160)))
            }
        }
    }

    /// Whether we hold a session (it may still have expired on the wiki's side).
    pub fn logged_in(&self) -> bool {
        !self.cookies.is_empty()
    }

    /// The CSRF (edit) token of this session, logging in first when needed.
    fn csrf(&mut self) -> Result<String, WikiError> {
        if let Some(t) = &self.csrf {
            return Ok(t.clone());
        }
        if self.cookies.is_empty() {
            self.login()?;
        }
        let tokens = self.call(false, &[("action", "query"), ("meta", "tokens"), ("assert", "user")])?;
        let token = str_at(&tokens, &["query", "tokens", "csrftoken"])?.to_string();
        if token == "+\\" {
            return Err(WikiError::Session("anonymous token".into()));
        }
        self.csrf = Some(token.clone());
        Ok(token)
    }

    /// The latest revision of `title`.
    pub fn read(&mut self, title: &str) -> Result<Page, WikiError> {
        let json = self.call(
            false,
            &[
                ("action", "query"),
                ("prop", "revisions"),
                ("titles", title),
                ("rvprop", "ids|timestamp|content"),
                ("rvslots", "main"),
            ],
        )?;
        let page = json.pointer("/query/pages/0").ok_or_else(|| WikiError::Protocol("no page in answer".into()))?;
        if page.get("invalid").is_some() {
            return Err(WikiError::Api {
                code: "invalidtitle".into(),
                info: format!("{title:?} is not a valid title"),
            });
        }
        if page.get("missing").and_then(Value::as_bool) == Some(true) {
            return Ok(Page::default());
        }
        let rev = page.pointer("/revisions/0").ok_or_else(|| WikiError::Protocol("no revision in answer".into()))?;
        Ok(Page {
            revid: rev.get("revid").and_then(Value::as_u64),
            timestamp: rev.get("timestamp").and_then(Value::as_str).map(str::to_string),
            content: rev.pointer("/slots/main/content").and_then(Value::as_str).unwrap_or("").to_string(),
        })
    }

    /// One revision's parent and text.
    pub fn revision(&mut self, revid: u64) -> Result<(u64, String), WikiError> {
        let id = revid.to_string();
        let json = self.call(
            false,
            &[
                ("action", "query"),
                ("prop", "revisions"),
                ("revids", &id),
                ("rvprop", "ids|content"),
                ("rvslots", "main"),
            ],
        )?;
        let rev = json
            .pointer("/query/pages/0/revisions/0")
            .ok_or_else(|| WikiError::Protocol(format!("revision {revid} not found")))?;
        let parent = rev.get("parentid").and_then(Value::as_u64).unwrap_or(0);
        let content = rev.pointer("/slots/main/content").and_then(Value::as_str).unwrap_or("").to_string();
        Ok((parent, content))
    }

    /// Saves `text` as the new content of `title`, computed from `base`. Returns the new revision
    /// id, or None when the text was already the page's (MediaWiki's `nochange`).
    pub fn edit(&mut self, title: &str, text: &str, base: &Page, summary: &str) -> Result<Option<u64>, WikiError> {
        let token = self.csrf()?;
        let baserevid = base.revid.map(|r| r.to_string());
        let mut params: Vec<(&str, &str)> = vec![
            ("action", "edit"),
            ("title", title),
            ("text", text),
            ("summary", summary),
            ("bot", "1"),
            ("assert", "user"),
            ("watchlist", "nochange"),
        ];
        match (&baserevid, &base.timestamp) {
            (Some(rev), Some(ts)) => {
                params.extend([("baserevid", rev.as_str()), ("basetimestamp", ts.as_str()), ("nocreate", "1")]);
            }
            (Some(rev), None) => params.extend([("baserevid", rev.as_str()), ("nocreate", "1")]),
            // The page did not exist when we read it: if someone creates it meanwhile, that is a
            // conflict, not something to overwrite.
            (None, _) => params.push(("createonly", "1")),
        }
        // The token goes last: MediaWiki rejects a POST whose body was cut before it.
        params.push(("token", &token));
        let json = self.call(true, &params)?;
        let edit = json.get("edit").ok_or_else(|| WikiError::Protocol("no edit result".into()))?;
        match edit.get("result").and_then(Value::as_str) {
            Some("Success") if edit.get("nochange").is_some() => Ok(None),
            Some("Success") => edit
                .get("newrevid")
                .and_then(Value::as_u64)
                .map(Some)
                .ok_or_else(|| WikiError::Protocol("no new revision id".into())),
            other => Err(WikiError::Api {
                code: "editfailed".into(),
                info: format!("edit result {}", other.unwrap_or("missing")),
            }),
        }
    }
}

fn str_at<'a>(json: &'a Value, path: &[&str]) -> Result<&'a str, WikiError> {
    let mut v = json;
    for key in path {
        v = v.get(key).ok_or_else(|| WikiError::Protocol(format!("no {}", path.join("."))))?;
    }
    v.as_str().ok_or_else(|| WikiError::Protocol(format!("{} is not text", path.join("."))))
}

/// ureq's error text, without the URL (which could carry query parameters).
pub(crate) fn short_transport_error(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.kind().to_string(),
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::BodyExceedsLimit(_) => "answer too large".into(),
        ureq::Error::Tls(why) => format!("TLS: {why}"),
        ureq::Error::Rustls(_) => "TLS error".into(),
        other => crate::text::truncate_bytes(&other.to_string(), 120),
    }
}

/// Makes the page reflect `changes`, starting from a fresh read.
pub fn apply(wiki: &mut Wiki, title: &str, changes: &[Change], summary: &str) -> Result<(), WikiError> {
    // Log in before reading too: a private wiki refuses anonymous reads.
    if !wiki.logged_in() {
        wiki.login()?;
    }
    let page = with_session(wiki, |w| w.read(title))?;
    apply_from(wiki, title, page, changes, summary)
}

/// Makes the page reflect `changes`, starting from `page` as read earlier (perhaps stale: a
/// test uses that to provoke the conflicts this handles).
pub fn apply_from(
    wiki: &mut Wiki,
    title: &str,
    mut page: Page,
    changes: &[Change],
    summary: &str,
) -> Result<(), WikiError> {
    for _ in 0..MAX_ROUNDS {
        let text = wikitext::render_page(&page.content, changes);
        if text == page.content.trim_end() {
            // Nothing to do on this revision. If it is the latest, we are done; if it was a
            // stale read, the fresh one decides.
            let latest = with_session(wiki, |w| w.read(title))?;
            if latest.revid == page.revid && wikitext::verify(&latest.content, changes).is_ok() {
                return Ok(());
            }
            page = latest;
            continue;
        }
        match with_session(wiki, |w| w.edit(title, &text, &page, summary)) {
            Err(WikiError::Conflict) | Ok(None) => {
                page = with_session(wiki, |w| w.read(title))?;
            }
            Err(e) => return Err(e),
            Ok(Some(revid)) => {
                let (parent, _) = with_session(wiki, |w| w.revision(revid))?;
                let latest = with_session(wiki, |w| w.read(title))?;
                if Some(parent) != page.revid.or(Some(0)) && latest.revid == Some(revid) {
                    // Saved on top of revisions we had not seen and MediaWiki did not call it a
                    // conflict (same user): our text replaced theirs. Rebuild from the revision
                    // we replaced, on top of our own.
                    let (_, replaced) = with_session(wiki, |w| w.revision(parent))?;
                    page = Page { content: replaced, ..latest };
                    continue;
                }
                if wikitext::verify(&latest.content, changes).is_ok() {
                    return Ok(());
                }
                page = latest;
            }
        }
    }
    Err(WikiError::Protocol(format!("the page kept changing; gave up after {MAX_ROUNDS} rounds")))
}

/// Runs `f`, logging in again once if the session was lost.
fn with_session<T>(wiki: &mut Wiki, mut f: impl FnMut(&mut Wiki) -> Result<T, WikiError>) -> Result<T, WikiError> {
    match f(wiki) {
        Err(WikiError::Session(_)) => {
            wiki.login()?;
            f(wiki)
        }
        other => other,
    }
}
