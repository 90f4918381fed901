//! Pure text helpers shared by commands: cleaning what users typed and finding task references.

/// Removes mIRC formatting (bold, colours, italics, …) and other control characters,
/// so that stored and published text is plain. Tabs become spaces.
pub fn strip_formatting(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // \x03 colour: up to two digits, optionally a comma and up to two more.
            '\x03' => {
                if take_digits(&mut chars, 2) > 0 && chars.peek() == Some(&',') {
                    let mut ahead = chars.clone();
                    ahead.next();
                    if ahead.peek().is_some_and(|d| d.is_ascii_digit()) {
                        chars.next();
                        take_digits(&mut chars, 2);
                    }
                }
            }
            // \x04 hex colour: six hex digits, optionally a comma and six more.
            '\x04' => {
                if take_hex(&mut chars, 6) == 6 && chars.peek() == Some(&',') {
                    let mut ahead = chars.clone();
                    ahead.next();
                    if ahead.peek().is_some_and(|d| d.is_ascii_hexdigit()) {
                        chars.next();
                        take_hex(&mut chars, 6);
                    }
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn take_digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, max: usize) -> usize {
    let mut n = 0;
    while n < max && chars.peek().is_some_and(|c| c.is_ascii_digit()) {
        chars.next();
        n += 1;
    }
    n
}

fn take_hex(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, max: usize) -> usize {
    let mut n = 0;
    while n < max && chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
        chars.next();
        n += 1;
    }
    n
}

/// Whether `s` shows nothing: only whitespace and characters that take no room of their own
/// (zero-width spaces and joiners, direction marks, the word joiner, the byte-order mark, soft
/// hyphens, variation selectors, tag characters, Hangul fillers). Formatting codes are for
/// [`strip_formatting`]; this is for what is left after it.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{00AD}'
                    | '\u{034F}'
                    | '\u{061C}'
                    | '\u{115F}'
                    | '\u{1160}'
                    | '\u{17B4}'
                    | '\u{17B5}'
                    | '\u{180B}'..='\u{180F}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{206F}'
                    | '\u{3164}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
                    | '\u{FFF9}'..='\u{FFFB}'
                    | '\u{E0000}'..='\u{E007F}'
                    | '\u{E0100}'..='\u{E01EF}'
            )
    })
}

/// Makes text safe to put on an IRC line: CR, LF and NUL would end or corrupt the line.
pub fn one_line(input: &str) -> String {
    input.chars().map(|c| if matches!(c, '\r' | '\n' | '\0') { ' ' } else { c }).collect()
}

/// Phabricator-style task references (`T123456`) that stand as whole words.
///
/// Links are skipped (a task inside a link is the link's business): words with `://`, starting
/// with `www.` or shaped like `host.example.org/…`, a task right after a `/` (a path, unless it
/// continues a list such as `T1/T2`) and after a `#` glued to other text (an anchor). So is
/// anything glued to other letters or digits: commit hashes, ISO timestamps such as
/// `2022-12-16T19:00`. Returned in order of first appearance, without duplicates.
pub fn task_refs(message: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in message.split_whitespace() {
        if word.contains("://") || word.starts_with("www.") || is_host_path(word) {
            continue;
        }
        // Each piece of letters and digits, with the character before it and the piece before.
        let mut previous = "";
        let mut start = 0;
        for piece in word.split(|c: char| !c.is_alphanumeric()) {
            let before = word[..start].chars().next_back();
            let glued_anchor = before == Some('#') && start > 1;
            let in_path = before == Some('/') && !is_task(previous);
            if is_task(piece) && !glued_anchor && !in_path && !found.iter().any(|t| t == piece) {
                found.push(piece.to_string());
            }
            if !piece.is_empty() {
                previous = piece;
            }
            // Past the piece and the one delimiter character that ended it.
            start += piece.len() + word[start + piece.len()..].chars().next().map_or(0, char::len_utf8);
        }
    }
    found
}

fn is_task(piece: &str) -> bool {
    piece.len() >= 2
        && piece.starts_with('T')
        && piece[1..].bytes().all(|b| b.is_ascii_digit())
        && !piece[1..].starts_with('0')
}

