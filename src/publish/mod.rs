//! Publishing the Server Admin Log outside IRC, and what may be published at all.
//!
//! - What of an entry may leave the team is decided by `Privacy` (in `privacy`), for the wiki
//!   as for the web view and the feeds.
//! - The outbox: commands write a `sal_outbox` row in the same transaction as the entry or the
//!   correction ([`enqueue`]), then [`wake`] the publisher. Only the publisher edits the wiki.
//! - [`spawn`]: the publisher task. It wakes on [`wake`] and on a timer for retries, takes the
//!   due rows, builds the page change from each entry's *current* state, applies it with
//!   [`mediawiki::apply`] on the blocking pool, and marks the rows done, or failed with a
//!   bounded, jittered backoff.

pub mod mediawiki;
pub(crate) mod phorge;
pub(crate) mod report;
pub(crate) mod status;
pub mod wikitext;

use crate::config::{ChannelRole, Config, MediaWikiConfig};
use crate::names::ChannelName;
use crate::privacy::Privacy;
use crate::store::sal::{self, Action, Entry};
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::{oneshot, Notify};
use wikitext::{Change, PageEntry};

/// The outbox's name for the MediaWiki sink.
pub const MEDIAWIKI: &str = "mediawiki";

/// The sinks that publish each channel, taken from the config once, so that store closures
/// (which must own what they use) can queue work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// Channels whose entries go to the wiki; None: no wiki configured.
    mediawiki: Option<Vec<ChannelName>>,
    /// Channels whose entries mention tasks on Phorge; None: not configured.
    phorge: Option<Vec<ChannelName>>,
}

impl Targets {
    pub fn from_config(config: &Config) -> Targets {
        let published = |publishes: &dyn Fn(&str) -> bool| {
            config.channels.iter().filter(|ch| publishes(ch.name.as_str())).map(|ch| ch.name.clone()).collect()
        };
        let mediawiki = config.publish.mediawiki.as_ref().map(|mw| published(&|ch| mw.publishes(config, ch)));
        let phorge = config.publish.phorge.as_ref().map(|ph| published(&|ch| ph.publishes(config, ch)));
        Targets { mediawiki, phorge }
    }

    /// Queues a change of entry `entry_id` for every sink that publishes `channel`. Call it
    /// inside the store call that makes the change, so both commit together. Returns whether
    /// anything was queued (then call [`wake`] after the commit).
    pub fn enqueue(
        &self,
        conn: &Connection,
        entry_id: i64,
        channel: &str,
        private: bool,
        action: Action,
        at: DateTime<Utc>,
    ) -> rusqlite::Result<bool> {
        if private {
            return Ok(false);
        }
        let has = |sink: &Option<Vec<ChannelName>>| sink.as_ref().is_some_and(|chs| chs.iter().any(|c| c == channel));
        let wiki = has(&self.mediawiki);
        // A task is told about an entry once, when the entry is first published.
        let tasks =
            has(&self.phorge) && action == Action::Publish && crate::store::phorge::mentions_tasks(conn, entry_id)?;
        // History imported from the wiki is there already; its corrections stay here.
        if !(wiki || tasks) || crate::store::ingest::is_imported(conn, entry_id)? {
            return Ok(false);
        }
        if wiki {
            sal::enqueue(conn, MEDIAWIKI, entry_id, action, at)?;
        }
        if tasks {
            sal::enqueue(conn, phorge::PHORGE, entry_id, action, at)?;
        }
        Ok(true)
    }
}

static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Tells the publisher there is new work. Cheap; a wake with nobody waiting is remembered.
pub fn wake() {
    WAKE.notify_one();
    phorge::wake();
}

/// A running publisher task and the way to stop it.
type Running = (oneshot::Sender<()>, tokio::task::JoinHandle<()>);

/// The running publishers. [`Publisher::stop`] ends them (and so releases their store handles).
pub struct Publisher {
    running: Vec<Running>,
}

impl Publisher {
    /// A publisher that runs nothing (a placeholder while one is replaced).
    pub fn none() -> Publisher {
        Publisher { running: Vec::new() }
    }

