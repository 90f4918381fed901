//! Property tests for the parts that take untrusted input: the command parser, the topic editor,
//! the line splitter and renderer, and the incoming-message path (`irc::line::parse` and
//! `Session::on_line`). A CI-sized run (a few seconds); `scripts/fuzz` runs the cargo-fuzz
//! targets in `fuzz/` for longer, and `PROPTEST_CASES=100000 cargo test --test props` runs these
//! longer.

use proptest::prelude::*;
use srebot::clinic::topic::{self, Duty};
use srebot::cmd::{self, Command};
use srebot::config::{self, CommandsConfig};
use srebot::irc::driver::wire_safe;
use srebot::irc::session::{Action, Session};
use srebot::irc::split::{assumed_prefix, split_text, text_budget, MAX_LINE};
use srebot::irc::{line, roster::Roster};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn config() -> ProptestConfig {
    // 256 cases unless PROPTEST_CASES says otherwise; no failure files in the tree.
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

/// Text with what IRC lines carry: ASCII, spaces, control and formatting codes, Unicode.
fn irc_text() -> impl Strategy<Value = String> {
    // Picking from an alphabet is much cheaper than regex strategies in a debug build.
    let alphabet: Vec<char> = ('a'..='z')
        .chain('A'..='F')
        .chain('0'..='9')
        .chain(" !#:@.,|()-".chars())
        .chain((0u8..0x20).map(char::from))
        .chain(['\x7f', 'é', '€', '😀', '×', '–', ' ', ' ', ' '])
        .collect();
    prop::collection::vec(prop::sample::select(alphabet), 0..300).prop_map(|chars| chars.into_iter().collect())
}

// ---------------------------------------------------------------------------------------------
// The command parser

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_and_only_answers_its_prefix(text in irc_text()) {
        let c = CommandsConfig::default();
        if let Some(command) = cmd::parse(&c, &text) {
            prop_assert!(text.trim_start().starts_with('!'), "{text:?} -> {command:?}");
            if let Command::Log { message } = command {
                prop_assert_eq!(message.trim(), message.as_str());
            }
        }
    }

    #[test]
    fn log_keeps_its_message(word in "(?i)log", message in "[a-zA-Z0-9 ]{0,50}", lead in " {0,3}") {
        let c = CommandsConfig::default();
        let parsed = cmd::parse(&c, &format!("{lead}!{word} {message}"));
        prop_assert_eq!(parsed, Some(Command::Log { message: message.trim().to_string() }));
    }
}

// ---------------------------------------------------------------------------------------------
// The topic editor

fn label() -> impl Strategy<Value = String> {
    "[A-Z][A-Za-z ]{0,15}:?"
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![" | ", " / ", " - ", "|", " || "])
}

fn name() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[A-Za-zé ()|/,:-]{0,40}")
}

fn human_topic() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9é€:()|/\\x02\\x03 -]{0,40}", 0..6).prop_map(|s| s.join(" | "))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn topic_update_fits_is_found_and_is_stable(
        topic in human_topic(),
        label in label(),
        sep in separator(),
        clinician in name(),
        backup in name(),
        team in name(),
        topic_len in 0usize..400,
    ) {
        let duty = Duty { clinician, backup, team };
        match topic::update(&topic, &label, sep, &duty, topic_len) {
            Err(topic::Unfit::TooLong) => {}
            Err(unfit) => prop_assert!(false, "{unfit} for {topic:?}"),
            Ok(None) => prop_assert!(topic::current_section(&topic, &label, sep).is_some()),
            Ok(Some(new)) => {
                prop_assert!(new.len() <= topic_len, "{} > {topic_len}: {new:?}", new.len());
                prop_assert!(topic::current_section(&new, &label, sep).is_some(), "our section is findable: {new:?}");
                // Writing the same duty again changes nothing (no fight with ourselves).
                prop_assert_eq!(topic::update(&new, &label, sep, &duty, topic_len), Ok(None), "{:?}", new);
            }
        }
    }
}

/// Found by `topic_update_fits_is_found_and_is_stable`: clinician "|" and team "a" gave the
/// section "A | (a)", which the next look split at " | ", so the next update answered TooLong
/// (or rewrote the topic again) instead of "nothing to do".
#[test]
fn a_name_that_forms_the_separator() {
    let duty = Duty { clinician: Some("|".into()), backup: None, team: Some("a".into()) };
    let new = topic::update("", "A", " | ", &duty, 7).expect("fits").expect("changed");
    assert_eq!(topic::update(&new, "A", " | ", &duty, 7), Ok(None), "{new:?}");
}

/// Found by the `topic_update` fuzz target: "A\x08 -" with separator " - " got our section
/// appended as "A\x08 - - SRE Clinic Duty: none", which splits as "A\x08" and "- SRE Clinic Duty:
/// none": our section was not found again, and the next update appended another one.
#[test]
fn a_topic_ending_in_part_of_the_separator() {
    let duty = Duty::default();
    let new = topic::update("A\x08 -", "SRE Clinic Duty:", " - ", &duty, 116).expect("fits").expect("changed");
    assert!(topic::current_section(&new, "SRE Clinic Duty:", " - ").is_some(), "{new:?}");
}

// ---------------------------------------------------------------------------------------------
// The splitter and the renderer

