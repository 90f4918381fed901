//! Load and fault generator for srebot: the benchmark, the crash test and the restart test.
//!
//! It starts the same local network as the integration tests (InspIRCd 3 + Atheme on
//! 127.0.0.1, `tests/it/support`), runs the real bot binary it is given, opens raw IRC client
//! connections on the network's generous port (no flood limits there) and sends `!log` lines
//! whose text carries a unique token (`load c<client> n<seq> <phase>`). It records when each
//! line was sent and when each ack (`Logged #N, nick`, or merged `Logged #N–#M (a ×5, b ×7)`)
//! arrived; at the end it reads the bot's database to map every id back to its token. That
//! gives latencies, missing and duplicated acks, and lost or duplicated rows.
//!
//! Run through the scripts (they build the release binaries first):
//!
//! * `scripts/bench`: `bench` (wide flood control: throughput, latency, CPU, RSS, then a steady
//!   100 `!log`/s) and `coalesce` (default flood control on the strict port: a 2,000-line burst).
//! * `scripts/crash-test`: `crash` (`kill -9` the bot at random moments under load).
//! * `scripts/restart-test`: `restart` (stop/start the IRC server under load, then a half-open
//!   link via SIGSTOP).
//!
//! Every mode prints its figures and exits 1 when an acknowledged entry is missing or
//! duplicated (or the bot did not come back).

#[path = "../tests/it/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use clap::{Parser, Subcommand};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{acked_ids, Message, NetOpts, Network};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

#[derive(Parser)]
#[command(about = "Load and fault generator for srebot (see the module docs)")]
struct Cli {
    /// The srebot binary to test (build it with --release).
    #[arg(long, default_value = "target/release/srebot")]
    bot: PathBuf,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Throughput and latency with wide flood control, then a steady rate.
    Bench {
        /// Client connections.
        #[arg(long, default_value_t = 20)]
        clients: usize,
        /// `!log` lines in total in the burst.
        #[arg(long, default_value_t = 10_000)]
        entries: usize,
        /// Channels the clients are spread over (client i joins channel i mod N); 1 puts
        /// everybody in one channel, where every line is relayed to every client.
        #[arg(long, default_value_t = 20)]
        channels: usize,
        /// `!log` lines each client may have sent and not yet seen acknowledged (0: send all
        /// at once). The server accepts everything at once, so without a window the latency of
        /// the last line is the whole burst's duration.
        #[arg(long, default_value_t = 8)]
        window: usize,
        /// The steady phase: `!log` per second, for this many seconds (0 skips it).
        #[arg(long, default_value_t = 100)]
        steady_rate: u32,
        #[arg(long, default_value_t = 10)]
        steady_secs: u64,
    },
    /// Default flood control on the strict port: a burst whose acks must be merged.
    Coalesce {
        #[arg(long, default_value_t = 20)]
        clients: usize,
        #[arg(long, default_value_t = 2_000)]
        entries: usize,
    },
    /// `kill -9` the bot at random moments under load, restart it, check the database.
    Crash {
        #[arg(long, default_value_t = 20)]
        kills: u32,
        #[arg(long, default_value_t = 5)]
        clients: usize,
        /// `!log` per second in total.
        #[arg(long, default_value_t = 200)]
        rate: u32,
    },
    /// Stop and restart the IRC server under load, then make the link half-open (SIGSTOP).
    Restart {
        #[arg(long, default_value_t = 10)]
        restarts: u32,
        #[arg(long, default_value_t = 5)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        rate: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !cli.bot.is_file() {
        eprintln!("loadgen: no bot binary at {} (cargo build --release)", cli.bot.display());
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Other work on this machine skews every figure: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!("machine: {cores} cores, load average {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let ok = runtime.block_on(async {
        match cli.mode {
            Mode::Bench { clients, entries, channels, window, steady_rate, steady_secs } => {
                bench(&cli.bot, clients, entries, channels.max(1), window, steady_rate, steady_secs).await
            }
            Mode::Coalesce { clients, entries } => coalesce(&cli.bot, clients, entries).await,
            Mode::Crash { kills, clients, rate } => crash(&cli.bot, kills, clients, rate).await,
            Mode::Restart { restarts, clients, rate } => restart(&cli.bot, restarts, clients, rate).await,
        }
    });
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------------------------------------
// The bot process

const BOT_NICK: &str = "loadbot";
const BOT_PASSWORD: &str = "loadbot-pw";

struct BotSpec {
    port: u16,
    /// burst, interval_ms
    flood: (u32, u64),
    channels: Vec<String>,
    security: Option<String>,
    sasl: bool,
}

struct Bot {
    bin: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Bot {
    fn start(bin: &Path, spec: &BotSpec) -> Bot {
        let dir = tempfile::Builder::new().prefix("srebot-load-").tempdir().expect("temp dir for the bot");
        let mut toml = format!(
            r#"[irc]
server = "127.0.0.1"
port = {port}
nick = "{BOT_NICK}"
alt_nicks = ["{BOT_NICK}_"]
realname = "srebot under load"
[irc.flood]
burst = {burst}
interval_ms = {interval}
[irc.timeouts]
ping_interval = 5
ping_timeout = 5
connect = 5
reconnect_min = 1
reconnect_max = 8
rejoin = 2
nick_regain = 2
"#,
            port = spec.port,
            burst = spec.flood.0,
            interval = spec.flood.1,
        );
        if spec.sasl {
            toml += &format!(
                "[irc.sasl]\nmechanism = \"PLAIN\"\naccount = \"{BOT_NICK}\"\npassword = \"{BOT_PASSWORD}\"\n"
            );
        }
        for c in &spec.channels {
            toml += &format!("[[channels]]\nname = \"{c}\"\nrole = \"public\"\n");
        }
        if let Some(sec) = &spec.security {
            toml += &format!("[[channels]]\nname = \"{sec}\"\nrole = \"security\"\n");
        }
        // The load clients are members by hostmask; every client sends hundreds of lines, so
        // the per-user command limit is off for these runs (as for a busy relay).
        toml += &format!(
            "[storage]\ndatabase = {:?}\n[access]\nhostmasks = [\"ld*!*@*\"]\n[ratelimit]\ninterval_ms = 0\n",
            dir.path().join("srebot.sqlite3")
        );
        std::fs::write(dir.path().join("srebot.toml"), toml).expect("write the bot's config");
        let mut bot = Bot { bin: bin.to_path_buf(), dir, child: None };
        bot.spawn();
        bot
    }

    fn spawn(&mut self) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("open the bot's log");
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(self.dir.path().join("srebot.toml"))
            .env("SREBOT_LOG", "srebot=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start srebot");
        self.child = Some(child);
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("srebot.log")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("srebot.sqlite3")
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (SIGKILL after 15 s); true when it exited 0.
    async fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else { return false };
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.kill9();
        if std::env::var_os("LOADGEN_KEEP").is_some() {
            self.dir.disable_cleanup(true);
            eprintln!("loadgen: keeping {}", self.dir.path().display());
        }
    }
}

/// CPU seconds (user + system) and RSS figures of a process, from /proc.
#[derive(Debug, Clone, Copy, Default)]
struct ProcStats {
    cpu_s: f64,
    rss_kib: u64,
    hwm_kib: u64,
    /// Of the RSS: pages of files (the program's code, libc) and the process's own memory.
    file_kib: u64,
    anon_kib: u64,
}

fn proc_stats(pid: u32) -> ProcStats {
    let mut s = ProcStats::default();
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        if let Some((_, rest)) = stat.rsplit_once(')') {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            s.cpu_s = (ticks(11) + ticks(12)) / clock_ticks();
        }
    }
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        for line in status.lines() {
            let kib = || line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
            if line.starts_with("VmRSS:") {
                s.rss_kib = kib();
            } else if line.starts_with("VmHWM:") {
                s.hwm_kib = kib();
            } else if line.starts_with("RssFile:") {
                s.file_kib = kib();
            } else if line.starts_with("RssAnon:") {
                s.anon_kib = kib();
            }
        }
    }
    s
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

