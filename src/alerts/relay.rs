//! Storm folding: alert lines on their way to the IRC queue.
//!
//! Each channel gets `fold_after` lines a minute. Past that, lines are not sent but counted,
//! and once the storm pauses for a few seconds (or the minute is over) one summary line says how
//! many were folded and which alerts they were; `!alerts` lists them. So 200 alerts in a minute make a handful of lines, which the
//! driver's flood control sends without an Excess Flood. The decisions are the pure
//! [`Folder`]; the task around it only feeds it lines and ticks.

use super::line::{word, Announcement};
use crate::irc::Client;
use crate::names::ChannelName;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const WINDOW: Duration = Duration::from_secs(60);
/// A storm this long quiet is over enough to say what it folded.
const QUIET: Duration = Duration::from_secs(5);

/// What one channel has said in its current window, and what it has held back.
#[derive(Debug, Default)]
struct Window {
    started: Option<Instant>,
    sent: usize,
    folded_lines: usize,
    last_fold: Option<Instant>,
    /// (change, name) → alerts folded.
    folded: BTreeMap<(&'static str, String), usize>,
}

/// The pure part: which lines go out now and which summaries are due.
#[derive(Debug)]
pub struct Folder {
    per_window: usize,
    channels: BTreeMap<String, Window>,
}

impl Folder {
    pub fn new(per_window: usize) -> Folder {
        Folder { per_window: per_window.max(1), channels: BTreeMap::new() }
    }

    /// The line to send now, or `None` when it was folded.
    pub fn offer(&mut self, a: Announcement, now: Instant) -> Option<(String, String)> {
        let w = self.channels.entry(ChannelName::from(a.channel.as_str()).key()).or_default();
        if w.started.is_none_or(|s| now.duration_since(s) >= WINDOW) && w.folded_lines == 0 {
            *w = Window { started: Some(now), ..Window::default() };
        }
        if w.sent < self.per_window {
            w.sent += 1;
            return Some((a.channel, a.text));
        }
        w.folded_lines += 1;
        w.last_fold = Some(now);
        *w.folded.entry((word(a.change), a.name)).or_default() += a.count;
        None
    }

    /// Summary lines of the windows that are over: `(channel, text)`, each cut to `budget`.
    pub fn due(&mut self, now: Instant, budget: &dyn Fn(&str) -> usize) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (channel, w) in &mut self.channels {
            let over = w.started.is_some_and(|s| now.duration_since(s) >= WINDOW);
            let quiet = w.last_fold.is_some_and(|t| now.duration_since(t) >= QUIET);
            if !(over || quiet) || w.folded_lines == 0 {
                continue;
            }
            let alerts: usize = w.folded.values().sum();
            let mut by_change: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            let mut ranked: Vec<_> = w.folded.iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for ((change, name), n) in ranked {
                by_change.entry(change).or_default().push(format!("{name} ×{n}"));
            }
            let parts: Vec<String> =
                by_change.into_iter().map(|(c, names)| format!("{c} {}", names.join(", "))).collect();
            let text = format!(
                "Folded {} more alert line{} ({alerts} alert{}): {}. !alerts lists what fires.",
                w.folded_lines,
                if w.folded_lines == 1 { "" } else { "s" },
                if alerts == 1 { "" } else { "s" },
                parts.join("; ")
            );
            let text = if text.len() > budget(channel) { fit(&text, budget(channel)) } else { text };
            out.push((channel.clone(), text));
            // The summary counts as a line: in the next window when this one is over, else in
            // this one, which keeps folding what comes after it.
            *w = if over {
                Window { started: Some(now), sent: 1, ..Window::default() }
            } else {
                Window { started: w.started, sent: w.sent + 1, ..Window::default() }
            };
        }
        out
    }
}

/// Cuts the list of names, keeping the pointer to `!alerts` at the end.
fn fit(text: &str, budget: usize) -> String {
    let tail = " … !alerts lists what fires.";
    format!("{}{tail}", crate::text::truncate_bytes(text, budget.saturating_sub(tail.len())).trim_end_matches('…'))
}

/// Where the receivers hand their lines.
#[derive(Clone)]
pub struct Relay {
    tx: mpsc::UnboundedSender<Announcement>,
}

impl Relay {
    /// Starts the folding task; its lines go out through `client` (the driver's queue).
    pub fn spawn(client: Client, per_window: usize, budget: impl Fn(&str) -> usize + Send + 'static) -> Relay {
        let (tx, mut rx) = mpsc::unbounded_channel::<Announcement>();
        tokio::spawn(async move {
            let mut folder = Folder::new(per_window);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    next = rx.recv() => match next {
                        Some(a) => if let Some((channel, text)) = folder.offer(a, Instant::now()) {
                            client.privmsg(&channel, text);
                        },
                        None => break,
                    },
                    _ = tick.tick() => for (channel, text) in folder.due(Instant::now(), &budget) {
                        client.privmsg(&channel, text);
                    },
                }
            }
        });
        Relay { tx }
    }

    pub fn send(&self, lines: Vec<Announcement>) {
        for a in lines {
            let _ = self.tx.send(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::alert::Change;

    fn line(i: usize) -> Announcement {
        Announcement {
            channel: "#sre".into(),
            text: format!("FIRING NodeDown host{i}"),
            change: Change::Fired,
            name: if i.is_multiple_of(4) { "DiskFull".into() } else { "NodeDown".into() },
            count: 1,
        }
    }

    #[test]
    fn a_storm_of_200_becomes_a_few_lines_saying_what_was_folded() {
        let mut f = Folder::new(5);
        let t0 = Instant::now();
        let mut sent = 0;
        for i in 0..200 {
            let at = t0 + Duration::from_millis(i as u64 * 250);
            if f.offer(line(i), at).is_some() {
                sent += 1;
            }
            assert!(f.due(at, &|_| 400).is_empty(), "no pause yet");
        }
        assert_eq!(sent, 5);
        let summary = f.due(t0 + Duration::from_secs(56), &|_| 400);
        assert_eq!(summary.len(), 1, "said once the storm pauses");
        let text = &summary[0].1;
        assert!(text.starts_with("Folded 195 more alert lines (195 alerts): FIRING NodeDown ×"), "{text}");
        assert!(text.contains("DiskFull ×"), "{text}");
        assert!(f.due(t0 + Duration::from_secs(200), &|_| 400).is_empty(), "said once");
        // A second burst in the same minute is folded at once: the window is not reset.
        let t1 = t0 + Duration::from_secs(57);
        assert!(f.offer(line(1), t1).is_none());
        assert_eq!(f.due(t1 + QUIET, &|_| 400).len(), 1);
        // A quiet channel talks again at once.
        assert!(f.offer(line(1), t0 + Duration::from_secs(300)).is_some());
        assert!(fit(&"x".repeat(600), 100).len() <= 100);
    }
}
