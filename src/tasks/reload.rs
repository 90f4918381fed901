//! The reload task: on every SIGHUP it reads the file again and applies it whole (the rules:
//! [`reload`](crate::reload)), restarting the publishers and the web view when their part
//! changed; it owns them until the shutdown.

use crate::clock::Clock;
use crate::config::Config;
use crate::irc::Client;
use crate::live::LiveConfig;
use crate::metrics::METRICS;
use crate::publish::{self, Publisher};
use crate::reload::{changes, effective};
use crate::store::Store;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The parts of the running bot a reload restarts or tells.
pub(super) struct Reloader {
    pub(super) path: PathBuf,
    pub(super) live: LiveConfig,
    pub(super) store: Store,
    pub(super) client: Client,
    pub(super) publisher: Publisher,
    pub(super) web: Option<Web>,
    /// "Now" for the web view.
    pub(super) clock: Clock,
}

/// The running web view: its address and its server task.
pub(super) struct Web {
    listen: String,
    task: tokio::task::JoinHandle<()>,
}

impl Reloader {
    /// Reloads on every SIGHUP until `stop` resolves; then hands back what it runs, for the
    /// shutdown.
    pub(super) async fn run(mut self, stop: impl std::future::Future<Output = ()>) -> Reloader {
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
    async fn reload(&mut self) {
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
pub(super) async fn start_web(
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
    pub(super) fn stop(self) {
        self.task.abort();
    }
}
