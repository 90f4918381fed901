//! Who may do what, decided from the NickServ account (never the nick) or a hostmask pattern.

use crate::config::AccessConfig;

/// What a sender may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// May read (ask questions), may not write.
    Anyone,
    /// May use write commands (`!log`, incidents).
    Member,
    /// May also run admin commands.
    Admin,
}

pub use crate::irc::Sender;

pub use crate::config::Grant;

/// The sender's level under `rules`: the config file's lists, and the grants made on IRC.
pub fn level(rules: &AccessConfig, sender: &Sender) -> Level {
    let account = sender.account.as_deref();
    let listed = |list: &[String]| account.is_some_and(|a| list.iter().any(|l| l.eq_ignore_ascii_case(a)));
    let granted = account.and_then(|a| rules.granted.iter().find(|g| g.account.eq_ignore_ascii_case(a)));
    if listed(&rules.admins) || granted.is_some_and(|g| g.admin) {
        return Level::Admin;
    }
    let mask = sender.hostmask();
    if listed(&rules.accounts) || granted.is_some() || rules.hostmasks.iter().any(|p| glob_match(p, &mask)) {
        return Level::Member;
    }
    Level::Anyone
}

/// Every admin account: the config file's, then those granted on IRC.
pub fn admins(rules: &AccessConfig) -> Vec<String> {
    let mut all = rules.admins.clone();
    for g in rules.granted.iter().filter(|g| g.admin) {
        if !all.iter().any(|a| a.eq_ignore_ascii_case(&g.account)) {
            all.push(g.account.clone());
        }
    }
    all
}

/// Whether the sender is a relay whose `!log user@host message` is attributed to `user@host`.
pub fn is_relay(rules: &AccessConfig, sender: &Sender) -> bool {
    sender.account.as_deref().is_some_and(|a| rules.relays.iter().any(|r| r.eq_ignore_ascii_case(a)))
}

/// IRC hostmask glob: `*` any run, `?` one character, ASCII case-insensitive.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Iterative matcher with single-star backtracking: linear enough for hostmasks and never
    // exponential on hostile patterns.
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(nick: &str, host: &str, account: Option<&str>) -> Sender {
        Sender { nick: nick.into(), user: "u".into(), host: host.into(), account: account.map(Into::into) }
    }

    fn rules() -> AccessConfig {
        AccessConfig {
            accounts: vec!["Bob".into()],
            hostmasks: vec!["*!*@sre/*".into()],
            admins: vec!["alice".into()],
            relays: vec!["logbridge".into()],
            granted: vec![Grant {
                account: "Dave".into(),
                admin: true,
                by: "alice".into(),
                at: "2026-12-01T00:00:00Z".into(),
                reason: String::new(),
            }],
        }
    }

    #[test]
    fn decides_by_account_not_nick() {
        let r = rules();
        assert_eq!(level(&r, &sender("alice", "x", None)), Level::Anyone);
        assert_eq!(level(&r, &sender("mallory", "x", Some("alice"))), Level::Admin);
        assert_eq!(level(&r, &sender("b", "x", Some("bob"))), Level::Member);
        assert_eq!(level(&r, &sender("c", "sre/carol", None)), Level::Member);
        assert_eq!(level(&r, &sender("c", "user/carol", Some("carol"))), Level::Anyone);
        assert_eq!(level(&r, &sender("d", "x", Some("dave"))), Level::Admin, "granted on IRC");
        assert_eq!(admins(&r), vec!["alice".to_string(), "Dave".to_string()]);
        assert!(is_relay(&r, &sender("lb", "x", Some("LogBridge"))));
        assert!(!is_relay(&r, &sender("logbridge", "x", None)));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*!*@sre/*", "n!u@sre/alice"));
        assert!(glob_match("a?c", "ABC"));
        assert!(!glob_match("*!*@sre/*", "n!u@sre"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b*c*d", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    }
}
