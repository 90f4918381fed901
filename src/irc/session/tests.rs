use super::super::line::parse;
use super::*;

/// PLAIN for account `srebot`.
pub(crate) fn plain(password: &str) -> SaslLogin {
    let credentials = Credentials { account: "srebot".into(), password: Some(Secret(password.into())), key: None };
    SaslLogin { mechanisms: vec![Mechanism::Plain], credentials }
}

pub(crate) fn settings(sasl: bool) -> Settings {
    Settings {
        nick: "srebot".into(),
        alt_nicks: vec!["srebot_".into()],
        username: "srebot".into(),
        realname: "srebot test".into(),
        sasl: sasl.then(|| plain("s3cret-pw")),
        channels: vec![
            JoinTarget { name: "#sre".into(), key: None, security: false },
            JoinTarget { name: "#sre-security".into(), key: Some(Secret("k3y".into())), security: true },
        ],
        ping_interval: Duration::from_secs(90),
        ping_timeout: Duration::from_secs(60),
        register_timeout: Duration::from_secs(90),
        rejoin: Duration::from_secs(30),
        rejoin_max: Duration::from_secs(300),
        nick_regain: Duration::from_secs(60),
        sasl_wait: Duration::from_secs(30),
        version: "srebot 0.1.0".into(),
    }
}

struct Harness {
    s: Session,
    now: Instant,
}

impl Harness {
    fn new(sasl: bool) -> Harness {
        let now = Instant::now();
        Harness { s: Session::new(Arc::new(settings(sasl)), Arc::default(), now), now }
    }
    fn feed(&mut self, raw: &str) -> Vec<Action> {
        self.s.on_line(&parse(raw).unwrap(), self.now, Utc::now())
    }
    fn sent(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(l) | Action::SendUrgent(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }
    fn register(&mut self) -> Vec<Action> {
        let mut all = self.feed(":irc 001 srebot :Welcome");
        all.extend(self.feed(":irc 005 srebot CASEMAPPING=rfc1459 WHOX BOT=B TOPICLEN=300 :are supported"));
        all.extend(self.feed(":irc 376 srebot :End of MOTD"));
        all
    }
}

#[test]
fn full_sasl_registration() {
    let mut h = Harness::new(true);
    let start = Harness::sent(&h.s.start());
    assert_eq!(start, vec!["CAP LS 302", "NICK srebot", "USER srebot 0 * :srebot test"]);
    assert!(h.feed(":irc CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL").is_empty());
    let req = Harness::sent(&h.feed(":irc CAP * LS :account-tag server-time away-notify extended-join"));
    assert_eq!(req, vec!["CAP REQ :sasl account-tag extended-join server-time multi-prefix"]);
    let auth = Harness::sent(&h.feed(":irc CAP * ACK :sasl account-tag extended-join server-time multi-prefix"));
    assert_eq!(auth, vec!["AUTHENTICATE PLAIN"]);
    let payload = Harness::sent(&h.feed("AUTHENTICATE +"));
    let expected = base64::engine::general_purpose::STANDARD.encode("srebot\0srebot\0s3cret-pw");
    assert_eq!(payload, vec![format!("AUTHENTICATE {expected}")]);
    h.feed(":irc 900 srebot srebot!srebot@127.0.0.1 srebot :You are now logged in as srebot");
    assert_eq!(Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful")), vec!["CAP END"]);
    let ready = Harness::sent(&h.register());
    assert_eq!(ready, vec!["MODE srebot +B", "JOIN #sre", "JOIN #sre-security k3y"]);
    assert!(h.s.is_ready());
}

/// SASL configured, registered on a server that did not offer it (services not linked).
fn registered_before_services() -> Harness {
    let mut h = Harness::new(true);
    h.s.start();
    h.feed(":irc CAP * LS :multi-prefix");
    h.feed(":irc CAP * ACK :multi-prefix");
    h.register();
    h
}

/// SASL failed, and the reason says each of `words`.
fn assert_failed(h: &Harness, words: &[&str]) {
    let state = h.s.sasl_state();
    assert!(matches!(state, SaslState::Failed(why) if words.iter().all(|w| why.contains(w))), "{state:?}");
}

fn with_mechanisms(mechanisms: &[Mechanism]) -> Harness {
    let mut settings = settings(true);
    let login = settings.sasl.as_mut().unwrap();
    login.mechanisms = mechanisms.to_vec();
    login.credentials.key = Some(super::super::sasl::EcdsaKey::from_pem(super::super::sasl::tests::TEST_KEY).unwrap());
    let now = Instant::now();
    Harness { s: Session::new(Arc::new(settings), Arc::default(), now), now }
}

#[test]
fn only_mechanisms_the_server_lists_are_tried() {
    // CAP 302 says EXTERNAL only; we have PLAIN: no sasl request, no AUTHENTICATE at all.
    let mut h = Harness::new(true);
    h.s.start();
    let sent = Harness::sent(&h.feed(":irc CAP * LS :sasl=EXTERNAL multi-prefix"));
    assert_eq!(sent, vec!["CAP REQ :sasl multi-prefix"]);
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl multi-prefix")), vec!["CAP END"]);
    assert_failed(&h, &["EXTERNAL", "none of ours (PLAIN)"]);
    // A definite answer: the public channels at once, never the security one.
    assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre"]);
    // Nothing of ours at all and nothing else wanted: the ACK gets CAP END, no AUTHENTICATE.
    let mut h = Harness::new(true);
    h.s.start();
    assert_eq!(Harness::sent(&h.feed(":irc CAP * LS :sasl=EXTERNAL,ECDSA-NIST256P-CHALLENGE")), vec!["CAP REQ sasl"]);
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["CAP END"]);
}

#[test]
fn mechanisms_are_tried_in_our_order_moving_on_after_904() {
    let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::EcdsaNist256pChallenge, Mechanism::Plain]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl=PLAIN,SCRAM-SHA-256");
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE SCRAM-SHA-256"]);
    let first = Harness::sent(&h.feed("AUTHENTICATE +"));
    assert!(first[0].starts_with("AUTHENTICATE "), "{first:?}");
    // Refused (say, no SCRAM secret stored for the account): ECDSA was not offered, PLAIN next.
    assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["AUTHENTICATE PLAIN"]);
    let expected = base64::engine::general_purpose::STANDARD.encode("srebot\0srebot\0s3cret-pw");
    assert_eq!(Harness::sent(&h.feed("AUTHENTICATE +")), vec![format!("AUTHENTICATE {expected}")]);
    assert_eq!(Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful")), vec!["CAP END"]);
    assert_eq!(h.s.sasl_state(), &SaslState::Succeeded("srebot".into()));
    // The last one refused too: failed, CAP END, with every reason in the log line.
    let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::Plain]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl=PLAIN,SCRAM-SHA-256");
    h.feed(":irc CAP * ACK :sasl");
    h.feed(":irc 904 srebot :SASL authentication failed");
    assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["CAP END"]);
    assert_failed(&h, &["904", "PLAIN"]);
}

