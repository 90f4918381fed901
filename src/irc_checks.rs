//! `check-config` for the connection's login and TLS settings: SASL mechanisms and what each
//! needs, pinned certificate fingerprints. Kept apart from `config` so the rules for each
//! mechanism sit together.

use crate::config::{IrcConfig, SaslConfig, SaslMechanism};

type Problem = (Vec<String>, String);

fn at(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// What is missing or wrong for the configured SASL mechanisms.
pub(crate) fn sasl_problems(irc: &IrcConfig, s: &SaslConfig) -> Vec<Problem> {
    let mut p = Vec::new();
    if s.mechanism.is_some() && !s.mechanisms.is_empty() {
        p.push((at(&["irc", "sasl", "mechanisms"]), "set mechanism or mechanisms, not both".into()));
    }
    let mechanisms = s.mechanisms();
    let needs_account = mechanisms.iter().any(|m| *m != SaslMechanism::External);
    let needs_password = mechanisms.iter().any(|m| matches!(m, SaslMechanism::Plain | SaslMechanism::ScramSha256));
    if needs_account && s.account.as_deref().is_none_or(str::is_empty) {
        p.push((
            at(&["irc", "sasl", "account"]),
            "PLAIN, SCRAM-SHA-256 and ECDSA-NIST256P-CHALLENGE need an account".into(),
        ));
    }
    if needs_password {
        if s.password.is_some() && s.password_file.is_some() {
            p.push((at(&["irc", "sasl", "password_file"]), "set password or password_file, not both".into()));
        } else if let Err(e) = s.resolve_password() {
            let k = if s.password_file.is_some() { "password_file" } else { "password" };
            p.push((at(&["irc", "sasl", k]), e));
        }
    }
    if mechanisms.contains(&SaslMechanism::EcdsaNist256pChallenge) {
        match s.resolve_key() {
            Ok(Some(_)) => {}
            Ok(None) => p.push((at(&["irc", "sasl", "key_file"]), "ECDSA-NIST256P-CHALLENGE needs key_file".into())),
            Err(e) => p.push((at(&["irc", "sasl", "key_file"]), e)),
        }
    }
    if mechanisms.contains(&SaslMechanism::External) && (!irc.tls || irc.tls_cert_file.is_none()) {
        let k = if s.mechanism.is_some() { "mechanism" } else { "mechanisms" };
        p.push((at(&["irc", "sasl", k]), "EXTERNAL needs tls = true and tls_cert_file/tls_key_file".into()));
    }
    p
}

/// Each pinned fingerprint must read as `sha256:` and 32 bytes of hex (colons allowed). With
/// `tls = false` they still pin the certificate of an STS upgrade.
pub(crate) fn fingerprint_problems(irc: &IrcConfig) -> Vec<Problem> {
    let mut p = Vec::new();
    for (i, f) in irc.tls_fingerprints.iter().enumerate() {
        if crate::irc::transport::parse_fingerprint(f).is_none() {
            p.push((
                at(&["irc", "tls_fingerprints", &i.to_string()]),
                format!("{f:?} is not sha256: and 64 hex digits (openssl x509 -noout -fingerprint -sha256)"),
            ));
        }
    }
    p
}
