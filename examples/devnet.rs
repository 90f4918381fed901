//! A local demo for trying srebot by hand: InspIRCd + Atheme on 127.0.0.1 (the same fixture the
//! integration tests use) and srebot on it, showing the three workflows at once: `#sre`
//! registered with ChanServ and the bot auto-opped there (so it keeps the clinic section of the
//! topic), a clinic schedule for the current weeks, `#sre-security` as the security channel, and
//! the web view with acks linking to it. Accounts: alice (admin) and bob (member).
//!
//! srebot's state (config, database, logs) is kept in DATA-DIR and reused by the next run; the
//! IRC network starts fresh each time (its accounts and `#sre` are registered again).
//! Prints a line per step, then one "ready" block. Ctrl-C stops everything.
//!
//! Run through `./scripts/demo` (`--fresh` starts over). Usage: devnet SREBOT-BINARY DATA-DIR

#[path = "../tests/it/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use chrono::{Datelike, Duration, Utc};
use std::path::Path;
use std::process::{Command, Stdio};

const ACCOUNTS: [(&str, &str); 3] = [("srebot", "srebot-demo-pw"), ("alice", "alicepass"), ("bob", "bobpass")];

fn step(what: &str) {
    println!("demo: {what}");
}

/// A free port on 127.0.0.1, `preferred` when it is free.
fn free_port(preferred: u16) -> u16 {
    let bind = |p| std::net::TcpListener::bind(("127.0.0.1", p)).ok().and_then(|l| l.local_addr().ok());
    bind(preferred).or_else(|| bind(0)).expect("a free port").port()
}

/// The clinic rotation for the week before this one and the next three (CSV as imported).
fn schedule() -> String {
    let today = Utc::now().date_naive();
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let mut csv = String::from("week_start,clinician,backup,team\n");
    for (i, (on, backup)) in [("Bob", "Alice"), ("Alice", "Bob"), ("Bob", "Alice"), ("Alice", "Bob")].iter().enumerate()
    {
        let week = monday + Duration::weeks(i as i64 - 1);
        csv += &format!("{week},{on},{backup},SRE-Demo\n");
    }
    csv
}

fn config_file(port: u16, web_port: u16, dir: &Path) -> String {
    format!(
        r##"# The demo's config, written by ./scripts/demo at each start. Edit it while the demo runs
# and apply it with: srebot reload --config {config}
[irc]
server = "127.0.0.1"
port = {port}
nick = "srebot"
alt_nicks = ["srebot_"]
realname = "srebot demo"
[irc.sasl]
mechanism = "PLAIN"
account = "srebot"
password_file = {pw:?}
[[channels]]
name = "#sre"
role = "public"
[[channels]]
name = "#sre-security"
role = "security"
[storage]
database = {db:?}
[access]
accounts = ["bob"]
admins = ["alice"]
[web]
listen = "127.0.0.1:{web_port}"
base_url = "http://127.0.0.1:{web_port}"
[clinic]
topic_channels = ["#sre"]
topic_via_chanserv = true
"##,
        config = dir.join("srebot.toml").display(),
        pw = dir.join("sasl-password"),
        db = dir.join("srebot.sqlite3"),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(bot_binary), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: devnet SREBOT-BINARY DATA-DIR");
        std::process::exit(2);
    };
    let dir = std::path::absolute(&dir).expect("data dir path");
    std::fs::create_dir_all(&dir).expect("create the data dir");
    let reused = dir.join("srebot.sqlite3").exists();
    step(if reused { "reusing the state in the data dir" } else { "new data dir" });

    step("starting the IRC network (InspIRCd + Atheme services on 127.0.0.1)");
    // 6667, the port IRC clients assume, unless something else has it.
    let opts = support::NetOpts { preferred_port: Some(6667), ..support::NetOpts::default() };
    let net = support::Network::start(opts).await;
    step("registering the accounts srebot, alice, bob with NickServ");
    for (account, password) in ACCOUNTS {
        net.register_account(account, password).await;
    }
    step("registering #sre with ChanServ (founder alice) and auto-op for srebot");
    net.register_channel("alice", "alicepass", "#sre").await;
    net.set_channel_flags("alice", "alicepass", "#sre", "srebot", "+Oot").await;

    let web_port = free_port(8080);
    let config = dir.join("srebot.toml");
    std::fs::write(dir.join("sasl-password"), "srebot-demo-pw\n").expect("write the SASL password");
    std::fs::write(&config, config_file(net.port(), web_port, &dir)).expect("write the config");

    step("importing the clinic schedule for the current weeks");
    std::fs::write(dir.join("clinic.csv"), schedule()).expect("write the schedule");
    let import = Command::new(&bot_binary)
        .args(["clinic", "import"])
        .arg(dir.join("clinic.csv"))
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run srebot clinic import");
    if !import.status.success() {
        eprintln!("demo: the clinic import failed:\n{}", String::from_utf8_lossy(&import.stderr));
        std::process::exit(1);
    }

    step("starting srebot (its log: srebot.log in the data dir)");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("srebot.log")).expect("open the log");
    let mut bot = Command::new(&bot_binary)
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start srebot");
    step("waiting for srebot to join #sre");
    let mut watcher = support::TestClient::connect(net.port(), "demowatch").await;
    let names = watcher.join("#sre").await;
    if !names.iter().any(|n| n.trim_start_matches(['@', '+']) == "srebot") {
        watcher
            .expect_msg("srebot joining #sre", std::time::Duration::from_secs(60), |m| {
                m.command == "JOIN" && m.is_from("srebot")
            })
            .await;
    }
    watcher.quit("demo ready").await;

    let port = net.port();
    println!(
        "\n================ srebot demo: ready ================\n\
         IRC:       127.0.0.1:{port}   (irssi -c 127.0.0.1 -p {port} -n alice, then /msg NickServ IDENTIFY alicepass, /join #sre)\n\
         Web view:  http://127.0.0.1:{web_port}/\n\
         Config:    {config}\n\
         Database:  {db}\n\
         CLI:       srebot sal show 1 --config {config}   (also: access list, clinic export, backup DEST, reload)\n\
         Accounts:  alice / alicepass (admin), bob / bobpass (member)\n\
         Channels:  #sre (clinic duty in its topic), #sre-security (security channel)\n\
         Stop:      Ctrl-C (the state stays in {dir}; ./scripts/demo --fresh starts over)\n\
         ====================================================",
        config = config.display(),
        db = dir.join("srebot.sqlite3").display(),
        dir = dir.display(),
    );
    let _ = tokio::signal::ctrl_c().await;
    let _ = Command::new("kill").arg("-TERM").arg(bot.id().to_string()).status();
    let _ = bot.wait();
}
