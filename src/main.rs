//! The `srebot` command: run the bot, check a config, back up the database.

use clap::{Parser, Subcommand};
use srebot::{bot::Bot, config, store};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(version, about = "An IRC bot that keeps an SRE team's Server Admin Log, incidents and clinic duty")]
struct Cli {
    /// The configuration file (TOML); see config.example.toml.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand)]
enum Sub {
    /// Run the bot (the default when no subcommand is given).
    Run,
    /// Check a configuration file and print every problem with its key and line.
    CheckConfig { file: PathBuf },
    /// Copy the database consistently (SQLite online backup), even while the bot runs.
    Backup {
        dest: PathBuf,
        /// Replace DEST if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Clinic duty: import or export the rotation.
    Clinic {
        #[command(subcommand)]
        command: ClinicCommand,
    },
    /// Server Admin Log: an entry in full, for admins (hidden ones and their original text too).
    Sal {
        #[command(subcommand)]
        command: SalCommand,
    },
    /// Incidents: print a report draft.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Log a Server Admin Log entry through the bot's ingest API (for scripts): prints
    /// `Logged #N <url>`. URL and token from --config FILE (url, token_file, channel,
    /// retry_seconds) or SREBOT_URL and SREBOT_TOKEN_FILE. Retries connection errors and 503.
    Log {
        /// The channel (else the config's, else the token's only channel).
        #[arg(long)]
        channel: Option<String>,
        /// Who did it, user@host (default: $USER@hostname).
        #[arg(long)]
        author: Option<String>,
        /// Keep retrying for this many seconds (default: the config's retry_seconds, else 120).
        #[arg(long)]
        retry_for: Option<u64>,
        /// The message (several words are joined with spaces).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        message: Vec<String>,
    },
    /// Ask the running bot to reload its config (SIGHUP through its PID file, `<database>.pid`),
    /// after checking the file here first: a file with problems is not sent.
    Reload,
    /// Access: who may use the bot, from the config file and granted on IRC (`!access`).
    Access {
        #[command(subcommand)]
        command: AccessCommand,
    },
    /// Alerts: the "pages for awareness" of a duty week.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
}

#[derive(Subcommand)]
enum AccessCommand {
    /// The config file's lists, the grants made on IRC (who, when, why) and the latest changes.
    List,
}

#[derive(Subcommand)]
enum AlertsCommand {
    /// Print the alerts that fired in the duty week containing --week, grouped by name (public
    /// alerts; with --channel, that security channel's).
    Pages {
        #[arg(long)]
        week: String,
        #[arg(long)]
        channel: Option<String>,
        /// wikitext (MediaWiki) or markdown
        #[arg(long, default_value = "wikitext")]
        format: String,
    },
}

#[derive(Subcommand)]
enum ClinicCommand {
    /// Import the base rotation from CSV (week_start,clinician,backup,team) or the wiki table
    /// text; idempotent, reports each added and changed week (old → new) and the weeks the file
    /// lacks, which are kept. Bad rows are reported by line and nothing is imported.
    Import {
        file: PathBuf,
        /// Report what the import would change, and store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove week YYYY-MM-DD from the base rotation (recorded with who and when); changes made
    /// on IRC for it stay (`!clinic unset` removes those).
    Remove { week: String },
    /// Print the schedule in effect as CSV: the imported rotation with the changes made on IRC
    /// (set, none, swap, override) applied.
    Export {
        /// Only the imported rotation, without the changes made on IRC.
        #[arg(long)]
        base: bool,
    },
}

#[derive(Subcommand)]
enum SalCommand {
    /// Print entry ID with every correction (undo, redaction, amendment) and the texts they replaced.
    Show { id: i64 },
    /// Import the log's history from a wiki SAL page (`== YYYY-MM-DD ==` days, `* HH:MM nick:
    /// message` lines) into CHANNEL, marked imported and never published again. Idempotent: a
    /// second run adds nothing, a run after new wiki edits only the new lines. Reports per day.
    ImportWiki {
        /// The page title, read through the Action API.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        page: Option<String>,
        /// The wiki's api.php (default: [publish.mediawiki] api_url).
        #[arg(long, requires = "page")]
        api: Option<String>,
        /// A file holding the page's wikitext instead.
        #[arg(long)]
        file: Option<PathBuf>,
        /// The channel the entries belong to (one of the config's [[channels]]).
        #[arg(long)]
        channel: String,
        /// Also import every subpage PAGE/… (monthly archives).
        #[arg(long, requires = "page")]
        archives: bool,
    },
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Print the post-mortem draft of incident N, as numbered in the public channels or, with
    /// --channel, in that security channel (security incidents included: this is the CLI).
    Report {
        number: i64,
        /// A security channel, for its incidents (they have numbers of their own).
        #[arg(long)]
        channel: Option<String>,
        /// wikitext (MediaWiki) or markdown
        #[arg(long, default_value = "wikitext")]
        format: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Sub::Run) {
        Sub::CheckConfig { file } => check_config(&file),
        Sub::Backup { dest, force } => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot --config FILE backup DEST") else {
                return ExitCode::FAILURE;
            };
            match store::backup(&c.storage.database, &dest, force) {
                Ok(()) => {
                    println!("backed up {} to {}", c.storage.database.display(), dest.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("backup failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Sub::Clinic { command } => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot --config FILE clinic import|export|remove …")
            else {
                return ExitCode::FAILURE;
            };
            match command {
                ClinicCommand::Import { file, dry_run } => srebot::clinic_cli::import(&c, &file, dry_run),
                ClinicCommand::Remove { week } => srebot::clinic_cli::remove(&c, &week),
                ClinicCommand::Export { base } => clinic_export(&c, base),
            }
        }
        Sub::Sal { command: SalCommand::ImportWiki { page, api, file, channel, archives } } => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot --config FILE sal import-wiki …") else {
                return ExitCode::FAILURE;
            };
            let source = match (&page, &file) {
                (Some(title), _) => srebot::ingest::wiki::Source::Page { title, api: api.as_deref(), archives },
                (None, Some(path)) => srebot::ingest::wiki::Source::File(path),
                (None, None) => {
                    eprintln!("import-wiki: give --page TITLE or --file WIKITEXT");
                    return ExitCode::FAILURE;
                }
            };
            match srebot::ingest::wiki::run(&c, source, &channel) {
                Ok(lines) => {
                    for l in lines {
                        println!("{l}");
                    }
                    ExitCode::SUCCESS
                }
                Err(why) => {
                    eprintln!("import-wiki: {why}");
                    ExitCode::FAILURE
                }
            }
        }
        Sub::Sal { command: SalCommand::Show { id } } => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot --config FILE sal show ID") else {
                return ExitCode::FAILURE;
            };
            sal_show(&c, id)
        }
        Sub::Incident { command: IncidentCommand::Report { number, channel, format } } => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot --config FILE incident report N") else {
                return ExitCode::FAILURE;
            };
            print_report(&c, number, channel.as_deref(), &format)
        }
        Sub::Log { channel, author, retry_for, message } => {
            let entry = srebot::ingest::client::Entry { message: message.join(" "), channel, author, retry_for };
            match srebot::ingest::client::run(cli.config.as_deref(), entry) {
                Ok(line) => {
                    println!("{line}");
                    ExitCode::SUCCESS
                }
                Err(why) => {
                    eprintln!("srebot log: {why}");
                    ExitCode::FAILURE
                }
            }
        }
        Sub::Reload => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot reload --config FILE") else {
                return ExitCode::FAILURE;
            };
            match srebot::reload::signal_running(&c) {
                Ok(pid) => {
                    println!("asked srebot (pid {pid}) to reload; its log says what changed");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("srebot reload: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Sub::Alerts { command: AlertsCommand::Pages { week, channel, format } } => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot --config FILE alerts pages --week YYYY-MM-DD")
            else {
                return ExitCode::FAILURE;
            };
            match srebot::alerts::pages::cli(&c, &week, channel.as_deref(), &format) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Sub::Access { command: AccessCommand::List } => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot --config FILE access list") else {
                return ExitCode::FAILURE;
            };
            access_list(&c)
        }
        Sub::Run => {
            let Some(c) = load_or_report(cli.config.as_deref(), "srebot --config FILE") else {
                return ExitCode::FAILURE;
            };
            init_logging();
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            runtime.block_on(run(c, cli.config.unwrap_or_default()))
        }
    }
}

