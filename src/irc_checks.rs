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

/// Every login and TLS problem of `[irc]`: a `config::Check`.
pub(crate) fn problems(c: &crate::config::Config) -> Vec<Problem> {
    let mut p = c.irc.sasl.as_ref().map(|s| sasl_problems(&c.irc, s)).unwrap_or_default();
    p.extend(fingerprint_problems(&c.irc));
    p
}

#[cfg(test)]
mod tests {
    use crate::app::parse_config as parse;
    use crate::config::SaslMechanism;

    fn config(irc: &str, sasl: &str) -> String {
        format!(
            "[irc]\nserver = \"127.0.0.1\"\nnick = \"srebot\"\n{irc}\n[irc.sasl]\naccount = \"srebot\"\npassword = \"pw\"\n{sasl}\n\
             [[channels]]\nname = \"#sre\"\nrole = \"public\"\n[storage]\ndatabase = \"x.sqlite3\"\n"
        )
    }

    fn keys(raw: &str) -> Vec<String> {
        parse(raw).err().unwrap_or_default().into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn mechanisms_old_and_new_forms() {
        let c = parse(&config("", "mechanisms = [\"SCRAM-SHA-256\", \"PLAIN\"]")).unwrap();
        let sasl = c.irc.sasl.unwrap();
        assert_eq!(sasl.mechanisms(), vec![SaslMechanism::ScramSha256, SaslMechanism::Plain]);
        // The form configs have today, in either case, and no mechanism at all (PLAIN).
        for old in ["mechanism = \"PLAIN\"", "mechanism = \"plain\"", ""] {
            assert_eq!(parse(&config("", old)).unwrap().irc.sasl.unwrap().mechanisms(), vec![SaslMechanism::Plain]);
        }
        assert_eq!(keys(&config("", "mechanism = \"PLAIN\"\nmechanisms = [\"PLAIN\"]")), vec!["irc.sasl.mechanisms"]);
        // An unknown mechanism is refused (the loader names the section for type errors).
        assert!(!keys(&config("", "mechanisms = [\"DIGEST-MD5\"]")).is_empty());
    }

    #[test]
    fn each_mechanism_gets_what_it_needs() {
        assert_eq!(keys(&config("", "mechanisms = [\"ECDSA-NIST256P-CHALLENGE\"]")), vec!["irc.sasl.key_file"]);
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a key").unwrap();
        let with_key = format!("mechanisms = [\"ECDSA-NIST256P-CHALLENGE\"]\nkey_file = {bad:?}");
        assert_eq!(keys(&config("", &with_key)), vec!["irc.sasl.key_file"]);
        let good = dir.path().join("good.pem");
        std::fs::write(&good, crate::irc::sasl::tests::TEST_KEY).unwrap();
        let with_key = format!("mechanisms = [\"ECDSA-NIST256P-CHALLENGE\"]\nkey_file = {good:?}");
        assert!(keys(&config("", &with_key)).is_empty());
        assert_eq!(keys(&config("", "mechanisms = [\"EXTERNAL\"]")), vec!["irc.sasl.mechanisms"]);
    }

    #[test]
    fn fingerprints_must_be_sha256_hex() {
        let good = format!("tls = true\ntls_fingerprints = [\"sha256:{}\"]", ["0a"; 32].join(":"));
        assert!(keys(&config(&good, "")).is_empty());
        assert_eq!(keys(&config("tls = true\ntls_fingerprints = [\"md5:00\"]", "")), vec!["irc.tls_fingerprints.0"]);
    }
}
