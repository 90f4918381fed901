//! Task mentions (stashbot's "Mentioned in SAL"): when a published entry names `T123456`, one
//! comment on that task in Phorge/Phabricator, through the Conduit API.
//!
//! The work goes through the same outbox as the wiki (sink `phorge`, queued with the entry by
//! `Targets::enqueue`, only for public entries that name a task). For each task the publisher
//! first asks `maniphest.search` whether the task is visible to everyone (`view` policy
//! `public` or `users`): a restricted task (a security bug, say) gets nothing, not even a
//! comment whose text would be hidden, since its title and existence are what leaks. Then
//! `maniphest.edit` adds the comment, and `phorge_mention` records the task as done, so a retry
//! after a failure on the entry's next task never comments twice.
//!
//! Conduit: `POST <api_url><method>` with form fields (`api.token`, then the method's
//! parameters, PHP-style `a[b][0]=…`), answering JSON `{"result": …, "error_code": …,
//! "error_info": …}`.

use crate::config::{Config, Secret};
use crate::privacy::Privacy;
use crate::store::sal::{self, time_text, Entry};
use crate::store::{self, Store};
use chrono::Utc;
use rusqlite::Connection;
use serde_json::Value;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// The outbox's name for this sink.
pub const PHORGE: &str = "phorge";

pub use crate::config::PhorgeConfig;

impl PhorgeConfig {
    pub fn resolve_token(&self) -> Result<Secret, String> {
        let text = std::fs::read_to_string(&self.token_file)
            .map_err(|e| format!("cannot read {}: {}", self.token_file.display(), e.kind()))?;
        let token = text.lines().next().unwrap_or("").trim();
        if token.is_empty() {
            return Err(format!("{} is empty", self.token_file.display()));
        }
        Ok(Secret(token.to_string()))
    }

    /// Whether entries of `channel` mention tasks (never those of a security channel).
    pub fn publishes(&self, config: &Config, channel: &str) -> bool {
        super::sink_publishes(config, &self.channels, channel)
    }
}

/// Problems with `[publish.phorge]`, as (key path, message).
pub(crate) fn validate(c: &Config) -> Vec<(Vec<String>, String)> {
    let mut p = Vec::new();
    let Some(ph) = &c.publish.phorge else { return p };
    let at = |k: &str| vec!["publish".to_string(), "phorge".into(), k.to_string()];
    if !(ph.api_url.starts_with("http://") || ph.api_url.starts_with("https://")) || !ph.api_url.ends_with('/') {
        p.push((at("api_url"), "must be Conduit's base URL, http(s)://…/api/ (ending in /)".into()));
    }
    if let Err(e) = ph.resolve_token() {
        p.push((at("token_file"), e));
    }
    let timing = (ph.retry_min_seconds, ph.retry_max_seconds, ph.timeout_seconds);
    p.extend(crate::config::check_sink(c, &["publish", "phorge"], &ph.channels, timing));
    p
}

/// The comment for `entry` (its publishable `text`): `Mentioned in SAL (#sre)
/// [2026-12-03T10:22:00Z] <nick>: message (<link>)`.
pub fn mention(entry: &Entry, text: &str, link: Option<&str>) -> String {
    let at =
        entry.time().map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_else(|| entry.logged_at.clone());
    let mut out = format!("Mentioned in SAL ({}) [{at}] <{}>: {text}", entry.channel, entry.nick);
    if let Some(link) = link {
        out.push_str(&format!(" ({link})"));
    }
    out
}

/// What Phorge says about a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Anyone (or anyone logged in) may see it.
    Open,
    /// A narrower view policy: say nothing there.
    Restricted,
    /// No such task, or one the bot may not even see.
    Missing,
}

impl Visibility {
    fn outcome(self) -> &'static str {
        match self {
            Visibility::Open => "commented",
            Visibility::Restricted => "restricted",
            Visibility::Missing => "missing",
        }
    }
}

