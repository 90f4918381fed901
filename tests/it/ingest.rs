//! The ingest API (`POST /api/v1/sal`) and `srebot log` against the real binary on a real
//! network: stored, acknowledged and announced; every bad request refused with its status and
//! nothing stored; idempotency keys; a burst merged on a strict server; retries through a restart.

use crate::botproc::{BotOpts, BotProcess};
use crate::http::{exchange, free_port, Response};
use crate::sal::{join_with, wait_join};
use crate::support::acked_ids;
use crate::support::{shared_network, unique, Network, TestClient, WAIT};
use serde_json::Value;
use std::time::Duration;

const SCAP_TOKEN: &str = "scap-token-0123456789abcdef";
/// `printf %s "$PUPPET_TOKEN" | sha256sum`: the config holds only the digest.
pub const PUPPET_TOKEN: &str = "privacy-walk-token-0001";
pub const PUPPET_TOKEN_SHA256: &str = "57165f0b0ecdc76b8b85251238623d990bb92e7815c747e699b204f7098f2889";

/// `[web]` and `[[ingest.clients]]` for a bot whose web view listens on `port`: `scap` (token
/// file, the public channel only), `puppet` (digest, both channels), `walled` (only from
/// 192.0.2.0/24) and `slow` (two requests, then one a minute).
fn ingest_config(dir: &std::path::Path, port: u16, chan: &str, sec: &str) -> String {
    let token_file = dir.join(format!("scap-{port}.token"));
    std::fs::write(&token_file, format!("{SCAP_TOKEN}\n")).unwrap();
    format!(
        "[web]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}\"\n\
         [[ingest.clients]]\nname = \"scap\"\ntoken_file = {token_file:?}\nchannels = [\"{chan}\"]\n\
         [[ingest.clients]]\nname = \"puppet\"\ntoken_sha256 = \"{PUPPET_TOKEN_SHA256}\"\nchannels = [\"{chan}\", \"{sec}\"]\n\
         [[ingest.clients]]\nname = \"walled\"\ntoken_sha256 = \"{}\"\nchannels = [\"{chan}\"]\nsources = [\"192.0.2.0/24\"]\n\
         [[ingest.clients]]\nname = \"slow\"\ntoken_sha256 = \"{}\"\nchannels = [\"{chan}\"]\nburst = 2\nper_minute = 1\n",
        sha256_hex("walled-token-0123456789"),
        sha256_hex("slow-token-0123456789ab"),
    )
}

/// A bot (not started yet) on the generous port with a public and a security channel and the web
/// view with [`ingest_config`]'s clients on a free port: (options to adjust, the temp dir with the
/// token files, public channel, security channel, web port).
fn ingest_opts(net: &Network, botnick: &str) -> (BotOpts, tempfile::TempDir, String, String, u16) {
    let (chan, sec) = (format!("#{}", unique("sre")), format!("#{}", unique("sec")));
    let port = free_port();
    let mut opts = BotOpts::new(net, botnick);
    opts.channels = vec![(chan.clone(), "public"), (sec.clone(), "security")];
    let dir = tempfile::tempdir().unwrap();
    opts.extra = ingest_config(dir.path(), port, &chan, &sec);
    (opts, dir, chan, sec, port)
}

