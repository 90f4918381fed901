//! `!log <message>`: a Server Admin Log entry, committed before it is acknowledged.

use super::{Context, Reply};
use crate::access::Level;
use crate::config::ChannelRole;
use crate::store::{incident, sal, Store};
use crate::text;

/// Where an entry goes, or why it cannot be made here.
fn channel_for<'a>(ctx: &'a Context<'_>) -> Result<(&'a str, bool, bool), String> {
    let c = ctx.config;
    match &ctx.msg.channel {
        Some(name) => match c.channel(name) {
            Some(ch) => Ok((&ch.name, ch.role == ChannelRole::Security, false)),
            None => Err(format!("{name} is not a logging channel.")),
        },
        None => match c.sal.private_message_channel.as_deref().and_then(|n| c.channel(n)) {
            Some(ch) => Ok((&ch.name, ch.role == ChannelRole::Security, true)),
            None => {
                let public: Vec<&str> =
                    c.channels.iter().filter(|ch| ch.role == ChannelRole::Public).map(|ch| ch.name.as_str()).collect();
                Err(format!(
                    "!log by private message is not enabled here: say it in {} so the team sees it.",
                    if public.is_empty() { "the team channel".to_string() } else { public.join(" or ") }
                ))
            }
        },
    }
}

/// Builds the entry to store, or the refusal to send. Pure: no store, no network.
pub fn plan(message: &str, ctx: &Context<'_>) -> Result<sal::NewEntry, String> {
    let sender = &ctx.msg.sender;
    if ctx.level < Level::Member && !ctx.is_relay {
        return Err(format!("Not logged: {}", ctx.not_allowed("!log")));
    }
    let (channel, private, via_pm) = channel_for(ctx)?;
    let cleaned = text::strip_formatting(message);
    let mut message = cleaned.trim();
    let mut nick = sender.nick.clone();
    let mut userhost = sender.userhost();
    let mut relayed_by = None;
    if ctx.is_relay {
        // A relay's line reads `!log user@host message`: the entry belongs to user@host.
        if let Some((who, rest)) = message.split_once(char::is_whitespace) {
            if let Some((user, host)) = who.split_once('@').filter(|(u, h)| !u.is_empty() && !h.is_empty()) {
                nick = user.to_string();
                userhost = format!("{user}@{host}");
                relayed_by = sender.account.clone();
                message = rest.trim();
            }
        }
    }
    if message.is_empty() {
        return Err("Message missing. Nothing logged.".into());
    }
    Ok(sal::NewEntry {
        logged_at: ctx.msg.time,
        channel: channel.to_string(),
        nick,
        account: sender.account.clone(),
        userhost,
        relayed_by,
        message: message.to_string(),
        private,
        via_private_message: via_pm,
        tasks: text::task_refs(message),
    })
}

/// The acknowledgement for stored entry `id`.
pub fn ack(id: i64, nick: &str, base_url: Option<&str>) -> String {
    match base_url {
        Some(base) => format!("Logged the message at {}/sal/{id}, {nick}", base.trim_end_matches('/')),
        None => format!("Logged #{id}, {nick}"),
    }
}

