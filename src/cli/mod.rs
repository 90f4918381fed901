//! The command line: its arguments (clap) and the subcommands' bodies (`commands`); `main`
//! parses and calls [`dispatch`].

mod commands;

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
    let path = cli.config.as_deref();
    // The config named by `--config`, for a subcommand that needs one (`usage` says how to call it).
    let with_config = |usage: &str, run: &dyn Fn(&crate::config::Config) -> ExitCode| {
        commands::load_or_report(path, usage).map_or(ExitCode::FAILURE, |c| run(&c))
    };
    match cli.command.unwrap_or(Sub::Run) {
        Sub::CheckConfig { file } => commands::check_config(&file),
        Sub::Backup { dest, force } => {
            with_config("srebot --config FILE backup DEST", &|c| commands::backup(c, &dest, force))
        }
        Sub::Clinic { command } => {
            with_config("srebot --config FILE clinic import|export|remove …", &|c| match &command {
                ClinicCommand::Import { file, dry_run } => crate::clinic_cli::import(c, file, *dry_run),
                ClinicCommand::Remove { week } => crate::clinic_cli::remove(c, week),
                ClinicCommand::Export { base } => commands::clinic_export(c, *base),
            })
        }
        Sub::Sal { command: SalCommand::ImportWiki { page, api, file, channel, archives } } => {
            with_config("srebot --config FILE sal import-wiki …", &|c| {
                commands::import_wiki(c, page.as_deref(), api.as_deref(), file.as_deref(), &channel, archives)
            })
        }
        Sub::Sal { command: SalCommand::Show { id } } => {
            with_config("srebot --config FILE sal show ID", &|c| commands::sal_show(c, id))
        }
        Sub::Incident { command: IncidentCommand::Report { number, channel, format } } => {
            with_config("srebot --config FILE incident report N", &|c| {
                commands::print_report(c, number, channel.as_deref(), &format)
            })
        }
        Sub::Log { channel, author, retry_for, message } => commands::log(path, channel, author, retry_for, message),
        Sub::Reload => with_config("srebot reload --config FILE", &commands::reload),
        Sub::Alerts { command: AlertsCommand::Pages { week, channel, format } } => {
            with_config("srebot --config FILE alerts pages --week YYYY-MM-DD", &|c| {
                commands::alerts_pages(c, &week, channel.as_deref(), &format)
            })
        }
        Sub::Access { command: AccessCommand::List } => {
            with_config("srebot --config FILE access list", &commands::access_list)
        }
        Sub::Run => match commands::load_or_report(path, "srebot --config FILE") {
            Some(c) => commands::run(c, cli.config.unwrap_or_default()),
            None => ExitCode::FAILURE,
        },
    }
}