#[test]
fn a_908_list_is_read_and_mechanisms_it_lacks_are_skipped() {
    // No list in CAP LS (CAP 301-style `sasl`): we start with our first; the server answers
    // 908 with what it has, then 904.
    let mut h = with_mechanisms(&[Mechanism::EcdsaNist256pChallenge, Mechanism::ScramSha256, Mechanism::Plain]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl");
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE ECDSA-NIST256P-CHALLENGE"]);
    assert!(h.feed(":irc 908 srebot PLAIN,EXTERNAL :are available SASL mechanisms").is_empty());
    assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["AUTHENTICATE PLAIN"]);
    // And when the list has none of ours left: failed, saying what the server has.
    let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::EcdsaNist256pChallenge]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl");
    h.feed(":irc CAP * ACK :sasl");
    h.feed(":irc 908 srebot PLAIN,EXTERNAL :are available SASL mechanisms");
    assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["CAP END"]);
    assert_failed(&h, &["server offers: PLAIN,EXTERNAL"]);
}

/// The server's side of SCRAM-SHA-256 for `password`, salt and rounds fixed: from the
/// client-first message, the server-first; from the client-final, whether the proof is
/// right and the server-final.
struct ScramServer {
    password: &'static str,
    auth: String,
    nonce: String,
}

impl ScramServer {
    const SALT: &'static [u8] = b"pepper-and-salt!";
    fn first(&mut self, client_first: &str) -> String {
        let bare = client_first.strip_prefix("n,,").unwrap();
        let client_nonce = bare.split(',').find_map(|a| a.strip_prefix("r=")).unwrap();
        self.nonce = format!("{client_nonce}srv0nce");
        let salt = base64::engine::general_purpose::STANDARD.encode(Self::SALT);
        let first = format!("r={},s={salt},i=4096", self.nonce);
        self.auth = format!("{bare},{first}");
        first
    }
    fn last(&self, client_final: &str) -> (bool, String) {
        use hmac::Mac;
        use sha2::Digest;
        let mac = |k: &[u8], d: &[u8]| {
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(k).unwrap();
            m.update(d);
            m.finalize().into_bytes().to_vec()
        };
        let (without_proof, proof) = client_final.rsplit_once(",p=").unwrap();
        let auth = format!("{},{without_proof}", self.auth);
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha256>>(self.password.as_bytes(), Self::SALT, 4096, &mut salted).unwrap();
        let client_key = mac(&salted, b"Client Key");
        let stored = sha2::Sha256::digest(&client_key);
        let signature = mac(&stored, auth.as_bytes());
        let proof = base64::engine::general_purpose::STANDARD.decode(proof).unwrap();
        let recovered: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let ok =
            sha2::Sha256::digest(&recovered)[..] == stored[..] && without_proof == format!("c=biws,r={}", self.nonce);
        let server = mac(&mac(&salted, b"Server Key"), auth.as_bytes());
        (ok, format!("v={}", base64::engine::general_purpose::STANDARD.encode(server)))
    }
}

fn decoded(line: &str) -> String {
    let b64 = line.strip_prefix("AUTHENTICATE ").unwrap();
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
}

fn encoded(text: &str) -> String {
    format!("AUTHENTICATE {}", base64::engine::general_purpose::STANDARD.encode(text))
}

