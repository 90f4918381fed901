//! Reloading the config without reconnecting: on SIGHUP (`systemctl reload srebot`, `srebot
//! reload --config FILE`) the file is read and checked as `check-config` does; with any problem
//! nothing changes and every problem is logged; otherwise it is applied as a whole. What the
//! connection was opened with (server, nick, SASL, TLS, timers) and the database path need a
//! restart: a change there is logged and left as it was.
//!
//! The running bot is found through a PID file beside its database (`<database>.pid`).

use crate::clock::Clock;
use crate::config::{Config, IrcConfig};
use crate::irc::Client;
use crate::live::LiveConfig;
use crate::metrics::METRICS;
use crate::publish::{self, Publisher};
use crate::store::Store;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a reload changes: keys only, never values (some are secrets).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Applied at once.
    pub applied: Vec<String>,
    /// Changed in the file, but only a restart applies them; left as they were.
    pub need_restart: Vec<String>,
}

fn differs<T: Debug>(a: &T, b: &T) -> bool {
    // Debug shows every field but secrets (see `config::Secret`), which are compared apart.
    format!("{a:?}") != format!("{b:?}")
}

/// The keys that differ between `old` and `new`.
pub fn changes(old: &Config, new: &Config) -> Changes {
    let mut c = Changes::default();
    let (a, b) = (&old.irc, &new.irc);
    let secret = |x: &IrcConfig| x.sasl.as_ref().and_then(|s| s.password.as_ref().map(|p| p.expose().to_string()));
    let restart = [
        ("irc.server", differs(&a.server, &b.server)),
        ("irc.port", a.port != b.port),
        ("irc.tls", differs(&(a.tls, a.tls_verify), &(b.tls, b.tls_verify))),
        (
            "irc.tls_files",
            differs(
                &(&a.tls_ca_file, &a.tls_cert_file, &a.tls_key_file),
                &(&b.tls_ca_file, &b.tls_cert_file, &b.tls_key_file),
            ),
        ),
        ("irc.nick", differs(&(&a.nick, &a.alt_nicks), &(&b.nick, &b.alt_nicks))),
        ("irc.username", differs(&(&a.username, &a.realname), &(&b.username, &b.realname))),
        ("irc.sasl", differs(&a.sasl, &b.sasl) || secret(a) != secret(b)),
        ("irc.timeouts", differs(&a.timeouts, &b.timeouts)),
        ("storage.database", old.storage.database != new.storage.database),
    ];
    c.need_restart = restart.iter().filter(|(_, d)| *d).map(|(k, _)| k.to_string()).collect();
    let channel_keys = |x: &Config| -> Vec<Option<String>> {
        x.channels.iter().map(|ch| ch.key.as_ref().map(|k| k.expose().to_string())).collect()
    };
    let (o, n) = (&old.access, &new.access);
    let live = [
        ("irc.flood", differs(&a.flood, &b.flood)),
        ("channels", differs(&old.channels, &new.channels) || channel_keys(old) != channel_keys(new)),
        ("access.accounts", o.accounts != n.accounts),
        ("access.hostmasks", o.hostmasks != n.hostmasks),
        ("access.admins", o.admins != n.admins),
        ("access.relays", o.relays != n.relays),
        ("commands", differs(&old.commands, &new.commands)),
        ("sal", differs(&old.sal, &new.sal)),
        ("web", differs(&old.web, &new.web)),
        ("incidents", differs(&old.incidents, &new.incidents)),
        ("publish", differs(&old.publish, &new.publish)),
        ("clinic", differs(&old.clinic, &new.clinic)),
        ("ratelimit", old.ratelimit != new.ratelimit),
    ];
    c.applied = live.iter().filter(|(_, d)| *d).map(|(k, _)| k.to_string()).collect();
    c
}