/// `phab.example.org/T123`: a host name with a top-level domain, then a path.
fn is_host_path(word: &str) -> bool {
    let Some((host, _)) = word.split_once('/') else { return false };
    let host = host.trim_start_matches(|c: char| !c.is_alphanumeric());
    match host.rsplit_once('.') {
        Some((name, tld)) => !name.is_empty() && tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()),
        None => false,
    }
}

/// Cuts `s` to at most `max_bytes` bytes on a character boundary, adding `…` when it cut.
pub fn truncate_bytes(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    let ellipsis = '…';
    let budget = max_bytes.saturating_sub(ellipsis.len_utf8());
    let mut end = budget;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &s[..end], ellipsis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_mirc_codes() {
        assert_eq!(strip_formatting("\x02bold\x02 plain"), "bold plain");
        assert_eq!(strip_formatting("\x0304,12red on blue\x03 x"), "red on blue x");
        assert_eq!(strip_formatting("\x034red"), "red");
        assert_eq!(strip_formatting("\x03,5comma stays"), ",5comma stays");
        assert_eq!(strip_formatting("\x0312,x"), ",x");
        assert_eq!(strip_formatting("\x04ff0000,00ff00hex"), "hex");
        assert_eq!(strip_formatting("a\x1Di\x1Fu\x16r\x0F\x11m\x1Es"), "aiurms");
        assert_eq!(strip_formatting("tab\there"), "tab here");
        assert_eq!(strip_formatting("ünïcödé ✓"), "ünïcödé ✓");
    }

    #[test]
    fn blank_means_nothing_visible() {
        for blank in ["", "  ", "\u{200B}", "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}", " \u{00AD}\u{3164} \u{E0041}"] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for shown in ["x", "\u{200B}x", "ünï", "\u{200D}✓", "·"] {
            assert!(!is_blank(shown), "{shown:?}");
        }
    }

    #[test]
    fn one_line_removes_line_breakers() {
        assert_eq!(one_line("a\r\nb\0c"), "a  b c");
    }

    #[test]
    fn finds_whole_word_tasks_only() {
        assert_eq!(task_refs("restarted db151 for T123456"), vec!["T123456"]);
        assert_eq!(task_refs("(T1234, T99) and T1234 again"), vec!["T1234", "T99"]);
        assert_eq!(task_refs("T1/T2"), vec!["T1", "T2"]);
        assert!(task_refs("see https://phabricator.wikimedia.org/T123").is_empty());
        assert!(task_refs("at 2022-12-16T19:00 UTC").is_empty());
        assert!(task_refs("commit abcT123ff and deadT1").is_empty());
        assert!(task_refs("T lone, T0123, Tabc, t123").is_empty());
        assert_eq!(task_refs("T42."), vec!["T42"]);
    }

    #[test]
    fn tasks_inside_links_and_paths_are_not_references() {
        // Links without a scheme, paths and anchors.
        for linked in [
            "see phab.example.org/T123",
            "phabricator.wikimedia.org/T123456 is the task",
            "(phab.example.org/T123)",
            "copied to /srv/T123 and /home/x/T77",
            "wiki.example.org/wiki/Page#T123",
            "Page#T123",
            "www.example.org/T9",
        ] {
            assert!(task_refs(linked).is_empty(), "{linked:?} -> {:?}", task_refs(linked));
        }
        // Still references: lists, punctuation, a leading # on its own, hosts without a path.
        assert_eq!(task_refs("T1/T2/T3"), vec!["T1", "T2", "T3"]);
        assert_eq!(task_refs("#T123 and T124/"), vec!["T123", "T124"]);
        assert_eq!(task_refs("db1001.eqiad.wmnet T55"), vec!["T55"]);
        assert_eq!(task_refs("rolled back 1.42.0/T88"), Vec::<String>::new(), "a path after a version");
        assert_eq!(task_refs("ünï/T5 T6"), vec!["T6"]);
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate_bytes("short", 10), "short");
        let cut = truncate_bytes("ééééé", 6);
        assert!(cut.len() <= 6, "{cut}");
        assert!(cut.ends_with('…'));
    }
}
