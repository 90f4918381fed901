//! The TOML configuration: its shape (serde), loading, and `check-config` validation.
//!
//! Loading never stops at the first problem: every unknown key (via `serde_ignored`) and every
//! semantic problem is collected with its key and line, so one run of `srebot check-config`
//! shows everything to fix. Secret values are never echoed back in a problem.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

mod words;

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
    pub ratelimit: crate::ratelimit::RateLimitConfig,
    /// `[[ingest.clients]]`: machines that may write the log over HTTP (`ingest`).
    #[serde(default)]
    pub ingest: crate::ingest::IngestConfig,
    /// `[alerts]`: receiving alerts; unset, the alert endpoints refuse everything.
    #[serde(default)]
    pub alerts: Option<crate::alerts::config::AlertsConfig>,
    /// Not configured in the file: the system clock, or a test's (see `clock`).
    #[serde(skip)]
    pub clock: crate::clock::Clock,
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

    /// The ECDSA key from `key_file`.
    pub fn resolve_key(&self) -> Result<Option<crate::irc::sasl::EcdsaKey>, String> {
        let Some(path) = &self.key_file else { return Ok(None) };
        let pem = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {}", path.display(), e.kind()))?;
        crate::irc::sasl::EcdsaKey::from_pem(&pem).map(Some).map_err(|e| format!("{}: {e}", path.display()))
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
pub struct FloodConfig {
    #[serde(default = "default_burst")]
    pub burst: u32,
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
}

fn default_burst() -> u32 {
    4
}
fn default_interval_ms() -> u64 {
    1500
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig { burst: default_burst(), interval_ms: default_interval_ms() }
    }
}

/// Timers of the session, in seconds.
#[derive(Debug, Clone, Deserialize)]
pub struct TimeoutConfig {
    /// Silence from the server after which we send our own PING.
    #[serde(default = "d90")]
    pub ping_interval: u64,
    /// How long we wait for anything after our PING before calling the link dead.
    #[serde(default = "d60")]
    pub ping_timeout: u64,
    #[serde(default = "d30")]
    pub connect: u64,
    /// First reconnect delay; it doubles (with jitter) up to `reconnect_max`.
    #[serde(default = "d2")]
    pub reconnect_min: u64,
    #[serde(default = "d300")]
    pub reconnect_max: u64,
    /// Delay before rejoining after a KICK, and the first delay after a refused JOIN.
    #[serde(default = "d30")]
    pub rejoin: u64,
    /// How often we try to take our main nick back while on an alternative.
    #[serde(default = "d60")]
    pub nick_regain: u64,
    /// After a reconnect with SASL configured but not offered (services not linked yet): how
    /// long to wait for it before joining the public channels unidentified.
    #[serde(default = "d30")]
    pub sasl_wait: u64,
}

fn d2() -> u64 {
    2
}
fn d30() -> u64 {
    30
}
fn d60() -> u64 {
    60
}
fn d90() -> u64 {
    90
}
fn d300() -> u64 {
    300
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            ping_interval: d90(),
            ping_timeout: d60(),
            connect: d30(),
            reconnect_min: d2(),
            reconnect_max: d300(),
            rejoin: d30(),
            nick_regain: d60(),
            sasl_wait: d30(),
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
    pub name: String,
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
pub struct AccessConfig {
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub hostmasks: Vec<String>,
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default)]
    pub relays: Vec<String>,
    /// Not in the file: the grants made on IRC (`!access add`), from the database.
    #[serde(skip)]
    pub granted: Vec<crate::access::Grant>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommandsConfig {
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Other names for commands, e.g. `inc = "incident"`.
    #[serde(default = "default_aliases")]
    pub aliases: std::collections::BTreeMap<String, String>,
}

fn default_prefix() -> String {
    "!".into()
}

fn default_aliases() -> std::collections::BTreeMap<String, String> {
    [("inc".to_string(), "incident".to_string())].into()
}

