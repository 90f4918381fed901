//! Runs the real `srebot` binary against the test network, with a config written to a temp dir.

use crate::support::scene::{Scene, BOT_SASL_PASSWORD};
use crate::support::Network;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How a test wants its bot.
pub struct BotOpts {
    pub nick: String,
    /// SASL PLAIN account and password.
    pub sasl: Option<(String, String)>,
    /// (name, role) pairs.
    pub channels: Vec<(String, &'static str)>,
    pub accounts: Vec<String>,
    pub admins: Vec<String>,
    pub port: u16,
    /// burst, interval_ms
    pub flood: (u32, u64),
    /// Where the database goes; default: `<dir>/srebot.sqlite3`.
    pub database: Option<PathBuf>,
    /// Extra TOML appended to the config.
    pub extra: String,
    /// Extra keys for the `[irc]` table (e.g. `tls = true`).
    pub irc_extra: String,
    /// Extra environment for the process (e.g. SREBOT_CLOCK_FILE).
    pub env: Vec<(String, String)>,
}

impl BotOpts {
    pub fn new(net: &Network, nick: &str) -> BotOpts {
        BotOpts {
            nick: nick.to_string(),
            sasl: None,
            channels: Vec::new(),
            accounts: Vec::new(),
            admins: Vec::new(),
            port: net.port(),
            flood: (20, 100),
            database: None,
            extra: String::new(),
            irc_extra: String::new(),
            env: Vec::new(),
        }
    }

    /// The bot of `scene` as the tests usually run it: identified by SASL, in both channels,
    /// alice on the access list.
    pub fn for_scene(net: &Network, scene: &Scene) -> BotOpts {
        let mut opts = BotOpts::new(net, &scene.botnick);
        opts.sasl = Some((scene.botnick.clone(), BOT_SASL_PASSWORD.into()));
        opts.channels = vec![(scene.chan.clone(), "public"), (scene.sec.clone(), "security")];
        opts.accounts = vec![scene.alice.clone()];
        opts
    }
}

pub struct BotProcess {
    child: Option<Child>,
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    pub database: PathBuf,
    pub log: PathBuf,
    env: Vec<(String, String)>,
}

/// The bot binary: `SREBOT_BIN` when set (a copy of this build, when other builds share the
/// target directory and may replace it during a run), else the one cargo built for the tests.
pub fn bin() -> PathBuf {
    std::env::var_os("SREBOT_BIN").map(PathBuf::from).unwrap_or_else(|| env!("CARGO_BIN_EXE_srebot").into())
}

fn list(items: &[String]) -> String {
    items.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ")
}

impl BotProcess {
    pub fn start(opts: BotOpts) -> BotProcess {
        let mut bot = BotProcess::create(opts);
        bot.spawn();
        bot
    }

    /// Writes the config without starting the bot (to prepare its database with the CLI first).
    pub fn create(opts: BotOpts) -> BotProcess {
        let dir = tempfile::Builder::new().prefix("srebot-bot-").tempdir().unwrap();
        let database = opts.database.clone().unwrap_or_else(|| dir.path().join("srebot.sqlite3"));
        let mut toml = format!(
            r#"[irc]
server = "127.0.0.1"
port = {port}
nick = "{nick}"
alt_nicks = ["{nick}_"]
realname = "srebot under test"
{irc_extra}
[irc.flood]
burst = {burst}
interval_ms = {interval}
[irc.timeouts]
ping_interval = 5
ping_timeout = 5
connect = 5
reconnect_min = 1
reconnect_max = 3
rejoin = 2
nick_regain = 2
"#,
            port = opts.port,
            nick = opts.nick,
            burst = opts.flood.0,
            interval = opts.flood.1,
            irc_extra = opts.irc_extra,
        );
        if let Some((account, password)) = &opts.sasl {
            let pw = dir.path().join("sasl-password");
            std::fs::write(&pw, format!("{password}\n")).unwrap();
            toml += &format!("[irc.sasl]\nmechanism = \"PLAIN\"\naccount = \"{account}\"\npassword_file = {:?}\n", pw);
        }
        for (name, role) in &opts.channels {
            toml += &format!("[[channels]]\nname = \"{name}\"\nrole = \"{role}\"\n");
        }
        toml += &format!("[storage]\ndatabase = {:?}\n", database);
        toml += &format!("[access]\naccounts = [{}]\nadmins = [{}]\n", list(&opts.accounts), list(&opts.admins));
        toml += &opts.extra;
        if !opts.extra.contains("[ratelimit]") {
            // Tests fire commands faster than people do; the limit has tests of its own.
            toml += "[ratelimit]\ninterval_ms = 0\n";
        }
        let config = dir.path().join("srebot.toml");
        std::fs::write(&config, toml).unwrap();
        let log = dir.path().join("srebot.log");
        BotProcess { child: None, _dir: dir, config, database, log, env: opts.env }
    }

    /// Runs `srebot --config <ours> <args…>` to completion; returns (success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(bin()).arg("--config").arg(&self.config).args(args).output().expect("run srebot");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }

    /// Starts the process (again) with the same config and database.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(bin())
            .arg("--config")
            .arg(&self.config)
            .env("SREBOT_LOG", "srebot=debug")
            .env_remove("SREBOT_SASL_PASSWORD")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start srebot");
        self.child = Some(child);
    }

    /// The bot's own temp directory (config, log, default database).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Sends a signal with kill(1) (no libc dependency needed in tests).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().unwrap();
        assert!(ok.success(), "kill -{sig} failed");
    }

    /// SIGTERM, then waits for the exit status (SIGKILL after `limit`).
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        self.signal("TERM");
        let deadline = std::time::Instant::now() + limit;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A read-only look at the database.
    pub fn db(&self) -> rusqlite::Connection {
        db_at(&self.database)
    }

    pub fn count(&self, sql_where: &str) -> i64 {
        self.db().query_row(&format!("SELECT count(*) FROM sal_entry WHERE {sql_where}"), [], |r| r.get(0)).unwrap()
    }
}

pub fn db_at(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the bot's database")
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- srebot log tail ({}) ---", self.log.display());
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}