/// The config a reload puts in effect: `new`, but with what needs a restart kept from `old`
/// (all of `[irc]` but `flood`, and `[storage]`), and the running process's own state (the
/// grants from the database).
pub fn effective(old: &Config, mut new: Config) -> Config {
    new.irc = IrcConfig { flood: new.irc.flood.clone(), ..old.irc.clone() };
    new.storage = old.storage.clone();
    new.access.granted = old.access.granted.clone();
    new
}

/// Where the running bot writes its process id: beside its database.
pub fn pid_file(c: &Config) -> PathBuf {
    let mut name = c.storage.database.clone().into_os_string();
    name.push(".pid");
    PathBuf::from(name)
}

/// Writes the PID file (a failure is logged: only `srebot reload` needs it).
pub fn write_pid_file(path: &Path) {
    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the PID file: `srebot reload` will not find this process");
    }
}

/// Asks the bot that runs with config `c` to reload (SIGHUP through its PID file); the answer
/// says whom it asked, or why it could not.
pub fn signal_running(c: &Config) -> Result<u32, String> {
    let path = pid_file(c);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {} ({}): is srebot running with this config?", path.display(), e.kind()))?;
    let pid: i32 = text.trim().parse().map_err(|_| format!("{} does not hold a process id", path.display()))?;
    // A stale file may name someone else's process by now: signal only an srebot.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if !comm.trim().starts_with("srebot") {
        return Err(format!("process {pid} (from {}) is not a running srebot", path.display()));
    }
    // SAFETY: kill(2) with a plain pid and signal number has no memory effects.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        return Err(format!("cannot signal process {pid}: {}", std::io::Error::last_os_error()));
    }
    Ok(pid as u32)
}

/// The parts of the running bot a reload restarts or tells.
pub struct Reloader {
    pub path: PathBuf,
    pub live: LiveConfig,
    pub store: Store,
    pub client: Client,
    pub publisher: Publisher,
    pub web: Option<Web>,
    /// "Now" for the web view.
    pub clock: Clock,
}

/// The running web view: its address and its server task.
pub struct Web {
    listen: String,
    task: tokio::task::JoinHandle<()>,
}

impl Reloader {
    /// Reloads on every SIGHUP until `stop` resolves; then hands back what it runs, for the
    /// shutdown.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) -> Reloader {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "no SIGHUP handler: reload needs a restart");
                stop.await;
                return self;
            }
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return self,
                _ = hup.recv() => self.reload().await,
            }
        }
    }

    /// Reads the file again and applies it whole, or changes nothing and logs why.
    pub async fn reload(&mut self) {
        let file = self.path.display().to_string();
        let loaded = match crate::app::load_config(&self.path) {
            Ok(c) => c,
            Err(problems) => return refused(&file, problems.iter().map(|p| p.to_string()).collect()),
        };
        let old = self.live.get();
        let channels = match crate::app::join_targets(&loaded) {
            Ok(t) => t,
            Err(e) => return refused(&file, vec![e]),
        };
        let changes = changes(&old, &loaded);
        let next = Arc::new(effective(&old, loaded));
        // The only step that can fail, so it goes first: a new web address must be bindable.
        let rebind_web = changes.applied.iter().any(|k| ["web", "sal", "channels", "clinic"].contains(&k.as_str()));
        let new_listener = if rebind_web && next.web.listen != self.web.as_ref().map(|w| w.listen.clone()) {
            match &next.web.listen {
                Some(listen) => match tokio::net::TcpListener::bind(listen).await {
                    Ok(l) => Some(l),
                    Err(e) => return refused(&file, vec![format!("web.listen: cannot listen on {listen}: {e}")]),
                },
                None => None,
            }
        } else {
            None
        };
        let applied = next.clone();
        self.live.replace(move |current| {
            let mut n = (*applied).clone();
            n.access.granted = current.access.granted.clone(); // a grant made meanwhile stays
            n
        });
        self.client.reconfigure(channels, next.irc.flood.clone());
        if changes.applied.iter().any(|k| ["publish", "sal", "channels"].contains(&k.as_str())) {
            let old = std::mem::replace(&mut self.publisher, Publisher::none());
            old.stop().await;
            self.publisher = publish::spawn(&next, self.store.clone());
        }
        if rebind_web {
            if let Some(old) = self.web.take() {
                old.task.abort();
                let _ = old.task.await;
            }
            self.web = start_web(&next, &self.store, &self.client, &self.clock, new_listener).await;
        }
        METRICS.reloads_ok.fetch_add(1, Ordering::Relaxed);
        if !changes.need_restart.is_empty() {
            tracing::warn!(keys = %changes.need_restart.join(", "), "config reload: these need a restart and were left as they were");
        }
        let applied = if changes.applied.is_empty() { "nothing".to_string() } else { changes.applied.join(", ") };
        tracing::info!(%file, changed = %applied, "config reloaded");
    }
}

