//! The TOML configuration: its shape (serde), loading, and `check-config` validation.
//!
//! Loading never stops at the first problem: every unknown key (via `serde_ignored`) and every
//! semantic problem is collected with its key and line, so one run of `srebot check-config`
//! shows everything to fix. Secret values are never echoed back in a problem.

use crate::names::ChannelName;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

mod check;
mod load;
mod sections;
mod words;

pub(crate) use check::check_sink;
pub use check::warnings;
pub use load::{load, parse, parse_with};
pub use sections::{AlertsConfig, Grant, IngestClientConfig, IngestConfig, PhorgeConfig, RateLimitConfig};

/// A check of a parsed config from outside `config` (see `app`): each problem as (key path,
/// message), the key pinned to its line like `config`'s own.
pub type Check = fn(&Config) -> Vec<(Vec<String>, String)>;

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub irc: IrcConfig,
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    pub storage: StorageConfig,
    #[serde(default)]
    pub access: AccessConfig,
    #[serde(default)]
    pub commands: CommandsConfig,
    #[serde(default)]
    pub sal: SalConfig,
    #[serde(default)]
    pub web: WebConfig,
    #[serde(default)]
    pub incidents: IncidentsConfig,
    #[serde(default)]
    pub publish: PublishConfig,
    #[serde(default)]
    pub clinic: ClinicConfig,
    #[serde(default)]
    pub ratelimit: RateLimitConfig,
    /// `[[ingest.clients]]`: machines that may write the log over HTTP (`ingest`).
    #[serde(default)]
    pub ingest: IngestConfig,
    /// `[alerts]`: receiving alerts; unset, the alert endpoints refuse everything.
    #[serde(default)]
    pub alerts: Option<AlertsConfig>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IrcConfig {
    pub server: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: bool,
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// Extra CA certificate (PEM) to trust, e.g. a private network's own CA.
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM), for SASL EXTERNAL / CertFP.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Pinned server certificates (`sha256:` and the hex digest): when set, the certificate
    /// must be one of these, self-signed or not, and nothing else is accepted.
    #[serde(default)]
    pub tls_fingerprints: Vec<String>,
    pub nick: String,
    #[serde(default)]
    pub alt_nicks: Vec<String>,
    pub username: Option<String>,
    pub realname: Option<String>,
    pub sasl: Option<SaslConfig>,
    #[serde(default)]
    pub flood: FloodConfig,
    #[serde(default)]
    pub timeouts: TimeoutConfig,
}

fn default_port() -> u16 {
    6667
}

fn yes() -> bool {
    true
}

impl IrcConfig {
    pub fn username(&self) -> &str {
        self.username.as_deref().unwrap_or(&self.nick)
    }

    pub fn realname(&self) -> &str {
        self.realname.as_deref().unwrap_or("srebot")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN", alias = "plain")]
    Plain,
    #[serde(rename = "EXTERNAL", alias = "external")]
    External,
    #[serde(rename = "SCRAM-SHA-256", alias = "scram-sha-256")]
    ScramSha256,
    #[serde(rename = "ECDSA-NIST256P-CHALLENGE", alias = "ecdsa-nist256p-challenge")]
    EcdsaNist256pChallenge,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SaslConfig {
    /// One mechanism (the older form); `mechanisms` lists several in order of preference.
    pub mechanism: Option<SaslMechanism>,
    #[serde(default)]
    pub mechanisms: Vec<SaslMechanism>,
    pub account: Option<String>,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// P-256 private key (PEM) for ECDSA-NIST256P-CHALLENGE.
    pub key_file: Option<PathBuf>,
}

/// The environment variable that may hold the SASL password.
pub const SASL_PASSWORD_ENV: &str = "SREBOT_SASL_PASSWORD";

impl SaslConfig {
    /// The mechanisms to try, in order: `mechanisms`, else `mechanism`, else PLAIN.
    pub fn mechanisms(&self) -> Vec<SaslMechanism> {
        match (&self.mechanisms[..], self.mechanism) {
            ([], Some(m)) => vec![m],
            ([], None) => vec![SaslMechanism::Plain],
            (list, _) => list.to_vec(),
        }
    }

    /// The password from `password`, `password_file` or the environment, in that order.
    pub fn resolve_password(&self) -> Result<Secret, String> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        if let Some(path) = &self.password_file {
            return std::fs::read_to_string(path)
                .map(|s| Secret(s.trim_end_matches(['\r', '\n']).to_string()))
                .map_err(|e| format!("cannot read {}: {}", path.display(), e.kind()));
        }
        std::env::var(SASL_PASSWORD_ENV)
            .map(Secret)
            .map_err(|_| format!("no password: set password, password_file or {SASL_PASSWORD_ENV}"))
    }
}

/// A secret string: printing it (Debug or Display) shows nothing of it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// Outgoing flood control: a token bucket. Defaults follow Solanum's tolerance with margin.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct FloodConfig {
    pub burst: u32,
    pub interval_ms: u64,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig { burst: 4, interval_ms: 1500 }
    }
}

