//! One queue of commands per sender: a sender's commands run in the order they arrived (store
//! order = id order = ack order), while different senders' run concurrently, and their `!log`s
//! share group commits. `!log`s are handed to the store as they come, in order (so a paste
//! shares commits too), and answered in order; any other command waits for everything before
//! it, and everything after it waits for it.
//!
//! A sender has at most [`QUEUE_PER_SENDER`] commands waiting or running; beyond that a command
//! is not run, and once the queue has drained the sender hears how many (`NOT logged: 37
//! entries over alice's queue of 500`). Bookkeeping only: the bot starts what
//! [`Senders::ready`] hands it and reports with [`Senders::finished`].

use crate::cmd::Command;
use crate::irc::Incoming;
use std::collections::{HashMap, VecDeque};
use tokio::sync::oneshot;

/// Commands one sender may have waiting: more than any paste.
pub const QUEUE_PER_SENDER: usize = 500;

/// `!log`s handed to the store in one go, at most (the store's batch is 512).
const LOGS_AT_ONCE: usize = 128;

/// A command and the message that carried it.
#[derive(Debug)]
pub struct Job {
    pub command: Command,
    pub msg: Incoming,
}

impl Job {
    /// A `!log` that stores an entry (not an undo): such jobs can go to the store together.
    fn logs(&self) -> bool {
        matches!(&self.command, Command::Log { message } if !crate::cmd::log::is_undo(message))
    }
}

/// A step that can start now for one sender.
#[derive(Debug)]
pub enum Start {
    /// `!log`s to hand to the store in order. Steps of `!log`s overlap (a sender's paste is
    /// stored as fast as it comes, in order): this one hands its entries over once `after` (the
    /// step before, if any) has handed over its own, and answers once that step has answered;
    /// the caller gives this step's own signals to [`Senders::started`].
    Logs { jobs: Vec<Job>, after: Option<Chain> },
    /// Another command, alone: everything before it has answered, and nothing after it starts
    /// until it has.
    Alone(Job),
}

/// Signals from a step of `!log`s to the next.
#[derive(Debug)]
pub struct Chain {
    /// Its entries are in the store's queue.
    pub submitted: oneshot::Receiver<()>,
    /// Its answers are sent.
    pub answered: oneshot::Receiver<()>,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: VecDeque<Job>,
    /// Jobs in each step started and not finished yet, oldest first.
    running: VecDeque<usize>,
    /// Every running step is `!log`s (so more of them may start).
    only_logs: bool,
    /// The signals of the latest running step of `!log`s.
    tail: Option<Chain>,
    /// Commands that did not fit, `!log`s among them, and where to say so.
    over: usize,
    over_logs: usize,
    over_at: Option<(String, String)>,
}

impl Queue {
    fn jobs(&self) -> usize {
        self.waiting.len() + self.running.iter().sum::<usize>()
    }
}

/// Every sender with commands waiting or running.
#[derive(Debug, Default)]
pub struct Senders {
    queues: HashMap<String, Queue>,
    jobs: usize,
}

impl Senders {
    /// Commands waiting or running, for all senders.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// Queues `job` for `key` (see [`crate::ratelimit::key`]), or counts it when the sender
    /// already has [`QUEUE_PER_SENDER`] waiting or running. Then see [`Senders::ready`].
    pub fn push(&mut self, key: &str, job: Job) {
        let q = self.queues.entry(key.to_string()).or_default();
        if q.jobs() >= QUEUE_PER_SENDER {
            q.over += 1;
            if job.logs() {
                q.over_logs += 1;
            }
            let where_to = job.msg.channel.clone().unwrap_or_else(|| job.msg.sender.nick.clone());
            q.over_at.get_or_insert((where_to, job.msg.sender.nick.clone()));
            return;
        }
        q.waiting.push_back(job);
        self.jobs += 1;
    }

    /// The next step that may start for `key` now, if any: when nothing runs, the `!log`s at the
    /// front of the queue or the one other command there; while only `!log`s run, more `!log`s.
    pub fn ready(&mut self, key: &str) -> Option<Start> {
        let q = self.queues.get_mut(key)?;
        let front_logs = q.waiting.front()?.logs();
        let may_start = q.running.is_empty() || (q.only_logs && front_logs);
        if !may_start {
            return None;
        }
        if !front_logs {
            q.running.push_back(1);
            q.only_logs = false;
            return q.waiting.pop_front().map(Start::Alone);
        }
        let n = q.waiting.iter().take(LOGS_AT_ONCE).take_while(|j| j.logs()).count();
        q.running.push_back(n);
        q.only_logs = true;
        Some(Start::Logs { jobs: q.waiting.drain(..n).collect(), after: q.tail.take() })
    }

    /// The signal of the `!log` step just started for `key`: the next one waits for it.
    pub fn started(&mut self, key: &str, done: Chain) {
        if let Some(q) = self.queues.get_mut(key) {
            q.tail = Some(done);
        }
    }

    /// The oldest running step of `key` has finished. When nothing is left for the sender it is
    /// forgotten, and the answer about commands that did not fit comes back: (where, what).
    pub fn finished(&mut self, key: &str) -> Option<(String, String)> {
        let q = self.queues.get_mut(key)?;
        self.jobs -= q.running.pop_front().unwrap_or(0);
        if q.running.is_empty() {
            q.tail = None; // answered: nothing to wait for
        }
        if !q.running.is_empty() || !q.waiting.is_empty() {
            return None;
        }
        let q = self.queues.remove(key).expect("looked up above");
        q.over_at.map(|(target, nick)| (target, over_answer(&nick, q.over, q.over_logs)))
    }
}

