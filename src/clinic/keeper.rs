//! Keeps our section of channel topics current, without fighting people.
//!
//! A pure state machine: the bot feeds it what the server said (a join with the topic, topic
//! changes, operator status, refusals, ChanServ's notices) and the moments the duty changes (a
//! week boundary, a schedule change); it answers with [`Act`]s. The rules it keeps:
//! - it works from the latest topic the server told us, and sends nothing when the topic
//!   already says the right thing;
//! - it writes at most once per change (a join, a boundary, a schedule change): a person who
//!   edits our section away is not overruled until the next change;
//! - refused for lack of rights (482), it asks ChanServ when configured and expects the topic
//!   to change within [`CHANSERV_ANSWER_SECS`]; refused by ChanServ too (its NOTICE), or met
//!   with silence, or without ChanServ to ask, it says once what it lacks, and tries again when
//!   it is opped, never in a loop.

use super::topic::{current_section, update, Duty};
use crate::irc::casefold_eq;
use std::collections::HashMap;

/// The services bot that sets topics for those with its `+t` flag.
pub const CHANSERV: &str = "ChanServ";

/// How long ChanServ has to carry out our `TOPIC` (we see the topic change) before its silence
/// counts as a refusal: Atheme says nothing when it succeeds for someone in the channel.
pub const CHANSERV_ANSWER_SECS: u64 = 10;

#[derive(Debug, Clone)]
pub struct Settings {
    pub label: String,
    pub separator: String,
    pub via_chanserv: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    SetTopic {
        channel: String,
        text: String,
    },
    /// `PRIVMSG ChanServ :TOPIC #channel text`; then, unless the topic changes to it first,
    /// call [`Keeper::chanserv_silent`] [`CHANSERV_ANSWER_SECS`] later.
    AskChanServ {
        channel: String,
        text: String,
    },
    Say {
        channel: String,
        text: String,
    },
    /// The server asked us to wait (437): call [`Keeper::retry`] for this channel in a moment.
    RetrySoon {
        channel: String,
    },
}

/// What ChanServ's refusal says the bot lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lack {
    /// No `+t` flag for our account (or operator status).
    Flag,
    /// Not logged in to services, so ChanServ does not know our account.
    Login,
    /// The channel is not registered: ChanServ can do nothing there.
    Registration,
    /// Something else ChanServ will not do (a closed channel, a topic it finds invalid).
    Other,
}

/// Whether a NOTICE from ChanServ refuses a command, and what that says is missing. Atheme's
/// wordings for `TOPIC` (modules/chanserv/topic.c) and other services' common ones; anything
/// else (help text, a success message) is not a refusal.
pub fn chanserv_refusal(notice: &str) -> Option<Lack> {
    let text = crate::text::strip_formatting(notice).to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["not logged in", "must be identified", "not identified", "must identify"]) {
        Some(Lack::Login)
    } else if has(&["is not registered", "isn't registered"]) {
        Some(Lack::Registration)
    } else if has(&[
        "not authorized",
        "not authorised",
        "insufficient privileges",
        "access denied",
        "permission denied",
    ]) {
        Some(Lack::Flag)
    } else if has(&[
        "is closed",
        "is currently empty",
        "is frozen",
        "is suspended",
        "invalid or too long",
        "invalid command",
    ]) {
        Some(Lack::Other)
    } else {
        None
    }
}

/// Why the topic cannot be written, for the one line that says so.
enum Why {
    /// 482, and ChanServ is not to be asked (or was, for this change).
    NoOperator,
    /// ChanServ refused, in these words.
    Refused(String, Lack),
    /// ChanServ did not set the topic in time.
    Silent,
}

#[derive(Debug, Default)]
struct Channel {
    name: String,
    joined: bool,
    topic: String,
    opped: bool,
    /// The change we are carrying out has been refused for lack of rights: try once more when
    /// opped.
    waiting_for_op: bool,
    asked_chanserv: bool,
    /// While ChanServ has our TOPIC and has neither done it nor refused: the order we asked in
    /// (ChanServ answers in that order, and its refusals do not always name the channel) and our
    /// section's value as asked for.
    awaiting_chanserv: Option<(u64, String)>,
    said_lacking: bool,
    retried: bool,
}