// ---------------------------------------------------------------------------------------------
// Raw IRC connections

/// A registered connection: lines arrive (with their arrival time) on `lines`, and whatever is
/// sent on `out` is written as it comes. PINGs are answered by the reader itself.
struct Conn {
    lines: mpsc::UnboundedReceiver<(Instant, String)>,
    out: mpsc::UnboundedSender<Vec<u8>>,
}

impl Conn {
    async fn connect(port: u16, nick: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        let (rd, mut wr) = stream.into_split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (lines_tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(mut chunk) = out_rx.recv().await {
                // Whatever else is waiting goes in the same write.
                while let Ok(more) = out_rx.try_recv() {
                    chunk.extend_from_slice(&more);
                }
                if wr.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        let pong = out.clone();
        tokio::spawn(async move {
            let mut rd = BufReader::with_capacity(256 * 1024, rd);
            let mut buf = Vec::with_capacity(1024);
            loop {
                buf.clear();
                match rd.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let now = Instant::now();
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                if let Some(token) = line.strip_prefix("PING ") {
                    let _ = pong.send(format!("PONG {token}\r\n").into_bytes());
                    continue;
                }
                if lines_tx.send((now, line)).is_err() {
                    break;
                }
            }
        });
        let mut c = Conn { lines, out };
        c.send(&format!("NICK {nick}\r\nUSER {nick} 0 * :srebot load client"));
        c.wait_for(
            Duration::from_secs(15),
            |m| matches!(m.command.as_str(), "376" | "422"),
            |m| matches!(m.command.as_str(), "432" | "433" | "465" | "ERROR"),
        )
        .await
        .map_err(|e| std::io::Error::other(format!("{nick}: registration: {e}")))?;
        Ok(c)
    }

    fn send(&self, line: &str) {
        let _ = self.out.send(format!("{line}\r\n").into_bytes());
    }

    /// Joins and waits for the end of NAMES; returns whether `nick` was listed.
    async fn join(&mut self, channel: &str, nick: &str) -> Result<bool, String> {
        self.send(&format!("JOIN {channel}"));
        let mut present = false;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let m = self.next_msg(deadline).await?;
            if m.command == "353" && m.params.last().is_some_and(|names| lists(names, nick)) {
                present = true;
            }
            if m.command == "366" && m.param(1).is_some_and(|c| support::irc_eq(c, channel)) {
                return Ok(present);
            }
            if matches!(m.command.as_str(), "403" | "405" | "471" | "473" | "474" | "475") {
                return Err(format!("JOIN {channel} refused: {:?}", m.params));
            }
        }
    }

    async fn next_msg(&mut self, deadline: Instant) -> Result<Message, String> {
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Err(_) => return Err("timed out".into()),
                Ok(None) => return Err("connection closed".into()),
                Ok(Some((_, line))) => {
                    if let Some(m) = Message::parse(&line) {
                        return Ok(m);
                    }
                }
            }
        }
    }

    async fn wait_for(
        &mut self,
        timeout: Duration,
        done: impl Fn(&Message) -> bool,
        fail: impl Fn(&Message) -> bool,
    ) -> Result<Message, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.next_msg(deadline).await?;
            if done(&m) {
                return Ok(m);
            }
            if fail(&m) {
                return Err(format!("{} {:?}", m.command, m.params));
            }
        }
    }
}

