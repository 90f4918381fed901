//! Per-user command rate limit: one token bucket per services account (or `user@host` for
//! someone not identified), so a single user spamming commands is answered a few times and
//! told once to slow down, instead of being answered a thousand times (which would also fill
//! the outgoing queue for everyone else and push the bot towards the server's flood limit).
//!
//! Pure: the caller passes the clock in. The bot asks [`RateLimiter::check`] for every
//! recognised command before running it and acts on the [`Verdict`], except for a `!log` from
//! a member or a relay: nothing a member logs is dropped (it waits in `senders` instead).
//!
//! Relay accounts (`[access] relays`) speak for many people (a deploy tool relays every
//! deployer's `!log`), so they get their own, larger bucket (`relay_burst`, `relay_interval_ms`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// More buckets than this are pruned (full ones dropped): a clone flood cannot grow the map
/// without bound.
const MAX_TRACKED: usize = 4096;

pub use crate::config::RateLimitConfig;

/// What to do with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Run it.
    Allow,
    /// Ignore it and tell the user, once, to slow down.
    Warn,
    /// Ignore it silently: the user was already told.
    Drop,
}

#[derive(Debug, Clone, Copy)]
struct Limit {
    burst: f64,
    interval: Duration,
}

impl Limit {
    fn new(burst: u32, interval_ms: u64) -> Limit {
        // A burst of 0 would refuse everything forever; treat it as 1.
        Limit { burst: f64::from(burst.max(1)), interval: Duration::from_millis(interval_ms) }
    }

    fn unlimited(&self) -> bool {
        self.interval.is_zero()
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// Which limit applies (a relay's is larger).
    relay: bool,
    /// We told them to slow down and they have not calmed down since (the bucket has not
    /// refilled completely): further refusals are silent.
    warned: bool,
}

impl Bucket {
    fn refill(&mut self, limit: Limit, now: Instant) {
        let gained = now.saturating_duration_since(self.last).as_secs_f64() / limit.interval.as_secs_f64();
        self.tokens = (self.tokens + gained).min(limit.burst);
        self.last = now;
        if self.tokens >= limit.burst {
            self.warned = false;
        }
    }
}

/// The buckets of everyone who sent a command lately.
#[derive(Debug)]
pub struct RateLimiter {
    normal: Limit,
    relay: Limit,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    pub fn new(config: &RateLimitConfig) -> RateLimiter {
        RateLimiter {
            normal: Limit::new(config.burst, config.interval_ms),
            relay: Limit::new(config.relay_burst, config.relay_interval_ms),
            buckets: HashMap::new(),
        }
    }

    /// Accounts for one command from `key` (see [`key`]) at `now`.
    pub fn check(&mut self, key: &str, relay: bool, now: Instant) -> Verdict {
        let limit = if relay { self.relay } else { self.normal };
        if limit.unlimited() {
            return Verdict::Allow;
        }
        if self.buckets.len() >= MAX_TRACKED && !self.buckets.contains_key(key) {
            self.prune(now);
        }
        let bucket = self.buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: limit.burst,
            last: now,
            relay,
            warned: false,
        });
        bucket.relay = relay;
        bucket.refill(limit, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Verdict::Allow
        } else if bucket.warned {
            Verdict::Drop
        } else {
            bucket.warned = true;
            Verdict::Warn
        }
    }

    /// Forgets the buckets that have refilled (their owners are calm); if a flood of distinct
    /// senders keeps them all busy, forgets everyone (failing open beats growing without bound).
    fn prune(&mut self, now: Instant) {
        let (normal, relay) = (self.normal, self.relay);
        self.buckets.retain(|_, b| {
            let limit = if b.relay { relay } else { normal };
            b.refill(limit, now);
            b.tokens < limit.burst
        });
        if self.buckets.len() >= MAX_TRACKED {
            self.buckets.clear();
        }
    }

    /// How many senders are tracked (for tests).
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

/// Whose bucket a command goes into: the services account when identified (so nick changes
/// and several connections share one), else `user@host`.
pub fn key(sender: &crate::irc::Sender) -> String {
    match &sender.account {
        Some(account) => format!("account:{}", account.to_ascii_lowercase()),
        None => format!("host:{}", sender.userhost().to_ascii_lowercase()),
    }
}

