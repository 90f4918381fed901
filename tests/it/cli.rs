//! The `srebot` command line, run as the real binary: `check-config` and `backup`. No network.

use std::path::Path;
use std::process::{Command, Output};

/// A valid config but for `[storage]`.
const MINIMAL: &str =
    "[irc]\nserver = \"127.0.0.1\"\nnick = \"srebot\"\n[[channels]]\nname = \"#sre\"\nrole = \"public\"\n";

fn srebot(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(crate::botproc::bin()).args(args).env_remove("SREBOT_SASL_PASSWORD").output().expect("run srebot")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn check_config_prints_every_problem_with_key_and_line_and_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        r#"[irc]
server = "127.0.0.1"
nick = "bad nick"
colour = "blue"
[irc.sasl]
mechanism = "PLAIN"
account = "srebot"
password = "hunter2-very-secret"
password_file = "/nonexistent/sasl-password"
[irc.timeouts]
reconnect_min = 0
[[channels]]
name = "sre"
role = "public"
[storage]
database = "srebot.sqlite3"
"#,
    )
    .unwrap();
    let out = srebot(&["check-config".as_ref(), file.as_os_str()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    for (line, key) in [
        (3, "irc.nick"),
        (4, "irc.colour"),
        (9, "irc.sasl.password_file"),
        (11, "irc.timeouts.reconnect_min"),
        (13, "channels.0.name"),
    ] {
        let wanted = format!("{}: line {line}: {key}: ", file.display());
        assert!(stdout.lines().any(|l| l.starts_with(&wanted)), "no {wanted:?} in:\n{stdout}");
    }
    assert!(stdout.contains("5 problem(s)"), "{stdout}");
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"), "the password was printed:\n{stdout}{stderr}");

    // A secret of the wrong type is not echoed in serde's message either.
    std::fs::write(
        &file,
        "[irc]\nserver = \"127.0.0.1\"\nnick = \"srebot\"\n[irc.sasl]\nmechanism = \"PLAIN\"\naccount = \"srebot\"\n\
         password = 987654321\n[storage]\ndatabase = \"x.sqlite3\"\n",
    )
    .unwrap();
    let out = srebot(&["check-config".as_ref(), file.as_os_str()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("line 7:"), "{stdout}");
    assert!(!stdout.contains("987654321") && !stderr.contains("987654321"), "{stdout}{stderr}");

    let good = dir.path().join("good.toml");
    std::fs::write(&good, format!("{MINIMAL}[storage]\ndatabase = \"x.sqlite3\"\n")).unwrap();
    let out = srebot(&["check-config".as_ref(), good.as_os_str()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.trim_end().ends_with(": OK"), "{stdout}");
}

#[test]
fn check_config_reports_a_bad_value_and_the_unknown_key_beside_it_by_key_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        MINIMAL.replace("nick = \"srebot\"\n", "nick = \"srebot\"\nport = \"6667\"\nrelname = \"x\"\n")
            + "[storage]\ndatabase = \"x.sqlite3\"\n",
    )
    .unwrap();
    let out = srebot(&["check-config".as_ref(), file.as_os_str()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let port = format!("{}: line 4: irc.port: must be a port number from 1 to 65535", file.display());
    let relname = format!("{}: line 5: irc.relname: unknown key", file.display());
    assert!(stdout.lines().any(|l| l.starts_with(&port)), "no {port:?} in:\n{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with(&relname)), "no {relname:?} in:\n{stdout}");
    assert!(stdout.contains("2 problem(s)") && !stdout.contains("u16"), "{stdout}");
}

fn count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM sal_entry", [], |r| r.get(0)).unwrap()
}

/// A temp dir with a database holding `entries` SAL entries and a config pointing at it:
/// `(dir, database, config)`.
fn with_database(entries: usize) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("srebot.sqlite3");
    let config = dir.path().join("srebot.toml");
    std::fs::write(&config, format!("{MINIMAL}[storage]\ndatabase = {database:?}\n")).unwrap();
    let conn = srebot::testing::store::open_database(&database).unwrap();
    for i in 0..entries {
        conn.execute(
            "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#sre', 'alice', 'a@h', ?1)",
            [format!("entry {i}")],
        )
        .unwrap();
    }
    (dir, database, config)
}

#[test]
fn backup_makes_a_usable_consistent_copy() {
    let (dir, database, config) = with_database(3);
    let mut conn = srebot::testing::store::open_database(&database).unwrap();
    // A write in progress (as the bot's, mid-batch) is not in the copy: only what is committed.
    let pending = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
    pending
        .execute(
            "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#sre', 'bob', 'b@h', 'uncommitted')",
            [],
        )
        .unwrap();

    let copy = dir.path().join("copy.sqlite3");
    let out = srebot(&["--config".as_ref(), config.as_os_str(), "backup".as_ref(), copy.as_os_str()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("backed up"), "{stdout}");
    drop(pending);
    assert_eq!(count(&copy), 3);
    // Usable: the bot opens it as its database (schema current, writable).
    let restored = srebot::testing::store::open_database(&copy).unwrap();
    let version: i64 = restored.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version as usize, srebot::testing::store::schema_version());
    restored
        .execute(
            "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#c', 'n', 'u@h', 'm')",
            [],
        )
        .unwrap();
    let check: String = restored.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    assert_eq!(count(&database), 3, "the original is untouched");
}

#[test]
fn backup_without_config_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.sqlite3");
    let out = srebot(&["backup".as_ref(), copy.as_os_str()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("--config FILE is required"), "{stderr}");
    assert!(stderr.contains("srebot --config FILE backup DEST"), "{stderr}");
    assert!(!copy.exists());
}

#[test]
fn backup_refuses_an_existing_file_without_force_and_blames_dest() {
    let (dir, database, config) = with_database(1);
    let backup = |dest: &Path, force: bool| {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["--config".as_ref(), config.as_os_str(), "backup".as_ref(), dest.as_os_str()];
        if force {
            args.push("--force".as_ref());
        }
        let out = srebot(&args);
        let (stdout, stderr) = text(&out);
        (out.status.code(), stdout, stderr)
    };

    // An existing file is kept as it was.
    let existing = dir.path().join("yesterday.sqlite3");
    std::fs::write(&existing, "yesterday's copy").unwrap();
    let (code, stdout, stderr) = backup(&existing, false);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("{}: already exists; --force replaces it", existing.display())), "{stderr}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "yesterday's copy");
    // --force replaces it with a whole copy.
    let (code, stdout, stderr) = backup(&existing, true);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(count(&existing), 1);

    // A directory, or a place that cannot be written: DEST is named, not the database.
    let (code, stdout, stderr) = backup(dir.path(), false);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("{}: is a directory", dir.path().display())), "{stderr}");
    assert!(!stderr.contains("database unavailable"), "{stderr}");
    let nowhere = dir.path().join("no-such-dir").join("copy.sqlite3");
    let (code, stdout, stderr) = backup(&nowhere, false);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("{}: cannot write it", nowhere.display())), "{stderr}");
    assert!(!stderr.contains(&database.display().to_string()), "{stderr}");
    // Nothing half-written is left behind.
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");
}

