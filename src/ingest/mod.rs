//! The Server Admin Log from machines: the rules of `POST /api/v1/sal` (who may write where,
//! what a request must look like), without HTTP or SQL, so they are tested as plain functions.
//!
//! - [`IngestConfig`]: `[[ingest.clients]]`, each with a bearer token (from a file, or only its
//!   SHA-256), the channels it may write to, optional source networks and a rate limit.
//! - [`Clients`]: the configured clients with their token digests; [`Clients::authenticate`]
//!   compares a presented token with every client's in constant time.
//! - [`plan`]: a request as the entry to store, or the [`Refusal`] with its status.
//! - [`announcement`]: the one line the channel sees for an accepted entry.
//!
//! `web::ingest` is the HTTP side; `client` is `srebot log`; `wiki` is the history import.

pub mod client;
pub mod wiki;

use crate::config::{ChannelRole, Config};
use crate::names::ChannelName;
use crate::store::sal::NewEntry;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The longest message accepted, in bytes: with the author and id in front, the announcement
/// still fits one IRC line.
pub const MAX_MESSAGE_BYTES: usize = 400;
/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest author (`user@host`) and idempotency key accepted, in bytes.
const MAX_AUTHOR_BYTES: usize = 100;
const MAX_KEY_BYTES: usize = 200;

pub use crate::config::{IngestClientConfig, IngestConfig};

/// Problems with `[ingest]`, as (key path, message).
pub(crate) fn validate(c: &Config) -> Vec<(Vec<String>, String)> {
    let mut p = Vec::new();
    for (i, client) in c.ingest.clients.iter().enumerate() {
        let at = |k: &str| vec!["ingest".to_string(), "clients".into(), i.to_string(), k.to_string()];
        let name_ok = !client.name.is_empty()
            && client.name.len() <= 64
            && client.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
        if !name_ok {
            p.push((at("name"), "must be 1 to 64 letters, digits, '-', '_' or '.'".into()));
        }
        if c.ingest.clients[..i].iter().any(|o| o.name == client.name) {
            p.push((at("name"), format!("{} is listed twice", client.name)));
        }
        match (&client.token_file, &client.token_sha256) {
            (Some(_), Some(_)) => p.push((at("token_file"), "set token_file or token_sha256, not both".into())),
            (None, None) => p.push((at("token_file"), "set token_file or token_sha256".into())),
            _ => {
                if let Err(e) = client.digest() {
                    let k = if client.token_file.is_some() { "token_file" } else { "token_sha256" };
                    p.push((at(k), e));
                }
            }
        }
        if client.channels.is_empty() {
            p.push((at("channels"), "name at least one of the [[channels]]".into()));
        }
        for (j, name) in client.channels.iter().enumerate() {
            if c.channel(name).is_none() {
                let k = vec!["ingest".into(), "clients".into(), i.to_string(), "channels".into(), j.to_string()];
                p.push((k, format!("{name} is not one of the [[channels]]")));
            }
        }
        for (j, net) in client.sources.iter().enumerate() {
            if let Err(e) = crate::privacy::Networks::parse(std::slice::from_ref(net)) {
                p.push((vec!["ingest".into(), "clients".into(), i.to_string(), "sources".into(), j.to_string()], e));
            }
        }
        if client.burst == 0 || client.per_minute == 0 {
            p.push((at("burst"), "burst and per_minute must be at least 1".into()));
        }
    }
    if !c.ingest.clients.is_empty() && c.web.listen.is_none() {
        p.push((vec!["ingest".into(), "clients".into()], "the API is served by the web view: set [web] listen".into()));
    }
    p
}

type Digest = [u8; 32];

