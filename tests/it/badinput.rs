//! Bad input and floods against the real bot: a catalogue of garbage, each line answered
//! briefly or ignored as documented, nothing unintended stored, no panic; and a spammer
//! rate-limited with one notice while the bot stays connected on a strict server.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::{join_with, wait_join};
use crate::support::handler;
use crate::support::{acked_ids, irc_eq, shared_network, unique, Message, Scene, TestClient, WAIT};
use base64::Engine as _;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A connection that writes raw bytes (TestClient only sends `&str`): for invalid UTF-8, NUL and
/// lone CR. Logs in with SASL PLAIN so that its `!log` is allowed.
struct RawClient {
    rd: BufReader<tokio::net::tcp::OwnedReadHalf>,
    wr: tokio::net::tcp::OwnedWriteHalf,
}

impl RawClient {
    async fn connect_sasl(port: u16, nick: &str, password: &str) -> RawClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let (rd, wr) = stream.into_split();
        let mut c = RawClient { rd: BufReader::new(rd), wr };
        c.write(format!("CAP REQ :sasl\r\nNICK {nick}\r\nUSER {nick} 0 * :raw\r\n").as_bytes()).await;
        c.wait_for(|m| m.command == "CAP" && m.param(1) == Some("ACK")).await;
        c.write(b"AUTHENTICATE PLAIN\r\n").await;
        c.wait_for(|m| m.command == "AUTHENTICATE").await;
        let payload = base64::engine::general_purpose::STANDARD.encode(format!("{nick}\0{nick}\0{password}"));
        c.write(format!("AUTHENTICATE {payload}\r\n").as_bytes()).await;
        let done = c.wait_for(|m| matches!(m.command.as_str(), "903" | "904")).await;
        assert_eq!(done.command, "903", "SASL for the raw client");
        c.write(b"CAP END\r\n").await;
        c.wait_for(|m| matches!(m.command.as_str(), "376" | "422")).await;
        c
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.wr.write_all(bytes).await.expect("write");
    }

    async fn wait_for(&mut self, pred: impl Fn(&Message) -> bool) -> Message {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = tokio::time::timeout_at(deadline, self.rd.read_until(b'\n', &mut buf))
                .await
                .expect("raw client: timed out")
                .expect("raw client: read");
            assert!(n > 0, "raw client: connection closed");
            let line = String::from_utf8_lossy(&buf);
            if let Some(token) = line.strip_prefix("PING ") {
                let pong = format!("PONG {}\r\n", token.trim_end());
                self.write(pong.as_bytes()).await;
                continue;
            }
            if let Some(m) = Message::parse(&line) {
                if pred(&m) {
                    return m;
                }
            }
        }
    }
}