#[test]
fn scram_sha_256_login_checks_the_server_signature() {
    let mut h = with_mechanisms(&[Mechanism::ScramSha256]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl=SCRAM-SHA-256");
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE SCRAM-SHA-256"]);
    let mut server = ScramServer { password: "s3cret-pw", auth: String::new(), nonce: String::new() };
    let client_first = decoded(&Harness::sent(&h.feed("AUTHENTICATE +"))[0]);
    assert!(client_first.starts_with("n,,n=srebot,r="), "{client_first}");
    let client_final = decoded(&Harness::sent(&h.feed(&encoded(&server.first(&client_first))))[0]);
    assert!(!client_final.contains("s3cret-pw"));
    let (proof_ok, server_final) = server.last(&client_final);
    assert!(proof_ok, "the client's proof verifies: {client_final}");
    assert_eq!(Harness::sent(&h.feed(&encoded(&server_final))), vec!["AUTHENTICATE +"]);
    assert_eq!(Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful")), vec!["CAP END"]);
    assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre", "JOIN #sre-security k3y"]);

    // A server that does not know the password cannot fake the signature: we abort, and
    // the 906 that follows does not make us try anything else.
    let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::Plain]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl=SCRAM-SHA-256,PLAIN");
    h.feed(":irc CAP * ACK :sasl");
    let mut impostor = ScramServer { password: "guessed", auth: String::new(), nonce: String::new() };
    let client_first = decoded(&Harness::sent(&h.feed("AUTHENTICATE +"))[0]);
    let client_final = decoded(&Harness::sent(&h.feed(&encoded(&impostor.first(&client_first))))[0]);
    let (proof_ok, forged) = impostor.last(&client_final);
    assert!(!proof_ok);
    assert_eq!(Harness::sent(&h.feed(&encoded(&forged))), vec!["AUTHENTICATE *"]);
    assert_eq!(Harness::sent(&h.feed(":irc 906 srebot :SASL authentication aborted")), vec!["CAP END"]);
    assert_failed(&h, &["906", "server signature"]);
    assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre"]);
}

#[test]
fn an_exchange_the_server_aborts_fails_without_retrying() {
    let mut h = with_mechanisms(&[Mechanism::ScramSha256, Mechanism::Plain]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl=SCRAM-SHA-256,PLAIN");
    h.feed(":irc CAP * ACK :sasl");
    h.feed("AUTHENTICATE +");
    assert_eq!(Harness::sent(&h.feed(":irc 906 srebot :SASL authentication aborted")), vec!["CAP END"]);
    assert_failed(&h, &["906"]);
    // A challenge that is not base64 is answered with an abort, not a panic.
    let mut h = with_mechanisms(&[Mechanism::ScramSha256]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl");
    h.feed(":irc CAP * ACK :sasl");
    h.feed("AUTHENTICATE +");
    assert_eq!(Harness::sent(&h.feed("AUTHENTICATE %%%")), vec!["AUTHENTICATE *"]);
}

#[test]
fn ecdsa_login_sends_the_account_then_the_signed_challenge() {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let mut h = with_mechanisms(&[Mechanism::EcdsaNist256pChallenge]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl=ECDSA-NIST256P-CHALLENGE,PLAIN");
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE ECDSA-NIST256P-CHALLENGE"]);
    assert_eq!(Harness::sent(&h.feed("AUTHENTICATE +")), vec![encoded("srebot")]);
    let challenge = [42u8; 32];
    let b64 = base64::engine::general_purpose::STANDARD.encode(challenge);
    let signed = Harness::sent(&h.feed(&format!("AUTHENTICATE {b64}")));
    let der =
        base64::engine::general_purpose::STANDARD.decode(signed[0].strip_prefix("AUTHENTICATE ").unwrap()).unwrap();
    let key = super::super::sasl::EcdsaKey::from_pem(super::super::sasl::tests::TEST_KEY).unwrap();
    let public = base64::engine::general_purpose::STANDARD.decode(key.public_base64()).unwrap();
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public).unwrap();
    verifying.verify_prehash(&challenge, &p256::ecdsa::Signature::from_der(&der).unwrap()).unwrap();
}

#[test]
fn a_challenge_in_400_byte_pieces_is_put_together() {
    let mut h = with_mechanisms(&[Mechanism::ScramSha256]);
    h.s.start();
    h.feed(":irc CAP * LS :sasl");
    h.feed(":irc CAP * ACK :sasl");
    let client_first = decoded(&Harness::sent(&h.feed("AUTHENTICATE +"))[0]);
    let nonce = client_first.rsplit_once("r=").unwrap().1;
    // A long server nonce makes the server-first message longer than one piece.
    let server_first = format!("r={nonce}{},s=cGVwcGVy,i=4096", "x".repeat(600));
    let b64 = base64::engine::general_purpose::STANDARD.encode(&server_first);
    let pieces = sasl_chunks(&b64);
    assert!(pieces.len() >= 3);
    for p in &pieces[..pieces.len() - 1] {
        assert!(h.feed(&format!("AUTHENTICATE {p}")).is_empty(), "waits for the rest");
    }
    let sent = Harness::sent(&h.feed(&format!("AUTHENTICATE {}", pieces.last().unwrap())));
    assert!(decoded(&sent[0]).starts_with(&format!("c=biws,r={nonce}xxx")), "{sent:?}");
}

#[test]
fn sts_on_plaintext_upgrades_at_once_and_on_tls_is_a_policy() {
    let mut h = Harness::new(true);
    h.s.start();
    let out = h.feed(":irc CAP * LS :sasl sts=port=6697,duration=300 multi-prefix");
    assert_eq!(out, vec![Action::UpgradeToTls { port: 6697 }], "no REQ, no SASL, no CAP END");
    // Over TLS: the policy to keep, and registration goes on as usual.
    let mut h = Harness::new(true);
    h.s.set_tls(true);
    h.s.start();
    let out = h.feed(":irc CAP * LS :sasl sts=duration=300,preload multi-prefix");
    assert_eq!(out[0], Action::StsPolicy { duration: Duration::from_secs(300) });
    assert_eq!(Harness::sent(&out), vec!["CAP REQ :sasl multi-prefix"]);
    let mut h = Harness::new(false);
    h.s.set_tls(true);
    h.s.start();
    assert_eq!(h.feed(":irc CAP * LS :sts=duration=0")[0], Action::StsPolicy { duration: Duration::ZERO });
    // In plaintext without a port the offer cannot be followed: ignored.
    let mut h = Harness::new(false);
    h.s.start();
    assert_eq!(Harness::sent(&h.feed(":irc CAP * LS :sts=duration=300")), vec!["CAP END"]);
}

#[test]
fn new_channels_are_joined_and_removed_ones_parted_without_reconnecting() {
    let mut h = Harness::new(false);
    h.s.start();
    h.register();
    h.feed(":srebot!s@h JOIN #sre");
    let mut next = settings(false);
    next.channels = vec![
        JoinTarget { name: "#SRE-security".into(), key: Some(Secret("k3y".into())), security: true },
        JoinTarget { name: "#ops".into(), key: None, security: false },
    ];
    let out = Harness::sent(&h.s.set_channels(Arc::new(next), "removed from srebot's config", h.now));
    assert_eq!(out, vec!["PART #sre :removed from srebot's config", "JOIN #ops"]);
    h.feed(":srebot!s@h PART #sre :removed");
    assert!(Harness::sent(&h.s.on_tick(h.now + Duration::from_secs(120))).iter().all(|l| !l.contains("#sre ")));
}

#[test]
fn sasl_failure_skips_security_channels() {
    let mut h = Harness::new(true);
    h.s.start();
    h.feed(":irc CAP * LS :sasl");
    h.feed(":irc CAP * ACK :sasl");
    h.feed("AUTHENTICATE +");
    h.feed(":irc 908 srebot PLAIN,EXTERNAL :are available SASL mechanisms");
    assert_eq!(Harness::sent(&h.feed(":irc 904 srebot :SASL authentication failed")), vec!["CAP END"]);
    assert!(
        matches!(h.s.sasl_state(), SaslState::Failed(why) if why.contains("904") && why.contains("PLAIN,EXTERNAL"))
    );
    let joins = Harness::sent(&h.register());
    assert_eq!(joins, vec!["MODE srebot +B", "JOIN #sre"]);
    // A security channel added by a reload waits for SASL too; a public one is joined.
    let mut next = settings(true);
    next.channels.push(JoinTarget { name: "#sec2".into(), key: None, security: true });
    next.channels.push(JoinTarget { name: "#ops".into(), key: None, security: false });
    assert_eq!(Harness::sent(&h.s.set_channels(Arc::new(next), "bye", h.now)), vec!["JOIN #ops"]);
}

#[test]
fn no_sasl_offered_waits_for_services_then_joins_public_channels_only() {
    let mut h = Harness::new(true);
    h.s.start();
    assert_eq!(Harness::sent(&h.feed(":irc CAP * LS :multi-prefix")), vec!["CAP REQ multi-prefix"]);
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :multi-prefix")), vec!["CAP END"]);
    assert!(matches!(h.s.sasl_state(), SaslState::Failed(_)));
    // Services not linked yet (a server restart): no channel at all for sasl_wait.
    assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B"]);
    h.now += Duration::from_secs(29);
    // Meanwhile we ask whether SASL is there now (no CAP NEW from some servers).
    assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["CAP LS 302"]);
    assert!(h.feed(":irc CAP srebot LS :multi-prefix").is_empty(), "still not");
    h.now += Duration::from_secs(1);
    assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["JOIN #sre"], "then the public ones");
    // Services link later and offer SASL (cap-notify): we log in, then join the rest.
    assert_eq!(Harness::sent(&h.feed(":irc CAP srebot NEW :sasl")), vec!["CAP REQ sasl"]);
    assert_eq!(Harness::sent(&h.feed(":irc CAP srebot ACK :sasl")), vec!["AUTHENTICATE PLAIN"]);
    h.feed("AUTHENTICATE +");
    let after = Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful"));
    assert_eq!(after, vec!["JOIN #sre-security k3y"]);

    // Services come back within the wait: nothing is joined before the login, then all.
    let mut h = Harness::new(true);
    h.s.start();
    h.feed(":irc CAP * LS :multi-prefix");
    h.feed(":irc CAP * ACK :multi-prefix");
    assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B"]);
    h.now += Duration::from_secs(5);
    assert!(Harness::sent(&h.s.on_tick(h.now)).is_empty());
    h.feed(":irc CAP srebot NEW :sasl=PLAIN");
    h.feed(":irc CAP srebot ACK :sasl");
    h.feed("AUTHENTICATE +");
    let after = Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful"));
    assert_eq!(after, vec!["JOIN #sre", "JOIN #sre-security k3y"]);
    // A SASL failure ends the wait at once: public channels, not the security one.
    let mut h = registered_before_services();
    h.feed(":irc CAP srebot NEW :sasl");
    h.feed(":irc CAP srebot ACK :sasl");
    h.feed("AUTHENTICATE +");
    h.feed(":irc 904 srebot :SASL authentication failed");
    assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["JOIN #sre"]);
    // Services back without a CAP NEW: our next CAP LS finds SASL, we log in, then join.
    let mut h = registered_before_services();
    h.now += SASL_RECHECK;
    assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["CAP LS 302"]);
    assert_eq!(Harness::sent(&h.feed(":irc CAP srebot LS :multi-prefix sasl=PLAIN,EXTERNAL")), vec!["CAP REQ sasl"]);
    assert_eq!(Harness::sent(&h.feed(":irc CAP srebot ACK :sasl")), vec!["AUTHENTICATE PLAIN"]);
    h.feed("AUTHENTICATE +");
    let after = Harness::sent(&h.feed(":irc 903 srebot :SASL authentication successful"));
    assert_eq!(after, vec!["JOIN #sre", "JOIN #sre-security k3y"]);
    h.now += SASL_RECHECK * 2;
    assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"CAP LS 302".to_string()), "no more asking");
    // Without services at all: asked again less and less often, at most every 5 minutes.
    let mut h = registered_before_services();
    let mut asked = Vec::new();
    for second in 1..=1200 {
        h.now += Duration::from_secs(1);
        h.feed("PING :alive"); // the link is fine
        if Harness::sent(&h.s.on_tick(h.now)).contains(&"CAP LS 302".to_string()) {
            asked.push(second);
            h.feed(":irc CAP srebot LS :multi-prefix");
        }
    }
    assert_eq!(asked, vec![10, 30, 70, 150, 310, 610, 910]);
    // A server that refuses SASL after registration (InspIRCd 3): reconnect to log in then.
    let mut h = registered_before_services();
    h.now += SASL_RECHECK;
    h.s.on_tick(h.now);
    h.feed(":irc CAP srebot LS :sasl=PLAIN");
    h.feed(":irc CAP srebot ACK :sasl");
    let refused = h.feed(":irc 904 srebot :SASL authentication failed");
    assert!(matches!(&refused[..], [Action::Disconnect(why)] if why.contains("904")), "{refused:?}");
}