impl Default for CommandsConfig {
    fn default() -> Self {
        CommandsConfig { prefix: default_prefix(), aliases: default_aliases() }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct IncidentsConfig {
    /// Remind the communicator after this long without a public update (fractions allowed).
    #[serde(default = "default_update_reminder")]
    pub update_reminder_minutes: f64,
    /// Mention a resolved incident that needs a report and has none this often.
    #[serde(default = "default_report_reminder")]
    pub report_reminder_hours: f64,
    /// Where `!incident report` writes drafts; default: `reports/` beside the database.
    pub report_dir: Option<PathBuf>,
}

fn default_update_reminder() -> f64 {
    30.0
}

fn default_report_reminder() -> f64 {
    24.0
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            update_reminder_minutes: default_update_reminder(),
            report_reminder_hours: default_report_reminder(),
            report_dir: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClinicConfig {
    /// IANA timezone the duty weeks are counted in.
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default = "default_week_starts")]
    pub week_starts: String,
    /// Local time of the weekly hand-off (HH:MM).
    #[serde(default = "default_handoff")]
    pub handoff_time: String,
    /// Channels whose topic carries our section and that hear the hand-off.
    #[serde(default)]
    pub topic_channels: Vec<String>,
    #[serde(default = "default_label")]
    pub topic_label: String,
    #[serde(default = "default_separator")]
    pub topic_separator: String,
    /// Without channel operator rights, ask ChanServ to set the topic.
    #[serde(default)]
    pub topic_via_chanserv: bool,
}

fn default_tz() -> String {
    "UTC".into()
}
fn default_week_starts() -> String {
    "monday".into()
}
fn default_handoff() -> String {
    "00:00".into()
}
fn default_label() -> String {
    "SRE Clinic Duty:".into()
}
fn default_separator() -> String {
    " | ".into()
}

impl Default for ClinicConfig {
    fn default() -> Self {
        ClinicConfig {
            timezone: default_tz(),
            week_starts: default_week_starts(),
            handoff_time: default_handoff(),
            topic_channels: Vec::new(),
            topic_label: default_label(),
            topic_separator: default_separator(),
            topic_via_chanserv: false,
        }
    }
}

impl ClinicConfig {
    /// The week rule; validated when the config is loaded.
    pub fn rule(&self) -> Result<crate::clinic::week::WeekRule, String> {
        crate::clinic::week::WeekRule::parse(&self.timezone, &self.week_starts, &self.handoff_time)
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
pub struct SalConfig {
    /// The channel that a `!log` sent by private message is recorded under. Unset: private
    /// `!log` is refused with an explanation.
    pub private_message_channel: Option<String>,
    /// How long after logging an entry its author may take it back with `!log undo`.
    #[serde(default = "default_undo_minutes")]
    pub undo_minutes: u32,
    /// Mask IPv4/IPv6 addresses in everything published (web, wiki, feeds).
    #[serde(default = "yes")]
    pub mask_ips: bool,
    /// Internal networks (CIDR) whose addresses are published unmasked.
    #[serde(default)]
    pub internal_networks: Vec<String>,
}

fn default_undo_minutes() -> u32 {
    15
}

impl Default for SalConfig {
    fn default() -> Self {
        SalConfig {
            private_message_channel: None,
            undo_minutes: default_undo_minutes(),
            mask_ips: true,
            internal_networks: Vec::new(),
        }
    }
}

/// `[publish.*]`: sinks the Server Admin Log is published to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublishConfig {
    pub mediawiki: Option<MediaWikiConfig>,
    pub phorge: Option<crate::publish::phorge::PhorgeConfig>,
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

    /// Whether entries of `channel` go to the wiki (never those of a security channel).
    pub fn publishes(&self, config: &Config, channel: &str) -> bool {
        sink_publishes(config, &self.channels, channel)
    }
}

/// Whether a sink whose `channels` key lists these (empty: every public channel) publishes
/// `channel`: never a security channel.
pub(crate) fn sink_publishes(config: &Config, channels: &[String], channel: &str) -> bool {
    let Some(ch) = config.channel(channel) else { return false };
    ch.role == ChannelRole::Public
        && (channels.is_empty() || channels.iter().any(|c| crate::irc::casefold_eq(c, channel)))
}

/// Problems with a publishing sink's `channels`, `retry_*_seconds` and `timeout_seconds` (the
/// keys every sink has), the sink's table being `path`.
pub(crate) fn check_sink(
    c: &Config,
    path: &[&str],
    channels: &[String],
    (retry_min, retry_max, timeout): (u64, u64, u64),
) -> Vec<(Vec<String>, String)> {
    let mut p = Vec::new();
    let at = |k: &str| path.iter().copied().chain([k]).map(String::from).collect::<Vec<_>>();
    for (i, name) in channels.iter().enumerate() {
        let k: Vec<String> = at("channels").into_iter().chain([i.to_string()]).collect();
        match c.channel(name) {
            None => p.push((k, format!("{name} is not one of the [[channels]]"))),
            Some(ch) if ch.role == ChannelRole::Security => {
                p.push((k, format!("{name} is a security channel: its entries are never published")))
            }
            Some(_) => {}
        }
    }
    if retry_min == 0 || retry_min > retry_max {
        p.push((at("retry_min_seconds"), "must be at least 1 and not above retry_max_seconds".into()));
    }
    if timeout == 0 {
        p.push((at("timeout_seconds"), "must be at least 1".into()));
    }
    p
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
        self.channels.iter().find(|c| crate::irc::casefold_eq(&c.name, name))
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

/// Reads and validates a config file. `Err` holds every problem found.
pub fn load(path: &Path) -> Result<Config, Vec<Problem>> {
    let raw = std::fs::read_to_string(path).map_err(|e| {
        vec![Problem { key: "(file)".into(), line: None, message: format!("cannot read {}: {}", path.display(), e) }]
    })?;
    parse(&raw)
}

/// The top-level sections a config may have (each read by `parse` below).
const SECTIONS: &[&str] = &[
    "irc",
    "channels",
    "storage",
    "access",
    "commands",
    "sal",
    "web",
    "incidents",
    "clinic",
    "ratelimit",
    "publish",
    "ingest",
    "alerts",
];

/// Parses and validates config text. `Err` holds every problem found.
///
/// Each section (and each `[[channels]]` entry) is read on its own, so a wrong value in one
/// does not hide the problems in the others.
pub fn parse(raw: &str) -> Result<Config, Vec<Problem>> {
    let tree = toml::de::DeTable::parse(raw).map_err(|e| vec![value_problem(raw, &e, &key(&["(syntax)"]))])?;
    let root = tree.get_ref();
    let mut problems = Vec::new();
    for (k, _) in root.iter() {
        if !SECTIONS.contains(&k.get_ref().as_ref()) {
            problems.push(Problem {
                key: k.get_ref().to_string(),
                line: Some(line_of(raw, k.span().start)),
                message: "unknown section (check the spelling against config.example.toml)".into(),
            });
        }
    }
    let read = |name: &str| root.get(name).map(|v| (v.clone(), vec![name.to_string()]));
    let irc: Option<IrcConfig> = required(raw, root, read("irc"), "irc", &mut problems);
    let storage: Option<StorageConfig> = required(raw, root, read("storage"), "storage", &mut problems);
    let access: Option<AccessConfig> = optional(raw, root, read("access"), &mut problems);
    let commands: Option<CommandsConfig> = optional(raw, root, read("commands"), &mut problems);
    let sal: Option<SalConfig> = optional(raw, root, read("sal"), &mut problems);
    let web: Option<WebConfig> = optional(raw, root, read("web"), &mut problems);
    let incidents: Option<IncidentsConfig> = optional(raw, root, read("incidents"), &mut problems);
    let publish: Option<PublishConfig> = optional(raw, root, read("publish"), &mut problems);
    let clinic: Option<ClinicConfig> = optional(raw, root, read("clinic"), &mut problems);
    let ratelimit: Option<crate::ratelimit::RateLimitConfig> = optional(raw, root, read("ratelimit"), &mut problems);
    let ingest: Option<crate::ingest::IngestConfig> = optional(raw, root, read("ingest"), &mut problems);
    let alerts: Option<Option<crate::alerts::config::AlertsConfig>> =
        optional(raw, root, read("alerts"), &mut problems);
    let mut channels = Vec::new();
    let mut channels_ok = true;
    if let Some(value) = root.get("channels") {
        match value.get_ref() {
            toml::de::DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = vec!["channels".to_string(), i.to_string()];
                    match section::<ChannelConfig>(raw, root, item.clone(), path, &mut problems) {
                        Some(c) => channels.push(c),
                        None => channels_ok = false,
                    }
                }
            }
            _ => {
                channels_ok = false;
                problems.push(Problem {
                    key: "channels".into(),
                    line: locate(raw, root, &["channels".to_string()]),
                    message: "must be a list of [[channels]] tables".into(),
                });
            }
        }
    }
    if let (Some(irc), Some(storage), true) = (irc, storage, channels_ok) {
        let config = Config {
            irc,
            channels,
            storage,
            access: access.unwrap_or_default(),
            commands: commands.unwrap_or_default(),
            sal: sal.unwrap_or_default(),
            web: web.unwrap_or_default(),
            incidents: incidents.unwrap_or_default(),
            publish: publish.unwrap_or_default(),
            clinic: clinic.unwrap_or_default(),
            ratelimit: ratelimit.unwrap_or_default(),
            ingest: ingest.unwrap_or_default(),
            alerts: alerts.flatten(),
            clock: crate::clock::Clock::System,
        };
        for (segments, message) in validate(&config) {
            problems.push(Problem { key: segments.join("."), line: locate(raw, root, &segments), message });
        }
        if problems.is_empty() {
            return Ok(config);
        }
    }
    Err(problems)
}

type Found<'i> = Option<(toml::Spanned<toml::de::DeValue<'i>>, Vec<String>)>;