/// A blocking Conduit client (the publisher runs it on the blocking pool).
pub struct Conduit {
    agent: ureq::Agent,
    base: String,
    token: Secret,
}

impl Conduit {
    pub fn new(config: &PhorgeConfig, token: Secret) -> Conduit {
        let agent = super::mediawiki::http_agent(Duration::from_secs(config.timeout_seconds.max(1)));
        Conduit { agent, base: config.api_url.clone(), token }
    }

    /// Calls `method`; the `result`, or why not (never the token).
    fn call(&self, method: &str, fields: &[(&str, &str)]) -> Result<Value, String> {
        let mut form: Vec<(&str, &str)> = vec![("api.token", self.token.expose())];
        form.extend_from_slice(fields);
        let mut response = self
            .agent
            .post(format!("{}{method}", self.base))
            .send_form(form)
            .map_err(|e| format!("{method}: {}", super::mediawiki::short_transport_error(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(4 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("{method}: {}", super::mediawiki::short_transport_error(&e)))?;
        if status != 200 {
            return Err(format!("{method}: HTTP {status}"));
        }
        let json: Value =
            serde_json::from_str(&body).map_err(|_| format!("{method}: not JSON: is api_url Conduit's /api/?"))?;
        match json.get("error_code").and_then(Value::as_str) {
            Some(code) => {
                let info = json.get("error_info").and_then(Value::as_str).unwrap_or("");
                Err(format!("{method}: {code}: {}", crate::text::truncate_bytes(info, 160)))
            }
            None => Ok(json.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// How visible task `T<number>` is.
    pub fn visibility(&self, number: &str) -> Result<Visibility, String> {
        let result = self.call("maniphest.search", &[("constraints[ids][0]", number)])?;
        let Some(task) = result["data"].as_array().and_then(|d| d.first()) else { return Ok(Visibility::Missing) };
        Ok(match task["fields"]["policy"]["view"].as_str() {
            Some("public" | "users") => Visibility::Open,
            _ => Visibility::Restricted,
        })
    }

    /// Adds `text` as a comment on `task` (`T123`).
    pub fn comment(&self, task: &str, text: &str) -> Result<(), String> {
        self.call(
            "maniphest.edit",
            &[("objectIdentifier", task), ("transactions[0][type]", "comment"), ("transactions[0][value]", text)],
        )
        .map(|_| ())
    }
}

static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Tells this publisher there is new work (`publish::wake` calls it).
pub(crate) fn wake() {
    WAKE.notify_one();
}

/// Starts the mentions publisher when `[publish.phorge]` is configured.
pub(crate) fn spawn(config: &Config, store: Store) -> Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)> {
    let ph = config.publish.phorge.clone()?;
    let token = match ph.resolve_token() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "publish.phorge.token_file: not mentioning tasks");
            return None;
        }
    };
    let conduit = std::sync::Arc::new(Conduit::new(&ph, token));
    let sink = Sink { config: config.clone(), phorge: ph, privacy: Privacy::from_config(&config.sal) };
    let (stop_tx, stop_rx) = oneshot::channel();
    Some((stop_tx, tokio::spawn(run(sink, conduit, store, stop_rx))))
}

struct Sink {
    config: Config,
    phorge: PhorgeConfig,
    privacy: Privacy,
}

impl Sink {
    /// The comment for `entry`, or None when it must not be mentioned at all (hidden, private,
    /// or its channel no longer mentions tasks).
    fn comment_for(&self, entry: &Entry) -> Option<String> {
        if !self.phorge.publishes(&self.config, &entry.channel) {
            return None;
        }
        let text = self.privacy.publishable(entry)?;
        let link = self.config.web.base_url.as_deref().map(|b| format!("{}/sal/{}", b.trim_end_matches('/'), entry.id));
        Some(mention(entry, &text, link.as_deref()))
    }
}

/// Rows taken per round.
const BATCH: usize = 50;

/// An outbox row with its entry and the tasks still to do.
type Work = (sal::Work, Option<Entry>, Vec<String>);

fn due_work(conn: &Connection) -> rusqlite::Result<Vec<Work>> {
    let mut out = Vec::new();
    for row in sal::due(conn, PHORGE, Utc::now(), BATCH)? {
        let entry = sal::get(conn, row.entry_id)?;
        let done = store::phorge::mentioned(conn, row.entry_id)?;
        let todo = entry.iter().flat_map(|e| e.tasks.iter()).filter(|t| !done.contains(t)).cloned().collect();
        out.push((row, entry, todo));
    }
    Ok(out)
}

async fn run(sink: Sink, conduit: std::sync::Arc<Conduit>, store: Store, mut stop: oneshot::Receiver<()>) {
    tracing::info!(api = %sink.phorge.api_url, "mentioning tasks on Phorge");
    loop {
        let work = match store.call(due_work).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "phorge: cannot read the outbox");
                Vec::new()
            }
        };
        for (row, entry, todo) in work {
            let comment = entry.as_ref().and_then(|e| sink.comment_for(e));
            let mut failed = None;
            if let Some(text) = comment {
                for task in todo {
                    let (c, t, text) = (conduit.clone(), task.clone(), text.clone());
                    let job = tokio::task::spawn_blocking(move || {
                        let seen = c.visibility(t.trim_start_matches('T'))?;
                        if seen == Visibility::Open {
                            c.comment(&t, &text)?;
                        }
                        Ok::<_, String>(seen)
                    });
                    let outcome = tokio::select! {
                        done = job => done.unwrap_or_else(|e| Err(format!("the Conduit job failed: {e}"))),
                        _ = &mut stop => return,
                    };
                    match outcome {
                        Ok(seen) => {
                            let (id, at) = (row.entry_id, time_text(&Utc::now()));
                            let recorded = store
                                .call(move |conn| store::phorge::record_mention(conn, id, &task, seen.outcome(), &at))
                                .await;
                            if let Err(e) = recorded {
                                failed = Some(format!("cannot record the mention: {e}"));
                                break;
                            }
                        }
                        Err(why) => {
                            failed = Some(why);
                            break;
                        }
                    }
                }
            }
            let (ids, at) = (vec![row.id], Utc::now());
            let recorded = match failed {
                None => store.call(move |conn| sal::mark_done(conn, &ids, at)).await,
                Some(why) => {
                    tracing::warn!(error = %why, entry = row.entry_id, "phorge: mentioning failed; will retry");
                    let (min, max) = (sink.phorge.retry_min_seconds, sink.phorge.retry_max_seconds);
                    store
                        .call(move |conn| sal::mark_failed(conn, &ids, at, &why, move |n| super::backoff(min, max, n)))
                        .await
                }
            };
            if let Err(e) = recorded {
                tracing::error!(error = %e, "phorge: cannot record the outcome (the row will be retried)");
            }
        }
        if !super::idle(&store, &[PHORGE], &WAKE, &mut stop).await {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_read_like_stashbots() {
        let e = Entry {
            id: 812,
            logged_at: "2026-12-03T10:22:00.000Z".into(),
            channel: "#sre".into(),
            nick: "alice".into(),
            account: None,
            userhost: "a@h".into(),
            relayed_by: None,
            message: "x".into(),
            private: false,
            tasks: vec!["T123456".into()],
            hidden_at: None,
            amended_at: None,
        };
        assert_eq!(
            mention(&e, "synced wmf-config (T123456)", Some("https://sal.example/sal/812")),
            "Mentioned in SAL (#sre) [2026-12-03T10:22:00Z] <alice>: synced wmf-config (T123456) (https://sal.example/sal/812)"
        );
        assert_eq!(mention(&e, "x", None), "Mentioned in SAL (#sre) [2026-12-03T10:22:00Z] <alice>: x");
    }
}