#[test]
fn sasl_offered_late_during_registration_still_ends_cap() {
    let mut h = Harness::new(true);
    h.s.start();
    h.feed(":irc CAP * LS :multi-prefix");
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :multi-prefix")), vec!["CAP END"]);
    // Services link before 001: the new REQ reopens negotiation, so CAP END must follow again.
    assert_eq!(Harness::sent(&h.feed(":irc CAP * NEW :sasl")), vec!["CAP REQ sasl"]);
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE PLAIN"]);
    h.feed("AUTHENTICATE +");
    assert_eq!(Harness::sent(&h.feed(":irc 903 * :SASL authentication successful")), vec!["CAP END"]);
    assert!(matches!(h.s.sasl_state(), SaslState::Succeeded(_)));
}

#[test]
fn sasl_chunking() {
    assert_eq!(sasl_chunks(&"a".repeat(399)), vec!["a".repeat(399)]);
    assert_eq!(sasl_chunks(&"a".repeat(400)), vec!["a".repeat(400), "+".into()]);
    assert_eq!(sasl_chunks(&"a".repeat(801)), vec!["a".repeat(400), "a".repeat(400), "a".into()]);
    assert_eq!(sasl_chunks(""), vec!["+"]);
}

#[test]
fn nick_collision_uses_alt_nicks_then_regains() {
    let mut h = Harness::new(false);
    h.s.start();
    assert_eq!(Harness::sent(&h.feed(":irc 433 * srebot :Nickname is already in use")), vec!["NICK srebot_"]);
    let third = Harness::sent(&h.feed(":irc 433 * srebot_ :Nickname is already in use"));
    assert!(third[0].starts_with("NICK srebot") && third[0].len() > "NICK srebot_".len() - 1, "{third:?}");
    h.feed(":irc 001 srebot_ :Welcome");
    assert_eq!(h.s.nick(), "srebot_");
    // The holder of our nick quits: take it at once.
    assert_eq!(Harness::sent(&h.feed(":srebot!x@y QUIT :bye")), vec!["NICK srebot"]);
    h.feed(":srebot_!srebot@host NICK srebot");
    assert_eq!(h.s.nick(), "srebot");
}

