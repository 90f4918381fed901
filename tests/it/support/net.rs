//! `Network`: a throw-away IRC network on 127.0.0.1 for integration tests.
//!
//! InspIRCd 3 (Debian `inspircd`) with Atheme 7.2 services (Debian
//! `atheme-services`: NickServ, ChanServ, SaslServ, OperServ) linked to it.
//! Every network gets its own temp dir (configs, logs, services DB) and its own
//! ports, so several can run at once in one test binary.
//!
//! Client ports (both accept plain-text IRC):
//! * [`Network::port`]: a generous class for test clients and load tests: no
//!   flood limits to speak of (penalty threshold 1e6, commandrate 1e9, no
//!   fakelag), 16 MB recvq, 64 MB sendq, 100000 connections per IP.
//! * [`Network::strict_port`]: a Libera-like strict class: recvq 8 KB, sendq
//!   1 MB hard / 10 KB soft, threshold 10, commandrate 1000 (one command per
//!   second sustained), `fakelag="no"`. Observed on InspIRCd 3.15: a client that
//!   bursts 10 PRIVMSGs (or 5 JOINs: JOIN costs 2) right after registration, or
//!   keeps sending more than one line per second, is disconnected with
//!   `ERROR :Closing link: (user@127.0.0.1) [Excess Flood]`. 9 PRIVMSGs in a
//!   burst followed by one per ~1.05 s is fine, and so is the usual
//!   registration burst (CAP LS/REQ, AUTHENTICATE x2, CAP END, NICK, USER).
//!
//! Both ports register a client about one second after NICK/USER/CAP END
//! (InspIRCd completes registrations on a one-second timer), and a TOPIC change
//! in the same second as the previous one gets 437.
//!
//! Processes are killed when the `Network` is dropped. They are also started
//! under `setpriv --pdeathsig KILL` (and without core dumps) from a thread that lives as long as the test
//! binary, so they die with it even when a `Network` is never dropped (e.g. the
//! shared one in a static) or the binary is killed.
//!
//! Environment knobs (for debugging):
//! * `SREBOT_IT_KEEP=1`: keep the temp dir (path printed on drop).
//! * `SREBOT_IT_RAWLOG=1`: InspIRCd also logs every client line to
//!   `ircd-raw.log` (it then NOTICEs each client "*** Raw I/O logging is
//!   enabled", so the traffic differs slightly).
//! * `INSPIRCD_BIN`, `ATHEME_BIN`: binaries to run instead of the packaged ones.

use std::fs;
use std::io::{self, Read as _};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::client::{Message, TestClient};
use super::{unique, WAIT};

/// IRC operator login on every network (`OPER testoper testoperpass`): every
/// command and privilege of the loaded modules, e.g. KILL (no SA* modules).
pub const OPER_NAME: &str = "testoper";
pub const OPER_PASSWORD: &str = "testoperpass";

/// Temp dirs are named `<DIR_PREFIX><pid>-<n>-<random>`.
const DIR_PREFIX: &str = "srebot-it-";
/// Marker file that keeps a temp dir from `remove_stale_dirs` (SREBOT_IT_KEEP).
const KEEP_MARKER: &str = "KEPT";

/// How long `start`/`start_ircd` wait for services to link (sasl offered).
const SERVICES_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for InspIRCd to come up listening.
const IRCD_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct NetOpts {
    /// Start Atheme services too (default true). Without them there is no
    /// NickServ/ChanServ, no SASL, and `register_*` panic.
    pub services: bool,
    /// Also listen for TLS clients on [`Network::tls_port`], with a certificate for 127.0.0.1
    /// signed by a throw-away CA ([`Network::ca_file`]). Off by default: with ssl_gnutls loaded
    /// InspIRCd 3 crashes on SIGTERM (harmless here, but noisy).
    pub tls: bool,
    /// Use this as [`Network::port`] when it is free (the demo asks for 6667); else, and
    /// always in tests, a random free port.
    pub preferred_port: Option<u16>,
    /// With `tls`: offer IRCv3 STS (InspIRCd's ircv3_sts): `sts=port=<tls_port>` on the plaintext
    /// ports, `sts=duration=300` over TLS to clients that name `localhost` (SNI).
    pub sts: bool,
}

impl Default for NetOpts {
    fn default() -> Self {
        NetOpts { services: true, tls: false, preferred_port: None, sts: false }
    }
}

