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

fn count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM sal_entry", [], |r| r.get(0)).unwrap()
}

#[test]
fn backup_makes_a_usable_consistent_copy() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("srebot.sqlite3");
    let config = dir.path().join("srebot.toml");
    std::fs::write(&config, format!("{MINIMAL}[storage]\ndatabase = {database:?}\n")).unwrap();
    let mut conn = srebot::store::open_database(&database).unwrap();
    for i in 0..3 {
        conn.execute(
            "INSERT INTO sal_entry (logged_at, channel, nick, userhost, message) VALUES ('t', '#sre', 'alice', 'a@h', ?1)",
            [format!("entry {i}")],
        )
        .unwrap();
    }
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
    let restored = srebot::store::open_database(&copy).unwrap();
    let version: i64 = restored.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version as usize, srebot::store::schema_version());
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
