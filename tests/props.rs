//! Property tests for the parts that take untrusted input: the command parser (on random text
//! and on commands built from its grammar), the topic editor, the line splitter and renderer,
//! the incoming-message path (`irc::line::parse` and `Session::on_line`), and the bot's message
//! handler (`bot::command_in` and `bot::answer`, against a temporary store). A CI-sized run (a
//! few seconds); `scripts/fuzz` runs the cargo-fuzz targets in `fuzz/` for longer, and
//! `PROPTEST_CASES=20000 cargo test --release --test props` runs these longer.

use proptest::prelude::*;
use srebot::testing::clinic::topic::{self, Duty};
use srebot::testing::cmd::{self, Command};
use srebot::testing::config::CommandsConfig;
use srebot::testing::irc::driver::wire_safe;
use srebot::testing::irc::session::{Action, Session};
use srebot::testing::irc::split::{assumed_prefix, split_text, text_budget, MAX_LINE};
use srebot::testing::irc::{casefold_eq, line, roster::Roster, Incoming, Outgoing};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "it/support/handler.rs"]
mod handler;

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

    #[test]
    fn structured_commands_parse_to_a_command_or_a_short_error(text in command_text()) {
        let c = CommandsConfig::default();
        let parsed = cmd::parse(&c, &text);
        // Total: every message that starts with one of our command words is a command (with a
        // usage error at worst); anything else is left to the other bots in the channel.
        let word = text.trim_start().strip_prefix('!').map(|r| r.split(char::is_whitespace).next().unwrap_or(""));
        let ours = word.is_some_and(|w| srebot::testing::command_words().contains(&w.to_ascii_lowercase()));
        prop_assert_eq!(parsed.is_some(), ours, "{} -> {:?}", shown(&text), parsed);
        match parsed {
            None => {}
            Some(Command::Log { message }) => prop_assert_eq!(message.trim(), message.as_str()),
            Some(Command::Help { topic: Some(t) }) => {
                // One word, prefix dropped (`!help !!` asks for "", which has no help).
                prop_assert!(!t.contains(char::is_whitespace) && t == t.to_ascii_lowercase(), "{t:?}");
            }
            Some(Command::Help { topic: None }) => {}
            Some(
                Command::Incident(Err(e))
                | Command::Clinic(Err(e))
                | Command::Sal(Err(e))
                | Command::Access(Err(e))
                | Command::Alerts(Err(e))
                | Command::Silence(Err(e)),
            ) => {
                prop_assert!(is_short_line(&e), "{} bytes for {}: {}", e.len(), shown(&text), shown(&e));
            }
            Some(Command::Incident(Ok(sub))) => incident_sub_is_sound(&sub)?,
            Some(Command::Sal(Ok(sub))) => sal_sub_is_sound(&sub)?,
            Some(Command::Clinic(Ok(sub))) => clinic_sub_is_sound(&sub)?,
            Some(Command::Access(Ok(_)) | Command::Alerts(Ok(_)) | Command::Silence(Ok(_))) => {}
        }
    }
}

/// What a user may be told in one go: non-empty, one line, and short enough to go out as one
/// IRC line (with room for the longest prefix a server relays). A NUL the user typed may come
/// back in an answer that quotes them; the renderer makes it a space (see
/// `rendered_lines_fit_512_bytes_once_relayed`), so only line breaks count here.
fn is_short_line(text: &str) -> bool {
    !text.trim().is_empty() && !text.contains(['\r', '\n']) && text.len() <= SHORT_LINE
}

/// `text` for a failure message: escaped, and cut where it is long (10,000-character arguments).
fn shown(text: &str) -> String {
    let escaped = format!("{text:?}");
    match escaped.char_indices().nth(300) {
        Some((at, _)) => format!("{}… ({} bytes)", &escaped[..at], text.len()),
        None => escaped,
    }
}

/// Bytes of reply text that fit one relayed PRIVMSG to a channel with a long name.
const SHORT_LINE: usize = 400;