pub struct Network {
    dir: TempDir,
    services: bool,
    server_name: String,
    services_name: String,
    port: u16,
    strict_port: u16,
    link_port: u16,
    tls: bool,
    tls_port: u16,
    sts: bool,
    link_send: String,
    link_recv: String,
    ircd: Option<Child>,
    atheme: Option<Child>,
}

impl Network {
    /// Starts InspIRCd (and Atheme unless `opts.services` is false) and waits
    /// until clients can connect and, with services, until a fresh connection
    /// sees `sasl` in `CAP LS 302` and Atheme has finished syncing. Panics
    /// with the log tails if that fails. Takes well under a second here.
    pub async fn start(opts: NetOpts) -> Network {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}-{n}", std::process::id());
        remove_stale_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{tag}-"))
            .tempdir()
            .expect("create temp dir for the IRC network");
        let mut net = Network {
            dir,
            services: opts.services,
            server_name: format!("irc-{tag}.test"),
            services_name: format!("services-{tag}.test"),
            port: 0,
            strict_port: 0,
            link_port: 0,
            tls: opts.tls,
            tls_port: 0,
            sts: opts.sts && opts.tls,
            link_send: fastrand_token(),
            link_recv: fastrand_token(),
            ircd: None,
            atheme: None,
        };
        fs::write(net.path("motd.txt"), "srebot integration test network\nNothing to see here.\n").expect("write motd");

        // Ports may be taken between probing and InspIRCd binding them (another
        // test binary, another Network): retry with fresh ones.
        if net.tls {
            net.write_tls_certificates();
        }
        let mut attempt = 1;
        loop {
            let [p, s, l, t] = pick_ports(opts.preferred_port.filter(|_| attempt == 1));
            (net.port, net.strict_port, net.link_port, net.tls_port) = (p, s, l, t);
            fs::write(net.path("inspircd.conf"), net.inspircd_conf()).expect("write inspircd.conf");
            match net.spawn_ircd().await {
                Ok(()) => break,
                Err(e) if attempt < 4 => {
                    eprintln!("Network: InspIRCd start attempt {attempt} failed ({e}); retrying with other ports");
                    net.kill_ircd();
                    attempt += 1;
                }
                Err(e) => net.fail(&format!("InspIRCd did not start: {e}")),
            }
        }

