//! Clinic duty on a real network with ChanServ: the topic section, the hand-off at a week
//! boundary (with the bot's clock set by the test), `!clinic` answers, and the ChanServ fallback.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::wait_join;
use crate::support::{irc_eq, shared_network, unique, Message, NetOpts, Network, TestClient, WAIT};
use std::time::Duration;

const SCHEDULE: &str = include_str!("../fixtures/clinic-duty.txt");

fn set_clock(path: &std::path::Path, at: &str) {
    std::fs::write(path, at).unwrap();
}

/// Waits for a TOPIC change of `chan` and returns the new topic.
async fn next_topic(c: &mut TestClient, chan: &str, timeout: Duration) -> String {
    let m: Message = c
        .expect_msg(&format!("a TOPIC change of {chan}"), timeout, |m| {
            m.command == "TOPIC" && m.param(0).is_some_and(|p| irc_eq(p, chan))
        })
        .await;
    m.params.last().cloned().unwrap_or_default()
}

async fn ask(c: &mut TestClient, chan: &str, bot: &str, text: &str) -> String {
    c.assert_silent(Duration::from_millis(200), |_| false).await;
    c.clear_pending();
    c.privmsg(chan, text).await;
    c.expect_privmsg_from(bot, chan, WAIT).await
}

/// Has the bot keep the topic section of `chan` (with more `[clinic]` settings, as TOML lines)
/// on a clock the test sets with `set_clock`, starting at `at`. Keep the file while the bot runs.
fn keep_topic(opts: &mut BotOpts, chan: &str, more: &str, at: &str) -> tempfile::NamedTempFile {
    let clock = tempfile::NamedTempFile::new().unwrap();
    set_clock(clock.path(), at);
    opts.extra = format!("[clinic]\ntopic_channels = [\"{chan}\"]\n{more}");
    opts.env = vec![("SREBOT_CLOCK_FILE".into(), clock.path().display().to_string())];
    clock
}

