//! Who is in our channels and which services account each of them is logged in to.
//!
//! Fed by JOIN (extended-join carries the account), WHOX replies, ACCOUNT (account-notify),
//! NICK, PART, KICK, QUIT and the account tag on messages. Keys are case-folded nicks.

use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// Not known yet (no WHOX reply, no extended-join).
    Unknown,
    LoggedOut,
    LoggedIn(String),
}

#[derive(Debug, Clone)]
pub struct Member {
    pub nick: String,
    pub user: String,
    pub host: String,
    pub account: Account,
    /// Folded names of the channels we share with them.
    pub channels: HashSet<String>,
}

#[derive(Debug, Default)]
pub struct Roster {
    members: HashMap<String, Member>,
}

impl Roster {
    pub fn clear(&mut self) {
        self.members.clear();
    }

    pub fn get(&self, folded_nick: &str) -> Option<&Member> {
        self.members.get(folded_nick)
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    pub fn join(
        &mut self,
        folded_nick: &str,
        nick: &str,
        user: &str,
        host: &str,
        folded_chan: &str,
        account: Option<Account>,
    ) {
        let m = self.members.entry(folded_nick.to_string()).or_insert_with(|| Member {
            nick: nick.to_string(),
            user: String::new(),
            host: String::new(),
            account: Account::Unknown,
            channels: HashSet::new(),
        });
        m.nick = nick.to_string();
        if !user.is_empty() {
            m.user = user.to_string();
            m.host = host.to_string();
        }
        if let Some(a) = account {
            m.account = a;
        }
        m.channels.insert(folded_chan.to_string());
    }

    pub fn set_account(&mut self, folded_nick: &str, account: Account) {
        if let Some(m) = self.members.get_mut(folded_nick) {
            m.account = account;
        }
    }

    pub fn set_host(&mut self, folded_nick: &str, user: &str, host: &str) {
        if let Some(m) = self.members.get_mut(folded_nick) {
            m.user = user.to_string();
            m.host = host.to_string();
        }
    }

    pub fn part(&mut self, folded_nick: &str, folded_chan: &str) {
        if let Some(m) = self.members.get_mut(folded_nick) {
            m.channels.remove(folded_chan);
            if m.channels.is_empty() {
                self.members.remove(folded_nick);
            }
        }
    }

    /// We left a channel: forget it for everyone.
    pub fn forget_channel(&mut self, folded_chan: &str) {
        self.members.retain(|_, m| {
            m.channels.remove(folded_chan);
            !m.channels.is_empty()
        });
    }

    pub fn quit(&mut self, folded_nick: &str) {
        self.members.remove(folded_nick);
    }

    pub fn rename(&mut self, old_folded: &str, new_folded: &str, new_nick: &str) {
        if let Some(mut m) = self.members.remove(old_folded) {
            m.nick = new_nick.to_string();
            self.members.insert(new_folded.to_string(), m);
        }
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_accounts_through_nick_changes_and_parts() {
        let mut r = Roster::default();
        r.join("alice", "Alice", "a", "h", "#sre", Some(Account::LoggedIn("alice".into())));
        r.join("alice", "Alice", "", "", "#ops", None);
        r.rename("alice", "alice_away", "alice_away");
        assert_eq!(r.get("alice_away").unwrap().account, Account::LoggedIn("alice".into()));
        assert_eq!(r.get("alice_away").unwrap().host, "h");
        r.part("alice_away", "#sre");
        assert!(r.get("alice_away").is_some());
        r.forget_channel("#ops");
        assert!(r.is_empty());
    }
}