fn incident_sub_is_sound(sub: &cmd::incident::Sub) -> Result<(), TestCaseError> {
    use cmd::incident::Sub;
    let id = match sub {
        Sub::Status { target, .. }
        | Sub::Close { target, .. }
        | Sub::Note { target, .. }
        | Sub::Update { target, .. }
        | Sub::At { target, .. } => match target {
            cmd::incident::Target::Only => None,
            cmd::incident::Target::Named(n) => Some(*n),
            cmd::incident::Target::Maybe { number, word } => {
                prop_assert!(word.trim_start_matches('#').parse::<i64>().ok() == Some(*number), "{word:?}");
                Some(*number)
            }
        },
        Sub::Claim { id, .. } => *id,
        Sub::Handoff { id, nick, .. } => {
            prop_assert!(!nick.is_empty() && !nick.contains(char::is_whitespace), "{nick:?}");
            *id
        }
        Sub::Impact { id, .. }
        | Sub::Show { id }
        | Sub::Report { id }
        | Sub::ReportPublish { id }
        | Sub::Snooze { id, .. } => *id,
        Sub::Reopen { id } | Sub::ReportFiled { id, .. } => Some(*id),
        Sub::Open { summary, .. } => {
            prop_assert!(!summary.trim().is_empty());
            None
        }
        Sub::List | Sub::Help => None,
    };
    if let Sub::ReportFiled { url, .. } = sub {
        prop_assert!(url.starts_with("http://") || url.starts_with("https://"), "{url:?}");
    }
    if let Sub::Snooze { minutes: Some(m), .. } = sub {
        prop_assert!((1..=1440).contains(m));
    }
    // Ids name incidents: there are none below 1 (report-filed takes its id as typed, and an
    // unknown one is answered by the store).
    if !matches!(sub, Sub::ReportFiled { .. }) {
        prop_assert!(id.is_none_or(|n| n > 0), "{sub:?}");
    }
    Ok(())
}

fn sal_sub_is_sound(sub: &cmd::sal::Sub) -> Result<(), TestCaseError> {
    use cmd::sal::Sub;
    match sub {
        Sub::Show(id) | Sub::Restore(id) => prop_assert!(*id > 0),
        Sub::Amend { id, text } => prop_assert!(*id > 0 && !text.is_empty() && text.trim() == text),
        Sub::Redact { id, reason } => prop_assert!(*id > 0 && !reason.is_empty() && reason.trim() == reason),
        Sub::Last(Some(n)) => prop_assert!((1..=cmd::sal::PRIVATE_LINES).contains(n)),
        Sub::Task(t) => prop_assert!(t.starts_with('T') && t[1..].bytes().all(|b| b.is_ascii_digit())),
        Sub::Search(words) => prop_assert!(srebot::testing::store::sal::fts_query(words).is_some()),
        Sub::Last(None) | Sub::Since(_) | Sub::Status | Sub::Help => {}
    }
    Ok(())
}

fn clinic_sub_is_sound(sub: &cmd::clinic::Sub) -> Result<(), TestCaseError> {
    use cmd::clinic::Sub;
    match sub {
        Sub::Schedule { weeks } => prop_assert!((1..=52).contains(weeks)),
        Sub::Who { name } | Sub::Override { clinician: name, .. } => prop_assert!(!name.trim().is_empty()),
        Sub::Nick { nick, name } => {
            prop_assert!(nick.as_ref().is_none_or(|n| !n.is_empty()) && !name.trim().is_empty())
        }
        Sub::Set { people, .. } => prop_assert!(!people.trim().is_empty()),
        Sub::Now
        | Sub::Next
        | Sub::NoDuty { .. }
        | Sub::Unset { .. }
        | Sub::Swap { .. }
        | Sub::Help
        | Sub::Pages { .. } => {}
    }
    Ok(())
}