/// The one notice a limited user gets.
pub fn slow_down(nick: &str) -> String {
    format!(
        "{nick}: slow down, too many commands at once. I am ignoring yours for a few seconds (a !log from \
         the access list is never ignored); say anything else again after a pause."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed numbers, so the tests do not follow the defaults: burst 5, one per 2 s; relays 30,
    /// one per 250 ms.
    fn limiter() -> RateLimiter {
        RateLimiter::new(&RateLimitConfig { burst: 5, interval_ms: 2000, relay_burst: 30, relay_interval_ms: 250 })
    }

    #[test]
    fn burst_then_one_warning_then_silence() {
        let mut l = limiter();
        let t = Instant::now();
        for _ in 0..5 {
            assert_eq!(l.check("account:alice", false, t), Verdict::Allow);
        }
        assert_eq!(l.check("account:alice", false, t), Verdict::Warn);
        for i in 0..1000 {
            assert_eq!(l.check("account:alice", false, t + Duration::from_micros(i)), Verdict::Drop);
        }
        // Others are not affected.
        assert_eq!(l.check("account:bob", false, t), Verdict::Allow);
    }

    #[test]
    fn sustained_spam_is_paced_and_warned_only_once() {
        let mut l = limiter();
        let t0 = Instant::now();
        let (mut allowed, mut warned) = (0, 0);
        // 1000 commands over 20 s: the burst of 5, then one per 2 s, and a single notice.
        for i in 0..1000u64 {
            match l.check("host:x@y", false, t0 + Duration::from_millis(i * 20)) {
                Verdict::Allow => allowed += 1,
                Verdict::Warn => warned += 1,
                Verdict::Drop => {}
            }
        }
        assert_eq!(warned, 1);
        assert!((14..=15).contains(&allowed), "{allowed}");
    }

    #[test]
    fn calming_down_resets_the_warning() {
        let mut l = limiter();
        let t = Instant::now();
        for _ in 0..5 {
            l.check("k", false, t);
        }
        assert_eq!(l.check("k", false, t), Verdict::Warn);
        // One token back is not calm yet: still silent after the next refusal.
        let t1 = t + Duration::from_secs(2);
        assert_eq!(l.check("k", false, t1), Verdict::Allow);
        assert_eq!(l.check("k", false, t1), Verdict::Drop);
        // A full refill (10 s) is: the next burst gets its own notice.
        let t2 = t1 + Duration::from_secs(10);
        for _ in 0..5 {
            assert_eq!(l.check("k", false, t2), Verdict::Allow);
        }
        assert_eq!(l.check("k", false, t2), Verdict::Warn);
    }

    #[test]
    fn relays_have_their_own_bigger_bucket_and_zero_interval_disables() {
        let mut l = limiter();
        let t = Instant::now();
        for _ in 0..30 {
            assert_eq!(l.check("account:logbridge", true, t), Verdict::Allow);
        }
        assert_eq!(l.check("account:logbridge", true, t), Verdict::Warn);
        let mut off = RateLimiter::new(&RateLimitConfig { interval_ms: 0, ..RateLimitConfig::default() });
        assert_eq!(RateLimitConfig::default().burst, 10);
        for _ in 0..10_000 {
            assert_eq!(off.check("k", false, t), Verdict::Allow);
        }
        assert_eq!(off.tracked(), 0);
    }

    #[test]
    fn a_clone_flood_cannot_grow_the_map_without_bound() {
        let mut l = limiter();
        let t = Instant::now();
        for i in 0..(3 * MAX_TRACKED) {
            // Each clone sends a burst, so none of them is calm when pruning comes.
            for _ in 0..6 {
                l.check(&format!("host:clone@{i}"), false, t);
            }
        }
        assert!(l.tracked() <= MAX_TRACKED, "{}", l.tracked());
        // Calm senders are pruned rather than everyone being forgotten.
        let mut l = limiter();
        for i in 0..MAX_TRACKED {
            l.check(&format!("host:u@{i}"), false, t);
        }
        l.check("host:new@x", false, t + Duration::from_secs(60));
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn keys_prefer_the_account() {
        use crate::irc::Sender;
        let mut s = Sender { nick: "Alice".into(), user: "al".into(), host: "SRE/alice".into(), account: None };
        assert_eq!(key(&s), "host:al@sre/alice");
        s.account = Some("Alice".into());
        assert_eq!(key(&s), "account:alice");
        assert!(slow_down("Alice").starts_with("Alice: slow down"));
    }
}
