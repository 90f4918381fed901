//! Fitting text into IRC's 512-byte lines.
//!
//! The server relays our `PRIVMSG` with our full `:nick!user@host` prefix in front, and the
//! 512-byte limit (CR LF included) applies to that relayed line. So the room for text is what
//! is left after the prefix, the command, the target and the separators.

/// The longest line on the wire, CR LF included (RFC 1459 §2.3).
pub const MAX_LINE: usize = 512;

/// Bytes left for the text of `COMMAND target :text` once relayed with `prefix` (`nick!user@host`).
pub fn text_budget(prefix: &str, command: &str, target: &str) -> usize {
    // ":" prefix " " command " " target " :" text "\r\n"
    let overhead = 1 + prefix.len() + 1 + command.len() + 1 + target.len() + 2 + 2;
    MAX_LINE.saturating_sub(overhead).max(1)
}

/// The prefix length to assume before the server has shown us our own: the nick, a `~` plus a
/// username of up to 10 bytes (USERLEN on most servers), and a 63-byte host (the DNS limit).
pub fn assumed_prefix(nick: &str, username: &str) -> String {
    let user: String = username.chars().take(10).collect();
    format!("{nick}!~{user}@{}", "h".repeat(63))
}

/// Splits `text` into pieces of at most `budget` bytes, never inside a UTF-8 character, and at
/// a space when there is one in the second half of the piece (so words stay whole where they can).
pub fn split_text(text: &str, budget: usize) -> Vec<String> {
    let budget = budget.max(4); // room for any one UTF-8 character
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > budget {
        let mut end = budget;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let cut = match rest[..end].rfind(' ') {
            Some(space) if space >= end / 2 => space,
            _ => end,
        };
        out.push(rest[..cut].to_string());
        rest = rest[cut..].strip_prefix(' ').unwrap_or(&rest[cut..]);
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_the_relayed_prefix() {
        let prefix = "srebot!~srebot@127.0.0.1";
        let budget = text_budget(prefix, "PRIVMSG", "#sre");
        let line = format!(":{prefix} PRIVMSG #sre :{}\r\n", "x".repeat(budget));
        assert_eq!(line.len(), MAX_LINE);
    }

    #[test]
    fn assumed_prefix_is_worst_case() {
        assert_eq!(assumed_prefix("bot", "averyveryverylongname").len(), 3 + 2 + 10 + 1 + 63);
    }

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_text("hello", 100), vec!["hello"]);
        assert_eq!(split_text("", 100), vec![""]);
    }

    #[test]
    fn splits_at_spaces_and_keeps_every_byte() {
        let text = "alpha beta gamma delta epsilon";
        let parts = split_text(text, 12);
        assert!(parts.iter().all(|p| p.len() <= 12), "{parts:?}");
        assert_eq!(parts.join(" "), text);
    }

    #[test]
    fn never_breaks_utf8() {
        let text = "€".repeat(300) + &"😀".repeat(200);
        for budget in 4..40 {
            let parts = split_text(&text, budget);
            assert!(parts.iter().all(|p| p.len() <= budget));
            assert_eq!(parts.concat(), text);
        }
    }
}