fn sha256_hex(s: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A POST with the given headers and body, as bytes on the wire.
pub async fn post(port: u16, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut req = format!("POST /api/v1/sal HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += &format!("Content-Length: {}\r\n\r\n", body.len());
    let mut raw = req.into_bytes();
    raw.extend_from_slice(body);
    exchange(port, &raw).await
}

/// A JSON POST with a bearer token.
pub async fn ingest(port: u16, token: &str, body: &Value) -> Response {
    let auth = format!("Bearer {token}");
    post(port, &[("Authorization", &auth), ("Content-Type", "application/json")], body.to_string().as_bytes()).await
}

fn json(r: &Response) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", r.status, r.body))
}

async fn wait_listening(port: u16) {
    let deadline = std::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "nothing listens on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingested_entries_are_stored_announced_and_bad_requests_store_nothing() {
    let net = shared_network().await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&botnick, "botpass1").await;
    net.register_account(&alice, "alicepw1").await;
    let (mut opts, _dir, chan, sec, port) = ingest_opts(net, &botnick);
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    a.join(&sec).await;
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.accounts = vec![alice.clone()];
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    wait_listening(port).await;

    // Stored (committed before the 201), attributed to the author, relayed by the client, announced.
    let r = ingest(
        port,
        SCAP_TOKEN,
        &serde_json::json!({"message": "synced wmf-config (T123456)", "author": "deploy@mw151"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r), serde_json::json!({"id": 1, "url": format!("http://127.0.0.1:{port}/sal/1")}));
    let row: (String, String, String, Option<String>, String) = bot
        .db()
        .query_row("SELECT channel, nick, userhost, relayed_by, message FROM sal_entry WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    assert_eq!(
        row,
        (
            chan.clone(),
            "deploy".into(),
            "deploy@mw151".into(),
            Some("scap".into()),
            "synced wmf-config (T123456)".into()
        )
    );
    let tasks: i64 =
        bot.db().query_row("SELECT count(*) FROM sal_task WHERE task = 'T123456'", [], |r| r.get(0)).unwrap();
    assert_eq!(tasks, 1, "task references are indexed");
    let said = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert_eq!(said, "deploy@mw151 logged #1: synced wmf-config (T123456)");
    // Searchable like any entry, on IRC and on the web.
    a.privmsg(&chan, "!sal search wmf-config").await;
    let found = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(found.contains("#1") && found.contains("synced wmf-config"), "{found}");

    // The same idempotency key twice: one row, the first id, 200 the second time.
    let keyed =
        serde_json::json!({"message": "restarted php-fpm", "author": "deploy@mw152", "idempotency_key": "run-42"});
    let first = ingest(port, SCAP_TOKEN, &keyed).await;
    let again = ingest(port, SCAP_TOKEN, &keyed).await;
    assert_eq!((first.status, again.status), (201, 200), "{} / {}", first.body, again.body);
    assert_eq!(json(&first)["id"], json(&again)["id"]);
    assert_eq!(bot.count("message = 'restarted php-fpm'"), 1);
    // Another client's key of the same name is its own.
    let other = ingest(
        port,
        PUPPET_TOKEN,
        &serde_json::json!({"message": "puppet run", "channel": chan, "idempotency_key": "run-42"}),
    )
    .await;
    assert_eq!(other.status, 201, "{}", other.body);

    // A security channel: only when named and allowed; announced there alone, never on the web.
    let private = ingest(
        port,
        PUPPET_TOKEN,
        &serde_json::json!({"message": "rotated marmot-key-8812", "channel": sec, "author": "root@puppet1001"}),
    )
    .await;
    assert_eq!(private.status, 201, "{}", private.body);
    let private_id = json(&private)["id"].as_i64().unwrap();
    assert_eq!(bot.count(&format!("id = {private_id} AND private = 1")), 1);
    let in_sec = a.expect_privmsg_from(&botnick, &sec, WAIT).await;
    assert_eq!(in_sec, format!("root@puppet1001 logged #{private_id}: rotated marmot-key-8812"));
    for path in [format!("/sal/{private_id}"), "/api/v1/sal".into(), "/sal?q=marmot".into(), "/atom/sal".into()] {
        let page = crate::http::get(port, &path).await;
        assert!(!page.body.contains("marmot-key-8812"), "{path}: {}", page.body);
    }

    let entries = bot.count("1");
    // Every bad request: its status, a JSON reason, nothing stored.
    let auth = |t: &str| format!("Bearer {t}");
    let scap = auth(SCAP_TOKEN);
    let ok_body = br#"{"message": "should not be stored"}"#;
    let ctype = ("Content-Type", "application/json");
    let cases: Vec<(&str, Response, u16, &str)> = vec![
        ("no token", post(port, &[ctype], ok_body).await, 401, "token"),
        (
            "wrong token",
            post(port, &[("Authorization", &auth("nope-nope-nope-nope")), ctype], ok_body).await,
            401,
            "token",
        ),
        ("basic auth", post(port, &[("Authorization", "Basic c2NhcDp4"), ctype], ok_body).await, 401, "token"),
        (
            "not allowed there",
            ingest(port, SCAP_TOKEN, &serde_json::json!({"message": "x should not be stored", "channel": sec})).await,
            403,
            "may not write to",
        ),
        (
            "unknown channel",
            ingest(port, SCAP_TOKEN, &serde_json::json!({"message": "should not be stored", "channel": "#nosuch"}))
                .await,
            404,
            "not a logging channel",
        ),
        (
            "no channel with two allowed",
            ingest(port, PUPPET_TOKEN, &serde_json::json!({"message": "should not be stored"})).await,
            400,
            "channel is required",
        ),
        ("empty", ingest(port, SCAP_TOKEN, &serde_json::json!({"message": "  "})).await, 400, "empty"),
        (
            "over-long",
            ingest(port, SCAP_TOKEN, &serde_json::json!({"message": "y".repeat(401)})).await,
            400,
            "the limit is 400 bytes",
        ),
        ("invalid JSON", post(port, &[("Authorization", &scap), ctype], b"{\"message\": ").await, 400, "invalid JSON"),
        (
            "unknown field",
            ingest(port, SCAP_TOKEN, &serde_json::json!({"message": "should not be stored", "chanel": "#x"})).await,
            400,
            "unknown field",
        ),
        ("wrong type", ingest(port, SCAP_TOKEN, &serde_json::json!({"message": 5})).await, 400, "invalid JSON"),
        (
            "content type",
            post(port, &[("Authorization", &scap), ("Content-Type", "text/plain")], ok_body).await,
            415,
            "application/json",
        ),
        (
            "over 64 KiB",
            post(
                port,
                &[("Authorization", &scap), ctype],
                format!("{{\"message\": \"{}\"}}", "z".repeat(70_000)).as_bytes(),
            )
            .await,
            413,
            "65536 bytes",
        ),
        (
            "a secret",
            ingest(port, SCAP_TOKEN, &serde_json::json!({"message": "set db password=Tr0ub4dor&3xyz on db1001"})).await,
            422,
            "looks like a secret",
        ),
        (
            "from outside its sources",
            ingest(port, "walled-token-0123456789", &serde_json::json!({"message": "should not be stored"})).await,
            403,
            "from this address",
        ),
    ];
    for (what, r, status, reason) in &cases {
        assert_eq!(r.status, *status, "{what}: {}", r.body);
        let why = json(r)["error"].as_str().unwrap_or_default().to_string();
        assert!(why.contains(reason), "{what}: {why}");
        assert!(!why.contains("Tr0ub4dor") && !r.body.contains(SCAP_TOKEN), "{what} echoes a secret: {why}");
    }
    assert!(cases[0].1.headers.to_ascii_lowercase().contains("www-authenticate: bearer"), "{}", cases[0].1.headers);
    let put = format!("PUT /api/v1/sal HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {scap}\r\nContent-Length: 2\r\n\r\n{{}}");
    let put = exchange(port, put.as_bytes()).await;
    assert_eq!(put.status, 405, "{}", put.body);
    assert!(json(&put)["error"].as_str().unwrap().contains("POST writes an entry"));
    // The rate limit: two at once, then 429 with Retry-After.
    let slow = "slow-token-0123456789ab";
    for _ in 0..2 {
        assert_eq!(ingest(port, slow, &serde_json::json!({"message": "slow entry"})).await.status, 201);
    }
    let limited = ingest(port, slow, &serde_json::json!({"message": "slow entry"})).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.headers.to_ascii_lowercase().contains("retry-after: "), "{}", limited.headers);
    assert_eq!(bot.count("1"), entries + 2, "only the two allowed slow entries were stored");
    assert_eq!(bot.count("message LIKE '%should not be stored%'"), 0);
    let log = bot.log_text();
    assert!(!log.contains(SCAP_TOKEN) && !log.contains(PUPPET_TOKEN) && !log.contains("Tr0ub4dor"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_failure_is_503_not_logged() {
    let net = shared_network().await;
    let (mut opts, dir, _, _, port) = ingest_opts(net, &unique("sb"));
    let missing = dir.path().join("not-yet");
    opts.database = Some(missing.join("srebot.sqlite3"));
    let _bot = BotProcess::start(opts);
    wait_listening(port).await;
    let r = ingest(port, SCAP_TOKEN, &serde_json::json!({"message": "lost?"})).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(json(&r)["error"].as_str().unwrap().starts_with("NOT logged: database unavailable"), "{}", r.body);
    // Back: the same request is stored.
    std::fs::create_dir(&missing).unwrap();
    let r = ingest(port, SCAP_TOKEN, &serde_json::json!({"message": "not lost"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_500_reaches_a_strict_server_merged_in_seconds() {
    let net = shared_network().await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    let (mut opts, _dir, chan, _, port) = ingest_opts(net, &botnick);
    let mut a = TestClient::connect(net.port(), &alice).await;
    // The strict (Libera-like) class, with the bot's default flood control.
    opts.port = net.strict_port();
    opts.flood = (4, 1500);
    let mut bot = BotProcess::start(opts);
    join_with(&mut a, &chan, &botnick, WAIT).await;
    wait_listening(port).await;

    let started = std::time::Instant::now();
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..500 {
        posts.spawn(async move {
            let body = serde_json::json!({"message": format!("depooled mw{} for the burst", 1000 + i), "author": "deploy@deploy1002"});
            ingest(port, SCAP_TOKEN, &body).await.status
        });
    }
    while let Some(status) = posts.join_next().await {
        assert_eq!(status.unwrap(), 201);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut lines = 0;
    while seen.len() < 500 {
        let line = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(30)).await;
        lines += 1;
        seen.extend(acked_ids(&line));
    }
    let took = started.elapsed();
    assert_eq!(seen, (1..=500).collect(), "every entry announced");
    assert!(lines <= 40, "{lines} lines for 500 entries: merged");
    println!("500 ingested entries announced in {lines} lines, {took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    a.assert_silent(Duration::from_secs(2), |l| l.contains(" QUIT ") && l.contains(&format!(":{botnick}!"))).await;
    assert!(bot.is_running());
    let log = bot.log_text();
    assert!(!log.contains("Excess Flood") && !log.contains("connection lost"), "{log}");
    assert_eq!(bot.count("1"), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srebot_log_retries_through_a_restart_and_stores_once() {
    let net = shared_network().await;
    let (opts, dir, chan, sec, port) = ingest_opts(net, &unique("sb"));
    let mut bot = BotProcess::create(opts);
    let token_file = dir.path().join(format!("scap-{port}.token"));
    let client = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_srebot"))
            .args(["log", "--retry-for", "30"])
            .args(args)
            .env("SREBOT_URL", format!("http://127.0.0.1:{port}"))
            .env("SREBOT_TOKEN_FILE", &token_file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The bot is down: the client keeps trying.
    let waiting = client(&["--author", "deploy@mw151", "synced", "wmf-config", "(T123456)"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    bot.spawn();
    let out = tokio::task::spawn_blocking(move || waiting.wait_with_output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), format!("Logged #1 http://127.0.0.1:{port}/sal/1"));
    assert_eq!(bot.count("message = 'synced wmf-config (T123456)' AND nick = 'deploy'"), 1);
    // Through a restart: down again, and up after a few tries.
    bot.terminate(WAIT);
    let waiting = client(&["after", "the", "restart"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    bot.spawn();
    let out = tokio::task::spawn_blocking(move || waiting.wait_with_output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(bot.count("message = 'after the restart'"), 1, "stored once");
    // A refusal is not retried: the reason, and a non-zero exit.
    let refused = client(&["--channel", &sec, "not", "allowed"]).wait_with_output().unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("403") && err.contains("may not write to"), "{err}");
    assert_eq!(bot.count("message = 'not allowed'"), 0);
    // The same from a client config file (which names the channel) instead of the environment.
    let conf = dir.path().join("log-client.toml");
    std::fs::write(
        &conf,
        format!(
            "url = \"http://127.0.0.1:{port}\"\ntoken_file = {token_file:?}\nchannel = \"{sec}\"\nretry_seconds = 5\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_srebot"))
        .args(["log", "--config", conf.to_str().unwrap(), "from", "the", "file"])
        .env_remove("SREBOT_URL")
        .env_remove("SREBOT_TOKEN_FILE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("may not write to"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_srebot"))
        .args(["log", "--config", conf.to_str().unwrap(), "--channel", &chan, "from", "the", "file"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(bot.count("message = 'from the file' AND relayed_by = 'scap'"), 1);
}

/// A SAL page of `days` days (newest first) with 24 entries each, in every layout the import
/// reads: `==` and `===` day headings, plain lines, `{{SAL entry|1=…}}` lines and relayed lines.
/// Returns (text, number of lines).
fn generated_page(days: usize) -> (String, usize) {
    let mut text = String::new();
    let first = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for d in (0..days).rev() {
        let day = first + chrono::Duration::days(d as i64);
        let eq = if d % 2 == 0 { "==" } else { "===" };
        text += &format!("{eq} {day} {eq}\n");
        for e in (0..24).rev() {
            let (time, n) = (format!("{e:02}:{:02}", (d * 7 + e) % 60), d * 24 + e);
            text += &match e % 3 {
                0 => format!("* {time} alice: restarted db{n} from 198.51.100.{} (T{})\n", e + 1, 100_000 + n),
                1 => format!("* {time} {{{{SAL entry|1=bob: depooled mw{n}}}}}\n"),
                _ => format!("* {time} LSBot: [deploy@deploy1002] synced wmf-config to host{n}\n"),
            };
        }
    }
    let lines = text.lines().count();
    (text, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_thousand_line_wiki_page_imports_completely_once_and_stays_private_where_it_was() {
    let net = shared_network().await;
    let (opts, dir, chan, sec, port) = ingest_opts(net, &unique("sb"));
    let mut bot = BotProcess::create(opts);
    let (page, lines) = generated_page(400);
    assert_eq!(lines, 10_000);
    let file = dir.path().join("sal.wiki");
    std::fs::write(&file, &page).unwrap();
    let file = file.to_str().unwrap();

    let (ok, out, err) = bot.cli(&["sal", "import-wiki", "--file", file, "--channel", &chan]);
    assert!(ok, "{out}{err}");
    let total = out.lines().last().unwrap();
    assert_eq!(total, format!("{file}: 9600 added, 0 already present, 0 unparsable, over 400 day(s)"), "{out}");
    assert!(out.contains(&format!("{file}: 2020-01-01: 24 added, 0 already present\n")), "{out}");
    assert_eq!(bot.count(&format!("channel = '{chan}' AND import_key IS NOT NULL")), 9600);
    assert_eq!(bot.count("nick = 'deploy' AND relayed_by = 'LSBot' AND userhost = 'deploy@deploy1002'"), 3200);
    // Oldest first, so ids follow time.
    let (first, last): (String, String) = bot
        .db()
        .query_row(
            "SELECT (SELECT message FROM sal_entry WHERE id = 1), (SELECT message FROM sal_entry WHERE id = 9600)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (first.as_str(), last.as_str()),
        ("restarted db0 from 198.51.100.1 (T100000)", "synced wmf-config to host9599")
    );
    // Idempotent; and a later edit of the page adds only its new lines.
    let (ok, out, _) = bot.cli(&["sal", "import-wiki", "--file", file, "--channel", &chan]);
    assert!(ok && out.ends_with("0 added, 9600 already present, 0 unparsable, over 400 day(s)\n"), "{out}");
    let edited = page.replacen("\n", "\n* 23:59 carol: a line added later\nnot an entry\n", 1);
    std::fs::write(dir.path().join("sal.wiki"), edited).unwrap();
    let (ok, out, _) = bot.cli(&["sal", "import-wiki", "--file", file, "--channel", &chan]);
    assert!(ok && out.ends_with("1 added, 9600 already present, 1 unparsable, over 400 day(s)\n"), "{out}");
    assert!(out.contains("1 unparsable: line 3 (not an entry line"), "{out}");
    // A page of the security channel keeps its privacy.
    let private = dir.path().join("sec.wiki");
    std::fs::write(&private, "== 2021-06-01 ==\n* 10:00 eve: rotated quokka-key-7721\n").unwrap();
    let (ok, out, _) = bot.cli(&["sal", "import-wiki", "--file", private.to_str().unwrap(), "--channel", &sec]);
    assert!(ok && out.contains("1 added"), "{out}");
    assert_eq!(bot.count("message = 'rotated quokka-key-7721' AND private = 1"), 1);
    let (ok, _, err) = bot.cli(&["sal", "import-wiki", "--file", file, "--channel", "#nosuch"]);
    assert!(!ok && err.contains("#nosuch is not one of the config's [[channels]]"), "{err}");

    // Searchable on the web, addresses masked; nothing queued for the wiki; the private one unseen.
    bot.spawn();
    wait_listening(port).await;
    let found = crate::http::get(port, "/api/v1/sal?q=db4242").await;
    let v = json(&found);
    assert_eq!(v["entries"][0]["message"], "restarted db4242 from [IP hidden] (T104242)", "{}", found.body);
    assert!(!crate::http::get(port, "/api/v1/sal?q=quokka").await.body.contains("quokka-key"));
    let queued: i64 = bot.db().query_row("SELECT count(*) FROM sal_outbox", [], |r| r.get(0)).unwrap();
    assert_eq!(queued, 0, "imported entries are never published");
    let (ok, out, _) = bot.cli(&["sal", "show", "9601"]);
    assert!(ok && out.contains("imported from a wiki page"), "{out}");
}
