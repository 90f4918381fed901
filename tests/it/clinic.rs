//! Clinic duty on a real network with ChanServ: the topic section, the hand-off at a week
//! boundary (with the bot's clock set by the test), `!clinic` answers, and the ChanServ fallback.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::wait_join;
use crate::support::{irc_eq, shared_network, unique, Message, TestClient, WAIT};
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

    let clock = tempfile::NamedTempFile::new().unwrap();
    set_clock(clock.path(), "2021-09-15T12:00:00Z");
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone(), eve.clone()];
    opts.admins = vec![alice.clone()];
    opts.extra = format!("[clinic]\ntimezone = \"UTC\"\ntopic_channels = [\"{chan}\"]\n");
    opts.env = vec![("SREBOT_CLOCK_FILE".into(), clock.path().display().to_string())];
    let mut bot = BotProcess::create(opts);
    let schedule = bot.dir().join("schedule.txt");
    std::fs::write(&schedule, SCHEDULE).unwrap();
    let (ok, out, err) = bot.cli(&["clinic", "import", schedule.to_str().unwrap()]);
    assert!(ok && out.starts_with("7 added, 0 changed, 0 unchanged"), "{out}{err}");
    let (ok, out, _) = bot.cli(&["clinic", "import", schedule.to_str().unwrap()]);
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

    // The week ends: a hand-off line and the new section; the other sections stay as they were.
    set_clock(clock.path(), "2021-09-20T00:00:05Z");
    let handoff = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(10)).await;
    assert_eq!(
        handoff,
        "SRE Clinic Duty hand-off: Manuel Aróstegui (SRE-Data Persistence) is on duty until Mon 2021-09-27 00:00 UTC, \
         taking over from Cathal Mooney."
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
        "Week of 2021-09-20: Jane Doe (SRE-Data Persistence) (was Manuel Aróstegui (SRE-Data Persistence))."
    );
    assert_eq!(
        next_topic(&mut a, &chan, WAIT).await,
        format!("{edited} | SRE Clinic Duty: Jane Doe (SRE-Data Persistence)")
    );
    a.assert_silent(Duration::from_secs(2), |l| l.contains(" TOPIC ")).await;

    // Rights and bad dates.
    let mut e = TestClient::connect_sasl(net.port(), &eve, &eve, "evepass1").await;
    e.join(&chan).await;
    assert!(ask(&mut e, &chan, &botnick, "!clinic none 2021-09-27").await.starts_with("Only srebot admins"));
    assert_eq!(
        ask(&mut a, &chan, &botnick, "!clinic none 2021-09-28").await,
        "2021-09-28 is a Tue; duty weeks start on Mon."
    );
    assert_eq!(
        ask(&mut a, &chan, &botnick, "!clinic next").await,
        "From Mon 2021-09-27 00:00 UTC: Giuseppe Lavagetto (SRE-Service Operations)."
    );
    // The base rotation exported as CSV is still the imported one (changes sit on top).
    let (ok, csv, _) = bot.cli(&["clinic", "export"]);
    assert!(ok && csv.contains("2021-09-20,Manuel Aróstegui,,SRE-Data Persistence"), "{csv}");
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
    let clock = tempfile::NamedTempFile::new().unwrap();
    set_clock(clock.path(), "2021-10-06T08:00:00Z");
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public")];
    opts.extra = format!("[clinic]\ntopic_channels = [\"{chan}\"]\ntopic_via_chanserv = true\n");
    opts.env = vec![("SREBOT_CLOCK_FILE".into(), clock.path().display().to_string())];
    let mut bot = BotProcess::create(opts);
    let schedule = bot.dir().join("schedule.txt");
    std::fs::write(&schedule, SCHEDULE).unwrap();
    let (ok, out, err) = bot.cli(&["clinic", "import", schedule.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    bot.spawn();
    // The week of 2021-10-04 has no clinic duty: the section says so, set through ChanServ.
    assert_eq!(next_topic(&mut a, &chan, Duration::from_secs(15)).await, "SRE Clinic Duty: none");
    a.assert_silent(Duration::from_secs(2), |l| l.contains("I can't update")).await;
}
