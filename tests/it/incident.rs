//! A whole incident on a real network: roles, timeline, reminder, report draft, and a security
//! incident that never leaves its channel.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::wait_join;
use crate::support::{shared_network, unique, TestClient, WAIT};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_incident_with_roles_timeline_reminder_and_report() {
    let net = shared_network().await;
    let (botnick, alice, bob, eve) = (unique("sb"), unique("al"), unique("bo"), unique("ev"));
    for (acct, pw) in [(&botnick, "botpass1"), (&alice, "alicepw1"), (&bob, "bobpass1"), (&eve, "evepass1")] {
        net.register_account(acct, pw).await;
    }
    let chan = format!("#{}", unique("sre"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    let mut b = TestClient::connect_sasl(net.port(), &bob, &bob, "bobpass1").await;
    let mut e = TestClient::connect_sasl(net.port(), &eve, &eve, "evepass1").await;
    for c in [&mut a, &mut b, &mut e] {
        c.join(&chan).await;
    }
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone(), bob.clone()];
    opts.extra = "[incidents]\nupdate_reminder_minutes = 0.05\n".into(); // 3 s
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    // Sends `text` and returns the bot's answer to it (skipping update reminders, which fire
    // every 3 s here, and answers to earlier lines that this client also saw).
    let say = async |c: &mut TestClient, text: &str| {
        c.assert_silent(Duration::from_millis(200), |_| false).await; // read what is in flight…
        c.clear_pending(); // …and forget it
        c.privmsg(&chan, text).await;
        let m = c
            .expect_msg(&format!("the answer to {text:?}"), WAIT, |m| {
                m.command == "PRIVMSG"
                    && m.is_from(&botnick)
                    && m.params.last().is_some_and(|t| !t.contains("no update for"))
            })
            .await;
        m.params.last().cloned().unwrap_or_default()
    };
    let opened = say(&mut a, "!inc open Wikis down for logged-in users").await;
    assert!(
        opened.starts_with("Incident #1 opened") && opened.contains(&format!("{alice} holds communicator")),
        "{opened}"
    );
    // Nothing happens for 3 s: the communicator is reminded, by name, in the channel.
    let reminder = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(10)).await;
    assert!(reminder.contains("#1") && reminder.contains(&alice) && reminder.contains("no update"), "{reminder}");

    assert_eq!(say(&mut b, "!incident claim diagnosis").await, format!("#1 primary diagnosis: {alice} → {bob}."));
    assert!(say(&mut a, "!log depooled db151").await.starts_with("Logged #1"));
    assert_eq!(
        say(&mut b, "!incident status identified bad puppet change").await,
        "#1 is now identified (was investigating)."
    );
    assert!(say(&mut a, "!incident at 00:00 impact started (first user report)").await.contains("(backdated)"));
    assert!(say(&mut a, "!incident impact user-facing").await.contains("Report required (user-facing outage)"));
    assert_eq!(
        say(&mut a, &format!("!incident handoff comms {bob}")).await,
        format!("#1 communicator: {alice} → {bob} (handed over by {alice}).")
    );

    // Bad input: one clear line each, and nothing changes.
    assert!(say(&mut a, "!incident claim janitor").await.starts_with("Unknown role"));
    assert_eq!(say(&mut a, "!incident show 42").await, "No incident #42 here.");
    assert!(say(&mut e, "!incident claim comms").await.contains("not on srebot's access list"));
    assert!(say(&mut a, "!incident handoff diagnosis nosuchnick").await.contains("nosuchnick is not in"));
    let shown = say(&mut e, "!incident show").await;
    assert!(
        shown.contains(&format!("{bob} holds communicator and primary diagnosis")) && shown.contains("[identified]"),
        "{shown}"
    );

    assert!(say(&mut b, "!incident status resolved reverted the change").await.starts_with("#1 resolved after"));
    assert!(say(&mut b, "!incident status investigating").await.contains("reopen 1"));
    assert!(say(&mut a, "!incident close reverted; puppet fixed")
        .await
        .contains("Report required (user-facing outage)"));

    let reply = say(&mut a, "!incident report 1").await;
    let path = reply
        .strip_prefix("Report draft for #1: ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("{reply}"));
    let draft = std::fs::read_to_string(path).unwrap();
    for needle in [
        "Wikis down for logged-in users",
        "depooled db151",
        "SAL #1",
        "backdated",
        "bad puppet change",
        "user-facing outage",
    ] {
        assert!(draft.contains(needle), "the draft lacks {needle:?}:\n{draft}");
    }
    assert!(draft.contains(&bob) && draft.contains(&alice));

    // The CLI prints the same draft.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_srebot"))
        .args(["--config"])
        .arg(&bot.config)
        .args(["incident", "report", "1", "--format", "wikitext"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let wikitext = String::from_utf8(out.stdout).unwrap();
    assert!(wikitext.contains("= Incident #1") && wikitext.contains("depooled db151"), "{wikitext}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_incident_never_reaches_the_public_channel() {
    let net = shared_network().await;
    let (botnick, alice, watcher) = (unique("sb"), unique("al"), unique("wa"));
    net.register_account(&botnick, "botpass1").await;
    net.register_account(&alice, "alicepw1").await;
    let (chan, sec) = (format!("#{}", unique("sre")), format!("#{}", unique("sec")));
    let marker = "zebra-credential-leak-7731";
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    a.join(&sec).await;
    let mut w = TestClient::connect(net.port(), &watcher).await;
    w.join(&chan).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public"), (sec.clone(), "security")];
    opts.accounts = vec![alice.clone()];
    opts.extra = "[incidents]\nupdate_reminder_minutes = 0.05\nreport_reminder_hours = 0.001\n".into();
    let _bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;

    a.privmsg(&sec, &format!("!incident open {marker} on a public paste")).await;
    assert!(a.expect_privmsg_from(&botnick, &sec, WAIT).await.starts_with("Incident #1 opened"));
    a.privmsg(&sec, &format!("!log rotated the {marker} key")).await;
    a.expect_privmsg_from(&botnick, &sec, WAIT).await;
    // Asked from the public channel, the incident does not exist.
    a.privmsg(&chan, "!incident show 1").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, "No incident #1 here.");
    a.privmsg(&chan, "!incident").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("No open incidents in {chan}."));
    // Reminders (3 s) and, once resolved, report reminders fire in the security channel only.
    a.expect_msg("an update reminder in the security channel", Duration::from_secs(10), |m| {
        m.command == "PRIVMSG" && m.is_from(&botnick) && m.params.last().is_some_and(|t| t.contains("no update"))
    })
    .await;
    a.privmsg(&sec, "!incident status resolved").await;
    a.expect_msg("a report reminder in the security channel", Duration::from_secs(15), |m| {
        m.command == "PRIVMSG" && m.is_from(&botnick) && m.params.last().is_some_and(|t| t.contains("needs a report"))
    })
    .await;
    // The public side never saw any of it.
    w.assert_silent(Duration::from_secs(2), |l| {
        l.contains(marker) || l.contains("needs a report") || l.contains("no update")
    })
    .await;
    assert!(!w.seen().iter().any(|l| l.contains(marker)));
}
