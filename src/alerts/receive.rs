//! The HTTP side of alerts: `POST /api/v1/alerts/alertmanager` and `POST /api/v1/alerts/generic`.
//!
//! Each request is checked (token, loopback), read in full ([`super::parse_alertmanager`],
//! [`super::parse_generic`]), routed, and stored in one store call; only after the commit does
//! it answer 200 and hand the lines to the [`Relay`]. Bad input gets a 4xx with a JSON reason and
//! stores nothing.

use super::relay::Relay;
use super::Alert;
use crate::config::{Config, Secret};
use crate::store::alert::{Change, Received};
use crate::store::Store;
use crate::web::json_error;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the web view needs to take alerts, made once at start-up.
pub struct Receiver {
    token: Option<Secret>,
    loopback_only: bool,
    relay: Relay,
}

impl Receiver {
    /// `None` without `[alerts]`; the relay's lines go out through `client`.
    pub fn new(config: &Config, client: crate::irc::Client) -> Result<Option<Receiver>, String> {
        let Some(a) = &config.alerts else { return Ok(None) };
        let prefix = crate::irc::split::assumed_prefix(&config.irc.nick, config.irc.username());
        let budget = move |channel: &str| crate::irc::split::text_budget(&prefix, "PRIVMSG", channel);
        Ok(Some(Receiver {
            token: a.token().map_err(|e| format!("alerts.token_file: {e}"))?,
            loopback_only: a.loopback_only,
            relay: Relay::spawn(client, a.fold_after, budget),
        }))
    }
}

/// Whether this request may send alerts; `Err` is the answer when not.
fn admit<'a>(
    r: Option<&'a Receiver>,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Result<&'a Receiver, (StatusCode, &'static str)> {
    let Some(r) = r else {
        return Err((StatusCode::FORBIDDEN, "this srebot takes no alerts (no [alerts] in its config)"));
    };
    if r.loopback_only && !peer.is_some_and(|p| p.ip().is_loopback()) {
        return Err((StatusCode::FORBIDDEN, "alerts are taken from this machine only"));
    }
    if let Some(token) = &r.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        if !given.is_some_and(|g| same(g.as_bytes(), token.expose().as_bytes())) {
            return Err((StatusCode::UNAUTHORIZED, "a valid bearer token is required"));
        }
    }
    Ok(r)
}

/// Compares secrets in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks, stores and announces one request's alerts.
pub async fn take(
    config: &Arc<Config>,
    clock: &crate::clock::Clock,
    store: &Store,
    receiver: Option<&Receiver>,
    headers: &HeaderMap,
    peer: Option<ConnectInfo<SocketAddr>>,
    parse: impl FnOnce() -> Result<Vec<Alert>, String>,
) -> Response {
    let r = match admit(receiver, headers, peer.map(|p| p.0)) {
        Ok(r) => r,
        Err((status, why)) => return json_error(status, why),
    };
    let alerts = match parse() {
        Ok(a) => a,
        Err(why) => return json_error(StatusCode::BAD_REQUEST, &why),
    };
    let routed: Vec<(Alert, Vec<String>, bool)> = alerts
        .into_iter()
        .map(|a| {
            let (channels, private) = super::config::route(config, &a.labels);
            (a, channels, private)
        })
        .collect();
    let now = clock.now();
    let repeat = chrono::Duration::minutes(config.alerts.as_ref().map_or(60, |a| a.repeat_minutes) as i64);
    let stored = store
        .call(move |conn| {
            routed
                .iter()
                .map(|(a, channels, private)| crate::store::alert::receive(conn, a, channels, *private, now, repeat))
                .collect::<rusqlite::Result<Vec<Received>>>()
        })
        .await;
    let received = match stored {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "alerts: not stored");
            return json_error(StatusCode::SERVICE_UNAVAILABLE, &format!("not stored: {e}"));
        }
    };
    let prefix = crate::irc::split::assumed_prefix(&config.irc.nick, config.irc.username());
    let lines = super::line::announcements(&received, &|ch| crate::irc::split::text_budget(&prefix, "PRIVMSG", ch));
    let count = |c: Change| received.iter().filter(|r| r.change == c).count();
    let answer = json!({
        "stored": received.len(),
        "fired": count(Change::Fired),
        "resolved": count(Change::Resolved),
        "ids": received.iter().map(|r| r.alert.id).collect::<Vec<_>>(),
    });
    r.relay.send(lines);
    Json(answer).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_only_and_the_token_are_both_required() {
        let relay = Relay::spawn(crate::irc::Client::detached(), 5, |_| 400);
        let r = Receiver { token: Some(Secret("s3cret".into())), loopback_only: true, relay };
        let mut good = HeaderMap::new();
        good.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        let mut wrong = HeaderMap::new();
        wrong.insert(header::AUTHORIZATION, "Bearer s3creT".parse().unwrap());
        let (local, remote): (SocketAddr, SocketAddr) =
            ("127.0.0.1:5000".parse().unwrap(), "192.0.2.1:5000".parse().unwrap());
        assert!(admit(Some(&r), &good, Some(local)).is_ok());
        assert_eq!(admit(Some(&r), &good, Some(remote)).err().map(|e| e.0), Some(StatusCode::FORBIDDEN));
        assert_eq!(admit(Some(&r), &good, None).err().map(|e| e.0), Some(StatusCode::FORBIDDEN));
        assert_eq!(admit(Some(&r), &wrong, Some(local)).err().map(|e| e.0), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(admit(Some(&r), &HeaderMap::new(), Some(local)).err().map(|e| e.0), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(admit(None, &good, Some(local)).err().map(|e| e.0), Some(StatusCode::FORBIDDEN));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"s3cret", b"s3cret"));
        assert!(!same(b"s3cret", b"s3cre"));
        assert!(!same(b"s3cret", b"s3creT"));
        assert!(!same(b"", b"x"));
    }
}