pub struct Keeper {
    settings: Settings,
    channels: HashMap<String, Channel>,
    asked: u64,
}

fn key(channel: &str) -> String {
    crate::names::ChannelName::from(channel).key()
}

impl Keeper {
    pub fn new(settings: Settings, channels: &[String]) -> Keeper {
        let channels = channels.iter().map(|c| (key(c), Channel { name: c.clone(), ..Channel::default() })).collect();
        Keeper { settings, channels, asked: 0 }
    }

    /// The connection is gone: nothing is known about any channel until we join again.
    pub fn disconnected(&mut self) {
        for c in self.channels.values_mut() {
            *c = Channel { name: std::mem::take(&mut c.name), ..Channel::default() };
        }
    }

    /// We (re)joined: a change for this channel.
    pub fn joined(&mut self, channel: &str, topic: &str, opped: bool, duty: &Duty, topic_len: usize) -> Vec<Act> {
        let Some(c) = self.channels.get_mut(&key(channel)) else { return vec![] };
        c.joined = true;
        c.topic = topic.to_string();
        c.opped = opped;
        attempt(&self.settings, c, duty, topic_len)
    }

    /// The server told us the topic (someone changed it, or it echoes our change, or ChanServ
    /// carried out ours).
    pub fn topic_seen(&mut self, channel: &str, topic: &str) {
        let Some(c) = self.channels.get_mut(&key(channel)) else { return };
        c.topic = topic.to_string();
        let ours = current_section(topic, &self.settings.label, &self.settings.separator);
        if c.awaiting_chanserv.as_ref().is_some_and(|(_, asked)| ours == Some(asked.as_str())) {
            c.awaiting_chanserv = None;
        }
    }

    pub fn opped(&mut self, channel: &str, opped: bool, duty: &Duty, topic_len: usize) -> Vec<Act> {
        let Some(c) = self.channels.get_mut(&key(channel)) else { return vec![] };
        c.opped = opped;
        if opped && c.waiting_for_op {
            c.waiting_for_op = false;
            return attempt(&self.settings, c, duty, topic_len);
        }
        vec![]
    }

    /// Our TOPIC was refused: for lack of rights (482), or for now (437).
    pub fn refused(&mut self, channel: &str, retry_later: bool, duty: &Duty, topic_len: usize) -> Vec<Act> {
        let Some(c) = self.channels.get_mut(&key(channel)) else { return vec![] };
        if retry_later {
            if c.retried {
                return vec![];
            }
            c.retried = true;
            return vec![Act::RetrySoon { channel: c.name.clone() }];
        }
        let desired = match update(&c.topic, &self.settings.label, &self.settings.separator, duty, topic_len) {
            Ok(Some(t)) => t,
            _ => return vec![],
        };
        // Opped before ChanServ has answered: write it ourselves.
        c.waiting_for_op = true;
        if self.settings.via_chanserv && !c.asked_chanserv {
            c.asked_chanserv = true;
            self.asked += 1;
            let section = current_section(&desired, &self.settings.label, &self.settings.separator).unwrap_or_default();
            c.awaiting_chanserv = Some((self.asked, section.to_string()));
            return vec![Act::AskChanServ { channel: c.name.clone(), text: desired }];
        }
        say_lacking(&self.settings, c, Why::NoOperator)
    }

    /// A NOTICE addressed to us: when it is ChanServ refusing our TOPIC, the channel it is about
    /// (the one it names, else the one asked about first) waits for operator status, and we say
    /// what is missing (once).
    pub fn notice(&mut self, from: &str, text: &str, duty: &Duty, topic_len: usize) -> Vec<Act> {
        if !casefold_eq(from, CHANSERV) {
            return vec![];
        }
        let Some(lack) = chanserv_refusal(text) else { return vec![] };
        let said = crate::text::truncate_bytes(crate::text::strip_formatting(text).trim(), 120);
        let words: Vec<String> =
            said.split(|c: char| c.is_whitespace() || c == ',').map(|w| key(w.trim_end_matches('.'))).collect();
        let awaiting = self.channels.values_mut().filter(|c| c.awaiting_chanserv.is_some());
        let Some(c) =
            awaiting.min_by_key(|c| (!words.contains(&key(&c.name)), c.awaiting_chanserv.as_ref().map(|a| a.0)))
        else {
            return vec![];
        };
        c.awaiting_chanserv = None;
        chanserv_failed(&self.settings, c, Why::Refused(said, lack), duty, topic_len)
    }

