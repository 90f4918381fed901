//! A minimal HTTP/1.1 client for tests (GET and small JSON POSTs to loopback servers).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

pub async fn request(port: u16, method: &str, path: &str, body: Option<&str>) -> Response {
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(port, req.as_bytes()).await
}

/// Sends `raw` (a whole request, head and body) and reads the response.
pub async fn exchange(port: u16, raw_request: &[u8]) -> Response {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect to the web server");
    // A server may answer (413) and close before reading all of a large body.
    let _ = s.write_all(raw_request).await;
    // Read until the body is complete by Content-Length (some servers keep the connection
    // open despite `Connection: close`), or until EOF when there is none.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("HTTP response within 30 s")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| raw.len() >= end + 4 + len) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(rest) } else { rest.to_string() };
    Response { status, headers: head.to_string(), body }
}

pub async fn get(port: u16, path: &str) -> Response {
    request(port, "GET", path, None).await
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A free loopback port (bound and released: fine for a test that binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
