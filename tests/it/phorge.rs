//! Task mentions on Phorge (`[publish.phorge]`) through the real binary.
//!
//! Phorge cannot be installed from the package registries here, so the test runs a small
//! Conduit server of its own, written from Conduit's documented contract: `POST /api/<method>`
//! with form-encoded fields (`api.token`, PHP-style `constraints[ids][0]`,
//! `transactions[0][type]`), answering JSON `{"result": …, "error_code": …, "error_info": …}`;
//! `maniphest.search` gives each task's `fields.policy.view`, `maniphest.edit` takes a comment.

use crate::botproc::{BotOpts, BotProcess};
use crate::http::free_port;
use crate::sal::wait_join;
use crate::support::{shared_network, Scene, WAIT};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "api-abcdefghijklmnopqrstuvwxyz12";

/// What the fake Conduit saw: every call (method, fields) and the comments it accepted.
#[derive(Default)]
struct Seen {
    calls: Vec<(String, Vec<(String, String)>)>,
    comments: Vec<(String, String)>,
    /// Edits still to refuse (as a Phorge under maintenance would).
    fail_edits: usize,
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The answer to one Conduit call.
fn answer(seen: &mut Seen, method: &str, fields: &[(String, String)]) -> serde_json::Value {
    let field = |k: &str| fields.iter().find(|(name, _)| name == k).map(|(_, v)| v.as_str());
    let error = |code: &str, info: &str| serde_json::json!({"result": null, "error_code": code, "error_info": info});
    if field("api.token") != Some(TOKEN) {
        return error("ERR-INVALID-AUTH", "API token is not valid.");
    }
    match method {
        "maniphest.search" => {
            let view = match field("constraints[ids][0]") {
                Some("1001") => Some("public"),
                Some("1004") => Some("users"),
                Some("1002") => Some("PHID-PROJ-securityteam"),
                _ => None,
            };
            let data: Vec<serde_json::Value> = view
                .map(|v| serde_json::json!({"id": 1, "type": "TASK", "fields": {"name": "a task", "policy": {"view": v, "edit": "users"}}}))
                .into_iter()
                .collect();
            serde_json::json!({"result": {"data": data, "cursor": {"after": null}}, "error_code": null, "error_info": null})
        }
        "maniphest.edit" => {
            if seen.fail_edits > 0 {
                seen.fail_edits -= 1;
                return error("ERR-CONDUIT-CORE", "The database is read-only for maintenance.");
            }
            let (Some(task), Some("comment"), Some(text)) =
                (field("objectIdentifier"), field("transactions[0][type]"), field("transactions[0][value]"))
            else {
                return error("ERR-CONDUIT-CORE", "bad transactions");
            };
            seen.comments.push((task.to_string(), text.to_string()));
            serde_json::json!({"result": {"object": {"id": 1, "phid": "PHID-TASK-1"}, "transactions": [{"phid": "PHID-XACT-1"}]}, "error_code": null, "error_info": null})
        }
        _ => error("ERR-CONDUIT-CALL", "Conduit method does not exist."),
    }
}

/// Serves Conduit on `port` until the test ends.
async fn conduit(port: u16, seen: Arc<Mutex<Seen>>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                let (head, body) = loop {
                    let Ok(n) = s.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&raw[..end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0usize);
                    if raw.len() >= end + 4 + len {
                        break (head, String::from_utf8_lossy(&raw[end + 4..end + 4 + len]).to_string());
                    }
                };
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let method = path.strip_prefix("/api/").unwrap_or("").to_string();
                let fields: Vec<(String, String)> = body
                    .split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (url_decode(k), url_decode(v)))
                    .collect();
                let reply = {
                    let mut seen = seen.lock().unwrap();
                    let reply = answer(&mut seen, &method, &fields);
                    seen.calls.push((method, fields));
                    reply.to_string()
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                let _ = s.write_all(response.as_bytes()).await;
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_hears_of_a_public_entry_once_and_never_of_a_private_one() {
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, alice, chan, sec, mut a } = scene;
    let (web, api) = (free_port(), free_port());
    let seen = Arc::new(Mutex::new(Seen { fail_edits: 1, ..Seen::default() }));
    conduit(api, seen.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("conduit-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    opts.extra = format!(
        "[web]\nlisten = \"127.0.0.1:{web}\"\nbase_url = \"http://127.0.0.1:{web}\"\n\
         [publish.phorge]\napi_url = \"http://127.0.0.1:{api}/api/\"\ntoken_file = {token_file:?}\n\
         retry_min_seconds = 1\nretry_max_seconds = 2\n"
    );
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;

    a.privmsg(&sec, "!log rotated the key of T1001").await;
    a.expect_privmsg_from(&botnick, &sec, WAIT).await;
    a.privmsg(&chan, "!log no task here").await;
    a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    a.privmsg(&chan, "!log depooled cp3050 from 198.51.100.7 (T1001, T1002, T1003, T1004)").await;
    let ack = a.expect_privmsg_from(&botnick, &chan, WAIT).await;
    assert!(ack.contains("/sal/3"), "{ack}");

    // The first edit is refused; the retry comments on the open tasks, once each.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let done: i64 = bot.db().query_row("SELECT count(*) FROM phorge_mention", [], |r| r.get(0)).unwrap();
        if done == 4 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "mentions not done: {done}\n{}", bot.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // nothing more comes
    let seen = seen.lock().unwrap();
    let expected = format!(
        "<{alice}>: depooled cp3050 from [IP hidden] (T1001, T1002, T1003, T1004) (http://127.0.0.1:{web}/sal/3)"
    );
    let comments: Vec<&str> = seen.comments.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(comments, vec!["T1001", "T1004"], "open tasks once each; restricted and missing ones never");
    for (_, text) in &seen.comments {
        assert!(text.starts_with(&format!("Mentioned in SAL ({chan}) [")) && text.ends_with(&expected), "{text}");
    }
    assert!(
        !seen.calls.iter().any(|(_, f)| f.iter().any(|(_, v)| v.contains("rotated"))),
        "nothing of the security channel reached Phorge"
    );
    let edits_of_restricted = seen
        .calls
        .iter()
        .filter(|(m, f)| m == "maniphest.edit" && f.iter().any(|(_, v)| v == "T1002" || v == "T1003"))
        .count();
    assert_eq!(edits_of_restricted, 0);
    let outcomes: Vec<(String, String)> = bot
        .db()
        .prepare("SELECT task, outcome FROM phorge_mention ORDER BY task")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let outcomes: Vec<(&str, &str)> = outcomes.iter().map(|(t, o)| (t.as_str(), o.as_str())).collect();
    assert_eq!(
        outcomes,
        vec![("T1001", "commented"), ("T1002", "restricted"), ("T1003", "missing"), ("T1004", "commented")]
    );
    let queued: i64 =
        bot.db().query_row("SELECT count(*) FROM sal_outbox WHERE sink = 'phorge'", [], |r| r.get(0)).unwrap();
    assert_eq!(queued, 1, "only the public entry that names tasks was queued");
    assert!(!bot.log_text().contains(TOKEN), "the token is never logged");
}