#[test]
fn periodic_regain_while_on_alt_nick() {
    let mut h = Harness::new(false);
    h.s.start();
    h.feed(":irc 433 * srebot :in use");
    h.feed(":irc 001 srebot_ :Welcome");
    h.feed(":irc 376 srebot_ :End");
    h.now += Duration::from_secs(61);
    let sent = Harness::sent(&h.s.on_tick(h.now));
    assert!(sent.contains(&"NICK srebot".to_string()), "{sent:?}");
    assert!(h.feed(":irc 433 srebot_ srebot :in use").is_empty());
}

#[test]
fn join_refusals_back_off_and_kick_rejoins() {
    let mut h = Harness::new(false);
    h.register();
    h.feed(":irc 474 srebot #sre :Cannot join channel (+b)");
    h.now += Duration::from_secs(29);
    assert!(!Harness::sent(&h.s.on_tick(h.now)).iter().any(|l| l.starts_with("JOIN #sre")));
    h.now += Duration::from_secs(2);
    assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()));
    h.feed(":irc 474 srebot #sre :Cannot join channel (+b)");
    h.now += Duration::from_secs(31);
    assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "second refusal waits 60 s");
    h.now += Duration::from_secs(30);
    assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()));
    let joined = h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
    assert!(Harness::sent(&joined).contains(&"WHO #sre %tuhnairf,152".to_string()));
    h.feed(":irc 332 srebot #sre :Welcome | SRE Clinic Duty: none");
    h.feed(":irc 353 srebot = #sre :@srebot alice");
    let done = h.feed(":irc 366 srebot #sre :End of /NAMES list.");
    let topic = "Welcome | SRE Clinic Duty: none".to_string();
    assert_eq!(done, vec![Action::Event(Event::Joined { channel: "#sre".into(), topic, opped: true })]);
    h.feed(":op!o@h KICK #sre srebot :out");
    h.now += Duration::from_secs(31);
    assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()));
}

#[test]
fn topic_and_operator_status() {
    let mut h = Harness::new(false);
    h.register();
    h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
    h.feed(":irc 353 srebot = #sre :srebot @alice");
    assert_eq!(
        h.feed(":irc 366 srebot #sre :End"),
        vec![Action::Event(Event::Joined { channel: "#sre".into(), topic: String::new(), opped: false })]
    );
    let ev = h.feed(":alice!a@h TOPIC #sre :new topic");
    let topic =
        Event::Topic { channel: "#sre".into(), topic: "new topic".into(), setter: "alice".into(), by_us: false };
    assert_eq!(ev, vec![Action::Event(topic)]);
    // +b takes a parameter, +n none, -v one: our +o is found in the middle.
    let ev = h.feed(":alice!a@h MODE #sre +bnov x!*@* srebot alice");
    assert_eq!(ev, vec![Action::Event(Event::Opped { channel: "#sre".into(), opped: true })]);
    assert!(h.feed(":alice!a@h MODE #sre +o alice").is_empty());
    let ev = h.feed(":alice!a@h MODE #sre -o srebot");
    assert_eq!(ev, vec![Action::Event(Event::Opped { channel: "#sre".into(), opped: false })]);
    let ev = h.feed(":irc 482 srebot #sre :You must be a channel operator");
    assert_eq!(ev, vec![Action::Event(Event::TopicRefused { channel: "#sre".into(), retry_later: false })]);
    let ev = h.feed(":irc 437 srebot #sre :Retry topic change later");
    assert_eq!(ev, vec![Action::Event(Event::TopicRefused { channel: "#sre".into(), retry_later: true })]);
    let long = "é".repeat(400);
    let line = h.s.render_topic("#sre", &long);
    let relayed = format!(":srebot!~srebot@127.0.0.1 {line}\r\n");
    assert!(relayed.len() <= 512 && relayed.len() > 500, "{}", relayed.len());
    assert!(line.starts_with("TOPIC #sre é"), "{line}");
}

