//! Semantic checks of a parsed config, each problem as (key path, message).

use super::*;

pub(super) fn key(parts: &[&str]) -> Vec<String> {
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

/// `config`'s own semantic checks: each problem as (key path, message). Checks that need
/// another module's knowledge come in as `Check`s (see `app`).
pub(super) fn validate(c: &Config) -> Vec<(Vec<String>, String)> {
    let mut p = Vec::new();
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
    if c.channels.is_empty() {
        p.push((key(&["channels"]), "no [[channels]]: the bot would sit in no channel".into()));
    }
    for (i, ch) in c.channels.iter().enumerate() {
        let at = |k: &str| key(&["channels", &i.to_string(), k]);
        if !valid_channel(ch.name.as_str()) {
            p.push((at("name"), format!("{:?} is not a valid channel name (#name, no spaces or commas)", ch.name)));
        }
        if c.channels[..i].iter().any(|o| o.name == ch.name) {
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
    let clinic = &c.clinic;
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
    p
}

/// `[sal]` privacy keys and `[publish.mediawiki]`.
fn validate_sal_and_publish(c: &Config, p: &mut Vec<(Vec<String>, String)>) {
    if !(1..=1440).contains(&c.sal.undo_minutes) {
        p.push((key(&["sal", "undo_minutes"]), "must be 1 to 1440".into()));
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
