//! `TestClient`: a raw, line-based IRC client that plays a human user in tests.
//!
//! Reading happens only while the test waits (`expect*`, `assert_silent`, `join`,
//! `quit`); PINGs that arrive meanwhile are answered at once. Every received line
//! is recorded in [`TestClient::seen`]. Lines not yet matched by an `expect*` call
//! stay *pending*, in arrival order: `expect` returns the first pending (or newly
//! arriving) line that matches and removes only that one, so lines may be
//! expected in a different order from the one they arrived in.

use std::collections::VecDeque;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::WAIT;

/// Capabilities `connect*` requests when the server offers them.
const WANTED_CAPS: &[&str] = &["server-time", "message-tags", "account-tag", "extended-join", "multi-prefix"];

/// How many of the latest lines a failing `expect` prints.
const CONTEXT_LINES: usize = 30;

/// One parsed IRC line (IRCv3 tags, source, command, parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Tags in order, with escaped values decoded; a tag without value has "".
    pub tags: Vec<(String, String)>,
    /// `nick!user@host` or a server name, without the leading ':'.
    pub source: Option<String>,
    /// Upper-cased command or three-digit numeric.
    pub command: String,
    /// Parameters; the trailing one (after " :") is the last element.
    pub params: Vec<String>,
}

impl Message {
    /// Parses a raw line (with or without CRLF). `None` if it has no command.
    pub fn parse(line: &str) -> Option<Message> {
        let mut rest = line.trim_end_matches(['\r', '\n']);
        let mut tags = Vec::new();
        if let Some(r) = rest.strip_prefix('@') {
            let (raw_tags, r) = r.split_once(' ')?;
            for kv in raw_tags.split(';').filter(|s| !s.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                tags.push((k.to_string(), unescape_tag_value(v)));
            }
            rest = r.trim_start_matches(' ');
        }
        let mut source = None;
        if let Some(r) = rest.strip_prefix(':') {
            let (s, r) = r.split_once(' ')?;
            source = Some(s.to_string());
            rest = r.trim_start_matches(' ');
        }
        let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
        if command.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            if let Some(trailing) = rest.strip_prefix(':') {
                params.push(trailing.to_string());
                break;
            }
            match rest.split_once(' ') {
                Some((p, r)) => {
                    params.push(p.to_string());
                    rest = r;
                }
                None => {
                    params.push(rest.to_string());
                    break;
                }
            }
        }
        Some(Message { tags, source, command: command.to_ascii_uppercase(), params })
    }

    /// Value of tag `key` ("" for a tag without value), if present.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Nick part of the source (everything before '!'), if there is a source.
    pub fn nick(&self) -> Option<&str> {
        let source = self.source.as_deref()?;
        Some(source.split('!').next().unwrap_or(source))
    }

    /// Whether the source nick is `nick` (IRC case-insensitively).
    pub fn is_from(&self, nick: &str) -> bool {
        self.nick().is_some_and(|n| irc_eq(n, nick))
    }

    /// Parameter `i`, if present.
    pub fn param(&self, i: usize) -> Option<&str> {
        self.params.get(i).map(String::as_str)
    }
}

