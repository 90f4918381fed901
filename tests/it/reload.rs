//! Day-2 operations through the real binary: a config reload (SIGHUP, `srebot reload`) applied
//! without reconnecting, a broken file that changes nothing, and `!access` grants that are
//! audited and survive a restart.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::{join_with, wait_join};
use crate::support::{irc_eq, shared_network, unique, TestClient, WAIT};
use std::time::Duration;

/// Rewrites the bot's config file with `edit`.
fn edit_config(bot: &BotProcess, edit: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(&bot.config).unwrap();
    std::fs::write(&bot.config, edit(text)).unwrap();
}

/// Waits until the bot's log has `n` lines containing `what`.
async fn wait_log(bot: &BotProcess, what: &str, n: usize) {
    let deadline = std::time::Instant::now() + WAIT;
    while bot.log_text().matches(what).count() < n {
        assert!(std::time::Instant::now() < deadline, "no {what:?} (×{n}) in the log:\n{}", bot.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_access_and_channels_without_reconnecting_and_a_broken_file_changes_nothing() {
    let net = shared_network().await;
    let (botnick, alice, bob) = (unique("rb"), unique("ral"), unique("rbo"));
    for account in [&botnick, &alice, &bob] {
        net.register_account(account, "reloadpw1").await;
    }
    let (chan, old, new) =
        (format!("#{}", unique("rl")), format!("#{}", unique("rlold")), format!("#{}", unique("rlnew")));
    let mut b = TestClient::connect_sasl(net.port(), &bob, &bob, "reloadpw1").await;
    for c in [&chan, &old, &new] {
        b.join(c).await;
    }
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "reloadpw1".into()));
    opts.channels = vec![(chan.clone(), "public"), (old.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    opts.admins = vec![alice.clone()];
    let (web_before, web_after) = (crate::http::free_port(), crate::http::free_port());
    opts.extra = format!("[web]\nlisten = \"127.0.0.1:{web_before}\"\n");
    let bot = BotProcess::start(opts);
    wait_join(&mut b, &botnick, &chan, WAIT).await;
    wait_join(&mut b, &botnick, &old, WAIT).await;

    b.privmsg(&chan, "!log before the reload").await;
    let refusal = b.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(
        refusal.contains(&format!("ask an admin: {alice}; admins add people with !access add")),
        "the refusal points the way in: {refusal}"
    );

    // Puppet's edit: bob on the list, #old out, #new in.
    edit_config(&bot, |t| {
        t.replace(&format!("accounts = [\"{alice}\"]"), &format!("accounts = [\"{alice}\", \"{bob}\"]"))
            .replace(&format!("name = \"{old}\""), &format!("name = \"{new}\""))
            .replace(&format!("127.0.0.1:{web_before}"), &format!("127.0.0.1:{web_after}"))
    });
    let (ok, stdout, stderr) = bot.cli(&["reload"]);
    assert!(ok, "srebot reload: {stdout}{stderr}");
    assert!(stdout.contains(&format!("pid {}", bot.pid())), "{stdout}");
    wait_join(&mut b, &botnick, &new, WAIT).await;
    let part = b
        .expect_msg("the bot parting the removed channel", WAIT, |m| {
            m.command == "PART" && m.is_from(&botnick) && m.param(0).is_some_and(|c| irc_eq(c, &old))
        })
        .await;
    assert_eq!(part.params.last().map(String::as_str), Some("removed from srebot's config"));
    b.privmsg(&chan, "!log right after the reload").await;
    assert_eq!(b.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #1, {bob}"));
    wait_log(&bot, "config reloaded", 1).await;
    let log = bot.log_text();
    assert!(log.contains("access.accounts") && log.contains("channels"), "the log names the keys:\n{log}");
    // The web view moved to its new address; /metrics counts the reload.
    let metrics = crate::http::get(web_after, "/metrics").await.body;
    assert!(metrics.contains("srebot_config_reloads_total{result=\"ok\"} 1\n"), "{metrics}");

    // A broken edit (a port in quotes, bob dropped): refused by the CLI before any signal, and
    // by the bot on a plain SIGHUP; bob keeps his access.
    edit_config(&bot, |t| {
        t.replace("port = ", "port = \"").replacen("\nnick = ", "\"\nnick = ", 1).replace(&format!(", \"{bob}\"]"), "]")
    });
    let (ok, stdout, stderr) = bot.cli(&["reload"]);
    assert!(!ok && stderr.contains("irc.port: must be a port number"), "{stdout}{stderr}");
    bot.signal("HUP");
    wait_log(&bot, "config reload refused: nothing changed", 1).await;
    b.privmsg(&chan, "!log after the broken edit").await;
    assert_eq!(b.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #2, {bob}"));
    assert_eq!(bot.count("1"), 2);
    let metrics = crate::http::get(web_after, "/metrics").await.body;
    assert!(metrics.contains("srebot_config_reloads_total{result=\"failed\"} 1\n"), "{metrics}");

    // Never reconnected: one connection in the log, and no QUIT from the bot on the wire.
    assert_eq!(bot.log_text().matches("connecting").count(), 1, "{}", bot.log_text());
    b.assert_silent(Duration::from_millis(200), |l| l.contains(" QUIT ") && l.contains(&botnick)).await;
}

/// Waits for the bot's message in `chan` that contains `part` (others in the channel see every
/// answer, so earlier ones are skipped).
async fn reply_with(c: &mut TestClient, botnick: &str, chan: &str, part: &str) -> String {
    let m = c
        .expect_msg(&format!("{botnick} saying {part:?}"), WAIT, |m| {
            m.command == "PRIVMSG"
                && m.is_from(botnick)
                && m.param(0).is_some_and(|t| irc_eq(t, chan))
                && m.params.last().is_some_and(|t| t.contains(part))
        })
        .await;
    m.params.last().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_grants_take_effect_at_once_are_audited_survive_a_restart_and_keep_an_admin() {
    let net = shared_network().await;
    let (botnick, alice, carol, dave) = (unique("ab"), unique("aal"), unique("aca"), unique("ada"));
    for account in [&botnick, &alice, &carol, &dave] {
        net.register_account(account, "accesspw1").await;
    }
    let chan = format!("#{}", unique("acc"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "accesspw1").await;
    let mut c = TestClient::connect_sasl(net.port(), &carol, &carol, "accesspw1").await;
    let mut d = TestClient::connect_sasl(net.port(), &dave, &dave, "accesspw1").await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "accesspw1".into()));
    opts.channels = vec![(chan.clone(), "public")];
    opts.admins = vec![alice.clone()];
    let mut bot = BotProcess::start(opts);
    for client in [&mut a, &mut c, &mut d] {
        join_with(client, &chan, &botnick, WAIT).await;
    }

    c.privmsg(&chan, "!access add carol").await;
    let refusal = c.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert_eq!(refusal, format!("Only srebot admins use !access (ask an admin: {alice})."));
    a.privmsg(&chan, &format!("!access add {carol} member joined the team")).await;
    let said = reply_with(&mut a, &botnick, &chan, "is now a srebot").await;
    assert!(said.starts_with(&format!("{carol} is now a srebot member, in effect now")), "{said}");
    c.privmsg(&chan, "!log first entry as a new member").await;
    assert_eq!(reply_with(&mut c, &botnick, &chan, "Logged").await, format!("Logged #1, {carol}"));
    a.privmsg(&chan, &format!("!access add {dave} admin second admin")).await;
    reply_with(&mut a, &botnick, &chan, &format!("{dave} is now a srebot admin")).await;

    // A restart keeps the grants; the CLI shows where each came from.
    assert_eq!(bot.terminate(Duration::from_secs(15)), Some(0));
    bot.spawn();
    wait_join(&mut c, &botnick, &chan, WAIT).await;
    c.privmsg(&chan, "!log after the restart").await;
    assert_eq!(reply_with(&mut c, &botnick, &chan, "Logged").await, format!("Logged #2, {carol}"));
    let (ok, listed, err) = bot.cli(&["access", "list"]);
    assert!(ok, "{err}");
    assert!(listed.contains(&format!("{alice}\tadmin\tconfig file")), "{listed}");
    assert!(
        listed.contains(&format!("{carol}\tmember\tgranted on IRC by {alice} ({alice})"))
            && listed.contains("joined the team"),
        "{listed}"
    );

    // Puppet drops alice from the file: dave, granted on IRC, is the last admin and stays one.
    edit_config(&bot, |t| t.replace(&format!("admins = [\"{alice}\"]"), "admins = []"));
    bot.signal("HUP");
    wait_log(&bot, "config reloaded", 1).await;
    d.privmsg(&chan, &format!("!access remove {dave} stepping down")).await;
    let said = reply_with(&mut d, &botnick, &chan, "last srebot admin").await;
    assert_eq!(said, format!("{dave} is the last srebot admin and cannot be removed: add another admin first."));
    d.privmsg(&chan, &format!("!access remove {carol} inactive for 6 months")).await;
    let said = reply_with(&mut d, &botnick, &chan, "no longer has access").await;
    assert!(said.starts_with(&format!("{carol} no longer has access")), "{said}");
    c.privmsg(&chan, "!log no longer a member").await;
    let refusal = reply_with(&mut c, &botnick, &chan, "not on srebot's access list").await;
    assert!(refusal.contains(&format!("ask an admin: {dave}")), "the admin granted on IRC is named: {refusal}");
    assert_eq!(bot.count("1"), 2);

    let audit: Vec<(String, String, String)> = bot
        .db()
        .prepare("SELECT action, account, actor FROM access_audit ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let by = |n: &str| format!("{n} ({n})");
    assert_eq!(
        audit,
        vec![
            ("add".into(), carol.to_lowercase(), by(&alice)),
            ("add".into(), dave.to_lowercase(), by(&alice)),
            ("remove".into(), carol.to_lowercase(), by(&dave)),
        ]
    );
}