    /// [`CHANSERV_ANSWER_SECS`] after asking ChanServ: if the topic has not changed to ours,
    /// ChanServ is not going to do it.
    pub fn chanserv_silent(&mut self, channel: &str, duty: &Duty, topic_len: usize) -> Vec<Act> {
        let Some(c) = self.channels.get_mut(&key(channel)) else { return vec![] };
        if c.awaiting_chanserv.take().is_none() {
            return vec![];
        }
        chanserv_failed(&self.settings, c, Why::Silent, duty, topic_len)
    }

    /// The moment after a 437 has passed: try the same change once more.
    pub fn retry(&mut self, channel: &str, duty: &Duty, topic_len: usize) -> Vec<Act> {
        let Some(c) = self.channels.get_mut(&key(channel)) else { return vec![] };
        let acts = attempt_keeping_flags(&self.settings, c, duty, topic_len);
        c.retried = true;
        acts
    }

    /// The duty changed (a week boundary or a schedule change): every joined channel, once.
    pub fn changed(&mut self, duty: &Duty, topic_len: usize) -> Vec<Act> {
        // In the order of their names, so that what is sent is the same every time.
        let mut joined: Vec<(&String, &mut Channel)> = self.channels.iter_mut().filter(|(_, c)| c.joined).collect();
        joined.sort_by(|a, b| a.0.cmp(b.0));
        let mut acts = Vec::new();
        for (_, c) in joined {
            acts.extend(attempt(&self.settings, c, duty, topic_len));
        }
        acts
    }
}

/// ChanServ refused or stayed silent: an operator writes the topic itself; otherwise the channel
/// waits for operator status.
fn chanserv_failed(settings: &Settings, c: &mut Channel, why: Why, duty: &Duty, topic_len: usize) -> Vec<Act> {
    if c.opped {
        return attempt(settings, c, duty, topic_len);
    }
    say_lacking(settings, c, why)
}

/// The channel waits for operator status; says why, unless it has been said on this connection.
fn say_lacking(settings: &Settings, c: &mut Channel, why: Why) -> Vec<Act> {
    c.waiting_for_op = true;
    if c.said_lacking {
        return vec![];
    }
    c.said_lacking = true;
    const OP_OR_FLAG: &str = "channel operator status (+o), or ChanServ flag +t for my account";
    let why = match why {
        Why::NoOperator if settings.via_chanserv => format!("I need {OP_OR_FLAG}"),
        Why::NoOperator => {
            "I need channel operator status (+o) (or set topic_via_chanserv and give my account ChanServ flag +t)"
                .to_string()
        }
        Why::Refused(said, lack) => {
            let need = match lack {
                Lack::Flag => OP_OR_FLAG,
                Lack::Login => {
                    "a services login (SASL) with ChanServ flag +t for my account, or channel operator \
                                status (+o)"
                }
                Lack::Registration => "channel operator status (+o): the channel is not registered with ChanServ",
                Lack::Other => "channel operator status (+o)",
            };
            format!("ChanServ refused (\"{said}\"). I need {need}")
        }
        Why::Silent => format!("ChanServ did not set it within {CHANSERV_ANSWER_SECS} s. I need {OP_OR_FLAG}"),
    };
    vec![Act::Say {
        channel: c.name.clone(),
        text: format!("I can't update the {} section of the topic: {why}.", settings.label.trim_end_matches(':')),
    }]
}

/// One attempt for a new change: the refusal bookkeeping starts afresh.
fn attempt(settings: &Settings, c: &mut Channel, duty: &Duty, topic_len: usize) -> Vec<Act> {
    c.asked_chanserv = false;
    c.awaiting_chanserv = None;
    c.retried = false;
    c.waiting_for_op = false;
    attempt_keeping_flags(settings, c, duty, topic_len)
}

