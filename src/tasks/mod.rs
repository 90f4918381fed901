//! The long-running background jobs, started from one place ([`start`], by the composition
//! root) and stopped in order ([`Tasks::stop`]): the clinic-duty topic keeper
//! ([`clinic_topic`]), the incident reminders ([`reminders`]), the publishers
//! ([`publish::spawn`](crate::publish::spawn)), the web view and the reloader ([`reload`], which
//! restarts those two on SIGHUP). Each is an async loop that owns a timer or a channel; what it
//! decides is in its domain module.

mod clinic_topic;
mod reload;
mod reminders;

use crate::clock::Clock;
use crate::irc::{Client, Event};
use crate::live::LiveConfig;
use crate::store::Store;
use reload::Reloader;
use std::path::PathBuf;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The running background jobs, for the shutdown.
pub(crate) struct Tasks {
    reminders: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    clinic: JoinHandle<()>,
    reloads: (oneshot::Sender<()>, JoinHandle<Reloader>),
}

/// Starts every background job for the bot that runs with `live` from the file at `path`. The
/// sender is for the bot: the connection's events other than messages, which the clinic keeper
/// follows (it ends when the sender is dropped).
pub(crate) async fn start(
    live: &LiveConfig,
    store: &Store,
    client: &Client,
    clock: &Clock,
    path: PathBuf,
) -> (Tasks, mpsc::UnboundedSender<Event>) {
    let publisher = crate::publish::spawn(&live.get(), store.clone()); // SAL outbox → MediaWiki, Phorge (if configured)
    let web = reload::start_web(&live.get(), store, client, clock, None).await;
    let reloader = Reloader {
        path,
        live: live.clone(),
        store: store.clone(),
        client: client.clone(),
        publisher,
        web,
        clock: clock.clone(),
    };
    let (stop_reloads, stopped) = oneshot::channel::<()>();
    let reloader = tokio::spawn(reloader.run(async move {
        let _ = stopped.await;
    }));
    let (events, followed) = mpsc::unbounded_channel();
    let clinic =
        tokio::spawn(clinic_topic::follow(live.clone(), store.clone(), client.clone(), clock.clone(), followed));
    let (stop_reminders, stopped) = oneshot::channel();
    let reminders = tokio::spawn(reminders::run(live.clone(), store.clone(), client.clone(), clock.clone(), stopped));
    (Tasks { reminders: Some((stop_reminders, reminders)), clinic, reloads: (stop_reloads, reloader) }, events)
}

impl Tasks {
    /// Stops the reminders, after the one being sent (if any): called when the shutdown begins,
    /// so that none starts while the bot says goodbye.
    pub(crate) async fn stop_reminders(&mut self) {
        if let Some((stop, task)) = self.reminders.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// Stops every job, in order: reminders, clinic keeper, reloads, publishers (which finish
    /// the entry in flight), web view.
    pub(crate) async fn stop(mut self) {
        self.stop_reminders().await;
        self.clinic.abort();
        let _ = self.clinic.await;
        let (stop_reloads, reloader) = self.reloads;
        let _ = stop_reloads.send(());
        if let Ok(reloader) = reloader.await {
            reloader.publisher.stop().await;
            if let Some(web) = reloader.web {
                web.stop();
            }
        }
    }
}
