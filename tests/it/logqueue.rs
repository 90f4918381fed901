//! Nothing a member logs is dropped, and acks are not stuck behind query output: a paste keeps
//! its order, a flood of `!log`s is stored or counted, and under a flood of queries on a
//! server with realistic limits every `!log` is acked within 10 s.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::{join_with, wait_join};
use crate::support::acked_ids;
use crate::support::{shared_network, unique, TestClient, WAIT};
use std::time::{Duration, Instant};

/// Who is there: alice (identified, on the access list) with the bot in a channel of their own.
struct Scene {
    a: TestClient,
    alice: String,
    botnick: String,
    chan: String,
    bot: BotProcess,
}

/// A bot with the default rate limit, changed by `tweak`, joined to a new channel with alice.
async fn scene(tweak: impl FnOnce(&mut BotOpts)) -> Scene {
    let net = shared_network().await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&alice, "alicepw1").await;
    let chan = format!("#{}", unique("sre"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    opts.extra = "[ratelimit]\nburst = 10\ninterval_ms = 500\n".into(); // the defaults
    tweak(&mut opts);
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    Scene { a, alice, botnick, chan, bot }
}

/// The messages of the stored entries, in id order.
fn messages_by_id(bot: &BotProcess) -> Vec<String> {
    let db = bot.db();
    let mut st = db.prepare("SELECT message FROM sal_entry ORDER BY id").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paste_is_stored_and_acked_in_order_and_never_limited() {
    let Scene { mut a, botnick, chan, bot, .. } = scene(|_| {}).await;

    // Ten lines pasted at once, then thirty (past the rate limit's burst of 10): each stored in
    // the order it was said, acked in that order, and no "slow down".
    let mut stored = Vec::new();
    for (n, first_id) in [(10, 1), (30, 11)] {
        let paste: Vec<String> = (1..=n).map(|i| format!("paste of {n}, line {i}")).collect();
        let lines: Vec<String> = paste.iter().map(|m| format!("PRIVMSG {chan} :!log {m}")).collect();
        a.send(&lines.join("\r\n")).await;
        let mut acked = Vec::new();
        while acked.len() < paste.len() {
            let ack = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
            assert!(ack.starts_with("Logged #"), "{ack}");
            acked.extend(acked_ids(&ack));
        }
        assert_eq!(acked, (first_id..first_id + n).collect::<Vec<i64>>(), "acks in order");
        stored.extend(paste);
        assert_eq!(messages_by_id(&bot), stored, "ids in the order of the paste");
    }
    a.assert_silent(Duration::from_secs(2), |l| l.contains(" NOTICE ") && l.contains(&format!(":{botnick}!"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_flood_of_logs_is_counted_not_dropped() {
    let Scene { mut a, alice, botnick, chan, bot } = scene(|_| {}).await;

    // 1,500 lines written at once: each one is stored and acked, or counted in the answer.
    const SENT: i64 = 1500;
    let mut lines = String::new();
    for i in 0..SENT {
        lines += &format!("PRIVMSG {chan} :!log flood {i}\r\n");
    }
    a.send(lines.trim_end()).await;
    let (mut acked, mut counted) = (std::collections::BTreeSet::new(), 0);
    while acked.len() as i64 + counted < SENT {
        let line = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(30)).await;
        if let Some(rest) = line.strip_prefix("NOT logged: ") {
            let (n, why) = rest.split_once(' ').expect("a count");
            assert_eq!(why, format!("entries over {alice}'s queue of 500"), "{line}");
            counted += n.parse::<i64>().unwrap();
        } else {
            assert!(line.starts_with("Logged #"), "{line}");
            acked.extend(acked_ids(&line));
        }
    }
    assert_eq!(acked.len() as i64 + counted, SENT);
    assert_eq!(bot.count("1"), acked.len() as i64, "every stored entry acked, nothing else stored");
    assert!(acked.len() >= 500, "at least a queue's worth: {}", acked.len());
    // In order: the stored ones are the first lines sent, or a prefix of each stretch.
    let stored = messages_by_id(&bot);
    let numbers: Vec<i64> = stored.iter().map(|m| m["flood ".len()..].parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "in the order sent: {numbers:?}");
    a.assert_silent(Duration::from_secs(2), |l| l.contains(" NOTICE ") && l.contains(&format!(":{botnick}!"))).await;
}

/// The bot on a server with realistic limits (the strict class: `threshold=10
/// commandrate=1000 fakelag=no`) and the default flood control (burst 4, one line per 1.5 s),
/// while another user asks for `!sal last 10` by private message a hundred times: every
/// `!log` is acked within 10 s; when the asker leaves, what still waits for them is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_are_not_stuck_behind_query_output() {
    let net = shared_network().await;
    let web = crate::http::free_port();
    let Scene { mut a, alice, botnick, chan, bot } = scene(|opts| {
        opts.port = net.strict_port();
        opts.flood = (4, 1500); // the defaults
                                // The rate limit off: the worst case for the queue.
        opts.extra = format!("[web]\nlisten = \"127.0.0.1:{web}\"\n");
    })
    .await;
    let eve = unique("ev");
    let mut e = TestClient::connect(net.port(), &eve).await;
    join_with(&mut e, &chan, &botnick, WAIT).await;
    for i in 1..=12 {
        a.privmsg(&chan, &format!("!log earlier work {i}")).await;
    }
    let mut acked = std::collections::BTreeSet::new();
    while acked.len() < 12 {
        acked.extend(acked_ids(&a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(30)).await));
    }

    // A hundred queries of eleven lines each: about 1,100 lines, half an hour of output.
    let mut queries = String::new();
    for _ in 0..100 {
        queries += &format!("PRIVMSG {botnick} :!sal last 10\r\n");
    }
    e.send(queries.trim_end()).await;
    e.expect_privmsg_from(&botnick, &eve, WAIT).await;
    for i in 1..=5 {
        let said = Instant::now();
        a.privmsg(&chan, &format!("!log during the queries {i}")).await;
        let ack = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(10)).await;
        assert!(ack.starts_with("Logged #") && ack.contains(&alice), "{ack}");
        assert!(said.elapsed() <= Duration::from_secs(10), "ack {i} after {:?}", said.elapsed());
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert_eq!(bot.count("message LIKE 'during the queries %'"), 5);
    // Eve leaves while most of her (cut) share is still waiting: it is dropped, not sent to
    // nobody for the next minute.
    let depth = async || {
        let metrics = crate::http::get(web, "/metrics").await.body;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("srebot_irc_queue_depth "))
            .and_then(|v| v.parse::<f64>().ok())
            .expect("the queue depth")
    };
    assert!(depth().await >= 10.0, "eve's output is still waiting");
    e.quit("bye").await;
    let left = Instant::now();
    while depth().await > 0.0 {
        assert!(left.elapsed() < Duration::from_secs(10), "still {} lines waiting", depth().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    a.privmsg(&chan, "!log after eve left").await;
    let ack = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(5)).await;
    assert!(ack.starts_with("Logged #"), "{ack}");
}
