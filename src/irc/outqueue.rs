//! The bot's replies waiting for flood control, and which goes next. Pure: the driver asks for
//! the next reply when the token bucket has room, and renders and splits it.
//!
//! Two lanes. First, in arrival order: acks, errors, notices, topics, announcements. Acks for one
//! target that wait behind flood control leave merged into one line, so a burst of `!log`s is
//! acknowledged in seconds. Then commands' answers and bulk output (a query's answer), one line
//! per target in turn, so that one person's long answers neither hold up anyone's ack nor
//! everyone else's answers. A target has at most [`BULK_PER_TARGET`] bulk lines waiting: the
//! rest is cut and the target told how many lines and where to find them. What waits for a nick
//! that has left all our channels (or quit) since it was queued is dropped: nobody can receive
//! it any more.

use super::{Ack, Outgoing};
use std::collections::VecDeque;

/// Bulk lines one target may have waiting: at one line per 1.5 s, about a minute of output.
pub(crate) const BULK_PER_TARGET: usize = 40;

/// Lines waiting in either lane beyond this are dropped (with a warning) rather than growing
/// without bound. Acks are never dropped: they are the promise that an entry is stored, and
/// merging sends thousands of them in a few lines.
const MAX_QUEUED: usize = 20_000;

/// Words the acks waiting for a target: `(line, how many it covers)` (see [`super::AckLine`]).
pub(crate) type Merge<'a> = dyn FnMut(&str, &[Ack]) -> (String, usize) + 'a;

/// What the driver sends next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A PRIVMSG or NOTICE, to render and split.
    Say {
        command: &'static str,
        target: String,
        text: String,
    },
    Topic {
        channel: String,
        text: String,
    },
}

/// One target's answers and bulk output.
#[derive(Debug)]
struct Output {
    target: String,
    lines: VecDeque<String>,
    /// Lines not queued because the target had its share waiting, and where to find them.
    cut: usize,
    rest: String,
    /// The target could receive when the output was queued: if it cannot any more, it left.
    watched: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Replies {
    first: VecDeque<Outgoing>,
    /// Targets with answers or bulk output waiting, served in turn.
    bulk: VecDeque<Output>,
    bulk_lines: usize,
}

impl Replies {
    pub(crate) fn depth(&self) -> usize {
        self.first.len() + self.bulk_lines
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_empty() && self.bulk.is_empty()
    }

    /// Queues `msg`. `reachable(target)` says whether a target can receive now (a channel
    /// always; a nick while it shares a channel with us).
    pub(crate) fn push(&mut self, msg: Outgoing, reachable: impl Fn(&str) -> bool) {
        match msg {
            Outgoing::Bulk { target, lines, rest } => self.push_bulk(target, lines, Some(rest), reachable),
            Outgoing::Answer { .. } if self.bulk_lines >= MAX_QUEUED => {
                tracing::warn!(queued = self.bulk_lines, "outgoing queue full; dropping a reply: {msg:?}");
            }
            Outgoing::Answer { target, text } => self.push_bulk(target, vec![text], None, reachable),
            Outgoing::Quit { .. } => {}
            Outgoing::Ack { .. } => self.first.push_back(msg),
            msg if self.first.len() >= MAX_QUEUED => {
                tracing::warn!(queued = self.first.len(), "outgoing queue full; dropping a reply: {msg:?}");
            }
            msg => self.first.push_back(msg),
        }
    }