fn access_list(c: &config::Config) -> ExitCode {
    let found = store::open_database(&c.storage.database)
        .and_then(|conn| Ok((store::access::grants(&conn)?, store::access::audit_trail(&conn, 20)?)));
    let (grants, trail) = match found {
        Ok(found) => found,
        Err(e) => {
            eprintln!("cannot read the access grants: {e}");
            return ExitCode::FAILURE;
        }
    };
    let a = &c.access;
    for (what, list) in
        [("admin", &a.admins), ("member", &a.accounts), ("hostmask", &a.hostmasks), ("relay", &a.relays)]
    {
        for name in list {
            println!("{name}\t{what}\tconfig file");
        }
    }
    for g in &grants {
        let level = if g.admin { "admin" } else { "member" };
        println!("{}\t{level}\tgranted on IRC by {} at {}: {}", g.account, g.by, g.at, g.reason);
    }
    if !trail.is_empty() {
        println!("\nlatest changes made on IRC, newest first:");
    }
    for r in &trail {
        println!(
            "{} {} {} {} by {}: {}",
            r.at,
            r.action,
            r.account,
            r.level.as_deref().unwrap_or(""),
            r.actor,
            r.reason
        );
    }
    ExitCode::SUCCESS
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match srebot::app::load_config(file) {
        Ok(c) => {
            for w in config::warnings(&c) {
                println!("{}: warning: {w}", file.display());
            }
            println!("{}: OK", file.display());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                println!("{}: {p}", file.display());
            }
            println!("{} problem(s)", problems.len());
            ExitCode::FAILURE
        }
    }
}

