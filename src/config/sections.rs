//! Sections whose meaning lives in other modules (`ratelimit`, `ingest`, `alerts`,
//! `publish::phorge`, `access`): only their shape is here, so `config` imports nothing above it.
//! Each module re-exports its own and keeps its methods and checks.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[ratelimit]`: how many commands one user may send.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Commands that may come at once.
    pub burst: u32,
    /// Then one command per this many milliseconds; 0 turns the limit off.
    pub interval_ms: u64,
    /// The same for relay accounts, which speak for many people.
    pub relay_burst: u32,
    pub relay_interval_ms: u64,
}

// Generous enough for a person pasting ten `!log` lines or working an incident at speed; a
// script in a loop gets ten answers, then two a second, and one notice.
impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig { burst: 10, interval_ms: 500, relay_burst: 50, relay_interval_ms: 100 }
    }
}

/// `[ingest]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IngestConfig {
    #[serde(default)]
    pub clients: Vec<IngestClientConfig>,
}

/// One `[[ingest.clients]]` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestClientConfig {
    /// Stored as the entry's `relayed_by`.
    pub name: String,
    /// A file whose first line is the client's token.
    pub token_file: Option<PathBuf>,
    /// Or only the SHA-256 of the token, in hex (`printf %s "$TOKEN" | sha256sum`).
    pub token_sha256: Option<String>,
    /// Channels the client may write to. A security channel only when a request names it.
    pub channels: Vec<String>,
    /// Networks (CIDR) requests must come from; empty: anywhere.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Requests that may come at once, then `per_minute`.
    #[serde(default = "default_burst")]
    pub burst: u32,
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
}

// A deploy of a few hundred hosts logs a few hundred lines at once; a loop gone wrong is held to
// ten a second.
fn default_burst() -> u32 {
    1000
}
fn default_per_minute() -> u32 {
    600
}

#[derive(Debug, Clone, Deserialize)]
pub struct AlertsConfig {
    /// The file whose first line is the bearer token senders must present (Alertmanager's
    /// `http_config.authorization.credentials_file`).
    pub token_file: Option<PathBuf>,
    /// Accept alerts only from 127.0.0.1 / ::1 (with the token too, when one is set).
    #[serde(default)]
    pub loopback_only: bool,
    /// Alertmanager's base URL, for `!silence` (API v2), e.g. `http://127.0.0.1:9093`.
    pub alertmanager_url: Option<String>,
    /// Severities that page people: `!clinic pages` lists only these; empty lists every alert.
    #[serde(default)]
    pub paging_severities: Vec<String>,
    /// A firing alert seen again unchanged is said again only after this many minutes.
    #[serde(default = "default_repeat_minutes")]
    pub repeat_minutes: u64,
    /// Lines per channel per minute before the rest are folded into one summary line.
    #[serde(default = "default_fold_after")]
    pub fold_after: usize,
    /// Which alerts go where; every matching route adds its channels.
    #[serde(default)]
    pub routes: Vec<Route>,
}

fn default_repeat_minutes() -> u64 {
    60
}

fn default_fold_after() -> usize {
    5
}

/// `[[alerts.routes]]`: alerts whose labels equal every `match` entry go to `channels`.
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    #[serde(default, rename = "match")]
    pub matches: BTreeMap<String, String>,
    pub channels: Vec<String>,
}

/// `[publish.phorge]`.
#[derive(Debug, Clone, Deserialize)]
pub struct PhorgeConfig {
    /// Conduit's base, e.g. `https://phabricator.example.org/api/`.
    pub api_url: String,
    /// A file whose first line is a Conduit API token (`api-…`) of the bot's account.
    pub token_file: PathBuf,
    /// Channels whose entries mention tasks; empty: every public channel. Never a security one.
    #[serde(default)]
    pub channels: Vec<String>,
    /// First delay after a failed call; doubles (with jitter) up to `retry_max_seconds`.
    #[serde(default = "super::default_retry_min")]
    pub retry_min_seconds: u64,
    #[serde(default = "super::default_retry_max")]
    pub retry_max_seconds: u64,
    /// Timeout of one HTTP request.
    #[serde(default = "super::default_http_timeout")]
    pub timeout_seconds: u64,
}

/// Access granted on IRC with `!access add`, stored on top of the config file's lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub account: String,
    pub admin: bool,
    /// Who granted it: `nick (account)`.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    pub reason: String,
}