/// Whether a NAMES list holds `nick` (with or without a prefix, or as its `_` alternative).
fn lists(names: &str, nick: &str) -> bool {
    names.split_whitespace().any(|n| is_bot(n.trim_start_matches(['@', '+', '%', '~', '&']), nick))
}

fn is_bot(who: &str, bot: &str) -> bool {
    support::irc_eq(who, bot) || support::irc_eq(who, &format!("{bot}_"))
}

/// Keeps InspIRCd's event loop awake: it reads the rest of a socket that filled its 64 KB
/// buffer only at its next wake-up (up to a second on an idle server), which would put the
/// bot's acks into one-second steps and measure the server instead of the bot.
async fn pinger(port: u16, stop: watch::Receiver<bool>) {
    let Ok(mut c) = Conn::connect(port, "ldping").await else {
        eprintln!("loadgen: the pinger could not connect; figures may show the server's 1 s stalls");
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(3));
    while !*stop.borrow() {
        tick.tick().await;
        c.send("PING :keepalive");
        while c.lines.try_recv().is_ok() {}
    }
}

// ---------------------------------------------------------------------------------------------
// Acks

/// How many of the acks in `text` are for `nick`: `Logged #7, nick`, `Logged #5–#9, nick`, or
/// `Logged #5–#9 (nick ×3, other ×2)`.
fn acks_for(text: &str, nick: &str, ids: usize) -> usize {
    if let Some(list) = text.strip_suffix(')').and_then(|t| t.rsplit_once(" (")).map(|(_, l)| l) {
        return list
            .split(", ")
            .filter_map(|part| {
                let (who, n) = part.split_once(" \u{00d7}").unwrap_or((part, "1"));
                support::irc_eq(who, nick).then(|| n.parse::<usize>().unwrap_or(1))
            })
            .sum();
    }
    match text.rsplit_once(", ") {
        Some((_, who)) if support::irc_eq(who, nick) => ids,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Load clients

#[derive(Clone, Copy)]
enum Pace {
    /// Keep up to this many lines unacknowledged (0: no limit).
    Window(usize),
    /// One line per this long, starting after `offset`.
    Every { period: Duration, offset: Duration },
}

/// What one client saw in one phase.
#[derive(Default)]
struct Seen {
    /// Send time of each sequence number.
    sent: Vec<Instant>,
    /// Every ack line in our channel that concerns us: arrival and ids.
    acks: Vec<(Instant, Vec<i64>)>,
    acked_for_us: usize,
    reconnects: u32,
}

struct Client {
    idx: usize,
    conn: Option<Conn>,
    channel: String,
    port: u16,
}

impl Client {
    async fn connect(idx: usize, port: u16, channel: &str, tag: &str) -> Result<Client, String> {
        let mut c = Client { idx, conn: None, channel: channel.to_string(), port };
        c.conn = Some(c.reconnect(tag).await?);
        Ok(c)
    }

    fn nick(&self, tag: &str) -> String {
        format!("ld{tag}{}", self.idx)
    }

    async fn reconnect(&self, tag: &str) -> Result<Conn, String> {
        let mut conn = Conn::connect(self.port, &self.nick(tag)).await.map_err(|e| e.to_string())?;
        conn.join(&self.channel, BOT_NICK).await?;
        Ok(conn)
    }

    /// Waits until the bot is in our channel.
    async fn wait_for_bot(&mut self, timeout: Duration) -> Result<(), String> {
        let chan = self.channel.clone();
        let Some(conn) = self.conn.as_mut() else { return Err("not connected".into()) };
        conn.wait_for(
            timeout,
            |m| m.command == "JOIN" && m.nick().is_some_and(|n| is_bot(n, BOT_NICK)) && m.param(0) == Some(&chan),
            |_| false,
        )
        .await
        .map(|_| ())
    }

    /// Sends `quota` `!log` lines of `phase` at `pace` until they are all acknowledged, `stop`
    /// says so, or the phase's deadline.
    async fn run(&mut self, phase: &Phase, quota: usize, pace: Pace, mut stop: watch::Receiver<bool>) -> Seen {
        let Phase { ref tag, name: phase, deadline, reconnect } = *phase;
        let mut seen = Seen::default();
        let nick = self.nick(tag);
        let start = Instant::now();
        let mut next_at = match pace {
            Pace::Every { offset, .. } => start + offset,
            Pace::Window(_) => start,
        };
        loop {
            if seen.acked_for_us >= quota || *stop.borrow() || Instant::now() >= deadline {
                return seen;
            }
            let Some(conn) = self.conn.as_mut() else {
                if !reconnect {
                    return seen;
                }
                match self.reconnect(tag).await {
                    Ok(c) => {
                        self.conn = Some(c);
                        seen.reconnects += 1;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
                continue;
            };
            // Send what the pace allows now.
            let mut batch = String::new();
            match pace {
                Pace::Window(w) => {
                    let in_flight = seen.sent.len().saturating_sub(seen.acked_for_us);
                    let room = if w == 0 { quota } else { w.saturating_sub(in_flight) };
                    for _ in 0..room.min(quota - seen.sent.len()) {
                        batch += &format!(
                            "PRIVMSG {} :!log load c{} n{} {phase}\r\n",
                            self.channel,
                            self.idx,
                            seen.sent.len()
                        );
                        seen.sent.push(Instant::now());
                    }
                }
                Pace::Every { period, .. } => {
                    let now = Instant::now();
                    while next_at <= now && seen.sent.len() < quota {
                        batch += &format!(
                            "PRIVMSG {} :!log load c{} n{} {phase}\r\n",
                            self.channel,
                            self.idx,
                            seen.sent.len()
                        );
                        seen.sent.push(now);
                        next_at += period;
                    }
                }
            }
            if !batch.is_empty() {
                let _ = conn.out.send(batch.into_bytes());
            }
            let wake = match pace {
                Pace::Every { .. } if seen.sent.len() < quota => next_at.min(deadline),
                _ => deadline,
            };
            tokio::select! {
                line = conn.lines.recv() => match line {
                    None => self.conn = None,
                    Some((at, line)) => {
                        let Some(m) = Message::parse(&line) else { continue };
                        if m.command == "PRIVMSG" && m.param(0) == Some(&self.channel) {
                            let text = m.params.last().map(String::as_str).unwrap_or("");
                            if text.starts_with("Logged #") {
                                let ids = acked_ids(text);
                                let ours = acks_for(text, &nick, ids.len());
                                if ours > 0 {
                                    seen.acked_for_us += ours;
                                    seen.acks.push((at, ids));
                                }
                            }
                        }
                    }
                },
                _ = tokio::time::sleep_until(wake) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Connects `n` clients (client i in `channels[i % len]`) in parallel.
async fn connect_clients(n: usize, port: u16, channels: &[String], tag: &str) -> Result<Vec<Client>, String> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let (chan, tag) = (channels[i % channels.len()].clone(), tag.to_string());
        set.spawn(async move { Client::connect(i, port, &chan, &tag).await });
    }
    let mut clients = Vec::new();
    while let Some(r) = set.join_next().await {
        clients.push(r.map_err(|e| e.to_string())??);
    }
    clients.sort_by_key(|c| c.idx);
    Ok(clients)
}

/// One round of load: the run's tag, the phase's name (in every message), when it ends at the
/// latest, and whether clients reconnect when the server goes away.
#[derive(Clone)]
struct Phase {
    tag: String,
    name: &'static str,
    deadline: Instant,
    reconnect: bool,
}

/// Runs every client's `run` concurrently; returns the clients and what each saw (by index).
async fn run_all(
    clients: Vec<Client>,
    phase: &Phase,
    quotas: &[usize],
    pace: impl Fn(usize) -> Pace,
    stop: watch::Receiver<bool>,
) -> (Vec<Client>, Vec<Seen>) {
    let mut set = tokio::task::JoinSet::new();
    for mut c in clients {
        let (phase, quota, pace, stop) = (phase.clone(), quotas[c.idx], pace(c.idx), stop.clone());
        set.spawn(async move {
            let seen = c.run(&phase, quota, pace, stop).await;
            (c, seen)
        });
    }
    let mut out = Vec::new();
    while let Some(Ok(r)) = set.join_next().await {
        out.push(r);
    }
    out.sort_by_key(|(c, _)| c.idx);
    out.into_iter().unzip()
}

fn quotas(total: usize, clients: usize) -> Vec<usize> {
    (0..clients).map(|i| total / clients + usize::from(i < total % clients)).collect()
}

fn run_tag() -> String {
    std::iter::repeat_with(fastrand::lowercase).take(4).collect()
}

// ---------------------------------------------------------------------------------------------
// Checking against the database

/// The rows of a phase: id → (client, seq), plus tokens stored more than once.
struct Rows {
    by_id: HashMap<i64, (usize, usize)>,
    duplicated: usize,
    total: usize,
}

fn read_rows(db: &Path, phase: &str) -> Result<Rows, String> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("open {}: {e}", db.display()))?;
    let mut stmt = conn.prepare("SELECT id, message FROM sal_entry").map_err(|e| e.to_string())?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).map_err(|e| e.to_string())?;
    let mut out = Rows { by_id: HashMap::new(), duplicated: 0, total: 0 };
    let mut tokens = HashSet::new();
    for row in rows {
        let (id, message) = row.map_err(|e| e.to_string())?;
        let parts: Vec<&str> = message.split_whitespace().collect();
        let (["load", c, n, p] | ["load", c, n, p, ..]) = parts.as_slice() else { continue };
        if *p != phase {
            continue;
        }
        let (Some(c), Some(n)) =
            (c.strip_prefix('c').and_then(|c| c.parse().ok()), n.strip_prefix('n').and_then(|n| n.parse().ok()))
        else {
            continue;
        };
        out.total += 1;
        if !tokens.insert((c, n)) {
            out.duplicated += 1;
        }
        out.by_id.insert(id, (c, n));
    }
    Ok(out)
}

/// Acks against rows: latencies (seconds) of acknowledged lines, and the counts that must be 0.
#[derive(Default)]
struct Check {
    latencies: Vec<f64>,
    acked: usize,
    /// Acked ids with no row, or a row of another client.
    lost: usize,
    /// The same id acknowledged in two different ack lines.
    duplicate_acks: usize,
    /// Lines sent that were never acknowledged.
    unacked: usize,
    last_ack: Option<Instant>,
    first_send: Option<Instant>,
}

fn check(seen: &[Seen], rows: &Rows) -> Check {
    let mut c = Check::default();
    let mut acked_tokens = HashSet::new();
    for (idx, s) in seen.iter().enumerate() {
        c.first_send = [c.first_send, s.sent.first().copied()].into_iter().flatten().min();
        let mut ids_seen = HashSet::new();
        for (at, ids) in &s.acks {
            for id in ids {
                match rows.by_id.get(id) {
                    // Merged lines name other clients' ids too: those are theirs to count.
                    Some(&(client, _)) if client != idx => {}
                    Some(&(client, seq)) => {
                        if !ids_seen.insert(*id) {
                            c.duplicate_acks += 1;
                            continue;
                        }
                        c.acked += 1;
                        acked_tokens.insert((client, seq));
                        if let Some(sent) = s.sent.get(seq) {
                            c.latencies.push(at.saturating_duration_since(*sent).as_secs_f64());
                        }
                        c.last_ack = [c.last_ack, Some(*at)].into_iter().flatten().max();
                    }
                    None => {
                        // Only a single-client line can be told apart from another phase's id.
                        if ids_seen.insert(*id) {
                            c.lost += 1;
                        }
                    }
                }
            }
        }
        c.unacked += (0..s.sent.len()).filter(|seq| !acked_tokens.contains(&(idx, *seq))).count();
    }
    c.latencies.sort_by(f64::total_cmp);
    c
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(s: f64) -> String {
    format!("{:.1} ms", s * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------------
// Modes

#[allow(clippy::too_many_arguments)]
async fn bench(
    bin: &Path,
    k: usize,
    m: usize,
    nchan: usize,
    window: usize,
    steady_rate: u32,
    steady_secs: u64,
) -> bool {
    let tag = run_tag();
    let net = Network::start(NetOpts { services: false, ..NetOpts::default() }).await;
    let channels: Vec<String> = (0..nchan.min(k)).map(|i| format!("#load{tag}{i}")).collect();
    let clients = match connect_clients(k, net.port(), &channels, &tag).await {
        Ok(c) => c,
        Err(e) => return fail(&format!("clients: {e}")),
    };
    let bot = Bot::start(
        bin,
        &BotSpec { port: net.port(), flood: (1, 0), channels: channels.clone(), security: None, sasl: false },
    );
    let mut clients = clients;
    for c in clients.iter_mut() {
        if let Err(e) = c.wait_for_bot(Duration::from_secs(30)).await {
            return fail(&format!("the bot did not join {}: {e}\n{}", c.channel, bot.log_text()));
        }
    }
    let (stop_tx, stop) = watch::channel(false);
    let ping = tokio::spawn(pinger(net.port(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = proc_stats(bot.pid());
    println!("srebot benchmark: {k} clients in {} channel(s), release build, WAL + synchronous=FULL", channels.len());
    println!(
        "idle (connected, joined, {k} users present): RSS {} (code and libraries {}, own memory {})",
        mib(idle.rss_kib),
        mib(idle.file_kib),
        mib(idle.anon_kib)
    );

    let mut ok = true;
    if steady_rate > 0 && steady_secs > 0 {
        let total = (u64::from(steady_rate) * steady_secs) as usize;
        let period = Duration::from_secs_f64(k as f64 / f64::from(steady_rate));
        let before = proc_stats(bot.pid());
        let deadline = Instant::now() + Duration::from_secs(steady_secs + 30);
        let phase = Phase { tag: tag.clone(), name: "steady", deadline, reconnect: false };
        let (cs, seen) = run_all(
            clients,
            &phase,
            &quotas(total, k),
            |i| Pace::Every { period, offset: period.mul_f64(i as f64 / k as f64) },
            stop.clone(),
        )
        .await;
        clients = cs;
        let after = proc_stats(bot.pid());
        match read_rows(&bot.database(), "steady") {
            Err(e) => return fail(&e),
            Ok(rows) => {
                let c = check(&seen, &rows);
                println!(
                    "steady {steady_rate} !log/s for {steady_secs} s: {} acked, latency p50 {} p95 {} p99 {} max {}, bot CPU {:.2} s, missing {}, duplicated {}",
                    c.acked,
                    ms(percentile(&c.latencies, 0.50)),
                    ms(percentile(&c.latencies, 0.95)),
                    ms(percentile(&c.latencies, 0.99)),
                    ms(percentile(&c.latencies, 1.0)),
                    after.cpu_s - before.cpu_s,
                    c.unacked + c.lost,
                    c.duplicate_acks + rows.duplicated,
                );
                ok &= c.unacked + c.lost + c.duplicate_acks + rows.duplicated == 0;
            }
        }
    }

    let before = proc_stats(bot.pid());
    let deadline = Instant::now() + Duration::from_secs(120);
    let (_clients, seen) = run_all(
        clients,
        &Phase { tag: tag.clone(), name: "burst", deadline, reconnect: false },
        &quotas(m, k),
        |_| Pace::Window(window),
        stop.clone(),
    )
    .await;
    let after = proc_stats(bot.pid());
    let _ = stop_tx.send(true);
    let _ = ping.await;
    let rows = match read_rows(&bot.database(), "burst") {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let c = check(&seen, &rows);
    let elapsed = match (c.first_send, c.last_ack) {
        (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
        _ => f64::NAN,
    };
    let cpu = after.cpu_s - before.cpu_s;
    let window_text =
        if window == 0 { "no window: all sent at once".to_string() } else { format!("window {window} per client") };
    println!("burst of {m} !log ({window_text}):");
    println!("  acked {} in {:.3} s: {:.0} acked !log per second", c.acked, elapsed, c.acked as f64 / elapsed);
    println!(
        "  ack latency p50 {} p95 {} p99 {} max {}",
        ms(percentile(&c.latencies, 0.50)),
        ms(percentile(&c.latencies, 0.95)),
        ms(percentile(&c.latencies, 0.99)),
        ms(percentile(&c.latencies, 1.0))
    );
    println!(
        "  bot CPU {:.2} s ({:.2} s per 10,000), peak RSS (VmHWM) {}, RSS after {}",
        cpu,
        cpu * 10_000.0 / c.acked.max(1) as f64,
        mib(after.hwm_kib),
        mib(after.rss_kib)
    );
    println!(
        "  acks missing {}, duplicated {} (rows stored {}, rows duplicated {})",
        c.unacked + c.lost,
        c.duplicate_acks,
        rows.total,
        rows.duplicated
    );
    ok &= c.unacked + c.lost + c.duplicate_acks + rows.duplicated == 0 && c.acked == m;
    drop(bot);
    ok
}

async fn coalesce(bin: &Path, k: usize, m: usize) -> bool {
    let tag = run_tag();
    let net = Network::start(NetOpts { services: false, ..NetOpts::default() }).await;
    let channel = format!("#load{tag}");
    let mut clients = match connect_clients(k, net.port(), std::slice::from_ref(&channel), &tag).await {
        Ok(c) => c,
        Err(e) => return fail(&format!("clients: {e}")),
    };
    // The bot on the strict (Libera-like) port with the default flood control.
    let bot = Bot::start(
        bin,
        &BotSpec {
            port: net.strict_port(),
            flood: (4, 1500),
            channels: vec![channel.clone()],
            security: None,
            sasl: false,
        },
    );
    for c in clients.iter_mut() {
        if let Err(e) = c.wait_for_bot(Duration::from_secs(30)).await {
            return fail(&format!("the bot did not join: {e}"));
        }
    }
    let (stop_tx, stop) = watch::channel(false);
    let ping = tokio::spawn(pinger(net.port(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let (_clients, seen) = run_all(
        clients,
        &Phase { tag: tag.clone(), name: "coalesce", deadline, reconnect: false },
        &quotas(m, k),
        |_| Pace::Window(0),
        stop.clone(),
    )
    .await;
    let _ = stop_tx.send(true);
    let _ = ping.await;
    let rows = match read_rows(&bot.database(), "coalesce") {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let c = check(&seen, &rows);
    let elapsed = match (c.first_send, c.last_ack) {
        (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
        _ => f64::NAN,
    };
    // Every client sees every ack line in the shared channel; client 0's view counts them.
    let mut lines: Vec<&(Instant, Vec<i64>)> = seen.iter().flat_map(|s| s.acks.iter()).collect();
    lines.sort_by_key(|(at, ids)| (*at, ids.first().copied()));
    lines.dedup_by(|a, b| a.1 == b.1);
    let log = bot.log_text();
    let disconnected = log.matches("disconnected").count();
    println!("coalescing: {m} !log from {k} clients in one channel, bot on the strict port with default flood control (burst 4, 1 per 1.5 s)");
    println!(
        "  all {} acked {:.1} s after the first send, in {} ack lines; latency p50 {} p99 {}",
        c.acked,
        elapsed,
        lines.len(),
        ms(percentile(&c.latencies, 0.50)),
        ms(percentile(&c.latencies, 0.99))
    );
    println!(
        "  acks missing {}, duplicated {}; rows stored {}, duplicated {}; bot disconnected {} time(s)",
        c.unacked + c.lost,
        c.duplicate_acks,
        rows.total,
        rows.duplicated,
        disconnected
    );
    c.unacked + c.lost + c.duplicate_acks + rows.duplicated == 0 && disconnected == 0 && c.acked == m
}

async fn crash(bin: &Path, kills: u32, k: usize, rate: u32) -> bool {
    let tag = run_tag();
    let net = Network::start(NetOpts { services: false, ..NetOpts::default() }).await;
    let channels: Vec<String> = (0..k).map(|i| format!("#load{tag}{i}")).collect();
    let mut clients = match connect_clients(k, net.port(), &channels, &tag).await {
        Ok(c) => c,
        Err(e) => return fail(&format!("clients: {e}")),
    };
    let mut bot = Bot::start(bin, &BotSpec { port: net.port(), flood: (1, 0), channels, security: None, sasl: false });
    for c in clients.iter_mut() {
        if let Err(e) = c.wait_for_bot(Duration::from_secs(30)).await {
            return fail(&format!("the bot did not join: {e}"));
        }
    }
    let (stop_tx, stop) = watch::channel(false);
    let period = Duration::from_secs_f64(k as f64 / f64::from(rate.max(1)));
    let load = tokio::spawn({
        let tag = tag.clone();
        async move {
            let phase =
                Phase { tag, name: "crash", deadline: Instant::now() + Duration::from_secs(3600), reconnect: true };
            run_all(
                clients,
                &phase,
                &vec![usize::MAX; k],
                |i| Pace::Every { period, offset: period.mul_f64(i as f64 / k as f64) },
                stop,
            )
            .await
        }
    });
    println!("crash test: {k} clients, {rate} !log/s, kill -9 the bot {kills} times at random moments");
    for i in 1..=kills {
        // Sometimes while it is still connecting, mostly while it is busy.
        tokio::time::sleep(Duration::from_millis(fastrand::u64(200..3000))).await;
        bot.kill9();
        bot.spawn();
        if i % 5 == 0 {
            println!("  {i} kills");
        }
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = stop_tx.send(true);
    let Ok((_clients, seen)) = load.await else { return fail("the load task failed") };
    // Acks still queued in the bot: give them a moment, then stop it cleanly.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let clean = bot.terminate().await;
    let rows = match read_rows(&bot.database(), "crash") {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let c = check(&seen, &rows);
    let sent: usize = seen.iter().map(|s| s.sent.len()).sum();
    println!(
        "  sent {sent}, stored {}, acked: {}, lost: {}, duplicated: {}",
        rows.total,
        c.acked,
        c.lost,
        rows.duplicated + c.duplicate_acks
    );
    println!("  (sent but not acked: {}: said while the bot was down, or acks lost with a killed process)", c.unacked);
    println!("  the last bot exited cleanly on SIGTERM: {clean}");
    c.lost == 0 && rows.duplicated + c.duplicate_acks == 0 && c.acked > 0 && clean
}

async fn restart(bin: &Path, restarts: u32, k: usize, rate: u32) -> bool {
    let tag = run_tag();
    let mut net = Network::start(NetOpts::default()).await;
    net.register_account(BOT_NICK, BOT_PASSWORD).await;
    let channels: Vec<String> = (0..k).map(|i| format!("#load{tag}{i}")).collect();
    let security = format!("#load{tag}sec");
    let mut clients = match connect_clients(k, net.port(), &channels, &tag).await {
        Ok(c) => c,
        Err(e) => return fail(&format!("clients: {e}")),
    };
    let mut all_channels = channels.clone();
    all_channels.push(security.clone());
    let presence = Presence::default();
    let (stop_tx, stop) = watch::channel(false);
    let monitor = tokio::spawn(watch_bot(net.port(), all_channels.clone(), presence.clone(), stop.clone()));
    let mut bot = Bot::start(
        bin,
        &BotSpec {
            port: net.port(),
            flood: (1, 0),
            channels: channels.clone(),
            security: Some(security.clone()),
            sasl: true,
        },
    );
    for c in clients.iter_mut() {
        if let Err(e) = c.wait_for_bot(Duration::from_secs(30)).await {
            return fail(&format!("the bot did not join: {e}"));
        }
    }
    if presence
        .wait_all(&all_channels, Instant::now() - Duration::from_secs(60), Duration::from_secs(30))
        .await
        .is_none()
    {
        return fail(&format!("the bot is not in every channel (SASL?)\n{}", bot.log_text()));
    }
    let period = Duration::from_secs_f64(k as f64 / f64::from(rate.max(1)));
    let load = tokio::spawn({
        let (tag, stop) = (tag.clone(), stop.clone());
        async move {
            let phase =
                Phase { tag, name: "restart", deadline: Instant::now() + Duration::from_secs(3600), reconnect: true };
            run_all(
                clients,
                &phase,
                &vec![usize::MAX; k],
                |i| Pace::Every { period, offset: period.mul_f64(i as f64 / k as f64) },
                stop,
            )
            .await
        }
    });
    println!(
        "restart test: {k} clients, {rate} !log/s, IRC server stopped and restarted {restarts} times, bot with SASL in {} public channels and 1 security channel",
        k
    );
    let mut ok = true;
    let mut back_in = Vec::new();
    for i in 1..=restarts {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(2000..4000))).await;
        net.stop_ircd().await;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(200..1500))).await;
        // Measured from the server's start: services link and the bot's backoff both count.
        let since = Instant::now();
        net.start_ircd().await;
        match presence.wait_all(&all_channels, since, Duration::from_secs(60)).await {
            Some(t) => back_in.push(t.as_secs_f64()),
            None => {
                println!("  restart {i}: the bot did not rejoin every channel within 60 s");
                ok = false;
                break;
            }
        }
    }
    if !back_in.is_empty() {
        back_in.sort_by(f64::total_cmp);
        println!(
            "  after each restart the bot was back in all {} channels (security included) {:.1} s (median), {:.1} s (max) after the server started",
            all_channels.len(),
            percentile(&back_in, 0.5),
            percentile(&back_in, 1.0)
        );
    }

    // A half-open link: the server stops answering without closing anything.
    let timeouts_before = bot.log_text().matches("ping timeout").count();
    tokio::time::sleep(Duration::from_secs(2)).await;
    net.pause_ircd();
    let paused = Instant::now();
    let mut detected = None;
    while paused.elapsed() < Duration::from_secs(30) {
        if bot.log_text().matches("ping timeout").count() > timeouts_before {
            detected = Some(paused.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    net.resume_ircd();
    match detected {
        Some(t) => println!(
            "  half-open link (SIGSTOP): ping timeout detected after {:.1} s (ping_interval 5 s + ping_timeout 5 s)",
            t.as_secs_f64()
        ),
        None => {
            println!("  half-open link (SIGSTOP): NOT detected within 30 s");
            ok = false;
        }
    }
    let resumed = Instant::now();
    match presence.wait_all(&all_channels, resumed, Duration::from_secs(60)).await {
        Some(t) => println!("  back in every channel {:.1} s after SIGCONT", t.as_secs_f64()),
        None => {
            println!("  the bot did not come back after the half-open link");
            ok = false;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop_tx.send(true);
    let Ok((_clients, seen)) = load.await else { return fail("the load task failed") };
    let _ = monitor.await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = bot.log_text();
    let clean = bot.terminate().await;
    let rows = match read_rows(&bot.database(), "restart") {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let c = check(&seen, &rows);
    let sent: usize = seen.iter().map(|s| s.sent.len()).sum();
    let reconnects: u32 = seen.iter().map(|s| s.reconnects).sum();
    let sasl = log.matches("SASL authentication succeeded").count();
    println!(
        "  sent {sent}, stored {}, acked: {}, lost: {}, duplicated: {}; stored but ack not seen: {}",
        rows.total,
        c.acked,
        c.lost,
        rows.duplicated + c.duplicate_acks,
        rows.total.saturating_sub(c.acked)
    );
    println!(
        "  SASL logins: {sasl} (1 + {restarts} restarts + 1 after the half-open link expected); client reconnects: {reconnects}; clean SIGTERM exit: {clean}"
    );
    ok && c.lost == 0
        && rows.duplicated + c.duplicate_acks == 0
        && c.acked > 0
        && clean
        && sasl >= restarts as usize + 2
}

/// When the bot was seen in each channel (its JOIN, or listed in NAMES when we joined after it).
#[derive(Clone, Default)]
struct Presence(Arc<Mutex<BTreeMap<String, Vec<Instant>>>>);

impl Presence {
    fn saw(&self, channel: &str, at: Instant) {
        if let Ok(mut m) = self.0.lock() {
            m.entry(channel.to_ascii_lowercase()).or_default().push(at);
        }
    }

    /// Waits until the bot was seen in every channel after `since`; how long after `since`.
    async fn wait_all(&self, channels: &[String], since: Instant, timeout: Duration) -> Option<Duration> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let latest = self.0.lock().ok().and_then(|m| {
                channels
                    .iter()
                    .map(|c| {
                        m.get(&c.to_ascii_lowercase()).and_then(|v| v.iter().copied().filter(|t| *t >= since).min())
                    })
                    .collect::<Option<Vec<Instant>>>()
            });
            if let Some(times) = latest {
                return times.into_iter().max().map(|t| t.saturating_duration_since(since));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

/// A client in every channel that notes when the bot (re)joins; reconnects when the server goes.
async fn watch_bot(port: u16, channels: Vec<String>, presence: Presence, stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let Ok(mut conn) = Conn::connect(port, "ldwatch").await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        // All at once, and every line handled below: the bot may join while we do.
        conn.send(&format!("JOIN {}", channels.join(",")));
        loop {
            if *stop.borrow() {
                return;
            }
            match tokio::time::timeout(Duration::from_millis(200), conn.lines.recv()).await {
                Err(_) => continue,
                Ok(None) => break,
                Ok(Some((at, line))) => {
                    let Some(m) = Message::parse(&line) else { continue };
                    if m.command == "JOIN" && m.nick().is_some_and(|n| is_bot(n, BOT_NICK)) {
                        if let Some(c) = m.param(0) {
                            presence.saw(c, at);
                        }
                    }
                    // NAMES when we join after the bot: `353 me = #chan :names`.
                    if m.command == "353" && m.params.last().is_some_and(|names| lists(names, BOT_NICK)) {
                        if let Some(c) = m.param(2) {
                            presence.saw(c, at);
                        }
                    }
                }
            }
        }
    }
}

fn fail(why: &str) -> bool {
    eprintln!("loadgen: {why}");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_acks() {
        assert_eq!(acks_for("Logged #5\u{2013}#7, #9 (ld1 \u{00d7}3, ld2)", "ld2", 4), 1);
        assert_eq!(acks_for("Logged #5\u{2013}#7, #9 (ld1 \u{00d7}3, ld2)", "ld1", 4), 3);
        assert_eq!(acks_for("Logged #5\u{2013}#7, ld1", "ld1", 3), 3);
        assert_eq!(acks_for("Logged #5\u{2013}#7, ld1", "ld2", 3), 0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.99), 4.0);
    }
}