// Structured commands: random text almost never spells `!incident handoff comms bob #2`, so
// these are built from the commands' grammar: a command word, a subcommand, and for each of its
// arguments a value of the right kind (an id, a date, a role…) or, now and then, of another kind.
// Near misses (words and subcommands that are not ours, misplaced arguments) come in between.

/// What an argument is meant to be.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Id,
    Date,
    Time,
    Span,
    Minutes,
    Count,
    Role,
    State,
    Impact,
    Nick,
    Url,
    Duty,
    Text,
}

/// A subcommand and the arguments it takes.
type Form = (&'static str, &'static [Slot]);

/// Each family's subcommands (every spelling the parsers know) and the arguments they take.
const GRAMMAR: &[(&str, &[Form])] = {
    use Slot::*;
    &[
        ("log", &[("", &[Text]), ("undo", &[]), ("undo", &[Id])]),
        (
            "help",
            &[
                ("", &[]),
                ("log", &[]),
                ("sal", &[]),
                ("incident", &[]),
                ("inc", &[]),
                ("clinic", &[]),
                ("!log", &[]),
                ("!!", &[]),
            ],
        ),
        (
            "sal",
            &[
                ("", &[]),
                ("last", &[Count]),
                ("latest", &[Count]),
                ("tail", &[]),
                ("search", &[Text]),
                ("find", &[Text]),
                ("grep", &[Text]),
                ("since", &[Span]),
                ("since", &[Date]),
                ("amend", &[Id, Text]),
                ("edit", &[Id, Text]),
                ("fix", &[Id, Text]),
                ("redact", &[Id, Text]),
                ("hide", &[Id, Text]),
                ("restore", &[Id]),
                ("unhide", &[Id]),
                ("status", &[]),
                ("help", &[]),
                ("#1", &[]),
                ("T123456", &[]),
                ("42", &[]),
            ],
        ),
        (
            "incident",
            &[
                ("", &[]),
                ("list", &[]),
                ("ls", &[]),
                ("help", &[]),
                ("open", &[Text]),
                ("new", &[Text]),
                ("claim", &[Role, Id]),
                ("take", &[Role]),
                ("handoff", &[Role, Nick, Id]),
                ("hand", &[Role, Nick]),
                ("give", &[Role, Nick]),
                ("status", &[State, Text, Id]),
                ("state", &[State]),
                ("close", &[Text, Id]),
                ("reopen", &[Id]),
                ("note", &[Text, Id]),
                ("update", &[Text, Id]),
                ("impact", &[Impact, Id]),
                ("at", &[Time, Text, Id]),
                ("at", &[Date, Time, Text]),
                ("show", &[Id]),
                ("info", &[]),
                ("report", &[Id]),
                ("report-filed", &[Id, Url]),
                ("filed", &[Id, Url]),
                ("snooze", &[Minutes, Id]),
            ],
        ),
        (
            "clinic",
            &[
                ("", &[]),
                ("now", &[]),
                ("next", &[]),
                ("help", &[]),
                ("schedule", &[Count]),
                ("who", &[Nick]),
                ("set", &[Date, Duty]),
                ("none", &[Date]),
                ("unset", &[Date]),
                ("reset", &[Date]),
                ("pages", &[Date]),
                ("swap", &[Date, Date]),
                ("override", &[Date, Nick]),
                ("nick", &[Nick, Text]),
            ],
        ),
    ]
};

/// The generator knows every sub-command word of the families it builds: the words are those of
/// the one table, `srebot::cmd::grammar`; `GRAMMAR` adds what their arguments are.
#[test]
fn the_grammar_has_a_form_for_every_subcommand_word() {
    for (family, forms) in GRAMMAR {
        let (_, words) = cmd::grammar::SUBCOMMANDS.iter().find(|(w, _)| w == family).expect("a command word");
        for word in *words {
            assert!(forms.iter().any(|(sub, _)| sub == word), "!{family} {word} has no form in GRAMMAR");
        }
    }
}

