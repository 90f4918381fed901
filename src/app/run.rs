//! The composition root: start every part, and stop them in order.

use crate::{bot::Bot, config, store};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Runs the bot until `shutdown` completes, then stops its parts in order: reminders, commands,
/// the other background jobs (`tasks`: clinic keeper, reloads, publisher, web view), connection,
/// store (which commits what it has).
pub async fn run(mut c: config::Config, path: PathBuf, shutdown: impl std::future::Future<Output = ()>) -> ExitCode {
    let (settings, connector) = match crate::app::session_settings(&c) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let (store, store_thread) = store::Store::open(&c.storage.database);
    // Access granted on IRC survives restarts: it is in the database, on top of the file.
    match store.call(store::access::grants).await {
        Ok(granted) => c.access.granted = granted,
        Err(e) => tracing::error!(error = %e, "cannot read the access grants: only the config file's lists apply"),
    }
    let pid_file = crate::reload::pid_file(&c);
    crate::reload::write_pid_file(&pid_file);
    let sts = Arc::new(crate::sts_policies::StoredSts::new(store.clone()));
    let connector = crate::irc::driver::Connector {
        sts_policy: sts.load(&connector.server).await,
        sts_store: Some(sts),
        ..connector
    };
    let (client, events, driver) = crate::irc::driver::spawn(settings, connector);
    let live = crate::live::LiveConfig::new(c);
    // "Now" for everything that asks: the system's, or a test's (`SREBOT_CLOCK_FILE`).
    let clock = crate::clock::Clock::from_env();
    let (mut tasks, followed) = crate::tasks::start(&live, &store, &client, &clock, path).await;
    let bot = Bot { config: live, store, client, clock, followed };
    let shutdown = async {
        shutdown.await;
        tasks.stop_reminders().await;
    };
    bot.run(events, shutdown).await;
    tasks.stop().await;
    let _ = std::fs::remove_file(&pid_file);
    if tokio::time::timeout(std::time::Duration::from_secs(10), driver).await.is_err() {
        tracing::warn!("the connection did not close in time");
    }
    // Every store handle is gone now: the store thread commits what it has and ends.
    tokio::task::spawn_blocking(move || store_thread.join()).await.ok();
    ExitCode::SUCCESS
}

/// SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
