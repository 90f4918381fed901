//! Alerts end to end: a real Alertmanager (Debian's `prometheus-alertmanager`) started on
//! loopback, its webhook receiver pointing at the bot, alerts injected with `POST /api/v2/alerts`
//! on Alertmanager itself; and the generic receiver, bad payloads and privacy without it.

use crate::botproc::{BotOpts, BotProcess};
use crate::http::{free_port, get, request};
use crate::sal::wait_join;
use crate::support::{shared_network, unique, TestClient, WAIT};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "alert-token-5c2e9b";
/// Notifications take a few seconds through Alertmanager (group_wait, then the dispatch).
const NOTIFIED: Duration = Duration::from_secs(30);

/// A throw-away Alertmanager on 127.0.0.1, killed on drop.
struct Alertmanager {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// `group_by`: `"alertname"`, or `"..."` for no grouping (one notification per alert).
    async fn start(webhook_port: u16, group_by: &str) -> Alertmanager {
        let bin = std::env::var("ALERTMANAGER_BIN").unwrap_or_else(|_| "/usr/bin/prometheus-alertmanager".into());
        assert!(
            std::path::Path::new(&bin).exists(),
            "{bin} missing: run scripts/install-test-deps (Debian package prometheus-alertmanager)"
        );
        let dir = tempfile::Builder::new().prefix("srebot-am-").tempdir().unwrap();
        let port = free_port();
        let config = format!(
            "route:\n  receiver: srebot\n  group_by: ['{group_by}']\n  group_wait: 1s\n  group_interval: 1s\n  \
             repeat_interval: 1h\nreceivers:\n  - name: srebot\n    webhook_configs:\n      - url: \
             http://127.0.0.1:{webhook_port}/api/v1/alerts/alertmanager\n        send_resolved: true\n        \
             max_alerts: 0\n        http_config:\n          authorization:\n            type: Bearer\n            \
             credentials: {TOKEN}\n"
        );
        std::fs::write(dir.path().join("am.yml"), config).unwrap();
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--"])
            .arg(&bin)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg(format!("--storage.path={}", dir.path().display()))
            .arg(format!("--config.file={}", dir.path().join("am.yml").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("am.log")).unwrap())
            .spawn()
            .expect("start alertmanager");
        let am = Alertmanager { child, port, _dir: dir };
        let deadline = std::time::Instant::now() + WAIT;
        while !tcp_up(port).await || get(port, "/-/ready").await.status != 200 {
            assert!(std::time::Instant::now() < deadline, "alertmanager not ready on {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        am
    }

    /// Injects alerts as Prometheus would.
    async fn inject(&self, alerts: Value) {
        let r = request(self.port, "POST", "/api/v2/alerts", Some(&alerts.to_string())).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    async fn silences(&self) -> Value {
        serde_json::from_str(&get(self.port, "/api/v2/silences").await.body).unwrap()
    }
}

async fn tcp_up(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An alert as Prometheus sends it to Alertmanager; `ends_in_past` resolves it.
fn am_alert(name: &str, instance: &str, extra: Value, resolved: bool) -> Value {
    let now = chrono::Utc::now();
    let mut labels = json!({"alertname": name, "instance": instance, "severity": "critical"});
    for (k, v) in extra.as_object().into_iter().flatten() {
        labels[k] = v.clone();
    }
    let mut a = json!({
        "labels": labels,
        "annotations": {"summary": "returns 503"},
        "startsAt": (now - chrono::Duration::minutes(3)).to_rfc3339(),
        "generatorURL": "http://prometheus.example.org/graph",
    });
    if resolved {
        a["endsAt"] = json!((now - chrono::Duration::seconds(1)).to_rfc3339());
    }
    a
}

/// The bot's config for alerts: the web view on `web`, the token, routes.
fn alerts_config(dir: &std::path::Path, web: u16, am: Option<u16>, routes: &str) -> String {
    let token = dir.join("alerts-token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let am = am.map(|p| format!("alertmanager_url = \"http://127.0.0.1:{p}\"\n")).unwrap_or_default();
    format!(
        "[web]\nlisten = \"127.0.0.1:{web}\"\nbase_url = \"http://127.0.0.1:{web}\"\n\
         [alerts]\ntoken_file = {token:?}\n{am}paging_severities = [\"critical\"]\n{routes}"
    )
}

fn count(bot: &BotProcess, sql: &str) -> i64 {
    bot.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Waits for the bot's next line in `chan` that `pred` accepts, and returns it.
async fn bot_line(c: &mut TestClient, bot: &str, chan: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let m = c
        .expect_msg(what, NOTIFIED, |m| {
            m.command == "PRIVMSG"
                && m.is_from(bot)
                && m.param(0).is_some_and(|t| crate::support::irc_eq(t, chan))
                && m.params.last().is_some_and(|t| pred(t))
        })
        .await;
    m.params.last().cloned().unwrap_or_default()
}

/// A member (alice) in `channels` on the shared network, and the bot's account, registered.
async fn people(channels: &[&str]) -> (String, String, TestClient) {
    let net = shared_network().await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&botnick, "botpass1").await;
    net.register_account(&alice, "alicepw1").await;
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    for c in channels {
        a.join(c).await;
    }
    (botnick, alice, a)
}

/// Starts the bot in `channels` with `extra` config; returns once it joined the last one.
async fn start_bot(
    (botnick, alice, a): (&str, &str, &mut TestClient),
    channels: &[(String, &'static str)],
    adjust: impl FnOnce(&mut BotOpts),
    extra: String,
) -> BotProcess {
    let net = shared_network().await;
    let mut opts = BotOpts::new(net, botnick);
    opts.sasl = Some((botnick.to_string(), "botpass1".into()));
    opts.channels = channels.to_vec();
    opts.accounts = vec![alice.to_string()];
    opts.extra = extra;
    adjust(&mut opts);
    let bot = BotProcess::start(opts);
    wait_join(a, botnick, &channels.last().expect("a channel").0, WAIT).await;
    bot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_firing_resolved_once_each_on_the_incident_and_silenced() {
    let chan = format!("#{}", unique("sre"));
    let (botnick, alice, mut a) = people(&[&chan]).await;
    let web = free_port();
    let am = Alertmanager::start(web, "alertname").await;
    let keep = tempfile::tempdir().unwrap();
    let routes = format!("[[alerts.routes]]\nmatch = {{ severity = \"critical\" }}\nchannels = [\"{chan}\"]\n");
    let extra = alerts_config(keep.path(), web, Some(am.port), &routes);
    let bot = start_bot((&botnick, &alice, &mut a), &[(chan.clone(), "public")], |_| {}, extra).await;
    a.privmsg(&chan, "!incident open wikis down for everyone").await;
    assert!(a.expect_privmsg_from(&botnick, &chan, WAIT).await.starts_with("Incident #1 opened"));

    // Firing: one line, with the host without its port, the summary, the link and the id.
    am.inject(json!([am_alert("MediaWikiDown", "mw151:9100", json!({}), false)])).await;
    let fired = bot_line(&mut a, &botnick, &chan, "the FIRING line", |t| t.starts_with("FIRING")).await;
    assert_eq!(fired, "FIRING MediaWikiDown mw151: returns 503 — http://prometheus.example.org/graph [#1]");

    // A second alert in the group: Alertmanager sends the group again, mw151 included. Only the
    // new one is said, and mw151 is neither stored twice nor said again.
    am.inject(json!([am_alert("MediaWikiDown", "mw152:9100", json!({}), false)])).await;
    let second = bot_line(&mut a, &botnick, &chan, "mw152 firing", |t| t.starts_with("FIRING")).await;
    assert!(second.starts_with("FIRING MediaWikiDown mw152: returns 503"), "{second}");
    a.assert_silent(Duration::from_secs(4), |l| l.contains("mw151")).await;
    assert_eq!(count(&bot, "SELECT count(*) FROM alert"), 2);
    assert_eq!(count(&bot, "SELECT count(*) FROM alert_event"), 2, "one firing each");

    a.privmsg(&chan, "!alerts").await;
    let head = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert_eq!(head, format!("2 firing in {chan}:"));
    assert!(a
        .expect_privmsg_from(&botnick, &chan, WAIT)
        .await
        .starts_with("#1 MediaWikiDown mw151: returns 503, since"));
    a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    a.privmsg(&chan, "!alerts ack MediaWikiDown on it").await;
    assert_eq!(
        a.expect_privmsg_from(&botnick, &chan, WAIT).await,
        format!("{alice} took #1 MediaWikiDown, #2 MediaWikiDown.")
    );
    assert_eq!(count(&bot, &format!("SELECT count(*) FROM alert WHERE acked_by = '{alice}'")), 2);

    // Resolved: both in one line.
    am.inject(json!([
        am_alert("MediaWikiDown", "mw151:9100", json!({}), true),
        am_alert("MediaWikiDown", "mw152:9100", json!({}), true)
    ]))
    .await;
    let resolved = bot_line(&mut a, &botnick, &chan, "the RESOLVED line", |t| t.starts_with("RESOLVED")).await;
    assert!(resolved.starts_with("RESOLVED (2) MediaWikiDown mw151, mw152: returns 503"), "{resolved}");
    assert_eq!(count(&bot, "SELECT count(*) FROM alert_event WHERE status = 'resolved'"), 2);

    // The incident's timeline and report.
    let (ok, draft, err) = bot.cli(&["incident", "report", "1", "--format", "markdown"]);
    assert!(ok, "{err}");
    // On the timeline at the alert's own times (Markdown escapes the `#`).
    assert!(
        draft.contains("alertmanager — note: alert fired: MediaWikiDown mw151: returns 503 (alert \\#1)"),
        "{draft}"
    );
    assert!(draft.contains("alert resolved: MediaWikiDown mw152: returns 503 (alert \\#2)"), "{draft}");
    assert!(draft.contains("## Detection") && draft.contains(" by alert #1"), "{draft}");
    assert!(draft.contains("- Time to detect (detection to incident opened): 2 min"), "{draft}");

    // A silence, created in Alertmanager by alice's account, stops the next notification.
    a.privmsg(&chan, "!silence DiskFull 1h cleaning up /srv").await;
    let reply = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(reply.starts_with("Silenced alertname=DiskFull for 1 h (until "), "{reply}");
    let id = reply.split("silence ").nth(1).and_then(|r| r.split('.').next()).unwrap().to_string();
    let listed = am.silences().await;
    let silence = listed.as_array().unwrap().iter().find(|s| s["id"] == id.as_str()).expect("listed by Alertmanager");
    assert_eq!(
        (silence["createdBy"].as_str(), silence["status"]["state"].as_str()),
        (Some(alice.as_str()), Some("active"))
    );
    assert_eq!(silence["comment"], "cleaning up /srv");
    am.inject(json!([am_alert("DiskFull", "db1", json!({}), false), am_alert("NodeDown", "db2", json!({}), false)]))
        .await;
    let other = bot_line(&mut a, &botnick, &chan, "the unsilenced alert", |t| t.starts_with("FIRING")).await;
    assert!(other.starts_with("FIRING NodeDown db2"), "{other}");
    a.assert_silent(Duration::from_secs(4), |l| l.contains("DiskFull")).await;
    assert_eq!(count(&bot, "SELECT count(*) FROM alert WHERE name = 'DiskFull'"), 0);
    a.privmsg(&chan, "!silence list").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, "1 active silence(s):");
    assert!(a.expect_privmsg_from(&botnick, &chan, WAIT).await.starts_with(&format!("{id} alertname=DiskFull until ")));
    a.privmsg(&chan, &format!("!silence expire {id}")).await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Expired silence {id}."));
    drop(am);
    // Alertmanager gone: said plainly.
    a.privmsg(&chan, "!silence NodeDown 1h x").await;
    let down = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(down.starts_with("NOT silenced: Alertmanager did not answer"), "{down}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_200_alerts_arrives_folded_without_excess_flood() {
    let chan = format!("#{}", unique("sre"));
    let (botnick, alice, mut a) = people(&[&chan]).await;
    let web = free_port();
    let am = Alertmanager::start(web, "...").await; // every alert its own notification
    let keep = tempfile::tempdir().unwrap();
    let extra = alerts_config(keep.path(), web, None, &format!("[[alerts.routes]]\nchannels = [\"{chan}\"]\n"));
    let strict = shared_network().await.strict_port();
    let realistic = |o: &mut BotOpts| {
        o.port = strict; // a Libera-like class: more than a line a second is an Excess Flood
        o.flood = (4, 1500); // the default flood control
    };
    let bot = start_bot((&botnick, &alice, &mut a), &[(chan.clone(), "public")], realistic, extra).await;
    let storm: Vec<Value> = (0..200).map(|i| am_alert("NodeDown", &format!("host{i:03}"), json!({}), false)).collect();
    am.inject(Value::Array(storm)).await;
    let summary = bot_line(&mut a, &botnick, &chan, "the folded summary", |t| t.starts_with("Folded ")).await;
    assert!(summary.contains("FIRING NodeDown ×"), "{summary}");
    assert!(summary.ends_with("!alerts lists what fires."), "{summary}");
    a.clear_pending(); // the lines before the summary (still in `seen`)
    a.assert_silent(Duration::from_secs(8), |l| l.contains("FIRING")).await;
    let said: Vec<String> = a
        .seen()
        .iter()
        .filter(|l| l.contains(&format!("PRIVMSG {chan} :")) && l.contains(&format!(":{botnick}!")))
        .cloned()
        .collect();
    assert!(said.len() <= 8, "{} lines: {said:#?}", said.len());
    let folded: usize =
        said.iter().filter_map(|l| l.split("Folded ").nth(1)?.split(" more").next()?.parse::<usize>().ok()).sum();
    assert_eq!(said.len() - said.iter().filter(|l| l.contains("Folded ")).count() + folded, 200, "{said:#?}");
    assert_eq!(count(&bot, "SELECT count(*) FROM alert WHERE status = 'firing'"), 200);
    // Still connected, in the channel, and answering.
    a.privmsg(&chan, "!alerts").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("200 firing in {chan}:"));
    assert!(!bot.log_text().contains("Excess Flood"), "{}", bot.log_text());
}

/// Posts `body` to the bot's `path` with `auth` (`None`: no Authorization header).
async fn post(port: u16, path: &str, auth: Option<&str>, body: &[u8]) -> crate::http::Response {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    crate::http::Response { status, headers: head.to_string(), body: body.to_string() }
}

fn webhook(alerts: Value) -> Vec<u8> {
    json!({"version": "4", "status": "firing", "receiver": "srebot", "groupKey": "{}:{}", "truncatedAlerts": 0,
           "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am", "alerts": alerts})
    .to_string()
    .into_bytes()
}

fn hook_alert(name: &str, fp: &str, labels: Value) -> Value {
    let mut l = json!({"alertname": name, "severity": "critical"});
    for (k, v) in labels.as_object().into_iter().flatten() {
        l[k] = v.clone();
    }
    json!({"status": "firing", "labels": l, "annotations": {"summary": "s"}, "startsAt": chrono::Utc::now().to_rfc3339(),
           "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": fp})
}

const PRIVATE_MARKER: &str = "okapi-alert-secret-3391";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_alerts_stay_in_the_security_channel_and_bad_payloads_store_nothing() {
    let (chan, sec) = (format!("#{}", unique("sre")), format!("#{}", unique("sec")));
    let (botnick, alice, mut a) = people(&[&chan, &sec]).await;
    let web = free_port();
    let keep = tempfile::tempdir().unwrap();
    // Every alert goes to the public channel, but one labelled for security goes there alone.
    let routes = format!(
        "[[alerts.routes]]\nchannels = [\"{chan}\"]\n[[alerts.routes]]\nmatch = {{ team = \"security\" }}\n\
         channels = [\"{sec}\"]\n[[alerts.routes]]\nmatch = {{ source = \"icinga-sec\" }}\nchannels = [\"{sec}\"]\n"
    );
    let extra = alerts_config(keep.path(), web, None, &routes);
    let channels = [(chan.clone(), "public"), (sec.clone(), "security")];
    let bot = start_bot((&botnick, &alice, &mut a), &channels, |_| {}, extra).await;
    let p = web;

    // Every bad payload: a 4xx with a JSON reason, and nothing stored.
    let ok = webhook(json!([hook_alert("Fine", "f00d", json!({}))]));
    let bad: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
        ("/api/v1/alerts/alertmanager", None, ok.clone(), 401),
        ("/api/v1/alerts/alertmanager", Some("wrong-token"), ok.clone(), 401),
        ("/api/v1/alerts/generic", None, br#"{"source":"icinga","name":"x","state":"firing"}"#.to_vec(), 401),
        ("/api/v1/alerts/alertmanager", Some(TOKEN), b"".to_vec(), 400),
        ("/api/v1/alerts/alertmanager", Some(TOKEN), b"{not json".to_vec(), 400),
        ("/api/v1/alerts/alertmanager", Some(TOKEN), vec![0xff, 0xfe, 0x00], 400),
        (
            "/api/v1/alerts/alertmanager",
            Some(TOKEN),
            String::from_utf8_lossy(&ok).replace("\"4\"", "\"3\"").into_bytes(),
            400,
        ),
        ("/api/v1/alerts/alertmanager", Some(TOKEN), webhook(json!([])), 400),
        ("/api/v1/alerts/alertmanager", Some(TOKEN), webhook(json!([hook_alert("", "ab", json!({}))])), 400),
        ("/api/v1/alerts/alertmanager", Some(TOKEN), webhook(json!([hook_alert("X", "a/b", json!({}))])), 400),
        (
            "/api/v1/alerts/alertmanager",
            Some(TOKEN),
            webhook(json!([hook_alert("Good", "aa", json!({})), hook_alert("X", "", json!({}))])),
            400,
        ),
        ("/api/v1/alerts/generic", Some(TOKEN), br#"{"source":"icinga","name":"x","state":"up"}"#.to_vec(), 400),
        ("/api/v1/alerts/generic", Some(TOKEN), br#"{"source":"","name":"x","state":"firing"}"#.to_vec(), 400),
        ("/api/v1/alerts/generic", Some(TOKEN), br#"[1,2,3]"#.to_vec(), 400),
        ("/api/v1/alerts/generic", Some(TOKEN), vec![b' '; 9 << 20], 413),
    ];
    for (path, auth, body, want) in &bad {
        let r = post(p, path, *auth, body).await;
        assert_eq!(r.status, *want, "{path} {:?}: {}", String::from_utf8_lossy(&body[..body.len().min(80)]), r.body);
        if r.status != 413 {
            let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("JSON reason: {}", r.body));
            assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", r.body);
        }
    }
    assert_eq!(get(p, "/api/v1/alerts/generic").await.status, 405);
    assert_eq!(count(&bot, "SELECT (SELECT count(*) FROM alert) + (SELECT count(*) FROM alert_event)"), 0);

    // A private alert from Alertmanager and one from Icinga: only the security channel hears.
    let private =
        webhook(json!([hook_alert(PRIVATE_MARKER, "5ec", json!({"team": "security", "instance": "vault1"}))]));
    assert_eq!(post(p, "/api/v1/alerts/alertmanager", Some(TOKEN), &private).await.status, 200);
    let icinga = json!({"source": "icinga-sec", "name": format!("{PRIVATE_MARKER}-icinga"), "host": "vault2",
                        "severity": "critical", "state": "firing", "summary": "login failures", "url": ""});
    assert_eq!(post(p, "/api/v1/alerts/generic", Some(TOKEN), icinga.to_string().as_bytes()).await.status, 200);
    let public = json!({"source": "icinga", "name": "HTTP", "host": "mw151", "severity": "critical",
                        "state": "firing", "summary": "503", "url": "https://icinga.example.org/x"});
    let r = post(p, "/api/v1/alerts/generic", Some(TOKEN), public.to_string().as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sec_line = bot_line(&mut a, &botnick, &sec, "the private alert", |t| t.contains(PRIVATE_MARKER)).await;
    assert!(sec_line.starts_with(&format!("FIRING {PRIVATE_MARKER} vault1: s")), "{sec_line}");
    let pub_line = bot_line(&mut a, &botnick, &chan, "the public alert", |t| t.starts_with("FIRING")).await;
    assert_eq!(pub_line, "FIRING HTTP mw151: 503 — https://icinga.example.org/x [#3]");
    a.assert_silent(Duration::from_secs(2), |l| l.contains(&format!("PRIVMSG {chan} :")) && l.contains(PRIVATE_MARKER))
        .await;
    // Re-sent: stored once, said once.
    assert_eq!(post(p, "/api/v1/alerts/generic", Some(TOKEN), public.to_string().as_bytes()).await.status, 200);
    a.assert_silent(Duration::from_secs(2), |l| l.contains("FIRING HTTP")).await;
    assert_eq!(count(&bot, "SELECT count(*) FROM alert"), 3);

    // The shipped Icinga 2 notification command, as Icinga runs it.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/icinga2-srebot-notification.sh");
    let notify = |kind: &str| {
        Command::new(script)
            .args(["-u", &format!("http://127.0.0.1:{p}"), "-t", keep.path().join("alerts-token").to_str().unwrap()])
            .args(["-n", kind, "-H", "db1001", "-s", "MariaDB \"replication\"", "-S", "CRITICAL", "-o", "lag 300 s"])
            .output()
            .unwrap()
    };
    let out = notify("PROBLEM");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = bot_line(&mut a, &botnick, &chan, "the Icinga alert", |t| t.contains("db1001")).await;
    assert!(line.starts_with("FIRING MariaDB \"replication\" db1001: CRITICAL: lag 300 s [#"), "{line}");
    assert!(notify("RECOVERY").status.success());
    let line = bot_line(&mut a, &botnick, &chan, "the Icinga recovery", |t| t.contains("db1001")).await;
    assert!(line.starts_with("RESOLVED MariaDB \"replication\" db1001"), "{line}");

    a.privmsg(&chan, "!alerts").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("1 firing in {chan}:"));
    let only = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(
        only.starts_with("#3 HTTP mw151: 503, since ") && only.ends_with(" UTC — https://icinga.example.org/x"),
        "{only}"
    );
    a.privmsg(&sec, "!clinic pages").await;
    let pages = a.expect_privmsg_from(&botnick, &sec, WAIT).await;
    assert!(pages.contains(PRIVATE_MARKER), "{pages}");
    a.privmsg(&chan, "!clinic pages").await;
    let pages = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(pages.contains("HTTP ×1") && !pages.contains(PRIVATE_MARKER), "{pages}");
    let week = chrono::Utc::now().date_naive().to_string();
    let (ok, out, err) = bot.cli(&["alerts", "pages", "--week", &week, "--format", "markdown"]);
    assert!(ok && out.contains("| HTTP | critical | 1 |") && !out.contains(PRIVATE_MARKER), "{out}{err}");
    let (ok, out, _) = bot.cli(&["alerts", "pages", "--week", &week, "--channel", &sec]);
    assert!(ok && out.contains(PRIVATE_MARKER) && !out.contains("| HTTP"), "{out}");

    // The web view, every route: nothing of the private alerts; the metric counts public ones.
    let metrics = get(p, "/metrics").await.body;
    assert!(metrics.contains("srebot_alerts_firing 1\n"), "{metrics}");
    let pages = get(p, "/pages?format=wikitext").await;
    assert!(pages.status == 200 && pages.body.contains("| HTTP || critical || 1 ||"), "{}", pages.body);
    assert_eq!(get(p, "/pages?week=someday").await.status, 400);
    for (route, _) in srebot::testing::web::ROUTES {
        let paths = crate::web::expand(route, &|name| match name {
            "id" => Some((0..5).map(|n| n.to_string()).collect()),
            "channel" => Some(vec![chan.trim_start_matches('#').into(), sec.trim_start_matches('#').into()]),
            _ => None,
        });
        for path in paths {
            for query in ["", "?format=markdown", &format!("?week={week}")] {
                let r = get(p, &format!("{path}{query}")).await;
                assert!(matches!(r.status, 200 | 400 | 404 | 405), "{path}{query}: {}", r.status);
                assert!(
                    !r.body.contains(PRIVATE_MARKER) && !r.body.contains("vault"),
                    "{path}{query} leaks: {}",
                    r.body
                );
            }
        }
    }
}