fn sha256(data: &[u8]) -> Digest {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl IngestClientConfig {
    /// The SHA-256 of the client's token. Errors never show the token.
    fn digest(&self) -> Result<Digest, String> {
        if let Some(path) = &self.token_file {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {}", path.display(), e.kind()))?;
            let token = text.lines().next().unwrap_or("").trim();
            if token.len() < 16 {
                return Err(format!("{}: the token must be at least 16 characters", path.display()));
            }
            return Ok(sha256(token.as_bytes()));
        }
        let hex = self.token_sha256.as_deref().unwrap_or("").trim();
        let bytes: Option<Vec<u8>> = (hex.len() == 64)
            .then(|| (0..32).map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect())
            .flatten();
        bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| "must be 64 hex digits (a SHA-256)".to_string())
    }
}

/// Equal without a shortcut at the first difference: how long it takes says nothing about how
/// much of a token was right.
fn same(a: &Digest, b: &Digest) -> bool {
    std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// A configured client, ready to authenticate.
#[derive(Debug, Clone)]
pub struct Client {
    pub config: IngestClientConfig,
    digest: Digest,
    sources: crate::privacy::Networks,
}

impl Client {
    /// Whether a request from `ip` may come from there.
    pub fn allows_source(&self, ip: Option<IpAddr>) -> bool {
        self.config.sources.is_empty() || ip.is_some_and(|ip| self.sources.contains(ip))
    }
}

/// The configured clients.
#[derive(Debug, Clone, Default)]
pub struct Clients(Vec<Client>);

impl Clients {
    /// Reads every client's token (files are read once, at start-up).
    pub fn from_config(c: &IngestConfig) -> Result<Clients, String> {
        let mut clients = Vec::new();
        for cc in &c.clients {
            let digest = cc.digest().map_err(|e| format!("ingest client {}: {e}", cc.name))?;
            let sources = crate::privacy::Networks::parse(&cc.sources)?;
            clients.push(Client { config: cc.clone(), digest, sources });
        }
        Ok(Clients(clients))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client whose token this is. Every client's digest is compared, so the time taken
    /// does not tell which (or whether one) matched.
    pub fn authenticate(&self, token: &str) -> Option<&Client> {
        let presented = sha256(token.as_bytes());
        let mut found = None;
        for c in &self.0 {
            if same(&c.digest, &presented) && found.is_none() {
                found = Some(c);
            }
        }
        found
    }
}

/// Per-client token buckets.
#[derive(Debug, Default)]
pub struct RateLimits(HashMap<String, (f64, Instant)>);

impl RateLimits {
    /// Takes one request from `client`'s bucket, or says how long until one is there.
    pub fn take(&mut self, client: &IngestClientConfig, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(client.burst.max(1));
        let per_sec = f64::from(client.per_minute.max(1)) / 60.0;
        let (tokens, at) = self.0.entry(client.name.clone()).or_insert((burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_sec))
        }
    }
}

/// The body of `POST /api/v1/sal`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub message: String,
    pub channel: Option<String>,
    pub author: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Why a request is not logged, by HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the request is malformed (empty or over-long message, bad author, no channel).
    Invalid(String),
    /// 403: the client may not write there.
    Forbidden(String),
    /// 404: no such logging channel.
    UnknownChannel(String),
    /// 422: the privacy guard refused the text.
    Secret(String),
}

/// The channel a request writes to: the one it names, or the client's only public one.
fn channel_for(config: &Config, client: &IngestClientConfig, named: Option<&str>) -> Result<(String, bool), Refusal> {
    let allowed = |name: &ChannelName| client.channels.iter().any(|c| name == c.as_str());
    match named.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => {
            let Some(ch) = config.channel(name) else {
                return Err(Refusal::UnknownChannel(format!("{name} is not a logging channel")));
            };
            if !allowed(&ch.name) {
                return Err(Refusal::Forbidden(format!(
                    "client {} may not write to {}: it may write to {}",
                    client.name,
                    ch.name,
                    client.channels.join(", ")
                )));
            }
            Ok((ch.name.to_string(), ch.role == ChannelRole::Security))
        }
        None => {
            // Never a security channel by default: a script that forgot its channel must not
            // land in the private log (or a public one in the private one).
            let public: Vec<&crate::config::ChannelConfig> = client
                .channels
                .iter()
                .filter_map(|n| config.channel(n))
                .filter(|ch| ch.role == ChannelRole::Public)
                .collect();
            match (public.as_slice(), client.channels.len()) {
                ([only], 1) => Ok((only.name.to_string(), false)),
                _ => Err(Refusal::Invalid(format!(
                    "channel is required: client {} may write to {}",
                    client.name,
                    client.channels.join(", ")
                ))),
            }
        }
    }
}

