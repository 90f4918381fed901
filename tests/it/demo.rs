//! `./scripts/demo` as a newcomer runs it: fresh data dir, progress, one ready block; then a
//! `!log` through the demo network and the printed web URL fetched. (A debug build, so the test
//! does not wait for the release build; `cargo test` has built it already.)

use crate::support::{TestClient, WAIT};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The value after `label` on the ready block's line that starts with it.
fn field<'a>(block: &'a [String], label: &str) -> &'a str {
    let line = block.iter().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no {label} in {block:#?}"));
    line[label.len()..].split_whitespace().next().unwrap_or("")
}

/// Stops the demo (Ctrl-C to its whole process group) when the test ends, even on failure.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-s", "INT", "--"]).arg(format!("-{}", self.0.id())).status();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_fresh_prints_a_ready_block_takes_a_log_and_serves_its_web_view() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("left-over"), "from an earlier run").unwrap();
    let mut child = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo"))
        .arg("--fresh")
        .env("SREBOT_DEMO_DATA", &data)
        .env("SREBOT_DEMO_PROFILE", "dev")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("run scripts/demo");
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    // Read the progress lines and the ready block on a thread: the build may take minutes.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut progress = Vec::new();
        let mut block: Option<Vec<String>> = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match &mut block {
                None if line.contains("srebot demo: ready") => block = Some(Vec::new()),
                None => progress.push(line),
                Some(b) if line.starts_with("=====") => {
                    let _ = tx.send((progress, std::mem::take(b)));
                    return;
                }
                Some(b) => b.push(line),
            }
        }
    });
    let (progress, block) = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(900)))
        .await
        .unwrap()
        .expect("the demo's ready block within 15 minutes");
    assert!(progress.iter().any(|l| l.starts_with("demo: building")), "{progress:#?}");
    assert!(progress.iter().any(|l| l.contains("new data dir")), "--fresh started over: {progress:#?}");
    assert!(!data.join("left-over").exists());

    let irc = field(&block, "IRC:");
    let port: u16 = irc.strip_prefix("127.0.0.1:").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{irc}"));
    let web = field(&block, "Web view:").to_string();
    assert_eq!(field(&block, "Config:"), data.join("srebot.toml").display().to_string());
    assert_eq!(field(&block, "Database:"), data.join("srebot.sqlite3").display().to_string());
    let accounts = block.iter().find(|l| l.starts_with("Accounts:")).unwrap();
    assert!(
        accounts.contains("alice / alicepass (admin)") && accounts.contains("bob / bobpass (member)"),
        "{accounts}"
    );
    assert!(block.iter().any(|l| l.starts_with("Stop:") && l.contains("Ctrl-C")), "{block:#?}");

    let mut alice = TestClient::connect_sasl(port, "alice", "alice", "alicepass").await;
    alice.join("#sre").await;
    // The bot is auto-opped in the registered #sre and keeps the clinic section of its topic.
    let topic = alice
        .expect("the clinic section in #sre's topic", WAIT, |l| {
            (l.contains(" 332 ") || l.contains(" TOPIC ")) && l.contains("SRE Clinic Duty:")
        })
        .await;
    assert!(topic.contains("SRE-Demo"), "{topic}");
    alice.privmsg("#sre", "!log tried the demo").await;
    let ack = alice.expect_privmsg_from("srebot", "#sre", WAIT).await;
    assert!(ack.contains(&format!("{}/sal/1", web.trim_end_matches('/'))) && ack.ends_with(", alice"), "{ack}");

    let web_port: u16 = web.trim_end_matches('/').rsplit(':').next().and_then(|p| p.parse().ok()).unwrap();
    let page = crate::http::get(web_port, "/").await;
    assert_eq!(page.status, 200, "{}", page.headers);
    assert!(page.body.contains("tried the demo"), "the entry is on the web view:\n{}", page.body);
    let clinic = crate::http::get(web_port, "/clinic").await;
    assert!(clinic.body.contains("SRE-Demo"), "the demo's clinic schedule:\n{}", clinic.body);
    drop(demo);
}