    /// Queues `lines` for `target`: an answer (`rest` is `None`) always, bulk output (with
    /// where to find the rest) within the target's share.
    fn push_bulk(
        &mut self,
        target: String,
        lines: Vec<String>,
        rest: Option<String>,
        reachable: impl Fn(&str) -> bool,
    ) {
        let at = match self.bulk.iter().position(|o| super::casefold_eq(&o.target, &target)) {
            Some(at) => at,
            None => {
                let watched = reachable(&target);
                self.bulk.push_back(Output { target, lines: VecDeque::new(), cut: 0, rest: String::new(), watched });
                self.bulk.len() - 1
            }
        };
        let out = &mut self.bulk[at];
        // Once output is being cut, everything after it is too, until the note has gone out.
        let room = match rest {
            None => lines.len(),
            Some(_) if out.cut > 0 || self.bulk_lines >= MAX_QUEUED => 0,
            Some(_) => BULK_PER_TARGET.saturating_sub(out.lines.len()),
        };
        let kept = lines.len().min(room);
        out.cut += lines.len() - kept;
        if let Some(rest) = rest.filter(|_| kept < lines.len()) {
            out.rest = rest;
        }
        out.lines.extend(lines.into_iter().take(kept));
        self.bulk_lines += kept;
        if out.lines.is_empty() && out.cut == 0 {
            self.bulk.remove(at);
        }
    }

    /// The next reply to send, when flood control lets `room` lines go now (`merge` words the
    /// acks for a target: see [`super::AckLine`]). Acks that can all go at once leave one by
    /// one; when more wait in the first lane than can go now, a target's acks are merged.
    pub(crate) fn next(&mut self, room: f64, reachable: impl Fn(&str) -> bool, merge: &mut Merge<'_>) -> Option<Next> {
        if let Some(msg) = self.first.pop_front() {
            return Some(match msg {
                Outgoing::Privmsg { target, text } => Next::Say { command: "PRIVMSG", target, text },
                Outgoing::Notice { target, text } => Next::Say { command: "NOTICE", target, text },
                Outgoing::Topic { channel, text } => Next::Topic { channel, text },
                // Everything waiting fits in the bucket: no reason to merge.
                Outgoing::Ack { target, ack } if (self.first.len() + 1) as f64 <= room.floor() => {
                    let text = merge(&target, std::slice::from_ref(&ack)).0;
                    Next::Say { command: "PRIVMSG", target, text }
                }
                Outgoing::Ack { target, ack } => {
                    let text = self.coalesce(&target, ack, merge);
                    Next::Say { command: "PRIVMSG", target, text }
                }
                Outgoing::Answer { .. } | Outgoing::Bulk { .. } | Outgoing::Quit { .. } => {
                    unreachable!("never in the first lane")
                }
            });
        }
        while let Some(mut out) = self.bulk.pop_front() {
            if out.watched && !reachable(&out.target) {
                tracing::debug!(target = %out.target, lines = out.lines.len(), "dropping output for someone who left");
                self.bulk_lines -= out.lines.len();
                continue;
            }
            let text = match out.lines.pop_front() {
                Some(line) => {
                    self.bulk_lines -= 1;
                    line
                }
                None => {
                    let (cut, rest) = (std::mem::take(&mut out.cut), std::mem::take(&mut out.rest));
                    format!("…{cut} more lines not sent: too much output was waiting for you. {rest}")
                }
            };
            let target = out.target.clone();
            if !out.lines.is_empty() || out.cut > 0 {
                self.bulk.push_back(out);
            }
            return Some(Next::Say { command: "PRIVMSG", target, text });
        }
        None
    }

