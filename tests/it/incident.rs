//! A whole incident on a real network: roles, timeline, reminder, report draft, and a security
//! incident that never leaves its channel.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::wait_join;
use crate::support::{shared_network, unique, Scene, TestClient, WAIT};
use std::time::Duration;

/// What the incident tables hold, to show that a refused command changed nothing.
fn incident_rows(bot: &BotProcess) -> (i64, i64, String) {
    bot.db()
        .query_row(
            "SELECT (SELECT count(*) FROM incident_event), (SELECT count(*) FROM incident_tenure),
                    (SELECT group_concat(state || ':' || user_facing || ':' || coalesce(report_url, ''), ',') FROM incident)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

/// The lines of a Markdown draft's section, from its heading to the next heading.
fn section<'a>(draft: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = draft.lines().skip_while(|l| *l != heading);
    assert!(lines.next().is_some(), "no {heading:?} in:\n{draft}");
    lines.take_while(|l| !l.starts_with('#')).filter(|l| !l.trim().is_empty()).collect()
}

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
    let is_answer = |m: &crate::support::Message| {
        m.command == "PRIVMSG"
            && m.is_from(&botnick)
            && m.params.last().is_some_and(|t| !t.contains("no update for") && !t.contains("and needs a report ("))
    };
    // Sends `text` and returns the bot's answer to it (skipping reminders: update reminders fire
    // every 3 s here, and the report reminder may come with the tick after the close; and
    // answers to earlier lines that this client also saw).
    let say = async |c: &mut TestClient, text: &str| {
        c.assert_silent(Duration::from_millis(200), |_| false).await; // read what is in flight…
        c.clear_pending(); // …and forget it
        c.privmsg(&chan, text).await;
        let m = c.expect_msg(&format!("the answer to {text:?}"), WAIT, is_answer).await;
        m.params.last().cloned().unwrap_or_default()
    };
    // A refusal: exactly one line, and nothing stored.
    let refused = async |c: &mut TestClient, text: &str| {
        let before = incident_rows(&bot);
        let answer = say(c, text).await;
        c.assert_silent(Duration::from_millis(500), |l| {
            crate::support::Message::parse(l).is_some_and(|m| is_answer(&m))
        })
        .await;
        assert_eq!(incident_rows(&bot), before, "{text:?} changed something");
        answer
    };

    let opened = say(&mut a, "!inc open Wikis down for logged-in users").await;
    assert!(
        opened.starts_with("Incident #1 opened") && opened.contains(&format!("{alice} holds communicator")),
        "{opened}"
    );
    // Alice changes nick: her roles follow her account, and the bot calls her by the new nick.
    let renamed = unique("an");
    a.send(&format!("NICK {renamed}")).await;
    a.expect_msg("our NICK change", WAIT, |m| m.command == "NICK" && m.params.first() == Some(&renamed)).await;
    // Nothing happens for 3 s: the communicator is reminded, by the nick she uses now, in the channel.
    let reminder = a
        .expect_msg("an update reminder naming the new nick", Duration::from_secs(15), |m| {
            m.command == "PRIVMSG"
                && m.is_from(&botnick)
                && m.params.last().is_some_and(|t| t.contains("no update") && t.contains(&renamed))
        })
        .await;
    let reminder = reminder.params.last().unwrap();
    assert!(reminder.starts_with("#1 (Wikis down") && reminder.contains(&format!("{renamed}, as communicator")));
    let shown = say(&mut e, "!incident show").await;
    assert!(shown.contains(&format!("{renamed} holds communicator and primary diagnosis")), "{shown}");

    assert_eq!(say(&mut b, "!incident claim diagnosis").await, format!("#1 primary diagnosis: {renamed} → {bob}."));
    assert!(say(&mut a, "!log depooled db151").await.starts_with("Logged #1"));
    assert_eq!(
        say(&mut b, "!incident status identified bad puppet change").await,
        "#1 is now identified (was investigating)."
    );
    assert!(say(&mut a, "!incident at 00:00 impact started (first user report)").await.contains("(backdated)"));
    assert!(say(&mut a, "!incident impact user-facing").await.contains("Report required (user-facing outage)"));
    assert_eq!(
        say(&mut a, &format!("!incident handoff comms {bob}")).await,
        format!("#1 communicator: {renamed} → {bob} (handed over by {renamed}).")
    );

    // Bad input: one clear line each, and nothing changes.
    assert!(refused(&mut a, "!incident claim janitor").await.starts_with("Unknown role"));
    assert_eq!(refused(&mut a, "!incident show 42").await, "No incident #42 here.");
    assert_eq!(refused(&mut a, "!incident status resolved 42").await, "No incident #42 here.");
    assert!(refused(&mut e, "!incident claim comms").await.contains("not on srebot's access list"));
    assert_eq!(
        refused(&mut a, "!incident handoff diagnosis nosuchnick").await,
        format!("nosuchnick is not in {chan}.")
    );
    assert_eq!(
        refused(&mut a, &format!("!incident handoff diagnosis {eve}")).await,
        format!("{eve} may not hold an incident role: account {eve} is not on srebot's access list.")
    );
    let shown = say(&mut e, "!incident show").await;
    assert!(
        shown.contains(&format!("{bob} holds communicator and primary diagnosis")) && shown.contains("[identified]"),
        "{shown}"
    );

    assert!(say(&mut b, "!incident status resolved reverted the change").await.starts_with("#1 resolved after"));
    assert!(say(&mut b, "!incident status investigating").await.contains("reopen 1"));
    // Watching the aftermath before closing: still on the timeline, marked as after resolution.
    assert!(say(&mut b, "!log error rates back to normal").await.starts_with("Logged #2"));
    assert!(say(&mut a, "!incident close reverted; puppet fixed")
        .await
        .contains("Report required (user-facing outage)"));

    let reply = say(&mut a, "!incident report 1").await;
    let path = reply
        .strip_prefix("Report draft for #1: ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("{reply}"));
    assert!(path.ends_with("incident-1.md"), "{path}");
    let draft = std::fs::read_to_string(path).unwrap();
    for needle in [
        "# Incident #1: Wikis down for logged-in users",
        "depooled db151",
        "SAL #1",
        "backdated",
        "bad puppet change",
        "- State: closed",
        "- Report required: yes (user-facing outage)",
        "_(after resolution)_",
    ] {
        assert!(draft.contains(needle), "the draft lacks {needle:?}:\n{draft}");
    }
    let status = section(&draft, "## Status");
    let to_resolve = status.iter().find_map(|l| l.strip_prefix("- Time to resolve: ")).expect("time to resolve");
    // From the backdated impact start (00:00), not from the open command, and saying so.
    assert!(to_resolve.ends_with(" (from the impact start)"), "{to_resolve}");
    assert!(
        status.iter().any(|l| l.starts_with("- Impact started: ") && l.contains(" 00:00 UTC (backdated: ")),
        "{status:?}"
    );
    let held = section(&draft, "## Responders").into_iter().any(|l| l.contains("(current)"));
    assert!(!held, "a closed incident's roles end at its close:\n{draft}");
    let states = section(&draft, "### Time in each state");
    for state in ["investigating", "identified", "resolved"] {
        assert!(states.iter().any(|l| l.starts_with(&format!("| {state} | "))), "no {state} row: {states:?}");
    }
    assert!(!states.iter().any(|l| l.contains("(current)") || l.starts_with("| closed")), "{states:?}");
    let responders = section(&draft, "## Responders");
    assert!(responders.contains(&"- Communicator:") && responders.contains(&"- Primary diagnosis:"), "{responders:?}");
    let handoffs = responders.iter().find_map(|l| l.strip_prefix("- Hand-offs: ")).expect("hand-offs");
    // The report keeps the nick each holder had when taking the role.
    assert!(
        handoffs.contains(&format!("comms: {alice} → {bob}"))
            && handoffs.contains(&format!("diagnosis: {alice} → {bob}")),
        "{handoffs}"
    );
    assert!(responders
        .iter()
        .any(|l| l.contains(&format!("{bob}: ")) && l.contains(&format!("handed over by {alice}"))));
    // The sections the team writes are there, each with its prompt only.
    for heading in
        ["## How it began", "## Social factors", "## Technical factors", "## What went well", "## What went poorly"]
    {
        let body = section(&draft, heading);
        assert!(body.len() == 1 && body[0].starts_with('_') && body[0].ends_with('_'), "{heading}: {body:?}");
    }
    let actions = section(&draft, "## How to prevent it (action items)");
    assert_eq!(actions[1..], ["| Action | Owner | Task |", "| --- | --- | --- |", "|  |  |  |"], "{actions:?}");

    // Filing the report is recorded: shown, stored, on the timeline, and in the CLI's draft.
    let url = "https://meta.example.org/wiki/Tech:Incidents/db151";
    assert_eq!(say(&mut a, &format!("!incident report-filed 1 {url}")).await, format!("#1: report filed at {url}."));
    assert!(say(&mut e, "!incident show 1").await.ends_with(&format!(" — report: {url}")));
    let stored: String =
        bot.db().query_row("SELECT report_url FROM incident WHERE number = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, url);
    assert!(refused(&mut a, "!incident report-filed 7 https://x.example/7").await == "No incident #7 here.");

    // The CLI prints the same draft.
    let (ok, wikitext, err) = bot.cli(&["incident", "report", "1", "--format", "wikitext"]);
    assert!(ok, "{err}");
    assert!(wikitext.contains("= Incident #1") && wikitext.contains("depooled db151"), "{wikitext}");
    assert!(wikitext.contains(&format!("* Report: {url}")), "{wikitext}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_incident_never_reaches_the_public_channel() {
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, chan, sec, mut a, .. } = scene;
    let marker = "zebra-credential-leak-7731";
    let mut w = TestClient::connect(net.port(), &unique("wa")).await;
    w.join(&chan).await;
    opts.extra = "[incidents]\nupdate_reminder_minutes = 0.05\nreport_reminder_hours = 0.001\n".into();
    let bot = BotProcess::start(opts);
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

    // Nor is it counted there: the first public incident is #1 too.
    a.privmsg(&chan, "!incident open search is slow").await;
    assert!(a.expect_privmsg_from(&botnick, &chan, WAIT).await.starts_with("Incident #1 opened: search is slow"));
    // The CLI reads both, each in its own numbering.
    let (ok, public, err) = bot.cli(&["incident", "report", "1", "--format", "markdown"]);
    assert!(ok && public.contains("# Incident #1: search is slow") && !public.contains(marker), "{public}{err}");
    let (ok, private, err) = bot.cli(&["incident", "report", "1", "--channel", &sec, "--format", "markdown"]);
    assert!(ok && private.contains(marker) && private.contains("keep this report private"), "{private}{err}");
    let (ok, _, err) = bot.cli(&["incident", "report", "2", "--channel", &sec]);
    assert!(!ok && err.contains(&format!("no incident #2 in {sec}")), "{err}");
}