        if net.services {
            fs::create_dir_all(net.path("atheme-data")).expect("create atheme data dir");
            fs::write(net.path("atheme.conf"), net.atheme_conf()).expect("write atheme.conf");
            let since = file_len(&net.path("atheme.log"));
            net.spawn_atheme();
            net.wait_services(since).await;
        }
        net
    }

    /// Generous client port (see module docs).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Libera-like strict client port (see module docs).
    pub fn strict_port(&self) -> u16 {
        self.strict_port
    }

    /// The TLS client port (generous class); only with `NetOpts { tls: true }`.
    pub fn tls_port(&self) -> u16 {
        assert!(self.tls, "tls_port needs NetOpts {{ tls: true }}");
        self.tls_port
    }

    /// The throw-away CA (PEM) that signed the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// A CA and a server certificate for 127.0.0.1 signed by it: rustls refuses a self-signed
    /// certificate that is also marked as a CA, so the two must be separate.
    fn write_tls_certificates(&self) {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "srebot test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA certificate");
        let mut server =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("params");
        server.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        let key = KeyPair::generate().expect("server key");
        let cert = server.signed_by(&key, &ca).expect("server certificate");
        fs::write(self.path("ca.pem"), ca.pem()).expect("write ca.pem");
        fs::write(self.path("server.pem"), cert.pem()).expect("write server.pem");
        fs::write(self.path("server.key"), key.serialize_pem()).expect("write server.key");
    }

    /// The temp dir holding configs and logs; put the bot's config/DB here too.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// InspIRCd's server name (the source of server numerics), unique per network.
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// Atheme's server name (`services-….test`), unique per network.
    pub fn services_name(&self) -> &str {
        &self.services_name
    }

    /// Registers `account` with NickServ (nick = account name, e-mail
    /// `<account>@example.com`) from a throw-away client, and checks NickServ
    /// confirms it. Atheme needs a password of at least 5 characters, not equal
    /// to the account name. Takes ~1 s (client registration).
    pub async fn register_account(&self, account: &str, password: &str) {
        self.require_services("register_account");
        let mut c = TestClient::connect(self.port, account).await;
        c.privmsg("NickServ", &format!("REGISTER {password} {account}@example.com")).await;
        let reply = c
            .expect_msg("NickServ's reply to REGISTER", WAIT, |m| m.command == "NOTICE" && m.is_from("NickServ"))
            .await;
        let text = reply.params.last().cloned().unwrap_or_default();
        assert!(text.contains("is now registered to"), "NickServ REGISTER of account {account} failed: {text}");
        c.quit("account registered").await;
    }

    /// Registers `channel` with ChanServ, founder `owner_account`: a throw-away
    /// client logs in with SASL, joins (the channel must be empty, so that it
    /// gets ops), sends `REGISTER`, checks ChanServ's confirmation, and leaves.
    /// ChanServ does not stay in the channel; the mode lock is Atheme's default
    /// +nt. Takes ~1 s.
    pub async fn register_channel(&self, owner_account: &str, owner_password: &str, channel: &str) {
        self.require_services("register_channel");
        let nick = unique("chreg");
        let mut c = TestClient::connect_sasl(self.port, &nick, owner_account, owner_password).await;
        let names = c.join(channel).await;
        assert!(
            names.iter().any(|n| n.trim_start_matches('+') == format!("@{nick}")),
            "register_channel: {channel} already existed (we are not op there: {names:?}); register it before anyone joins"
        );
        c.privmsg("ChanServ", &format!("REGISTER {channel}")).await;
        let text = self.chanserv_reply(&mut c, "REGISTER").await;
        assert!(
            text.contains("is now registered to"),
            "ChanServ REGISTER {channel} for {owner_account} failed: {text}"
        );
        c.send(&format!("PART {channel}")).await;
        c.quit("channel registered").await;
    }

    /// Sets ChanServ access flags (e.g. "+o", "+O" for auto-op, "+AOo", "-*")
    /// for `target_account` on `channel`, acting as `owner_account` (who needs
    /// +f there, e.g. the founder), and checks ChanServ confirms it.
    pub async fn set_channel_flags(
        &self,
        owner_account: &str,
        owner_password: &str,
        channel: &str,
        target_account: &str,
        flags: &str,
    ) {
        self.require_services("set_channel_flags");
        let nick = unique("chflg");
        let mut c = TestClient::connect_sasl(self.port, &nick, owner_account, owner_password).await;
        c.privmsg("ChanServ", &format!("FLAGS {channel} {target_account} {flags}")).await;
        let text = self.chanserv_reply(&mut c, "FLAGS").await;
        assert!(
            text.contains("were set on") || text.contains("unchanged") || text.contains("already"),
            "ChanServ FLAGS {channel} {target_account} {flags} failed: {text}"
        );
        c.quit("flags set").await;
    }

    async fn chanserv_reply(&self, c: &mut TestClient, what: &str) -> String {
        let reply = c
            .expect_msg(&format!("ChanServ's reply to {what}"), WAIT, |m| {
                m.command == "NOTICE" && m.is_from("ChanServ") && m.param(0).is_some_and(|t| !t.starts_with('#'))
            })
            .await;
        reply.params.last().cloned().unwrap_or_default()
    }

    /// Stops InspIRCd: SIGTERM, then SIGKILL after 3 s; waits for it to exit.
    /// Connected clients see their connection close. Atheme keeps running and
    /// retries the link every second.
    pub async fn stop_ircd(&mut self) {
        let Some(mut child) = self.ircd.take() else {
            panic!("stop_ircd: InspIRCd is not running");
        };
        signal(child.id(), "CONT");
        signal(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        }
    }

    /// Starts InspIRCd again with the same config and ports, and waits until it
    /// listens and (with services) Atheme has relinked and `sasl` is offered
    /// again (~1-2 s: Atheme retries the link every second).
    pub async fn start_ircd(&mut self) {
        assert!(self.ircd.is_none(), "start_ircd: InspIRCd is already running");
        let since = file_len(&self.path("atheme.log"));
        if let Err(e) = self.spawn_ircd().await {
            self.fail(&format!("InspIRCd did not restart: {e}"));
        }
        if self.services {
            self.wait_services(since).await;
        }
    }

    /// Stops Atheme: the link drops and SASL is no longer offered (CAP DEL to clients with
    /// cap-notify), as when services are down or not yet relinked after a restart.
    /// SIGTERM first, so Atheme writes its database (accounts registered so far survive).
    pub async fn stop_services(&mut self) {
        let Some(mut child) = self.atheme.take() else { return };
        signal(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts Atheme again after `stop_services` and waits until `sasl` is offered again.
    pub async fn start_services(&mut self) {
        assert!(self.atheme.is_none(), "start_services: Atheme is already running");
        let since = file_len(&self.path("atheme.log"));
        self.spawn_atheme();
        self.wait_services(since).await;
    }

    /// SIGSTOP InspIRCd: connections stay open but nothing is answered (a
    /// half-open link, as seen by the bot). Undo with `resume_ircd`.
    pub fn pause_ircd(&self) {
        let child = self.ircd.as_ref().expect("pause_ircd: InspIRCd is not running");
        signal(child.id(), "STOP");
    }

    /// SIGCONT InspIRCd after `pause_ircd`. Note InspIRCd may then drop
    /// clients (and the services link) whose pings timed out meanwhile.
    pub fn resume_ircd(&self) {
        let child = self.ircd.as_ref().expect("resume_ircd: InspIRCd is not running");
        signal(child.id(), "CONT");
    }

    /// Last lines of InspIRCd's log and console output.
    pub fn ircd_log_tail(&self) -> String {
        format!(
            "--- {} ---\n{}\n--- {} ---\n{}",
            self.path("ircd.log").display(),
            tail(&self.path("ircd.log"), 40),
            self.path("ircd.out").display(),
            tail(&self.path("ircd.out"), 20)
        )
    }

    /// Last lines of Atheme's log and console output.
    pub fn services_log_tail(&self) -> String {
        format!(
            "--- {} ---\n{}\n--- {} ---\n{}",
            self.path("atheme.log").display(),
            tail(&self.path("atheme.log"), 40),
            self.path("atheme.out").display(),
            tail(&self.path("atheme.out"), 20)
        )
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn require_services(&self, what: &str) {
        assert!(self.services, "{what} needs services, but this Network was started with services: false");
    }

    fn fail(&self, msg: &str) -> ! {
        panic!(
            "Network ({}): {msg}\n{}\n{}",
            self.dir.path().display(),
            self.ircd_log_tail(),
            if self.services { self.services_log_tail() } else { String::new() }
        );
    }

    /// Spawns InspIRCd and waits until it runs, all three ports are its own and
    /// the client ports answer. `Err` (process killed by the caller) if a port
    /// could not be bound.
    async fn spawn_ircd(&mut self) -> Result<(), String> {
        let out_path = self.path("ircd.out");
        let since = file_len(&out_path);
        let out = fs::OpenOptions::new().create(true).append(true).open(&out_path).expect("open ircd.out");
        let mut cmd = owned_command(&binary("INSPIRCD_BIN", "inspircd", "/usr/sbin/inspircd"));
        cmd.arg("--nofork")
            .arg("--nopid")
            .arg("--runasroot")
            .arg("--config")
            .arg(self.path("inspircd.conf"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup ircd.out"))
            .stderr(out);
        let child = spawn_owned(cmd).unwrap_or_else(|e| panic!("cannot run inspircd: {e}"));
        self.ircd = Some(child);

        let deadline = Instant::now() + IRCD_TIMEOUT;
        loop {
            let output = read_from(&out_path, since);
            if output.contains("failed to bind") {
                return Err("some listener failed to bind (port taken)".into());
            }
            if output.contains("InspIRCd is now running") {
                break;
            }
            if let Some(status) = self.ircd.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.ircd = None;
                self.fail(&format!("InspIRCd exited during start-up ({status})"));
            }
            if Instant::now() > deadline {
                self.fail("InspIRCd did not report that it is running");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if self.tls {
            tokio::net::TcpStream::connect(("127.0.0.1", self.tls_port))
                .await
                .map_err(|e| format!("TLS port {}: {e}", self.tls_port))?;
        }
        for port in [self.port, self.strict_port] {
            match cap_ls(port).await {
                Ok((server, _)) if server == self.server_name => {}
                Ok((server, _)) => return Err(format!("port {port} is served by {server}")),
                Err(e) => return Err(format!("port {port}: {e}")),
            }
        }
        Ok(())
    }

    fn spawn_atheme(&mut self) {
        let out = fs::File::create(self.path("atheme.out")).expect("create atheme.out");
        let mut cmd = owned_command(&binary("ATHEME_BIN", "atheme-services", "/usr/bin/atheme-services"));
        cmd.arg("-n")
            .arg("-c")
            .arg(self.path("atheme.conf"))
            .arg("-D")
            .arg(self.path("atheme-data"))
            .arg("-l")
            .arg(self.path("atheme.log"))
            .arg("-p")
            .arg(self.path("atheme.pid"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup atheme.out"))
            .stderr(out);
        let child = spawn_owned(cmd).unwrap_or_else(|e| panic!("cannot run atheme-services: {e}"));
        self.atheme = Some(child);
    }

    /// Waits until a fresh client sees `sasl` in CAP LS and Atheme's log (after
    /// byte `since`) says it finished syncing with the uplink.
    async fn wait_services(&mut self, since: u64) {
        let deadline = Instant::now() + SERVICES_TIMEOUT;
        let log = self.path("atheme.log");
        let mut restarts = 0;
        loop {
            let synced = read_from(&log, since).contains("finished synching with uplink");
            if synced {
                if let Ok((_, caps)) = cap_ls(self.port).await {
                    if caps.iter().any(|c| c == "sasl" || c.starts_with("sasl=")) {
                        return;
                    }
                }
            }
            if let Some(status) = self.atheme.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                // Atheme 7.2 now and then segfaults while its uplink restarts. Services crashing
                // is a fact of life the bot must ride out; the fixture just brings them back.
                self.atheme = None;
                restarts += 1;
                if restarts > 3 {
                    self.fail(&format!("atheme-services exited ({status}) {restarts} times"));
                }
                eprintln!("Network: atheme-services exited ({status}); starting it again");
                self.spawn_atheme();
            }
            if Instant::now() > deadline {
                self.fail(&format!("services did not link within {SERVICES_TIMEOUT:?} (no sasl in CAP LS)"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill_ircd(&mut self) {
        if let Some(mut child) = self.ircd.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn inspircd_conf(&self) -> String {
        let dir = self.dir.path().display();
        let raw_log = if std::env::var_os("SREBOT_IT_RAWLOG").is_some() {
            format!(
                r#"<log method="file" type="USERINPUT USEROUTPUT" level="rawio" flush="1" target="{dir}/ircd-raw.log">"#
            )
        } else {
            String::new()
        };
        let modules = [
            "cap",
            "sasl",
            "ircv3",
            "ircv3_accounttag",
            "ircv3_servertime",
            "ircv3_echomessage",
            "ircv3_capnotify",
            "ircv3_chghost",
            "ircv3_ctctags",
            "ircv3_msgid",
            "ircv3_batch",
            "ircv3_invitenotify",
            "ircv3_labeledresponse",
            "services_account",
            "chghost",
            "cban",
            "svshold",
            "topiclock",
            "servprotect",
            // Atheme gives its service bots umode +d; without m_deaf the link
            // loops on "Unrecognised mode 'd'".
            "deaf",
            "spanningtree",
            "botmode",
            "namesx",
            "uhnames",
            "banexception",
            "inviteexception",
            "monitor",
            "setname",
        ]
        .iter()
        .map(|m| format!("<module name=\"{m}\">\n"))
        .collect::<String>();
        format!(
            r#"# Generated by tests/it/support/net.rs
<config format="xml">
<server name="{server}" description="srebot test ircd" id="0AA" network="TestNet">
<admin name="Test" nick="test" email="test@example.invalid">
<path configdir="{dir}" datadir="{dir}" logdir="{dir}">
<files motd="{dir}/motd.txt">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" flush="1" target="{dir}/ircd.log">
{raw_log}
<bind address="127.0.0.1" port="{port}" type="clients">
<bind address="127.0.0.1" port="{strict}" type="clients">
<bind address="127.0.0.1" port="{link}" type="servers">
{tls_bind}

# Strict, Libera-like class: flooding gets you "Excess Flood".
<connect name="strict" allow="*" port="{strict}" timeout="20" pingfreq="120"
         hardsendq="1M" softsendq="10240" recvq="8192"
         threshold="10" commandrate="1000" fakelag="no"
         localmax="1000" globalmax="1000" maxconnwarn="no" limit="100000" maxchans="100"
         resolvehostnames="no" useident="no">
# Generous class for test clients and load: practically no limits.
<connect name="generous" allow="*" port="{generous_ports}" timeout="60" pingfreq="120"
         hardsendq="64M" softsendq="16M" recvq="16M"
         threshold="1000000" commandrate="1000000000" fakelag="no"
         localmax="100000" globalmax="100000" maxconnwarn="no" limit="1000000" maxchans="1000"
         resolvehostnames="no" useident="no">

<dns server="127.0.0.1" timeout="1">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" hostintopic="yes"
         pingwarning="15" splitwhois="no" exemptchanops="">
<security hideserver="" userstats="Pu" customversion="" flatlinks="no" hidesplits="no"
          hideulines="no" hidebans="no" maxtargets="20" announceinvites="dynamic">
<performance netbuffersize="65534" softlimit="100000" somaxconn="1024"
             clonesonconnect="no" quietbursts="yes" timeskipwarn="0">
<limits maxaway="200" maxchan="60" maxhost="64" maxident="10" maxkick="300" maxmodes="20"
        maxnick="30" maxquit="300" maxreal="130" maxtopic="330">
<channels users="1000" opers="1000">
<whowas groupsize="10" maxgroups="10000" maxkeep="3d">

<class name="everything" commands="*" privs="*" usermodes="*" chanmodes="*" snomasks="*">
<type name="NetAdmin" classes="everything" vhost="netadmin.test">
<oper name="{oper}" password="{oper_pass}" host="*@*" type="NetAdmin">

{modules}
<sasl target="{services}">
<link name="{services}" ipaddr="127.0.0.1" port="{link}" allowmask="127.0.0.0/8"
      sendpass="{send}" recvpass="{recv}" timeout="20">
<uline server="{services}" silent="yes">
<badnick nick="ChanServ" reason="Reserved for services">
<badnick nick="NickServ" reason="Reserved for services">
<badnick nick="OperServ" reason="Reserved for services">
<badnick nick="SaslServ" reason="Reserved for services">
"#,
            server = self.server_name,
            services = self.services_name,
            port = self.port,
            generous_ports = if self.tls { format!("{},{}", self.port, self.tls_port) } else { self.port.to_string() },
            tls_bind = if self.tls {
                format!(
                    "<module name=\"ssl_gnutls\">\n<sslprofile name=\"tls\" provider=\"gnutls\" certfile=\"{dir}/server.pem\" \
                     keyfile=\"{dir}/server.key\" hash=\"sha256\" requestclientcert=\"no\">\n\
                     <bind address=\"127.0.0.1\" port=\"{}\" type=\"clients\" sslprofile=\"tls\">",
                    self.tls_port
                )
            } else {
                String::new()
            } + &if self.sts {
                format!(
                    "\n<module name=\"ircv3_sts\">\n<sts host=\"localhost\" port=\"{}\" duration=\"300\" preload=\"no\">",
                    self.tls_port
                )
            } else {
                String::new()
            },
            strict = self.strict_port,
            link = self.link_port,
            send = self.link_send,
            recv = self.link_recv,
            oper = OPER_NAME,
            oper_pass = OPER_PASSWORD,
        )
    }

    fn atheme_conf(&self) -> String {
        let dir = self.dir.path().display();
        let modules = [
            "protocol/inspircd",
            "backend/opensex",
            "crypto/pbkdf2v2",
            "nickserv/main",
            "nickserv/register",
            "nickserv/identify",
            "nickserv/logout",
            "nickserv/info",
            "nickserv/status",
            "nickserv/ghost",
            "nickserv/drop",
            "nickserv/help",
            "nickserv/regnolimit",
            "nickserv/set_core",
            "nickserv/set_password",
            "nickserv/set_email",
            "chanserv/main",
            "chanserv/register",
            "chanserv/drop",
            "chanserv/info",
            "chanserv/help",
            "chanserv/flags",
            "chanserv/access",
            "chanserv/op",
            "chanserv/voice",
            "chanserv/topic",
            "chanserv/kick",
            "chanserv/invite",
            "chanserv/set_core",
            "chanserv/set_guard",
            "chanserv/set_keeptopic",
            "chanserv/set_topiclock",
            "chanserv/set_mlock",
            "chanserv/set_secure",
            "saslserv/main",
            "saslserv/plain",
            "saslserv/external",
            // Atheme 7.2 has no SCRAM module (saslserv/scram came with 7.3).
            "saslserv/ecdsa-nist256p-challenge",
            "nickserv/set_pubkey",
            "operserv/main",
        ]
        .iter()
        // Atheme 7.2 still wants the "modules/" prefix (7.3 dropped it).
        .map(|m| format!("loadmodule \"modules/{m}\";\n"))
        .collect::<String>();
        format!(
            r#"/* Generated by tests/it/support/net.rs */
{modules}
serverinfo {{
	name = "{services}";
	desc = "srebot test services";
	numeric = "0AB";
	recontime = 1;
	netname = "TestNet";
	hidehostsuffix = "users.test";
	adminname = "test";
	adminemail = "test@example.invalid";
	registeremail = "noreply@example.invalid";
	/* No "debug" here: with -n and debug logging Atheme NOTICEs every
	 * connecting user that it runs in debug mode. */
	loglevel = {{ error; info; admin; network; register; }};
	maxlogins = 1000;
	maxusers = 0;
	mdlimit = 100;
	emaillimit = 1000;
	emailtime = 1;
	auth = none;
	casemapping = rfc1459;
}};

uplink "{server}" {{
	host = "127.0.0.1";
	port = {link};
	send_password = "{recv}";
	receive_password = "{send}";
}};

nickserv {{
	nick = "NickServ"; user = "NickServ"; host = "{services}"; real = "Nickname Services";
	maxnicks = 100;
	expire = 0;
}};

chanserv {{
	nick = "ChanServ"; user = "ChanServ"; host = "{services}"; real = "Channel Services";
	maxchanacs = 0;
	maxfounders = 10;
	expire = 0;
	akick_time = 0;
}};

saslserv {{ nick = "SaslServ"; user = "SaslServ"; host = "{services}"; real = "SASL Authentication Agent"; }};
operserv {{ nick = "OperServ"; user = "OperServ"; host = "{services}"; real = "Operator Services"; }};

/* Cheap hashing: the default 64000 rounds cost time on every SASL login. */
pbkdf2v2 {{ digest = "SHA256"; rounds = 10000; }};

logfile "{dir}/atheme-commands.log" {{ commands; register; set; }};

general {{
	uflags = {{ hidemail; }};
	cflags = {{ none; }};
	/* No flood protection or rate limits for services commands in tests. */
	flood_msgs = 0;
	flood_time = 10;
	ratelimit_uses = 0;
	ratelimit_period = 0;
	kline_time = 7;
	commit_interval = 1;
	uplink_sendq_limit = 1048576;
	language = "en";
	exempts {{ }};
}};
"#,
            server = self.server_name,
            services = self.services_name,
            link = self.link_port,
            send = self.link_send,
            recv = self.link_recv,
        )
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "Network dropped during a panic; logs in {}\n{}\n{}",
                self.dir.path().display(),
                self.ircd_log_tail(),
                if self.services { self.services_log_tail() } else { String::new() }
            );
        }
        for child in [self.ircd.take(), self.atheme.take()].into_iter().flatten() {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("SREBOT_IT_KEEP").is_some() {
            let _ = fs::write(self.path(KEEP_MARKER), "kept because SREBOT_IT_KEEP was set\n");
            self.dir.disable_cleanup(true);
            eprintln!("Network: keeping {}", self.dir.path().display());
        }
    }
}

/// Sends a CAP LS 302 on a fresh connection; returns the server name (source of
/// the reply) and the capability tokens. Times out after 3 s.
async fn cap_ls(port: u16) -> Result<(String, Vec<String>), String> {
    let probe = async {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
        let (r, mut w) = stream.into_split();
        w.write_all(b"CAP LS 302\r\n").await.map_err(|e| e.to_string())?;
        let mut lines = BufReader::new(r).lines();
        let mut caps = Vec::new();
        while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
            let Some(m) = Message::parse(&line) else { continue };
            if m.command != "CAP" || m.param(1) != Some("LS") {
                continue;
            }
            let more = m.params.len() > 3 && m.param(2) == Some("*");
            caps.extend(m.params.last().into_iter().flat_map(|l| l.split_whitespace().map(str::to_string)));
            if !more {
                let _ = w.write_all(b"QUIT\r\n").await;
                return Ok((m.source.unwrap_or_default(), caps));
            }
        }
        Err("connection closed before CAP LS reply".to_string())
    };
    tokio::time::timeout(Duration::from_secs(3), probe)
        .await
        .unwrap_or_else(|_| Err("no CAP LS reply within 3 s".to_string()))
}

/// Removes temp dirs of earlier test binaries that are gone: the shared network
/// lives in a static and is never dropped, so its dir outlives the run. (Its
/// processes do not: they die with the binary.) Dirs with a `KEEP_MARKER` stay.
fn remove_stale_dirs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let Ok(entries) = fs::read_dir(std::env::temp_dir()) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix(DIR_PREFIX).and_then(|r| r.split('-').next()) else { continue };
            let Ok(pid) = pid.parse::<u32>() else { continue };
            let path = entry.path();
            if pid != std::process::id()
                && !Path::new(&format!("/proc/{pid}")).exists()
                && !path.join(KEEP_MARKER).exists()
            {
                let _ = fs::remove_dir_all(&path);
            }
        }
    });
}

/// Four distinct free ports, the first `preferred` when it is free, the others below the
/// ephemeral range when possible (so outgoing connections of other tests cannot grab them
/// while InspIRCd is down). Never hands out a port twice in one test binary, so another
/// `Network` cannot take the ports of one whose InspIRCd is stopped for a restart.
fn pick_ports(preferred: Option<u16>) -> [u16; 4] {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32768);
    let mut held: Vec<TcpListener> = Vec::new();
    let mut ports = Vec::new();
    if let Some(port) = preferred.filter(|p| !handed_out.contains(p)) {
        if let Ok(l) = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)) {
            ports.push(port);
            held.push(l);
        }
    }
    let mut tries = 0;
    while ports.len() < 4 {
        tries += 1;
        let candidate = if low > 12000 && tries < 200 { fastrand::u16(10000..low - 1000) } else { 0 };
        let Ok(l) = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, candidate)) else {
            continue;
        };
        let port = l.local_addr().expect("local addr").port();
        if !ports.contains(&port) && !handed_out.contains(&port) {
            ports.push(port);
            held.push(l);
        }
    }
    handed_out.extend_from_slice(&ports);
    [ports[0], ports[1], ports[2], ports[3]]
}

fn fastrand_token() -> String {
    std::iter::repeat_with(fastrand::alphanumeric).take(20).collect()
}

/// `$env_var`, else `name` on PATH, else `fallback`; panics if none exists.
fn binary(env_var: &str, name: &str, fallback: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env_var) {
        return PathBuf::from(p);
    }
    find_on_path(name)
        .or_else(|| Some(PathBuf::from(fallback)).filter(|p| p.exists()))
        .unwrap_or_else(|| panic!("{name} not found (PATH, {fallback}); run scripts/install-test-deps"))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()))
}