/// `srebot clinic …` against a fresh database: `(exit code, stdout, stderr)`.
fn clinic(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["--config".as_ref(), config.as_os_str(), "clinic".as_ref()];
    all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
    let out = srebot(&all);
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

fn base_weeks(db: &Path) -> Vec<(String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT week_start, clinician FROM clinic_week ORDER BY week_start").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn clinic_import_refuses_what_it_cannot_read_and_can_dry_run_and_remove_a_week() {
    let (dir, database, config) = with_database(0);
    let file = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_string()
    };

    // CSV without the documented header: refused with the line, nothing stored.
    let bad = file("bad.csv", "week,who\n2026-11-30,Alice\n");
    let (code, out, err) = clinic(&config, &["import", &bad]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains(&format!("{bad}: line 2: ',' after the date is not a row of the wiki table or of CSV")),
        "{err}"
    );
    assert!(err.contains("nothing imported"), "{err}");
    assert_eq!(base_weeks(&database), []);
    // Neither format at all.
    let prose = file("notes.txt", "Remember to rotate the clinic.\n");
    let (code, _, err) = clinic(&config, &["import", &prose]);
    assert!(code == Some(1) && err.contains("line 1: no week rows in the file"), "{err}");
    // A week that does not start on week_starts (Monday): refused as !clinic refuses it.
    let tuesday = file("tuesday.csv", "week_start,clinician\n2026-11-30,Alice\n2026-12-08,Bob\n");
    let (code, _, err) = clinic(&config, &["import", &tuesday]);
    assert!(code == Some(1) && err.contains("2026-12-08 is a Tuesday, but duty weeks start on Monday."), "{err}");
    assert_eq!(base_weeks(&database), []);

    // A dry run reports and stores nothing; the import then stores what it reported.
    let good = file("good.csv", "week_start,clinician,backup,team\n2026-11-30,Alice,,SRE-Traffic\n2026-12-07,Bob,,\n");
    let (code, out, err) = clinic(&config, &["import", "--dry-run", &good]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("dry run: nothing was stored") && out.contains("2 added, 0 changed"), "{out}");
    assert_eq!(base_weeks(&database), []);
    let (code, out, _) = clinic(&config, &["import", &good]);
    assert!(code == Some(0) && out.starts_with("2 added, 0 changed"), "{out}");

    // A week can be taken out of the base rotation, on the record.
    let (code, out, err) = clinic(&config, &["remove", "2026-11-30"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("removed 2026-11-30 from the base rotation (it was: clinician Alice"), "{out}");
    assert_eq!(base_weeks(&database), [("2026-12-07".to_string(), Some("Bob".to_string()))]);
    let (code, _, err) = clinic(&config, &["remove", "2026-11-30"]);
    assert!(code == Some(1) && err.contains("2026-11-30 is not in the base rotation"), "{err}");
    let (code, _, err) = clinic(&config, &["remove", "2026-13-01"]);
    assert!(code == Some(1) && err.contains("is not a date"), "{err}");
    let conn = rusqlite::Connection::open(&database).unwrap();
    let (what, by): (String, String) = conn
        .query_row("SELECT what, removed_by FROM clinic_removal WHERE week_start = '2026-11-30'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(what == "base" && by.starts_with("cli:"), "{what} {by}");
}
