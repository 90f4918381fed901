//! Keeps our section of channel topics current, without fighting people.
//!
//! A pure state machine: the bot feeds it what the server said (a join with the topic, topic
//! changes, operator status, refusals) and the moments the duty changes (a week boundary, a
//! schedule change); it answers with [`Act`]s. The rules it keeps:
//! - it works from the latest topic the server told us, and sends nothing when the topic
//!   already says the right thing;
//! - it writes at most once per change (a join, a boundary, a schedule change): a person who
//!   edits our section away is not overruled until the next change;
//! - refused for lack of rights, it asks ChanServ (when configured) or says once what it lacks,
//!   and tries again when it is opped, never in a loop.

use super::topic::{update, Duty};
use std::collections::HashMap;

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
    /// `PRIVMSG ChanServ :TOPIC #channel text`
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
    said_lacking: bool,
    retried: bool,
}

pub struct Keeper {
    settings: Settings,
    channels: HashMap<String, Channel>,
}

fn key(channel: &str) -> String {
    crate::irc::isupport::fold(channel, crate::irc::isupport::CaseMapping::Rfc1459)
}

impl Keeper {
    pub fn new(settings: Settings, channels: &[String]) -> Keeper {
        let channels = channels.iter().map(|c| (key(c), Channel { name: c.clone(), ..Channel::default() })).collect();
        Keeper { settings, channels }
    }

    pub fn manages(&self, channel: &str) -> bool {
        self.channels.contains_key(&key(channel))
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
        let settings = self.settings.clone();
        attempt(&settings, c, duty, topic_len)
    }

    /// The server told us the topic (someone changed it, or it echoes our change).
    pub fn topic_seen(&mut self, channel: &str, topic: &str) {
        if let Some(c) = self.channels.get_mut(&key(channel)) {
            c.topic = topic.to_string();
        }
    }

    pub fn opped(&mut self, channel: &str, opped: bool, duty: &Duty, topic_len: usize) -> Vec<Act> {
        let Some(c) = self.channels.get_mut(&key(channel)) else { return vec![] };
        c.opped = opped;
        if opped && c.waiting_for_op {
            c.waiting_for_op = false;
            let settings = self.settings.clone();
            return attempt(&settings, c, duty, topic_len);
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
        if self.settings.via_chanserv && !c.asked_chanserv {
            c.asked_chanserv = true;
            return vec![Act::AskChanServ { channel: c.name.clone(), text: desired }];
        }
        c.waiting_for_op = true;
        if c.said_lacking {
            return vec![];
        }
        c.said_lacking = true;
        let how = if self.settings.via_chanserv {
            "channel operator status (+o), or ChanServ TOPIC access (flag +t) for my account"
        } else {
            "channel operator status (+o) (or set topic_via_chanserv and give my account ChanServ flag +t)"
        };
        vec![Act::Say {
            channel: c.name.clone(),
            text: format!(
                "I can't update the {} section of the topic: I need {how}.",
                self.settings.label.trim_end_matches(':')
            ),
        }]
    }

    /// The moment after a 437 has passed: try the same change once more.
    pub fn retry(&mut self, channel: &str, duty: &Duty, topic_len: usize) -> Vec<Act> {
        let Some(c) = self.channels.get_mut(&key(channel)) else { return vec![] };
        let settings = self.settings.clone();
        let acts = attempt_keeping_flags(&settings, c, duty, topic_len);
        c.retried = true;
        acts
    }

    /// The duty changed (a week boundary or a schedule change): every joined channel, once.
    pub fn changed(&mut self, duty: &Duty, topic_len: usize) -> Vec<Act> {
        let settings = self.settings.clone();
        let mut acts = Vec::new();
        let mut names: Vec<&String> = self.channels.keys().collect();
        names.sort();
        let names: Vec<String> = names.into_iter().cloned().collect();
        for name in names {
            let c = self.channels.get_mut(&name).expect("key from the map");
            if c.joined {
                acts.extend(attempt(&settings, c, duty, topic_len));
            }
        }
        acts
    }
}

/// One attempt for a new change: the refusal bookkeeping starts afresh.
fn attempt(settings: &Settings, c: &mut Channel, duty: &Duty, topic_len: usize) -> Vec<Act> {
    c.asked_chanserv = false;
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

    #[test]
    fn falls_back_to_chanserv_once_per_change() {
        let mut k = keeper(true);
        k.joined("#sre", "Welcome", false, &alice(), 390);
        let asked = k.refused("#sre", false, &alice(), 390);
        assert_eq!(
            asked,
            vec![Act::AskChanServ { channel: "#sre".into(), text: "Welcome | SRE Clinic Duty: Alice".into() }]
        );
        // ChanServ could not either: say what is missing, once.
        assert!(matches!(&k.refused("#sre", false, &alice(), 390)[..], [Act::Say { .. }]));
        assert!(k.refused("#sre", false, &alice(), 390).is_empty());
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