fn unescape_tag_value(v: &str) -> String {
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
            Some('\\') => out.push('\\'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Compares nicks/channels the way the server does (rfc1459 casemapping).
pub fn irc_eq(a: &str, b: &str) -> bool {
    fn fold(c: char) -> char {
        match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            '[' => '{',
            ']' => '}',
            '\\' => '|',
            '~' => '^',
            _ => c,
        }
    }
    a.chars().count() == b.chars().count() && a.chars().zip(b.chars()).all(|(x, y)| fold(x) == fold(y))
}

enum Read {
    Line(String),
    Timeout,
    Closed,
}

/// A raw IRC connection to 127.0.0.1. See the module docs for how lines are
/// consumed. All waiting methods panic with the last lines received on timeout.
pub struct TestClient {
    nick: String,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Bytes of a line not yet complete (keeps `read_until` cancel-safe).
    partial: Vec<u8>,
    pending: VecDeque<String>,
    seen: Vec<String>,
    server_caps: Vec<String>,
    caps: Vec<String>,
    closed: bool,
    write_failed: bool,
}

impl TestClient {
    /// Opens the TCP connection and sends nothing: for tests that drive
    /// registration themselves with `send`/`expect`. `nick()` is "*" until 001.
    pub async fn connect_raw(port: u16) -> TestClient {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("TestClient: cannot connect to 127.0.0.1:{port}: {e}"));
        let _ = stream.set_nodelay(true);
        let (r, w) = stream.into_split();
        TestClient {
            nick: "*".to_string(),
            reader: BufReader::new(r),
            writer: w,
            partial: Vec::new(),
            pending: VecDeque::new(),
            seen: Vec::new(),
            server_caps: Vec::new(),
            caps: Vec::new(),
            closed: false,
            write_failed: false,
        }
    }

    /// Connects and registers as `nick`: CAP LS 302, CAP REQ of server-time,
    /// message-tags, account-tag, extended-join and multi-prefix (those offered),
    /// CAP END, NICK/USER. Returns after 001 and the end of the MOTD; the
    /// registration burst is then in `seen()` but no longer pending.
    pub async fn connect(port: u16, nick: &str) -> TestClient {
        match Self::register(port, nick, None).await {
            Ok(c) => c,
            Err(e) => panic!("TestClient {nick}: registration failed: {e}"),
        }
    }

    /// Like `connect`, but also logs in to `account` with SASL PLAIN before
    /// CAP END; panics unless the server answers 903.
    pub async fn connect_sasl(port: u16, nick: &str, account: &str, password: &str) -> TestClient {
        match Self::register(port, nick, Some((account, password))).await {
            Ok(c) => c,
            Err(e) => panic!("TestClient {nick}: SASL login as {account} failed: {e}"),
        }
    }

    /// Like `connect_sasl`, but a failed SASL exchange is returned as `Err` with
    /// the server's final SASL line (e.g. "... 904 nick :SASL authentication
    /// failed") instead of panicking; the connection is then dropped. Other
    /// failures still panic.
    pub async fn try_connect_sasl(port: u16, nick: &str, account: &str, password: &str) -> Result<TestClient, String> {
        Self::register(port, nick, Some((account, password))).await
    }

    async fn register(port: u16, nick: &str, sasl: Option<(&str, &str)>) -> Result<TestClient, String> {
        let mut c = Self::connect_raw(port).await;
        c.nick = nick.to_string();
        c.send("CAP LS 302").await;
        c.send(&format!("NICK {nick}")).await;
        c.send(&format!("USER {} 0 * :srebot test client", nick.to_ascii_lowercase())).await;

        loop {
            let line = c.expect_msg("CAP LS reply", WAIT, |m| m.command == "CAP" && m.param(1) == Some("LS")).await;
            let more = line.params.len() > 3 && line.param(2) == Some("*");
            let list = line.params.last().cloned().unwrap_or_default();
            c.server_caps.extend(list.split_whitespace().map(str::to_string));
            if !more {
                break;
            }
        }

        let mut want: Vec<&str> = WANTED_CAPS.iter().copied().filter(|w| c.server_has_cap(w)).collect();
        if sasl.is_some() {
            if !c.server_has_cap("sasl") {
                panic!(
                    "TestClient {nick}: server does not offer the sasl capability (services not linked?); CAP LS: {:?}",
                    c.server_caps
                );
            }
            want.push("sasl");
        }
        if !want.is_empty() {
            c.send(&format!("CAP REQ :{}", want.join(" "))).await;
            let reply = c
                .expect_msg("CAP ACK/NAK", WAIT, |m| {
                    m.command == "CAP" && matches!(m.param(1), Some("ACK") | Some("NAK"))
                })
                .await;
            if reply.param(1) == Some("NAK") {
                panic!("TestClient {nick}: server refused CAP REQ :{}", want.join(" "));
            }
            let acked = reply.params.last().cloned().unwrap_or_default();
            c.caps = acked.split_whitespace().map(str::to_string).collect();
        }

        if let Some((account, password)) = sasl {
            c.send("AUTHENTICATE PLAIN").await;
            let go = c
                .expect_msg("AUTHENTICATE + (or a SASL error numeric)", WAIT, |m| {
                    m.command == "AUTHENTICATE" || is_sasl_result(m)
                })
                .await;
            if go.command != "AUTHENTICATE" {
                return Err(format!("server refused AUTHENTICATE PLAIN: {go:?}"));
            }
            let payload = format!("{account}\0{account}\0{password}");
            let encoded = base64::engine::general_purpose::STANDARD.encode(payload);
            for chunk in encoded.as_bytes().chunks(400) {
                let chunk = std::str::from_utf8(chunk).expect("base64 is ASCII");
                c.send(&format!("AUTHENTICATE {chunk}")).await;
            }
            if encoded.len() % 400 == 0 {
                c.send("AUTHENTICATE +").await;
            }
            let result = c
                .expect("SASL result numeric (903/904/...)", WAIT, |l| {
                    Message::parse(l).is_some_and(|m| is_sasl_result(&m))
                })
                .await;
            let m = Message::parse(&result).expect("parsed before");
            if m.command != "903" {
                return Err(result);
            }
        }

        c.send("CAP END").await;
        let welcome = c
            .expect_msg("001 welcome", WAIT, |m| {
                matches!(m.command.as_str(), "001" | "432" | "433" | "436" | "465" | "ERROR")
            })
            .await;
        if welcome.command != "001" {
            panic!("TestClient {nick}: registration refused: {welcome:?}");
        }
        if let Some(n) = welcome.param(0) {
            c.nick = n.to_string();
        }
        c.expect_msg("end of MOTD (376/422)", WAIT, |m| matches!(m.command.as_str(), "376" | "422")).await;
        c.pending.clear();
        Ok(c)
    }

    /// Current nick (follows NICK changes the server reports for us).
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// Capabilities the server listed in CAP LS, as sent (e.g. "sasl=PLAIN,EXTERNAL").
    pub fn server_caps(&self) -> &[String] {
        &self.server_caps
    }

    /// Whether CAP LS offered `name` (with or without a value).
    pub fn server_has_cap(&self, name: &str) -> bool {
        self.server_caps.iter().any(|c| c == name || c.strip_prefix(name).is_some_and(|r| r.starts_with('=')))
    }

    /// Capabilities the server acknowledged.
    pub fn caps(&self) -> &[String] {
        &self.caps
    }

    /// Every line received so far (without CRLF), PINGs included.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Forgets all pending (not yet matched) lines; `seen` keeps them.
    pub fn clear_pending(&mut self) {
        self.pending.clear();
    }

    /// Whether the server closed the connection (noticed while reading).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Sends one raw line; CRLF is appended. Write errors are ignored (the
    /// server may already have closed the connection, e.g. after a flood);
    /// expect the ERROR line to observe that.
    pub async fn send(&mut self, raw_line: &str) {
        if self.write_failed {
            return;
        }
        let mut buf = Vec::with_capacity(raw_line.len() + 2);
        buf.extend_from_slice(raw_line.as_bytes());
        buf.extend_from_slice(b"\r\n");
        if self.writer.write_all(&buf).await.is_err() {
            self.write_failed = true;
        }
    }

    pub async fn privmsg(&mut self, target: &str, text: &str) {
        self.send(&format!("PRIVMSG {target} :{text}")).await;
    }

    /// Joins `channel`, waits for our own JOIN and the end of NAMES (366), and
    /// returns the NAMES entries (with prefixes such as "@nick"). Panics if the
    /// server refuses the join.
    pub async fn join(&mut self, channel: &str) -> Vec<String> {
        self.send(&format!("JOIN {channel}")).await;
        let me = self.nick.clone();
        let reply = self
            .expect_msg(&format!("own JOIN {channel}"), WAIT, |m| {
                (m.command == "JOIN" && m.is_from(&me) && m.param(0).is_some_and(|c| irc_eq(c, channel)))
                    || (matches!(
                        m.command.as_str(),
                        "403" | "405" | "471" | "473" | "474" | "475" | "476" | "477" | "489"
                    ) && m.param(1).is_some_and(|c| irc_eq(c, channel)))
            })
            .await;
        if reply.command != "JOIN" {
            panic!("TestClient {me}: JOIN {channel} refused: {reply:?}");
        }
        let mut names = Vec::new();
        loop {
            let m = self
                .expect_msg(&format!("NAMES for {channel}"), WAIT, |m| {
                    (m.command == "353" && m.param(2).is_some_and(|c| irc_eq(c, channel)))
                        || (m.command == "366" && m.param(1).is_some_and(|c| irc_eq(c, channel)))
                })
                .await;
            if m.command == "366" {
                return names;
            }
            if let Some(list) = m.params.last() {
                names.extend(list.split_whitespace().map(str::to_string));
            }
        }
    }

    /// Sends QUIT and waits (up to 5 s) for the server to close the connection.
    pub async fn quit(mut self, reason: &str) {
        self.send(&format!("QUIT :{reason}")).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Read::Line(_) = self.read_line(deadline).await {}
    }

    /// Waits for the next line matching `pred` (pending lines first, in arrival
    /// order) and returns it. Panics on timeout or when the connection closes,
    /// naming `what` and showing the last lines received.
    pub async fn expect(&mut self, what: &str, timeout: Duration, mut pred: impl FnMut(&str) -> bool) -> String {
        if let Some(i) = self.pending.iter().position(|l| pred(l)) {
            return self.pending.remove(i).expect("index from position");
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_line(deadline).await {
                Read::Line(line) if pred(&line) => return line,
                Read::Line(line) => self.pending.push_back(line),
                Read::Timeout => self.fail(&format!("timed out after {timeout:?} waiting for {what}")),
                Read::Closed => self.fail(&format!("connection closed while waiting for {what}")),
            }
        }
    }

    /// `expect` with a predicate on the parsed line; returns the parsed line.
    /// Lines that do not parse never match.
    pub async fn expect_msg(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Message) -> bool,
    ) -> Message {
        let line = self.expect(what, timeout, |l| Message::parse(l).is_some_and(|m| pred(&m))).await;
        Message::parse(&line).expect("matched lines parse")
    }

    /// Waits for a PRIVMSG from `nick` to `target` (a channel, or our own nick
    /// for a private message) and returns its text.
    pub async fn expect_privmsg_from(&mut self, nick: &str, target: &str, timeout: Duration) -> String {
        let m = self
            .expect_msg(&format!("PRIVMSG from {nick} to {target}"), timeout, |m| {
                m.command == "PRIVMSG" && m.is_from(nick) && m.param(0).is_some_and(|t| irc_eq(t, target))
            })
            .await;
        m.params.last().cloned().unwrap_or_default()
    }

    /// Waits until the server closes the connection (lines read meanwhile stay
    /// pending). Panics on timeout.
    pub async fn expect_closed(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_line(deadline).await {
                Read::Line(line) => self.pending.push_back(line),
                Read::Closed => return,
                Read::Timeout => self.fail(&format!("connection still open after {timeout:?}")),
            }
        }
    }

    /// Panics if a line matching `pred` is pending or arrives within `dur`.
    /// Non-matching lines read meanwhile stay pending. Returns early (without
    /// failing) if the connection closes.
    pub async fn assert_silent(&mut self, dur: Duration, mut pred: impl FnMut(&str) -> bool) {
        if let Some(line) = self.pending.iter().find(|l| pred(l)).cloned() {
            self.fail(&format!("expected silence, but got (already pending): {line}"));
        }
        let deadline = Instant::now() + dur;
        loop {
            match self.read_line(deadline).await {
                Read::Line(line) if pred(&line) => self.fail(&format!("expected silence for {dur:?}, but got: {line}")),
                Read::Line(line) => self.pending.push_back(line),
                Read::Timeout | Read::Closed => return,
            }
        }
    }

    fn fail(&self, msg: &str) -> ! {
        let start = self.seen.len().saturating_sub(CONTEXT_LINES);
        panic!(
            "TestClient {}: {msg}\n--- last {} lines received ---\n{}\n---",
            self.nick,
            self.seen.len() - start,
            self.seen[start..].join("\n")
        );
    }

    /// Reads one line (answering PINGs on the way) until `deadline`.
    async fn read_line(&mut self, deadline: Instant) -> Read {
        loop {
            if self.closed {
                return Read::Closed;
            }
            let read = tokio::time::timeout_at(deadline, self.reader.read_until(b'\n', &mut self.partial)).await;
            match read {
                Err(_) => return Read::Timeout,
                Ok(Err(_)) | Ok(Ok(0)) => self.closed = true,
                Ok(Ok(_)) => {
                    if !self.partial.ends_with(b"\n") {
                        // EOF in the middle of a line.
                        self.closed = true;
                    }
                }
            }
            let line = String::from_utf8_lossy(&self.partial).trim_end_matches(['\r', '\n']).to_string();
            self.partial.clear();
            if line.is_empty() {
                continue;
            }
            self.seen.push(line.clone());
            if let Some(m) = Message::parse(&line) {
                if m.command == "PING" {
                    let token = m.params.last().cloned().unwrap_or_default();
                    self.send(&format!("PONG :{token}")).await;
                    continue;
                }
                if m.command == "001" {
                    if let Some(me) = m.param(0) {
                        self.nick = me.to_string();
                    }
                }
                if m.command == "NICK" && m.is_from(&self.nick) {
                    if let Some(new) = m.param(0) {
                        self.nick = new.to_string();
                    }
                }
            }
            return Read::Line(line);
        }
    }
}

fn is_sasl_result(m: &Message) -> bool {
    matches!(m.command.as_str(), "902" | "903" | "904" | "905" | "906" | "907")
}