/// A Command for `program` that never dumps core (InspIRCd with ssl_gnutls segfaults on
/// SIGTERM, and a core file per test run is litter) and dies with the test binary when
/// `setpriv` (util-linux) is available: `sh -c 'ulimit -c 0; exec "$@"' sh setpriv --pdeathsig
/// KILL -- program` (sh and setpriv exec in place, so the child pid is the program's).
fn owned_command(program: &Path) -> Command {
    static SETPRIV: OnceLock<Option<PathBuf>> = OnceLock::new();
    let setpriv = SETPRIV.get_or_init(|| {
        find_on_path("setpriv").or_else(|| Some(PathBuf::from("/usr/bin/setpriv")).filter(|p| p.exists()))
    });
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("ulimit -c 0; exec \"$@\"").arg("sh");
    if let Some(setpriv) = setpriv {
        cmd.arg(setpriv).arg("--pdeathsig").arg("KILL").arg("--");
    }
    cmd.arg(program);
    cmd
}

/// Spawns `cmd` from one thread that lives as long as the test binary. The
/// parent-death signal fires when the *thread* that forked the child exits, so
/// spawning from a test's own thread would kill shared servers after that test.
fn spawn_owned(cmd: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("it-process-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("start process spawner thread");
        tx
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner.send((cmd, reply_tx)).expect("process spawner thread is gone");
    reply_rx.recv().expect("process spawner thread is gone")
}

/// `kill -SIG pid`.
fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .or_else(|_| Command::new("sh").arg("-c").arg(format!("kill -{sig} {pid}")).status());
    if let Err(e) = status {
        panic!("cannot send SIG{sig} to {pid}: {e}");
    }
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The file's contents from byte `offset` on (lossy UTF-8; "" if missing).
fn read_from(path: &Path, offset: u64) -> String {
    use std::io::Seek as _;
    let Ok(mut f) = fs::File::open(path) else {
        return String::new();
    };
    let mut buf = Vec::new();
    if f.seek(io::SeekFrom::Start(offset)).is_ok() {
        let _ = f.read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = read_from(path, 0);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
