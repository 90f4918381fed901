//! The connection layer against the real network: SASL mechanisms Atheme 7.2 has (ECDSA;
//! SCRAM it lacks, so the bot moves on to PLAIN), pinned certificates, STS, and waiting for
//! services after a restart.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::wait_join;
use crate::support::{shared_network, unique, NetOpts, Network, Scene, TestClient, WAIT};
use base64::Engine;
use std::time::Duration;

/// A P-256 key (SEC1 PEM, as `openssl ecparam -name prime256v1 -genkey` writes it).
const BOT_KEY: &str = include_str!("../fixtures/sasl-ecdsa.pem");

/// Waits until the bot's log contains `what` (10 s at most).
async fn wait_log(bot: &BotProcess, what: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while !bot.log_text().contains(what) {
        assert!(std::time::Instant::now() < deadline, "{what:?} not in the log:\n{}", bot.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The SASL success line of the bot's log.
fn success_line(bot: &BotProcess) -> String {
    let log = bot.log_text();
    log.lines().find(|l| l.contains("SASL authentication succeeded")).unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecdsa_nist256p_challenge_logs_in_with_a_key_atheme_knows() {
    let net = shared_network().await;
    let Scene { botnick, mut a, chan, sec, .. } = Scene::new(net, "se").await;
    let public = srebot::testing::irc::sasl::EcdsaKey::from_pem(BOT_KEY).unwrap().public_base64();
    let mut owner = TestClient::connect_sasl(net.port(), &botnick, &botnick, "botpass1").await;
    owner.privmsg("NickServ", &format!("SET PUBKEY {public}")).await;
    owner.expect("NickServ sets the key", WAIT, |l| l.contains("public key is now set")).await;
    owner.quit("key set").await;
    let mut opts = BotOpts::new(net, &botnick);
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("bot.key");
    std::fs::write(&key_file, BOT_KEY).unwrap();
    // No password anywhere: the key is the only way in.
    opts.irc_extra = format!(
        "[irc.sasl]\nmechanisms = [\"ECDSA-NIST256P-CHALLENGE\"]\naccount = \"{botnick}\"\nkey_file = {key_file:?}\n"
    );
    opts.channels = vec![(chan.clone(), "public"), (sec.clone(), "security")];
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    assert!(success_line(&bot).contains("ECDSA-NIST256P-CHALLENGE"), "{}", bot.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_first_falls_back_to_plain_on_atheme_7_2_which_has_no_scram() {
    let net = shared_network().await;
    let Scene { botnick, mut a, sec, .. } = Scene::new(net, "ss").await;
    let mut opts = BotOpts::new(net, &botnick);
    // The whole [irc.sasl] table here (BotOpts::sasl writes `mechanism = "PLAIN"`).
    let pw = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pw.path(), "botpass1\n").unwrap();
    opts.irc_extra = format!(
        "[irc.sasl]\nmechanisms = [\"SCRAM-SHA-256\", \"PLAIN\"]\naccount = \"{botnick}\"\npassword_file = {:?}\n",
        pw.path()
    );
    opts.channels = vec![(sec.clone(), "security")];
    let bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    assert!(success_line(&bot).contains("PLAIN"), "{}", bot.log_text());
}

/// The SHA-256 fingerprint of the network's server certificate, as `sha256:AB:CD:…`.
fn server_fingerprint(net: &Network) -> String {
    let pem = std::fs::read_to_string(net.dir().join("server.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    srebot::testing::irc::transport::fingerprint(&der)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_certificate_is_accepted_without_its_ca_and_any_other_refused() {
    let net = Network::start(NetOpts { tls: true, ..NetOpts::default() }).await;
    let (botnick, alice) = (unique("sp"), unique("al"));
    net.register_account(&alice, "alicepw1").await;
    let chan = format!("#{}", unique("sre"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, "alicepw1").await;
    a.join(&chan).await;

    // Pinned, and the CA that signed it is not trusted: accepted all the same.
    let fingerprint = server_fingerprint(&net);
    let mut opts = BotOpts::new(&net, &botnick);
    opts.port = net.tls_port();
    opts.irc_extra = format!("tls = true\ntls_fingerprints = [{:?}]\n", fingerprint.to_lowercase());
    opts.channels = vec![(chan.clone(), "public")];
    let _bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;

    // Another certificate pinned: refused even though its CA is trusted.
    let other = unique("sp");
    let wrong = format!("sha256:{}", "00".repeat(32));
    let mut opts = BotOpts::new(&net, &other);
    opts.port = net.tls_port();
    opts.irc_extra = format!("tls = true\ntls_ca_file = {:?}\ntls_fingerprints = [{wrong:?}]\n", net.ca_file());
    opts.channels = vec![(chan.clone(), "public")];
    let refusing = BotProcess::start(opts);
    wait_log(&refusing, "connect failed").await;
    let log = refusing.log_text();
    assert!(log.contains("not one of the pinned tls_fingerprints") && log.contains(&fingerprint), "{log}");
    a.assert_silent(Duration::from_secs(1), |l| l.contains(&format!(":{other}!"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_upgrades_to_tls_and_the_policy_outlives_a_restart() {
    let net = Network::start(NetOpts { tls: true, sts: true, ..NetOpts::default() }).await;
    let Scene { botnick, mut a, chan, sec, .. } = Scene::new(&net, "st").await;
    let mut opts = BotOpts::new(&net, &botnick);
    // Plaintext as configured; the CA is there for the upgrade. `localhost`, so that the TLS
    // connection names the host (SNI) and InspIRCd gives it the persistent policy.
    opts.irc_extra = format!("tls_ca_file = {:?}\n", net.ca_file());
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public"), (sec.clone(), "security")];
    let mut bot = BotProcess::create(opts);
    let config =
        std::fs::read_to_string(&bot.config).unwrap().replace("server = \"127.0.0.1\"", "server = \"localhost\"");
    std::fs::write(&bot.config, config).unwrap();
    bot.spawn();
    wait_join(&mut a, &botnick, &sec, WAIT).await;
    wait_log(&bot, "STS policy: TLS only").await;
    let log = bot.log_text();
    let tls_port = format!("port={}", net.tls_port());
    assert!(log.contains(&format!("{tls_port} tls=true")), "{log}");
    let stored: (String, u16) =
        bot.db().query_row("SELECT host, port FROM sts_policy", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(stored, ("localhost".to_string(), net.tls_port()));

    // Restarted, the bot goes straight to TLS: it never opens the plaintext port again.
    bot.terminate(Duration::from_secs(10));
    let before = bot.log_text().len();
    bot.spawn();
    wait_join(&mut a, &botnick, &sec, Duration::from_secs(20)).await;
    let after = bot.log_text()[before..].to_string();
    let connects: Vec<&str> = after.lines().filter(|l| l.contains("connecting")).collect();
    assert!(
        !connects.is_empty() && connects.iter().all(|l| l.contains(&tls_port) && l.contains("tls=true")),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_services_down_the_bot_waits_then_joins_public_channels_and_security_after_sasl() {
    let mut net = Network::start(NetOpts::default()).await;
    let Scene { botnick, mut a, chan, sec, .. } = Scene::new(&net, "sw").await;
    net.stop_services().await;

    let mut opts = BotOpts::new(&net, &botnick);
    opts.sasl = Some((botnick.clone(), "botpass1".into()));
    opts.channels = vec![(chan.clone(), "public"), (sec.clone(), "security")];
    let mut bot = BotProcess::create(opts);
    let config =
        std::fs::read_to_string(&bot.config).unwrap().replace("[irc.timeouts]\n", "[irc.timeouts]\nsasl_wait = 4\n");
    std::fs::write(&bot.config, config).unwrap();
    bot.spawn();
    wait_log(&bot, "registered").await;
    // Not offered: nothing joined for sasl_wait…
    a.assert_silent(Duration::from_secs(3), |l| l.contains(&format!(":{botnick}!")) && l.contains(" JOIN ")).await;
    // …then the public channel, saying why, and not the security one.
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    assert!(bot.log_text().contains("SASL still not offered"), "{}", bot.log_text());
    a.assert_silent(Duration::from_secs(1), |l| l.contains(&format!(":{botnick}!")) && l.contains(&sec)).await;
    // Services back: cap-notify offers SASL, the bot logs in and joins the security channel.
    net.start_services().await;
    wait_log(&bot, "SASL authentication succeeded").await;
    wait_join(&mut a, &botnick, &sec, WAIT).await;
}

/// One connection of a scripted server that asks for SCRAM-SHA-256 and knows `password` for
/// every account: returns what the bot sent after the SASL exchange: CAP END, then its JOINs
/// (those of the second after the first).
async fn scram_server(listener: &tokio::net::TcpListener, password: &str) -> Vec<String> {
    use hmac::Mac;
    use sha2::Digest;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let b64 = base64::engine::general_purpose::STANDARD;
    let mac = |key: &[u8], data: &[u8]| {
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    };
    let (sock, _) = tokio::time::timeout(WAIT, listener.accept()).await.expect("the bot connects").unwrap();
    let (rd, mut wr) = sock.into_split();
    let mut lines = BufReader::new(rd).lines();
    let mut next =
        async || tokio::time::timeout(WAIT, lines.next_line()).await.expect("a line").unwrap().expect("open");
    let mut say = async |l: String| wr.write_all(format!("{l}\r\n").as_bytes()).await.unwrap();
    let (salt, rounds) = (b"irc-salt-1234567".to_vec(), 4096);
    let (mut client_first_bare, mut server_first, mut salted) = (String::new(), String::new(), [0u8; 32]);
    let mut after = Vec::new();
    loop {
        let l = next().await;
        match l.split_once(' ').map_or((l.as_str(), ""), |(c, r)| (c, r)) {
            ("CAP", "LS 302") => say(":irc CAP * LS :sasl=SCRAM-SHA-256".into()).await,
            ("CAP", "REQ sasl") | ("CAP", "REQ :sasl") => say(":irc CAP * ACK :sasl".into()).await,
            ("AUTHENTICATE", "SCRAM-SHA-256") => say("AUTHENTICATE +".into()).await,
            ("AUTHENTICATE", "*") => say(":irc 906 srebot :SASL authentication aborted".into()).await,
            ("AUTHENTICATE", "+") => {
                say(":irc 900 srebot srebot!s@h scramuser :You are now logged in".into()).await;
                say(":irc 903 srebot :SASL authentication successful".into()).await;
            }
            ("AUTHENTICATE", payload) if client_first_bare.is_empty() => {
                let first = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
                client_first_bare = first.strip_prefix("n,,").expect("gs2 header").to_string();
                let nonce = client_first_bare.split(',').find_map(|a| a.strip_prefix("r=")).unwrap();
                server_first = format!("r={nonce}server-nonce,s={},i={rounds}", b64.encode(&salt));
                say(format!("AUTHENTICATE {}", b64.encode(&server_first))).await;
            }
            ("AUTHENTICATE", payload) => {
                let last = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
                let (without_proof, proof) = last.rsplit_once(",p=").unwrap();
                let auth = format!("{client_first_bare},{server_first},{without_proof}");
                pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha256>>(password.as_bytes(), &salt, rounds, &mut salted).unwrap();
                let client_key: Vec<u8> = b64
                    .decode(proof)
                    .unwrap()
                    .iter()
                    .zip(mac(&sha2::Sha256::digest(mac(&salted, b"Client Key")), auth.as_bytes()))
                    .map(|(p, s)| p ^ s)
                    .collect();
                let proof_ok = sha2::Sha256::digest(&client_key) == sha2::Sha256::digest(mac(&salted, b"Client Key"));
                if !proof_ok {
                    // A server that does not know the password, faking success.
                    say(format!("AUTHENTICATE {}", b64.encode("v=bm90LXRoZS1yaWdodC1zaWduYXR1cmUtYXQtYWxsIQ=="))).await;
                    continue;
                }
                let signature = mac(&mac(&salted, b"Server Key"), auth.as_bytes());
                say(format!("AUTHENTICATE {}", b64.encode(format!("v={}", b64.encode(signature))))).await;
            }
            ("CAP", "END") => {
                after.push(l.clone());
                say(":irc 001 srebot :Welcome".into()).await;
                say(":irc 376 srebot :End of MOTD".into()).await;
            }
            ("JOIN", _) => {
                after.push(l.clone());
                while let Ok(Ok(Some(l))) = tokio::time::timeout(Duration::from_secs(1), lines.next_line()).await {
                    if l.starts_with("JOIN ") {
                        after.push(l);
                    }
                }
                return after;
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_256_through_the_real_binary_and_a_server_that_fakes_success_is_refused() {
    // Atheme 7.2 has no SCRAM: a scripted server on 127.0.0.1 plays services' part.
    let net = shared_network().await;
    for server_knows in ["sesame", "notsesame"] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut opts = BotOpts::new(net, "srebot");
        opts.port = listener.local_addr().unwrap().port();
        opts.irc_extra =
            "[irc.sasl]\nmechanisms = [\"SCRAM-SHA-256\"]\naccount = \"scramuser\"\npassword = \"sesame\"\n".into();
        opts.channels = vec![("#scram-pub".into(), "public"), ("#scram-sec".into(), "security")];
        let bot = BotProcess::start(opts);
        let after = scram_server(&listener, server_knows).await;
        if server_knows == "sesame" {
            assert_eq!(after, ["CAP END", "JOIN #scram-pub", "JOIN #scram-sec"]);
            wait_log(&bot, "SASL authentication succeeded").await;
        } else {
            // The forged server signature: aborted, and the security channel stays out.
            assert_eq!(after, ["CAP END", "JOIN #scram-pub"]);
            wait_log(&bot, "server signature is wrong").await;
            assert!(!bot.log_text().contains("SASL authentication succeeded"), "{}", bot.log_text());
        }
        assert!(!bot.log_text().contains("sesame"), "no password in the log");
    }
}
