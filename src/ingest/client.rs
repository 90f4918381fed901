//! `srebot log`: the ingest API's client for scripts (a drop-in for `logsalmsg`-style use).
//!
//! It sends one entry with an idempotency key made once, and sends it again with the same key on
//! connection errors, 503 and 429 (with backoff, honouring `Retry-After`) until the entry is
//! acknowledged or `retry_seconds` have passed: a bot restart or a database hiccup costs a
//! delay, never a lost or doubled entry. Any other answer is final.

use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The client's config file (`srebot log --config FILE`); SREBOT_URL and SREBOT_TOKEN_FILE
/// stand in for `url` and `token_file` when it is not given.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The bot's web view, e.g. `https://sal.example.org`.
    pub url: Option<String>,
    /// A file whose first line is the token.
    pub token_file: Option<PathBuf>,
    /// The channel when `--channel` is not given.
    pub channel: Option<String>,
    /// How long to keep retrying.
    pub retry_seconds: Option<u64>,
}

/// What to log.
#[derive(Debug, Default)]
pub struct Entry {
    pub message: String,
    pub channel: Option<String>,
    pub author: Option<String>,
    /// Overrides the config's `retry_seconds`.
    pub retry_for: Option<u64>,
}

/// How long to keep retrying when neither the command line nor the config says.
const DEFAULT_RETRY_SECONDS: u64 = 120;
/// One request's limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the config (or the environment) into (url, token, config).
fn settings(config: Option<&Path>) -> Result<(String, String, ClientConfig), String> {
    let c: ClientConfig = match config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {}", path.display(), e.kind()))?;
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?
        }
        None => ClientConfig::default(),
    };
    let url = c
        .url
        .clone()
        .or_else(|| std::env::var("SREBOT_URL").ok())
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or("no URL: set url in --config FILE or SREBOT_URL (http:// or https://)")?;
    let token_file = c
        .token_file
        .clone()
        .or_else(|| std::env::var_os("SREBOT_TOKEN_FILE").map(PathBuf::from))
        .ok_or("no token: set token_file in --config FILE or SREBOT_TOKEN_FILE")?;
    let token = std::fs::read_to_string(&token_file)
        .map_err(|e| format!("cannot read {}: {}", token_file.display(), e.kind()))?
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if token.is_empty() {
        return Err(format!("{} is empty", token_file.display()));
    }
    Ok((url, token, c))
}

/// `user@host` of whoever runs this.
fn default_author() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// One try's outcome.
enum Try {
    Logged(String),
    /// Worth another try (after at least this long).
    Again(String, Duration),
    Refused(String),
}

fn attempt(agent: &ureq::Agent, endpoint: &str, token: &str, body: &str) -> Try {
    let sent = agent
        .post(endpoint)
        .header("Authorization", &format!("Bearer {token}"))
        .content_type("application/json")
        .send(body);
    let mut response = match sent {
        Ok(r) => r,
        Err(e) => return Try::Again(crate::publish::mediawiki::short_transport_error(&e), Duration::ZERO),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::ZERO);
    let text = response.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let error =
        json["error"].as_str().map(String::from).unwrap_or_else(|| crate::text::truncate_bytes(text.trim(), 200));
    match status {
        200 | 201 => match json["id"].as_i64() {
            Some(id) => Try::Logged(format!("Logged #{id} {}", json["url"].as_str().unwrap_or(""))),
            None => Try::Refused(format!("unexpected answer {status}: {error}")),
        },
        503 | 429 | 502 | 504 => Try::Again(format!("{status}: {error}"), retry_after),
        _ => Try::Refused(format!("NOT logged: {status}: {error}")),
    }
}

/// Logs `entry`; `Ok` is the line to print (`Logged #N <url>`), `Err` the reason it was not.
pub fn run(config: Option<&Path>, entry: Entry) -> Result<String, String> {
    let (url, token, c) = settings(config)?;
    let message = entry.message.trim();
    if message.is_empty() {
        return Err("NOT logged: the message is empty".into());
    }
    let key = format!("srebot-log-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let body = json!({
        "message": message,
        "channel": entry.channel.or(c.channel),
        "author": entry.author.unwrap_or_else(default_author),
        "idempotency_key": key,
    })
    .to_string();
    let endpoint = format!("{}/api/v1/sal", url.trim_end_matches('/'));
    let patience = Duration::from_secs(entry.retry_for.or(c.retry_seconds).unwrap_or(DEFAULT_RETRY_SECONDS));
    let deadline = Instant::now() + patience;
    let agent = crate::publish::mediawiki::http_agent(REQUEST_TIMEOUT);
    let mut delay = Duration::from_millis(250);
    loop {
        let why = match attempt(&agent, &endpoint, &token, &body) {
            Try::Logged(line) => return Ok(line),
            Try::Refused(why) => return Err(why),
            Try::Again(why, at_least) => {
                delay = delay.max(at_least);
                why
            }
        };
        let now = Instant::now();
        if now + delay > deadline {
            return Err(format!("NOT logged: gave up after {} s: {why}", patience.as_secs()));
        }
        eprintln!("srebot log: {why}; trying again in {:.1} s", delay.as_secs_f64());
        std::thread::sleep(delay.mul_f64(0.75 + fastrand::f64() / 4.0));
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
