//! Alert receiving benchmark: Alertmanager webhook notifications POSTed to the bot's web module
//! at a fixed rate (open loop: latency counts from the moment a request was due, so a backlog
//! shows), each committed before its 200; meanwhile `!log`-sized writes go through the same
//! store, and their latency is printed too.
//!
//!     cargo run --release --example alertbench [-- RATE [SECONDS]]
//!
//! Target (issue 16): 1,000 notifications/s accepted with p99 ≤ 20 ms.

#[path = "../tests/it/http.rs"]
#[allow(dead_code)] // tests/it's HTTP helpers: this bench uses only some
mod http;

use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
}

/// One notification: alert `i % 2000` of 2,000 distinct ones, firing or resolved by turns, so
/// the bot sees new alerts, re-sent ones and state changes.
fn notification(i: u64) -> String {
    let n = i % 2000;
    let status = if (i / 2000).is_multiple_of(2) { "firing" } else { "resolved" };
    serde_json::json!({
        "version": "4", "status": status, "receiver": "srebot", "groupKey": "{}:{}", "truncatedAlerts": 0,
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
        "alerts": [{
            "status": status,
            "labels": {"alertname": format!("Bench{}", n % 50), "instance": format!("host{n}:9100"), "severity": "critical"},
            "annotations": {"summary": "benchmark alert"},
            "startsAt": "2026-12-03T10:00:00Z",
            "endsAt": if status == "resolved" { "2026-12-03T10:05:00Z" } else { "0001-01-01T00:00:00Z" },
            "generatorURL": "http://prometheus/graph", "fingerprint": format!("{n:016x}"),
        }]
    })
    .to_string()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.sqlite3");
    let mut config = srebot::testing::config(
        r##"
[alerts]
loopback_only = true
[[alerts.routes]]
channels = ["#sre"]
"##,
    );
    config.storage.database = db.clone();
    let (port, store) = srebot::testing::serve_web(config, srebot::testing::clock::Clock::System).await;

    // `!log`-sized writes alongside, 20 a second.
    let logs = tokio::spawn({
        let store = store.clone();
        async move {
            let mut times = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            let end = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < end {
                tick.tick().await;
                let t = Instant::now();
                let entry = srebot::testing::store::sal::NewEntry {
                    logged_at: chrono::Utc::now(),
                    channel: "#sre".into(),
                    nick: "alice".into(),
                    account: Some("alice".into()),
                    userhost: "a@h".into(),
                    relayed_by: None,
                    message: "restarted db151 for T123456".into(),
                    private: false,
                    via_private_message: false,
                    tasks: vec!["T123456".into()],
                };
                store.call(move |c| srebot::testing::store::sal::insert(c, &entry)).await.expect("log write");
                times.push(t.elapsed());
            }
            times
        }
    });

    let total = rate * seconds;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
        tokio::time::sleep_until(due.into()).await;
        let body = notification(i);
        tasks.spawn(async move {
            let r = http::request(port, "POST", "/api/v1/alerts/alertmanager", Some(&body)).await;
            (due.elapsed(), r.status)
        });
    }
    let mut times = Vec::with_capacity(total as usize);
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        let (took, status) = done.unwrap();
        if status != 200 {
            failed += 1;
        }
        times.push(took);
    }
    let elapsed = start.elapsed();
    let mut log_times = logs.await.unwrap();
    times.sort();
    log_times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let stored: i64 = srebot::testing::store::open_database(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM alert_event", [], |r| r.get(0))
        .unwrap();
    println!(
        "alert notifications: {total} offered at {rate}/s for {seconds} s; {} accepted ({failed} failed) in {:.1} s = {:.0}/s",
        total - failed,
        elapsed.as_secs_f64(),
        (total - failed) as f64 / elapsed.as_secs_f64()
    );
    println!(
        "notification latency (due → 200 after commit, new connection each): p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "!log writes alongside ({} at 20/s): p50 {:.2} ms, p99 {:.2} ms; alert events stored: {stored}",
        log_times.len(),
        ms(percentile(&log_times, 0.5)),
        ms(percentile(&log_times, 0.99))
    );
}