fn required<T: serde::de::DeserializeOwned>(
    raw: &str,
    root: &toml::de::DeTable<'_>,
    found: Found<'_>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match found {
        Some((value, path)) => section(raw, root, value, path, problems),
        None => {
            problems.push(Problem { key: name.into(), line: None, message: format!("missing section [{name}]") });
            None
        }
    }
}

fn optional<T: serde::de::DeserializeOwned + Default>(
    raw: &str,
    root: &toml::de::DeTable<'_>,
    found: Found<'_>,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match found {
        Some((value, path)) => section(raw, root, value, path, problems),
        None => Some(T::default()),
    }
}

/// Reads one section, reporting every unknown key in it and every bad value, each with its key.
///
/// serde stops at the first bad value, so a bad key is reported and taken out of the section,
/// and the section is read again, until it reads or a problem cannot be pinned to a key.
fn section<T: serde::de::DeserializeOwned>(
    raw: &str,
    root: &toml::de::DeTable<'_>,
    mut value: toml::Spanned<toml::de::DeValue<'_>>,
    path: Vec<String>,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let mut unknown: Vec<Vec<String>> = Vec::new();
    let mut removed: Vec<Vec<String>> = Vec::new();
    let result = loop {
        let mut seen = Vec::new();
        let result: Result<T, _> = serde_ignored::deserialize(toml::de::ValueDeserializer::from(value.clone()), |p| {
            seen.push(path_segments(&p))
        });
        for segments in seen {
            if !unknown.contains(&segments) {
                unknown.push(segments);
            }
        }
        let e = match result {
            Ok(v) => break Some(v),
            Err(e) => e,
        };
        let at = e.span().and_then(|span| words::key_at(&value, span));
        let full = |rel: &[String]| -> Vec<String> { path.iter().cloned().chain(rel.iter().cloned()).collect() };
        match at {
            Some(rel) if !rel.is_empty() && words::remove(&mut value, &rel) => {
                problems.push(value_problem(raw, &e, &full(&rel)));
                removed.push(rel);
            }
            _ => {
                // A required key we took out for being bad is missing now: said already.
                let missing = words::missing_field(e.message());
                if !missing.is_some_and(|m| removed.iter().any(|r| r.last().is_some_and(|l| *l == m))) {
                    let mut key = path.clone();
                    key.extend(at.unwrap_or_default());
                    key.extend(missing.map(String::from));
                    problems.push(value_problem(raw, &e, &key));
                }
                break None;
            }
        }
    };
    for segments in unknown {
        let full: Vec<String> = path.iter().cloned().chain(segments).collect();
        problems.push(Problem {
            key: full.join("."),
            line: locate(raw, root, &full),
            message: "unknown key (check the spelling against config.example.toml)".into(),
        });
    }
    result.filter(|_| removed.is_empty())
}

