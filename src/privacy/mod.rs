//! Privacy guards for what the bot stores and publishes.
//!
//! - [`secrets`]: refusing `!log` lines that look like they carry a secret.
//! - [`ip`]: masking IP addresses in anything that leaves the team (web, wiki, feeds).
//! - [`Privacy`]: the one place that decides what of an entry may leave the team: nothing of a
//!   hidden (undone, redacted) or private (security-channel) entry, and IP addresses masked
//!   unless in `[sal] internal_networks`.
//!
//! The guards are heuristics. The SRE guide asks us never to publish passwords, private keys or IP
//! addresses; these functions catch the common slips, they do not make a log line safe to publish
//! by themselves.

pub(crate) mod ip;
pub(crate) mod secrets;

pub(crate) use ip::{mask_ips, Networks};
pub(crate) use secrets::looks_like_secret;

use crate::config::SalConfig;
use crate::store::sal::Entry;
use std::borrow::Cow;

/// What of an entry may be published.
#[derive(Debug, Clone)]
pub(crate) struct Privacy {
    mask_ips: bool,
    internal: Networks,
}

impl Privacy {
    pub(crate) fn from_config(sal: &SalConfig) -> Privacy {
        // The config check refuses bad networks; should one slip through, masking everything is
        // the safe side of the mistake.
        let internal = Networks::parse(&sal.internal_networks).unwrap_or_default();
        Privacy { mask_ips: sal.mask_ips, internal }
    }

    /// Text made publishable: IP addresses outside the internal networks masked.
    pub(crate) fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.mask_ips {
            mask_ips(text, &self.internal)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// The entry's text as it may be published, or None when it may not be published at all.
    pub(crate) fn publishable(&self, e: &Entry) -> Option<String> {
        if e.is_hidden() || e.private {
            return None;
        }
        Some(self.text(&e.message).into_owned())
    }
}
