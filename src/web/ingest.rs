//! `POST /api/v1/sal`: the Server Admin Log from machines (the rules are in `crate::ingest`).
//!
//! Every answer is JSON. 201 only after the entry committed; 200 with the first entry's id for
//! an idempotency key seen within a day; a 4xx with the reason for every bad request, and
//! nothing stored; 503 "NOT logged" when the database fails. The token is never logged.

use super::{json_error, Web};
use crate::ingest::{self, Clients, RateLimits, Refusal, MAX_BODY_BYTES};
use crate::irc::Outgoing;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The API's state: the configured clients and their rate limits.
pub struct Ingest {
    clients: Clients,
    limits: Mutex<RateLimits>,
}

impl Ingest {
    pub fn new(config: &crate::config::Config) -> Result<Ingest, String> {
        Ok(Ingest { clients: Clients::from_config(&config.ingest)?, limits: Mutex::default() })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn unauthorized() -> Response {
    let mut r = json_error(StatusCode::UNAUTHORIZED, "missing or invalid token (Authorization: Bearer <token>)");
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// Any other method than GET (read) and POST (log): a JSON answer like the API's others.
pub(super) async fn wrong_method() -> Response {
    let mut r = json_error(StatusCode::METHOD_NOT_ALLOWED, "GET reads the log, POST writes an entry");
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
    r
}

pub(super) async fn post(State(web): State<Arc<Web>>, request: Request) -> Response {
    let ingest = &web.ingest;
    if ingest.clients.is_empty() {
        return json_error(StatusCode::NOT_FOUND, "the ingest API is not configured here ([[ingest.clients]])");
    }
    let (parts, body) = request.into_parts();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let Some(client) = bearer(&parts.headers).and_then(|t| ingest.clients.authenticate(t)) else {
        tracing::warn!(peer = ?peer, "ingest: a request without a valid token");
        return unauthorized();
    };
    let name = client.config.name.clone();
    if !client.allows_source(peer) {
        tracing::warn!(client = %name, peer = ?peer, "ingest: a request from outside the client's sources");
        return json_error(StatusCode::FORBIDDEN, &format!("client {name} may not write from this address"));
    }
    let limited = ingest.limits.lock().unwrap().take(&client.config, std::time::Instant::now());
    if let Err(wait) = limited {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut r = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("client {name} is over its rate limit ({} a minute): retry in {secs} s", client.config.per_minute),
        );
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    let json_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
    }
    let too_large = || {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else { return too_large() };
    let req: ingest::Request = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    let now = chrono::Utc::now();
    let entry = match ingest::plan(&web.config, &client.config, &req, now) {
        Ok(e) => e,
        Err(refusal) => {
            let (status, why) = match refusal {
                Refusal::Invalid(why) => (StatusCode::BAD_REQUEST, why),
                Refusal::Forbidden(why) => (StatusCode::FORBIDDEN, why),
                Refusal::UnknownChannel(why) => (StatusCode::NOT_FOUND, why),
                Refusal::Secret(why) => (StatusCode::UNPROCESSABLE_ENTITY, why),
            };
            return json_error(status, &why);
        }
    };
    let author = req.author.as_deref().map(str::trim).unwrap_or(&name).to_string();
    let (channel, private, message) = (entry.channel.clone(), entry.private, entry.message.clone());
    let targets = crate::publish::Targets::from_config(&web.config);
    let key = req.idempotency_key.clone();
    let client_name = name.clone();
    let stored = web
        .store
        .call(move |conn| {
            use crate::store::ingest::{find_request, record_request};
            if let Some(key) = &key {
                if let Some(first) = find_request(conn, &client_name, key, now)? {
                    return Ok((first, None));
                }
            }
            let (id, queued) = crate::cmd::log::store_entry(conn, &entry, &targets)?;
            if let Some(key) = &key {
                record_request(conn, &client_name, key, id, now)?;
            }
            Ok((id, Some(queued)))
        })
        .await;
    match stored {
        Ok((id, None)) => {
            (StatusCode::OK, Json(json!({ "id": id, "url": web.url(&format!("/sal/{id}")) }))).into_response()
        }
        Ok((id, Some(queued))) => {
            crate::cmd::log::committed(&channel, private, queued);
            tracing::info!(client = %name, id, "ingest: logged");
            let ack = crate::cmd::log::announcement(id, &author, &message);
            web.client.send(Outgoing::Ack { target: channel, ack });
            (StatusCode::CREATED, Json(json!({ "id": id, "url": web.url(&format!("/sal/{id}")) }))).into_response()
        }
        Err(e) => {
            tracing::error!(client = %name, error = %e, "ingest: an entry was NOT stored");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("NOT logged: {}", crate::text::truncate_bytes(&e.to_string(), 200)),
            )
        }
    }
}