fn refused(file: &str, problems: Vec<String>) {
    METRICS.reloads_failed.fetch_add(1, Ordering::Relaxed);
    for p in &problems {
        tracing::error!(%file, problem = %p, "config reload refused");
    }
    tracing::error!(%file, problems = problems.len(), "config reload refused: nothing changed");
}

/// Starts the web view when `[web] listen` is set, on `listener` when one is already bound. A
/// web server that cannot start is logged, not fatal: the bot's IRC side matters more.
pub async fn start_web(
    config: &Arc<Config>,
    store: &Store,
    client: &Client,
    clock: &Clock,
    listener: Option<tokio::net::TcpListener>,
) -> Option<Web> {
    let listen = config.web.listen.clone()?;
    let web = match crate::web::Web::new(config.clone(), store.clone(), client.clone(), clock.clone()) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "web view not started");
            return None;
        }
    };
    let listener = match listener {
        Some(l) => l,
        None => match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(%listen, error = %e, "web view cannot listen");
                return None;
            }
        },
    };
    tracing::info!(%listen, "web view listening");
    let task = tokio::spawn(async move {
        if let Err(e) = crate::web::serve(listener, web).await {
            tracing::error!(error = %e, "web view stopped");
        }
    });
    Some(Web { listen, task })
}

impl Web {
    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> String {
        crate::testing::config_text("[access]\naccounts = [\"alice\"]")
    }

    fn parse(raw: &str) -> Config {
        crate::config::parse(raw).unwrap()
    }

    #[test]
    fn changes_name_keys_and_split_live_from_restart() {
        let old = parse(&base());
        assert_eq!(changes(&old, &old), Changes::default());
        let new = parse(
            &(base()
                .replace("accounts = [\"alice\"]", "accounts = [\"alice\", \"bob\"]")
                .replace("nick = \"srebot\"", "nick = \"srebot2\"\n[irc.flood]\nburst = 9")
                .replace("\"x.sqlite3\"", "\"y.sqlite3\"")
                + "[[channels]]\nname = \"#ops\"\nrole = \"public\"\n"),
        );
        let c = changes(&old, &new);
        assert_eq!(c.applied, vec!["irc.flood", "channels", "access.accounts"]);
        assert_eq!(c.need_restart, vec!["irc.nick", "storage.database"]);
        let next = effective(&old, new);
        assert_eq!((next.irc.nick.as_str(), next.irc.flood.burst), ("srebot", 9));
        assert_eq!(next.storage.database, old.storage.database);
        assert_eq!(next.channels.len(), old.channels.len() + 1);
        assert_eq!(pid_file(&next), PathBuf::from("x.sqlite3.pid"));
    }

    #[test]
    fn a_changed_secret_is_seen_but_never_shown() {
        let with_key =
            |k: &str| parse(&base().replace("role = \"public\"", &format!("role = \"public\"\nkey = \"{k}\"")));
        let c = changes(&with_key("one-secret"), &with_key("two-secret"));
        assert_eq!(c.applied, vec!["channels"]);
        assert!(!format!("{c:?}").contains("secret"));
    }
}