#[test]
fn ping_pong_and_dead_link() {
    let mut h = Harness::new(false);
    h.register();
    assert_eq!(Harness::sent(&h.feed("PING :abc")), vec!["PONG abc"]);
    // 180 bytes of invalid UTF-8 decode to 540 bytes of U+FFFD: the answer still fits.
    let lossy = String::from_utf8_lossy(&[0xbf; 180]).into_owned();
    let pong = Harness::sent(&h.feed(&format!("PING {lossy}")));
    assert!(pong[0].starts_with("PONG ") && pong[0].len() + 2 <= 512, "{} bytes", pong[0].len());
    h.feed(":srebot!s@h JOIN #sre");
    h.feed(":srebot!s@h JOIN #sre-security");
    h.now += Duration::from_secs(91);
    assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["PING srebot"]);
    h.now += Duration::from_secs(61);
    assert!(matches!(h.s.on_tick(h.now).as_slice(), [Action::Disconnect(_)]));
}

#[test]
fn messages_carry_accounts_from_tags_or_whox() {
    let mut h = Harness::new(false);
    h.feed(":irc CAP * ACK :account-tag");
    h.register();
    let ev = h.feed("@account=alice;time=2026-11-22T10:00:00.000Z :Al!a@sre/alice PRIVMSG #sre :!log hi");
    let Action::Event(Event::Message(m)) = &ev[0] else { panic!("{ev:?}") };
    assert_eq!(m.sender.account.as_deref(), Some("alice"));
    assert_eq!(m.channel.as_deref(), Some("#sre"));
    assert_eq!(m.time.to_rfc3339(), "2026-11-22T10:00:00+00:00");
    let ev = h.feed(":bob!b@h PRIVMSG srebot :!log private");
    let Action::Event(Event::Message(m)) = &ev[0] else { panic!() };
    assert_eq!(m.sender.account, None);
    assert_eq!(m.channel, None);

    // Without account-tag: from the roster, filled by WHOX.
    let mut h = Harness::new(false);
    h.register();
    h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
    h.feed(":irc 353 srebot = #sre :@carol srebot");
    h.feed(":irc 354 srebot 152 c 127.0.0.1 host carol H@ carolacct :Carol");
    let ev = h.feed(":carol!c@host PRIVMSG #sre :!log x");
    let Action::Event(Event::Message(m)) = &ev[0] else { panic!() };
    assert_eq!(m.sender.account.as_deref(), Some("carolacct"));
    h.feed(":carol!c@host ACCOUNT *");
    let ev = h.feed(":carol!c@host PRIVMSG #sre :!log x");
    let Action::Event(Event::Message(m)) = &ev[0] else { panic!() };
    assert_eq!(m.sender.account, None);
}

#[test]
fn ignores_echoes_notices_and_channel_noise_but_answers_ctcp_version() {
    let mut h = Harness::new(false);
    h.register();
    assert!(h.feed(":srebot!s@h PRIVMSG #sre :!log echo").is_empty());
    assert!(h.feed(":a!b@c NOTICE #sre :!log notice").is_empty());
    assert!(h.feed(":irc.server NOTICE * :*** Looking up").is_empty());
    assert!(h.feed(":a!b@c PRIVMSG @#sre :!log statusmsg").is_empty());
    assert!(h.feed(":a!b@c PRIVMSG #sre :\x01ACTION waves\x01").is_empty());
    let v = Harness::sent(&h.feed(":a!b@c PRIVMSG srebot :\x01VERSION\x01"));
    assert_eq!(v, vec!["NOTICE a :\x01VERSION srebot 0.1.0\x01"]);
    assert!(h.feed(":a!b@c PRIVMSG srebot :\x01PING 1\x01").is_empty(), "rate-limited");
}

#[test]
fn regains_the_nick_after_a_forced_rename() {
    let mut h = Harness::new(false);
    h.register();
    // Services (or a collision) rename us after registration.
    assert!(h.feed(":srebot!~srebot@127.0.0.1 NICK Guest4711").is_empty());
    assert_eq!(h.s.nick(), "Guest4711");
    h.now += Duration::from_secs(59);
    assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"NICK srebot".to_string()), "not before nick_regain");
    h.now += Duration::from_secs(2);
    assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"NICK srebot".to_string()));
    // Refused (held by services): tried again a period later, not at every tick.
    h.feed(":irc 433 Guest4711 srebot :Nickname is already in use");
    h.now += Duration::from_secs(1);
    assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"NICK srebot".to_string()));
    h.now += Duration::from_secs(60);
    assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"NICK srebot".to_string()));
    h.feed(":Guest4711!~srebot@127.0.0.1 NICK srebot");
    assert_eq!(h.s.nick(), "srebot");
    h.now += Duration::from_secs(120);
    assert!(!Harness::sent(&h.s.on_tick(h.now)).iter().any(|l| l.starts_with("NICK")), "no regain once back");
}

/// A session that has sent `AUTHENTICATE PLAIN` and had the server's `+`.
fn authenticating(h: &mut Harness) {
    h.s.start();
    h.feed(":irc CAP * LS :sasl");
    h.feed(":irc CAP * ACK :sasl");
    h.feed("AUTHENTICATE +");
    assert_eq!(h.s.sasl_state(), &SaslState::Authenticating);
}

#[test]
fn sasl_failures_902_904_905_906_keep_security_channels_out() {
    for code in ["902", "904", "905", "906"] {
        let mut h = Harness::new(true);
        authenticating(&mut h);
        let end = Harness::sent(&h.feed(&format!(":irc {code} srebot :SASL says no")));
        assert_eq!(end, vec!["CAP END"], "{code}");
        assert!(matches!(h.s.sasl_state(), SaslState::Failed(why) if why.starts_with(code)), "{code}");
        assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre"], "{code}");
    }
}

