//! The web view in a real browser: headless Chromium driven through chromedriver (WebDriver),
//! searching with the form, following a permalink and an incident link, with screenshots saved
//! under the test output (`target/tmp/screenshots`).

use crate::http::{free_port, request};
use crate::web::web_bot;
use base64::Engine;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Ending the session is what makes chromedriver quit Chromium; killing chromedriver
        // alone (a failed assertion unwinding) would leave the browser running.
        if !self.session.is_empty() {
            use std::io::{Read, Write};
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    s,
                    "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.session
                );
                let _ = s.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; scripts/install-test-deps installs it)");
        let profile = tempfile::tempdir().unwrap();
        let mut driver = Driver { child, port, session: String::new(), _profile: profile };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The flags that work here: no sandbox as root, and no background connections out.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", driver._profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}});
        let v = driver.call("POST", "/session", Some(caps)).await;
        driver.session = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        driver
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let r = request(self.port, method, path, body.as_deref()).await;
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {}", r.body))
    }

    async fn session(&self, method: &str, path: &str, body: Value) -> Value {
        let v = self.call(method, &format!("/session/{}{path}", self.session), Some(body)).await;
        assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.session("POST", "/url", json!({ "url": url })).await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self.session("POST", "/element", json!({"using": "css selector", "value": css})).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.session("POST", &format!("/element/{e}/click"), json!({})).await;
    }

    async fn source(&self) -> String {
        let v = self.call("GET", &format!("/session/{}/source", self.session), None).await;
        v["value"].as_str().unwrap_or_default().to_string()
    }

    async fn url(&self) -> String {
        let v = self.call("GET", &format!("/session/{}/url", self.session), None).await;
        v["value"].as_str().unwrap_or_default().to_string()
    }

    /// The URL once `pred` holds for it: a click starts a navigation that may not have
    /// finished when the click's answer comes back.
    async fn url_when(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let url = self.url().await;
            if pred(&url) {
                return url;
            }
            assert!(tokio::time::Instant::now() < deadline, "waited 15 s for {what}; the browser is at {url}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let v = self.call("GET", &format!("/session/{}/screenshot", self.session), None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v["value"].as_str().unwrap_or_default()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_searches_follows_a_permalink_and_reads_an_incident() {
    let w = web_bot().await;
    let base = format!("http://127.0.0.1:{}", w.port);
    let d = Driver::start().await;
    d.go(&format!("{base}/sal")).await;
    assert!(d.source().await.contains("depooled cp3050"));
    d.screenshot("sal").await;

    // Search with the form, as a person would.
    let q = d.find("#q").await;
    d.session("POST", &format!("/element/{q}/value"), json!({"text": "db151"})).await;
    d.click("button[type=submit]").await;
    d.url_when("the search results", |u| u.contains("q=db151")).await;
    let found = d.source().await;
    assert!(found.contains("restarted db151") && !found.contains("depooled cp3050"), "{found}");
    d.screenshot("sal-search").await;

    // Follow the entry's permalink.
    d.click("a.id").await;
    d.url_when("the permalink", |u| u == format!("{base}/sal/1")).await;
    assert!(d.source().await.contains("SAL entry #1"));

    // The incidents list, then the incident page.
    d.go(&format!("{base}/incidents")).await;
    d.click("a[href='/incidents/1']").await;
    d.url_when("the incident page", |u| u.ends_with("/incidents/1")).await;
    let page = d.source().await;
    assert!(page.contains("Wikis down for logged-in users") && page.contains("Report draft"), "{page}");
    let shot = d.screenshot("incident").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "a real rendering, not a blank page");
}

/// The status page on a phone: 390 CSS pixels wide, no horizontal scrolling, and the hostile
/// update shown as text (its script and `onerror` never run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_reads_on_a_phone() {
    let w = web_bot().await;
    let base = format!("http://127.0.0.1:{}", w.port);
    let d = Driver::start().await;
    d.session("POST", "/window/rect", json!({"width": 390, "height": 844})).await;
    d.go(&format!("{base}/status")).await;
    let run = async |script: &str| d.session("POST", "/execute/sync", json!({"script": script, "args": []})).await;
    let width = run("return window.innerWidth").await.as_i64().unwrap();
    assert!(width <= 400, "the viewport is a phone's: {width} px");
    let scroll = run("return document.documentElement.scrollWidth").await.as_i64().unwrap();
    assert!(scroll <= width, "no horizontal scrolling: the page is {scroll} px wide in a {width} px viewport");
    let update = run("return document.querySelector('.incident .update').textContent").await;
    let update = update.as_str().unwrap_or_default().to_string();
    assert!(update.contains("<script>document.title='pwned'</script><img src=x"), "shown as text: {update}");
    assert!(update.contains("users behind [IP hidden] see errors"), "{update}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(run("return document.title").await, "Status — srebot", "no script of the update ran");
    assert!(d.source().await.contains("Wikis down for logged-in users"));
    let shot = d.screenshot("status-phone").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 5_000, "a real rendering, not a blank page");
}
