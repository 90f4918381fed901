//! One queue of commands per sender: a sender's commands run in the order they arrived (store
//! order = id order = ack order), while different senders' run concurrently, and their `!log`s
//! share group commits. A run of `!log`s at the front of a queue (a paste) goes to the store
//! together, in order, so it shares a commit too.
//!
//! A queue holds at most [`QUEUE_PER_SENDER`] commands; beyond that a command is not run, and
//! when the queue has drained the sender hears how many (`NOT logged: 37 entries over alice's
//! queue of 500`). Pure bookkeeping: the bot runs what [`Senders::next`] hands it.

use crate::cmd::Command;
use crate::irc::Incoming;
use std::collections::{HashMap, VecDeque};

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

/// What to do next for one sender.
#[derive(Debug)]
pub enum Step {
    /// Run these, in order (several only when all are `!log`s).
    Run(Vec<Job>),
    /// The sender's queue is empty (and forgotten); `Some` is the answer about commands that did
    /// not fit: (where, what).
    Done(Option<(String, String)>),
}

#[derive(Debug, Default)]
struct Queue {
    waiting: VecDeque<Job>,
    /// Commands that did not fit, `!log`s among them, and where to say so.
    over: usize,
    over_logs: usize,
    over_at: Option<(String, String)>,
}

/// Every sender with commands waiting or running.
#[derive(Debug, Default)]
pub struct Senders {
    queues: HashMap<String, Queue>,
    jobs: usize,
}

impl Senders {
    /// Commands waiting in all queues.
    pub fn waiting(&self) -> usize {
        self.jobs
    }

    /// Queues `job` for `key` (see [`crate::ratelimit::key`]). True when nothing runs for this
    /// sender yet: the caller starts it with [`Senders::next`].
    pub fn push(&mut self, key: &str, job: Job) -> bool {
        if let Some(q) = self.queues.get_mut(key) {
            if q.waiting.len() >= QUEUE_PER_SENDER {
                q.over += 1;
                if job.logs() {
                    q.over_logs += 1;
                }
                let where_to = job.msg.channel.clone().unwrap_or_else(|| job.msg.sender.nick.clone());
                q.over_at.get_or_insert((where_to, job.msg.sender.nick.clone()));
            } else {
                q.waiting.push_back(job);
                self.jobs += 1;
            }
            return false;
        }
        let mut q = Queue::default();
        q.waiting.push_back(job);
        self.jobs += 1;
        self.queues.insert(key.to_string(), q);
        true
    }

    /// What runs next for `key`, once its previous step is done: the `!log`s at the front of its
    /// queue, or the one other command there; when the queue is empty, it is forgotten.
    pub fn next(&mut self, key: &str) -> Step {
        let Some(q) = self.queues.get_mut(key) else { return Step::Done(None) };
        let logs = q.waiting.iter().take(LOGS_AT_ONCE).take_while(|j| j.logs()).count();
        let jobs: Vec<Job> = q.waiting.drain(..logs.max(1).min(q.waiting.len())).collect();
        if !jobs.is_empty() {
            self.jobs -= jobs.len();
            return Step::Run(jobs);
        }
        let q = self.queues.remove(key).expect("looked up above");
        Step::Done(q.over_at.map(|(target, nick)| (target, over_answer(&nick, q.over, q.over_logs))))
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

    fn texts(step: Step) -> Vec<String> {
        match step {
            Step::Run(jobs) => jobs.into_iter().map(|j| j.msg.text).collect(),
            Step::Done(said) => panic!("done: {said:?}"),
        }
    }

    #[test]
    fn one_senders_commands_come_in_order_logs_together() {
        let mut s = Senders::default();
        assert!(s.push("alice", job("alice", "!log one")));
        assert!(!s.push("alice", job("alice", "!log two")));
        assert!(s.push("bob", job("bob", "!log bob's")), "another sender starts at once");
        s.push("alice", job("alice", "!sal last"));
        s.push("alice", job("alice", "!log three"));
        s.push("alice", job("alice", "!log undo"));
        s.push("alice", job("alice", "!log four"));
        assert_eq!(s.waiting(), 7);
        assert_eq!(texts(s.next("alice")), ["!log one", "!log two"]);
        assert_eq!(texts(s.next("alice")), ["!sal last"]);
        assert_eq!(texts(s.next("alice")), ["!log three"]);
        assert_eq!(texts(s.next("alice")), ["!log undo"]);
        assert_eq!(texts(s.next("alice")), ["!log four"]);
        assert!(matches!(s.next("alice"), Step::Done(None)));
        // Forgotten once empty: the next command starts a run again.
        assert!(s.push("alice", job("alice", "!log five")));
        assert_eq!(texts(s.next("bob")), ["!log bob's"]);
        assert_eq!(s.waiting(), 1);
    }

    #[test]
    fn a_long_paste_goes_to_the_store_in_slices_in_order() {
        let mut s = Senders::default();
        for i in 0..300 {
            s.push("alice", job("alice", &format!("!log line {i}")));
        }
        let mut seen = Vec::new();
        while let Step::Run(jobs) = s.next("alice") {
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
        assert_eq!(s.waiting(), QUEUE_PER_SENDER);
        let mut run = 0;
        let said = loop {
            match s.next("alice") {
                Step::Run(jobs) => run += jobs.len(),
                Step::Done(said) => break said,
            }
        };
        assert_eq!(run, QUEUE_PER_SENDER);
        assert_eq!(
            said,
            Some((
                "#sre".into(),
                "NOT logged: 37 entries over alice's queue of 500 (and 1 other commands ignored)".into()
            ))
        );
        assert_eq!(over_answer("bob", 1, 1), "NOT logged: 1 entry over bob's queue of 500");
        assert_eq!(over_answer("bob", 3, 0), "bob: 3 commands ignored over your queue of 500; say them again.");
    }
}
