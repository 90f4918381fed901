//! Web view benchmark: fills a database with N Server Admin Log entries (default 1,000,000),
//! serves it, and prints p50/p95/p99 of page renders and searches over HTTP on loopback.
//!
//!     cargo run --release --example webbench [-- ROWS [REQUESTS]]
//!
//! Target (issue 6): with 1,000,000 rows, search and page render p99 ≤ 20 ms on a 2-core machine.

#[path = "../tests/it/http.rs"]
#[allow(dead_code)] // tests/it's HTTP helpers: this bench uses only some
mod http;

use rusqlite::params;
use std::time::{Duration, Instant};

const WORDS: &[&str] = &[
    "restarted",
    "depooled",
    "repooled",
    "deploying",
    "rolled",
    "back",
    "puppet",
    "mariadb",
    "varnish",
    "memcached",
    "scap",
    "sync",
    "config",
    "reboot",
    "kernel",
    "upgrade",
    "cert",
    "renewal",
    "swift",
    "elasticsearch",
    "etcd",
    "kafka",
    "backup",
    "restore",
    "schema",
    "change",
    "index",
    "rebuild",
    "cache",
    "purge",
    "traffic",
    "failover",
];

fn message(i: u64) -> String {
    let r = |k: u64| (i.wrapping_mul(2654435761).wrapping_add(k * 40503) >> 7) as usize;
    let mut m = format!(
        "{} {} db{} {}",
        WORDS[r(1) % WORDS.len()],
        WORDS[r(2) % WORDS.len()],
        1000 + r(3) % 200,
        WORDS[r(4) % WORDS.len()]
    );
    if i.is_multiple_of(7) {
        m.push_str(&format!(" for T{}", 100_000 + r(5) % 300_000));
    }
    if i % 50_000 == 17 {
        m.push_str(" zanzibar"); // a rare word: 20 hits in a million
    }
    m
}

/// Rows per transaction while filling: like the bot's group commits under a steady load, each
/// adds one segment to the full-text index, so searches meet the index as the bot leaves it.
const FILL_BATCH: u64 = 100;

fn fill(path: &std::path::Path, rows: u64) {
    let mut conn = srebot::testing::store::open_database(path).expect("database");
    // Only the fill: the bot itself never runs without synchronous=FULL.
    conn.execute_batch("PRAGMA synchronous = OFF").unwrap();
    let start = Instant::now();
    let t0 = chrono::DateTime::parse_from_rfc3339("2016-01-01T00:00:00Z").unwrap().to_utc();
    for first in (0..rows).step_by(FILL_BATCH as usize) {
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO sal_entry (logged_at, channel, nick, account, userhost, message, private)
                     VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
                )
                .unwrap();
            for i in first..rows.min(first + FILL_BATCH) {
                let at = t0 + chrono::Duration::seconds((i * 300) as i64);
                let private = i % 20 == 3;
                let channel = if private {
                    "#sre-security"
                } else if i % 3 == 0 {
                    "#ops"
                } else {
                    "#sre"
                };
                let nick = format!("user{}", i % 40);
                insert
                    .execute(params![
                        srebot::testing::store::sal::time_text(&at),
                        channel,
                        nick,
                        format!("{nick}@sre/{nick}"),
                        message(i),
                        private
                    ])
                    .unwrap();
            }
        }
        // As the bot's store does at the end of each batch.
        srebot::testing::store::sal::index_new_entries(&tx).unwrap();
        tx.commit().unwrap();
    }
    eprintln!("filled {rows} rows in {:.1} s, {FILL_BATCH} per commit", start.elapsed().as_secs_f64());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let requests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.sqlite3");
    fill(&db, rows);
    let mut config = srebot::testing::config(
        r##"
[[channels]]
name = "#ops"
role = "public"
[web]
base_url = "http://127.0.0.1"
task_url = "https://phabricator.example.org/{}"
"##,
    );
    config.storage.database = db.clone();
    let (port, _store) = srebot::testing::serve_web(config, srebot::testing::clock::Clock::System).await;
    let middle = rows / 2;
    let scenarios: Vec<(&str, String)> = vec![
        ("firehose page", "/sal".into()),
        ("channel page", "/sal?channel=%23ops".into()),
        ("older page", format!("/sal?before={middle}")),
        ("until a date", "/sal?until=2020-06-01".into()),
        ("permalink", format!("/sal/{}", middle + 1)),
        ("search: rare word", "/sal?q=zanzibar".into()),
        ("search: common word", "/sal?q=restarted".into()),
        ("search: two words", "/sal?q=puppet+failover".into()),
        ("search: prefix", "/sal?q=db11*".into()),
        ("search in channel", "/sal?q=kafka&channel=%23sre".into()),
        ("atom feed", "/atom/sal".into()),
        ("json api", "/api/v1/sal?q=etcd".into()),
    ];
    println!("web view, {rows} SAL rows, {requests} sequential requests per scenario (HTTP/1.1 on loopback, new connection each)");
    println!("{:<22} {:>9} {:>9} {:>9} {:>9}", "scenario", "p50 ms", "p95 ms", "p99 ms", "bytes");
    for (name, path) in &scenarios {
        let first = http::get(port, path).await;
        assert_eq!(first.status, 200, "{path}: {}", first.body);
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            let r = http::get(port, path).await;
            times.push(t.elapsed());
            assert_eq!(r.status, 200);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name:<22} {:>9.2} {:>9.2} {:>9.2} {:>9}",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(percentile(&times, 0.99)),
            first.body.len()
        );
    }
}
