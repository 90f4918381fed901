//! `!access list|add <account> [member|admin] [reason]|remove <account> [reason]`: admins grant
//! and take back access on IRC, stored on top of the config file's `[access]` lists (which stay
//! the base that configuration management keeps), each change audited with who, when and why.
//!
//! The grant is committed before the answer; the bot then reloads the grants into the config
//! in effect (see `bot`), so the account can act at once.

use super::{Context, Reply};
use crate::access::{self, Grant, Level};
use crate::config::AccessConfig;
use crate::store::{self, Store};

pub const USAGE: &str = "!access list | add <account> [member|admin] [reason] | remove <account> [reason] (admins)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    List,
    Add { account: String, admin: bool, reason: String },
    Remove { account: String, reason: String },
}

/// Reads the arguments of `!access`; `Err` is the usage line.
pub fn parse(args: &str) -> Result<Sub, String> {
    let mut words = args.split_whitespace();
    let usage = || format!("Usage: {USAGE}");
    match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("list") => Ok(Sub::List),
        Some(verb @ ("add" | "remove")) => {
            let account = words.next().filter(|a| valid_account(a)).ok_or_else(usage)?.to_string();
            let rest: Vec<&str> = words.collect();
            if verb == "remove" {
                return Ok(Sub::Remove { account, reason: rest.join(" ") });
            }
            let (admin, reason) = match rest.first().map(|w| w.to_ascii_lowercase()).as_deref() {
                Some("admin") => (true, &rest[1..]),
                Some("member") => (false, &rest[1..]),
                _ => (false, &rest[..]),
            };
            Ok(Sub::Add { account, admin, reason: reason.join(" ") })
        }
        Some(_) => Err(usage()),
    }
}

/// A services account name as IRC servers allow nicks to be (account names are nicks).
fn valid_account(a: &str) -> bool {
    !a.is_empty() && a.len() <= 30 && a.chars().all(|c| c.is_ascii_alphanumeric() || "[]\\`_^{|}-".contains(c))
}

pub async fn run(sub: Sub, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    let rules = &ctx.config.access;
    if ctx.level < Level::Admin {
        let admins = access::admins(rules);
        let ask = if admins.is_empty() { "the bot's operator".to_string() } else { admins.join(", ") };
        return vec![ctx.reply(format!("Only srebot admins use !access (ask an admin: {ask})."))];
    }
    let actor = match &ctx.msg.sender.account {
        Some(account) => format!("{} ({account})", ctx.msg.sender.nick),
        None => ctx.msg.sender.nick.clone(),
    };
    let now = ctx.clock.now();
    let reason = crate::text::truncate_bytes(
        &crate::text::one_line(match &sub {
            Sub::Add { reason, .. } | Sub::Remove { reason, .. } => reason,
            Sub::List => "",
        }),
        200,
    )
    .to_string();
    let text = match sub {
        Sub::List => list(rules),
        Sub::Add { account, admin, .. } => {
            if let Some(refusal) = add_refusal(rules, &account, admin) {
                refusal
            } else {
                let who = account.clone();
                let by = actor.clone();
                let why = reason.clone();
                match store.call(move |c| store::access::put(c, &who, admin, &by, &why, now)).await {
                    Ok(()) => format!(
                        "{account} is now a srebot {}, in effect now and kept across restarts (granted by {actor}{}).",
                        if admin { "admin" } else { "member" },
                        if reason.is_empty() { String::new() } else { format!(": {reason}") }
                    ),
                    Err(e) => format!("NOT changed: {e}"),
                }
            }
        }
        Sub::Remove { account, .. } => {
            if let Some(refusal) = remove_refusal(rules, &account) {
                refusal
            } else {
                let who = account.clone();
                let by = actor.clone();
                let why = reason.clone();
                match store.call(move |c| store::access::remove(c, &who, &by, &why, now)).await {
                    Ok(true) => format!("{account} no longer has access granted on IRC (removed by {actor})."),
                    Ok(false) => format!("{account} has no access granted on IRC."),
                    Err(e) => format!("NOT changed: {e}"),
                }
            }
        }
    };
    vec![ctx.reply(text)]
}

fn listed(list: &[String], account: &str) -> bool {
    list.iter().any(|a| a.eq_ignore_ascii_case(account))
}

fn grant<'a>(rules: &'a AccessConfig, account: &str) -> Option<&'a Grant> {
    rules.granted.iter().find(|g| g.account.eq_ignore_ascii_case(account))
}

/// Why `account` cannot be given this level on IRC, if it cannot.
fn add_refusal(rules: &AccessConfig, account: &str, admin: bool) -> Option<String> {
    if listed(&rules.admins, account) || (!admin && listed(&rules.accounts, account)) {
        let key = if listed(&rules.admins, account) { "admins" } else { "accounts" };
        return Some(format!("{account} is already in the config file ([access] {key}); nothing to add."));
    }
    if grant(rules, account).is_some_and(|g| g.admin == admin) {
        return Some(format!("{account} already has that access (granted on IRC; !access list shows by whom)."));
    }
    // Making the last admin a member would leave nobody to grant anything.
    if !admin && grant(rules, account).is_some_and(|g| g.admin) && access::admins(rules).len() == 1 {
        return Some(format!("{account} is the last srebot admin: add another admin first."));
    }
    None
}