/// Timers of the session, in seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TimeoutConfig {
    /// Silence from the server after which we send our own PING.
    pub ping_interval: u64,
    /// How long we wait for anything after our PING before calling the link dead.
    pub ping_timeout: u64,
    pub connect: u64,
    /// First reconnect delay; it doubles (with jitter) up to `reconnect_max`.
    pub reconnect_min: u64,
    pub reconnect_max: u64,
    /// Delay before rejoining after a KICK, and the first delay after a refused JOIN.
    pub rejoin: u64,
    /// How often we try to take our main nick back while on an alternative.
    pub nick_regain: u64,
    /// After a reconnect with SASL configured but not offered (services not linked yet): how
    /// long to wait for it before joining the public channels unidentified.
    pub sasl_wait: u64,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            ping_interval: 90,
            ping_timeout: 60,
            connect: 30,
            reconnect_min: 2,
            reconnect_max: 300,
            rejoin: 30,
            nick_regain: 60,
            sasl_wait: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelRole {
    Public,
    Security,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChannelConfig {
    pub name: ChannelName,
    pub role: ChannelRole,
    pub key: Option<Secret>,
    pub key_file: Option<PathBuf>,
}

impl ChannelConfig {
    pub fn resolve_key(&self) -> Result<Option<Secret>, String> {
        if let Some(k) = &self.key {
            return Ok(Some(k.clone()));
        }
        match &self.key_file {
            None => Ok(None),
            Some(path) => std::fs::read_to_string(path)
                .map(|s| Some(Secret(s.trim().to_string())))
                .map_err(|e| format!("cannot read {}: {}", path.display(), e.kind())),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct StorageConfig {
    pub database: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AccessConfig {
    pub accounts: Vec<String>,
    pub hostmasks: Vec<String>,
    pub admins: Vec<String>,
    pub relays: Vec<String>,
    /// Not in the file: the grants made on IRC (`!access add`), from the database.
    #[serde(skip)]
    pub granted: Vec<Grant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CommandsConfig {
    pub prefix: String,
    /// Other names for commands, e.g. `inc = "incident"`.
    pub aliases: std::collections::BTreeMap<String, String>,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        CommandsConfig { prefix: "!".into(), aliases: [("inc".to_string(), "incident".to_string())].into() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct IncidentsConfig {
    /// Remind the communicator after this long without a public update (fractions allowed).
    pub update_reminder_minutes: f64,
    /// Mention a resolved incident that needs a report and has none this often.
    pub report_reminder_hours: f64,
    /// Where `!incident report` writes drafts; default: `reports/` beside the database.
    pub report_dir: Option<PathBuf>,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig { update_reminder_minutes: 30.0, report_reminder_hours: 24.0, report_dir: None }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct ClinicConfig {
    /// IANA timezone the duty weeks are counted in.
    pub timezone: String,
    pub week_starts: String,
    /// Local time of the weekly hand-off (HH:MM).
    pub handoff_time: String,
    /// Channels whose topic carries our section and that hear the hand-off.
    pub topic_channels: Vec<String>,
    pub topic_label: String,
    pub topic_separator: String,
    /// Without channel operator rights, ask ChanServ to set the topic.
    pub topic_via_chanserv: bool,
}

impl Default for ClinicConfig {
    fn default() -> Self {
        ClinicConfig {
            timezone: "UTC".into(),
            week_starts: "monday".into(),
            handoff_time: "00:00".into(),
            topic_channels: Vec::new(),
            topic_label: "SRE Clinic Duty:".into(),
            topic_separator: " | ".into(),
            topic_via_chanserv: false,
        }
    }
}

impl Config {
    /// Where report drafts are written.
    pub fn report_dir(&self) -> PathBuf {
        self.incidents.report_dir.clone().unwrap_or_else(|| {
            self.storage
                .database
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .join("reports")
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SalConfig {
    /// The channel that a `!log` sent by private message is recorded under. Unset: private
    /// `!log` is refused with an explanation.
    pub private_message_channel: Option<String>,
    /// How long after logging an entry its author may take it back with `!log undo`.
    pub undo_minutes: u32,
    /// Mask IPv4/IPv6 addresses in everything published (web, wiki, feeds).
    pub mask_ips: bool,
    /// Internal networks (CIDR) whose addresses are published unmasked.
    pub internal_networks: Vec<String>,
}

impl Default for SalConfig {
    fn default() -> Self {
        SalConfig { private_message_channel: None, undo_minutes: 15, mask_ips: true, internal_networks: Vec::new() }
    }
}

/// `[publish.*]`: sinks the Server Admin Log is published to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublishConfig {
    pub mediawiki: Option<MediaWikiConfig>,
    pub phorge: Option<PhorgeConfig>,
}

/// `[publish.mediawiki]`: a wiki page that carries the log.
#[derive(Debug, Clone, Deserialize)]
pub struct MediaWikiConfig {
    /// The wiki's `api.php`, e.g. `https://wikitech.example.org/w/api.php`.
    pub api_url: String,
    /// The page title, e.g. `Tech:Server_admin_log`.
    pub page: String,
    /// The bot-password login name, `User@BotName` (Special:BotPasswords).
    pub username: String,
    /// The file whose first line is the bot password (never in the config itself).
    pub password_file: PathBuf,
    /// Channels whose entries are published; empty: every public channel. Never a security one.
    #[serde(default)]
    pub channels: Vec<String>,
    /// First delay after a failed edit; doubles (with jitter) up to `retry_max_seconds`.
    #[serde(default = "default_retry_min")]
    pub retry_min_seconds: u64,
    #[serde(default = "default_retry_max")]
    pub retry_max_seconds: u64,
    /// Timeout of one HTTP request.
    #[serde(default = "default_http_timeout")]
    pub timeout_seconds: u64,
    /// A page whose top carries a notice of each open public incident with its latest public
    /// update (`!incident update`); unset: no notice.
    pub status_page: Option<String>,
    /// Where `!incident report publish` puts report pages: `<prefix><day> <summary>`.
    #[serde(default = "default_report_prefix")]
    pub report_prefix: String,
}

fn default_report_prefix() -> String {
    "Tech:Incidents/".into()
}

pub(crate) fn default_retry_min() -> u64 {
    10
}
pub(crate) fn default_retry_max() -> u64 {
    900
}
pub(crate) fn default_http_timeout() -> u64 {
    30
}

impl MediaWikiConfig {
    /// The bot password, from `password_file`.
    pub fn resolve_password(&self) -> Result<Secret, String> {
        std::fs::read_to_string(&self.password_file)
            .map(|s| Secret(s.lines().next().unwrap_or("").trim().to_string()))
            .map_err(|e| format!("cannot read {}: {}", self.password_file.display(), e.kind()))
            .and_then(
                |s| if s.0.is_empty() { Err(format!("{} is empty", self.password_file.display())) } else { Ok(s) },
            )
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WebConfig {
    /// Address the web view listens on (e.g. `127.0.0.1:8080`); unset: no web server.
    pub listen: Option<String>,
    /// Public URL of the web view; acks link to `<base_url>/sal/<id>` when set.
    pub base_url: Option<String>,
    /// Link pattern for task ids, `{}` is the id, e.g. `https://phabricator.wikimedia.org/{}`.
    pub task_url: Option<String>,
    /// Link pattern for commit hashes, e.g. `https://gerrit.wikimedia.org/r/q/{}`.
    pub commit_url: Option<String>,
}

impl Config {
    pub fn channel(&self, name: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// One thing wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `irc.sasl.password_file` or `channels.1.name`.
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}
