//! One security channel, two spellings: config says `#SEC…`, the server and the users say
//! `#sec…`. It is the same channel everywhere: joined only after SASL, its `!log`s private, its
//! incidents numbered in its own scope and found from either spelling (#13).

use crate::botproc::{BotOpts, BotProcess};
use crate::http::free_port;
use crate::sal::wait_join;
use crate::support::{shared_network, Scene, TestClient, WAIT};
use crate::web::assert_no_route_shows;
use std::time::Duration;

const MARKER: &str = "okapi-rotation-4417";
const ALERTS_TOKEN: &str = "alert-token-77d1e0";

async fn say(a: &mut TestClient, botnick: &str, target: &str, text: &str) -> String {
    a.privmsg(target, text).await;
    a.expect_privmsg_from(botnick, target, WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_channel_spelled_otherwise_in_config_is_the_same_channel_everywhere() {
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut refused = BotOpts::for_scene(net, &scene);
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, alice, chan, sec, mut a } = scene;
    // Alice made the channel, so the server spells it her way: `#sec12`; config says `#SEC12`.
    let configured = format!("#SEC{}", &sec[4..]);
    assert_ne!(configured, sec);
    let channels = vec![(chan.clone(), "public"), (configured.clone(), "security")];

    // Without SASL the bot stays out of it, whatever the spelling.
    refused.channels = channels.clone();
    refused.sasl = Some((botnick.clone(), "wrongpass".into()));
    let mut bot = BotProcess::start(refused);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    a.assert_silent(Duration::from_secs(3), |l| l.contains(" JOIN ") && l.contains(&format!(":{botnick}!"))).await;
    bot.terminate(WAIT);
    a.expect_msg("the refused bot leaving", WAIT, |m| m.command == "QUIT" && m.is_from(&botnick)).await;

    let secrets = tempfile::tempdir().unwrap();
    let pw = secrets.path().join("bot-password");
    std::fs::write(&pw, "k2v7q4m9a3b8c6d1e5f0g7h2j4n6p8r3\n").unwrap();
    let token = secrets.path().join("alerts-token");
    std::fs::write(&token, format!("{ALERTS_TOKEN}\n")).unwrap();
    let web = free_port();
    opts.channels = channels;
    // A wiki that is down: what would be published waits in the outbox, where it can be seen.
    opts.extra = format!(
        "[web]\nlisten = \"127.0.0.1:{web}\"\n[publish.mediawiki]\napi_url = \"http://127.0.0.1:{}/api.php\"\n\
         page = \"SAL\"\nusername = \"Bot@sal\"\npassword_file = {pw:?}\nretry_min_seconds = 60\n\
         [alerts]\ntoken_file = {token:?}\n[[alerts.routes]]\nmatch = {{ source = \"icinga-sec\" }}\n\
         channels = [\"{configured}\"]\n",
        free_port()
    );
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;

    // `!log` in either spelling is private, stored under the configured name, never queued.
    let logged = format!("Logged #1, {alice}");
    assert_eq!(say(&mut a, &botnick, &sec, &format!("!log rotated the {MARKER} key")).await, logged);
    let logged = format!("Logged #2, {alice}");
    assert_eq!(say(&mut a, &botnick, &configured, &format!("!log {MARKER} again")).await, logged);
    assert_eq!(say(&mut a, &botnick, &chan, "!log restarted db151").await, format!("Logged #3, {alice}"));
    let db = bot.db();
    let stored: Vec<(String, bool)> = db
        .prepare("SELECT channel, private FROM sal_entry ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored, [(configured.clone(), true), (configured.clone(), true), (chan.clone(), false)]);
    let queued = |id: i64| -> i64 {
        db.query_row("SELECT count(*) FROM sal_outbox WHERE entry_id = ?1", [id], |r| r.get(0)).unwrap()
    };
    assert_eq!((queued(1), queued(2), queued(3)), (0, 0, 1), "only the public entry is published");

    // `!sal` from the public channel sees none of it; from the channel, in either spelling, it does.
    assert_eq!(say(&mut a, &botnick, &chan, "!sal #1").await, "No entry #1.");
    let last = say(&mut a, &botnick, &chan, "!sal last 5").await;
    assert!(last.contains("restarted db151") && !last.contains(MARKER), "{last}");
    assert!(say(&mut a, &botnick, &sec, "!sal #2").await.contains(MARKER));
    assert!(say(&mut a, &botnick, &configured, "!sal #1").await.contains(MARKER));

    // An incident opened there is a security incident, numbered in its own scope.
    let opened = say(&mut a, &botnick, &sec, &format!("!incident open {MARKER} leaked")).await;
    assert!(opened.starts_with("Incident #1 opened"), "{opened}");
    let public = say(&mut a, &botnick, &chan, "!incident open search is slow").await;
    assert!(public.starts_with("Incident #1 opened: search is slow"), "{public}");
    assert_eq!(say(&mut a, &botnick, &chan, "!incident show 2").await, "No incident #2 here.");
    assert!(!say(&mut a, &botnick, &chan, "!incident show 1").await.contains(MARKER));
    // Both spellings find the same one: the note lands on it, the status changes it.
    let noted = say(&mut a, &botnick, &configured, "!incident note keys revoked").await;
    assert!(noted.starts_with("Noted on #1"), "{noted}");
    let shown = say(&mut a, &botnick, &sec, "!incident show").await;
    assert!(shown.contains(MARKER), "{shown}");
    say(&mut a, &botnick, &sec, "!incident status resolved").await;
    let shown = say(&mut a, &botnick, &configured, "!incident show 1").await;
    assert!(shown.contains(MARKER) && shown.contains("resolved"), "{shown}");
    let private: Vec<(bool, i64)> = db
        .prepare("SELECT private, number FROM incident WHERE channel = ?1")
        .unwrap()
        .query_map([&configured], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(private, [(true, 1)], "one incident, private");
    let timeline: i64 = db
        .query_row("SELECT count(*) FROM incident_event WHERE kind = 'note' AND text = 'keys revoked'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(timeline, 1);

    // An alert routed to the configured spelling is said there, and `!alerts` asked in the
    // server's spelling finds it.
    let alert = serde_json::json!({"source": "icinga-sec", "name": format!("{MARKER}-alert"), "host": "vault1",
                                   "severity": "critical", "state": "firing", "summary": "x", "url": ""})
    .to_string();
    let posted = crate::http::exchange(
        web,
        format!(
            "POST /api/v1/alerts/generic HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Authorization: Bearer {ALERTS_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{alert}",
            alert.len()
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    let said = a.expect_privmsg_from(&botnick, &sec, WAIT).await;
    assert!(said.starts_with("FIRING") && said.contains(MARKER), "{said}");
    let firing = say(&mut a, &botnick, &sec, "!alerts").await;
    assert!(firing.starts_with("1 firing in "), "{firing}");

    // No web route shows any of it, by either spelling.
    let ids: Vec<String> = (0..=4).map(|n| n.to_string()).collect();
    let names: Vec<String> = [&chan, &sec, &configured].iter().map(|c| c.trim_start_matches('#').to_string()).collect();
    let values = |name: &str| match name {
        "id" => Some(ids.clone()),
        "channel" => Some(names.clone()),
        _ => None,
    };
    let queries = [
        String::new(),
        format!("?channel={}", crate::http_param(&sec)),
        format!("?channel={}", crate::http_param(&configured)),
        "?q=okapi".into(),
    ];
    let scanned = assert_no_route_shows(web, &values, &queries, &[MARKER, &sec, &configured]).await;
    assert!(scanned > 50, "{scanned} pages scanned");
}