    /// Takes `first` and every other ack waiting for `target` in the first lane and returns one
    /// line for as many of them as fit; the rest go back to the front (in id order) for the
    /// next line.
    fn coalesce(&mut self, target: &str, first: Ack, merge: &mut Merge<'_>) -> String {
        let mut acks = vec![first];
        let mut others = VecDeque::with_capacity(self.first.len());
        for m in self.first.drain(..) {
            match m {
                Outgoing::Ack { target: t, ack } if super::casefold_eq(&t, target) => acks.push(ack),
                other => others.push_back(other),
            }
        }
        self.first = others;
        acks.sort_by_key(|a| a.id);
        let (text, used) = merge(target, &acks);
        for ack in acks.drain(used.max(1)..).rev() {
            self.first.push_front(Outgoing::Ack { target: target.to_string(), ack });
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(target: &str, id: i64, nick: &str) -> Outgoing {
        Outgoing::Ack { target: target.into(), ack: Ack { id, nick: nick.into(), url: None, message: None } }
    }

    fn bulk(target: &str, n: usize, tag: &str) -> Outgoing {
        Outgoing::Bulk {
            target: target.into(),
            lines: (1..=n).map(|i| format!("{tag} {i}")).collect(),
            rest: "see the web view".into(),
        }
    }

    /// A stand-in for the real wording: the ids, comma-separated, at most `max` per line.
    fn ids(max: usize) -> impl FnMut(&str, &[Ack]) -> (String, usize) {
        move |_, acks: &[Ack]| {
            let used = acks.len().min(max);
            (format!("acks {}", acks[..used].iter().map(|a| a.id.to_string()).collect::<Vec<_>>().join(",")), used)
        }
    }

    fn everyone(_: &str) -> bool {
        true
    }

    /// Everything the queue gives, as "target: text", with `room` lines allowed each time.
    fn drain(q: &mut Replies, room: f64, reachable: impl Fn(&str) -> bool) -> Vec<String> {
        let mut merge = ids(100);
        std::iter::from_fn(|| q.next(room, &reachable, &mut merge))
            .map(|n| match n {
                Next::Say { target, text, .. } => format!("{target}: {text}"),
                Next::Topic { channel, text } => format!("topic {channel}: {text}"),
            })
            .collect()
    }

    #[test]
    fn acks_and_short_lines_go_before_bulk_output() {
        let mut q = Replies::default();
        q.push(bulk("eve", 11, "entry"), everyone);
        q.push(ack("#sre", 1, "alice"), everyone);
        q.push(Outgoing::Notice { target: "bob".into(), text: "NOT logged: x".into() }, everyone);
        q.push(ack("#sre", 2, "alice"), everyone);
        let out = drain(&mut q, 1.0, everyone);
        // The bucket cannot send all three now: alice's acks leave merged, in front.
        assert_eq!(&out[..2], ["#sre: acks 1,2", "bob: NOT logged: x"]);
        assert_eq!(out[2], "eve: entry 1");
        assert_eq!(out.len(), 13);
        assert!(q.is_empty() && q.depth() == 0);
    }

    #[test]
    fn answers_take_turns_with_output_and_are_never_cut() {
        let mut q = Replies::default();
        q.push(bulk("eve", 60, "e"), everyone);
        q.push(Outgoing::Answer { target: "eve".into(), text: "short".into() }, everyone);
        q.push(Outgoing::Answer { target: "#sre".into(), text: "help".into() }, everyone);
        q.push(ack("#sre", 3, "alice"), everyone);
        let out = drain(&mut q, 1.0, everyone);
        assert_eq!(&out[..4], ["#sre: acks 3", "eve: e 1", "#sre: help", "eve: e 2"]);
        assert!(out.contains(&"eve: short".to_string()), "{out:?}");
        assert_eq!(out.len(), 1 + BULK_PER_TARGET + 1 + 1 + 1, "the share, the answer, the note, help and the ack");
    }

    #[test]
    fn acks_that_can_all_go_now_go_one_by_one() {
        let mut q = Replies::default();
        for id in 1..=3 {
            q.push(ack("#sre", id, "alice"), everyone);
        }
        assert_eq!(drain(&mut q, 4.0, everyone), ["#sre: acks 1", "#sre: acks 2", "#sre: acks 3"]);
    }

    #[test]
    fn merged_acks_that_do_not_fit_one_line_stay_in_front_in_id_order() {
        let mut q = Replies::default();
        for id in [5, 1, 4, 2, 3] {
            q.push(ack("#sre", id, "alice"), everyone);
        }
        q.push(ack("#ops", 9, "bob"), everyone);
        q.push(Outgoing::Privmsg { target: "#ops".into(), text: "short".into() }, everyone);
        let mut merge = ids(2);
        let mut next = || match q.next(0.0, everyone, &mut merge) {
            Some(Next::Say { target, text, .. }) => format!("{target}: {text}"),
            other => panic!("{other:?}"),
        };
        assert_eq!(next(), "#sre: acks 1,2");
        assert_eq!(next(), "#sre: acks 3,4");
        assert_eq!(next(), "#sre: acks 5");
        assert_eq!(next(), "#ops: acks 9");
        assert_eq!(next(), "#ops: short");
    }

    #[test]
    fn bulk_output_takes_turns_by_target() {
        let mut q = Replies::default();
        q.push(bulk("eve", 3, "e"), everyone);
        q.push(bulk("Mallory", 2, "m"), everyone);
        q.push(bulk("eve", 1, "again"), everyone);
        q.push(bulk("mallory", 1, "m-again"), everyone);
        assert_eq!(
            drain(&mut q, 1.0, everyone),
            ["eve: e 1", "Mallory: m 1", "eve: e 2", "Mallory: m 2", "eve: e 3", "Mallory: m-again 1", "eve: again 1"]
        );
    }

    #[test]
    fn one_targets_bulk_output_is_capped_and_says_what_was_cut() {
        let mut q = Replies::default();
        // A hundred answers of eleven lines each: the share, then one note with the count.
        for _ in 0..100 {
            q.push(bulk("eve", 11, "line"), everyone);
        }
        q.push(bulk("bob", 2, "b"), everyone);
        assert_eq!(q.depth(), BULK_PER_TARGET + 2);
        let out = drain(&mut q, 1.0, everyone);
        let eves: Vec<&String> = out.iter().filter(|l| l.starts_with("eve: ")).collect();
        assert_eq!(eves.len(), BULK_PER_TARGET + 1);
        let cut = 1100 - BULK_PER_TARGET;
        assert_eq!(
            eves.last().unwrap().as_str(),
            format!("eve: …{cut} more lines not sent: too much output was waiting for you. see the web view")
        );
        // Bob's answer was not stuck behind eve's.
        assert_eq!(&out[1..4], ["bob: b 1", "eve: line 2", "bob: b 2"]);
        // Once the note has gone, eve has her share again.
        q.push(bulk("eve", 3, "new"), everyone);
        assert_eq!(drain(&mut q, 1.0, everyone), ["eve: new 1", "eve: new 2", "eve: new 3"]);
    }

    #[test]
    fn output_for_someone_who_left_is_dropped() {
        let mut q = Replies::default();
        q.push(bulk("eve", 20, "e"), everyone);
        q.push(bulk("bob", 2, "b"), everyone);
        // Someone the bot never shared a channel with (a private message from outside) still
        // gets the answer: only a target that was there and left is dropped.
        q.push(bulk("outsider", 1, "o"), |t| t != "outsider");
        let gone = |t: &str| t != "eve" && t != "outsider";
        let mut merge = ids(100);
        assert!(matches!(q.next(1.0, everyone, &mut merge), Some(Next::Say { target, .. }) if target == "eve"));
        let out = drain(&mut q, 1.0, gone);
        assert_eq!(out, ["bob: b 1", "outsider: o 1", "bob: b 2"]);
        assert!(q.is_empty() && q.depth() == 0);
    }

    #[test]
    fn topics_and_notices_keep_their_order_and_acks_are_never_dropped() {
        let mut q = Replies::default();
        q.push(Outgoing::Topic { channel: "#sre".into(), text: "t".into() }, everyone);
        q.push(Outgoing::Notice { target: "bob".into(), text: "n".into() }, everyone);
        assert_eq!(drain(&mut q, 5.0, everyone), ["topic #sre: t", "bob: n"]);
        for i in 0..MAX_QUEUED + 10 {
            q.push(Outgoing::Privmsg { target: "#sre".into(), text: i.to_string() }, everyone);
        }
        q.push(ack("#sre", 1, "alice"), everyone);
        assert_eq!(q.depth(), MAX_QUEUED + 1, "the ack is kept when other replies are not");
    }
}
