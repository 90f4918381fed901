//! Alerts from monitoring: Alertmanager's webhook and a generic JSON form (Icinga and others).
//!
//! The pure parts live here and in the submodules: reading a payload into [`Alert`]s (every
//! problem becomes a short reason, nothing half-read), routing (`config::route`), the channel
//! lines (`line`), the "pages for awareness" summary (`pages`). `receive` is the HTTP side,
//! `relay` folds storms before they reach the IRC queue, `silence` talks to Alertmanager's API.

pub(crate) mod config;
pub(crate) mod line;
pub mod pages;
pub(crate) mod receive;
pub(crate) mod relay;
pub(crate) mod silence;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Most alerts in one notification (Alertmanager's `max_alerts` keeps under this).
pub const MAX_ALERTS: usize = 1000;
const MAX_LABELS: usize = 64;
const MAX_VALUE: usize = 2048;

/// One alert as received, whatever the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// What identifies it across notifications: `am:<fingerprint>` or `<source>:<id>`.
    pub fingerprint: String,
    pub source: String,
    pub name: String,
    /// The host or instance it is about (`instance` without a port, or Icinga's host).
    pub instance: String,
    pub severity: String,
    pub summary: String,
    pub url: String,
    pub labels: BTreeMap<String, String>,
    pub firing: bool,
    pub starts_at: DateTime<Utc>,
    /// Whether `starts_at` comes from the monitoring (Alertmanager's `startsAt`), so that a
    /// different one means it fired anew; a generic alert's start is only when we heard of it.
    pub exact_start: bool,
    /// When it resolved (`None` while firing).
    pub ends_at: Option<DateTime<Utc>>,
}

/// Alertmanager's webhook payload, version 4.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    version: String,
    alerts: Vec<WebhookAlert>,
    #[serde(default, rename = "truncatedAlerts")]
    _truncated: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert {
    status: String,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: String,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: String,
}

/// Reads an Alertmanager webhook body. `Err` is the reason, fit for the JSON answer.
pub fn parse_alertmanager(body: &[u8]) -> Result<Vec<Alert>, String> {
    let hook: Webhook =
        serde_json::from_slice(body).map_err(|e| format!("not an Alertmanager webhook payload: {e}"))?;
    if hook.version != "4" {
        return Err(format!("webhook payload version {:?} is not supported (version 4 is)", cut(&hook.version)));
    }
    if hook.alerts.is_empty() {
        return Err("no alerts in the payload".into());
    }
    if hook.alerts.len() > MAX_ALERTS {
        return Err(format!("more than {MAX_ALERTS} alerts in one payload"));
    }
    hook.alerts
        .into_iter()
        .enumerate()
        .map(|(i, a)| webhook_alert(a).map_err(|e| format!("alerts[{i}]: {e}")))
        .collect()
}

fn webhook_alert(a: WebhookAlert) -> Result<Alert, String> {
    let firing = state(&a.status)?;
    check_labels(&a.labels)?;
    check_labels(&a.annotations)?;
    let name =
        a.labels.get("alertname").map(|n| n.trim()).filter(|n| !n.is_empty()).ok_or("labels.alertname missing")?;
    let fp = a.fingerprint.trim();
    if fp.is_empty() || fp.len() > 64 || !fp.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("fingerprint must be 1 to 64 letters and digits".into());
    }
    let starts_at = time(&a.starts_at).ok_or("startsAt is not an RFC 3339 time")?;
    let ends_at = match a.ends_at.as_deref() {
        None | Some("") => None,
        Some(t) => Some(time(t).ok_or("endsAt is not an RFC 3339 time")?),
    }
    // Alertmanager sends the zero time (year 1) for "not ended" and a future one while firing.
    .filter(|t| t.timestamp() > 0);
    let pick =
        |keys: &[&str]| keys.iter().find_map(|k| a.annotations.get(*k).filter(|v| !v.trim().is_empty())).cloned();
    let url = pick(&["url", "dashboard", "runbook_url"]).or(a.generator_url).unwrap_or_default();
    Ok(Alert {
        fingerprint: format!("am:{fp}"),
        source: "alertmanager".into(),
        name: clean(name),
        instance: clean(&host_of(a.labels.get("instance").or(a.labels.get("host")).map_or("", |s| s))),
        severity: clean(a.labels.get("severity").map_or("", |s| s)),
        summary: clean(&pick(&["summary", "description", "message"]).unwrap_or_default()),
        url: clean(&url),
        firing,
        ends_at: if firing { None } else { Some(ends_at.unwrap_or(starts_at)) },
        starts_at,
        exact_start: true,
        labels: a.labels,
    })
}

