//! Where a message was said and who said it, as the commands need it: one value per message,
//! built with the [`Context`](super::Context).

use crate::config::{ChannelRole, Config};
use crate::irc::Incoming;
use crate::names::ChannelName;
use crate::store::Actor;
use chrono::{DateTime, Utc};

/// Which channel, whether it is a security channel, and who (nick, account), when.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The channel it was said in, spelled as configured when it is one of srebot's, else as
    /// the server sent it; `None` for a private message.
    pub channel: Option<ChannelName>,
    /// The channel is one of srebot's `[[channels]]`.
    pub ours: bool,
    /// The channel is one of srebot's security channels.
    pub security: bool,
    pub nick: String,
    /// The services account; `None` when not identified.
    pub account: Option<String>,
    /// `nick!user@host`.
    pub hostmask: String,
    /// When it was said.
    pub at: DateTime<Utc>,
}

impl Origin {
    pub fn of(config: &Config, msg: &Incoming) -> Origin {
        let configured = msg.channel.as_deref().and_then(|c| config.channel(c));
        Origin {
            channel: configured.map(|c| c.name.clone()).or_else(|| msg.channel.as_deref().map(ChannelName::from)),
            ours: configured.is_some(),
            security: configured.is_some_and(|c| c.role == ChannelRole::Security),
            nick: msg.sender.nick.clone(),
            account: msg.sender.account.clone(),
            hostmask: msg.sender.hostmask(),
            at: msg.time,
        }
    }

    /// The channel when it is one of srebot's (`Ok(None)`: a private message), or `Err` with
    /// the name of one that is not (each command refuses in its own words).
    pub fn our_channel(&self) -> Result<Option<&ChannelName>, &ChannelName> {
        match &self.channel {
            Some(c) if !self.ours => Err(c),
            c => Ok(c.as_ref()),
        }
    }

    /// The security channel it was said in, if it was said in one.
    pub fn security_channel(&self) -> Option<&ChannelName> {
        self.channel.as_ref().filter(|_| self.security)
    }

    /// Whether something of `channel` (a log entry, an incident) may be shown here: a private
    /// one only in its own security channel, in any spelling of it.
    pub fn may_see(&self, private: bool, channel: &str) -> bool {
        !private || (self.security && self.said_in(channel))
    }

    /// Whether it was said in `channel` (any spelling of it).
    pub fn said_in(&self, channel: &str) -> bool {
        self.channel.as_ref().is_some_and(|c| c == channel)
    }

    /// Who a change is recorded as where a name is enough: the account, else the hostmask.
    pub fn recorded_as(&self) -> &str {
        self.account.as_deref().unwrap_or(&self.hostmask)
    }

    /// Who, for the store's records of a change.
    pub fn actor(&self) -> Actor {
        Actor { at: self.at, nick: self.nick.clone(), account: self.account.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(channel: Option<&str>, account: Option<&str>) -> Origin {
        let config = crate::testing::config(""); // #sre public, #sre-security security
        let msg = Incoming {
            time: "2026-11-22T12:00:00Z".parse().unwrap(),
            channel: channel.map(Into::into),
            sender: crate::irc::Sender {
                nick: "alice".into(),
                user: "u".into(),
                host: "h".into(),
                account: account.map(Into::into),
            },
            text: String::new(),
        };
        Origin::of(&config, &msg)
    }

    #[test]
    fn a_security_channel_in_the_servers_spelling_is_the_configured_one() {
        let o = said(Some("#SRE-Security"), Some("alice"));
        assert_eq!(o.our_channel().unwrap().map(ChannelName::as_str), Some("#sre-security"), "as configured");
        assert!(o.security && o.may_see(true, "#SRE-SECURITY") && !o.may_see(true, "#sre"));
        assert_eq!(o.actor().account.as_deref(), Some("alice"));
        assert_eq!(o.recorded_as(), "alice");
        let public = said(Some("#SRE"), None);
        assert!(!public.security && public.may_see(false, "#other") && !public.may_see(true, "#sre-security"));
        let private = said(None, None);
        assert_eq!(private.recorded_as(), "alice!u@h");
        assert_eq!(private.our_channel(), Ok(None));
        assert!(!private.may_see(true, "#sre-security"));
        let elsewhere = said(Some("#elsewhere"), None);
        assert_eq!(elsewhere.our_channel().unwrap_err().as_str(), "#elsewhere");
        assert!(!elsewhere.security);
    }
}