/// How each family may be called: ours in several cases, the alias, and near misses that are
/// not ours (and so must not be answered).
fn spellings(family: &str) -> Vec<&'static str> {
    match family {
        "log" => {
            vec!["!log", "!LOG", "!Log", "!logs", "!lo", "!!log", "log", "！log", "!lοg", "\x02!log", "\u{200b}!log"]
        }
        "help" => vec!["!help", "!HELP", "!hel", "!helpme"],
        "sal" => vec!["!sal", "!SAL", "!Sal", "!sa", "!sals"],
        "incident" => vec!["!incident", "!inc", "!INC", "!Incident", "!incidents", "!in"],
        _ => vec!["!clinic", "!cLiNiC", "!clinics", "!clin"],
    }
}

/// Values of one kind, then and again of any other.
fn slot(kind: Slot) -> BoxedStrategy<String> {
    let typed = match kind {
        Slot::Id => ids(),
        Slot::Date => dates(),
        Slot::Time => times(),
        Slot::Text => words(),
        Slot::Span => {
            pick(&["90m", "2h", "3d", "1w", "0m", "366d", "367d", "99999999999999w", "-1h", "5x", "h", "2026-11-01"])
        }
        Slot::Minutes => pick(&["1", "30", "1440", "1441", "0", "-1", "off", "OFF", "99999999999", "5m"]),
        Slot::Count => pick(&["1", "5", "10", "11", "50", "51", "52", "53", "0", "-1", "99999999999999999999", "all"]),
        Slot::Role => pick(&[
            "comms",
            "diagnosis",
            "diag",
            "primary",
            "comm",
            "communicator",
            "communication",
            "COMMS",
            "ops",
            "",
        ]),
        Slot::State => {
            pick(&["investigating", "identified", "monitoring", "resolved", "closed", "open", "RESOLVED", "fixed"])
        }
        Slot::Impact => {
            pick(&["user-facing", "userfacing", "users", "user", "data-loss", "dataloss", "data", "none", "some"])
        }
        Slot::Nick => pick(&[
            "alice",
            "Alice",
            "bob",
            "carol",
            "root",
            "mallory",
            "logbridge",
            "alice_",
            "ghost",
            "[x]",
            "nick`|^",
            "alice:",
            "bob,",
            "u@h",
        ]),
        Slot::Url => pick(&[
            "https://phabricator.example/T1",
            "http://wiki.example/Incident_1",
            "http://",
            "https://",
            "ftp://x",
            "www.example.org",
        ]),
        Slot::Duty => pick(&[
            "Alice",
            "Alice/Bob",
            "Alice/Bob | SRE-Infra",
            "Alice SRE-Infra",
            "/Bob",
            "|Team",
            "Alice | ",
            "A/B/C",
            "|",
            "/",
        ]),
    };
    prop_oneof![6 => typed, 1 => argument()].boxed()
}

fn pick(values: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(values.to_vec()).prop_map(String::from).boxed()
}

/// Incident and entry ids: small ones that exist, zero, negative, past `i64`, not digits.
fn ids() -> BoxedStrategy<String> {
    let odd = pick(&[
        "#1",
        "#2",
        "#3",
        "1",
        "2",
        "3",
        "#0",
        "0",
        "#-1",
        "-5",
        "#",
        "##1",
        "#1#",
        "#99999999999999999999999",
        "9223372036854775807",
        "#9223372036854775808",
    ]);
    prop_oneof![
        3 => odd,
        1 => any::<i64>().prop_map(|n| format!("#{n}")),
        1 => long_run().prop_map(|s| format!("#{s}")),
    ]
    .boxed()
}

/// Mondays near now (clinic weeks start then), other days, impossible dates, other formats.
fn dates() -> BoxedStrategy<String> {
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("a Monday");
    let odd = pick(&[
        "2026-11-24",
        "2026-02-30",
        "2026-13-01",
        "2026-00-10",
        "0000-01-01",
        "9999-12-31",
        "2026-2-3",
        "26-11-23",
        "2026-11-23T00:00",
    ]);
    prop_oneof![
        3 => (-4i64..8).prop_map(move |w| (monday + chrono::Duration::weeks(w)).to_string()),
        2 => odd,
        1 => (0u32..10_000, 0u32..14, 0u32..33).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
    ]
    .boxed()
}

