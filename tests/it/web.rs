//! The web view against a bot on a real network: every route, escaping, paging and search, and
//! a scan of every route's output for text from a security channel.

use crate::botproc::{BotOpts, BotProcess};
use crate::http::{free_port, get};
use crate::sal::wait_join;
use crate::support::{shared_network, unique, TestClient, WAIT};
use std::time::Duration;

const SECRET_MARKER: &str = "okapi-private-marker-5521";

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
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&botnick, "botpass1").await;
    net.register_account(&alice, "alicepw1").await;
    let (chan, sec) = (format!("#{}", unique("sre")), format!("#{}", unique("sec")));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    a.join(&sec).await;
    let port = free_port();
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public"), (sec.clone(), "security")];
    opts.accounts = vec![alice.clone()];
    opts.extra = format!(
        "[web]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}\"\n\
         task_url = \"https://phabricator.example.org/{{}}\"\n[sal]\ninternal_networks = [\"10.64.0.0/12\"]\n"
    );
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    let mut say = async |chan: &str, text: &str| {
        a.privmsg(chan, text).await;
        a.expect_privmsg_from(&botnick, chan, WAIT).await
    };
    let ack =
        say(&chan, "!log restarted db151 for T123456 from 198.51.100.7 via 10.64.0.12 <script>alert(1)</script>").await;
    assert_eq!(ack, format!("Logged the message at http://127.0.0.1:{port}/sal/1, {alice}"));
    say(&sec, &format!("!log {SECRET_MARKER} rotated the deploy key")).await;
    say(&sec, &format!("!incident open {SECRET_MARKER} credential leak")).await;
    say(&chan, "!incident open Wikis down for logged-in users").await;
    say(&chan, "!log depooled cp3050 (T654321)").await;
    say(&chan, "!incident impact user-facing").await;
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
    assert_eq!(get(p, "/sal/notanumber").await.status, 400);

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
    // Admins read everything from the CLI, the security channel's entries included.
    let (ok, out, _) = w.bot.cli(&["sal", "show", "2"]);
    assert!(ok && out.contains(SECRET_MARKER) && out.contains("private: made in a security channel"), "{out}");
    let _ = Duration::ZERO;
}
