//! Reloading the config without reconnecting: on SIGHUP (`systemctl reload srebot`, `srebot
//! reload --config FILE`) the file is read and checked as `check-config` does; with any problem
//! nothing changes and every problem is logged; otherwise it is applied as a whole. What the
//! connection was opened with (server, nick, SASL, TLS, timers) and the database path need a
//! restart: a change there is logged and left as it was.
//!
//! The running bot is found through a PID file beside its database (`<database>.pid`). Here
//! are the rules (which keys changed, what is kept) and the PID file; the task that hears SIGHUP
//! and applies a reload is `tasks::reload`.

use crate::config::{Config, IrcConfig};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// What a reload changes: keys only, never values (some are secrets).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Applied at once.
    pub applied: Vec<String>,
    /// Changed in the file, but only a restart applies them; left as they were.
    pub need_restart: Vec<String>,
}

fn differs<T: Debug>(a: &T, b: &T) -> bool {
    // Debug shows every field but secrets (see `config::Secret`), which are compared apart.
    format!("{a:?}") != format!("{b:?}")
}

/// The keys that differ between `old` and `new`.
pub fn changes(old: &Config, new: &Config) -> Changes {
    let mut c = Changes::default();
    let (a, b) = (&old.irc, &new.irc);
    let secret = |x: &IrcConfig| x.sasl.as_ref().and_then(|s| s.password.as_ref().map(|p| p.expose().to_string()));
    let restart = [
        ("irc.server", differs(&a.server, &b.server)),
        ("irc.port", a.port != b.port),
        ("irc.tls", differs(&(a.tls, a.tls_verify), &(b.tls, b.tls_verify))),
        (
            "irc.tls_files",
            differs(
                &(&a.tls_ca_file, &a.tls_cert_file, &a.tls_key_file),
                &(&b.tls_ca_file, &b.tls_cert_file, &b.tls_key_file),
            ),
        ),
        ("irc.nick", differs(&(&a.nick, &a.alt_nicks), &(&b.nick, &b.alt_nicks))),
        ("irc.username", differs(&(&a.username, &a.realname), &(&b.username, &b.realname))),
        ("irc.sasl", differs(&a.sasl, &b.sasl) || secret(a) != secret(b)),
        ("irc.timeouts", differs(&a.timeouts, &b.timeouts)),
        ("storage.database", old.storage.database != new.storage.database),
    ];
    c.need_restart = restart.iter().filter(|(_, d)| *d).map(|(k, _)| k.to_string()).collect();
    let channel_keys = |x: &Config| -> Vec<Option<String>> {
        x.channels.iter().map(|ch| ch.key.as_ref().map(|k| k.expose().to_string())).collect()
    };
    let (o, n) = (&old.access, &new.access);
    let live = [
        ("irc.flood", differs(&a.flood, &b.flood)),
        ("channels", differs(&old.channels, &new.channels) || channel_keys(old) != channel_keys(new)),
        ("access.accounts", o.accounts != n.accounts),
        ("access.hostmasks", o.hostmasks != n.hostmasks),
        ("access.admins", o.admins != n.admins),
        ("access.relays", o.relays != n.relays),
        ("commands", differs(&old.commands, &new.commands)),
        ("sal", differs(&old.sal, &new.sal)),
        ("web", differs(&old.web, &new.web)),
        ("incidents", differs(&old.incidents, &new.incidents)),
        ("publish", differs(&old.publish, &new.publish)),
        ("clinic", differs(&old.clinic, &new.clinic)),
        ("ratelimit", old.ratelimit != new.ratelimit),
    ];
    c.applied = live.iter().filter(|(_, d)| *d).map(|(k, _)| k.to_string()).collect();
    c
}

/// The config a reload puts in effect: `new`, but with what needs a restart kept from `old`
/// (all of `[irc]` but `flood`, and `[storage]`), and the running process's own state (the
/// grants from the database).
pub fn effective(old: &Config, mut new: Config) -> Config {
    new.irc = IrcConfig { flood: new.irc.flood.clone(), ..old.irc.clone() };
    new.storage = old.storage.clone();
    new.access.granted = old.access.granted.clone();
    new
}

/// Where the running bot writes its process id: beside its database.
pub fn pid_file(c: &Config) -> PathBuf {
    let mut name = c.storage.database.clone().into_os_string();
    name.push(".pid");
    PathBuf::from(name)
}

/// Writes the PID file (a failure is logged: only `srebot reload` needs it).
pub fn write_pid_file(path: &Path) {
    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the PID file: `srebot reload` will not find this process");
    }
}

/// Asks the bot that runs with config `c` to reload (SIGHUP through its PID file); the answer
/// says whom it asked, or why it could not.
pub fn signal_running(c: &Config) -> Result<u32, String> {
    let path = pid_file(c);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {} ({}): is srebot running with this config?", path.display(), e.kind()))?;
    let pid: i32 = text.trim().parse().map_err(|_| format!("{} does not hold a process id", path.display()))?;
    // A stale file may name someone else's process by now: signal only an srebot.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if !comm.trim().starts_with("srebot") {
        return Err(format!("process {pid} (from {}) is not a running srebot", path.display()));
    }
    // SAFETY: kill(2) with a plain pid and signal number has no memory effects.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        return Err(format!("cannot signal process {pid}: {}", std::io::Error::last_os_error()));
    }
    Ok(pid as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> String {
        crate::testing::config_text("[access]\naccounts = [\"alice\"]")
    }

    fn parse(raw: &str) -> Config {
        crate::config::parse(raw).unwrap()
    }

    #[test]
    fn changes_name_keys_and_split_live_from_restart() {
        let old = parse(&base());
        assert_eq!(changes(&old, &old), Changes::default());
        let new = parse(
            &(base()
                .replace("accounts = [\"alice\"]", "accounts = [\"alice\", \"bob\"]")
                .replace("nick = \"srebot\"", "nick = \"srebot2\"\n[irc.flood]\nburst = 9")
                .replace("\"x.sqlite3\"", "\"y.sqlite3\"")
                + "[[channels]]\nname = \"#ops\"\nrole = \"public\"\n"),
        );
        let c = changes(&old, &new);
        assert_eq!(c.applied, vec!["irc.flood", "channels", "access.accounts"]);
        assert_eq!(c.need_restart, vec!["irc.nick", "storage.database"]);
        let next = effective(&old, new);
        assert_eq!((next.irc.nick.as_str(), next.irc.flood.burst), ("srebot", 9));
        assert_eq!(next.storage.database, old.storage.database);
        assert_eq!(next.channels.len(), old.channels.len() + 1);
        assert_eq!(pid_file(&next), PathBuf::from("x.sqlite3.pid"));
    }

    #[test]
    fn a_changed_secret_is_seen_but_never_shown() {
        let with_key =
            |k: &str| parse(&base().replace("role = \"public\"", &format!("role = \"public\"\nkey = \"{k}\"")));
        let c = changes(&with_key("one-secret"), &with_key("two-secret"));
        assert_eq!(c.applied, vec!["channels"]);
        assert!(!format!("{c:?}").contains("secret"));
    }
}