/// What a sender hears about commands that did not fit in their queue.
fn over_answer(nick: &str, over: usize, logs: usize) -> String {
    let others = over - logs;
    let mut text = match logs {
        0 => format!("{nick}: {over} commands ignored over your queue of {QUEUE_PER_SENDER}; say them again."),
        1 => format!("NOT logged: 1 entry over {nick}'s queue of {QUEUE_PER_SENDER}"),
        n => format!("NOT logged: {n} entries over {nick}'s queue of {QUEUE_PER_SENDER}"),
    };
    if logs > 0 && others > 0 {
        text += &format!(" (and {others} other commands ignored)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(nick: &str, text: &str) -> Job {
        let msg = Incoming {
            time: "2026-12-03T10:00:00Z".parse().unwrap(),
            channel: Some("#sre".into()),
            sender: crate::irc::Sender { nick: nick.into(), user: "u".into(), host: "h".into(), account: None },
            text: text.into(),
        };
        let command = crate::cmd::parse(&Default::default(), text).expect("a command");
        Job { command, msg }
    }

    /// The texts of the step that may start now ("-" for none), marking a `!log` step that
    /// must wait for the one before with "after".
    fn ready(s: &mut Senders, key: &str) -> String {
        match s.ready(key) {
            None => "-".into(),
            Some(Start::Alone(job)) => job.msg.text,
            Some(Start::Logs { jobs, after }) => {
                let texts: Vec<String> = jobs.into_iter().map(|j| j.msg.text).collect();
                let (submitted, answered) = (oneshot::channel::<()>().1, oneshot::channel::<()>().1);
                s.started(key, Chain { submitted, answered });
                format!("{}{}", texts.join(" + "), if after.is_some() { " after" } else { "" })
            }
        }
    }

    #[test]
    fn one_senders_commands_come_in_order_logs_overlapping() {
        let mut s = Senders::default();
        s.push("alice", job("alice", "!log one"));
        s.push("alice", job("alice", "!log two"));
        s.push("bob", job("bob", "!log bob's"));
        assert_eq!(ready(&mut s, "alice"), "!log one + !log two");
        assert_eq!(ready(&mut s, "alice"), "-");
        // Another sender is not held up.
        assert_eq!(ready(&mut s, "bob"), "!log bob's");
        // More lines while the first are being stored: they start at once, answered after.
        s.push("alice", job("alice", "!log three"));
        assert_eq!(ready(&mut s, "alice"), "!log three after");
        // Anything else waits for everything before it, and everything after waits for it.
        s.push("alice", job("alice", "!sal last"));
        s.push("alice", job("alice", "!log four"));
        s.push("alice", job("alice", "!log undo"));
        assert_eq!(s.jobs(), 7);
        assert_eq!(ready(&mut s, "alice"), "-");
        assert_eq!(s.finished("alice"), None);
        assert_eq!(ready(&mut s, "alice"), "-", "!log three is still running");
        assert_eq!(s.finished("alice"), None);
        assert_eq!(ready(&mut s, "alice"), "!sal last");
        assert_eq!(ready(&mut s, "alice"), "-");
        assert_eq!(s.finished("alice"), None);
        assert_eq!(ready(&mut s, "alice"), "!log four");
        assert_eq!(ready(&mut s, "alice"), "-", "an undo is not a new entry: it waits");
        assert_eq!(s.finished("alice"), None);
        assert_eq!(ready(&mut s, "alice"), "!log undo");
        assert_eq!(s.finished("alice"), None, "forgotten, nothing to say");
        assert_eq!(s.finished("bob"), None);
        assert_eq!(s.jobs(), 0);
        // Forgotten once empty: the next command starts afresh.
        s.push("alice", job("alice", "!log five"));
        assert_eq!(ready(&mut s, "alice"), "!log five");
    }

    #[test]
    fn a_long_paste_goes_to_the_store_in_slices_in_order() {
        let mut s = Senders::default();
        for i in 0..300 {
            s.push("alice", job("alice", &format!("!log line {i}")));
        }
        let mut seen = Vec::new();
        while let Some(Start::Logs { jobs, .. }) = s.ready("alice") {
            assert!(jobs.len() <= LOGS_AT_ONCE);
            seen.extend(jobs.into_iter().map(|j| j.msg.text));
        }
        assert_eq!(seen, (0..300).map(|i| format!("!log line {i}")).collect::<Vec<_>>());
    }

    #[test]
    fn what_does_not_fit_is_counted_and_said_once_the_queue_drains() {
        let mut s = Senders::default();
        for i in 0..QUEUE_PER_SENDER + 37 {
            s.push("alice", job("alice", &format!("!log line {i}")));
        }
        s.push("alice", job("alice", "!help"));
        assert_eq!(s.jobs(), QUEUE_PER_SENDER);
        let mut run = 0;
        while let Some(Start::Logs { jobs, .. }) = s.ready("alice") {
            run += jobs.len();
        }
        assert_eq!(run, QUEUE_PER_SENDER);
        // Running jobs count too: nothing more fits until some finish.
        s.push("alice", job("alice", "!log one more"));
        let steps = QUEUE_PER_SENDER.div_ceil(LOGS_AT_ONCE);
        for _ in 1..steps {
            assert_eq!(s.finished("alice"), None);
        }
        assert_eq!(
            s.finished("alice"),
            Some((
                "#sre".into(),
                "NOT logged: 38 entries over alice's queue of 500 (and 1 other commands ignored)".into()
            ))
        );
        assert_eq!(s.jobs(), 0);
        assert_eq!(over_answer("bob", 1, 1), "NOT logged: 1 entry over bob's queue of 500");
        assert_eq!(over_answer("bob", 3, 0), "bob: 3 commands ignored over your queue of 500; say them again.");
    }
}
