//! Publishing the Server Admin Log to a real MediaWiki on loopback: Debian's `mediawiki`
//! package with an SQLite database in a temp dir, installed non-interactively by
//! `maintenance/install.php` and served by PHP's built-in web server (`php -S`). MediaWiki reads
//! `MW_CONFIG_FILE`, so nothing outside the temp dir is touched.
//!
//! Skipped, with the reason printed, only when the packages are missing and cannot be installed
//! (`scripts/install-test-deps` installs them); with `SREBOT_REQUIRE_ALL_TESTS=1` (as
//! `scripts/test` sets it) a missing MediaWiki fails the test instead.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::wait_join;
use crate::support::{shared_network, unique, Scene, TestClient, WAIT};
use srebot::testing::config::{MediaWikiConfig, Secret};
use srebot::testing::publish::mediawiki::{self, Wiki};
use srebot::testing::publish::wikitext::{Change, PageEntry};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MEDIAWIKI: &str = "/usr/share/mediawiki";
const BOT_USER: &str = "Srebot";
const BOT_LOGIN: &str = "Srebot@sal";
/// What Special:BotPasswords would generate: 32 characters of lower-case base32.
const BOT_PASSWORD: &str = "k2v7q4m9a3b8c6d1e5f0g7h2j4n6p8r3";
const PAGE: &str = "Tech:Server_admin_log";

fn have_mediawiki() -> Result<(), String> {
    if !Path::new(MEDIAWIKI).join("maintenance/install.php").exists() {
        return Err(format!("{MEDIAWIKI}/maintenance/install.php is missing (Debian package mediawiki)"));
    }
    let check = r#"foreach (["pdo_sqlite", "intl", "mbstring", "dom"] as $e) { if (!extension_loaded($e)) { echo $e; exit(1); } }"#;
    match Command::new("php").args(["-r", check]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("PHP lacks the {} extension", String::from_utf8_lossy(&o.stdout))),
        Err(e) => Err(format!("no php ({e})")),
    }
}

/// MediaWiki and PHP, installing them with scripts/install-test-deps when missing. Err: why the
/// test cannot run here.
fn ensure_mediawiki() -> Result<(), String> {
    static RESULT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    RESULT
        .get_or_init(|| {
            if have_mediawiki().is_ok() {
                return Ok(());
            }
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-deps");
            let installed = Command::new(&script).stdout(Stdio::null()).status();
            have_mediawiki().map_err(|why| format!("{why}; {} did not help ({installed:?})", script.display()))
        })
        .clone()
}

/// A test whose dependency is missing (`why`) skips, saying so, unless every test is required
/// to run (`SREBOT_REQUIRE_ALL_TESTS=1`, see [`all_required`]): then it fails, saying what is missing.
fn skip_or_fail(test: &str, why: &str, required: bool) {
    assert!(!required, "{test}: {why}, and SREBOT_REQUIRE_ALL_TESTS=1 says every test must run");
    eprintln!("SKIPPED: {test}: {why}");
}

/// Whether the environment asks for every test to run, skipping none.
fn all_required() -> bool {
    std::env::var("SREBOT_REQUIRE_ALL_TESTS").is_ok_and(|v| v == "1")
}

#[test]
#[should_panic(expected = "SREBOT_REQUIRE_ALL_TESTS=1 says every test must run")]
fn a_missing_dependency_fails_when_every_test_is_required() {
    skip_or_fail("some test", "php is missing", true);
}

#[test]
fn a_missing_dependency_skips_otherwise() {
    skip_or_fail("some test", "php is missing", false);
}

