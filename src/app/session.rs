//! From the config to the connection layer's settings: the one place that knows both.

use crate::{cmd, config, irc};

/// Builds the connection layer's settings from the config, reading secret files.
pub fn session_settings(c: &config::Config) -> Result<(irc::session::Settings, irc::driver::Connector), String> {
    use irc::sasl::{Credentials, Mechanism};
    use irc::session::{SaslLogin, Settings};
    use std::time::Duration;
    let i = &c.irc;
    let sasl = match &i.sasl {
        None => None,
        Some(s) => {
            let mechanisms: Vec<Mechanism> = s
                .mechanisms()
                .into_iter()
                .map(|m| match m {
                    config::SaslMechanism::Plain => Mechanism::Plain,
                    config::SaslMechanism::External => Mechanism::External,
                    config::SaslMechanism::ScramSha256 => Mechanism::ScramSha256,
                    config::SaslMechanism::EcdsaNist256pChallenge => Mechanism::EcdsaNist256pChallenge,
                })
                .collect();
            let needs_password = mechanisms.iter().any(|m| matches!(m, Mechanism::Plain | Mechanism::ScramSha256));
            let password =
                if needs_password { Some(s.resolve_password().map_err(|e| format!("irc.sasl: {e}"))?) } else { None };
            let key = s.resolve_key().map_err(|e| format!("irc.sasl.key_file: {e}"))?;
            let credentials = Credentials { account: s.account.clone().unwrap_or_default(), password, key };
            Some(SaslLogin { mechanisms, credentials })
        }
    };
    let channels = join_targets(c)?;
    let t = &i.timeouts;
    let secs = Duration::from_secs;
    let settings = Settings {
        nick: i.nick.clone(),
        alt_nicks: i.alt_nicks.clone(),
        username: i.username().to_string(),
        realname: i.realname().to_string(),
        sasl,
        channels,
        ping_interval: secs(t.ping_interval),
        ping_timeout: secs(t.ping_timeout),
        register_timeout: secs(t.connect + t.ping_timeout),
        rejoin: secs(t.rejoin),
        rejoin_max: secs(t.reconnect_max),
        nick_regain: secs(t.nick_regain),
        sasl_wait: secs(t.sasl_wait),
        version: format!("srebot {}", env!("CARGO_PKG_VERSION")),
    };
    let connector = irc::driver::Connector {
        server: i.server.clone(),
        port: i.port,
        tls: irc::transport::Tls::from_config(i)?,
        connect_timeout: secs(t.connect),
        reconnect_min: secs(t.reconnect_min),
        reconnect_max: secs(t.reconnect_max),
        flood: i.flood.clone(),
        sts_tls: if i.tls { None } else { Some(irc::transport::Tls::for_sts(i)?) },
        sts_policy: None,
        sts_store: None,
        ack_line: cmd::log::ack_line,
    };
    Ok((settings, connector))
}

/// The channels to be in, keys read from their files.
pub fn join_targets(c: &config::Config) -> Result<Vec<irc::session::JoinTarget>, String> {
    c.channels
        .iter()
        .map(|ch| {
            Ok(irc::session::JoinTarget {
                name: ch.name.to_string(),
                key: ch.resolve_key().map_err(|e| format!("channel {}: {e}", ch.name))?,
                security: ch.role == config::ChannelRole::Security,
            })
        })
        .collect()
}
