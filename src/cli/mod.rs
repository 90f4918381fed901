//! The command line: its arguments (clap) and the subcommands' bodies (`commands`); `main`
//! parses and calls [`dispatch`].

mod commands;

use crate::store;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "An IRC bot that keeps an SRE team's Server Admin Log, incidents and clinic duty")]
pub struct Cli {
    /// The configuration file (TOML); see config.example.toml.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand)]
pub(crate) enum Sub {
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
pub(crate) enum AccessCommand {
    /// The config file's lists, the grants made on IRC (who, when, why) and the latest changes.
    List,
}

#[derive(Subcommand)]
pub(crate) enum AlertsCommand {
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
pub(crate) enum ClinicCommand {
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
pub(crate) enum SalCommand {
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
pub(crate) enum IncidentCommand {
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

/// Runs the subcommand `cli` names.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Sub::Run) {
        Sub::CheckConfig { file } => commands::check_config(&file),
        Sub::Backup { dest, force } => {
            let Some(c) = commands::load_or_report(cli.config.as_deref(), "srebot --config FILE backup DEST") else {
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
            let Some(c) =
                commands::load_or_report(cli.config.as_deref(), "srebot --config FILE clinic import|export|remove …")
            else {
                return ExitCode::FAILURE;
            };
            match command {
                ClinicCommand::Import { file, dry_run } => crate::clinic_cli::import(&c, &file, dry_run),
                ClinicCommand::Remove { week } => crate::clinic_cli::remove(&c, &week),
                ClinicCommand::Export { base } => commands::clinic_export(&c, base),
            }
        }
        Sub::Sal { command: SalCommand::ImportWiki { page, api, file, channel, archives } } => {
            let Some(c) = commands::load_or_report(cli.config.as_deref(), "srebot --config FILE sal import-wiki …")
            else {
                return ExitCode::FAILURE;
            };
            let source = match (&page, &file) {
                (Some(title), _) => crate::ingest::wiki::Source::Page { title, api: api.as_deref(), archives },
                (None, Some(path)) => crate::ingest::wiki::Source::File(path),
                (None, None) => {
                    eprintln!("import-wiki: give --page TITLE or --file WIKITEXT");
                    return ExitCode::FAILURE;
                }
            };
            match crate::ingest::wiki::run(&c, source, &channel) {
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
            let Some(c) = commands::load_or_report(cli.config.as_deref(), "srebot --config FILE sal show ID") else {
                return ExitCode::FAILURE;
            };
            commands::sal_show(&c, id)
        }
        Sub::Incident { command: IncidentCommand::Report { number, channel, format } } => {
            let Some(c) = commands::load_or_report(cli.config.as_deref(), "srebot --config FILE incident report N")
            else {
                return ExitCode::FAILURE;
            };
            commands::print_report(&c, number, channel.as_deref(), &format)
        }
        Sub::Log { channel, author, retry_for, message } => {
            let entry = crate::ingest::client::Entry { message: message.join(" "), channel, author, retry_for };
            match crate::ingest::client::run(cli.config.as_deref(), entry) {
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
            let Some(c) = commands::load_or_report(cli.config.as_deref(), "srebot reload --config FILE") else {
                return ExitCode::FAILURE;
            };
            match crate::reload::signal_running(&c) {
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
            let Some(c) =
                commands::load_or_report(cli.config.as_deref(), "srebot --config FILE alerts pages --week YYYY-MM-DD")
            else {
                return ExitCode::FAILURE;
            };
            match crate::alerts::pages::cli(&c, &week, channel.as_deref(), &format) {
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
            let Some(c) = commands::load_or_report(cli.config.as_deref(), "srebot --config FILE access list") else {
                return ExitCode::FAILURE;
            };
            commands::access_list(&c)
        }
        Sub::Run => {
            let Some(c) = commands::load_or_report(cli.config.as_deref(), "srebot --config FILE") else {
                return ExitCode::FAILURE;
            };
            init_logging();
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            runtime.block_on(crate::app::run(c, cli.config.unwrap_or_default(), crate::app::shutdown_signal()))
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