/// The request as the entry to store, or why not. Pure.
pub fn plan(
    config: &Config,
    client: &IngestClientConfig,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<NewEntry, Refusal> {
    let (channel, private) = channel_for(config, client, req.channel.as_deref())?;
    let cleaned = crate::cmd::log::screen(&req.message.replace(['\r', '\n'], " ")).map_err(|why| {
        Refusal::Secret(format!(
            "NOT logged: that looks like a secret ({why}). Nothing was stored; log what you did, not the credential."
        ))
    })?;
    let message = cleaned.trim();
    if message.is_empty() {
        return Err(Refusal::Invalid("message is empty".into()));
    }
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(Refusal::Invalid(format!(
            "message is {} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (log a summary and a link)",
            message.len()
        )));
    }
    if message.chars().any(char::is_control) {
        return Err(Refusal::Invalid("message must be one line (no control characters)".into()));
    }
    let author = req.author.as_deref().map(str::trim).unwrap_or(&client.name);
    if author.is_empty()
        || author.len() > MAX_AUTHOR_BYTES
        || author.chars().any(|c| c.is_whitespace() || c.is_control() || c == '!')
    {
        return Err(Refusal::Invalid(format!(
            "author must be user@host or a name: one word of at most {MAX_AUTHOR_BYTES} bytes"
        )));
    }
    if let Some(key) = &req.idempotency_key {
        if key.is_empty() || key.len() > MAX_KEY_BYTES || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Refusal::Invalid(format!(
                "idempotency_key must be 1 to {MAX_KEY_BYTES} printable ASCII characters"
            )));
        }
    }
    let nick = author.split('@').next().filter(|n| !n.is_empty()).unwrap_or(author);
    let userhost = if author.contains('@') { author.to_string() } else { format!("{author}@{}", client.name) };
    Ok(NewEntry {
        logged_at: now,
        channel,
        nick: nick.to_string(),
        account: None,
        userhost,
        relayed_by: Some(client.name.clone()),
        message: message.to_string(),
        private,
        via_private_message: false,
        tasks: crate::text::task_refs(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: &str = "[[channels]]\nname = \"#ops\"\nrole = \"public\"";

    fn config() -> Config {
        crate::testing::config(&format!(
            r##"{OPS}
[web]
listen = "127.0.0.1:8080"
[[ingest.clients]]
name = "scap"
token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
channels = ["#sre"]
[[ingest.clients]]
name = "puppet"
token_sha256 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
channels = ["#sre", "#sre-security"]
sources = ["10.0.0.0/8"]
"##
        ))
    }

    fn req(message: &str, channel: Option<&str>, author: Option<&str>) -> Request {
        Request {
            message: message.into(),
            channel: channel.map(Into::into),
            author: author.map(Into::into),
            idempotency_key: None,
        }
    }

    #[test]
    fn tokens_authenticate_their_client_only() {
        let c = config();
        let clients = Clients::from_config(&c.ingest).unwrap();
        // sha256("test") and sha256("test2").
        assert_eq!(clients.authenticate("test").map(|c| c.config.name.as_str()), Some("scap"));
        assert_eq!(clients.authenticate("test2").map(|c| c.config.name.as_str()), Some("puppet"));
        assert!(clients.authenticate("tes").is_none() && clients.authenticate("").is_none());
        let puppet = clients.authenticate("test2").unwrap();
        assert!(puppet.allows_source(Some("10.1.2.3".parse().unwrap())));
        assert!(!puppet.allows_source(Some("192.0.2.1".parse().unwrap())));
        assert!(!puppet.allows_source(None));
        assert!(clients.authenticate("test").unwrap().allows_source(Some("192.0.2.1".parse().unwrap())));
    }

    #[test]
    fn config_problems_are_named() {
        let bad = crate::testing::config_text(&format!(
            r##"{OPS}
[[ingest.clients]]
name = "bad name"
token_sha256 = "abc"
channels = ["#nope"]
sources = ["10.0.0.1/8"]
"##
        ));
        let problems = crate::app::parse_config(&bad).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for k in [
            "ingest.clients.0.name",
            "ingest.clients.0.token_sha256",
            "ingest.clients.0.channels.0",
            "ingest.clients.0.sources.0",
            "ingest.clients",
        ] {
            assert!(keys.contains(&k), "{k} missing from {problems:?}");
        }
    }

    #[test]
    fn plans_entries_and_refuses_with_the_right_status() {
        let c = config();
        let now = "2026-12-03T10:22:00Z".parse().unwrap();
        let scap = &c.ingest.clients[0];
        let puppet = &c.ingest.clients[1];
        let e = plan(&c, scap, &req(" synced wmf-config (T123456) ", None, Some("deploy@mw151")), now).unwrap();
        assert_eq!((e.channel.as_str(), e.nick.as_str(), e.userhost.as_str()), ("#sre", "deploy", "deploy@mw151"));
        assert_eq!((e.relayed_by.as_deref(), e.private), (Some("scap"), false));
        assert_eq!((e.message.as_str(), e.tasks.clone()), ("synced wmf-config (T123456)", vec!["T123456".into()]));
        let e = plan(&c, scap, &req("x", Some("#SRE"), None), now).unwrap();
        assert_eq!((e.nick.as_str(), e.userhost.as_str()), ("scap", "scap@scap"));
        // A security channel: only when named, and allowed.
        assert!(plan(&c, puppet, &req("x", Some("#sre-security"), None), now).unwrap().private);
        assert!(
            matches!(plan(&c, puppet, &req("x", None, None), now), Err(Refusal::Invalid(m)) if m.contains("channel is required"))
        );
        assert!(matches!(plan(&c, scap, &req("x", Some("#sre-security"), None), now), Err(Refusal::Forbidden(_))));
        assert!(matches!(plan(&c, scap, &req("x", Some("#ops"), None), now), Err(Refusal::Forbidden(_))));
        assert!(matches!(plan(&c, scap, &req("x", Some("#nope"), None), now), Err(Refusal::UnknownChannel(_))));
        assert!(
            matches!(plan(&c, scap, &req(" \x02 ", None, None), now), Err(Refusal::Invalid(m)) if m == "message is empty")
        );
        let long = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert!(
            matches!(plan(&c, scap, &req(&long, None, None), now), Err(Refusal::Invalid(m)) if m.contains("limit is 400 bytes"))
        );
        // A script's multi-line output becomes one line, as formatting codes go.
        assert_eq!(plan(&c, scap, &req("a\nb", None, None), now).unwrap().message, "a b");
        assert!(matches!(plan(&c, scap, &req("x", None, Some("two words")), now), Err(Refusal::Invalid(_))));
        let secret = plan(&c, scap, &req("set password=Tr0ub4dor&3xyz on db1001", None, None), now).unwrap_err();
        assert!(matches!(&secret, Refusal::Secret(m) if !m.contains("Tr0ub4dor")), "{secret:?}");
        let mut keyed = req("x", None, None);
        keyed.idempotency_key = Some("has space".into());
        assert!(matches!(plan(&c, scap, &keyed, now), Err(Refusal::Invalid(_))));
    }

    #[test]
    fn buckets_refill_per_client() {
        let c = config();
        let mut one = c.ingest.clients[0].clone();
        (one.burst, one.per_minute) = (2, 60);
        let mut limits = RateLimits::default();
        let t0 = Instant::now();
        assert!(limits.take(&one, t0).is_ok() && limits.take(&one, t0).is_ok());
        let wait = limits.take(&one, t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limits.take(&c.ingest.clients[1], t0).is_ok(), "buckets are per client");
        assert!(limits.take(&one, t0 + Duration::from_secs(1)).is_ok());
    }
}