    /// Stops the publishers: an edit in flight gets a few seconds to finish and be recorded.
    pub async fn stop(self) {
        let mut tasks = Vec::new();
        for (stop, task) in self.running {
            let _ = stop.send(());
            tasks.push(task);
        }
        for mut task in tasks {
            if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

/// Starts a publisher for each configured sink (`[publish.mediawiki]`, `[publish.phorge]`).
/// Must be called inside the tokio runtime.
pub fn spawn(config: &Config, store: Store) -> Publisher {
    let running =
        [spawn_mediawiki(config, store.clone()), phorge::spawn(config, store)].into_iter().flatten().collect();
    Publisher { running }
}

fn spawn_mediawiki(config: &Config, store: Store) -> Option<Running> {
    let mw = config.publish.mediawiki.clone()?;
    let password = match mw.resolve_password() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "publish.mediawiki.password_file: not publishing to the wiki");
            return None;
        }
    };
    let wiki = mediawiki::Wiki::new(&mw, password);
    let sink = Sink { config: config.clone(), mw, privacy: Privacy::from_config(&config.sal) };
    let (stop_tx, stop_rx) = oneshot::channel();
    Some((stop_tx, tokio::spawn(run(sink, wiki, store, stop_rx))))
}

struct Sink {
    config: Config,
    mw: MediaWikiConfig,
    privacy: Privacy,
}

impl Sink {
    /// What the page should say about `entry`: its line, or nothing.
    fn change(&self, entry: &Entry) -> Change {
        let published = self.mw.publishes(&self.config, &entry.channel);
        match (published, self.privacy.publishable(entry), entry.time()) {
            (true, Some(text), Some(at)) => Change::Put(PageEntry { id: entry.id, at, nick: entry.nick.clone(), text }),
            _ => Change::Remove(entry.id),
        }
    }
}

/// The delay after failed attempt number `attempts` (1, 2, …): doubling from `min_secs` up to
/// `max_secs`, then between half and all of that at random (never below `min_secs`), so that
/// several bots, or a bot after a restart, do not hammer a recovering wiki in step.
pub(crate) fn backoff(min_secs: u64, max_secs: u64, attempts: u32) -> chrono::Duration {
    let min = min_secs.max(1) as f64;
    let max = (max_secs as f64).max(min);
    let full = (min * 2f64.powi(attempts.saturating_sub(1).min(30) as i32)).min(max);
    let jittered = full * (0.5 + fastrand::f64() / 2.0);
    chrono::Duration::milliseconds((jittered.max(min) * 1000.0) as i64)
}

/// Rows taken per edit: one edit publishes them all.
const BATCH: usize = 200;
/// Even with nothing due, look at the outbox this often (rows written by another process).
const IDLE_POLL: Duration = Duration::from_secs(60);

async fn run(sink: Sink, wiki: mediawiki::Wiki, store: Store, mut stop: oneshot::Receiver<()>) {
    tracing::info!(page = %sink.mw.page, "publishing the SAL to MediaWiki");
    let mut wiki = Some(wiki);
    loop {
        let now = Utc::now();
        let work = store
            .call(move |conn| {
                // One page: everything waiting for it goes in the same edit.
                let rows = sal::due_together(conn, MEDIAWIKI, now, BATCH)?;
                let mut entries = Vec::new();
                for id in rows.iter().map(|r| r.entry_id) {
                    if !entries.iter().any(|e: &Entry| e.id == id) {
                        entries.extend(sal::get(conn, id)?);
                    }
                }
                Ok((rows, entries))
            })
            .await;
        let mut more = false;
        match work {
            Err(e) => tracing::warn!(error = %e, "publisher: cannot read the outbox"),
            Ok((rows, _)) if rows.is_empty() => {}
            Ok((rows, entries)) => {
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let changes: Vec<Change> = entries.iter().map(|e| sink.change(e)).collect();
                let Some(mut w) = wiki.take() else { break };
                let (title, summary) = (sink.mw.page.clone(), summary(&changes));
                let job = tokio::task::spawn_blocking(move || {
                    let result = mediawiki::apply(&mut w, &title, &changes, &summary);
                    (w, result)
                });
                let (w, result) = tokio::select! {
                    done = job => match done {
                        Ok(done) => done,
                        Err(e) => {
                            tracing::error!(error = %e, "publisher: the wiki job failed");
                            break;
                        }
                    },
                    _ = &mut stop => break,
                };
                wiki = Some(w);
                let at = Utc::now();
                let recorded = match result {
                    Ok(()) => {
                        tracing::info!(rows = ids.len(), entries = entries.len(), "published to the wiki");
                        more = rows.len() == BATCH;
                        store.call(move |conn| sal::mark_done(conn, &ids, at)).await
                    }
                    Err(e) => {
                        let why = e.to_string();
                        tracing::warn!(error = %why, rows = ids.len(), "publishing to the wiki failed; will retry");
                        let (min, max) = (sink.mw.retry_min_seconds, sink.mw.retry_max_seconds);
                        let delay = move |n: u32| backoff(min, max, n);
                        store.call(move |conn| sal::mark_failed(conn, &ids, at, &why, delay)).await
                    }
                };
                if let Err(e) = recorded {
                    tracing::error!(error = %e, "publisher: cannot record the outcome (the rows will be retried)");
                }
            }
        }
        if let Some(title) = &sink.mw.status_page {
            let (min, max) = (sink.mw.retry_min_seconds, sink.mw.retry_max_seconds);
            status::step(&store, &mut wiki, title, &sink.privacy, move |n| backoff(min, max, n)).await;
        }
        if more {
            continue;
        }
        if !idle(&store, &[MEDIAWIKI, crate::store::incident::STATUS_SINK], &WAKE, &mut stop).await {
            break;
        }
    }
}

