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
    Backup { dest: PathBuf },
    /// Incidents: print a report draft.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Print the post-mortem draft of incident N (security incidents included: this is the CLI).
    Report {
        id: i64,
        /// wikitext (MediaWiki) or markdown
        #[arg(long, default_value = "wikitext")]
        format: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Sub::Run) {
        Sub::CheckConfig { file } => check_config(&file),
        Sub::Backup { dest } => {
            let Some(c) = load_or_report(cli.config.as_deref()) else { return ExitCode::FAILURE };
            match store::backup(&c.storage.database, &dest) {
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
        Sub::Incident { command: IncidentCommand::Report { id, format } } => {
            let Some(c) = load_or_report(cli.config.as_deref()) else { return ExitCode::FAILURE };
            print_report(&c, id, &format)
        }
        Sub::Run => {
            let Some(c) = load_or_report(cli.config.as_deref()) else { return ExitCode::FAILURE };
            init_logging();
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            runtime.block_on(run(c))
        }
    }
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match config::load(file) {
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

fn print_report(c: &config::Config, id: i64, format: &str) -> ExitCode {
    use srebot::incident::report::{render, Format};
    let Some(format) = Format::parse(format) else {
        eprintln!("unknown format {format:?}: wikitext or markdown");
        return ExitCode::FAILURE;
    };
    let record = store::open_database(&c.storage.database)
        .and_then(|conn| store::incident::record(&conn, id).map_err(store::StoreError::from));
    match record {
        Ok(Some(r)) => {
            print!("{}", render(&r, format, chrono::Utc::now()));
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("no incident #{id}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot read incident #{id}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_or_report(path: Option<&std::path::Path>) -> Option<config::Config> {
    let Some(path) = path else {
        eprintln!("srebot: --config FILE is required (see --help)");
        return None;
    };
    match config::load(path) {
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

async fn run(c: config::Config) -> ExitCode {
    let (settings, connector) = match srebot::session_settings(&c) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let (store, store_thread) = store::Store::open(&c.storage.database);
    let (client, events, driver) = srebot::irc::driver::spawn(settings, connector);
    let bot = Bot { config: Arc::new(c), store, client };
    bot.run(events, shutdown_signal()).await;
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
