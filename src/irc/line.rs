//! Parsing one incoming IRC line (IRCv3 tags, source, command, parameters).
//!
//! Outgoing lines are built with the `irc` crate's `Command` type; incoming ones are parsed here
//! into a flat (command, params) shape, because the session matches on numerics the crate's typed
//! `Command` does not know (354, 900–908) and on every form of `CAP`, and must never fail on a
//! line a server sends.

/// Where a line came from: a user (`nick!user@host`) or a server (`nick` holds its name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    pub nick: String,
    pub user: String,
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line {
    pub tags: Vec<(String, String)>,
    pub source: Option<Source>,
    pub command: String,
    pub params: Vec<String>,
}

impl Line {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn nick(&self) -> &str {
        self.source.as_ref().map(|s| s.nick.as_str()).unwrap_or("")
    }

    /// The numeric reply code, if this is one.
    pub fn numeric(&self) -> Option<u16> {
        if self.command.len() == 3 {
            self.command.parse().ok()
        } else {
            None
        }
    }
}

/// Parses a line without its CR LF. `None` for an empty or command-less line.
pub fn parse(raw: &str) -> Option<Line> {
    let mut rest = raw.trim_end_matches(['\r', '\n']);
    let mut line = Line::default();
    if let Some(after) = rest.strip_prefix('@') {
        let (tags, r) = after.split_once(' ')?;
        rest = r;
        for tag in tags.split(';').filter(|t| !t.is_empty()) {
            let (k, v) = tag.split_once('=').unwrap_or((tag, ""));
            line.tags.push((k.to_string(), unescape_tag(v)));
        }
    }
    rest = rest.trim_start_matches(' ');
    if let Some(after) = rest.strip_prefix(':') {
        let (src, r) = after.split_once(' ')?;
        rest = r;
        let (nick, userhost) = src.split_once('!').unwrap_or((src, ""));
        let (user, host) = userhost.split_once('@').unwrap_or((userhost, ""));
        let (nick, host) = if userhost.is_empty() {
            match nick.split_once('@') {
                Some((n, h)) => (n, h),
                None => (nick, host),
            }
        } else {
            (nick, host)
        };
        line.source = Some(Source { nick: nick.into(), user: user.into(), host: host.into() });
    }
    rest = rest.trim_start_matches(' ');
    let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if command.is_empty() {
        return None;
    }
    line.command = command.to_ascii_uppercase();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(trailing) = rest.strip_prefix(':') {
            line.params.push(trailing.to_string());
            break;
        }
        let (p, r) = rest.split_once(' ').unwrap_or((rest, ""));
        line.params.push(p.to_string());
        rest = r;
    }
    Some(line)
}

fn unescape_tag(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_tagged_privmsg() {
        let l = parse("@account=alice;time=2026-11-22T10:00:00.000Z;x=a\\sb\\:c :alice!al@sre/alice PRIVMSG #sre :!log restarted db151\r\n").unwrap();
        assert_eq!(l.tag("account"), Some("alice"));
        assert_eq!(l.tag("x"), Some("a b;c"));
        assert_eq!(l.nick(), "alice");
        assert_eq!(l.source.as_ref().unwrap().host, "sre/alice");
        assert_eq!(l.command, "PRIVMSG");
        assert_eq!(l.params, vec!["#sre", "!log restarted db151"]);
    }

    #[test]
    fn parses_numerics_servers_and_empty_trailing() {
        let l = parse(":irc.example 001 srebot :Welcome").unwrap();
        assert_eq!(l.numeric(), Some(1));
        assert_eq!(l.nick(), "irc.example");
        let l = parse("PING :").unwrap();
        assert_eq!(l.params, vec![""]);
        let l = parse("CAP * LS * :sasl=PLAIN,EXTERNAL multi-prefix").unwrap();
        assert_eq!(l.params, vec!["*", "LS", "*", "sasl=PLAIN,EXTERNAL multi-prefix"]);
    }

    #[test]
    fn never_fails_on_garbage() {
        for raw in ["", " ", "@", "@a=b", ":", ":src", "\u{0}\u{1}", "@;; :x!y@z  CMD  a   :b c"] {
            let _ = parse(raw);
        }
        assert_eq!(parse("@;; :x!y@z  CMD  a   :b c").unwrap().params, vec!["a", "b c"]);
    }
}