pub async fn run(message: &str, ctx: &Context<'_>, store: &Store) -> Vec<Reply> {
    let entry = match plan(message, ctx) {
        Ok(e) => e,
        Err(refusal) => return vec![ctx.reply(refusal)],
    };
    let nick = entry.nick.clone();
    let stored = store.call(move |conn| {
        let id = sal::insert(conn, &entry)?;
        // "!log everything": what is logged during an incident is its timeline.
        let who =
            incident::Actor { at: entry.logged_at, nick: &entry.nick, account: entry.account.as_deref().unwrap_or("") };
        incident::attach_log(conn, &entry.channel, id, &entry.message, &who)?;
        Ok(id)
    });
    match stored.await {
        Ok(id) => vec![ctx.reply(ack(id, &nick, ctx.config.web.base_url.as_deref()))],
        Err(e) => {
            tracing::error!(error = %e, "a !log was NOT stored");
            vec![ctx.reply(format!("NOT logged: {}", text::truncate_bytes(&e.to_string(), 200)))]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irc::{Incoming, Sender};

    fn config() -> crate::config::Config {
        crate::config::parse(
            r##"
[irc]
server = "127.0.0.1"
nick = "srebot"
[[channels]]
name = "#sre"
role = "public"
[[channels]]
name = "#sre-security"
role = "security"
[storage]
database = "x.sqlite3"
[access]
accounts = ["alice"]
admins = ["root"]
relays = ["logbridge"]
"##,
        )
        .unwrap()
    }

    fn msg(channel: Option<&str>, account: Option<&str>) -> Incoming {
        Incoming {
            time: "2026-11-22T10:00:00Z".parse().unwrap(),
            channel: channel.map(Into::into),
            sender: Sender {
                nick: "Alice".into(),
                user: "al".into(),
                host: "sre/alice".into(),
                account: account.map(Into::into),
            },
            text: String::new(),
        }
    }

    static NOBODY: std::sync::LazyLock<crate::cmd::testing::FakeDirectory> = std::sync::LazyLock::new(Default::default);

    fn ctx<'a>(config: &'a crate::config::Config, m: &'a Incoming) -> Context<'a> {
        Context {
            config,
            msg: m,
            level: crate::access::level(&config.access, &m.sender),
            is_relay: crate::access::is_relay(&config.access, &m.sender),
            directory: &*NOBODY,
        }
    }

    #[test]
    fn plans_an_entry_with_tasks_and_clean_text() {
        let c = config();
        let m = msg(Some("#SRE"), Some("alice"));
        let e = plan("  \x02restarted\x02 db151 for T1234  ", &ctx(&c, &m)).unwrap();
        assert_eq!(e.channel, "#sre");
        assert_eq!(e.message, "restarted db151 for T1234");
        assert_eq!(e.tasks, vec!["T1234"]);
        assert_eq!((e.nick.as_str(), e.userhost.as_str(), e.private), ("Alice", "al@sre/alice", false));
        let m = msg(Some("#sre-security"), Some("alice"));
        assert!(plan("rotated keys", &ctx(&c, &m)).unwrap().private);
    }

    #[test]
    fn refuses_clearly() {
        let c = config();
        let m = msg(Some("#sre"), None);
        let no = plan("x", &ctx(&c, &m)).unwrap_err();
        assert!(no.contains("not identified") && no.contains("root"), "{no}");
        let m = msg(Some("#sre"), Some("mallory"));
        assert!(plan("x", &ctx(&c, &m)).unwrap_err().contains("mallory is not on"));
        let m = msg(Some("#sre"), Some("alice"));
        assert_eq!(plan("   ", &ctx(&c, &m)).unwrap_err(), "Message missing. Nothing logged.");
        assert_eq!(plan("\x02\x03", &ctx(&c, &m)).unwrap_err(), "Message missing. Nothing logged.");
        let m = msg(None, Some("alice"));
        let pm = plan("x", &ctx(&c, &m)).unwrap_err();
        assert!(pm.contains("#sre") && !pm.contains("security"), "{pm}");
    }

    #[test]
    fn private_log_goes_to_the_configured_channel() {
        let mut c = config();
        c.sal.private_message_channel = Some("#sre".into());
        let m = msg(None, Some("alice"));
        let e = plan("did a thing", &ctx(&c, &m)).unwrap();
        assert_eq!((e.channel.as_str(), e.via_private_message), ("#sre", true));
    }

    #[test]
    fn relays_attribute_to_the_named_user() {
        let c = config();
        let mut m = msg(Some("#sre"), Some("logbridge"));
        m.sender.nick = "logbot".into();
        let e = plan("jdoe@deploy1002 Synchronized wmf-config", &ctx(&c, &m)).unwrap();
        assert_eq!((e.nick.as_str(), e.userhost.as_str()), ("jdoe", "jdoe@deploy1002"));
        assert_eq!(e.relayed_by.as_deref(), Some("logbridge"));
        assert_eq!(e.message, "Synchronized wmf-config");
        assert_eq!(plan("jdoe@deploy1002", &ctx(&c, &m)).unwrap().nick, "logbot");
    }

    #[test]
    fn ack_formats() {
        assert_eq!(ack(7, "alice", None), "Logged #7, alice");
        assert_eq!(
            ack(7, "alice", Some("https://sal.example/")),
            "Logged the message at https://sal.example/sal/7, alice"
        );
    }

    #[tokio::test]
    async fn run_stores_then_acks_and_reports_failure() {
        let c = config();
        let dir = tempfile::tempdir().unwrap();
        let (store, _t) = Store::open(&dir.path().join("db.sqlite3"));
        let m = msg(Some("#sre"), Some("alice"));
        let replies = run("restarted db151", &ctx(&c, &m), &store).await;
        assert_eq!(replies, vec![Reply { target: "#sre".into(), text: "Logged #1, Alice".into() }]);
        let stored = store.call(|conn| sal::get(conn, 1)).await.unwrap().unwrap();
        assert_eq!(stored.message, "restarted db151");

        let (broken, _t2) = Store::open(&dir.path().join("missing-dir").join("db.sqlite3"));
        let replies = run("restarted db152", &ctx(&c, &m), &broken).await;
        assert!(replies[0].text.starts_with("NOT logged: database unavailable"), "{replies:?}");
    }
}