fn attempt_keeping_flags(settings: &Settings, c: &mut Channel, duty: &Duty, topic_len: usize) -> Vec<Act> {
    match update(&c.topic, &settings.label, &settings.separator, duty, topic_len) {
        Ok(None) => vec![],
        Ok(Some(text)) => vec![Act::SetTopic { channel: c.name.clone(), text }],
        Err(unfit) if !c.said_lacking => {
            c.said_lacking = true;
            vec![Act::Say {
                channel: c.name.clone(),
                text: format!(
                    "I can't write the {} section of the topic: {unfit}.",
                    settings.label.trim_end_matches(':')
                ),
            }]
        }
        Err(_) => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeper(via_chanserv: bool) -> Keeper {
        let settings = Settings { label: "SRE Clinic Duty:".into(), separator: " | ".into(), via_chanserv };
        Keeper::new(settings, &["#sre".to_string()])
    }

    fn alice() -> Duty {
        Duty { clinician: Some("Alice".into()), ..Duty::default() }
    }

    fn bob() -> Duty {
        Duty { clinician: Some("Bob".into()), ..Duty::default() }
    }

    fn set(text: &str) -> Act {
        Act::SetTopic { channel: "#sre".into(), text: text.into() }
    }

    #[test]
    fn writes_only_what_is_missing_and_only_once_per_change() {
        let mut k = keeper(false);
        assert!(k.joined("#other", "x", true, &alice(), 390).is_empty(), "not a managed channel");
        assert_eq!(
            k.joined("#SRE", "Welcome | Deploys: Tue", true, &alice(), 390),
            vec![set("Welcome | Deploys: Tue | SRE Clinic Duty: Alice")]
        );
        k.topic_seen("#sre", "Welcome | Deploys: Tue | SRE Clinic Duty: Alice");
        assert!(k.changed(&alice(), 390).is_empty(), "already right: send nothing");
        // Someone edits our section away: we do not fight it…
        k.topic_seen("#sre", "Welcome | Deploys: Tue");
        // …until the next change.
        assert_eq!(k.changed(&bob(), 390), vec![set("Welcome | Deploys: Tue | SRE Clinic Duty: Bob")]);
    }

    #[test]
    fn without_rights_says_so_once_and_retries_when_opped() {
        let mut k = keeper(false);
        k.joined("#sre", "Welcome", false, &alice(), 390);
        let said = k.refused("#sre", false, &alice(), 390);
        assert!(matches!(&said[..], [Act::Say { text, .. }] if text.contains("+o")), "{said:?}");
        assert!(k.refused("#sre", false, &alice(), 390).is_empty(), "said once");
        assert!(k.opped("#sre", false, &alice(), 390).is_empty());
        assert_eq!(k.opped("#sre", true, &alice(), 390), vec![set("Welcome | SRE Clinic Duty: Alice")]);
        assert!(k.opped("#sre", true, &alice(), 390).is_empty(), "no loop");
        // A later change refused again: not said again.
        k.opped("#sre", false, &bob(), 390);
        k.changed(&bob(), 390);
        assert!(k.refused("#sre", false, &bob(), 390).is_empty());
    }

    fn asked(text: &str) -> Act {
        Act::AskChanServ { channel: "#sre".into(), text: text.into() }
    }

    const ATHEME_NO_ACCESS: &str = "You are not authorized to perform this operation.";

    #[test]
    fn asks_chanserv_on_482_and_its_echo_settles_it() {
        let mut k = keeper(true);
        k.joined("#sre", "Welcome", false, &alice(), 390);
        assert_eq!(k.refused("#sre", false, &alice(), 390), vec![asked("Welcome | SRE Clinic Duty: Alice")]);
        // ChanServ sets it: the topic change is its answer, and a late timer finds nothing to do.
        k.topic_seen("#sre", "Welcome | SRE Clinic Duty: Alice");
        assert!(k.chanserv_silent("#sre", &alice(), 390).is_empty());
        assert!(k.notice("ChanServ", ATHEME_NO_ACCESS, &alice(), 390).is_empty(), "nothing was waiting for it");
        assert!(k.changed(&alice(), 390).is_empty());
    }

    #[test]
    fn a_chanserv_refusal_is_said_once_and_op_retries() {
        let mut k = keeper(true);
        k.joined("#sre", "Welcome", false, &alice(), 390);
        k.refused("#sre", false, &alice(), 390);
        // Someone else's topic change is not ChanServ's answer.
        k.topic_seen("#sre", "Welcome!");
        // Only ChanServ's notices count, and only refusals.
        assert!(k.notice("NickServ", ATHEME_NO_ACCESS, &alice(), 390).is_empty());
        assert!(k.notice("ChanServ", "\x02#sre\x02 has been registered.", &alice(), 390).is_empty());
        let said = k.notice("chanserv", &format!("\x02{ATHEME_NO_ACCESS}\x02"), &alice(), 390);
        assert_eq!(
            said,
            vec![Act::Say {
                channel: "#sre".into(),
                text: "I can't update the SRE Clinic Duty section of the topic: ChanServ refused (\"You are not \
                       authorized to perform this operation.\"). I need channel operator status (+o), or ChanServ \
                       flag +t for my account."
                    .into()
            }]
        );
        // The timer after the refusal: nothing more.
        assert!(k.chanserv_silent("#sre", &alice(), 390).is_empty());
        assert_eq!(k.opped("#sre", true, &alice(), 390), vec![set("Welcome! | SRE Clinic Duty: Alice")]);
        // The next change asks ChanServ again (no op now), and a refusal is not said twice.
        k.topic_seen("#sre", "Welcome! | SRE Clinic Duty: Alice");
        k.opped("#sre", false, &bob(), 390);
        assert_eq!(k.changed(&bob(), 390), vec![set("Welcome! | SRE Clinic Duty: Bob")]);
        assert_eq!(k.refused("#sre", false, &bob(), 390), vec![asked("Welcome! | SRE Clinic Duty: Bob")]);
        assert!(k.notice("ChanServ", ATHEME_NO_ACCESS, &bob(), 390).is_empty());
        assert_eq!(k.opped("#sre", true, &bob(), 390), vec![set("Welcome! | SRE Clinic Duty: Bob")]);
    }

    #[test]
    fn chanserv_silence_counts_as_a_refusal() {
        let mut k = keeper(true);
        k.joined("#sre", "", false, &alice(), 390);
        k.refused("#sre", false, &alice(), 390);
        let said = k.chanserv_silent("#sre", &alice(), 390);
        assert!(
            matches!(&said[..], [Act::Say { text, .. }] if text.contains("ChanServ did not set it within 10 s")
                && text.contains("+o") && text.contains("+t")),
            "{said:?}"
        );
        assert!(k.chanserv_silent("#sre", &alice(), 390).is_empty());
        assert_eq!(k.opped("#sre", true, &alice(), 390), vec![set("SRE Clinic Duty: Alice")]);
    }

    #[test]
    fn opped_while_chanserv_is_asked() {
        // Opped before ChanServ answers: we write it ourselves, and ChanServ's answer no longer matters.
        let mut k = keeper(true);
        k.joined("#sre", "", false, &alice(), 390);
        k.refused("#sre", false, &alice(), 390);
        assert_eq!(k.opped("#sre", true, &alice(), 390), vec![set("SRE Clinic Duty: Alice")]);
        assert!(k.notice("ChanServ", ATHEME_NO_ACCESS, &alice(), 390).is_empty());
        assert!(k.chanserv_silent("#sre", &alice(), 390).is_empty());
        // Opped between sending our TOPIC and its 482: ChanServ is asked, and when it refuses
        // we are an operator, so we write it ourselves.
        let mut k = keeper(true);
        assert_eq!(k.joined("#sre", "", false, &alice(), 390), vec![set("SRE Clinic Duty: Alice")]);
        assert!(k.opped("#sre", true, &alice(), 390).is_empty(), "nothing was refused yet");
        assert!(matches!(&k.refused("#sre", false, &alice(), 390)[..], [Act::AskChanServ { .. }]));
        assert_eq!(k.notice("ChanServ", ATHEME_NO_ACCESS, &alice(), 390), vec![set("SRE Clinic Duty: Alice")]);
        // The same when ChanServ stays silent.
        let mut k = keeper(true);
        k.joined("#sre", "", false, &alice(), 390);
        k.opped("#sre", true, &alice(), 390);
        k.refused("#sre", false, &alice(), 390);
        assert_eq!(k.chanserv_silent("#sre", &alice(), 390), vec![set("SRE Clinic Duty: Alice")]);
    }

    #[test]
    fn a_refusal_goes_to_the_channel_it_names_or_the_first_asked() {
        let settings = Settings { label: "SRE Clinic Duty:".into(), separator: " | ".into(), via_chanserv: true };
        let mut k = Keeper::new(settings, &["#sre".to_string(), "#ops".to_string(), "#dc".to_string()]);
        for chan in ["#ops", "#sre", "#dc"] {
            k.joined(chan, "", false, &alice(), 390);
            assert!(matches!(&k.refused(chan, false, &alice(), 390)[..], [Act::AskChanServ { .. }]));
        }
        let said = k.notice("ChanServ", "Channel \x02#SRE\x02 is not registered.", &alice(), 390);
        assert!(
            matches!(&said[..], [Act::Say { channel, text }] if channel == "#sre" && text.contains("not registered with ChanServ")),
            "{said:?}"
        );
        // Not named: the first one asked (ChanServ answers in order).
        let said = k.notice("ChanServ", ATHEME_NO_ACCESS, &alice(), 390);
        assert!(matches!(&said[..], [Act::Say { channel, .. }] if channel == "#ops"), "{said:?}");
        let said = k.notice("ChanServ", ATHEME_NO_ACCESS, &alice(), 390);
        assert!(matches!(&said[..], [Act::Say { channel, .. }] if channel == "#dc"), "{said:?}");
        assert!(k.notice("ChanServ", ATHEME_NO_ACCESS, &alice(), 390).is_empty());
    }

    #[test]
    fn recognises_refusals() {
        assert_eq!(chanserv_refusal("You are not authorized to perform this operation."), Some(Lack::Flag));
        assert_eq!(chanserv_refusal("Insufficient privileges to change the topic"), Some(Lack::Flag));
        assert_eq!(chanserv_refusal("Access denied."), Some(Lack::Flag));
        assert_eq!(chanserv_refusal("Channel \x02#sre\x02 is not registered."), Some(Lack::Registration));
        assert_eq!(chanserv_refusal("You are not logged in."), Some(Lack::Login));
        assert_eq!(chanserv_refusal("\x02#sre\x02 is closed."), Some(Lack::Other));
        assert_eq!(chanserv_refusal("\x02#sre\x02 is currently empty."), Some(Lack::Other));
        assert_eq!(chanserv_refusal("The new topic is invalid or too long."), Some(Lack::Other));
        assert_eq!(
            chanserv_refusal("Invalid command. Use \x02/msg ChanServ help\x02 for a command listing."),
            Some(Lack::Other)
        );
        assert_eq!(chanserv_refusal("Topic set to \x02x\x02 on \x02#sre\x02."), None);
        assert_eq!(chanserv_refusal("***** ChanServ Help *****"), None);
    }

    #[test]
    fn without_chanserv_a_second_482_is_not_said_again() {
        let mut k = keeper(false);
        k.joined("#sre", "", false, &alice(), 390);
        assert!(
            matches!(&k.refused("#sre", false, &alice(), 390)[..], [Act::Say { text, .. }] if text.contains("topic_via_chanserv"))
        );
        assert!(k.notice("ChanServ", ATHEME_NO_ACCESS, &alice(), 390).is_empty(), "ChanServ was not asked");
    }

    #[test]
    fn retries_a_rate_limited_topic_once() {
        let mut k = keeper(false);
        k.joined("#sre", "", true, &alice(), 390);
        assert_eq!(k.refused("#sre", true, &alice(), 390), vec![Act::RetrySoon { channel: "#sre".into() }]);
        assert_eq!(k.retry("#sre", &alice(), 390), vec![set("SRE Clinic Duty: Alice")]);
        assert!(k.refused("#sre", true, &alice(), 390).is_empty());
    }

    #[test]
    fn forgets_everything_on_disconnect() {
        let mut k = keeper(false);
        k.joined("#sre", "SRE Clinic Duty: Alice", true, &alice(), 390);
        k.disconnected();
        assert!(k.changed(&bob(), 390).is_empty(), "not joined: nothing to do until we are back");
        assert_eq!(k.joined("#sre", "SRE Clinic Duty: Alice", true, &bob(), 390), vec![set("SRE Clinic Duty: Bob")]);
    }
}