fn free_port() -> u16 {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// A wiki in a temp dir, served on a loopback port by `php -S` while `server` runs.
struct TestWiki {
    dir: tempfile::TempDir,
    port: u16,
    server: Option<Child>,
}

impl TestWiki {
    fn settings(&self) -> PathBuf {
        self.dir.path().join("LocalSettings.php")
    }

    fn api(&self) -> String {
        format!("http://127.0.0.1:{}/api.php", self.port)
    }

    fn maintenance(&self, script: &str, args: &[&str], stdin: Option<&str>) {
        let mut cmd = Command::new("php");
        cmd.arg(format!("{MEDIAWIKI}/maintenance/{script}"))
            .args(args)
            .env("MW_CONFIG_FILE", self.settings())
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("php {script}: {e}"));
        if let Some(text) = stdin {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "php {script} {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Installs a fresh wiki with an admin, the bot (with a bot password) and a human editor.
    fn install() -> TestWiki {
        let dir = tempfile::Builder::new().prefix("srebot-mediawiki-").tempdir().unwrap();
        let wiki = TestWiki { port: free_port(), dir, server: None };
        let data = wiki.dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let server = format!("http://127.0.0.1:{}", wiki.port);
        let confpath = wiki.dir.path().to_string_lossy().into_owned();
        let dbpath = data.to_string_lossy().into_owned();
        let install = [
            "--dbtype",
            "sqlite",
            "--dbpath",
            &dbpath,
            "--dbname",
            "wiki",
            "--confpath",
            &confpath,
            "--server",
            &server,
            "--scriptpath",
            "",
            "--lang",
            "en",
            "--pass",
            "admin-password-123",
            "--skins",
            "",
            "SAL test wiki",
            "Admin",
        ];
        wiki.maintenance("install.php", &install, None);
        wiki.maintenance("createAndPromote.php", &["--bot", BOT_USER, "bot-user-password-123"], None);
        wiki.maintenance(
            "createBotPassword.php",
            &["--appid", "sal", "--grants", "basic,editpage,createeditmovepage,highvolume", BOT_USER, BOT_PASSWORD],
            None,
        );
        wiki.maintenance("createAndPromote.php", &["Human", "human-password-123"], None);
        wiki
    }

    /// Starts serving (again, on the same port) and waits until the API answers.
    fn start(&mut self) {
        let mut cmd = Command::new("php");
        cmd.args(["-S", &format!("127.0.0.1:{}", self.port), "-t", MEDIAWIKI])
            .env("MW_CONFIG_FILE", self.settings())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.server = Some(cmd.spawn().expect("start php -S"));
        let deadline = Instant::now() + Duration::from_secs(15);
        let agent = ureq::Agent::new_with_defaults();
        let probe = format!("{}?action=query&meta=siteinfo&format=json", self.api());
        while !agent.get(&probe).call().is_ok_and(|r| r.status().as_u16() == 200) {
            assert!(Instant::now() < deadline, "MediaWiki did not come up on port {}", self.port);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// An edit by a person (another account than the bot's), as a maintenance script.
    fn human_edit(&self, title: &str, text: &str) {
        self.maintenance("edit.php", &["-u", "Human", "-s", "by hand", title], Some(text));
    }

    /// How many revisions the page has.
    fn revisions(&self, title: &str) -> usize {
        let url = format!(
            "{}?action=query&prop=revisions&rvprop=ids&rvlimit=max&format=json&formatversion=2&titles={}",
            self.api(),
            title.replace(' ', "_")
        );
        let body = ureq::Agent::new_with_defaults().get(&url).call().unwrap().body_mut().read_to_string().unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["query"]["pages"][0]["revisions"].as_array().map_or(0, Vec::len)
    }

    /// The page's current text, read anonymously.
    fn text(&self, title: &str) -> String {
        self.client().read(title).expect("read the page").content
    }

    fn config(&self, password_file: &Path) -> MediaWikiConfig {
        MediaWikiConfig {
            api_url: self.api(),
            page: PAGE.into(),
            username: BOT_LOGIN.into(),
            password_file: password_file.to_path_buf(),
            channels: vec![],
            retry_min_seconds: 1,
            retry_max_seconds: 2,
            timeout_seconds: 5,
            status_page: None,
            report_prefix: "Tech:Incidents/".into(),
        }
    }

    fn client(&self) -> Wiki {
        Wiki::new(&self.config(Path::new("/nonexistent")), Secret(BOT_PASSWORD.into()))
    }
}

impl Drop for TestWiki {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits (polling the wiki) until `pred` holds for the page text; returns that text.
async fn wait_page(wiki: &TestWiki, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
    wait_text(wiki, PAGE, what, timeout, pred).await
}

/// Waits (polling the wiki) until `pred` holds for the text of page `title`; returns that text.
async fn wait_text(wiki: &TestWiki, title: &str, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = wiki.text(title);
        if pred(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}; the page:\n{text}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A bot publishing to a test wiki, joined with alice (on the access list, an admin) to a public
/// and a security channel.
struct WikiBot {
    bot: BotProcess,
    alice: TestClient,
    botnick: String,
    chan: String,
    sec: String,
    _secrets: tempfile::TempDir,
}

/// Starts a bot publishing to `wiki`; `extra` follows the `[publish.mediawiki]` keys (more keys
/// of it, or other sections).
async fn wiki_bot(wiki: &TestWiki, extra: &str) -> WikiBot {
    let net = shared_network().await;
    let scene = Scene::new(net, "sb").await;
    let mut opts = BotOpts::for_scene(net, &scene);
    let Scene { botnick, alice, chan, sec, mut a } = scene;
    let secrets = tempfile::tempdir().unwrap();
    let pw = secrets.path().join("bot-password");
    std::fs::write(&pw, format!("{BOT_PASSWORD}\n")).unwrap();
    opts.admins = vec![alice.clone()];
    opts.extra = format!(
        "[publish.mediawiki]\napi_url = \"{}\"\npage = \"{PAGE}\"\nusername = \"{BOT_LOGIN}\"\npassword_file = {pw:?}\n\
         retry_min_seconds = 1\nretry_max_seconds = 2\ntimeout_seconds = 5\n{extra}",
        wiki.api()
    );
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    WikiBot { bot, alice: a, botnick, chan, sec, _secrets: secrets }
}

fn lines_with(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_reach_the_wiki_once_survive_an_outage_and_redactions_edit_them_out() {
    if let Err(why) = ensure_mediawiki() {
        skip_or_fail("MediaWiki publishing test", &why, all_required());
        return;
    }
    let started = Instant::now();
    let mut wiki = TestWiki::install();
    wiki.start();
    wiki.human_edit(PAGE, "{{Navigation}}\nThe team's Server Admin Log. Newest on top.");
    eprintln!("mediawiki: installed and serving in {:?}", started.elapsed());

    let WikiBot { bot, alice: mut a, botnick, chan, sec, _secrets } =
        wiki_bot(&wiki, "[sal]\ninternal_networks = [\"10.0.0.0/8\"]\n").await;
    let alice = a.nick().to_string();
    let mut say = async |target: &str, text: &str| -> String {
        a.privmsg(target, text).await;
        a.expect_privmsg_from(&botnick, target, WAIT).await
    };

    // 1. Entries appear in the page's wikitext in the teams' layout.
    let t0 = Instant::now();
    assert!(say(&chan, "!log depooled db151 (T123456) from 203.0.113.5 via 10.64.0.15").await.starts_with("Logged #1"));
    assert!(say(&sec, "!log rotated the leaked key on cp3050").await.starts_with("Logged #2"));
    assert!(say(&chan, "!log see [[Tech:Db151]], {{not a template}} | <b>not bold</b> ~~~~")
        .await
        .starts_with("Logged #3"));
    let text = wait_page(&wiki, "entries #1 and #3", Duration::from_secs(20), |t| {
        t.contains("<!-- sal:1 -->") && t.contains("<!-- sal:3 -->")
    })
    .await;
    eprintln!("mediawiki: first entries published {:?} after logging", t0.elapsed());
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "{{Navigation}}", "the preamble is kept:\n{text}");
    assert_eq!(lines[1], "The team's Server Admin Log. Newest on top.");
    let heading = lines.iter().position(|l| *l == format!("== {today} ==")).expect("a heading for today");
    let (e3, e1) = (lines[heading + 1], lines[heading + 2]);
    let hhmm = r"\* \d\d:\d\d ";
    let re = |s: &str| regex::Regex::new(s).unwrap();
    assert!(re(&format!("^{hhmm}{alice}: see \\[\\[:Tech:Db151\\]\\], &#123;&#123;not a template&#125;&#125; &#124; &lt;b&gt;not bold&lt;/b&gt; &#126;&#126;&#126;&#126; <!-- sal:3 -->$")).is_match(e3), "newest on top, escaped: {e3}");
    assert!(
        re(&format!(
            "^{hhmm}{alice}: depooled db151 \\(T123456\\) from \\[IP hidden\\] via 10.64.0.15 <!-- sal:1 -->$"
        ))
        .is_match(e1),
        "the public IP masked, the internal one kept: {e1}"
    );
    assert!(!text.contains("rotated the leaked key"), "security-channel entries are never published");
    assert!(!text.contains("203.0.113.5"));
    // The page shows an edit before the publisher has checked it and marked its rows done:
    // wait for that too, or stopping the wiki now would leave one of them waiting as well.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = say(&chan, "!sal status").await;
        assert!(status.starts_with(&format!("MediaWiki ({PAGE}): ")), "{status}");
        if status.contains("nothing waiting") {
            break;
        }
        assert!(Instant::now() < deadline, "the outbox did not drain: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 2. The wiki goes down: 5 entries wait in the outbox and !sal status says why.
    let revisions = wiki.revisions(PAGE);
    wiki.stop();
    for i in 1..=5 {
        assert!(say(&chan, &format!("!log outage entry {i} of 5")).await.starts_with("Logged #"));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = say(&chan, "!sal status").await;
        if s.contains("Last error") || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(status.contains("5 changes waiting (5 entries)") && status.contains("wiki unreachable"), "{status}");
    assert!(!status.contains(BOT_PASSWORD));

    // 3. Back up: all five are published, each exactly once, in one edit.
    let t1 = Instant::now();
    wiki.start();
    let text = wait_page(&wiki, "the 5 entries logged while the wiki was down", Duration::from_secs(20), |t| {
        (4..=8).all(|id| t.contains(&format!("<!-- sal:{id} -->")))
    })
    .await;
    eprintln!("mediawiki: backlog of 5 published {:?} after the wiki came back", t1.elapsed());
    for id in [1, 3, 4, 5, 6, 7, 8] {
        assert_eq!(lines_with(&text, &format!("<!-- sal:{id} -->")), 1, "#{id} once:\n{text}");
    }
    for i in 1..=5 {
        assert_eq!(lines_with(&text, &format!("outage entry {i} of 5")), 1);
    }
    let order: Vec<usize> = (1..=5).map(|i| text.find(&format!("outage entry {i} of 5")).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] > w[1]), "newest on top:\n{text}");
    tokio::time::sleep(Duration::from_secs(3)).await; // retries that might still be due: none may repost
    let settled = wiki.text(PAGE);
    assert_eq!(settled, text, "nothing was posted twice");
    assert_eq!(wiki.revisions(PAGE), revisions + 1, "the backlog of 5 was published in one edit");
    let pending: i64 =
        bot.db().query_row("SELECT count(*) FROM sal_outbox WHERE done_at IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(pending, 0);
    assert!(say(&chan, "!sal status").await.contains("nothing waiting"));

    // 4. Corrections reach the wiki: a redaction and an undo edit entries out; an amendment
    //    rewrites one in place.
    assert!(say(&chan, "!sal redact #5 wrong host").await.starts_with("Redacted #5"));
    assert!(say(&chan, "!log undo").await.starts_with("Undone: #8"));
    assert!(say(&chan, "!sal amend #6 outage entry 3 of 5, amended").await.starts_with("Amended #6"));
    let text = wait_page(&wiki, "the corrections", Duration::from_secs(20), |t| {
        !t.contains("<!-- sal:5 -->") && !t.contains("<!-- sal:8 -->") && t.contains("3 of 5, amended")
    })
    .await;
    assert_eq!(lines_with(&text, "<!-- sal:6 -->"), 1);
    assert!(text.starts_with("{{Navigation}}\nThe team's Server Admin Log."), "{text}");
    let log = bot.log_text();
    assert!(!log.contains(BOT_PASSWORD), "the bot password never reaches the log");
    let db_dump: String = bot
        .db()
        .prepare("SELECT coalesce(last_error, '') FROM sal_outbox")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!db_dump.contains(BOT_PASSWORD));
    // The publisher holds a store handle: it must let go on SIGTERM so the bot exits cleanly.
    let t2 = Instant::now();
    let mut bot = bot;
    let status = tokio::task::spawn_blocking(move || bot.terminate(Duration::from_secs(15))).await.unwrap();
    assert_eq!(status, Some(0), "exit status after SIGTERM with the publisher running");
    eprintln!("mediawiki: SIGTERM to exit {:?}; whole test {:?}", t2.elapsed(), started.elapsed());
}

fn entry(id: i64, text: &str) -> Change {
    Change::Put(PageEntry { id, at: "2026-11-22T10:00:00Z".parse().unwrap(), nick: "alice".into(), text: text.into() })
}

/// Edit conflicts against the real MediaWiki: a person's edit after our read is kept (MediaWiki
/// reports the conflict or merges it), and so is an edit by the bot's own account after our read,
/// which MediaWiki does *not* report and would have been overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_are_reapplied_not_overwritten() {
    if let Err(why) = ensure_mediawiki() {
        skip_or_fail("MediaWiki conflict test", &why, all_required());
        return;
    }
    let mut wiki = TestWiki::install();
    wiki.start();
    let title = "Tech:Conflicts";
    tokio::task::spawn_blocking(move || {
        let mut bot = wiki.client();
        bot.login().expect("bot-password login");
        mediawiki::apply(&mut bot, title, &[entry(1, "first")], "t").expect("first edit creates the page");
        assert!(wiki.text(title).contains("alice: first <!-- sal:1 -->"));

        // A person edits after our read.
        let stale = bot.read(title).unwrap();
        wiki.human_edit(title, &format!("Preamble by a human.\n{}", stale.content));
        mediawiki::apply_from(&mut bot, title, stale, &[entry(2, "second")], "t").unwrap();
        let text = wiki.text(title);
        assert!(text.starts_with("Preamble by a human.") && text.contains("<!-- sal:1 -->"), "{text}");
        assert_eq!(lines_with(&text, "<!-- sal:2 -->"), 1, "{text}");

        // The bot's own account edits after our read: no conflict is reported, so the check of
        // the new revision's parent must catch it.
        let stale = bot.read(title).unwrap();
        let fresh = bot.read(title).unwrap();
        let own = format!("{}\n* 09:00 someone: added with the bot's account", fresh.content);
        bot.edit(title, &own, &fresh, "t").unwrap().expect("a new revision");
        mediawiki::apply_from(&mut bot, title, stale, &[entry(3, "third"), Change::Remove(1)], "t").unwrap();
        let text = wiki.text(title);
        assert!(text.contains("added with the bot's account"), "the intervening edit survives:\n{text}");
        assert!(text.contains("Preamble by a human."));
        assert_eq!(lines_with(&text, "<!-- sal:3 -->"), 1);
        assert_eq!(lines_with(&text, "<!-- sal:1 -->"), 0);

        // Applying the same changes again changes nothing (no new revision).
        let before = bot.read(title).unwrap();
        mediawiki::apply(&mut bot, title, &[entry(3, "third"), Change::Remove(1)], "t").unwrap();
        assert_eq!(bot.read(title).unwrap().revid, before.revid);

        // A wrong bot password is refused with a reason that does not repeat it.
        let mut wrong = Wiki::new(&wiki.config(Path::new("/x")), Secret("wrongwrongwrongwrongwrongwrong22".into()));
        let err = wrong.login().unwrap_err().to_string();
        assert!(err.starts_with("wiki login failed") && !err.contains("wrongwrong"), "{err}");
    })
    .await
    .unwrap();
}

/// The communicator's tools against the real wiki: public updates appear in the status notice
/// at the top of its page (people's text below kept), an update made while the wiki is down is
/// published once when it is back, the notice goes at resolution; the report is published as
/// its own page, updated in place by a second publish, and left alone once a person edited it.
/// Nothing of the security channel's incident reaches the wiki.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_notice_and_report_pages_on_the_wiki() {
    if let Err(why) = ensure_mediawiki() {
        skip_or_fail("MediaWiki status and report test", &why, all_required());
        return;
    }
    const STATUS: &str = "Tech:Status";
    const PEOPLE: &str = "Our services' status, kept by the SRE team.\n\n== Earlier incidents ==\nNone worth telling.";
    const START: &str = "<!-- srebot:status -->";
    let mut wiki = TestWiki::install();
    wiki.start();
    wiki.human_edit(STATUS, PEOPLE);

    let extra = format!("status_page = \"{STATUS}\"\nreport_prefix = \"Tech:Incidents/\"\n");
    let WikiBot { bot, alice: mut a, botnick, chan, sec, _secrets } = wiki_bot(&wiki, &extra).await;
    let mut say = async |target: &str, text: &str| -> String {
        a.privmsg(target, text).await;
        a.expect_privmsg_from(&botnick, target, WAIT).await
    };
    let long = Duration::from_secs(20);

    // 1. An update appears at the top of the status page; people's text stays below it.
    assert!(say(&chan, "!incident open Wiki farm returns 503").await.starts_with("Incident #1 opened"));
    assert!(say(&chan, "!incident impact user-facing").await.contains("Report required"));
    assert!(say(&sec, "!incident open okapi-private-marker leaked key").await.starts_with("Incident #1 opened"));
    let r = say(&sec, "!incident update okapi-private-marker rotating").await;
    assert!(r.contains("never published"), "{r}");
    let r = say(&chan, "!incident update We are looking into it; reports from 203.0.113.5 welcome").await;
    assert!(r.starts_with("#1: public update posted at"), "{r}");
    let text = wait_text(&wiki, STATUS, "the first update", long, |t| t.contains("We are looking into it")).await;
    assert!(text.starts_with(START) && text.ends_with(PEOPLE), "on top, people's text kept:\n{text}");
    assert!(text.contains("'''Incident #1: Wiki farm returns 503''' (investigating)"), "{text}");
    assert!(text.contains("reports from [IP hidden] welcome") && !text.contains("203.0.113.5"), "{text}");

    // 2. The wiki is down during the next update: published once when it is back, in place.
    wiki.stop();
    let r = say(&chan, "!incident update Fix deployed, watching the error rate").await;
    assert!(r.starts_with("#1: public update posted at"), "{r}");
    tokio::time::sleep(Duration::from_secs(3)).await; // at least one failed attempt
    let failed: i64 = bot
        .db()
        .query_row("SELECT count(*) FROM sal_outbox WHERE sink = 'mediawiki-status' AND attempts > 0", [], |r| r.get(0))
        .unwrap();
    assert!(failed >= 1, "the publisher tried while the wiki was down");
    wiki.start();
    let text =
        wait_text(&wiki, STATUS, "the update made during the outage", long, |t| t.contains("Fix deployed")).await;
    tokio::time::sleep(Duration::from_secs(3)).await; // retries that might still be due: none may repost
    let settled = wiki.text(STATUS);
    assert_eq!(settled, text, "nothing posted twice");
    assert_eq!(settled.matches(START).count(), 1, "{settled}");
    assert_eq!(settled.matches("Fix deployed").count(), 1, "{settled}");
    assert!(!settled.contains("looking into it"), "the latest update replaces the one before:\n{settled}");
    assert!(!settled.contains("okapi") && !settled.contains("leaked key"), "{settled}");

    // 3. Resolved: the notice goes, people's text is as it was.
    assert!(say(&chan, "!incident status resolved").await.starts_with("#1 resolved after"));
    let text = wait_text(&wiki, STATUS, "the notice to go", long, |t| !t.contains(START)).await;
    assert_eq!(text, PEOPLE);
    tokio::time::sleep(Duration::from_millis(500)).await; // the rows are marked done after the edit
    let pending: i64 =
        bot.db().query_row("SELECT count(*) FROM sal_outbox WHERE done_at IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(pending, 0);

    // 4. The report: its own page, created once and recorded as the filed report.
    let title = format!("Tech:Incidents/{} Wiki farm returns 503", chrono::Utc::now().format("%Y-%m-%d"));
    let url = format!("{}index.php?title={}", wiki.api().trim_end_matches("api.php"), title_param(&title));
    let r = say(&chan, "!incident report publish").await;
    assert_eq!(r, format!("#1: report draft published at {url} and recorded as the filed report; finish it there."));
    let page = wiki.text(&title);
    for needle in ["Draft generated by srebot", "Wiki farm returns 503", "Fix deployed", "user-facing outage"] {
        assert!(page.contains(needle), "the report page lacks {needle:?}:\n{page}");
    }
    assert!(!page.contains("203.0.113.5") && !page.contains("okapi"), "{page}");
    assert!(say(&chan, "!incident show 1").await.contains(&format!("report: {url}")));
    // A second publish updates the same page.
    assert!(say(&chan, "!incident note root cause: a full disk on db151").await.starts_with("Noted on #1"));
    let r = say(&chan, "!incident report publish 1").await;
    assert_eq!(r, format!("#1: report draft updated at {url} and recorded as the filed report; finish it there."));
    assert!(wiki.text(&title).contains("root cause: a full disk on db151"));
    let filed: i64 = bot
        .db()
        .query_row("SELECT count(DISTINCT report_page) FROM incident WHERE report_page IS NOT NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(filed, 1, "one page");
    // A person edits the page: the bot leaves it alone, and says so.
    wiki.human_edit(&title, "A report written by people.");
    assert!(say(&chan, "!incident note one more thing").await.starts_with("Noted on #1"));
    let r = say(&chan, "!incident report publish 1").await;
    assert_eq!(r, format!("#1: {url} has been edited by people since srebot wrote it: left as it is."));
    assert_eq!(wiki.text(&title), "A report written by people.");
    // A security incident's report is never published.
    assert!(say(&sec, "!incident status resolved").await.contains("resolved"));
    let r = say(&sec, "!incident report publish").await;
    assert!(r.starts_with("A security incident's report is never published"), "{r}");
    assert!(!bot.log_text().contains(BOT_PASSWORD));
}

/// `title` as `index.php?title=` carries it.
fn title_param(title: &str) -> String {
    title
        .replace(' ', "_")
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `srebot sal import-wiki --page` reads a real wiki's page through the Action API, and its
/// monthly archive subpages with `--archives`; a second run adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_wiki_reads_a_page_and_its_archives_through_the_api() {
    if let Err(why) = ensure_mediawiki() {
        skip_or_fail("MediaWiki import test", &why, all_required());
        return;
    }
    let mut wiki = TestWiki::install();
    wiki.start();
    let title = "Tech:SAL history";
    wiki.human_edit(title, "The log.\n== 2026-02-02 ==\n* 10:00 alice: current page line (T1)\n");
    wiki.human_edit(
        &format!("{title}/Archive 2025"),
        "=== 2025-12-31 ===\n* 23:00 {{SAL entry|1=bob: archived line}}\n",
    );
    wiki.human_edit(
        &format!("{title}/Archive 2024"),
        "== 2024-06-01 ==\n* 08:00 LSBot: [deploy@mw1] older line\n* 8 o'clock: not a line\n",
    );
    let net = shared_network().await;
    let chan = format!("#{}", unique("sre"));
    let mut opts = BotOpts::new(net, &unique("sb"));
    opts.channels = vec![(chan.clone(), "public")];
    let bot = BotProcess::create(opts);
    let api = wiki.api();
    let import = |archives: bool| {
        let mut args = vec!["sal", "import-wiki", "--page", title, "--api", &api, "--channel", &chan];
        if archives {
            args.push("--archives");
        }
        bot.cli(&args)
    };
    let (ok, out, err) = import(false);
    assert!(ok, "{out}{err}");
    assert_eq!(out, format!("{title}: 2026-02-02: 1 added, 0 already present\n{title}: 1 added, 0 already present, 0 unparsable, over 1 day(s)\n"));
    let (ok, out, err) = import(true);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!("{title}/Archive 2024: 2024-06-01: 1 added, 0 already present, 1 unparsable: line 3 (")),
        "{out}"
    );
    assert!(out.contains(&format!("{title}/Archive 2025: 2025-12-31: 1 added")), "{out}");
    assert!(out.contains(&format!("{title}: 0 added, 1 already present")), "{out}");
    assert_eq!(bot.count("import_key IS NOT NULL"), 3);
    assert_eq!(bot.count("nick = 'deploy' AND relayed_by = 'LSBot' AND message = 'older line'"), 1);
    let (ok, out, _) = import(true);
    assert!(ok && !out.contains(" 1 added"), "{out}");
    assert_eq!(bot.count("1"), 3);
    let (ok, _, err) = bot.cli(&["sal", "import-wiki", "--page", "No such page", "--api", &api, "--channel", &chan]);
    assert!(!ok && err.contains("no page"), "{err}");
}