#[test]
fn sasl_907_already_authenticated_counts_as_success() {
    let mut h = Harness::new(true);
    authenticating(&mut h);
    let end = Harness::sent(&h.feed(":irc 907 srebot :You have already authenticated using SASL"));
    assert_eq!(end, vec!["CAP END"]);
    assert_eq!(h.s.sasl_state(), &SaslState::Succeeded("srebot".into()));
    assert_eq!(Harness::sent(&h.register()), vec!["MODE srebot +B", "JOIN #sre", "JOIN #sre-security k3y"]);
    // A late 907 (services relinked, cap-notify, we asked again) joins what waited.
    let mut h = registered_before_services();
    h.feed(":irc CAP srebot NEW :sasl");
    h.feed(":irc CAP srebot ACK :sasl");
    h.feed("AUTHENTICATE +");
    let joins = Harness::sent(&h.feed(":irc 907 srebot :You have already authenticated using SASL"));
    assert_eq!(joins, vec!["JOIN #sre", "JOIN #sre-security k3y"]);
}

#[test]
fn long_sasl_plain_payload_goes_in_400_byte_chunks_then_plus() {
    // "srebot\0srebot\0" is 14 bytes: a 586-byte password makes 600 bytes, 800 in base64.
    let password = "p".repeat(586);
    let mut settings = settings(true);
    settings.sasl = Some(plain(&password));
    let now = Instant::now();
    let mut h = Harness { s: Session::new(Arc::new(settings), Arc::default(), now), now };
    h.s.start();
    h.feed(":irc CAP * LS :sasl");
    assert_eq!(Harness::sent(&h.feed(":irc CAP * ACK :sasl")), vec!["AUTHENTICATE PLAIN"]);
    let sent = Harness::sent(&h.feed("AUTHENTICATE +"));
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("srebot\0srebot\0{password}"));
    assert_eq!(encoded.len(), 800);
    assert_eq!(
        sent,
        vec![
            format!("AUTHENTICATE {}", &encoded[..400]),
            format!("AUTHENTICATE {}", &encoded[400..]),
            "AUTHENTICATE +".to_string()
        ]
    );
    // One byte more of password: the last piece is short, and no `+` follows.
    let mut settings = super::tests::settings(true);
    settings.sasl = Some(plain(&"p".repeat(590)));
    let mut h = Harness { s: Session::new(Arc::new(settings), Arc::default(), now), now };
    h.s.start();
    h.feed(":irc CAP * LS :sasl");
    h.feed(":irc CAP * ACK :sasl");
    let sent = Harness::sent(&h.feed("AUTHENTICATE +"));
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().take(2).all(|l| l.len() == "AUTHENTICATE ".len() + 400), "{sent:?}");
    assert_ne!(sent[2], "AUTHENTICATE +");
}

#[test]
fn every_join_refusal_backs_off_then_retries() {
    for (code, why) in [
        ("471", "Cannot join channel (+l)"),
        ("473", "Cannot join channel (+i)"),
        ("475", "Cannot join channel (+k)"),
        ("477", "You need a registered nick to join that channel"),
    ] {
        let mut h = Harness::new(false);
        h.register();
        h.feed(&format!(":irc {code} srebot #sre :{why}"));
        h.now += Duration::from_secs(29);
        assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "{code}: waits");
        h.now += Duration::from_secs(2);
        assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "{code}: retries");
        h.feed(&format!(":irc {code} srebot #sre :{why}"));
        h.now += Duration::from_secs(31);
        assert!(!Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "{code}: waits longer");
        h.now += Duration::from_secs(30);
        assert!(Harness::sent(&h.s.on_tick(h.now)).contains(&"JOIN #sre".to_string()), "{code}: retries again");
    }
}

#[test]
fn ctcp_ping_and_version_answered_privately_others_ignored() {
    let mut h = Harness::new(false);
    h.register();
    h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
    // In the channel: the answer is a NOTICE to the nick, never to the channel.
    let ping = Harness::sent(&h.feed(":dave!d@h PRIVMSG #sre :\x01PING 1700000000 123\x01"));
    assert_eq!(ping, vec!["NOTICE dave :\x01PING 1700000000 123\x01"]);
    h.now += CTCP_GAP;
    let version = Harness::sent(&h.feed(":erin!e@h PRIVMSG #sre :\x01VERSION\x01"));
    assert_eq!(version, vec!["NOTICE erin :\x01VERSION srebot 0.1.0\x01"]);
    h.now += CTCP_GAP;
    let private = Harness::sent(&h.feed(":dave!d@h PRIVMSG srebot :\x01PING x\x01"));
    assert_eq!(private, vec!["NOTICE dave :\x01PING x\x01"]);
    // Anything else, and CTCP replies (NOTICE), get nothing, and use up no answer.
    h.now += CTCP_GAP;
    for other in ["TIME", "CLIENTINFO", "USERINFO", "FINGER", "SOURCE", "DCC SEND x 1 2 3", "ACTION waves"] {
        assert!(h.feed(&format!(":dave!d@h PRIVMSG #sre :\x01{other}\x01")).is_empty(), "{other}");
        assert!(h.feed(&format!(":dave!d@h PRIVMSG srebot :\x01{other}\x01")).is_empty(), "{other}");
    }
    assert!(h.feed(":dave!d@h NOTICE srebot :\x01VERSION\x01").is_empty());
    assert!(h.feed(":dave!d@h NOTICE srebot :\x01PING 1\x01").is_empty());
    assert_eq!(Harness::sent(&h.feed(":dave!d@h PRIVMSG srebot :\x01ping 2\x01")), vec!["NOTICE dave :\x01PING 2\x01"]);
}

/// Registered and in #sre with WHOX but neither account-tag nor extended-join (e.g. a server
/// without IRCv3 accounts, or with them off), `carol` already known from the channel's WHOX.
fn whox_only() -> Harness {
    let mut h = Harness::new(false);
    h.register();
    h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre");
    h.feed(":irc 353 srebot = #sre :@srebot carol");
    h.feed(":irc 354 srebot 152 c 127.0.0.1 host carol H carolacct :Carol");
    h.feed(":irc 315 srebot #sre :End of /WHO list.");
    h.feed(":irc 366 srebot #sre :End of /NAMES list.");
    h
}