/// The generic form, for Icinga and anything that can POST JSON.
#[derive(Deserialize)]
struct Generic {
    source: String,
    name: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    severity: String,
    state: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    url: String,
    /// What stays the same across notifications of one alert (Icinga: `host!service`); by
    /// default the name and host.
    #[serde(default)]
    id: Option<String>,
}

/// Reads a generic alert. `now` is its start (firing) or end (resolved): the sender says only
/// that the state changed.
pub fn parse_generic(body: &[u8], now: DateTime<Utc>) -> Result<Alert, String> {
    let g: Generic = serde_json::from_slice(body).map_err(|e| format!("not a generic alert: {e}"))?;
    let firing = state(&g.state)?;
    for (field, value) in [("source", &g.source), ("name", &g.name)] {
        if value.trim().is_empty() {
            return Err(format!("{field} must not be empty"));
        }
    }
    for (field, value) in [
        ("source", &g.source),
        ("name", &g.name),
        ("host", &g.host),
        ("severity", &g.severity),
        ("summary", &g.summary),
        ("url", &g.url),
    ] {
        if value.len() > MAX_VALUE {
            return Err(format!("{field} is longer than {MAX_VALUE} bytes"));
        }
    }
    let id = g.id.filter(|i| !i.trim().is_empty()).unwrap_or_else(|| format!("{}!{}", g.host.trim(), g.name.trim()));
    if id.len() > 512 {
        return Err("id is longer than 512 bytes".into());
    }
    let (source, name, host, severity) = (clean(&g.source), clean(&g.name), clean(&g.host), clean(&g.severity));
    let mut labels = BTreeMap::from([("alertname".to_string(), name.clone()), ("source".to_string(), source.clone())]);
    for (k, v) in [("host", &host), ("severity", &severity)] {
        if !v.is_empty() {
            labels.insert(k.to_string(), v.clone());
        }
    }
    Ok(Alert {
        fingerprint: format!("{}:{}", source.to_ascii_lowercase(), id.trim()),
        source,
        name,
        instance: host,
        severity,
        summary: clean(&g.summary),
        url: clean(&g.url),
        labels,
        firing,
        starts_at: now,
        exact_start: false,
        ends_at: (!firing).then_some(now),
    })
}

fn state(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "firing" => Ok(true),
        "resolved" => Ok(false),
        other => Err(format!("status {:?} is neither firing nor resolved", cut(other))),
    }
}

fn check_labels(m: &BTreeMap<String, String>) -> Result<(), String> {
    if m.len() > MAX_LABELS {
        return Err(format!("more than {MAX_LABELS} labels or annotations"));
    }
    match m.iter().find(|(k, v)| k.len() > 256 || v.len() > MAX_VALUE) {
        Some((k, _)) => Err(format!("{:?} is too long", cut(k))),
        None => Ok(()),
    }
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// `mw151.eqiad.wmnet:9100` → `mw151.eqiad.wmnet`: the port says nothing to people.
fn host_of(instance: &str) -> String {
    match instance.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host.trim_start_matches('[').trim_end_matches(']').to_string()
        }
        _ => instance.to_string(),
    }
}

/// Text from a sender, fit for one IRC line: no formatting codes, no line breaks.
fn clean(s: &str) -> String {
    crate::text::one_line(&crate::text::strip_formatting(s)).trim().to_string()
}

