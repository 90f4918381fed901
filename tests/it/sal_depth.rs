//! The Server Admin Log in depth on a real network: the privacy guard (a secret is neither
//! stored nor echoed), queries from IRC (one line per entry, long answers by private message,
//! private entries only in their security channel), and corrections with their rights.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::wait_join;
use crate::support::{shared_network, unique, TestClient, WAIT};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_is_refused_and_neither_stored_nor_echoed() {
    let net = shared_network().await;
    let (botnick, alice, watcher) = (unique("sb"), unique("al"), unique("wa"));
    net.register_account(&alice, "alicepw1").await;
    let chan = format!("#{}", unique("sre"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    let mut w = TestClient::connect(net.port(), &watcher).await;
    w.join(&chan).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone()];
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;

    let secrets = [
        ("hunter2-Tr0ub4dor", "!log reset replica auth: db_password=hunter2-Tr0ub4dor on db1001"),
        ("ghp_aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2bC4", "!log deployed with ghp_aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2bC4"),
        ("PRIVATE KEY", "!log -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"),
    ];
    for (secret, line) in secrets {
        a.privmsg(&chan, line).await;
        let reply = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
        assert!(reply.starts_with("NOT logged: that looks like a secret ("), "{reply}");
        assert!(!reply.contains(secret), "the refusal repeats the secret: {reply}");
        // The channel sees the refusal, and nothing of the secret from the bot.
        let seen = w.expect_privmsg_from(&botnick, &chan, WAIT).await;
        assert_eq!(seen, reply);
    }
    // A harmless line still goes through, so the bot was listening all along.
    a.privmsg(&chan, "!log rotated the db password for db1001 (new one in the vault)").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #1, {alice}"));
    assert_eq!(bot.count("1"), 1, "nothing of the secrets was stored");
    let fts: i64 = bot.db().query_row("SELECT count(*) FROM sal_fts", [], |r| r.get(0)).unwrap();
    assert_eq!(fts, 1);
    let log = bot.log_text();
    for (secret, _) in secrets {
        assert!(!log.contains(secret), "the bot's log holds {secret:?}");
    }
    w.assert_silent(Duration::from_millis(300), |l| {
        secrets.iter().any(|(s, _)| l.contains(&format!(":{botnick}!")) && l.contains(s))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_and_corrections_from_irc() {
    let net = shared_network().await;
    let (botnick, alice, bob) = (unique("sb"), unique("al"), unique("bo"));
    for (acct, pw) in [(&botnick, "botpass1"), (&alice, "alicepw1"), (&bob, "bobpass1")] {
        net.register_account(acct, pw).await;
    }
    let (chan, sec) = (format!("#{}", unique("sre")), format!("#{}", unique("sec")));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    let mut b = TestClient::connect_sasl(net.port(), &bob, &bob, "bobpass1").await;
    a.join(&chan).await;
    a.join(&sec).await;
    b.join(&chan).await;
    let mut opts = BotOpts::new(net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public"), (sec.clone(), "security")];
    opts.accounts = vec![alice.clone(), bob.clone()];
    opts.admins = vec![alice.clone()];
    opts.extra = "[web]\nbase_url = \"https://sal.example.org\"\n".into();
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    // Says `text` to `target` and returns the bot's next `n` lines to `to`.
    // Answers to the other client's commands reach this one too: drop them first.
    async fn ask(c: &mut TestClient, bot: &str, target: &str, text: &str, to: &str, n: usize) -> Vec<String> {
        c.assert_silent(Duration::from_millis(150), |_| false).await;
        c.clear_pending();
        c.privmsg(target, text).await;
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(c.expect_privmsg_from(bot, to, WAIT).await);
        }
        out
    }

    let hhmm = regex::Regex::new(r"^#(\d+) \d\d:\d\d ").unwrap();
    ask(&mut a, &botnick, &chan, "!log restarted db151 for T123456 from 198.51.100.23", &chan, 1).await;
    ask(&mut a, &botnick, &sec, "!log revoked the leaked token for T123456", &sec, 1).await;
    for i in 1..=11 {
        ask(&mut b, &botnick, &chan, &format!("!log deploy step {i}"), &chan, 1).await;
    }
    // !sal: the latest five, one line each, and a footer with what is left and the web view.
    let lines = ask(&mut a, &botnick, &chan, "!sal", &chan, 6).await;
    assert!(hhmm.is_match(&lines[0]) && lines[0].ends_with(&format!("{bob}: deploy step 11")), "{lines:?}");
    assert!(lines[0].starts_with("#13 "));
    assert!(lines[5].contains("…and 7 more") && lines[5].contains("https://sal.example.org/sal"), "{lines:?}");
    // More than 10: privately, with a note in the channel; never the private entry.
    a.assert_silent(Duration::from_millis(150), |_| false).await;
    a.clear_pending();
    a.privmsg(&chan, "!sal last 20").await;
    let note = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert_eq!(note, format!("{alice}: sent you 12 entries privately."));
    let mut private = Vec::new();
    for _ in 0..13 {
        private.push(a.expect_privmsg_from(&botnick, &alice, WAIT).await);
    }
    assert!(private[11].contains("restarted db151 for T123456 from [IP hidden]"), "{private:?}");
    assert!(!private.iter().any(|l| l.contains("leaked token")));
    // One entry, a task, a search, a span of time.
    let one = ask(&mut b, &botnick, &chan, "!sal #1", &chan, 1).await;
    assert!(one[0].starts_with("#1 ") && one[0].ends_with("— https://sal.example.org/sal/1"), "{one:?}");
    assert_eq!(ask(&mut b, &botnick, &chan, "!sal #2", &chan, 1).await, vec!["No entry #2."]);
    let task = ask(&mut b, &botnick, &chan, "!sal T123456", &chan, 2).await;
    assert!(task[0].starts_with("#1 ") && task[1].starts_with("web: "), "{task:?}");
    let in_sec = ask(&mut a, &botnick, &sec, "!sal T123456", &sec, 2).await;
    assert!(in_sec[0].starts_with("#2 ") && in_sec[0].contains("leaked token"), "the security channel sees its own");
    assert!(in_sec[1].starts_with("#1 "));
    let found = ask(&mut b, &botnick, &chan, "!sal search step 7", &chan, 2).await;
    assert!(found[0].starts_with("#9 ") && found[0].ends_with("deploy step 7"), "{found:?}");
    assert_eq!(
        ask(&mut b, &botnick, &chan, "!sal search nosuchword", &chan, 1).await,
        vec!["Nothing found for \"nosuchword\"."]
    );
    let since = ask(&mut b, &botnick, &chan, "!sal since 1h", &chan, 11).await;
    assert!(since[10].starts_with("…and 2 more"), "{since:?}");
    assert!(ask(&mut b, &botnick, &chan, "!sal since yesterday", &chan, 1).await[0].starts_with("Usage: !sal since"));

    // Corrections: undo by the author, redact by admins only, amend by the author or an admin.
    assert!(ask(&mut b, &botnick, &chan, "!log undo", &chan, 1).await[0].starts_with("Undone: #13 (deploy step 11)"));
    assert!(ask(&mut b, &botnick, &chan, "!sal redact #3 wrong", &chan, 1).await[0].contains("for srebot's admins"));
    assert!(ask(&mut b, &botnick, &chan, "!sal redact #3", &chan, 1).await[0].starts_with("Usage: !sal redact"));
    let r = ask(&mut a, &botnick, &chan, "!sal redact #3 wrong cluster", &chan, 1).await;
    assert!(r[0].starts_with("Redacted #3"), "{r:?}");
    assert!(ask(&mut b, &botnick, &chan, "!sal #3", &chan, 1).await[0].contains(&format!("redacted by {alice}")));
    // An admin (alice) may amend bob's entry; bob, neither admin nor author, may not amend alice's.
    let r = ask(&mut a, &botnick, &chan, "!sal amend #4 deploy step 2 (canary)", &chan, 1).await;
    assert_eq!(r, vec!["Amended #4 (the old text is kept)."]);
    let r = ask(&mut b, &botnick, &chan, "!sal amend #1 restarted db152 instead", &chan, 1).await;
    assert_eq!(r, vec![format!("#1 is {alice}'s entry: only its author or an admin may amend it.")]);
    let r = ask(&mut b, &botnick, &chan, "!sal amend #5 deploy step 3 (canary)", &chan, 1).await;
    assert_eq!(r, vec!["Amended #5 (the old text is kept)."]);
    let latest = ask(&mut b, &botnick, &chan, "!sal last 3", &chan, 4).await;
    assert!(latest[0].starts_with("#12 "), "the undone #13 is gone: {latest:?}");
    let corrections: Vec<(i64, String, String)> = bot
        .db()
        .prepare("SELECT entry_id, kind, old_text FROM sal_correction ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(corrections[0], (13, "undo".into(), "deploy step 11".into()));
    assert_eq!(corrections[1], (3, "redact".into(), "deploy step 1".into()));
    assert!(corrections.contains(&(5, "amend".into(), "deploy step 3".into())));
    assert!(corrections.contains(&(4, "amend".into(), "deploy step 2".into())), "the admin's amendment");
    assert!(!corrections.iter().any(|c| c.0 == 1), "bob's attempt changed nothing");
    // The CLI shows admins the whole trail: who, when, why, and the texts before and after.
    let (ok, out, err) = bot.cli(&["sal", "show", "5"]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!(" amend by {bob} ({bob})\n")), "{out}");
    assert!(out.contains("\n  old text: deploy step 3\n  new text: deploy step 3 (canary)\n"), "{out}");
    assert!(out.contains("text: deploy step 3 (canary)\n"), "{out}");
    let (ok, out, _) = bot.cli(&["sal", "show", "3"]);
    assert!(ok && out.contains("hidden since "), "{out}");
    assert!(
        out.contains(&format!(" redact by {alice} ({alice})\n  reason: wrong cluster\n  old text: deploy step 1\n")),
        "{out}"
    );
    let (ok, out, _) = bot.cli(&["sal", "show", "13"]);
    assert!(ok && out.contains(&format!(" undo by {bob} ({bob})\n  old text: deploy step 11\n")), "{out}");
    assert!(!out.contains("reason:") && !out.contains("new text:"), "an undo has neither: {out}");
    assert_eq!(bot.count("hidden_at IS NOT NULL"), 2, "hidden, not deleted");
    assert_eq!(bot.count("1"), 13);
    assert!(ask(&mut b, &botnick, &chan, "!sal status", &chan, 1).await[0].starts_with("Publishing is off"));
    assert!(ask(&mut b, &botnick, &chan, "!sal 5", &chan, 1).await[0].contains("!sal #5"));
    assert_eq!(
        ask(&mut b, &botnick, &chan, "!sal since 2026-13-01", &chan, 1).await,
        vec!["2026-13-01 is not a valid date (YYYY-MM-DD, UTC)."]
    );

    // A second undo does not reach back to #12; the withdrawn #13 can be restored, on the record.
    let again = ask(&mut b, &botnick, &chan, "!log undo", &chan, 1).await;
    assert!(again[0].starts_with("NOT undone: your last undo took back #13; #12 (deploy step 10)"), "{again:?}");
    assert_eq!(bot.count("hidden_at IS NOT NULL"), 2, "the refused undo hid nothing");
    let back = ask(&mut b, &botnick, &chan, "!sal restore #13", &chan, 1).await;
    assert_eq!(back, vec!["Restored #13 (deploy step 11): back in queries, the web and the wiki."]);
    assert!(ask(&mut b, &botnick, &chan, "!sal last 1", &chan, 2).await[0].starts_with("#13 "));
    let (ok, out, _) = bot.cli(&["sal", "show", "13"]);
    assert!(ok && out.contains(&format!(" restore by {bob} ({bob})\n  old text: deploy step 11\n")), "{out}");
    assert!(!out.contains("hidden since"), "{out}");
}