proptest! {
    #![proptest_config(config())]

    #[test]
    fn split_keeps_every_byte_within_the_budget(text in irc_text(), budget in 0usize..600) {
        let pieces = split_text(&text, budget);
        prop_assert!(!pieces.is_empty());
        for p in &pieces {
            prop_assert!(p.len() <= budget.max(4), "{} > {budget}", p.len());
        }
        // Only the spaces at the cuts go.
        prop_assert_eq!(pieces.concat().replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn rendered_lines_fit_512_bytes_once_relayed(text in irc_text(), target in "#[a-z]{1,40}", notice in any::<bool>()) {
        let s = session();
        let command = if notice { "NOTICE" } else { "PRIVMSG" };
        let prefix = assumed_prefix(s.nick(), "srebot");
        for l in s.render(command, &target, &text) {
            prop_assert!(!l.contains(['\r', '\n', '\0']), "{l:?}");
            // The server relays it as ":prefix line\r\n".
            prop_assert!(1 + prefix.len() + 1 + l.len() + 2 <= MAX_LINE, "{} bytes: {l:?}", l.len());
        }
        prop_assert!(text_budget(&prefix, command, &target) > 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Incoming lines: the parser and the session state machine

fn session() -> Session {
    let c = config::parse(
        r##"
[irc]
server = "127.0.0.1"
nick = "srebot"
alt_nicks = ["srebot_"]
[irc.sasl]
mechanism = "PLAIN"
account = "srebot"
password = "pw-for-props"
[[channels]]
name = "#sre"
role = "public"
[[channels]]
name = "#sre-security"
role = "security"
[storage]
database = "unused.sqlite3"
"##,
    )
    .expect("test config");
    let (settings, _) = srebot::session_settings(&c).expect("settings");
    Session::new(Arc::new(settings), Arc::new(Mutex::new(Roster::default())), Instant::now())
}

/// A line that looks like what servers send: tags, a source, a command the session knows (or a
/// random one), and parameters.
fn server_line() -> impl Strategy<Value = String> {
    let tags = prop::option::of("@(account=[a-z]{1,8}|time=2026-11-22T10:00:00.000Z|[a-z/-]{1,10}=[a-z\\\\:]{0,10})(;[a-z-]{1,8}=[a-z\\\\]{0,8}){0,2} ");
    let source = prop::option::of(prop_oneof![
        Just(":irc.test ".to_string()),
        "[a-zA-Z_]{1,9}![a-z~]{1,6}@[a-z.]{1,12} ".prop_map(|s| format!(":{s}")),
        Just(":srebot!~srebot@127.0.0.1 ".to_string()),
    ]);
    let command = prop::sample::select(vec![
        "PRIVMSG",
        "NOTICE",
        "JOIN",
        "PART",
        "KICK",
        "QUIT",
        "NICK",
        "MODE",
        "TOPIC",
        "PING",
        "ERROR",
        "CAP",
        "AUTHENTICATE",
        "ACCOUNT",
        "CHGHOST",
        "001",
        "005",
        "332",
        "353",
        "354",
        "366",
        "376",
        "396",
        "433",
        "471",
        "903",
        "904",
        "908",
        "FOO",
    ]);
    let params = prop::collection::vec("[#a-zA-Z0-9*=+@!._-]{1,12}", 0..6);
    let trailing = prop::option::of(irc_text());
    (tags, source, command, params, trailing).prop_map(|(t, s, c, p, tr)| {
        let mut l = format!("{}{}{c}", t.unwrap_or_default(), s.unwrap_or_default());
        for x in p {
            l.push(' ');
            l.push_str(&x);
        }
        if let Some(tr) = tr {
            l.push_str(" :");
            l.push_str(&tr.replace(['\r', '\n'], " "));
        }
        l
    })
}

/// The registration a server sends, so later lines reach a registered, joined session.
const REGISTRATION: &[&str] = &[
    ":irc.test CAP * LS :sasl account-tag extended-join server-time message-tags",
    ":irc.test CAP srebot ACK :sasl account-tag extended-join server-time message-tags",
    "AUTHENTICATE +",
    ":irc.test 903 srebot :SASL authentication successful",
    ":irc.test 001 srebot :Welcome",
    ":irc.test 005 srebot CASEMAPPING=rfc1459 TOPICLEN=390 :are supported",
    ":irc.test 376 srebot :End of MOTD",
    ":srebot!~srebot@127.0.0.1 JOIN #sre * :srebot",
    ":irc.test 353 srebot = #sre :@srebot alice",
    ":irc.test 366 srebot #sre :End of NAMES",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_line_parses_without_panic(raw in any::<String>()) {
        if let Some(l) = line::parse(&raw) {
            prop_assert!(!l.command.is_empty());
        }
    }

    #[test]
    fn the_session_survives_any_sequence_of_lines(
        lines in prop::collection::vec(prop_oneof![3 => server_line(), 1 => any::<String>()], 0..24),
        registered in any::<bool>(),
    ) {
        let mut s = session();
        let t0 = Instant::now();
        let wall = chrono::Utc::now();
        let mut out = s.start();
        if registered {
            for raw in REGISTRATION {
                let l = line::parse(raw).expect("a valid line");
                out.extend(s.on_line(&l, t0, wall));
            }
        }
        for (i, raw) in lines.iter().enumerate() {
            let now = t0 + Duration::from_millis(100 * i as u64);
            if let Some(l) = line::parse(raw) {
                out.extend(s.on_line(&l, now, wall));
            }
            out.extend(s.on_tick(now));
        }
        out.extend(s.on_tick(t0 + Duration::from_secs(3600)));
        for a in &out {
            if let Action::Send(l) | Action::SendUrgent(l) = a {
                // Whatever we were told, what goes on the wire is one line that fits. (The
                // session may echo a server's garbage, e.g. `WHO \0` after a forced JOIN of a
                // channel named NUL; the driver's last guard makes it a single line.)
                let wire = wire_safe(l);
                prop_assert!(!wire.contains(['\r', '\n', '\0']), "{wire:?}");
                prop_assert!(l.len() + 2 <= MAX_LINE, "{} bytes: {l:?}", l.len());
            }
        }
    }
}
