//! STS (IRCv3 Strict Transport Security) policies, as the connection layer sees them.
//!
//! A server that offers `sts` over TLS asks us to use only TLS with it for a while; the driver
//! keeps that policy and hands every change to a [`StsPolicies`] the application gives it, which
//! stores it (in SQLite) so that it holds across restarts. The connection layer knows nothing
//! of where it goes.

use chrono::{DateTime, Utc};

/// Only TLS, to this port, with this host until `expires`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StsPolicy {
    pub port: u16,
    pub expires: DateTime<Utc>,
}

impl StsPolicy {
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        now < self.expires
    }
}

/// Where the driver reports policy changes: `Some` to keep (replacing any earlier), `None` to
/// forget (`duration=0`).
pub trait StsPolicies: Send + Sync {
    fn remember(&self, host: &str, policy: Option<StsPolicy>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_holds_until_it_expires() {
        let now = Utc::now();
        let p = StsPolicy { port: 6697, expires: now + chrono::Duration::seconds(10) };
        assert!(p.in_force(now));
        assert!(!p.in_force(now + chrono::Duration::seconds(10)));
    }
}
