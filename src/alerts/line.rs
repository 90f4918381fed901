//! What the channel is told: one line per alert group, cut to fit one IRC line.

use crate::names::ChannelName;
use crate::store::alert::{AlertRow, Change, Received};
use crate::text::truncate_bytes;

/// A line for a channel, with what the storm folding (`relay`) needs to count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub channel: String,
    pub text: String,
    pub change: Change,
    pub name: String,
    /// Alerts in this line.
    pub count: usize,
}

/// `MediaWikiDown mw151: returns 503`: an alert in a few words.
pub fn describe(a: &AlertRow) -> String {
    let mut s = a.name.clone();
    if !a.instance.is_empty() {
        s = format!("{s} {}", a.instance);
    }
    if !a.summary.is_empty() {
        s = format!("{s}: {}", a.summary);
    }
    s
}

pub fn word(change: Change) -> &'static str {
    match change {
        Change::Fired => "FIRING",
        Change::Resolved => "RESOLVED",
        Change::Repeat => "STILL FIRING",
        Change::Quiet => "",
    }
}

/// One line per (channel, change, alert name) of a notification, in the order first seen;
/// re-sent alerts (`Quiet`) say nothing. `budget(channel)` is the room for text in one line.
pub fn announcements(received: &[Received], budget: &dyn Fn(&str) -> usize) -> Vec<Announcement> {
    let mut groups: Vec<(ChannelName, Change, String, Vec<&AlertRow>)> = Vec::new();
    for r in received.iter().filter(|r| r.change != Change::Quiet) {
        for ch in &r.channels {
            let key = |g: &&mut (ChannelName, Change, String, Vec<&AlertRow>)| {
                g.0 == ch.as_str() && g.1 == r.change && g.2 == r.alert.name
            };
            match groups.iter_mut().find(|g| key(g)) {
                Some(g) => g.3.push(&r.alert),
                None => groups.push((ch.as_str().into(), r.change, r.alert.name.clone(), vec![&r.alert])),
            }
        }
    }
    groups
        .into_iter()
        .map(|(channel, change, name, alerts)| Announcement {
            text: group_line(change, &name, &alerts, budget(channel.as_str())),
            count: alerts.len(),
            channel: channel.into(),
            change,
            name,
        })
        .collect()
}

/// `FIRING (3) MediaWikiDown mw151, mw152, mw153: returns 503 — <url> [#12 #13 #14]`, with who
/// took it when someone did; the hosts and the summary are cut first when it is too long.
pub fn group_line(change: Change, name: &str, alerts: &[&AlertRow], budget: usize) -> String {
    let count = if alerts.len() > 1 { format!(" ({})", alerts.len()) } else { String::new() };
    let head = format!("{}{count} {name}", word(change));
    let mut hosts: Vec<&str> = Vec::new();
    for a in alerts {
        if !a.instance.is_empty() && !hosts.contains(&a.instance.as_str()) {
            hosts.push(&a.instance);
        }
    }
    let summary = alerts.iter().map(|a| a.summary.as_str()).find(|s| !s.is_empty()).unwrap_or("");
    let mut middle = String::new();
    if !hosts.is_empty() {
        middle = format!(" {}", hosts.join(", "));
    }
    if !summary.is_empty() {
        middle = format!("{middle}: {summary}");
    }
    let url = alerts.iter().map(|a| a.url.as_str()).find(|u| !u.is_empty());
    let mut tail = url.map(|u| format!(" — {u}")).unwrap_or_default();
    let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
    tail += &match ids.as_slice() {
        [] => String::new(),
        [a, b, c] => format!(" [#{a} #{b} #{c}]"),
        [a, b] => format!(" [#{a} #{b}]"),
        [a] => format!(" [#{a}]"),
        [first, .., last] => format!(" [#{first}…#{last}]"),
    };
    if change != Change::Resolved {
        if let Some(a) = alerts.iter().find(|a| a.acked_by.is_some()) {
            let note = a.ack_note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
            tail += &format!(" (taken by {}{note})", a.acked_by.as_deref().unwrap_or(""));
        }
    }
    let room = budget.saturating_sub(head.len() + tail.len());
    let middle = if middle.len() > room { truncate_bytes(&middle, room) } else { middle };
    truncate_bytes(&format!("{head}{middle}{tail}"), budget)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    pub(crate) fn row(id: i64, name: &str, instance: &str, summary: &str) -> AlertRow {
        AlertRow {
            id,
            source: "alertmanager".into(),
            name: name.into(),
            instance: instance.into(),
            severity: "critical".into(),
            summary: summary.into(),
            url: "https://grafana.example.org/d/mw".into(),
            labels: "{}".into(),
            firing: true,
            starts_at: Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap(),
            ends_at: None,
            private: false,
            acked_by: None,
            ack_note: None,
        }
    }

    #[test]
    fn one_line_per_group() {
        let received: Vec<Received> = (0..3)
            .map(|i| Received {
                alert: row(12 + i, "MediaWikiDown", &format!("mw15{}", i + 1), "returns 503"),
                channels: vec!["#sre".into()],
                change: Change::Fired,
            })
            .chain([Received {
                alert: row(20, "DiskFull", "db1", ""),
                channels: vec!["#sre".into()],
                change: Change::Quiet,
            }])
            .collect();
        let lines = announcements(&received, &|_| 400);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(
            lines[0].text,
            "FIRING (3) MediaWikiDown mw151, mw152, mw153: returns 503 — https://grafana.example.org/d/mw [#12 #13 #14]"
        );
        assert_eq!(lines[0].count, 3);
    }

    #[test]
    fn long_groups_are_cut_to_the_budget_keeping_the_link() {
        let alerts: Vec<AlertRow> =
            (0..200).map(|i| row(i, "NodeDown", &format!("host{i}.eqiad.wmnet"), "down")).collect();
        let refs: Vec<&AlertRow> = alerts.iter().collect();
        let line = group_line(Change::Fired, "NodeDown", &refs, 300);
        assert!(line.len() <= 300, "{}", line.len());
        assert!(line.starts_with("FIRING (200) NodeDown host0.eqiad.wmnet, ") && line.ends_with("[#0…#199]"), "{line}");
        let mut taken = row(1, "X", "h", "s");
        taken.acked_by = Some("alice".into());
        taken.ack_note = Some("on it".into());
        assert!(group_line(Change::Repeat, "X", &[&taken], 400).ends_with("[#1] (taken by alice: on it)"));
    }
}