/// Why `account`'s access cannot be taken back on IRC, if it cannot.
fn remove_refusal(rules: &AccessConfig, account: &str) -> Option<String> {
    if listed(&rules.admins, account) || listed(&rules.accounts, account) {
        return Some(format!(
            "{account} is in the config file's [access] lists: whoever manages the config removes it there, then reloads \
             (systemctl reload srebot)."
        ));
    }
    let g = grant(rules, account)?;
    if g.admin && access::admins(rules).len() == 1 {
        return Some(format!("{account} is the last srebot admin and cannot be removed: add another admin first."));
    }
    None
}

/// The access in effect, by source, in one or two lines.
fn list(rules: &AccessConfig) -> String {
    let names = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    let granted: Vec<String> = rules
        .granted
        .iter()
        .map(|g| {
            let level = if g.admin { "admin" } else { "member" };
            let day = g.at.get(..10).unwrap_or(&g.at);
            let why = if g.reason.is_empty() { String::new() } else { format!(": {}", g.reason) };
            format!("{} {level} (by {}, {day}{why})", g.account, g.by)
        })
        .collect();
    format!(
        "Config file: admins {}; members {}. Granted on IRC: {}.",
        names(&rules.admins),
        names(&rules.accounts),
        if granted.is_empty() { "none".to_string() } else { granted.join("; ") }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::{say, FakeDirectory};

    #[test]
    fn parses() {
        assert_eq!(parse(""), Ok(Sub::List));
        assert_eq!(parse("add bob"), Ok(Sub::Add { account: "bob".into(), admin: false, reason: String::new() }));
        assert_eq!(
            parse("add bob admin on-call lead"),
            Ok(Sub::Add { account: "bob".into(), admin: true, reason: "on-call lead".into() })
        );
        assert_eq!(
            parse("add bob new teammate"),
            Ok(Sub::Add { account: "bob".into(), admin: false, reason: "new teammate".into() })
        );
        assert_eq!(parse("remove bob inactive"), Ok(Sub::Remove { account: "bob".into(), reason: "inactive".into() }));
        assert!(parse("add").is_err() && parse("add b@d").is_err() && parse("frob").is_err());
    }

    #[tokio::test]
    async fn admins_grant_and_take_back_and_the_last_admin_stays() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = Store::open(&dir.path().join("t.sqlite3"));
        let mut config = crate::config::parse(
            "[irc]\nserver = \"x\"\nnick = \"srebot\"\n[[channels]]\nname = \"#sre\"\nrole = \"public\"\n\
             [storage]\ndatabase = \"x.sqlite3\"\n[access]\naccounts = [\"bob\"]\n",
        )
        .unwrap();
        let dir_ = FakeDirectory::default();
        let (clock, at) = (crate::clock::Clock::System, (chrono::Utc::now(), Some("#sre")));
        // Nobody is an admin in the file: grant one directly, as the operator would have.
        store.call(|c| store::access::put(c, "alice", true, "cli", "first admin", chrono::Utc::now())).await.unwrap();
        config.access.granted = store.call(store::access::grants).await.unwrap();
        let said = say(&config, &clock, &store, &dir_, at, ("bob", Some("bob")), "!access add carol").await;
        assert_eq!(said[0].text, "Only srebot admins use !access (ask an admin: alice).");
        let said =
            say(&config, &clock, &store, &dir_, at, ("alice", Some("alice")), "!access add carol member new hire")
                .await;
        assert!(said[0].text.starts_with("carol is now a srebot member, in effect now"), "{said:?}");
        config.access.granted = store.call(store::access::grants).await.unwrap();
        let said = say(&config, &clock, &store, &dir_, at, ("alice", Some("alice")), "!access list").await;
        assert!(
            said[0].text.contains("members bob") && said[0].text.contains("carol member (by alice (alice)"),
            "{said:?}"
        );
        let said = say(&config, &clock, &store, &dir_, at, ("alice", Some("alice")), "!access remove alice").await;
        assert!(said[0].text.contains("last srebot admin"), "{said:?}");
        let said = say(&config, &clock, &store, &dir_, at, ("alice", Some("alice")), "!access remove bob").await;
        assert!(said[0].text.contains("config file"), "{said:?}");
        let said =
            say(&config, &clock, &store, &dir_, at, ("alice", Some("alice")), "!access remove carol inactive").await;
        assert!(said[0].text.starts_with("carol no longer has access"), "{said:?}");
        let trail = store.call(|c| store::access::audit_trail(c, 10)).await.unwrap();
        let actions: Vec<_> =
            trail.iter().map(|r| (r.action.as_str(), r.account.as_str(), r.reason.as_str())).collect();
        assert_eq!(
            actions,
            vec![("remove", "carol", "inactive"), ("add", "carol", "new hire"), ("add", "alice", "first admin")]
        );
    }
}