fn clinic_export(c: &config::Config, base_only: bool) -> ExitCode {
    let rows = store::open_database(&c.storage.database).and_then(|conn| {
        Ok(if base_only { store::clinic::base_rows(&conn)? } else { store::clinic::effective_rows(&conn)? })
    });
    match rows {
        Ok(rows) => {
            print!("{}", srebot::clinic::import::to_csv(&rows));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("export failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn sal_show(c: &config::Config, id: i64) -> ExitCode {
    let found = store::open_database(&c.storage.database).and_then(|conn| {
        let entry = store::sal::get(&conn, id)?;
        let corrections = store::sal::corrections(&conn, id)?;
        Ok((entry, corrections))
    });
    match found {
        Ok((Some(e), corrections)) => {
            println!(
                "#{} {} {} {} ({}) [{}]",
                e.id,
                e.logged_at,
                e.channel,
                e.nick,
                e.userhost,
                e.account.as_deref().unwrap_or("no account")
            );
            if e.private {
                println!("private: made in a security channel");
            }
            if let Some(client) = &e.relayed_by {
                println!("relayed by {client}");
            }
            if store::open_database(&c.storage.database)
                .and_then(|conn| Ok(store::ingest::is_imported(&conn, id)?))
                .unwrap_or(false)
            {
                println!("imported from a wiki page");
            }
            if let Some(at) = &e.hidden_at {
                println!("hidden since {at}");
            }
            println!("text: {}", e.message);
            // The trail, oldest first: each correction with who, when, why and both texts.
            for k in corrections {
                println!(
                    "{} {} by {} ({})",
                    k.at,
                    k.kind.as_str(),
                    k.actor_nick,
                    k.actor_account.as_deref().unwrap_or("no account")
                );
                if !k.reason.is_empty() {
                    println!("  reason: {}", k.reason);
                }
                println!("  old text: {}", k.old_text);
                if let Some(new) = &k.new_text {
                    println!("  new text: {new}");
                }
            }
            ExitCode::SUCCESS
        }
        Ok((None, _)) => {
            eprintln!("no entry #{id}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot read entry #{id}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_report(c: &config::Config, number: i64, channel: Option<&str>, format: &str) -> ExitCode {
    use srebot::incident::report::{render, Format};
    let Some(format) = Format::parse(format) else {
        eprintln!("unknown format {format:?}: wikitext or markdown");
        return ExitCode::FAILURE;
    };
    // A channel no longer in the config is read as the security channel it was: public incidents
    // need no --channel, and a removed security channel's reports stay reachable.
    let (scope, named) = match channel {
        None => (srebot::incident::PUBLIC_SCOPE.to_string(), "the public channels".to_string()),
        Some(name) => {
            let private = c.channel(name).is_none_or(|ch| ch.role == config::ChannelRole::Security);
            (srebot::incident::scope(name, private), name.to_string())
        }
    };
    let record = store::open_database(&c.storage.database)
        .and_then(|conn| Ok(store::incident::record_by_number(&conn, &scope, number)?));
    match record {
        Ok(Some(r)) => {
            print!("{}", render(&r, format, chrono::Utc::now()));
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("no incident #{number} in {named}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot read incident #{number}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The config named by `--config`, or `None` after saying what is wrong; `usage` shows how the
/// command is called with it.
fn load_or_report(path: Option<&std::path::Path>, usage: &str) -> Option<config::Config> {
    let Some(path) = path else {
        eprintln!(
            "srebot: --config FILE is required here (the config names the database and the network); usage: {usage}"
        );
        return None;
    };
    match srebot::app::load_config(path) {
        Ok(c) => {
            for w in config::warnings(&c) {
                eprintln!("{}: warning: {w}", path.display());
            }
            Some(c)
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("{}: {p}", path.display());
            }
            None
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SREBOT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if std::env::var("SREBOT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(mut c: config::Config, path: PathBuf) -> ExitCode {
    c.clock = srebot::clock::Clock::from_env();
    let (settings, connector) = match srebot::app::session_settings(&c) {
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
    let pid_file = srebot::reload::pid_file(&c);
    srebot::reload::write_pid_file(&pid_file);
    let publisher = srebot::publish::spawn(&c, store.clone()); // SAL outbox → MediaWiki, Phorge (if configured)
    let sts = Arc::new(srebot::sts_policies::StoredSts::new(store.clone()));
    let connector = srebot::irc::driver::Connector {
        sts_policy: sts.load(&connector.server).await,
        sts_store: Some(sts),
        ..connector
    };
    let (client, events, driver) = srebot::irc::driver::spawn(settings, connector);
    let live = srebot::live::LiveConfig::new(c);
    let web = srebot::reload::start_web(&live.get(), &store, &client, None).await;
    let reloader = srebot::reload::Reloader {
        path,
        live: live.clone(),
        store: store.clone(),
        client: client.clone(),
        publisher,
        web,
    };
    let (stop_reloads, stopped) = tokio::sync::oneshot::channel::<()>();
    let reloader = tokio::spawn(reloader.run(async move {
        let _ = stopped.await;
    }));
    let bot = Bot { config: live, store, client };
    bot.run(events, shutdown_signal()).await;
    let _ = stop_reloads.send(());
    if let Ok(reloader) = reloader.await {
        reloader.publisher.stop().await;
        if let Some(web) = reloader.web {
            web.stop();
        }
    }
    let _ = std::fs::remove_file(&pid_file);
    if tokio::time::timeout(std::time::Duration::from_secs(10), driver).await.is_err() {
        tracing::warn!("the connection did not close in time");
    }
    // Every store handle is gone now: the store thread commits what it has and ends.
    tokio::task::spawn_blocking(move || store_thread.join()).await.ok();
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