/// `HH:MM` in and out of range, ISO 8601 with and without zone, far past and future, garbage.
fn times() -> BoxedStrategy<String> {
    let odd = pick(&[
        "10:00",
        "00:00",
        "23:59",
        "24:00",
        "9:5",
        "10:00:00",
        "2026-11-22T09:15:00Z",
        "2026-11-22T09:15",
        "2026-11-22T09:15:00+14:00",
        "2999-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "T10:00",
        "xx:yy",
    ]);
    prop_oneof![
        2 => (0u32..30, 0u32..70).prop_map(|(h, m)| format!("{h:02}:{m:02}")),
        2 => odd,
    ]
    .boxed()
}

/// Free text: a few arguments of any shape, or random IRC text.
fn words() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::collection::vec(argument(), 1..4).prop_map(|w| w.join(" ")),
        1 => irc_text(),
    ]
    .boxed()
}

/// One argument of any shape: ids, dates, times, words of the vocabulary, Unicode that is hard
/// to cut or to display, formatting codes, and the very long.
fn argument() -> BoxedStrategy<String> {
    let fixed = prop::sample::select(vec![
        "#1",
        "1",
        "#-1",
        "#99999999999999999999999",
        "2026-11-23",
        "2026-02-30",
        "10:00",
        "25:61",
        "2026-11-22T09:15:00Z",
        "90m",
        "off",
        "comms",
        "resolved",
        "user-facing",
        "alice",
        "bob",
        "[x]",
        "u@h",
        "https://phabricator.example/T1",
        "T123456",
        "SRE-Infra",
        "|",
        "/",
        "*",
        "\"",
        "'",
        "\\",
        "word*",
        "AND",
        "NEAR(",
        "password=hunter2",
        "-----BEGIN PRIVATE KEY-----",
        "10.0.0.1",
        // Unicode
        "e\u{301}\u{302}\u{303}\u{304}",
        "\u{202e}desrever\u{202c}",
        "שלום",
        "مرحبا",
        "\u{200b}\u{feff}",
        "👩\u{200d}🔧",
        "𝕏",
        "ǅ",
        "İ",
        "ß",
        "\u{fffd}",
        // formatting codes and other controls
        "\x0304,01red\x03",
        "\x02bold\x02",
        "\x1d\x1f\x16\x0f",
        "\x03",
        "\x0399,99",
        "\x01ACTION\x01",
        "\0",
        "\x7f",
        "\x1b[31m",
    ]);
    prop_oneof![
        8 => fixed.prop_map(String::from),
        2 => "[a-z0-9#:./-]{1,12}",
        1 => long_run(),
        1 => irc_text(),
    ]
    .boxed()
}

/// A run of one character, 64 to 10,000 bytes: letters, digits, spaces, combining marks, emoji.
fn long_run() -> impl Strategy<Value = String> {
    let n = prop::sample::select(vec![10_000usize, 512, 401, 64]);
    let c = prop::sample::select(vec!['x', 'é', '9', '\u{301}', ' ', '😀']);
    (n, c).prop_map(|(n, c)| std::iter::repeat_n(c, n / c.len_utf8()).collect())
}

/// What goes between words: parsers split on any whitespace, Unicode included; now and then
/// nothing, which glues two words into one.
fn gap() -> impl Strategy<Value = &'static str> {
    let spaces = prop::sample::select(vec![" ", " ", " ", " ", "  ", "\t", " \t  ", "\u{a0}", "\u{3000}", "\x0b"]);
    prop_oneof![19 => spaces, 1 => Just("")]
}

