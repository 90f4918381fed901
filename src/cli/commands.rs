//! The bodies of the command-line subcommands; `cli::dispatch` loads the config they need and
//! calls them.

use crate::{config, store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(super) fn access_list(c: &config::Config) -> ExitCode {
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

pub(super) fn check_config(file: &std::path::Path) -> ExitCode {
    match crate::app::load_config(file) {
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

pub(super) fn clinic_export(c: &config::Config, base_only: bool) -> ExitCode {
    let rows = store::open_database(&c.storage.database).and_then(|conn| {
        Ok(if base_only { store::clinic::base_rows(&conn)? } else { store::clinic::effective_rows(&conn)? })
    });
    match rows {
        Ok(rows) => {
            print!("{}", crate::clinic::import::to_csv(&rows));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("export failed: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(super) fn sal_show(c: &config::Config, id: i64) -> ExitCode {
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

pub(super) fn print_report(c: &config::Config, number: i64, channel: Option<&str>, format: &str) -> ExitCode {
    use crate::incident::report::{render, Format};
    let Some(format) = Format::parse(format) else {
        eprintln!("unknown format {format:?}: wikitext or markdown");
        return ExitCode::FAILURE;
    };
    // A channel no longer in the config is read as the security channel it was: public incidents
    // need no --channel, and a removed security channel's reports stay reachable.
    let (scope, named) = match channel {
        None => (crate::incident::PUBLIC_SCOPE.to_string(), "the public channels".to_string()),
        Some(name) => {
            let private = c.channel(name).is_none_or(|ch| ch.role == config::ChannelRole::Security);
            (crate::incident::scope(name, private), name.to_string())
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
pub(super) fn load_or_report(path: Option<&std::path::Path>, usage: &str) -> Option<config::Config> {
    let Some(path) = path else {
        eprintln!(
            "srebot: --config FILE is required here (the config names the database and the network); usage: {usage}"
        );
        return None;
    };
    match crate::app::load_config(path) {
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

/// `srebot backup DEST`: an online copy of the database.
pub(super) fn backup(c: &config::Config, dest: &Path, force: bool) -> ExitCode {
    match store::backup(&c.storage.database, dest, force) {
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

/// `srebot sal import-wiki`: the log's history from a wiki page (`page`, through `api`) or a
/// file of its wikitext, into `channel`.
pub(super) fn import_wiki(
    c: &config::Config,
    page: Option<&str>,
    api: Option<&str>,
    file: Option<&Path>,
    channel: &str,
    archives: bool,
) -> ExitCode {
    let source = match (page, file) {
        (Some(title), _) => crate::ingest::wiki::Source::Page { title, api, archives },
        (None, Some(path)) => crate::ingest::wiki::Source::File(path),
        (None, None) => {
            eprintln!("import-wiki: give --page TITLE or --file WIKITEXT");
            return ExitCode::FAILURE;
        }
    };
    match crate::ingest::wiki::run(c, source, channel) {
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

/// `srebot log MESSAGE`: one entry through the bot's ingest API (`config`: the optional
/// `--config FILE`, else the environment).
pub(super) fn log(
    config: Option<&Path>,
    channel: Option<String>,
    author: Option<String>,
    retry_for: Option<u64>,
    message: Vec<String>,
) -> ExitCode {
    let entry = crate::ingest::client::Entry { message: message.join(" "), channel, author, retry_for };
    match crate::ingest::client::run(config, entry) {
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

/// `srebot reload`: SIGHUP to the bot that runs with this config.
pub(super) fn reload(c: &config::Config) -> ExitCode {
    match crate::reload::signal_running(c) {
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

/// `srebot alerts pages --week`: the pages for awareness of a duty week.
pub(super) fn alerts_pages(c: &config::Config, week: &str, channel: Option<&str>, format: &str) -> ExitCode {
    match crate::alerts::pages::cli(c, week, channel, format) {
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

/// `srebot run` (the default): the bot, with `path` for reloads, until SIGTERM or Ctrl-C.
pub(super) fn run(c: config::Config, path: PathBuf) -> ExitCode {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(crate::app::run(c, path, crate::app::shutdown_signal()))
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