const SECRET_KEYS: &[&str] = &["password", "key", "token", "secret"];

fn value_problem(raw: &str, e: &toml::de::Error, key: &[String]) -> Problem {
    let line = e.span().map(|s| line_of(raw, s.start));
    // The message may quote the offending value; hide it when that line holds a secret.
    let on_secret_line = line
        .and_then(|l| raw.lines().nth(l - 1))
        .map(|text| text.split('=').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|key| SECRET_KEYS.iter().any(|s| key == *s));
    let key = key.join(".");
    let message = if on_secret_line {
        "invalid value (not shown: it is a secret)".to_string()
    } else {
        words::in_words(e.message().trim(), &key)
    };
    Problem { key, line, message }
}

fn line_of(raw: &str, offset: usize) -> usize {
    raw[..offset.min(raw.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

fn path_segments(path: &serde_ignored::Path<'_>) -> Vec<String> {
    use serde_ignored::Path;
    match path {
        Path::Root => Vec::new(),
        Path::Seq { parent, index } => {
            let mut v = path_segments(parent);
            v.push(index.to_string());
            v
        }
        Path::Map { parent, key } => {
            let mut v = path_segments(parent);
            v.push(key.clone());
            v
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            path_segments(parent)
        }
    }
}

/// The line of the key at `segments` in the document, walking the parsed tree with its spans.
fn locate(raw: &str, root: &toml::de::DeTable<'_>, segments: &[String]) -> Option<usize> {
    use toml::de::DeValue;
    let mut table = root;
    let mut array: Option<&toml::de::DeArray<'_>> = None;
    let mut line = None;
    for seg in segments {
        let value = if let Some(items) = array.take() {
            items.get(seg.parse::<usize>().ok()?)?
        } else {
            let (key, value) = table.get_key_value(seg.as_str())?;
            line = Some(line_of(raw, key.span().start));
            value
        };
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    line
}

fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn valid_nick(nick: &str) -> bool {
    let mut chars = nick.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || "[]\\`_^{|}".contains(c));
    first_ok && nick.len() <= 30 && nick.chars().all(|c| c.is_ascii_alphanumeric() || "[]\\`_^{|}-".contains(c))
}

pub fn valid_channel(name: &str) -> bool {
    name.len() > 1
        && name.len() <= 50
        && (name.starts_with('#') || name.starts_with('&'))
        && !name.chars().any(|c| matches!(c, ' ' | ',' | '\x07' | '\r' | '\n' | '\0' | ':'))
}

/// Things that are allowed but probably not meant; `check-config` prints them without failing.
/// (The bot runs with them: a database directory that appears later is used from then on.)
pub fn warnings(c: &Config) -> Vec<String> {
    let mut w = Vec::new();
    let parent = c.storage.database.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        w.push(format!(
            "storage.database: directory {} does not exist: every !log will be refused until it does",
            parent.display()
        ));
    }
    if c.irc.tls && !c.irc.tls_verify {
        w.push("irc.tls_verify = false: the server's certificate is not checked".into());
    }
    if c.irc.sasl.is_none() && c.channels.iter().any(|ch| ch.role == ChannelRole::Security) {
        w.push("a security channel is configured without [irc.sasl]: the bot joins it unidentified".into());
    }
    if !c.sal.mask_ips {
        w.push("sal.mask_ips = false: IP addresses in entries are published as they are".into());
    }
    w
}

/// Semantic checks: each problem as (key path, message).
fn validate(c: &Config) -> Vec<(Vec<String>, String)> {
    let mut p = crate::alerts::config::validate(c);
    let irc = &c.irc;
    if irc.server.trim().is_empty() {
        p.push((key(&["irc", "server"]), "must not be empty".into()));
    }
    if irc.port == 0 {
        p.push((key(&["irc", "port"]), "must be between 1 and 65535".into()));
    }
    if !valid_nick(&irc.nick) {
        p.push((key(&["irc", "nick"]), format!("{:?} is not a valid IRC nick", irc.nick)));
    }
    for (i, n) in irc.alt_nicks.iter().enumerate() {
        if !valid_nick(n) {
            p.push((key(&["irc", "alt_nicks", &i.to_string()]), format!("{n:?} is not a valid IRC nick")));
        }
    }
    if let Some(u) = &irc.username {
        if u.is_empty() || u.contains([' ', '@', '\r', '\n', '\0']) {
            p.push((key(&["irc", "username"]), "must be one word without '@'".into()));
        }
    }
    for (name, file) in
        [("tls_ca_file", &irc.tls_ca_file), ("tls_cert_file", &irc.tls_cert_file), ("tls_key_file", &irc.tls_key_file)]
    {
        if let Some(f) = file {
            // A CA file serves STS upgrades of a plaintext connection too.
            if !irc.tls && name != "tls_ca_file" {
                p.push((key(&["irc", name]), "is set but tls = false".into()));
            }
            if std::fs::metadata(f).is_err() {
                p.push((key(&["irc", name]), format!("cannot read {}", f.display())));
            }
        }
    }
    if irc.tls_cert_file.is_some() != irc.tls_key_file.is_some() {
        p.push((key(&["irc", "tls_cert_file"]), "tls_cert_file and tls_key_file go together".into()));
    }
    if irc.flood.burst == 0 {
        p.push((key(&["irc", "flood", "burst"]), "must be at least 1".into()));
    }
    let t = &irc.timeouts;
    if t.reconnect_min == 0 || t.reconnect_min > t.reconnect_max {
        p.push((key(&["irc", "timeouts", "reconnect_min"]), "must be at least 1 and not above reconnect_max".into()));
    }
    if t.ping_interval == 0 || t.ping_timeout == 0 {
        p.push((
            key(&["irc", "timeouts", "ping_interval"]),
            "ping_interval and ping_timeout must be at least 1".into(),
        ));
    }
    if let Some(s) = &irc.sasl {
        p.extend(crate::irc_checks::sasl_problems(irc, s));
    }
    p.extend(crate::irc_checks::fingerprint_problems(irc));
    if c.channels.is_empty() {
        p.push((key(&["channels"]), "no [[channels]]: the bot would sit in no channel".into()));
    }
    for (i, ch) in c.channels.iter().enumerate() {
        let at = |k: &str| key(&["channels", &i.to_string(), k]);
        if !valid_channel(&ch.name) {
            p.push((at("name"), format!("{:?} is not a valid channel name (#name, no spaces or commas)", ch.name)));
        }
        if c.channels[..i].iter().any(|o| crate::irc::casefold_eq(&o.name, &ch.name)) {
            p.push((at("name"), format!("{} is listed twice", ch.name)));
        }
        if ch.key.is_some() && ch.key_file.is_some() {
            p.push((at("key_file"), "set key or key_file, not both".into()));
        } else if let Err(e) = ch.resolve_key() {
            p.push((at("key_file"), e));
        }
    }
    if c.storage.database.as_os_str().is_empty() {
        p.push((key(&["storage", "database"]), "must not be empty".into()));
    }
    for (i, m) in c.access.hostmasks.iter().enumerate() {
        if !(m.contains('!') && m.contains('@')) {
            p.push((key(&["access", "hostmasks", &i.to_string()]), format!("{m:?} is not a nick!user@host pattern")));
        }
    }
    let prefix = &c.commands.prefix;
    if prefix.is_empty() || prefix.contains(char::is_whitespace) || prefix.len() > 4 {
        p.push((key(&["commands", "prefix"]), "must be 1 to 4 non-space characters".into()));
    }
    for (alias, target) in &c.commands.aliases {
        if !crate::cmd::NAMES.contains(&target.as_str()) {
            p.push((
                key(&["commands", "aliases", alias]),
                format!("{target:?} is not a command ({})", crate::cmd::NAMES.join(", ")),
            ));
        }
    }
    let clinic = &c.clinic;
    if let Err(e) = clinic.rule() {
        let k = if e.contains("timezone") {
            "timezone"
        } else if e.contains("time") {
            "handoff_time"
        } else {
            "week_starts"
        };
        p.push((key(&["clinic", k]), e));
    }
    for (i, ch) in clinic.topic_channels.iter().enumerate() {
        if c.channel(ch).is_none() {
            p.push((
                key(&["clinic", "topic_channels", &i.to_string()]),
                format!("{ch} is not one of the [[channels]]"),
            ));
        }
    }
    if clinic.topic_label.trim().is_empty() || clinic.topic_separator.is_empty() {
        p.push((key(&["clinic", "topic_label"]), "topic_label and topic_separator must not be empty".into()));
    }
    let inc = &c.incidents;
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(inc.update_reminder_minutes) || !positive(inc.report_reminder_hours) {
        p.push((key(&["incidents", "update_reminder_minutes"]), "reminder intervals must be above 0".into()));
    }
    if let Some(ch) = &c.sal.private_message_channel {
        if c.channel(ch).is_none() {
            p.push((key(&["sal", "private_message_channel"]), format!("{ch} is not one of the [[channels]]")));
        }
    }
    if let Some(listen) = &c.web.listen {
        if listen.parse::<std::net::SocketAddr>().is_err() {
            p.push((key(&["web", "listen"]), format!("{listen:?} is not an address:port like 127.0.0.1:8080")));
        }
    }
    for (k, v) in [("task_url", &c.web.task_url), ("commit_url", &c.web.commit_url)] {
        if let Some(v) = v {
            if !v.starts_with("http") || !v.contains("{}") {
                p.push((key(&["web", k]), "must be an http(s) URL with {} where the id goes".into()));
            }
        }
    }
    if let Some(url) = &c.web.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            p.push((key(&["web", "base_url"]), "must start with http:// or https://".into()));
        }
    }
    validate_sal_and_publish(c, &mut p);
    p.extend(crate::ingest::validate(c));
    p.extend(crate::publish::phorge::validate(c));
    p
}

