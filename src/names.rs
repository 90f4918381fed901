//! Names as IRC uses them: who sent a message ([`Sender`]) and which channel ([`ChannelName`]).
//! A leaf: the connection layer, config, the commands and the store's callers all speak of
//! channels, so the type that says when two spellings are the same channel sits below them all.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Who sent a message, as far as the server told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub nick: String,
    pub user: String,
    pub host: String,
    /// The services account, `None` when not identified.
    pub account: Option<String>,
}

impl Sender {
    pub fn userhost(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    pub fn hostmask(&self) -> String {
        format!("{}!{}@{}", self.nick, self.user, self.host)
    }
}

/// A channel's name, compared, hashed and ordered as IRC compares names, and shown as it was
/// spelled when made (`#SRE-Security` stays `#SRE-Security` in replies and pages).
///
/// The case rule is RFC 1459's (ASCII letters, and `[]\~` the same as `{}|^`), whatever the
/// server's CASEMAPPING says: it is the widest folding a server may use, so two spellings that
/// any server might call the same channel are never two channels here, and a security
/// channel's privacy can never be lost to a spelling. (The connection layer keeps the server's
/// own CASEMAPPING for its protocol state, see `irc::isupport`.)
///
/// Comparing with a `str` (`name == "#sre"`) follows the same rule. In config and JSON it is a
/// plain string.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct ChannelName(String);

impl ChannelName {
    /// The spelling it was made with.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name folded by the case rule: equal for two names exactly when they are equal.
    pub fn key(&self) -> String {
        self.folded().collect()
    }

    /// Whether `other` names this channel.
    pub fn is(&self, other: &str) -> bool {
        self.0.len() == other.len() && self.folded().eq(other.chars().map(fold_rfc1459))
    }

    fn folded(&self) -> impl Iterator<Item = char> + '_ {
        self.0.chars().map(fold_rfc1459)
    }
}

/// One character by RFC 1459's case rule: ASCII letters, and `[]\~` as `{}|^`.
pub fn fold_rfc1459(c: char) -> char {
    match c {
        '[' => '{',
        ']' => '}',
        '\\' => '|',
        '~' => '^',
        c => c.to_ascii_lowercase(),
    }
}

impl PartialEq for ChannelName {
    fn eq(&self, other: &ChannelName) -> bool {
        self.is(&other.0)
    }
}

impl Eq for ChannelName {}

impl PartialEq<str> for ChannelName {
    fn eq(&self, other: &str) -> bool {
        self.is(other)
    }
}

impl PartialEq<&str> for ChannelName {
    fn eq(&self, other: &&str) -> bool {
        self.is(other)
    }
}

impl Hash for ChannelName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for c in self.folded() {
            c.hash(state);
        }
    }
}

impl Ord for ChannelName {
    fn cmp(&self, other: &ChannelName) -> Ordering {
        self.folded().cmp(other.folded())
    }
}

impl PartialOrd for ChannelName {
    fn partial_cmp(&self, other: &ChannelName) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for ChannelName {
    fn from(name: String) -> ChannelName {
        ChannelName(name)
    }
}

impl From<&str> for ChannelName {
    fn from(name: &str) -> ChannelName {
        ChannelName(name.to_string())
    }
}

impl From<ChannelName> for String {
    fn from(name: ChannelName) -> String {
        name.0
    }
}

impl AsRef<str> for ChannelName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::collections::HashSet;

    fn hash(c: &ChannelName) -> u64 {
        let mut h = DefaultHasher::new();
        c.hash(&mut h);
        h.finish()
    }

    #[test]
    fn folds_ascii_and_the_rfc1459_pairs() {
        let pairs = [("#SRE-Security", "#sre-security"), ("#a[b]", "#A{B}"), ("#x\\y", "#X|Y"), ("#t~", "#T^")];
        for (a, b) in pairs {
            let (a, b) = (ChannelName::from(a), ChannelName::from(b));
            assert_eq!(a, b);
            assert_eq!(hash(&a), hash(&b), "{a} and {b}: equal names hash alike");
            assert_eq!(a.cmp(&b), Ordering::Equal);
            assert_eq!(a.key(), b.key());
            assert!(a == *b.as_str() && b == a.as_str());
        }
        for (a, b) in [("#sre", "#sre2"), ("#sré", "#sRÉ"), ("#a-b", "#a_b"), ("#sre", "&sre")] {
            let (a, b) = (ChannelName::from(a), ChannelName::from(b));
            assert_ne!(a, b);
            assert_ne!(a.cmp(&b), Ordering::Equal);
        }
    }

    #[test]
    fn a_set_holds_one_of_each_channel() {
        let set: HashSet<ChannelName> =
            ["#SRE-Security", "#sre-security", "#Sre-Security", "#ops[1]", "#OPS{1}", "#ops"].map(Into::into).into();
        assert_eq!(set.len(), 3);
        assert!(set.contains(&ChannelName::from("#SRE-SECURITY")));
    }

    #[test]
    fn keeps_its_spelling_for_display_and_serde() {
        let c = ChannelName::from("#SRE-Security");
        assert_eq!(c.to_string(), "#SRE-Security");
        assert_eq!(c.as_str(), "#SRE-Security");
        assert_eq!(c.key(), "#sre-security");
        #[derive(Deserialize, Serialize)]
        struct Holder {
            name: ChannelName,
        }
        let h: Holder = toml::from_str("name = \"#SRE-Security\"").unwrap();
        assert_eq!(h.name.as_str(), "#SRE-Security");
        assert_eq!(toml::to_string(&h).unwrap().trim(), "name = \"#SRE-Security\"");
    }
}
