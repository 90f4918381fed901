//! Alertmanager's API v2, for `!silence`: create, list and expire silences. Blocking HTTP (ureq)
//! on tokio's blocking pool, like the MediaWiki publisher; every failure becomes one plain
//! sentence for the channel.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// One label matcher (`name="value"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<ApiMatcher>,
    pub ends_at: String,
    pub created_by: String,
    pub comment: String,
    pub status: SilenceStatus,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiMatcher {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub is_regex: bool,
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct SilenceStatus {
    pub state: String,
}

impl Silence {
    /// `alertname=X, instance=y`.
    pub fn matchers_text(&self) -> String {
        let op = |m: &ApiMatcher| match (m.is_regex, m.is_equal) {
            (false, true) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (true, false) => "!~",
        };
        self.matchers.iter().map(|m| format!("{}{}{}", m.name, op(m), m.value)).collect::<Vec<_>>().join(", ")
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(false).build().into()
}

fn failed(e: ureq::Error) -> String {
    format!("Alertmanager did not answer ({e})")
}

/// Reads an error answer: Alertmanager puts the reason in the body.
fn refused(status: u16, body: String) -> String {
    let body = crate::text::truncate_bytes(&crate::text::one_line(body.trim()), 150);
    format!("Alertmanager refused ({status}: {body})")
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R, String> + Send + 'static) -> Result<R, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("internal error: {e}"))?
}

/// `POST /api/v2/silences`; answers the new silence's id.
pub async fn create(
    base: &str,
    matchers: Vec<Matcher>,
    ends_at: DateTime<Utc>,
    created_by: &str,
    comment: &str,
) -> Result<String, String> {
    let url = format!("{}/api/v2/silences", base.trim_end_matches('/'));
    let body = json!({
        "matchers": matchers.iter().map(|m| json!({"name": m.name, "value": m.value, "isRegex": false, "isEqual": true})).collect::<Vec<_>>(),
        "startsAt": Utc::now().to_rfc3339(),
        "endsAt": ends_at.to_rfc3339(),
        "createdBy": created_by,
        "comment": comment,
    });
    blocking(move || {
        let mut resp =
            agent().post(&url).header("Content-Type", "application/json").send(body.to_string()).map_err(failed)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            return Err(refused(status, text));
        }
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| "Alertmanager answered something odd".to_string())?;
        v["silenceID"].as_str().map(String::from).ok_or_else(|| "Alertmanager answered without a silence id".into())
    })
    .await
}

/// `GET /api/v2/silences`: the active ones, soonest to end first.
pub async fn active(base: &str) -> Result<Vec<Silence>, String> {
    let url = format!("{}/api/v2/silences", base.trim_end_matches('/'));
    blocking(move || {
        let mut resp = agent().get(&url).call().map_err(failed)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            return Err(refused(status, text));
        }
        let mut all: Vec<Silence> =
            serde_json::from_str(&text).map_err(|_| "Alertmanager answered something odd".to_string())?;
        all.retain(|s| s.status.state == "active");
        all.sort_by(|a, b| a.ends_at.cmp(&b.ends_at));
        Ok(all)
    })
    .await
}

/// `DELETE /api/v2/silence/{id}`.
pub async fn expire(base: &str, id: &str) -> Result<(), String> {
    let url = format!("{}/api/v2/silence/{id}", base.trim_end_matches('/'));
    blocking(move || {
        let mut resp = agent().delete(&url).call().map_err(failed)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        match status {
            200 => Ok(()),
            404 => Err("Alertmanager knows no such silence".into()),
            _ => Err(refused(status, text)),
        }
    })
    .await
}
