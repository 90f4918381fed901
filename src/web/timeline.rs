//! An incident's roles and timeline as the web view and the JSON API give them: every event
//! with its `kind` and the structured fields of that kind, and role tenures that end at the
//! close of a closed incident (its clocks have stopped).

use crate::incident::model::{Event, EventKind, Incident, Tenure};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// When a tenure ended: when the role changed hands, or the incident's close; `None`: still held.
pub(crate) fn tenure_end(t: &Tenure, inc: &Incident) -> Option<DateTime<Utc>> {
    t.to.or(inc.closed())
}

/// `08:16–08:18`, or `08:16–now` while the role is held.
pub(crate) fn tenure_span(t: &Tenure, inc: &Incident) -> String {
    let to = tenure_end(t, inc).map_or_else(|| "now".to_string(), |x| x.format("%H:%M").to_string());
    format!("{}–{to}", t.from.format("%H:%M"))
}

pub(crate) fn tenure_json(t: &Tenure, inc: &Incident) -> Value {
    json!({
        "role": t.role.as_str(),
        "nick": t.nick,
        "from": t.from.to_rfc3339(),
        "to": tenure_end(t, inc).map(|x| x.to_rfc3339()),
    })
}

/// One timeline event: `kind` (opened, status, role, note, log, at, impact, snooze, closed,
/// reopened, report_filed, update), its times and actor, the fields of its kind (`from_state`/`to_state`;
/// `role`, `from_holder`/`to_holder`; `sal_id`), and `text` when it has one.
pub(crate) fn event_json(e: &Event) -> Value {
    let mut v = json!({
        "kind": e.kind.name(),
        "at": e.at.to_rfc3339(),
        "recorded_at": e.recorded_at.to_rfc3339(),
        "actor": e.actor,
        "backdated": e.is_backdated(),
    });
    match &e.kind {
        EventKind::State { from, to } => {
            v["from_state"] = json!(from.as_str());
            v["to_state"] = json!(to.as_str());
        }
        EventKind::Role { role, from, to } => {
            v["role"] = json!(role.as_str());
            v["from_holder"] = json!(from);
            v["to_holder"] = json!(to);
        }
        EventKind::Log { sal_id } => v["sal_id"] = json!(sal_id),
        _ => {}
    }
    if !e.text.is_empty() {
        v["text"] = json!(e.text);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::model::{Role, State};

    #[test]
    fn every_event_says_its_kind_and_fields() {
        let t: DateTime<Utc> = "2026-11-22T08:16:00Z".parse().unwrap();
        let ev =
            |kind, text: &str| Event { id: 1, at: t, recorded_at: t, kind, actor: "alice".into(), text: text.into() };
        let role =
            event_json(&ev(EventKind::Role { role: Role::Comms, from: Some("alice".into()), to: "bob".into() }, ""));
        assert_eq!(
            (&role["kind"], &role["role"], &role["from_holder"], &role["to_holder"]),
            (&json!("role"), &json!("comms"), &json!("alice"), &json!("bob"))
        );
        assert!(role.get("text").is_none(), "{role}");
        let status = event_json(&ev(EventKind::State { from: State::Investigating, to: State::Resolved }, "fixed"));
        assert_eq!(
            (&status["kind"], &status["from_state"], &status["to_state"], &status["text"]),
            (&json!("status"), &json!("investigating"), &json!("resolved"), &json!("fixed"))
        );
        assert_eq!(event_json(&ev(EventKind::Log { sal_id: 7 }, "x"))["sal_id"], json!(7));
        assert_eq!(event_json(&ev(EventKind::Backdated, "first alert"))["kind"], json!("at"));
    }
}