/// `[sal]` privacy keys and `[publish.mediawiki]`.
fn validate_sal_and_publish(c: &Config, p: &mut Vec<(Vec<String>, String)>) {
    if !(1..=1440).contains(&c.sal.undo_minutes) {
        p.push((key(&["sal", "undo_minutes"]), "must be 1 to 1440".into()));
    }
    for (i, net) in c.sal.internal_networks.iter().enumerate() {
        if let Err(e) = crate::privacy::Networks::parse(std::slice::from_ref(net)) {
            p.push((key(&["sal", "internal_networks", &i.to_string()]), e));
        }
    }
    let Some(mw) = &c.publish.mediawiki else { return };
    let at = |k: &str| key(&["publish", "mediawiki", k]);
    if !(mw.api_url.starts_with("http://") || mw.api_url.starts_with("https://")) {
        p.push((at("api_url"), "must start with http:// or https://".into()));
    }
    if mw.page.trim().is_empty() || mw.page.contains(['#', '<', '>', '[', ']', '{', '}', '|']) {
        p.push((at("page"), "must be a page title (no # < > [ ] { } |)".into()));
    }
    if let Some(status) = &mw.status_page {
        if status.trim().is_empty() || status.contains(['#', '<', '>', '[', ']', '{', '}', '|']) {
            p.push((at("status_page"), "must be a page title (no # < > [ ] { } |)".into()));
        } else if status.trim().replace(' ', "_") == mw.page.trim().replace(' ', "_") {
            p.push((at("status_page"), "must not be the SAL page".into()));
        }
    }
    if mw.report_prefix.trim().is_empty() || mw.report_prefix.contains(['#', '<', '>', '[', ']', '{', '}', '|']) {
        p.push((at("report_prefix"), "must be the start of a page title (no # < > [ ] { } |)".into()));
    }
    if !mw.username.contains('@') {
        p.push((at("username"), "must be a bot-password login, User@BotName (Special:BotPasswords)".into()));
    }
    if let Err(e) = mw.resolve_password() {
        p.push((at("password_file"), e));
    }
    let timing = (mw.retry_min_seconds, mw.retry_max_seconds, mw.timeout_seconds);
    p.extend(check_sink(c, &["publish", "mediawiki"], &mw.channels, timing));
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"
[irc]
server = "127.0.0.1"
nick = "srebot"
alt_nicks = ["srebot_"]

[irc.sasl]
mechanism = "PLAIN"
account = "srebot"
password = "hunter2-secret"

[[channels]]
name = "#sre"
role = "public"

[[channels]]
name = "#sre-security"
role = "security"

[storage]
database = "srebot.sqlite3"

[access]
accounts = ["alice"]
"##;

    #[test]
    fn good_config_loads_with_defaults() {
        let c = parse(GOOD).expect("valid");
        assert_eq!(c.irc.port, 6667);
        assert_eq!(c.irc.username(), "srebot");
        assert_eq!(c.irc.flood.burst, 4);
        assert_eq!(c.channels[1].role, ChannelRole::Security);
        assert_eq!(c.commands.prefix, "!");
        assert!(c.irc.tls_verify);
    }

    #[test]
    fn every_unknown_key_is_reported_with_its_line() {
        let raw = GOOD
            .replace("nick = \"srebot\"", "nick = \"srebot\"\nnickk = 1")
            .replace("role = \"security\"", "role = \"security\"\nrloe = \"x\"")
            .replace("[access]", "[acess]\nfoo = 1\n[access]");
        let problems = parse(&raw).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert!(keys.contains(&("irc.nickk", Some(5))), "{problems:?}");
        assert!(keys.contains(&("channels.1.rloe", Some(20))), "{problems:?}");
        assert!(keys.iter().any(|(k, _)| *k == "acess"), "{problems:?}");
    }

    #[test]
    fn semantic_problems_are_all_reported() {
        let raw = GOOD
            .replace("\"#sre\"", "\"sre\"")
            .replace("\"srebot_\"", "\"1bad\"")
            .replace("\"alice\"]", "\"alice\"]\nhostmasks = [\"nobang\"]");
        let problems = parse(&raw).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"channels.0.name"), "{problems:?}");
        assert!(keys.contains(&"irc.alt_nicks.0"), "{problems:?}");
        assert!(keys.contains(&"access.hostmasks.0"), "{problems:?}");
        assert_eq!(problems.iter().find(|p| p.key == "channels.0.name").unwrap().line, Some(13));
    }

    #[test]
    fn type_errors_never_show_secrets() {
        let raw = GOOD.replace("password = \"hunter2-secret\"", "password = 12345678");
        let problems = parse(&raw).unwrap_err();
        let text = format!("{problems:?}");
        assert!(!text.contains("12345678"), "{text}");
        assert!(problems.iter().any(|p| p.line == Some(10)), "{text}");
    }

    #[test]
    fn missing_password_file_is_a_problem_and_debug_hides_passwords() {
        let raw = GOOD.replace("password = \"hunter2-secret\"", "password_file = \"/nonexistent/pw\"");
        let problems = parse(&raw).unwrap_err();
        assert!(problems.iter().any(|p| p.key == "irc.sasl.password_file"), "{problems:?}");
        let c = parse(GOOD).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn syntax_errors_have_lines() {
        let problems = parse("[irc]\nserver = \n").unwrap_err();
        assert_eq!(problems[0].line, Some(2));
    }

    #[test]
    fn every_bad_value_and_unknown_key_of_a_section_is_reported_by_key_in_words() {
        // The bad port used to hide everything after it in [irc] and name only the section.
        let raw = GOOD
            .replace("nick = \"srebot\"", "port = \"6667\"\nrelname = \"x\"\ntls = 1\nnick = \"srebot\"")
            .replace("[irc.sasl]", "[irc.flood]\nburst = \"four\"\n[irc.sasl]");
        let problems = parse(&raw).unwrap_err();
        let got: Vec<_> = problems.iter().map(|p| (p.key.as_str(), p.line)).collect();
        for want in
            [("irc.port", Some(4)), ("irc.relname", Some(5)), ("irc.tls", Some(6)), ("irc.flood.burst", Some(11))]
        {
            assert!(got.contains(&want), "{want:?} missing from {problems:#?}");
        }
        let port = problems.iter().find(|p| p.key == "irc.port").unwrap();
        assert!(port.message.contains("a port number from 1 to 65535"), "{port}");
        assert!(!problems.iter().any(|p| p.message.contains("u16") || p.message.contains("u32")), "{problems:#?}");
        assert!(!problems.iter().any(|p| p.key == "irc"), "names keys, not the section: {problems:#?}");
    }

    #[test]
    fn bad_enum_value_is_reported() {
        let problems = parse(&GOOD.replace("\"public\"", "\"open\"")).unwrap_err();
        assert!(problems[0].message.contains("public") || problems[0].message.contains("variant"), "{problems:?}");
        assert_eq!(problems[0].line, Some(14));
    }
}