/// Waits until `sink`'s next row is due, a [`wake`], or at most [`IDLE_POLL`]; false when told
/// to stop instead.
async fn idle(store: &Store, sinks: &'static [&'static str], wake: &Notify, stop: &mut oneshot::Receiver<()>) -> bool {
    let next_due = move |conn: &Connection| -> rusqlite::Result<Option<DateTime<Utc>>> {
        let mut next = None;
        for sink in sinks {
            next = next.into_iter().chain(sal::next_due(conn, sink)?).min();
        }
        Ok(next)
    };
    let wait = match store.call(next_due).await {
        Ok(Some(next)) => (next - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(IDLE_POLL),
        Ok(None) => IDLE_POLL,
        Err(_) => Duration::from_secs(5),
    };
    tokio::select! {
        _ = wake.notified() => true,
        _ = tokio::time::sleep(wait) => true,
        _ = stop => false,
    }
}

/// The edit summary: how many entries were added or changed, and removed.
fn summary(changes: &[Change]) -> String {
    let put = changes.iter().filter(|c| matches!(c, Change::Put(_))).count();
    let removed = changes.len() - put;
    match (put, removed) {
        (p, 0) => format!("srebot: Server Admin Log, {p} entr{}", if p == 1 { "y" } else { "ies" }),
        (0, r) => format!("srebot: Server Admin Log, {r} entr{} removed", if r == 1 { "y" } else { "ies" }),
        (p, r) => format!("srebot: Server Admin Log, {p} entr{}, {r} removed", if p == 1 { "y" } else { "ies" }),
    }
}

impl MediaWikiConfig {
    /// Whether entries of `channel` go to the wiki (never those of a security channel).
    pub fn publishes(&self, config: &Config, channel: &str) -> bool {
        sink_publishes(config, &self.channels, channel)
    }
}

/// Whether a sink whose `channels` key lists these (empty: every public channel) publishes
/// `channel`: never a security channel.
pub(crate) fn sink_publishes(config: &Config, channels: &[String], channel: &str) -> bool {
    let Some(ch) = config.channel(channel) else { return false };
    ch.role == ChannelRole::Public && (channels.is_empty() || channels.iter().any(|c| ch.name == c.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        // One file per call: the tests run in parallel, and a file another test is rewriting
        // reads as empty.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("srebot-publish-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join(format!("bot-password-{call}"));
        std::fs::write(&pw, "abcdefghijklmnopqrstuvwxyz234567\n").unwrap();
        crate::testing::config(&format!(
            r##"
[[channels]]
name = "#ops"
role = "public"
[sal]
internal_networks = ["10.0.0.0/8"]
{extra}
[publish.mediawiki]
api_url = "http://127.0.0.1:1/api.php"
page = "Tech:Server_admin_log"
username = "Srebot@sal"
password_file = {pw:?}
channels = ["#sre"]
retry_min_seconds = 2
retry_max_seconds = 60
"##
        ))
    }

    fn entry(id: i64, channel: &str, message: &str, private: bool) -> Entry {
        Entry {
            id,
            logged_at: "2026-11-22T10:00:00.000Z".into(),
            channel: channel.into(),
            nick: "alice".into(),
            account: Some("alice".into()),
            userhost: "a@h".into(),
            relayed_by: None,
            message: message.into(),
            private,
            tasks: vec![],
            hidden_at: None,
            amended_at: None,
        }
    }

    #[test]
    fn privacy_masks_and_withholds() {
        let publishable_text = |c: &Config, e: &Entry| Privacy::from_config(&c.sal).publishable(e);
        let c = config("");
        let e = entry(1, "#sre", "moved 203.0.113.9 and 10.1.2.3 to 2001:db8::1", false);
        assert_eq!(publishable_text(&c, &e).as_deref(), Some("moved [IP hidden] and 10.1.2.3 to [IP hidden]"));
        assert_eq!(publishable_text(&c, &entry(2, "#sre-security", "x", true)), None);
        let mut hidden = entry(3, "#sre", "x", false);
        hidden.hidden_at = Some("2026-11-22T10:01:00.000Z".into());
        assert_eq!(publishable_text(&c, &hidden), None);
        let c = config("mask_ips = false");
        assert_eq!(publishable_text(&c, &e).as_deref(), Some(e.message.as_str()));
    }

    #[test]
    fn sink_publishes_only_its_channels_current_state() {
        let c = config("");
        let sink =
            Sink { config: c.clone(), mw: c.publish.mediawiki.clone().unwrap(), privacy: Privacy::from_config(&c.sal) };
        assert!(
            matches!(sink.change(&entry(1, "#sre", "x 192.0.2.1", false)), Change::Put(p) if p.text == "x [IP hidden]")
        );
        assert_eq!(sink.change(&entry(2, "#ops", "x", false)), Change::Remove(2), "#ops is not in channels");
        assert_eq!(sink.change(&entry(3, "#sre-security", "x", true)), Change::Remove(3));
        let mut hidden = entry(4, "#sre", "x", false);
        hidden.hidden_at = Some("2026-11-22T10:01:00.000Z".into());
        assert_eq!(sink.change(&hidden), Change::Remove(4));
    }

    #[test]
    fn backoff_doubles_within_bounds_with_jitter() {
        for _ in 0..200 {
            for (n, full) in [(1u32, 2i64), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60), (u32::MAX, 60)] {
                let d = backoff(2, 60, n).num_milliseconds();
                assert!(d >= 2000 && d <= full * 1000 && d * 2 >= full * 1000, "attempt {n}: {d} ms");
            }
        }
    }

    #[test]
    fn enqueue_only_for_published_channels() {
        let c = config("");
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_database(&dir.path().join("p.sqlite3")).unwrap();
        let at = "2026-11-22T10:00:00Z".parse().unwrap();
        conn.execute(
            "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#sre', 'n', 'u@h', 'm')",
            [],
        )
        .unwrap();
        let t = Targets::from_config(&c);
        assert!(t.enqueue(&conn, 1, "#SRE", false, Action::Publish, at).unwrap());
        assert!(!t.enqueue(&conn, 1, "#sre", true, Action::Publish, at).unwrap());
        assert!(!t.enqueue(&conn, 1, "#ops", false, Action::Publish, at).unwrap());
        assert!(!t.enqueue(&conn, 1, "#sre-security", false, Action::Publish, at).unwrap());
        assert_eq!(sal::outbox_status(&conn, MEDIAWIKI).unwrap().pending, 1);
        conn.execute("UPDATE sal_entry SET import_key = 'k' WHERE id = 1", []).unwrap();
        assert!(!t.enqueue(&conn, 1, "#sre", false, Action::Update, at).unwrap(), "imported: never published");
        let mut off = c.clone();
        off.publish.mediawiki = None;
        assert!(!Targets::from_config(&off).enqueue(&conn, 1, "#sre", false, Action::Publish, at).unwrap());
    }

    #[test]
    fn summaries() {
        let p = Change::Put(PageEntry { id: 1, at: Utc::now(), nick: "a".into(), text: "b".into() });
        assert_eq!(summary(std::slice::from_ref(&p)), "srebot: Server Admin Log, 1 entry");
        assert_eq!(summary(&[Change::Remove(1), Change::Remove(2)]), "srebot: Server Admin Log, 2 entries removed");
        assert_eq!(summary(&[p.clone(), p, Change::Remove(3)]), "srebot: Server Admin Log, 2 entries, 1 removed");
    }
}
