//! STS (IRCv3 Strict Transport Security) policies, as the connection layer sees them.
//!
//! A server that offers `sts` over TLS asks us to use only TLS with it for a while; the driver
//! keeps that policy and hands every change to a [`StsPolicies`] the application gives it, which
//! stores it (in SQLite) so that it holds across restarts. The connection layer knows nothing
//! of where it goes.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// Longer policies are kept this long (ten years): a server asking for more means "for good".
const LONGEST: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Only TLS, to this port, with this host until `expires`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StsPolicy {
    pub port: u16,
    pub expires: DateTime<Utc>,
}

impl StsPolicy {
    /// The policy that `duration=` offered over a TLS connection on `port` makes; `None` for
    /// `duration=0`, which removes the policy.
    pub fn offered(port: u16, duration: Duration, now: DateTime<Utc>) -> Option<StsPolicy> {
        if duration.is_zero() {
            return None;
        }
        let kept = chrono::Duration::from_std(duration.min(LONGEST)).expect("ten years fit");
        Some(StsPolicy { port, expires: now + kept })
    }

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

    #[test]
    fn an_offer_becomes_a_policy_and_duration_0_none() {
        let now = Utc::now();
        let p = StsPolicy::offered(6697, Duration::from_secs(300), now).unwrap();
        assert_eq!(p, StsPolicy { port: 6697, expires: now + chrono::Duration::seconds(300) });
        assert_eq!(StsPolicy::offered(6697, Duration::ZERO, now), None);
        let forever = StsPolicy::offered(6697, Duration::from_secs(u64::MAX), now).unwrap();
        assert!(forever.expires > now + chrono::Duration::days(3000));
    }
}