#[cfg(test)]
mod sal_publish_tests {
    use super::*;
    use crate::testing::config_text as base;

    fn keys(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.key.as_str()).collect()
    }

    #[test]
    fn sal_privacy_defaults_and_checks() {
        let c = parse(&base("")).unwrap();
        assert!(c.sal.mask_ips, "masking is on by default");
        assert_eq!((c.sal.undo_minutes, c.sal.internal_networks.len()), (15, 0));
        assert!(c.publish.mediawiki.is_none());
        let bad = parse(&base("[sal]\nundo_minutes = 0\ninternal_networks = [\"10.0.0.0/8\", \"10.64.0.0/1\"]\n"))
            .unwrap_err();
        assert_eq!(keys(&bad), vec!["sal.undo_minutes", "sal.internal_networks.1"]);
        assert!(bad[1].message.contains("host bits"), "{bad:?}");
        let off = parse(&base("[sal]\nmask_ips = false\n")).unwrap();
        assert!(warnings(&off).iter().any(|w| w.contains("mask_ips = false")));
    }

    #[test]
    fn the_status_page_and_report_prefix_are_titles() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "abcdefghijklmnopqrstuvwxyz234567\n").unwrap();
        let with = |keys: &str| {
            let mw = format!(
                "[publish.mediawiki]\napi_url = \"https://wiki.example.org/w/api.php\"\npage = \"Tech:Server admin log\"\n\
                 username = \"Srebot@sal\"\npassword_file = {pw:?}\n{keys}"
            );
            parse(&format!("[irc]\nserver = \"irc.example.org\"\nnick = \"srebot\"\n[[channels]]\nname = \"#sre\"\nrole = \"public\"\n[storage]\ndatabase = \"x\"\n{mw}"))
        };
        let c = with("status_page = \"Tech:Status\"\n").unwrap();
        let mw = c.publish.mediawiki.unwrap();
        assert_eq!((mw.status_page.as_deref(), mw.report_prefix.as_str()), (Some("Tech:Status"), "Tech:Incidents/"));
        for (keys, wrong) in [
            ("status_page = \"Tech:Server_admin_log\"\n", "publish.mediawiki.status_page"),
            ("status_page = \"A|B\"\n", "publish.mediawiki.status_page"),
            ("report_prefix = \"\"\n", "publish.mediawiki.report_prefix"),
        ] {
            let keys_wrong: Vec<String> = with(keys).unwrap_err().into_iter().map(|p| p.key).collect();
            assert_eq!(keys_wrong, [wrong], "{keys}");
        }
    }

    #[test]
    fn mediawiki_section_is_checked_and_its_password_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("bot-password");
        std::fs::write(&pw, "s3cr3tbotpasswordvalue0123456789\n").unwrap();
        let good = format!(
            "[publish.mediawiki]\napi_url = \"https://wiki.example.org/w/api.php\"\npage = \"Tech:Server_admin_log\"\n\
             username = \"Srebot@sal\"\npassword_file = {pw:?}\n"
        );
        let c = parse(&base(&good)).unwrap();
        let mw = c.publish.mediawiki.clone().unwrap();
        assert_eq!((mw.retry_min_seconds, mw.retry_max_seconds, mw.timeout_seconds), (10, 900, 30));
        assert_eq!(mw.resolve_password().unwrap().expose(), "s3cr3tbotpasswordvalue0123456789");
        assert!(mw.publishes(&c, "#SRE") && !mw.publishes(&c, "#sre-security") && !mw.publishes(&c, "#other"));
        assert!(!format!("{mw:?}").contains("s3cr3t"));
        let bad = parse(&base(
            "[publish.mediawiki]\napi_url = \"wiki.example.org\"\npage = \"A|B\"\nusername = \"Srebot\"\n\
             password_file = \"/nonexistent/pw\"\nchannels = [\"#sre-security\", \"#nope\"]\nretry_min_seconds = 0\n\
             timeout_seconds = 0\nunknown = 1\n",
        ))
        .unwrap_err();
        let mut got = keys(&bad);
        got.sort();
        assert_eq!(
            got,
            vec![
                "publish.mediawiki.api_url",
                "publish.mediawiki.channels.0",
                "publish.mediawiki.channels.1",
                "publish.mediawiki.page",
                "publish.mediawiki.password_file",
                "publish.mediawiki.retry_min_seconds",
                "publish.mediawiki.timeout_seconds",
                "publish.mediawiki.unknown",
                "publish.mediawiki.username",
            ]
        );
        assert!(bad.iter().all(|p| p.line.is_some() || p.key.ends_with("password_file")), "{bad:?}");
    }
}