fn cut(s: &str) -> String {
    crate::text::truncate_bytes(s, 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn webhook(status: &str, fp: &str, name: &str, instance: &str) -> String {
        serde_json::json!({
            "version": "4", "groupKey": "{}:{alertname=\"x\"}", "truncatedAlerts": 0, "status": status,
            "receiver": "srebot", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://am", "alerts": [{
                "status": status,
                "labels": {"alertname": name, "instance": instance, "severity": "critical"},
                "annotations": {"summary": "returns 503\r\nPRIVMSG #x :hi"},
                "startsAt": "2026-12-03T10:00:00.123Z",
                "endsAt": if status == "resolved" { "2026-12-03T10:05:00Z" } else { "0001-01-01T00:00:00Z" },
                "generatorURL": "http://prometheus/graph?g0.expr=up", "fingerprint": fp,
            }]
        })
        .to_string()
    }

    #[test]
    fn reads_alertmanager_v4() {
        let a = parse_alertmanager(webhook("firing", "abc123", "MediaWikiDown", "mw151:9100").as_bytes()).unwrap();
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(
            (a.fingerprint.as_str(), a.name.as_str(), a.instance.as_str()),
            ("am:abc123", "MediaWikiDown", "mw151")
        );
        assert!(a.firing && a.ends_at.is_none());
        assert!(!a.summary.contains('\n') && !a.summary.contains('\r'), "{:?}", a.summary);
        assert_eq!(a.url, "http://prometheus/graph?g0.expr=up");
        let r = parse_alertmanager(webhook("resolved", "abc123", "MediaWikiDown", "mw151").as_bytes()).unwrap();
        assert!(!r[0].firing && r[0].ends_at.unwrap().to_rfc3339().starts_with("2026-12-03T10:05:00"));
    }

    #[test]
    fn refuses_bad_payloads_with_a_reason() {
        let ok = webhook("firing", "abc", "X", "h");
        let bad = [
            String::new(),
            "{".into(),
            "[]".into(),
            ok.replace("\"4\"", "\"3\""),
            ok.replace("\"abc\"", "\"\""),
            ok.replace("\"abc\"", "\"a/b\""),
            ok.replace("\"status\":\"firing\"", "\"status\":\"burning\""),
            ok.replace("\"alertname\":\"X\"", "\"alertname\":\"\""),
            ok.replace("2026-12-03T10:00:00.123Z", "yesterday"),
            serde_json::json!({"version": "4", "alerts": []}).to_string(),
        ];
        for b in bad {
            assert!(parse_alertmanager(b.as_bytes()).is_err(), "{b}");
        }
    }

    #[test]
    fn reads_generic_alerts() {
        let now = Utc::now();
        let body = br#"{"source":"icinga","name":"HTTP","host":"mw151","severity":"critical","state":"firing","summary":"503","url":"https://icinga/x"}"#;
        let a = parse_generic(body, now).unwrap();
        assert_eq!(a.fingerprint, "icinga:mw151!HTTP");
        assert_eq!(a.labels.get("host").map(String::as_str), Some("mw151"));
        assert!(a.firing && a.starts_at == now);
        let resolved = String::from_utf8_lossy(body).replace("\"firing\"", "\"resolved\"");
        let r = parse_generic(resolved.as_bytes(), now).unwrap();
        assert!(!r.firing && r.ends_at == Some(now) && r.fingerprint == a.fingerprint);
        for bad in
            [&b"{}"[..], br#"{"source":"","name":"x","state":"firing"}"#, br#"{"source":"i","name":"x","state":"up"}"#]
        {
            assert!(parse_generic(bad, now).is_err());
        }
    }

    #[test]
    fn ports_are_dropped_from_hosts() {
        assert_eq!(host_of("mw151:9100"), "mw151");
        assert_eq!(host_of("[::1]:9100"), "::1");
        assert_eq!(host_of("mw151"), "mw151");
        assert_eq!(host_of("fe80::1"), "fe80::1");
    }
}
