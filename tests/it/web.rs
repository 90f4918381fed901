//! The web view against a bot on a real network: every route, escaping, paging and search, and
//! a scan of every route's output for text from a security channel.

use crate::botproc::{BotOpts, BotProcess};
use crate::http::{free_port, get};
use crate::sal::wait_join;
use crate::support::{shared_network, unique, Scene, TestClient, WAIT};
use std::time::Duration;

const SECRET_MARKER: &str = "okapi-private-marker-5521";
/// A public status update that tries to run script on the status page, with a public address
/// to mask and a word too long for a phone's width.
const HOSTILE_UPDATE: &str = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"> \
     We are on it; users behind 198.51.100.7 see errors: https://phabricator.example.org/T123456/a-very-long-path-without-any-break-in-it-at-all-so-a-phone-must-wrap-it";

pub struct WebBot {
    pub bot: BotProcess,
    pub port: u16,
    pub chan: String,
    pub sec: String,
    pub botnick: String,
    pub alice: TestClient,
}

/// A bot with the web view on, some public and some security-channel history.
pub async fn web_bot() -> WebBot {
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, alice, chan, sec, mut a } = scene;
    let port = free_port();
    opts.admins = vec![alice.clone()];
    opts.extra = format!(
        "[web]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}\"\n\
         task_url = \"https://phabricator.example.org/{{}}\"\n[sal]\ninternal_networks = [\"10.64.0.0/12\"]\n\
         [[ingest.clients]]\nname = \"puppet\"\ntoken_sha256 = \"{}\"\nchannels = [\"{chan}\", \"{sec}\"]\n",
        crate::ingest::PUPPET_TOKEN_SHA256
    );
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    let mut say = async |chan: &str, text: &str| {
        a.privmsg(chan, text).await;
        a.expect_privmsg_from(&botnick, chan, WAIT).await
    };
    let ack =
        say(&chan, "!log restarted db151 for T123456 from 198.51.100.7 via 10.64.0.12 <script>alert(1)</script>").await;
    // The link, and the id that `!sal amend #1` needs.
    assert_eq!(ack, format!("Logged #1 http://127.0.0.1:{port}/sal/1, {alice}"));
    say(&sec, &format!("!log {SECRET_MARKER} rotated the deploy key")).await;
    say(&sec, &format!("!incident open {SECRET_MARKER} credential leak")).await;
    say(&chan, "!incident open Wikis down for logged-in users").await;
    say(&chan, "!log depooled cp3050 (T654321)").await;
    say(&chan, "!incident impact user-facing").await;
    say(&sec, &format!("!incident update {SECRET_MARKER} keys rotated")).await;
    let posted = say(&chan, &format!("!incident update {HOSTILE_UPDATE}")).await;
    assert!(posted.starts_with("#1: public update posted at "), "{posted}");
    WebBot { bot, port, chan, sec, botnick, alice: a }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_and_nothing_private_leaks() {
    let w = web_bot().await;
    let p = w.port;
    let chan_param = crate::http_param(&w.chan);
    let sec_param = crate::http_param(&w.sec);

    let home = get(p, "/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("restarted db151 for"), "{}", home.body);
    assert!(home.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !home.body.contains("<script>alert"));
    assert!(home.body.contains("<a href=\"https://phabricator.example.org/T123456\">T123456</a>"));
    assert!(home.body.contains("[IP hidden]") && !home.body.contains("198.51.100.7"), "public addresses are masked");
    assert!(home.body.contains("10.64.0.12"), "allow-listed internal addresses are shown");

    let found = get(p, "/sal?q=db151").await;
    assert!(found.status == 200 && found.body.contains("restarted db151"), "{}", found.body);
    let none = get(p, "/sal?q=nosuchword").await;
    assert!(none.status == 200 && none.body.contains("No entries."));
    assert_eq!(get(p, &format!("/sal?channel={chan_param}")).await.status, 200);
    assert_eq!(
        get(p, &format!("/sal?channel={sec_param}")).await.status,
        404,
        "a security channel does not exist here"
    );
    assert_eq!(get(p, "/sal?until=yesterday").await.status, 400);
    assert!(get(p, "/sal?until=2000-01-01").await.body.contains("No entries."));
    assert!(get(p, "/sal?before=2").await.body.contains("#1"));
    assert_eq!(get(p, "/sal/1").await.status, 200);
    assert_eq!(get(p, "/sal/2").await.status, 404, "a security-channel entry has no permalink");
    assert_eq!(get(p, "/sal/999999").await.status, 404);
    // A bad id reads like a missing one, in HTML and in JSON alike (not the extractor's 400).
    let bad = get(p, "/sal/notanumber").await;
    assert!(bad.status == 404 && bad.headers.contains("text/html") && bad.body.contains("No such entry."));
    let bad = get(p, "/api/v1/sal/abc").await;
    assert!(bad.status == 404 && bad.headers.contains("application/json"), "{}", bad.body);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&bad.body).unwrap()["error"], "no such entry");
    assert_eq!(get(p, "/sal?before=abc").await.status, 400);

    let incidents = get(p, "/incidents").await;
    assert!(incidents.status == 200 && incidents.body.contains("Wikis down for logged-in users"));
    // The security channel's incident, opened first, is counted only there: the public one is #1
    // and there is no gap, no #2, for anyone to notice.
    assert!(incidents.body.contains("href=\"/incidents/1\"") && !incidents.body.contains("/incidents/2"));
    let inc = get(p, "/incidents/1").await;
    assert!(inc.status == 200 && inc.body.contains("SAL #3") && inc.body.contains("Report draft"), "{}", inc.body);
    assert!(inc.body.contains("Wikis down for logged-in users"), "{}", inc.body);
    let md = get(p, "/incidents/1/report.md").await;
    assert!(md.status == 200 && md.body.contains("# Incident #1") && md.headers.contains("incident-1.md"));
    assert!(get(p, "/incidents/1/report.wiki").await.body.contains("= Incident #1"));
    assert_eq!(get(p, "/incidents/2").await.status, 404);
    assert_eq!(get(p, "/incidents/2/report.wiki").await.status, 404);
    assert_eq!(get(p, "/clinic").await.status, 200);

    let atom = get(p, "/atom/sal").await;
    assert!(atom.status == 200 && atom.headers.contains("application/atom+xml") && atom.body.contains("<entry>"));
    assert_eq!(get(p, &format!("/atom/sal/{}", w.chan.trim_start_matches('#'))).await.status, 200);
    assert_eq!(get(p, &format!("/atom/sal/{}", w.sec.trim_start_matches('#'))).await.status, 404);

    let api = get(p, "/api/v1/sal").await;
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v["entries"][0]["message"], "depooled cp3050 (T654321)");
    assert_eq!(v["entries"][0]["tasks"][0], "T654321");
    assert_eq!(get(p, "/api/v1/sal/2").await.status, 404);
    let one: serde_json::Value = serde_json::from_str(&get(p, "/api/v1/sal/1").await.body).unwrap();
    assert_eq!(one["url"], format!("http://127.0.0.1:{p}/sal/1"));
    let incs: serde_json::Value = serde_json::from_str(&get(p, "/api/v1/incidents").await.body).unwrap();
    assert_eq!(incs["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(incs["incidents"][0]["id"], 1, "numbered among public incidents only");
    let inc: serde_json::Value = serde_json::from_str(&get(p, "/api/v1/incidents/1").await.body).unwrap();
    assert_eq!(inc["report_required"], true);
    assert_eq!(inc["url"], format!("http://127.0.0.1:{p}/incidents/1"));
    assert_eq!(get(p, "/api/v1/incidents/2").await.status, 404);
    assert_eq!(get(p, "/api/v1/clinic").await.status, 200);

    let metrics = get(p, "/metrics").await;
    assert!(
        metrics.body.contains("srebot_irc_connected 1") && metrics.body.contains("srebot_incidents_open 1"),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains("srebot_command_seconds_count{command=\"log\"}"));
    assert!(
        metrics.body.contains(&format!("srebot_log_entries_total{{channel=\"{}\"}} 2", w.chan)),
        "{}",
        metrics.body
    );
    let health = get(p, "/healthz").await;
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(get(p, "/no/such/page").await.status, 404);

    // The status page, its feed and JSON: the public incident with its latest update, escaped
    // and masked; nothing of the security channel's incident, not even that there is one.
    let status = get(p, "/status").await;
    assert_eq!(status.status, 200);
    let body = &status.body;
    assert!(body.contains("Open incidents") && body.contains("Wikis down for logged-in users"), "{body}");
    assert!(body.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img"), "{body}");
    assert!(!body.contains("<script>document") && !body.contains("<img src=x"), "{body}");
    assert!(body.contains("users behind [IP hidden] see errors") && !body.contains("198.51.100.7"), "{body}");
    assert_eq!(body.matches("class=\"incident\"").count(), 1, "one public incident: {body}");
    let atom = get(p, "/atom/status").await;
    assert!(atom.headers.contains("application/atom+xml") && atom.body.matches("<entry>").count() == 1);
    assert!(atom.body.contains("users behind [IP hidden] see errors") && !atom.body.contains("<script>"));
    let api: serde_json::Value = serde_json::from_str(&get(p, "/api/v1/status").await.body).unwrap();
    assert_eq!(api["incidents"].as_array().unwrap().len(), 1, "{api}");
    assert_eq!(api["incidents"][0]["state"], "investigating");
    let text = api["incidents"][0]["latest_update"]["text"].as_str().unwrap();
    assert!(text.starts_with("<script>") && text.contains("[IP hidden]"), "JSON carries the text, masked: {text}");

    // The privacy scan: no route says anything that was said in the security channel.
    for path in [
        "/".to_string(),
        "/sal".into(),
        "/sal?q=okapi".into(),
        "/sal?q=rotated+deploy+key".into(),
        "/api/v1/sal?q=rotated".into(),
        "/sal/2".into(),
        "/incidents".into(),
        "/incidents/1".into(),
        "/incidents/1/report.md".into(),
        "/incidents/2".into(),
        "/clinic".into(),
        "/status".into(),
        "/atom/status".into(),
        "/api/v1/status".into(),
        "/atom/sal".into(),
        format!("/atom/sal/{}", w.sec.trim_start_matches('#')),
        "/api/v1/sal".into(),
        "/api/v1/sal/2".into(),
        "/api/v1/incidents".into(),
        "/api/v1/incidents/1".into(),
        "/api/v1/incidents/2".into(),
        "/metrics".into(),
        "/healthz".into(),
    ] {
        let r = get(p, &path).await;
        assert!(!r.body.contains(SECRET_MARKER), "{path} leaks the security channel: {}", r.body);
        assert!(!r.body.contains(&w.sec), "{path} names the security channel");
    }

    // With the web view on, a public incident's report draft is a link.
    let mut a = w.alice;
    a.privmsg(&w.chan, "!incident report 1").await;
    let reply = a.expect_privmsg_from(&w.botnick, &w.chan, WAIT).await;
    assert!(reply.starts_with(&format!("Report draft for #1: http://127.0.0.1:{p}/incidents/1 ")), "{reply}");
    // Closed, the incident's clocks stop: roles end at the close, and the API names every event.
    a.privmsg(&w.chan, "!incident status identified bad config").await;
    a.expect_privmsg_from(&w.botnick, &w.chan, WAIT).await;
    a.privmsg(&w.chan, "!incident close").await;
    let closed = a.expect_privmsg_from(&w.botnick, &w.chan, WAIT).await;
    assert!(closed.contains("the draft is written; once it is filed, !incident report-filed 1 <url>"), "{closed}");
    let page = get(p, "/incidents/1").await.body;
    let roles = page.split("<h2>Roles</h2>").nth(1).unwrap().split("</ul>").next().unwrap();
    assert!(!roles.contains("–now") && roles.contains("communicator: "), "{roles}");
    assert!(page.contains("closed after "), "{page}");
    let draft = page.split("<h2>Report draft").nth(1).unwrap();
    assert!(!draft.contains("(current)"), "{draft}");
    let inc: serde_json::Value = serde_json::from_str(&get(p, "/api/v1/incidents/1").await.body).unwrap();
    let events = inc["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in ["opened", "log", "impact", "status", "closed"] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    assert!(events.iter().all(|e| e.get("text") != Some(&serde_json::json!(""))), "{events:?}");
    let status = events.iter().find(|e| e["kind"] == "status").unwrap();
    assert_eq!(
        (&status["from_state"], &status["to_state"]),
        (&serde_json::json!("investigating"), &serde_json::json!("identified"))
    );
    assert!(inc["tenures"].as_array().unwrap().iter().all(|t| t["to"].is_string()), "{inc}");
    // Admins read everything from the CLI, the security channel's entries included.
    let (ok, out, _) = w.bot.cli(&["sal", "show", "2"]);
    assert!(ok && out.contains(SECRET_MARKER) && out.contains("private: made in a security channel"), "{out}");
    let _ = Duration::ZERO;
}

/// Texts the scan looks for: an entry taken back with `!log undo`, a redacted one (with an
/// address of its own), and an address in an incident note. Each is one FTS5 word apart from its
/// first, so a search for that word does not echo the whole text back in the search box.
const UNDONE: &str = "gnu-withdrawn-6631";
const REDACTED: &str = "zebra-redacted-7742";
const REDACTED_IP: &str = "203.0.113.99";
const NOTE_IP: &str = "192.0.2.44";
/// An entry a machine logged in the security channel through the ingest API.
const INGESTED: &str = "ibex-ingested-9913";

/// The entry id in an ack with a link (`Logged #ID …/sal/ID, nick`), from the link.
fn acked_id(ack: &str) -> i64 {
    ack.rsplit_once("/sal/").and_then(|(_, rest)| rest.split(',').next()?.parse().ok()).unwrap_or_else(|| {
        panic!("not an ack with a link: {ack}");
    })
}

/// Every concrete path of a route in `srebot::testing::web::ROUTES`, each `{name}` filled with each of
/// `values(name)`. A placeholder the caller does not know fails the test: a new kind of route
/// must teach the privacy scan what to put there.
pub fn expand(route: &str, values: &dyn Fn(&str) -> Option<Vec<String>>) -> Vec<String> {
    let Some(start) = route.find('{') else { return vec![route.to_string()] };
    let end = start + route[start..].find('}').expect("a closing brace");
    let name = &route[start + 1..end];
    let fill =
        values(name).unwrap_or_else(|| panic!("{route}: the privacy scan does not know what to put in {{{name}}}"));
    fill.iter().flat_map(|v| expand(&format!("{}{v}{}", &route[..start], &route[end + 1..]), values)).collect()
}

/// Gets every route of `srebot::testing::web::ROUTES` (placeholders filled by `values`, see [`expand`])
/// with each of `queries`, and fails if one answers 5xx or shows one of `forbidden`. Returns
/// how many pages it read.
pub async fn assert_no_route_shows(
    port: u16,
    values: &dyn Fn(&str) -> Option<Vec<String>>,
    queries: &[String],
    forbidden: &[&str],
) -> usize {
    let mut scanned = 0;
    for (route, _) in srebot::testing::web::ROUTES {
        for path in expand(route, values) {
            for query in queries {
                let url = format!("{path}{query}");
                let r = get(port, &url).await;
                // 405: the alert receivers take POST only.
                assert!(matches!(r.status, 200 | 400 | 404 | 405), "{url}: {} {}", r.status, r.body);
                for text in forbidden {
                    assert!(!r.body.contains(text), "{url} shows {text:?}:\n{}", r.body);
                }
                scanned += 1;
            }
        }
    }
    scanned
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_keeps_private_masked_redacted_and_undone_text_out() {
    let w = web_bot().await;
    let p = w.port;
    let mut a = w.alice;
    let alice = a.nick().to_string();
    let (chan, sec, botnick) = (w.chan.clone(), w.sec.clone(), w.botnick.clone());
    let mut say = async |text: &str| {
        a.privmsg(&chan, text).await;
        a.expect_privmsg_from(&botnick, &chan, WAIT).await
    };
    // While the public incident is open, so both join its timeline.
    let undone = acked_id(&say(&format!("!log {UNDONE} restarted the wrong host")).await);
    assert!(say("!log undo").await.starts_with(&format!("Undone: #{undone} ")));
    let redacted = acked_id(&say(&format!("!log {REDACTED} blocked {REDACTED_IP}")).await);
    let r = say(&format!("!sal redact #{redacted} named a customer")).await;
    assert!(r.starts_with(&format!("Redacted #{redacted}")), "{r}");
    assert!(say(&format!("!incident note users behind {NOTE_IP} see errors")).await.starts_with("Noted on #"));
    // On IRC the public channel learns who redacted and when, not why.
    let shown = say(&format!("!sal #{redacted}")).await;
    assert!(shown.starts_with(&format!("#{redacted} was redacted by {} on ", alice)), "{shown}");
    assert!(!shown.contains("named a customer"), "{shown}");

    // Through the ingest API, into the security channel.
    let ingested = crate::ingest::ingest(
        p,
        crate::ingest::PUPPET_TOKEN,
        &serde_json::json!({"message": format!("{INGESTED} rotated keys"), "channel": sec}),
    )
    .await;
    assert_eq!(ingested.status, 201, "{}", ingested.body);

    let db = w.bot.db();
    let last_entry: i64 = db.query_row("SELECT max(id) FROM sal_entry", [], |r| r.get(0)).unwrap();
    let incidents: i64 = db.query_row("SELECT count(*) FROM incident", [], |r| r.get(0)).unwrap();
    let ids: Vec<String> =
        (0..=last_entry.max(incidents) + 1).map(|n| n.to_string()).chain(["abc".into(), "-1".into()]).collect();
    let channels: Vec<String> =
        [&chan, &sec].iter().map(|c| c.trim_start_matches('#').to_string()).chain(["nosuch".into()]).collect();
    let values = |name: &str| match name {
        "id" => Some(ids.clone()),
        "channel" => Some(channels.clone()),
        _ => None,
    };
    let queries = [
        String::new(),
        format!("?channel={}", crate::http_param(&chan)),
        format!("?channel={}", crate::http_param(&sec)),
        "?q=okapi".into(),
        "?q=zebra".into(),
        "?q=gnu".into(),
        "?q=ibex".into(),
        "?q=rotated+deploy+key".into(),
        format!("?before={}", last_entry + 1),
        "?until=2100-01-01".into(),
    ];
    let forbidden = [SECRET_MARKER, "198.51.100.7", REDACTED_IP, NOTE_IP, REDACTED, UNDONE, INGESTED, &sec];
    let scanned = assert_no_route_shows(p, &values, &queries, &forbidden).await;
    assert!(scanned > 100, "{scanned} pages scanned");

    // The hidden entries, route by route: no permalink, no feed item, no API entry, no hit.
    for id in [undone, redacted] {
        let page = get(p, &format!("/sal/{id}")).await;
        assert!(page.status == 404 && page.body.contains("No such entry."), "{}", page.body);
        let api = get(p, &format!("/api/v1/sal/{id}")).await;
        assert_eq!((api.status, api.body.as_str()), (404, r#"{"error":"no such entry"}"#));
        assert!(!get(p, "/sal").await.body.contains(&format!("id=\"e{id}\"")));
        assert!(!get(p, "/atom/sal").await.body.contains(&format!("/sal/{id}<")));
    }
    let listed: serde_json::Value = serde_json::from_str(&get(p, "/api/v1/sal").await.body).unwrap();
    let listed: Vec<i64> = listed["entries"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(!listed.is_empty() && !listed.contains(&undone) && !listed.contains(&redacted), "{listed:?}");
    assert!(get(p, "/sal?q=zebra").await.body.contains("No entries."));
    let found: serde_json::Value = serde_json::from_str(&get(p, "/api/v1/sal?q=gnu").await.body).unwrap();
    assert_eq!(found["entries"], serde_json::json!([]));
    // The incident's timeline keeps the place of both entries, not their text; the note is masked.
    let incidents: serde_json::Value = serde_json::from_str(&get(p, "/api/v1/incidents").await.body).unwrap();
    let url = incidents["incidents"][0]["url"].as_str().unwrap().to_string();
    let path = url.trim_start_matches(&format!("http://127.0.0.1:{p}"));
    let page = get(p, path).await.body;
    assert!(page.contains(&format!("SAL #{undone}")) && page.contains(&format!("SAL #{redacted}")), "{page}");
    let timeline = page.split("<h2>Report draft").next().unwrap();
    assert_eq!(timeline.matches("(entry retracted)").count(), 2, "{page}");
    assert!(page.contains("users behind [IP hidden] see errors"), "{page}");
    let api: serde_json::Value = serde_json::from_str(&get(p, &format!("/api/v1{path}")).await.body).unwrap();
    let texts: Vec<&str> = api["timeline"].as_array().unwrap().iter().filter_map(|e| e["text"].as_str()).collect();
    assert_eq!(texts.iter().filter(|t| **t == "(entry retracted)").count(), 2, "{texts:?}");
}

/// Waits until something listens on `port` (the bot's web view starts with the process).
async fn wait_listening(port: u16) {
    let deadline = std::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "nothing listens on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `/healthz` answers `status`; returns its body.
async fn health_becomes(port: u16, status: u16) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let r = get(port, "/healthz").await;
        if r.status == status {
            return r.body;
        }
        assert!(std::time::Instant::now() < deadline, "/healthz still answers {} {}", r.status, r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_critical_with_the_reason_until_irc_and_the_database_work() {
    let net = shared_network().await;
    let botnick = unique("sb");
    let holder = tempfile::tempdir().unwrap();
    let missing_dir = holder.path().join("not-yet");
    let web = free_port();
    let mut opts = BotOpts::new(net, &botnick);
    opts.port = free_port(); // nothing listens there: the bot cannot connect
    opts.channels = vec![(format!("#{}", unique("sre")), "public")];
    opts.database = Some(missing_dir.join("srebot.sqlite3"));
    opts.extra = format!("[web]\nlisten = \"127.0.0.1:{web}\"\n");
    let _bot = BotProcess::start(opts);
    wait_listening(web).await;
    let health = get(web, "/healthz").await;
    assert_eq!(health.status, 503);
    assert_eq!(
        health.body,
        "CRITICAL: IRC: not connected; database not writable: database unavailable (unable to open database file)\n"
    );
    // The database comes back: the check sees it without waiting for a !log.
    std::fs::create_dir(&missing_dir).unwrap();
    assert_eq!(health_becomes(web, 503).await, "CRITICAL: IRC: not connected\n");
    let metrics = get(web, "/metrics").await.body;
    assert!(metrics.contains("srebot_irc_connected 0\n") && metrics.contains("srebot_irc_ready 0\n"), "{metrics}");
    assert!(!metrics.contains("srebot_db_write_errors_total 0\n"), "the failed opens are counted:\n{metrics}");

    // Connected, with a database that cannot be opened as one: critical for the database alone;
    // then healthy once it is a database again.
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&alice, "alicepw1").await;
    let chan = format!("#{}", unique("sre"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    let garbage = holder.path().join("garbage.sqlite3");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let web = free_port();
    let mut opts = BotOpts::new(net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    opts.database = Some(garbage.clone());
    opts.extra = format!("[web]\nlisten = \"127.0.0.1:{web}\"\n");
    let _bot2 = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    a.privmsg(&chan, "!log into a broken file").await;
    let reply = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(reply.starts_with("NOT logged: database unavailable"), "{reply}");
    let body = health_becomes(web, 503).await;
    assert!(
        body.starts_with("CRITICAL: database not writable: database unavailable (") && !body.contains("IRC"),
        "{body}"
    );
    std::fs::remove_file(&garbage).unwrap();
    assert_eq!(health_becomes(web, 200).await, "OK: connected to IRC, database writable\n");
}

/// A web view on `database` without IRC (the library's own server, as `scripts/bench-web` runs
/// it), for what needs many rows or a set clock rather than a network.
async fn local_web(
    dir: &std::path::Path,
    extra: &str,
    clock: Option<&std::path::Path>,
) -> (u16, srebot::testing::store::Store) {
    let database = dir.join("srebot.sqlite3");
    let toml = format!(
        "[irc]\nserver = \"127.0.0.1\"\nnick = \"srebot\"\n\
         [[channels]]\nname = \"#sre\"\nrole = \"public\"\n[[channels]]\nname = \"#ops\"\nrole = \"public\"\n\
         [[channels]]\nname = \"#sec\"\nrole = \"security\"\n\
         [storage]\ndatabase = {database:?}\n[access]\naccounts = []\n{extra}"
    );
    let config = srebot::testing::config::parse(&toml).unwrap_or_else(|p| panic!("{p:?}"));
    let clock = clock
        .map_or(srebot::testing::clock::Clock::System, |file| srebot::testing::clock::Clock::File(file.to_path_buf()));
    srebot::testing::serve_web(config, clock).await
}

/// The entry ids of a SAL page, in order, and its `rel=next` link.
fn page_ids(body: &str) -> (Vec<i64>, Option<String>) {
    let ids = regex::Regex::new(r#"<li id="e(\d+)">"#).unwrap();
    let next = regex::Regex::new(r#"<a rel="next" href="([^"]+)">"#).unwrap();
    (
        ids.captures_iter(body).map(|c| c[1].parse().unwrap()).collect(),
        next.captures(body).map(|c| c[1].replace("&amp;", "&")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_follows_next_to_the_end_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (port, store) = local_web(dir.path(), "", None).await;
    // 200 public entries in #sre (and 10 more hidden), 50 in #ops, 30 private in #sec, mixed.
    let visible = store
        .call(|conn| {
            use srebot::testing::store::sal;
            let mut visible = Vec::new();
            for i in 0..290 {
                let (channel, private) = match i % 29 {
                    0..=19 => ("#sre", false),
                    20 => ("#sre", false), // hidden below
                    21..=25 => ("#ops", false),
                    _ => ("#sec", true),
                };
                let e = sal::NewEntry {
                    logged_at: chrono::Utc::now(),
                    channel: channel.into(),
                    nick: "alice".into(),
                    account: Some("alice".into()),
                    userhost: "a@h".into(),
                    relayed_by: None,
                    message: format!("deploy step {i}"),
                    private,
                    via_private_message: false,
                    tasks: vec![],
                };
                let id = sal::insert(conn, &e)?;
                if i % 29 == 20 {
                    let who = srebot::testing::store::Actor {
                        at: e.logged_at,
                        nick: "root".into(),
                        account: Some("root".into()),
                    };
                    let stored = sal::get(conn, id)?.unwrap();
                    sal::hide(conn, &stored, sal::Kind::Redact, &who, "test")?;
                } else if !private {
                    visible.push((id, channel));
                }
            }
            Ok(visible)
        })
        .await
        .unwrap();
    let newest_first = |channel: Option<&str>| -> Vec<i64> {
        visible.iter().rev().filter(|(_, c)| channel.is_none_or(|want| want == *c)).map(|(id, _)| *id).collect()
    };
    assert_eq!((newest_first(None).len(), newest_first(Some("#sre")).len()), (250, 200));

    // HTML: pages of 100, `next` to the end; a full last page has no link to an empty one.
    for (start, channel, pages) in [("/sal", None, 3), ("/sal?channel=%23sre", Some("#sre"), 2)] {
        let (mut seen, mut next, mut n) = (Vec::new(), Some(start.to_string()), 0);
        while let Some(url) = next {
            let page = get(port, &url).await;
            assert_eq!(page.status, 200, "{url}");
            let (ids, link) = page_ids(&page.body);
            assert!(!ids.is_empty() && ids.len() <= 100, "{url}: {} entries", ids.len());
            if let Some(link) = &link {
                assert_eq!(ids.len(), 100, "{url}: only a full page has a next one");
                assert!(link.contains(&format!("before={}", ids.last().unwrap())), "{link}");
                assert_eq!(channel.is_some(), link.contains("channel=%23sre"), "the filter is kept: {link}");
            }
            seen.extend(ids);
            next = link;
            n += 1;
        }
        assert_eq!(n, pages, "{start}");
        assert_eq!(seen, newest_first(channel), "{start}: every entry once, newest first");
    }

    // JSON: `next_before` is the last id of a page with more after it, null on the last page.
    let (mut seen, mut before) = (Vec::<i64>::new(), None::<i64>);
    loop {
        let url = match before {
            Some(b) => format!("/api/v1/sal?channel=%23sre&before={b}"),
            None => "/api/v1/sal?channel=%23sre".to_string(),
        };
        let v: serde_json::Value = serde_json::from_str(&get(port, &url).await.body).unwrap();
        let ids: Vec<i64> = v["entries"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
        seen.extend(&ids);
        match v["next_before"].as_i64() {
            Some(next) => {
                assert_eq!((ids.len(), Some(next)), (100, ids.last().copied()), "{url}");
                before = Some(next);
            }
            None => {
                assert!(v["next_before"].is_null(), "{v}");
                break;
            }
        }
    }
    assert_eq!(seen, newest_first(Some("#sre")));
}

const SCHEDULE: &str = include_str!("../fixtures/clinic-duty.txt");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clinic_page_and_api_tell_the_imported_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("now");
    std::fs::write(&clock, "2021-09-15T12:00:00Z").unwrap();
    let (port, store) = local_web(dir.path(), "[clinic]\ntimezone = \"UTC\"\n", Some(&clock)).await;
    let (rows, errors) = srebot::testing::clinic::import::parse_any(SCHEDULE);
    assert!(errors.is_empty(), "{errors:?}");
    store.call(move |c| srebot::testing::store::clinic::import(c, &rows, "test", chrono::Utc::now())).await.unwrap();

    let page = get(port, "/clinic").await;
    assert_eq!(page.status, 200);
    let cells =
        regex::Regex::new(r"<tr><td>([^<]*)(?: <strong>\(now\)</strong>)?</td><td>(.*?)</td><td>(.*?)</td></tr>")
            .unwrap();
    let weeks: Vec<(String, String, String)> =
        cells.captures_iter(&page.body).map(|c| (c[1].to_string(), c[2].to_string(), c[3].to_string())).collect();
    let week = |i: usize| (weeks[i].0.as_str(), weeks[i].1.as_str(), weeks[i].2.as_str());
    assert_eq!(weeks.len(), 9, "this week and the next eight: {}", page.body);
    assert!(page.body.contains("<td>2021-09-13 <strong>(now)</strong></td>"), "{}", page.body);
    assert_eq!(week(0), ("2021-09-13", "Cathal Mooney/Arzhel Younsi", "SRE-Infrastructure Foundations"));
    assert_eq!(week(1), ("2021-09-20", "Manuel Aróstegui", "SRE-Data Persistence"));
    assert_eq!(week(2), ("2021-09-27", "Giuseppe Lavagetto", "SRE-Service Operations"));
    assert_eq!(week(3), ("2021-10-04", "No clinic duty this week", ""));
    assert_eq!(week(4).0, "2021-10-11");
    assert_eq!(week(8), ("2021-11-08", "<span class=\"muted\">not scheduled</span>", ""));

    let api: serde_json::Value = serde_json::from_str(&get(port, "/api/v1/clinic").await.body).unwrap();
    let weeks = api["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 9);
    assert_eq!(
        weeks[0],
        serde_json::json!({"week_start": "2021-09-13", "scheduled": true, "clinician": "Cathal Mooney",
            "backup": "Arzhel Younsi", "team": "SRE-Infrastructure Foundations"})
    );
    assert_eq!(weeks[1]["clinician"], "Manuel Aróstegui");
    assert_eq!(
        weeks[3],
        serde_json::json!({"week_start": "2021-10-04", "scheduled": true, "clinician": null, "backup": null, "team": null})
    );
    assert_eq!(weeks[8]["scheduled"], false);
}

/// The value of the sample `key` (name and labels, as written) in Prometheus text.
fn sample(metrics: &str, key: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened_and_name_public_channels_only() {
    use crate::support::{OPER_NAME, OPER_PASSWORD};
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, chan, sec, mut a, .. } = scene;
    let secrets = tempfile::tempdir().unwrap();
    let pw = secrets.path().join("bot-password");
    std::fs::write(&pw, "k2v7q4m9a3b8c6d1e5f0g7h2j4n6p8r3\n").unwrap();
    let web = free_port();
    opts.flood = (2, 300); // a small burst: a few replies at once wait for flood control
                           // A wiki that is down: what is published waits in the outbox.
    opts.extra = format!(
        "[web]\nlisten = \"127.0.0.1:{web}\"\n[publish.mediawiki]\napi_url = \"http://127.0.0.1:{}/api.php\"\n\
         page = \"SAL\"\nusername = \"Bot@sal\"\npassword_file = {pw:?}\nretry_min_seconds = 60\n",
        free_port()
    );
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    for (target, line) in [
        (&chan, "!log one"),
        (&chan, "!log two"),
        (&sec, "!log three, in the security channel"),
        (&chan, "!incident open Wikis slow"),
        (&sec, "!incident open something secret"),
    ] {
        a.privmsg(target, line).await;
        a.expect_privmsg_from(&botnick, target, WAIT).await;
    }
    for _ in 0..5 {
        a.privmsg(&chan, "!help log").await;
    }
    for _ in 0..5 {
        a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    }
    // A lost connection: the bot comes back by itself, and the counter says it happened.
    let mut oper = TestClient::connect(net.port(), &unique("op")).await;
    oper.send(&format!("OPER {OPER_NAME} {OPER_PASSWORD}")).await;
    oper.expect_msg("381 (you are an operator)", WAIT, |m| m.command == "381").await;
    oper.send(&format!("KILL {botnick} :metrics test")).await;
    wait_join(&mut a, &botnick, &chan, Duration::from_secs(30)).await;
    wait_join(&mut a, &botnick, &sec, Duration::from_secs(30)).await;

    // Settled: connected again and nothing waiting to go out.
    let deadline = std::time::Instant::now() + WAIT;
    let m = loop {
        let m = get(web, "/metrics").await.body;
        if sample(&m, "srebot_irc_ready") == Some(1.0) && sample(&m, "srebot_irc_queue_depth") == Some(0.0) {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "the bot did not settle:\n{m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let value = |key: &str| sample(&m, key).unwrap_or_else(|| panic!("no {key}:\n{m}"));
    assert_eq!(value("srebot_irc_connected"), 1.0);
    assert_eq!(value("srebot_irc_reconnects_total"), 1.0, "one KILL, one reconnect");
    assert!(value("srebot_irc_lines_in_total") >= 20.0, "{m}");
    assert!(value("srebot_irc_lines_out_total") >= 10.0 + 2.0 * 4.0, "10 replies and two registrations: {m}");
    assert!(value("srebot_flood_delays_total") >= 1.0 && value("srebot_flood_delay_seconds_total") > 0.0, "{m}");
    let public = chan.to_ascii_lowercase();
    assert_eq!(value(&format!("srebot_log_entries_total{{channel=\"{public}\"}}")), 2.0);
    assert_eq!(value("srebot_incidents_open"), 1.0, "the security channel's incident is not counted");
    assert_eq!(value("srebot_db_write_errors_total"), 0.0);
    assert_eq!(value("srebot_outbox_backlog"), 2.0, "the two public entries wait for the wiki");
    // The latency histogram of !log: cumulative buckets ending in the count, and a sum.
    let buckets: Vec<f64> = m
        .lines()
        .filter(|l| l.starts_with("srebot_command_seconds_bucket{command=\"log\","))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), 11, "ten bounds and +Inf:\n{m}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    let count = value("srebot_command_seconds_count{command=\"log\"}");
    assert_eq!((count, *buckets.last().unwrap()), (3.0, 3.0));
    assert!(value("srebot_command_seconds_sum{command=\"log\"}") > 0.0);
    assert_eq!(value("srebot_command_seconds_count{command=\"help\"}"), 5.0);
    // Every sample is announced, and nothing names the security channel.
    for name in [
        "srebot_irc_connected",
        "srebot_irc_reconnects_total",
        "srebot_irc_lines_in_total",
        "srebot_irc_lines_out_total",
        "srebot_irc_queue_depth",
        "srebot_flood_delays_total",
        "srebot_log_entries_total",
        "srebot_command_seconds",
        "srebot_incidents_open",
        "srebot_db_write_errors_total",
        "srebot_outbox_backlog",
    ] {
        assert!(m.contains(&format!("# TYPE {name} ")), "no TYPE for {name}");
    }
    assert!(!m.to_ascii_lowercase().contains(&sec.to_ascii_lowercase()), "{m}");
    drop(bot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_json_lines_without_secrets() {
    const SASL_PASSWORD: &str = "sasl-Secret-9917x";
    const CHANNEL_KEY: &str = "chanKey7731";
    const BOT_PASSWORD: &str = "mwbotpass0q4m9a3b8c6d1e5f0g7h2j4";
    let net = shared_network().await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&botnick, SASL_PASSWORD).await;
    net.register_account(&alice, "alicepw1").await;
    let chan = format!("#{}", unique("sre"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    a.send(&format!("MODE {chan} +k {CHANNEL_KEY}")).await;
    a.expect_msg("the key set", WAIT, |m| m.command == "MODE" && m.params.iter().any(|p| p == CHANNEL_KEY)).await;
    let secrets = tempfile::tempdir().unwrap();
    let pw = secrets.path().join("bot-password");
    std::fs::write(&pw, format!("{BOT_PASSWORD}\n")).unwrap();
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), SASL_PASSWORD.into()));
    opts.accounts = vec![alice.clone()];
    opts.extra = format!(
        "[[channels]]\nname = \"{chan}\"\nrole = \"public\"\nkey = \"{CHANNEL_KEY}\"\n\
         [publish.mediawiki]\napi_url = \"http://127.0.0.1:{}/api.php\"\npage = \"SAL\"\nusername = \"Bot@sal\"\n\
         password_file = {pw:?}\n",
        free_port()
    );
    opts.env = vec![("SREBOT_LOG_FORMAT".into(), "json".into()), ("SREBOT_LOG".into(), "trace".into())];
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await; // with the key, after SASL
    a.privmsg(&chan, "!log published to a wiki that is down").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #1, {alice}"));
    // The publisher has tried the wiki (and failed) before the bot stops.
    let deadline = std::time::Instant::now() + WAIT;
    while !bot.log_text().contains("wiki") {
        assert!(std::time::Instant::now() < deadline, "no publishing attempt logged:\n{}", bot.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut bot = bot;
    let bot = tokio::task::spawn_blocking(move || {
        assert_eq!(bot.terminate(Duration::from_secs(15)), Some(0));
        bot
    })
    .await
    .unwrap();
    let log = bot.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 20, "trace logs a lot:\n{log}");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains("SASL authentication succeeded")), "{log}");
    for secret in [SASL_PASSWORD, CHANNEL_KEY, BOT_PASSWORD] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
}

#[test]
fn the_systemd_unit_is_hardened_restarts_always_and_starts_without_optional_secrets() {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/srebot.service")).unwrap();
    let mut section = String::new();
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for line in unit.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("not a key=value line: {line}"));
        keys.push((section.clone(), k.to_string(), v.to_string()));
    }
    let service = |key: &str| -> Vec<&str> {
        keys.iter().filter(|(s, k, _)| s == "Service" && k == key).map(|(_, _, v)| v.as_str()).collect()
    };
    for (key, value) in [
        ("Restart", "always"),
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("StateDirectory", "srebot"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(service(key), vec![value], "[Service] {key}");
    }
    assert_eq!(service("ExecStart"), vec!["/usr/bin/srebot --config /etc/srebot/config.toml"]);
    // `systemctl reload`: a file with problems fails the reload, a good one is applied by SIGHUP.
    assert_eq!(
        service("ExecReload"),
        vec!["/usr/bin/srebot check-config /etc/srebot/config.toml", "/bin/kill -HUP $MAINPID"]
    );
    // A credential named by an absolute path fails the start when the file is missing; a bare
    // name is looked up in /etc/credstore/ and skipped when absent. Each one the bot may need is
    // declared, and the path the comment tells to put in the config is where systemd puts it.
    let credentials = service("LoadCredential");
    for c in &credentials {
        let source = c.split_once(':').map_or(*c, |(_, path)| path);
        assert!(!source.starts_with('/'), "LoadCredential={c}: an absent file would stop the bot from starting");
    }
    for needed in ["sasl-password", "mediawiki-bot-password"] {
        assert!(credentials.contains(&needed), "no LoadCredential={needed}: {credentials:?}");
        assert!(unit.contains(&format!("password_file = \"/run/credentials/srebot.service/{needed}\"")), "{needed}");
    }
    // srebot reads paths as written: a variable in the config would be taken literally.
    assert!(!unit.contains("${CREDENTIALS_DIRECTORY}") && !unit.contains("%d/"), "{unit}");
    assert!(unit.contains("database = \"/var/lib/srebot/srebot.sqlite3\""), "the database lives in the StateDirectory");
}