fn message_account(actions: &[Action]) -> Vec<Option<String>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(Event::Message(m)) => Some(m.sender.account.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn without_extended_join_joiners_are_asked_about_with_whox_in_batches() {
    let mut h = whox_only();
    assert!(h.feed(":dave!d@h JOIN #sre").is_empty(), "asked together with others, a moment later");
    h.now += JOIN_WHOX_DELAY;
    assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["WHO dave %tuhnairf,152"]);
    h.feed(":irc 354 srebot 152 d 127.0.0.1 h dave H daveacct :Dave");
    h.feed(":irc 315 srebot dave :End of /WHO list.");
    assert_eq!(message_account(&h.feed(":dave!d@h PRIVMSG #sre :!log hi")), vec![Some("daveacct".to_string())]);
    h.now += Duration::from_secs(10);
    assert!(!Harness::sent(&h.s.on_tick(h.now)).iter().any(|l| l.starts_with("WHO")), "asked once");
    // A join storm: one WHO for the channel, not one per join.
    for i in 0..50 {
        h.feed(&format!(":user{i}!u@h JOIN #sre"));
    }
    h.now += JOIN_WHOX_DELAY;
    assert_eq!(Harness::sent(&h.s.on_tick(h.now)), vec!["WHO #sre %tuhnairf,152"]);
    // With extended-join the JOIN says it all: no WHO.
    let mut h = Harness::new(false);
    h.feed(":irc CAP * ACK :extended-join");
    h.register();
    h.feed(":srebot!~srebot@127.0.0.1 JOIN #sre * :srebot");
    h.feed(":dave!d@h JOIN #sre daveacct :Dave");
    h.now += JOIN_WHOX_DELAY;
    assert!(Harness::sent(&h.s.on_tick(h.now)).is_empty());
    assert_eq!(message_account(&h.feed(":dave!d@h PRIVMSG #sre :!log hi")), vec![Some("daveacct".to_string())]);
}

#[test]
fn without_account_tag_a_message_from_an_unknown_sender_waits_for_whox() {
    let mut h = whox_only();
    // Known from the channel's WHOX: goes on at once.
    assert_eq!(message_account(&h.feed(":carol!c@host PRIVMSG srebot :!log x")), vec![Some("carolacct".to_string())]);
    // Someone we share no channel with writes privately: ask first, answer with what we learn.
    let asked = h.feed(":erin!e@h PRIVMSG srebot :!log private");
    assert_eq!(Harness::sent(&asked), vec!["WHO erin %tuhnairf,152"]);
    assert!(message_account(&asked).is_empty());
    assert!(Harness::sent(&h.feed(":erin!e@h PRIVMSG srebot :!log again")).is_empty(), "asked once");
    let released = h.feed(":irc 354 srebot 152 e 127.0.0.1 h erin H erinacct :Erin");
    assert_eq!(message_account(&released), vec![Some("erinacct".to_string()), Some("erinacct".to_string())]);
    let Action::Event(Event::Message(m)) = &released[0] else { panic!("{released:?}") };
    assert_eq!((m.text.as_str(), m.channel.as_deref()), ("!log private", None));
    assert!(h.feed(":irc 315 srebot erin :End of /WHO list.").is_empty());
    // Not logged in (account 0): goes on without an account.
    h.feed(":frank!f@h PRIVMSG srebot :!log f");
    assert_eq!(message_account(&h.feed(":irc 354 srebot 152 f 127.0.0.1 h frank H 0 :F")), vec![None]);
    // No such nick any more (only the end of WHO): without an account.
    h.feed(":gina!g@h PRIVMSG srebot :!log g");
    assert_eq!(message_account(&h.feed(":irc 315 srebot gina :End of /WHO list.")), vec![None]);
    // No answer at all: after WHOX_WAIT, without an account.
    h.feed(":hank!k@h PRIVMSG srebot :!log h");
    h.now += WHOX_WAIT;
    assert_eq!(message_account(&h.s.on_tick(h.now)), vec![None]);
    // A joiner whose WHOX answer has not come yet: the message waits for it too.
    h.feed(":ivan!i@h JOIN #sre");
    assert_eq!(Harness::sent(&h.feed(":ivan!i@h PRIVMSG #sre :!log i")), vec!["WHO ivan %tuhnairf,152"]);
    assert_eq!(
        message_account(&h.feed(":irc 354 srebot 152 i 1.2.3.4 h ivan H ivanacct :I")),
        vec![Some("ivanacct".into())]
    );
}

#[test]
fn passes_on_notices_to_us() {
    let mut h = Harness::new(false);
    h.register();
    let notice = Event::Notice { from: "ChanServ".into(), text: "You are not authorized.".into() };
    assert_eq!(h.feed(":ChanServ!ChanServ@services. NOTICE srebot :You are not authorized."), [Action::Event(notice)]);
    assert!(h.feed(":ChanServ!ChanServ@services. NOTICE #sre :to the channel").is_empty());
    assert!(h.feed(":ChanServ!ChanServ@services. NOTICE srebot :\x01PING 1\x01").is_empty());
}

#[test]
fn render_fits_512_with_our_prefix() {
    let mut h = Harness::new(false);
    h.register();
    h.feed(":srebot!~srebot@a-rather-long-host.example.org JOIN #sre");
    let text = "ü".repeat(600);
    for l in h.s.render("PRIVMSG", "#sre", &text) {
        let relayed = format!(":srebot!~srebot@a-rather-long-host.example.org {l}\r\n");
        assert!(relayed.len() <= 512, "{}", relayed.len());
    }
    let injected = h.s.render("PRIVMSG", "#sre", "a\r\nQUIT :x");
    assert_eq!(injected, vec!["PRIVMSG #sre :a  QUIT :x"]);
}

#[test]
fn redacts_secrets() {
    assert_eq!(redact("AUTHENTICATE c2VjcmV0"), "AUTHENTICATE <redacted>");
    assert_eq!(redact("AUTHENTICATE PLAIN"), "AUTHENTICATE PLAIN");
    assert_eq!(redact("JOIN #sec k3y"), "JOIN #sec <key redacted>");
    assert_eq!(redact("PRIVMSG #a :hi"), "PRIVMSG #a :hi");
}