/// Writes `text` to the file `name` in the bot's directory and runs `srebot clinic import` on
/// it: whether it succeeded, its output and its errors.
fn import(bot: &BotProcess, name: &str, text: &str) -> (bool, String, String) {
    let file = bot.dir().join(name);
    std::fs::write(&file, text).unwrap();
    bot.cli(&["clinic", "import", file.to_str().unwrap()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topic_section_follows_the_schedule_without_fighting_people() {
    let net = shared_network().await;
    let (botnick, alice, eve) = (unique("sb"), unique("al"), unique("ev"));
    for (a, pw) in [(&botnick, "botpass1"), (&alice, "alicepw1"), (&eve, "evepass1")] {
        net.register_account(a, pw).await;
    }
    let chan = format!("#{}", unique("sre"));
    net.register_channel(&alice, "alicepw1", &chan).await;
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    let names = a.join(&chan).await;
    assert!(names.contains(&format!("@{alice}")), "the founder is op: {names:?}");
    let others = "Welcome to the SRE channel | Deploys: Tue 13:00 UTC";
    a.send(&format!("TOPIC {chan} :{others}")).await;
    next_topic(&mut a, &chan, WAIT).await;

    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone(), eve.clone()];
    opts.admins = vec![alice.clone()];
    let clock = keep_topic(&mut opts, &chan, "timezone = \"UTC\"\n", "2021-09-15T12:00:00Z");
    let mut bot = BotProcess::create(opts);
    let (ok, out, err) = import(&bot, "schedule.txt", SCHEDULE);
    assert!(ok && out.starts_with("7 added, 0 changed, 0 unchanged"), "{out}{err}");
    let (ok, out, _) = import(&bot, "schedule.txt", SCHEDULE);
    assert!(ok && out.starts_with("0 added, 0 changed, 7 unchanged"), "import is idempotent: {out}");
    bot.spawn();
    wait_join(&mut a, &botnick, &chan, WAIT).await;

    // Not an operator yet: refused (482), so it says once what it lacks…
    let lacking = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(lacking.contains("I can't update the SRE Clinic Duty section") && lacking.contains("+o"), "{lacking}");
    // …and does it when opped.
    a.send(&format!("MODE {chan} +o {botnick}")).await;
    let section = "SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations)";
    assert_eq!(next_topic(&mut a, &chan, WAIT).await, format!("{others} | {section}"));

    assert_eq!(
        ask(&mut a, &chan, &botnick, "!clinic").await,
        "On SRE Clinic Duty: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations) until Mon 2021-09-20 00:00 UTC."
    );
    assert_eq!(
        ask(&mut a, &chan, &botnick, "!clinic next").await,
        "From Mon 2021-09-20 00:00 UTC: Manuel Aróstegui (SRE-Data Persistence)."
    );
    assert!(ask(&mut a, &chan, &botnick, "!clinic who manuel aróstegui").await.contains("2021-09-20 (clinician)"));
    // More than four weeks: privately, with a pointer in the channel.
    assert_eq!(
        ask(&mut a, &chan, &botnick, "!clinic schedule 6").await,
        format!("{alice}: sent you the schedule privately.")
    );
    let mut weeks = Vec::new();
    for _ in 0..6 {
        weeks.push(a.expect_privmsg_from(&botnick, &alice, WAIT).await);
    }
    assert_eq!(weeks[0], "2021-09-13: Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations)");
    assert_eq!(weeks[3], "2021-10-04: no clinic duty");
    assert_eq!(weeks[5], "2021-10-18: not scheduled");
    // Manuel Aróstegui is alice on IRC (for this test): found by nick, highlighted at the hand-off.
    assert_eq!(
        ask(&mut a, &chan, &botnick, &format!("!clinic nick manuel aróstegui {alice}")).await,
        format!("Manuel Aróstegui is highlighted as {alice} (account {alice}) from now on.")
    );
    assert_eq!(
        ask(&mut a, &chan, &botnick, &format!("!clinic who {alice}")).await,
        "Manuel Aróstegui: 2021-09-20 (clinician)."
    );

    // The week ends: a hand-off line and the new section; the other sections stay as they were.
    set_clock(clock.path(), "2021-09-20T00:00:05Z");
    let handoff = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(10)).await;
    assert_eq!(
        handoff,
        format!(
            "SRE Clinic Duty: now Manuel Aróstegui ({alice}; SRE-Data Persistence) until Mon 2021-09-27 00:00 UTC, \
             was Cathal Mooney."
        )
    );
    assert_eq!(
        next_topic(&mut a, &chan, WAIT).await,
        format!("{others} | SRE Clinic Duty: Manuel Aróstegui (SRE-Data Persistence)")
    );

    // A person takes our section out: the bot does not fight them…
    let edited = "Welcome to the SRE channel | Deploys: Wed 13:00 UTC";
    tokio::time::sleep(Duration::from_millis(1100)).await; // InspIRCd: one topic change per second
    a.send(&format!("TOPIC {chan} :{edited}")).await;
    next_topic(&mut a, &chan, WAIT).await;
    a.assert_silent(Duration::from_secs(3), |l| l.contains(" TOPIC ") && l.contains(&format!(":{botnick}!"))).await;
    // …until the schedule changes, and then exactly once (InspIRCd may ask it to wait a second).
    let changed = ask(&mut a, &chan, &botnick, "!clinic override 2021-09-20 Jane Doe").await;
    assert_eq!(
        changed,
        "Week of 2021-09-20: clinician Jane Doe, team SRE-Data Persistence (was: clinician Manuel Aróstegui, team \
         SRE-Data Persistence)."
    );
    assert_eq!(
        next_topic(&mut a, &chan, WAIT).await,
        format!("{edited} | SRE Clinic Duty: Jane Doe (SRE-Data Persistence)")
    );
    a.assert_silent(Duration::from_secs(2), |l| l.contains(" TOPIC ")).await;

    // Rights and bad dates.
    let mut e = TestClient::connect_sasl(net.port(), &eve, &eve, "evepass1").await;
    e.join(&chan).await;
    assert_eq!(
        ask(&mut e, &chan, &botnick, "!clinic none 2021-09-27").await,
        format!("Only srebot admins change the clinic schedule, and account {eve} is not one (ask {alice}).")
    );
    let anon = unique("an");
    let mut n = TestClient::connect(net.port(), &anon).await;
    n.join(&chan).await;
    assert_eq!(
        ask(&mut n, &chan, &botnick, "!clinic set 2021-09-27 Mallory").await,
        format!(
            "{anon}, you are not identified to services: only srebot admins change the clinic schedule, by their \
             services account (ask {alice})."
        )
    );
    assert_eq!(
        ask(&mut a, &chan, &botnick, "!clinic none 2021-09-28").await,
        "2021-09-28 is a Tuesday, but duty weeks start on Monday."
    );
    assert_eq!(
        ask(&mut a, &chan, &botnick, "!clinic next").await,
        "From Mon 2021-09-27 00:00 UTC: Giuseppe Lavagetto (SRE-Service Operations)."
    );
    // Exported: the schedule in effect, or the base rotation, which is still the imported one.
    let (ok, csv, _) = bot.cli(&["clinic", "export"]);
    assert!(ok && csv.contains("\n2021-09-20,Jane Doe,,SRE-Data Persistence\n"), "{csv}");
    let (ok, csv, _) = bot.cli(&["clinic", "export", "--base"]);
    assert!(ok && csv.contains("\n2021-09-20,Manuel Aróstegui,,SRE-Data Persistence\n"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_operator_rights_it_asks_chanserv() {
    let net = shared_network().await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&botnick, "botpass1").await;
    net.register_account(&alice, "alicepw1").await;
    let chan = format!("#{}", unique("sre"));
    net.register_channel(&alice, "alicepw1", &chan).await;
    net.set_channel_flags(&alice, "alicepw1", &chan, &botnick, "+t").await;
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public")];
    let _clock = keep_topic(&mut opts, &chan, "topic_via_chanserv = true\n", "2021-10-06T08:00:00Z");
    let mut bot = BotProcess::create(opts);
    let (ok, out, err) = import(&bot, "schedule.txt", SCHEDULE);
    assert!(ok, "{out}{err}");
    bot.spawn();
    // The week of 2021-10-04 has no clinic duty: the section says so, set through ChanServ.
    assert_eq!(next_topic(&mut a, &chan, Duration::from_secs(15)).await, "SRE Clinic Duty: none");
    assert_eq!(
        ask(&mut a, &chan, &botnick, "!clinic").await,
        "No clinic duty this week (until Mon 2021-10-11 00:00 UTC)."
    );
    // ChanServ's change was the answer the bot waited for: it does not take it for silence.
    let waited = Duration::from_secs(keeper_timeout() + 2);
    a.assert_silent(waited, |l| l.contains("I can't update")).await;
}

/// How long the bot gives ChanServ to set the topic.
fn keeper_timeout() -> u64 {
    srebot::testing::clinic::keeper::CHANSERV_ANSWER_SECS
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_chanserv_access_it_says_once_what_it_lacks() {
    let net = shared_network().await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    net.register_account(&botnick, "botpass1").await;
    net.register_account(&alice, "alicepw1").await;
    let chan = format!("#{}", unique("sre"));
    net.register_channel(&alice, "alicepw1", &chan).await;
    // No ChanServ flags for the bot.
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public")];
    opts.admins = vec![alice.clone()];
    let _clock = keep_topic(&mut opts, &chan, "topic_via_chanserv = true\n", "2021-09-22T08:00:00Z");
    let mut bot = BotProcess::create(opts);
    assert!(import(&bot, "schedule.txt", SCHEDULE).0);
    bot.spawn();
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    // 482, then ChanServ refuses (Atheme: "You are not authorized to perform this operation.").
    let lacking = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert_eq!(
        lacking,
        "I can't update the SRE Clinic Duty section of the topic: ChanServ refused (\"You are not authorized to \
         perform this operation.\"). I need channel operator status (+o), or ChanServ flag +t for my account."
    );
    // Said once: not again when ChanServ's time is up, nor for the next change.
    a.assert_silent(Duration::from_secs(keeper_timeout() + 2), |l| l.contains("PRIVMSG")).await;
    let change = ask(&mut a, &chan, &botnick, "!clinic override 2021-09-20 Jane Doe").await;
    assert!(change.starts_with("Week of 2021-09-20: clinician Jane Doe"), "{change}");
    a.assert_silent(Duration::from_secs(3), |l| l.contains("PRIVMSG") || l.contains(" TOPIC ")).await;
    // Opped: it writes the section itself.
    a.send(&format!("MODE {chan} +o {botnick}")).await;
    let topic: Message = a.expect_msg("the bot's TOPIC", WAIT, |m| m.command == "TOPIC" && m.is_from(&botnick)).await;
    assert_eq!(topic.params.last().unwrap(), "SRE Clinic Duty: Jane Doe (SRE-Data Persistence)");
}

/// The topic of `chan` as a client outside it sees it, and who set it (a nick), or `None`
/// while it has none (or the channel does not exist).
async fn topic_from_outside(c: &mut TestClient, chan: &str) -> Option<(String, String)> {
    c.send(&format!("TOPIC {chan}")).await;
    let reply = c
        .expect_msg(&format!("the topic of {chan}"), WAIT, |m| {
            matches!(m.command.as_str(), "331" | "332" | "403" | "442") && m.param(1).is_some_and(|p| irc_eq(p, chan))
        })
        .await;
    if reply.command != "332" {
        return None;
    }
    let topic = reply.params.last().cloned().unwrap_or_default();
    let who = c
        .expect_msg("who set the topic", WAIT, |m| m.command == "333" && m.param(1).is_some_and(|p| irc_eq(p, chan)))
        .await;
    let setter = who.param(2).unwrap_or_default();
    Some((topic, setter.split('!').next().unwrap_or_default().to_string()))
}

/// Waits until the topic of `chan`, seen from outside, has our section saying `want`; returns
/// who set it.
async fn wait_for_section(c: &mut TestClient, chan: &str, want: &str, timeout: Duration) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let seen = topic_from_outside(c, chan).await;
        if let Some((topic, setter)) = &seen {
            if topic.contains(&format!("SRE Clinic Duty: {want}")) {
                return setter.clone();
            }
        }
        assert!(std::time::Instant::now() < deadline, "{chan} never said {want:?}; last seen {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const CSV: &str = "week_start,clinician,backup,team
2026-11-23,Alice Example,Bob Builder,SRE-Traffic
2026-11-30,Carol Example,,SRE-Data Persistence
2026-12-07,none,,
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opped_at_join_it_sets_the_topic_itself_from_a_csv_import() {
    let net = shared_network().await;
    let botnick = unique("sb");
    let chan = format!("#{}", unique("sre"));
    let mut opts = BotOpts::new(net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    // Asking ChanServ is allowed, but an operator has no need to.
    let _clock = keep_topic(&mut opts, &chan, "topic_via_chanserv = true\n", "2026-11-25T12:00:00Z");
    let mut bot = BotProcess::create(opts);
    let (ok, out, err) = import(&bot, "schedule.csv", CSV);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        "3 added, 0 changed, 0 unchanged, 0 not in file (kept)\n\
         added   2026-11-23: clinician Alice Example, backup Bob Builder, team SRE-Traffic\n\
         added   2026-11-30: clinician Carol Example, team SRE-Data Persistence\n\
         added   2026-12-07: no clinic duty\n"
    );
    // A second file changes a week and lacks one: old → new, and the missing week is kept.
    let second = "week_start,clinician,team\n2026-11-23,Alice Example,SRE-Traffic\n2026-11-30,Carol Example,SRE-Data Persistence\n";
    let (ok, out, _) = import(&bot, "schedule.csv", second);
    assert!(ok);
    assert_eq!(
        out,
        "0 added, 1 changed, 1 unchanged, 1 not in file (kept)\n\
         changed 2026-11-23: clinician Alice Example, backup Bob Builder, team SRE-Traffic → clinician Alice Example, \
         team SRE-Traffic\n\
         kept    2026-12-07: not in file, kept (no clinic duty)\n"
    );
    // The bot is first in the channel, so an operator from its join on.
    bot.spawn();
    let mut o = TestClient::connect(net.port(), &unique("ob")).await;
    let setter = wait_for_section(&mut o, &chan, "Alice Example (SRE-Traffic)", Duration::from_secs(15)).await;
    assert!(irc_eq(&setter, &botnick), "set by the bot itself, not ChanServ: {setter}");
    assert!(!bot.log_text().contains("ChanServ"), "{}", bot.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reconnect_the_section_is_written_again_from_the_schedule_as_it_is_then() {
    let mut net = Network::start(NetOpts { services: false, ..NetOpts::default() }).await;
    let botnick = unique("sb");
    let chan = format!("#{}", unique("sre"));
    let mut opts = BotOpts::new(&net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    let _clock = keep_topic(&mut opts, &chan, "", "2026-11-25T12:00:00Z");
    let mut bot = BotProcess::create(opts);
    assert!(import(&bot, "schedule.csv", CSV).0);
    bot.spawn();
    let mut o = TestClient::connect(net.port(), &unique("ob")).await;
    wait_for_section(&mut o, &chan, "Alice Example (backup: Bob Builder, SRE-Traffic)", Duration::from_secs(15)).await;
    drop(o);

    // The server goes away; the schedule changes meanwhile; the bot comes back by itself.
    net.stop_ircd().await;
    let (ok, out, _) = import(&bot, "schedule.csv", &CSV.replace("Alice Example,Bob Builder", "Dan Example,"));
    assert!(ok && out.starts_with("0 added, 1 changed"), "{out}");
    net.start_ircd().await;
    let mut o = TestClient::connect(net.port(), &unique("ob")).await;
    let setter = wait_for_section(&mut o, &chan, "Dan Example (SRE-Traffic)", Duration::from_secs(30)).await;
    assert!(irc_eq(&setter, &botnick), "{setter}");
    assert!(bot.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_changes_clinic_settings_keeps_the_topic_kept_without_a_rejoin() {
    let net = shared_network().await;
    let (botnick, alice) = (unique("sb"), unique("al"));
    for (a, pw) in [(&botnick, "botpass1"), (&alice, "alicepw1")] {
        net.register_account(a, pw).await;
    }
    let chan = format!("#{}", unique("sre"));
    net.register_channel(&alice, "alicepw1", &chan).await;
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    a.send(&format!("TOPIC {chan} :Welcome")).await;
    next_topic(&mut a, &chan, WAIT).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public")];
    opts.admins = vec![alice.clone()];
    let _clock = keep_topic(&mut opts, &chan, "handoff_time = \"00:00\"\n", "2021-09-15T12:00:00Z");
    let mut bot = BotProcess::create(opts);
    assert!(import(&bot, "schedule.txt", SCHEDULE).0);
    bot.spawn();
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    a.send(&format!("MODE {chan} +o {botnick}")).await;
    assert!(next_topic(&mut a, &chan, WAIT).await.starts_with("Welcome | SRE Clinic Duty: Cathal Mooney"));

    // A reload with other clinic settings starts the keeper over; it still knows the channel.
    let text = std::fs::read_to_string(&bot.config).unwrap();
    std::fs::write(&bot.config, text.replace("handoff_time = \"00:00\"", "handoff_time = \"00:01\"")).unwrap();
    bot.signal("HUP");
    let deadline = std::time::Instant::now() + WAIT;
    while !bot.log_text().contains("config reloaded") {
        assert!(std::time::Instant::now() < deadline, "no reload in the log:\n{}", bot.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.privmsg(&chan, "!clinic override 2021-09-13 Jane Doe").await;
    let topic = next_topic(&mut a, &chan, WAIT).await;
    assert!(topic.starts_with("Welcome | SRE Clinic Duty: Jane Doe"), "{topic}");
    assert_eq!(bot.log_text().matches("connecting").count(), 1, "no reconnect");
}
