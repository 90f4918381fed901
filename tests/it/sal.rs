//! The foundation on a real network: SASL, `!log` committed before its ack, refusals, nick
//! collisions, an unavailable database, and a clean SIGTERM.

use crate::botproc::{BotOpts, BotProcess};
use crate::support::scene::alice_in_a_channel;
use crate::support::{irc_eq, shared_network, unique, Scene, TestClient, WAIT};
use std::time::Duration;

/// Waits until `nick` is seen joining `chan`.
pub async fn wait_join(c: &mut TestClient, nick: &str, chan: &str, timeout: Duration) {
    c.expect_msg(&format!("{nick} joining {chan}"), timeout, |m| {
        m.command == "JOIN" && m.is_from(nick) && m.param(0).is_some_and(|p| irc_eq(p, chan))
    })
    .await;
}

/// Joins `chan` and returns once `nick` is in it too (already there, or seen joining).
pub async fn join_with(c: &mut TestClient, chan: &str, nick: &str, timeout: Duration) {
    let names = c.join(chan).await;
    if !names.iter().any(|n| irc_eq(n.trim_start_matches(['@', '+']), nick)) {
        wait_join(c, nick, chan, timeout).await;
    }
}

fn message_of(bot: &BotProcess, id: i64) -> (String, String, Option<String>, bool, String) {
    bot.db()
        .query_row("SELECT channel, message, account, private, logged_at FROM sal_entry WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap_or_else(|e| panic!("entry #{id} must exist when its ack arrives: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identified_log_is_committed_before_its_ack_and_others_are_refused() {
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, alice, chan, sec, mut a } = scene;
    let eve = unique("ev");
    opts.admins = vec![alice.clone()];
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    wait_join(&mut a, &botnick, &sec, WAIT).await;

    a.privmsg(&chan, "!log restarted \x02db151\x02 for T123456, see https://x.example/T999").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #1, {alice}"));
    let (channel, message, account, private, logged_at) = message_of(&bot, 1);
    assert_eq!(channel, chan);
    assert_eq!(message, "restarted db151 for T123456, see https://x.example/T999");
    assert_eq!(account.as_deref(), Some(alice.as_str()));
    assert!(!private);
    let at = chrono::DateTime::parse_from_rfc3339(&logged_at).unwrap();
    assert!((chrono::Utc::now() - at.to_utc()).num_seconds().abs() < 60, "{logged_at}");
    let tasks: Vec<String> = bot
        .db()
        .prepare("SELECT task FROM sal_task WHERE entry_id = 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tasks, vec!["T123456"]);

    a.privmsg(&sec, "!log rotated the deploy key").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &sec, WAIT).await, format!("Logged #2, {alice}"));
    assert!(message_of(&bot, 2).3, "entries in a security channel are private");

    // Not identified: refused, with how to get access, and nothing stored.
    let mut e = TestClient::connect(net.port(), &eve).await;
    e.join(&chan).await;
    e.privmsg(&chan, "!log sneaky change").await;
    let refusal = e.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(
        refusal.starts_with("NOT logged: ") && refusal.contains("not identified") && refusal.contains(&alice),
        "{refusal}"
    );
    assert_eq!(bot.count("1"), 2);
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, refusal, "everyone sees the refusal");

    a.privmsg(&chan, "!log    ").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, "Message missing. Nothing logged.");
    a.privmsg(&chan, "!help").await;
    assert!(a.expect_privmsg_from(&botnick, &chan, WAIT).await.contains("!log <message>"));

    // A private !log without a configured channel gets an explanation, privately.
    a.privmsg(&botnick, "!log from a query").await;
    let pm = a.expect_privmsg_from(&botnick, &alice, WAIT).await;
    assert!(pm.contains("not enabled") && pm.contains(&chan) && !pm.contains(&sec), "{pm}");

    // CTCP VERSION is answered by private NOTICE; other CTCPs and our own lines are ignored.
    a.privmsg(&botnick, "\x01VERSION\x01").await;
    let version = a.expect_msg("CTCP VERSION reply", WAIT, |m| m.command == "NOTICE" && m.is_from(&botnick)).await;
    assert!(version.params.last().unwrap().starts_with("\x01VERSION srebot"), "{version:?}");
    assert_eq!(bot.count("1"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_failure_keeps_the_bot_out_of_security_channels() {
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, alice, chan, sec: _, mut a } = scene;
    opts.sasl = Some((botnick.clone(), "wrongpass".into()));
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    a.assert_silent(Duration::from_secs(3), |l| l.contains(" JOIN ") && l.contains(&format!(":{botnick}!"))).await;
    let log = bot.log_text();
    assert!(log.contains("SASL failed"), "the log says why: {log}");
    assert!(!log.contains("wrongpass"), "the password never reaches the log");
    // The public side still works.
    a.privmsg(&chan, "!log still logging").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #1, {alice}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nick_collision_uses_the_alt_nick_keeps_working_and_regains() {
    let net = shared_network().await;
    let botnick = unique("sb");
    let (alice, chan, mut a) = alice_in_a_channel(net).await;
    let squatter = TestClient::connect(net.port(), &botnick).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    let _bot = BotProcess::start(opts);
    let alt = format!("{botnick}_");
    wait_join(&mut a, &alt, &chan, WAIT).await;
    a.privmsg(&chan, "!log on the alt nick").await;
    assert_eq!(a.expect_privmsg_from(&alt, &chan, WAIT).await, format!("Logged #1, {alice}"));
    squatter.quit("taking a break").await;
    a.expect_msg("the bot taking its nick back", WAIT, |m| {
        m.command == "NICK" && m.is_from(&alt) && m.param(0).is_some_and(|n| irc_eq(n, &botnick))
    })
    .await;
    a.privmsg(&chan, "!log on the main nick").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #2, {alice}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_database_says_not_logged_and_the_bot_stays() {
    let net = shared_network().await;
    let botnick = unique("sb");
    let (alice, chan, mut a) = alice_in_a_channel(net).await;
    let holder = tempfile::tempdir().unwrap();
    let missing_dir = holder.path().join("not-yet");
    let mut opts = BotOpts::new(net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    opts.database = Some(missing_dir.join("srebot.sqlite3"));
    let mut bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    a.privmsg(&chan, "!log into the void").await;
    let reply = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert_eq!(reply, "NOT logged: database unavailable (unable to open database file)");
    assert!(bot.is_running());
    // Once the directory exists, the next !log is stored: no restart needed.
    std::fs::create_dir(&missing_dir).unwrap();
    a.privmsg(&chan, "!log back in business").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #1, {alice}"));
    assert_eq!(bot.count("message = 'back in business'"), 1);

    // A file that is not a database: refused plainly, and the bot stays connected.
    let garbage = holder.path().join("garbage.sqlite3");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let nick2 = unique("sb");
    let mut opts = BotOpts::new(net, &nick2);
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    opts.database = Some(garbage);
    let mut bot2 = BotProcess::start(opts);
    wait_join(&mut a, &nick2, &chan, WAIT).await;
    a.privmsg(&chan, "!log corrupt").await;
    // Both bots answer; take the second one's.
    let reply = a.expect_privmsg_from(&nick2, &chan, WAIT).await;
    assert!(reply.starts_with("NOT logged: database unavailable"), "{reply}");
    a.privmsg(&chan, "!help").await;
    a.expect_privmsg_from(&nick2, &chan, WAIT).await;
    assert!(bot2.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_quits_cleanly_with_exit_status_zero() {
    let net = shared_network().await;
    let botnick = unique("sb");
    let (alice, chan, mut a) = alice_in_a_channel(net).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    let mut bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    a.privmsg(&chan, "!log last words").await;
    a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    let status = tokio::task::spawn_blocking(move || {
        let s = bot.terminate(Duration::from_secs(15));
        (s, bot)
    })
    .await
    .unwrap();
    assert_eq!(status.0, Some(0), "exit status after SIGTERM");
    let quit = a.expect_msg("the bot's QUIT", WAIT, |m| m.command == "QUIT" && m.is_from(&botnick)).await;
    assert!(quit.params.last().unwrap().contains("srebot shutting down"), "{quit:?}");
    assert_eq!(status.1.count("1"), 1);
}
