//! `srebot clinic import|remove`: the base rotation from the command line. Everything bad about
//! the file is said with its line, and then nothing is stored (exit 1).

use crate::clinic::import;
use crate::config::Config;
use crate::store;
use chrono::NaiveDate;
use std::path::Path;
use std::process::ExitCode;

/// Who the CLI records as having made a change: the operator's login.
fn operator() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

/// Imports `file` into the base rotation (idempotent), printing what changed; with `dry_run`,
/// prints the same report and stores nothing. A file that is neither format, a bad row, or a
/// week that does not start on `[clinic] week_starts` (the rule `!clinic` applies) refuses the
/// whole file.
pub fn import(c: &Config, file: &Path, dry_run: bool) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let rule = match c.clinic.rule() {
        Ok(rule) => rule,
        Err(e) => {
            eprintln!("the [clinic] configuration is not right: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (rows, errors) = import::parse_any(&text);
    let mut problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
    problems.extend(import::check_weekday(&rows, rule.week_starts));
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{}: {p}", file.display());
        }
        eprintln!("{} problem(s): nothing imported", problems.len());
        return ExitCode::FAILURE;
    }
    let result = store::open_database(&c.storage.database).and_then(|mut conn| {
        let tx = conn.transaction()?;
        let report = store::clinic::import(&tx, &rows, &operator(), chrono::Utc::now())?;
        if dry_run {
            tx.rollback()?;
        } else {
            tx.commit()?;
        }
        Ok(report)
    });
    match result {
        Ok(report) => {
            if dry_run {
                println!("dry run: nothing was stored; an import would do this:");
            }
            for line in report.lines() {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("import failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Removes week `week` (`YYYY-MM-DD`) from the base rotation, recorded with who and when.
pub fn remove(c: &Config, week: &str) -> ExitCode {
    let Ok(week) = NaiveDate::parse_from_str(week.trim(), "%Y-%m-%d") else {
        eprintln!("{week:?} is not a date (YYYY-MM-DD)");
        return ExitCode::FAILURE;
    };
    let result = store::open_database(&c.storage.database).and_then(|mut conn| {
        let tx = conn.transaction()?;
        let removed = store::clinic::remove_base(&tx, week, &operator(), chrono::Utc::now())?;
        let still = store::clinic::duty(&tx, week)?;
        tx.commit()?;
        Ok(removed.map(|r| (r, still)))
    });
    let summary = crate::clinic::schedule::summary;
    match result {
        Ok(Some((duty, still))) => {
            println!("removed {week} from the base rotation (it was: {})", summary(&duty));
            if let Some(d) = still {
                println!("note: changes made on IRC for {week} still apply ({}): !clinic unset {week}", summary(&d));
            }
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("{week} is not in the base rotation: nothing removed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("remove failed: {e}");
            ExitCode::FAILURE
        }
    }
}