/// A whole message: a command word (mostly ours), a subcommand (mostly of its family), its
/// arguments (mostly of the right kind, some missing, some extra), in any spacing.
fn command_text() -> impl Strategy<Value = String> {
    let forms: Vec<(&str, &str, &[Slot])> = GRAMMAR
        .iter()
        .flat_map(|(family, subs)| subs.iter().map(move |(sub, slots)| (*family, *sub, *slots)))
        .collect();
    let near = prop::sample::select(vec![
        "lst",
        "statu",
        "report-file",
        "UNDO",
        "Claim",
        "OPEN",
        "amend#1",
        "t42",
        "T0123",
        "frobnicate",
        "-",
        "--help",
        "ｏｐｅｎ",
        "open\u{301}",
        "open\0",
    ]);
    prop::sample::select(forms).prop_flat_map(move |(family, sub, slots)| {
        let spelling = prop_oneof![5 => Just(spellings(family)[0]), 2 => prop::sample::select(spellings(family))];
        let sub = prop_oneof![
            8 => Just(sub.to_string()),
            1 => near.clone().prop_map(String::from),
            1 => argument(),
        ];
        let args: Vec<_> = slots.iter().map(|k| prop::option::weighted(0.85, (gap(), slot(*k)))).collect();
        let extra = prop::collection::vec((gap(), argument()), 0..=1);
        let lead = prop::sample::select(vec!["", "", "", " ", "   ", "\t", "\u{a0}"]);
        let tail = prop::sample::select(vec!["", "", " ", "\t"]);
        (lead, spelling, gap(), sub, args, extra, tail).prop_map(|(lead, word, g, sub, args, extra, tail)| {
            let mut text = format!("{lead}{word}");
            if !sub.is_empty() {
                text.push_str(g);
                text.push_str(&sub);
            }
            for (g, a) in args.into_iter().flatten().chain(extra) {
                text.push_str(g);
                text.push_str(&a);
            }
            text.push_str(tail);
            text
        })
    })
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
    Session::new(Arc::new(srebot::testing::session_settings()), Arc::new(Mutex::new(Roster::default())), Instant::now())
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
            for raw in srebot::testing::REGISTRATION {
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

// ---------------------------------------------------------------------------------------------
// The bot's message handler

/// A message as the connection layer hands it over: in one of our channels (any case), in a
/// channel we were forced into, or private; from a listed, an unlisted, an admin, a relay or an
/// unidentified sender; with a server time that may be far off; and text that is mostly a
/// structured command. Never a line break: the connection layer splits lines there.
fn incoming() -> impl Strategy<Value = Incoming> {
    let nick =
        prop::sample::select(handler::ACCOUNTS.iter().map(|(n, _)| *n).chain(["Alice", "nobody"]).collect::<Vec<_>>());
    let channel =
        prop::sample::select(vec![Some("#sre"), Some("#SRE"), Some("#sre-security"), Some("#elsewhere"), None]);
    let text = prop_oneof![
        8 => command_text(),
        1 => irc_text(),
        1 => irc_text().prop_map(|t| format!("!{t}")),
    ];
    let now = chrono::Utc::now();
    let far = prop::sample::select(vec![
        "0000-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "2999-12-31T23:59:59Z",
        "9999-12-31T23:59:59Z",
    ]);
    let time = prop_oneof![
        6 => Just(now),
        2 => (0i64..5_000).prop_map(move |m| now - chrono::Duration::minutes(m)),
        1 => far.prop_map(|t| t.parse().expect("a time")),
    ];
    (nick, channel, text, time)
        .prop_map(|(nick, channel, text, time)| handler::message(nick, channel, &text.replace('\n', " "), time))
}

/// A store with something in it for the commands to find: entries, an open incident in each
/// channel, a clinic rotation.
fn seeded(linked: bool) -> handler::Handler {
    let h = handler::Handler::new(linked);
    for (nick, channel, text) in [
        ("alice", handler::PUBLIC, "!log restarted db1 for T123456"),
        ("alice", handler::SECURITY, "!log rotated the leaked key"),
        ("carol", handler::PUBLIC, "!log depooled 10.0.0.1"),
        ("alice", handler::PUBLIC, "!incident open the API is down"),
        ("alice", handler::SECURITY, "!incident open key leak"),
        ("root", handler::PUBLIC, "!clinic set 2026-11-23 Alice/Bob | SRE-Infra"),
    ] {
        let replies = h.say(nick, Some(channel), text);
        assert!(!replies.is_empty(), "{text}: no answer");
    }
    h
}

/// Rows the store has inserted, changed or deleted so far.
const CHANGES: &str = "SELECT total_changes()";
const ENTRIES: &str = "SELECT count(*) FROM sal_entry";

#[test]
fn the_message_handler_answers_briefly_and_stores_only_what_it_may() {
    let handlers = [seeded(false), seeded(true)];
    let s = session();
    let prefix = assumed_prefix(s.nick(), "srebot");
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let input = (any::<bool>(), prop::collection::vec(incoming(), 1..4));
    let outcome = runner.run(&input, |(linked, messages)| {
        let h = &handlers[usize::from(linked)];
        for msg in &messages {
            let before = h.number(CHANGES);
            let entries = h.number(ENTRIES);
            let command = srebot::testing::bot::command_in(&h.config, msg);
            let replies = h.send(msg);
            let what = format!("{} from {} in {:?}", shown(&msg.text), msg.sender.nick, msg.channel);
            if msg.channel.as_deref() == Some("#elsewhere") {
                prop_assert!(replies.is_empty(), "answered in a channel not ours: {what}");
            }
            let (mut here, mut privately) = (0, 0);
            for reply in &replies {
                let (target, text) = handler::parts(reply);
                let text = &*text;
                // To where it was asked, or privately to the asker; never somewhere else.
                if msg.channel.as_deref().is_some_and(|c| casefold_eq(c, target)) {
                    here += 1;
                } else {
                    prop_assert!(casefold_eq(target, &msg.sender.nick), "{what} -> {reply:?}");
                    privately += 1;
                }
                prop_assert!(!text.trim().is_empty() && !text.contains('\n'), "{what} -> {reply:?}");
                // The store is healthy: bad input gets a usage error, never a database error.
                prop_assert!(!text.contains("database"), "{what} -> {reply:?}");
                let command_word = if matches!(reply, Outgoing::Notice { .. }) { "NOTICE" } else { "PRIVMSG" };
                let lines = s.render(command_word, target, text);
                // Replies are one or two short lines; what goes on the wire is a single line that
                // fits once the server puts our prefix in front.
                prop_assert!(lines.len() <= 2, "{} lines for {}: {}", lines.len(), what, shown(text));
                for l in &lines {
                    prop_assert!(!l.contains(['\r', '\n', '\0']), "{l:?}");
                    prop_assert!(1 + prefix.len() + 1 + l.len() + 2 <= MAX_LINE, "{} bytes: {l:?}", l.len());
                }
            }
            prop_assert!(here <= cmd::sal::CHANNEL_LINES + 2, "{here} lines in the channel for {what}");
            prop_assert!(privately <= cmd::sal::PRIVATE_LINES + 2, "{privately} private lines for {what}");
            if command.is_some() {
                prop_assert!(!replies.is_empty(), "silence for {what}");
            }
            let changed = h.number(CHANGES) != before;
            if msg.sender.account.is_none() {
                prop_assert!(!changed, "stored something for an unidentified sender: {what} -> {replies:?}");
            }
            if let Some(Command::Log { message }) = &command {
                let stored = h.number(ENTRIES) - entries;
                let acked = matches!(replies.as_slice(), [Outgoing::Ack { .. }]);
                if srebot::testing::cmd::log::is_undo(message) {
                    prop_assert_eq!(stored, 0, "{}", what);
                } else if acked {
                    prop_assert_eq!(stored, 1, "an ack, one entry: {}", what);
                } else {
                    prop_assert!(!changed, "a refused !log stored something: {what} -> {replies:?}");
                }
            }
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
