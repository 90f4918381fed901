//! Commands built from fuzzer bytes: random bytes almost never spell `!incident handoff comms
//! bob #2`, so the bytes choose among the command words and their subcommands (from
//! `srebot::cmd::grammar`, with near misses) and
//! arguments of the shapes the parsers look at, with raw text mixed in. The property tests'
//! generator (`command_text` in tests/props.rs) does the same with proptest.

use libfuzzer_sys::arbitrary::{Arbitrary, Result, Unstructured};

/// Besides our command words (`srebot::cmd::grammar`, in any case): the default alias, and
/// near misses that are not ours.
pub const OTHER_WORDS: &[&str] =
    &["!inc", "!INC", "!logs", "!sa", "!incidents", "!", "!!log", "log", "！log", "\x02!log"];

/// Besides the sub-command words the parsers know: words in the wrong place, and near misses.
pub const OTHER_SUBCOMMANDS: &[&str] =
    &["#1", "42", "T123456", "", "lst", "UNDO", "Claim", "frobnicate", "ｏｐｅｎ", "open\u{301}"];

/// Arguments of interesting shapes: ids, dates, times, spans, roles, states, nicks, URLs,
/// Unicode that is hard to cut or to display, formatting and other control codes.
pub const ARGUMENTS: &[&str] = &[
    "#1",
    "#2",
    "1",
    "2",
    "#0",
    "0",
    "#-1",
    "-5",
    "#",
    "#99999999999999999999999",
    "9223372036854775807",
    "2026-11-23",
    "2026-11-30",
    "2026-02-30",
    "2026-13-01",
    "0000-01-01",
    "9999-12-31",
    "10:00",
    "23:59",
    "24:00",
    "25:61",
    "2026-11-22T09:15:00Z",
    "2026-11-22T09:15",
    "2999-01-01T00:00:00Z",
    "xx:yy",
    "90m",
    "2h",
    "3d",
    "1w",
    "367d",
    "99999999999999w",
    "off",
    "30",
    "1441",
    "50",
    "51",
    "comms",
    "diagnosis",
    "diag",
    "primary",
    "ops",
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "closed",
    "user-facing",
    "data-loss",
    "none",
    "alice",
    "bob",
    "carol",
    "root",
    "ghost",
    "[x]",
    "alice:",
    "u@h",
    "https://phabricator.example/T1",
    "http://",
    "ftp://x",
    "Alice/Bob",
    "| SRE-Infra",
    "SRE-Infra",
    "|",
    "/",
    "*",
    "\"",
    "word*",
    "AND",
    "NEAR(",
    "password=hunter2",
    "e\u{301}\u{302}\u{303}",
    "\u{202e}desrever\u{202c}",
    "שלום",
    "مرحبا",
    "\u{200b}",
    "👩\u{200d}🔧",
    "İ",
    "\x0304,01red\x03",
    "\x02bold\x02",
    "\x1d\x1f\x16\x0f",
    "\x01ACTION\x01",
    "\0",
    "\x7f",
];

const GAPS: &[&str] = &[" ", " ", " ", "  ", "\t", " \t ", "\u{a0}", "\u{3000}", ""];

/// A message: lead, command word, subcommand, up to six arguments.
pub fn command(u: &mut Unstructured) -> Result<String> {
    let mut text = String::from(*u.choose(&["", "", " ", "\t"])?);
    let (word, family_words) = u.choose(srebot::testing::cmd::grammar::SUBCOMMANDS)?;
    if u.ratio(3, 4)? {
        let word = if u.arbitrary()? { word.to_ascii_uppercase() } else { word.to_string() };
        text.push('!');
        text.push_str(&word);
    } else {
        text.push_str(u.choose(OTHER_WORDS)?);
    }
    if u.ratio(9, 10)? {
        text.push_str(u.choose(GAPS)?);
        match family_words.len() {
            0 => text.push_str(u.choose(OTHER_SUBCOMMANDS)?),
            _ if u.ratio(1, 5)? => text.push_str(u.choose(OTHER_SUBCOMMANDS)?),
            _ => text.push_str(u.choose(family_words)?),
        }
    }
    for _ in 0..u.int_in_range(0..=6)? {
        text.push_str(u.choose(GAPS)?);
        text.push_str(&argument(u)?);
    }
    Ok(text)
}

fn argument(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0..=5 => u.choose(ARGUMENTS)?.to_string(),
        6 => format!("#{}", i64::arbitrary(u)?),
        7 => {
            // A long run of one character (no server cuts it here).
            let c = *u.choose(&['x', 'é', '9', '\u{301}', ' ', '😀'])?;
            let bytes = *u.choose(&[64usize, 401, 512, 10_000])?;
            std::iter::repeat_n(c, bytes / c.len_utf8()).collect()
        }
        _ => <&str>::arbitrary(u)?.to_string(),
    })
}

/// The text to try: a command built from the bytes when the first byte is odd, else the bytes
/// themselves (lossily decoded, as the connection layer does).
pub fn text(data: &[u8]) -> String {
    match data.split_first() {
        Some((first, rest)) if first & 1 == 1 => command(&mut Unstructured::new(rest)).unwrap_or_default(),
        _ => String::from_utf8_lossy(data).into_owned(),
    }
}
