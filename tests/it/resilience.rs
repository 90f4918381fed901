//! The session under stress: server restarts, a half-open link, and a burst of replies on a
//! connect class with realistic flood limits.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::{join_with, wait_join};
use crate::support::scene::alice_in_a_channel;
use crate::support::{shared_network, unique, NetOpts, Network, TestClient, WAIT};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_brings_the_bot_back_with_sasl_and_no_duplicates() {
    let mut net = Network::start(NetOpts::default()).await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&botnick, "botpass1").await;
    net.register_account(&alice, "alicepw1").await;
    let (chan, sec) = (format!("#{}", unique("sre")), format!("#{}", unique("sec")));
    let mut opts = BotOpts::new(&net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public"), (sec.clone(), "security")];
    opts.accounts = vec![alice.clone()];
    let bot = BotProcess::start(opts);

    for round in 1..=2 {
        let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
        join_with(&mut a, &chan, &botnick, Duration::from_secs(30)).await;
        // The bot is in the security channel only after SASL: this proves the login.
        join_with(&mut a, &sec, &botnick, Duration::from_secs(30)).await;
        a.privmsg(&chan, &format!("!log entry of round {round}")).await;
        assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #{round}, {alice}"));
        net.stop_ircd().await;
        net.start_ircd().await;
    }
    assert_eq!(bot.count("1"), 2, "no lost and no duplicated rows");
    let log = bot.log_text();
    assert!(log.matches("SASL authentication succeeded").count() >= 2, "SASL again after reconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_link_is_detected_by_the_ping_timeout() {
    let net = Network::start(NetOpts { services: false, ..NetOpts::default() }).await;
    let botnick = unique("sb");
    let chan = format!("#{}", unique("sre"));
    let mut opts = BotOpts::new(&net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    let bot = BotProcess::start(opts);
    let mut a = TestClient::connect(net.port(), &unique("al")).await;
    join_with(&mut a, &chan, &botnick, WAIT).await;
    drop(a);
    net.pause_ircd();
    // ping_interval 5 s + ping_timeout 5 s in the test config.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !bot.log_text().contains("ping timeout") {
        assert!(std::time::Instant::now() < deadline, "no ping timeout detected:\n{}", bot.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    net.resume_ircd();
    // The bot reconnects and rejoins by itself.
    let mut a = TestClient::connect(net.port(), &unique("al")).await;
    join_with(&mut a, &chan, &botnick, Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_replies_in_a_burst_never_trip_a_strict_flood_limit() {
    let net = shared_network().await;
    let botnick = unique("sb");
    let (alice, chan, mut a) = alice_in_a_channel(net).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.port = net.strict_port();
    opts.flood = (4, 1500); // the defaults
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    let web = crate::http::free_port();
    opts.extra = format!("[web]\nlisten = \"127.0.0.1:{web}\"\n");
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    let padding = "x".repeat(300);
    for i in 1..=50 {
        a.privmsg(&chan, &format!("!log burst entry {i} {padding}")).await;
    }
    // Acks waiting behind flood control come merged ("Logged #5–#50, al1"): count the ids.
    let mut acked = std::collections::BTreeSet::new();
    while acked.len() < 50 {
        let ack = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(20)).await;
        let ids = crate::support::acked_ids(&ack);
        assert!(ack.starts_with("Logged #") && !ids.is_empty(), "{ack}");
        acked.extend(ids);
    }
    assert_eq!(acked, (1..=50).collect(), "every entry acknowledged");
    assert_eq!(bot.count("1"), 50);
    // Fifty replies that cannot be merged: paced by the token bucket, all delivered.
    for _ in 1..=50 {
        a.privmsg(&chan, "!help log").await;
    }
    for i in 1..=50 {
        let help = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(20)).await;
        assert!(help.starts_with("!log <message>"), "reply {i}: {help}");
    }
    let metrics = crate::http::get(web, "/metrics").await.body;
    let delays: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("srebot_flood_delays_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(delays > 0, "flood control held lines back and the metric says so:\n{metrics}");
    let quits = a.seen().iter().filter(|l| l.contains(" QUIT ") && l.contains(&format!(":{botnick}!"))).count();
    assert_eq!(quits, 0, "the bot was never disconnected");
}