/// Every stored message, in id order.
fn messages(bot: &BotProcess) -> Vec<String> {
    let db = bot.db();
    let mut stmt = db.prepare("SELECT message FROM sal_entry ORDER BY id").unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_of_bad_input_is_answered_briefly_or_ignored() {
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, alice, chan, sec, mut a } = scene;
    let (raw, eve) = (unique("rw"), unique("ev"));
    net.register_account(&raw, "rawpass1").await;
    opts.accounts.push(raw.clone());
    // Alice sends some thirty commands in a row here; the rate limit has its own test below.
    opts.extra = "[ratelimit]\ninterval_ms = 0\n".into();
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    wait_join(&mut a, &botnick, &sec, WAIT).await;

    // Sends `text` as alice in `target` and returns the bot's answer there, or None when it
    // says nothing. A `!help` after it marks the end; commands run concurrently, so an answer
    // may come just after the help's: anything within 300 ms of it still counts.
    async fn answer(a: &mut TestClient, bot: &str, target: &str, text: &str) -> Option<String> {
        a.privmsg(target, text).await;
        a.privmsg(target, "!help").await;
        let (mut got, mut help) = (Vec::new(), false);
        loop {
            let wait = if help { Duration::from_millis(300) } else { WAIT };
            // `expect` is cancel-safe: a line read but not matched stays pending.
            match tokio::time::timeout(wait, a.expect_privmsg_from(bot, target, 2 * WAIT)).await {
                Err(_) => {
                    assert!(help, "no answer to !help after {text:?}");
                    break;
                }
                Ok(line) if !help && line.contains("!log <message>") => help = true,
                Ok(line) => got.push(line),
            }
        }
        assert!(got.len() <= 1, "one answer to {text:?}: {got:?}");
        got.pop()
    }
    let short = |reply: &str| {
        assert!(reply.len() <= 400 && !reply.contains(['\r', '\n']), "a short one-line reply: {reply:?}");
    };

    // Empty and whitespace-only commands, a bare prefix, unknown commands: documented answers
    // or silence (other bots share the channel, so unknown !words are not ours).
    assert_eq!(answer(&mut a, &botnick, &chan, "!log").await.as_deref(), Some("Message missing. Nothing logged."));
    assert_eq!(
        answer(&mut a, &botnick, &chan, "!log \t   ").await.as_deref(),
        Some("Message missing. Nothing logged.")
    );
    assert_eq!(answer(&mut a, &botnick, &chan, "!").await, None);
    assert_eq!(answer(&mut a, &botnick, &chan, "   ").await, None);
    assert_eq!(answer(&mut a, &botnick, &chan, "!frobnicate the cache").await, None);
    let unknown = answer(&mut a, &botnick, &chan, "!incident frobnicate now").await.expect("usage");
    assert!(unknown.starts_with("Unknown subcommand \"frobnicate\""), "{unknown}");
    short(&unknown);
    let unknown = answer(&mut a, &botnick, &chan, "!sal frobnicate now").await.expect("usage");
    assert!(unknown.starts_with("Unknown !sal query \"frobnicate\". Usage: !sal"), "{unknown}");
    short(&unknown);

    // Colour codes are stripped before storing; a colour code before the prefix is not a command.
    assert!(answer(&mut a, &botnick, &chan, "!log \x02bold\x02 \x0304,01red\x03 \x1funder\x1f")
        .await
        .unwrap()
        .starts_with("Logged #1"));
    assert_eq!(answer(&mut a, &botnick, &chan, "\x0304!log coloured prefix\x03").await, None);

    // CTCP: ACTION is ignored (even one that reads like a command); VERSION, even asked in the
    // channel, is answered by a NOTICE to the asker alone.
    assert_eq!(answer(&mut a, &botnick, &chan, "\x01ACTION !log waves\x01").await, None);
    a.privmsg(&chan, "\x01VERSION\x01").await;
    let version = a.expect_msg("the CTCP VERSION reply", WAIT, |m| m.command == "NOTICE" && m.is_from(&botnick)).await;
    assert!(irc_eq(version.param(0).unwrap_or(""), &alice), "to the asker: {version:?}");
    assert!(version.params.last().is_some_and(|t| t.starts_with("\x01VERSION srebot ")), "{version:?}");
    // Lines are answered in order, so anything else the VERSION caused came before this answer.
    assert_eq!(answer(&mut a, &botnick, &chan, "!frobnicate").await, None);
    let in_channel = |l: &&String| {
        Message::parse(l).is_some_and(|m| m.is_from(&botnick) && m.param(0).is_some_and(|t| irc_eq(t, &chan)))
    };
    assert!(!a.seen().iter().filter(in_channel).any(|l| l.contains("VERSION")), "VERSION in the channel");

    // An overlong line: the server cuts it at 512 bytes; what arrives is logged.
    let long = format!("!log {}", "x".repeat(10_000));
    let ack = answer(&mut a, &botnick, &chan, &long).await.expect("an ack");
    assert!(ack.starts_with("Logged #2"), "{ack}");

    // The wrong channel: an incident of the security channel does not exist in the public one.
    let opened = answer(&mut a, &botnick, &sec, "!incident open key leak").await.expect("opened");
    assert!(opened.starts_with("Incident #1 opened"), "{opened}");
    assert_eq!(answer(&mut a, &botnick, &chan, "!incident show 1").await.as_deref(), Some("No incident #1 here."));

    // Not identified: refused with how to get access, nothing stored.
    let mut e = TestClient::connect(net.port(), &eve).await;
    e.join(&chan).await;
    e.privmsg(&chan, "!log sneaky").await;
    let refusal = e.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(refusal.starts_with("NOT logged: ") && refusal.contains("not identified"), "{refusal}");
    short(&refusal);

    // By private message (no private_message_channel): explained privately, nothing stored.
    a.privmsg(&botnick, "!log from a query").await;
    let pm = a.expect_privmsg_from(&botnick, &alice, WAIT).await;
    assert!(pm.contains("not enabled"), "{pm}");
    short(&pm);

    // Raw bytes: invalid UTF-8, NUL, a lone CR and a lone LF inside a line.
    let mut r = RawClient::connect_sasl(net.port(), &raw, "rawpass1").await;
    r.write(format!("JOIN {chan}\r\n").as_bytes()).await;
    r.wait_for(|m| m.command == "366").await;
    for (i, bytes) in [
        b"!log caf\xe9 latin1 \xff\xfe".as_slice(),
        b"!log nul\0inside".as_slice(),
        b"!log lone\rcarriage return".as_slice(),
        b"!log before lf\nPRIVMSG #nowhere :after lf".as_slice(),
    ]
    .iter()
    .enumerate()
    {
        let mut line = format!("PRIVMSG {chan} :").into_bytes();
        line.extend_from_slice(bytes);
        line.extend_from_slice(format!(" raw{i}\r\n").as_bytes());
        r.write(&line).await;
    }
    r.write(format!("PRIVMSG {chan} :!log raw done\r\n").as_bytes()).await;
    // Whatever the server passed on was answered; the last one proves the bot is still there.
    let is_ack = |m: &Message| m.command == "PRIVMSG" && m.params.last().is_some_and(|t| t.starts_with("Logged #"));
    loop {
        let ack = r.wait_for(is_ack).await;
        let ids = acked_ids(ack.params.last().map(String::as_str).unwrap_or(""));
        let last: Option<String> = ids.last().and_then(|id| {
            bot.db().query_row("SELECT message FROM sal_entry WHERE id = ?1", [id], |row| row.get(0)).ok()
        });
        if last.as_deref() == Some("raw done") {
            break;
        }
    }

    // Nothing unintended was stored: only !log lines, clean, one line each.
    let stored = messages(&bot);
    assert_eq!(stored[0], "bold red under", "formatting stripped");
    assert!(stored[1].len() < 512 && stored[1].chars().all(|c| c == 'x'), "the cut overlong line");
    for m in &stored {
        assert!(!m.contains(['\r', '\n', '\0', '\x02', '\x03', '\x1f']), "{m:?}");
        assert!(!m.contains("sneaky") && !m.contains("from a query") && !m.contains("waves"), "{m:?}");
    }
    // Invalid UTF-8 becomes U+FFFD; NUL arrives as a space, a lone CR is a control character and
    // goes; at a lone LF the server ends the line (the rest is another line, to no channel).
    for m in [
        "caf\u{fffd} latin1 \u{fffd}\u{fffd} raw0",
        "nul inside raw1",
        "lonecarriage return raw2",
        "before lf",
        "raw done",
    ] {
        assert!(stored.iter().any(|s| s == m), "{m:?} not in {stored:?}");
    }
    assert_eq!(stored.len(), 7, "nothing else: {stored:?}");
    let log = bot.log_text();
    assert!(!log.contains("panicked"), "no panic:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spammer_gets_one_notice_and_the_bot_stays_connected() {
    let net = shared_network().await;
    let (botnick, alice, spam) = (unique("sb"), unique("al"), unique("sp"));
    net.register_account(&alice, "alicepw1").await;
    net.register_account(&spam, "spampw12").await;
    let chan = format!("#{}", unique("sre"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;
    let mut s = TestClient::connect_sasl(net.port(), &spam, &spam, "spampw12").await;
    // The bot on the strict (Libera-like) port with the default flood control and rate limit.
    let mut opts = BotOpts::new(net, &botnick);
    opts.port = net.strict_port();
    opts.flood = (4, 1500);
    opts.channels = vec![(chan.clone(), "public")];
    opts.accounts = vec![alice.clone(), spam.clone()];
    opts.extra = "[ratelimit]\nburst = 10\ninterval_ms = 500\n".into(); // the defaults
    let mut bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    join_with(&mut s, &chan, &botnick, WAIT).await;

    // A member's `!log` is never limited (see `a_members_flood_of_logs_is_counted_not_dropped`
    // in `logqueue`); anything else is.
    for _ in 0..1000 {
        s.privmsg(&chan, "!help log").await;
    }
    // The spammer is told once, privately.
    let notice = s.expect_msg("the slow-down notice", WAIT, |m| m.command == "NOTICE" && m.is_from(&botnick)).await;
    assert!(notice.params.last().unwrap().contains("slow down"), "{notice:?}");
    // Someone else is not held up behind the spam: acks go before answers.
    a.privmsg(&chan, "!log unrelated work").await;
    let mut helped = 0;
    let ack = loop {
        let line = a.expect_privmsg_from(&botnick, &chan, Duration::from_secs(20)).await;
        if line.starts_with("Logged #") {
            break line;
        }
        helped += 1;
    };
    assert_eq!(ack, format!("Logged #1, {alice}"));
    assert!(helped <= 4, "the ack waited behind {helped} answers");
    a.assert_silent(Duration::from_secs(3), |l| l.contains(&format!(":{botnick}!")) && l.contains("NOTICE")).await;
    // The limit held: the burst of 10 and a few more were answered, not 1,000 (at one line per
    // 1.5 s, 20 s is room for 15).
    a.assert_silent(Duration::from_secs(20), |_| false).await;
    let helps =
        a.seen().iter().filter(|l| l.contains(&format!(":{botnick}!")) && l.contains(":!log <message>")).count();
    assert!((10..=15).contains(&helps), "the limit held: {helps} answers");
    // Exactly one notice, and the bot was never disconnected.
    s.assert_silent(Duration::from_secs(1), |l| l.contains(" NOTICE ") && l.contains(&format!(":{botnick}!"))).await;
    let quits = a.seen().iter().filter(|l| l.contains(" QUIT ") && l.contains(&format!(":{botnick}!"))).count();
    assert_eq!(quits, 0, "the bot was never disconnected");
    assert!(bot.is_running());
    assert!(!bot.log_text().contains("disconnected"), "{}", bot.log_text());
    // Calm again (the bucket refills in 5 s), the spammer is heard again.
    s.privmsg(&chan, "!help").await;
    let help = s.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(!help.is_empty());
}

/// The 10,000-character argument where no server cuts it to 512 bytes: at the handler, in every
/// argument position of every command family, from a member, from an admin (who passes every
/// rights check and so reaches the code that answers) and from an unidentified user (for whom
/// nothing is stored). Every answer is a few short lines; the argument is never echoed whole.
#[test]
fn ten_thousand_characters_in_any_argument_get_a_short_answer() {
    use handler::{parts, Handler, PUBLIC};
    use srebot::testing::irc::Outgoing;
    let h = Handler::new(false);
    h.say("alice", Some(PUBLIC), "!log a first entry");
    h.say("alice", Some(PUBLIC), "!incident open the API is down");
    h.say("root", Some(PUBLIC), "!clinic set 2026-11-30 Alice/Bob | SRE-Infra");
    // Without a server to cut it, a long `!log` is stored whole, and acknowledged in a few words.
    let ack = h.say("alice", Some(PUBLIC), &format!("!log {}", "x".repeat(10_000)));
    assert!(
        matches!(ack.as_slice(), [a @ Outgoing::Ack { ack, .. }] if ack.id == 2 && parts(a).1 == "Logged #2, alice"),
        "{ack:?}"
    );
    assert_eq!(h.number("SELECT length(message) FROM sal_entry WHERE id = 2"), 10_000);
    let templates = [
        "!log {}",
        "!log undo {}",
        "!sal {}",
        "!sal last {}",
        "!sal #{}",
        "!sal search {}",
        "!sal since {}",
        "!sal amend {} new text",
        "!sal amend #1 {}",
        "!sal redact {} a reason",
        "!sal redact #1 {}",
        "!incident {}",
        "!incident open {}",
        "!incident claim {}",
        "!incident claim comms {}",
        "!incident handoff {} bob",
        "!incident handoff comms {}",
        "!incident status {}",
        "!incident status identified {}",
        "!incident note {}",
        "!incident at {} it broke",
        "!incident at 00:01 {}",
        "!incident impact {}",
        "!incident snooze {}",
        "!incident show {}",
        "!incident report {}",
        "!incident report-filed 1 {}",
        "!incident reopen {}",
        "!incident close {}",
        "!clinic {}",
        "!clinic schedule {}",
        "!clinic who {}",
        "!clinic set {} Alice",
        "!clinic set 2026-11-30 {}",
        "!clinic set 2026-11-30 Alice/{} | {}",
        "!clinic none {}",
        "!clinic swap 2026-11-30 {}",
        "!clinic override 2026-11-30 {}",
        "!clinic nick {} Alice",
        "!clinic nick alice {}",
        "!help {}",
    ];
    let fillers = ["x".repeat(10_000), "é".repeat(5_000), "ab ".repeat(3_333), "#".to_string() + &"9".repeat(9_999)];
    let mut families = std::collections::BTreeSet::new();
    for template in templates {
        for filler in &fillers {
            for nick in ["alice", "root", "bob"] {
                let text = template.replace("{}", filler);
                let before = h.number("SELECT total_changes()");
                let replies = h.say(nick, Some(PUBLIC), &text);
                if nick == "bob" {
                    assert_eq!(h.number("SELECT total_changes()"), before, "bob is not identified: {template}");
                }
                let what = format!("{nick}: {:?}… ({} bytes)", &template, text.len());
                assert!(
                    !replies.is_empty() && replies.len() <= srebot::testing::cmd::sal::CHANNEL_LINES + 2,
                    "{what}: {} replies",
                    replies.len()
                );
                for reply in &replies {
                    let (target, reply) = parts(reply);
                    let reply = &*reply;
                    assert!(target == PUBLIC || target == nick, "{what} -> to {target}");
                    assert!(
                        !reply.trim().is_empty() && reply.len() <= 400 && !reply.contains(['\r', '\n']),
                        "{what} -> {} bytes: {:?}",
                        reply.len(),
                        srebot::testing::text::truncate_bytes(reply, 300)
                    );
                }
                families.insert(template.split(' ').next().unwrap_or_default());
            }
        }
    }
    assert_eq!(families.len(), 5, "every command family: {families:?}");
}

/// Odd arguments the property tests found answered badly, at the handler: each gets its usage
/// error or its answer in one short line, never a database error, never the argument whole.
#[test]
fn odd_arguments_get_one_short_line() {
    use handler::{parts, Handler, PUBLIC};
    let h = Handler::new(false);
    let ask = |nick: &str, text: &str| -> Vec<String> {
        let replies = h.say(nick, Some(PUBLIC), text);
        let texts: Vec<String> = replies.iter().map(|r| parts(r).1.to_string()).collect();
        for t in &texts {
            assert!(t.len() <= 400 && !t.contains("database"), "{text:?} -> {} bytes: {t:?}", t.len());
        }
        texts
    };
    h.say("alice", Some(PUBLIC), "!log restarted db1");
    // A NUL inside a search word once ended SQLite's query string: "unterminated string".
    // (Now control characters are stripped from search words like formatting codes.)
    assert_eq!(ask("alice", "!sal search db1\0x"), ["Nothing found for \"db1x\"."]);
    let found = ask("alice", "!sal search restarted\0");
    assert!(
        matches!(found.as_slice(), [line] if line.starts_with("#1 ") && line.ends_with(" alice: restarted db1")),
        "{found:?}"
    );
    // Control characters and combining marks grow when quoted; the usage after them is long.
    let unknown = ask("alice", &format!("!incident {}", "\x01".repeat(30)));
    assert!(unknown[0].starts_with("Unknown subcommand \"\\u{1}") && unknown[0].ends_with("several are open."));
    let unknown = ask("alice", &format!("!incident {}", "e\u{301}".repeat(30)));
    assert!(unknown[0].starts_with("Unknown subcommand \"e\\u{301}"), "{unknown:?}");
    // Many open incidents: the question which one names five.
    for i in 0..8 {
        ask("alice", &format!("!incident open outage number {i} with a summary long enough to be cut"));
    }
    let which = ask("alice", "!incident note still down");
    assert!(which[0].starts_with("Several incidents are open here: #1 (outage number 0"), "{which:?}");
    assert!(which[0].ends_with(", 3 more. Which one? End with its number."), "{which:?}");
}
