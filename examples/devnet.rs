//! A local demo network for trying srebot by hand: InspIRCd + Atheme on 127.0.0.1 (the same
//! fixture the integration tests use), with srebot connected to `#sre` and `#sre-security`,
//! and the services account `alice` (password `alicepass`) registered and on its access list.
//! The client port is 6667 unless that is taken; the start-up message says which.
//!
//! Run through `./scripts/demo`. Ctrl-C stops everything.

#[path = "../tests/it/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::process::Command;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let bot_binary = std::env::args().nth(1).expect("usage: devnet PATH-TO-SREBOT");
    // 6667, the port IRC clients assume, unless something else has it.
    let opts = support::NetOpts { preferred_port: Some(6667), ..support::NetOpts::default() };
    let net = support::Network::start(opts).await;
    net.register_account("srebot", "srebot-demo-pw").await;
    net.register_account("alice", "alicepass").await;
    let dir = net.dir().to_path_buf();
    std::fs::write(dir.join("sasl-password"), "srebot-demo-pw\n").unwrap();
    let config = dir.join("srebot.toml");
    std::fs::write(
        &config,
        format!(
            r##"[irc]
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
accounts = ["alice"]
admins = ["alice"]
"##,
            port = net.port(),
            pw = dir.join("sasl-password"),
            db = dir.join("srebot.sqlite3"),
        ),
    )
    .unwrap();
    let mut bot = Command::new(bot_binary).arg("--config").arg(&config).spawn().expect("start srebot");
    println!(
        "\nsrebot demo network on 127.0.0.1:{port}\n\
         connect:   irssi -c 127.0.0.1 -p {port} -n alice\n\
         identify:  /msg NickServ IDENTIFY alicepass   (alice is registered; or log in with SASL PLAIN as alice / alicepass)\n\
         then:      /join #sre   and   !log restarted db151 for T123456\n\
         database:  {db}\n\
         Ctrl-C stops the bot and the network.\n",
        port = net.port(),
        db = dir.join("srebot.sqlite3").display()
    );
    let _ = tokio::signal::ctrl_c().await;
    let _ = Command::new("kill").arg("-TERM").arg(bot.id().to_string()).status();
    let _ = bot.wait();
}
