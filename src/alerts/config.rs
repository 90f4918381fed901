//! `[alerts]`: who may send alerts, where they go, and the Alertmanager that `!silence` talks to.

use crate::config::{ChannelRole, Config, Secret};
use std::collections::BTreeMap;

pub use crate::config::AlertsConfig;

impl AlertsConfig {
    /// The bearer token, when one is configured.
    pub fn token(&self) -> Result<Option<Secret>, String> {
        let Some(path) = &self.token_file else { return Ok(None) };
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {}", path.display(), e.kind()))?;
        let token = text.lines().next().unwrap_or("").trim().to_string();
        if token.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        Ok(Some(Secret(token)))
    }
}

/// Problems of `[alerts]`, as (key path, message).
pub fn validate(c: &Config) -> Vec<(Vec<String>, String)> {
    let Some(a) = &c.alerts else { return Vec::new() };
    let key = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut p = Vec::new();
    if a.token_file.is_none() && !a.loopback_only {
        p.push((
            key(&["alerts"]),
            "set token_file, or loopback_only = true: alerts are never taken from anyone".into(),
        ));
    }
    if let Err(e) = a.token() {
        p.push((key(&["alerts", "token_file"]), e));
    }
    if let Some(url) = &a.alertmanager_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            p.push((key(&["alerts", "alertmanager_url"]), "must start with http:// or https://".into()));
        }
    }
    if a.fold_after == 0 {
        p.push((key(&["alerts", "fold_after"]), "must be at least 1".into()));
    }
    for (i, r) in a.routes.iter().enumerate() {
        for (j, ch) in r.channels.iter().enumerate() {
            if c.channel(ch).is_none() {
                p.push((
                    key(&["alerts", "routes", &i.to_string(), "channels", &j.to_string()]),
                    format!("{ch:?} is not one of the [[channels]]"),
                ));
            }
        }
    }
    p
}

/// The channels an alert with `labels` goes to. A route that names a security channel makes the
/// alert private: it then goes to the security channels alone, never to a public one.
pub fn route(c: &Config, labels: &BTreeMap<String, String>) -> (Vec<String>, bool) {
    let Some(a) = &c.alerts else { return (Vec::new(), false) };
    let mut channels: Vec<String> = Vec::new();
    for r in &a.routes {
        if r.matches.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            for ch in &r.channels {
                if let Some(conf) = c.channel(ch) {
                    if !channels.iter().any(|have| conf.name == have.as_str()) {
                        channels.push(conf.name.to_string());
                    }
                }
            }
        }
    }
    let security = |name: &String| c.channel(name).is_some_and(|ch| ch.role == ChannelRole::Security);
    let private = channels.iter().any(security);
    if private {
        channels.retain(security);
    }
    (channels, private)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[irc]\nserver = \"irc.example.org\"\nnick = \"srebot\"\n[storage]\ndatabase = \"/tmp/x.db\"\n\
                        [[channels]]\nname = \"#sre\"\nrole = \"public\"\n[[channels]]\nname = \"#ops\"\nrole = \"public\"\n\
                        [[channels]]\nname = \"#sec\"\nrole = \"security\"\n";

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn routes_add_channels_and_a_security_route_keeps_the_alert_private() {
        let c = crate::app::parse_config(&format!(
            "{BASE}[alerts]\nloopback_only = true\n[[alerts.routes]]\nchannels = [\"#SRE\"]\n\
             [[alerts.routes]]\nmatch = {{ severity = \"critical\" }}\nchannels = [\"#ops\", \"#sre\"]\n\
             [[alerts.routes]]\nmatch = {{ team = \"security\" }}\nchannels = [\"#sec\"]\n"
        ))
        .unwrap();
        assert_eq!(route(&c, &labels(&[("severity", "warning")])), (vec!["#sre".to_string()], false));
        assert_eq!(route(&c, &labels(&[("severity", "critical")])), (vec!["#sre".to_string(), "#ops".into()], false));
        let private = route(&c, &labels(&[("severity", "critical"), ("team", "security")]));
        assert_eq!(private, (vec!["#sec".to_string()], true), "never a public channel too");
    }

    #[test]
    fn check_config_names_what_is_wrong() {
        let problems = crate::app::parse_config(&format!(
            "{BASE}[alerts]\nfold_after = 0\nalertmanager_url = \"am:9093\"\n[[alerts.routes]]\nchannels = [\"#nowhere\"]\n"
        ))
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        for wanted in [
            "alerts: set token_file, or loopback_only = true",
            "alerts.alertmanager_url: must start with http",
            "alerts.fold_after: must be at least 1",
            "alerts.routes.0.channels.0: \"#nowhere\" is not one of the [[channels]]",
        ] {
            assert!(text.iter().any(|t| t.contains(wanted)), "{wanted} not in {text:#?}");
        }
        let missing = crate::app::parse_config(&format!("{BASE}[alerts]\ntoken_file = \"/nonexistent/token\"\n"));
        assert!(missing.unwrap_err().iter().any(|p| p.key == "alerts.token_file"));
        let typo = crate::app::parse_config(&format!("{BASE}[alerts]\nloopback_only = true\nfold_aftr = 3\n"));
        assert!(typo.unwrap_err().iter().any(|p| p.key == "alerts.fold_aftr"));
    }
}
