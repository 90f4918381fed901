//! Proves the fixture works: the network starts, services link, SASL and
//! account tags work, ChanServ works, the ircd can be restarted and paused, and
//! the strict port really is strict.

use std::time::Duration;

use crate::support::{shared_network, unique, Message, NetOpts, Network, TestClient, OPER_NAME, OPER_PASSWORD, WAIT};

const PASSWORD: &str = "hunter2-secret";

#[tokio::test]
async fn network_starts_and_offers_sasl() {
    let net = shared_network().await;
    let mut c = TestClient::connect(net.port(), &unique("smoke")).await;
    assert!(c.server_has_cap("sasl"), "no sasl in CAP LS: {:?}", c.server_caps());
    for cap in ["server-time", "message-tags", "account-tag", "multi-prefix"] {
        assert!(c.caps().iter().any(|a| a == cap), "{cap} not acknowledged: {:?}", c.caps());
    }
    assert!(c.seen().iter().any(|l| l.contains(" 001 ")));
    // The registration burst is no longer pending; the connection is alive.
    c.send("PING :smoke-check").await;
    c.expect("PONG", WAIT, |l| l.contains("PONG") && l.contains("smoke-check")).await;
}

#[tokio::test]
async fn sasl_login_carries_account_tag() {
    let net = shared_network().await;
    let account = unique("acct");
    net.register_account(&account, PASSWORD).await;
    let channel = format!("#{}", unique("tagchan"));

    let (obs_nick, user_nick) = (unique("obs"), unique("user"));
    let (mut observer, mut user) = tokio::join!(
        TestClient::connect(net.port(), &obs_nick),
        TestClient::connect_sasl(net.port(), &user_nick, &account, PASSWORD),
    );
    assert!(user.seen().iter().any(|l| l.contains(" 903 ")));
    assert!(user.seen().iter().any(|l| l.contains(" 900 ") && l.contains(&format!(" {account} "))));
    observer.join(&channel).await;
    user.join(&channel).await;
    user.privmsg(&channel, "hello with account").await;

    let line = observer.expect("PRIVMSG with account tag", WAIT, |l| l.contains("hello with account")).await;
    let m = Message::parse(&line).unwrap();
    assert!(m.is_from(user.nick()), "{line}");
    assert_eq!(m.tag("account"), Some(account.as_str()), "{line}");
    assert!(m.tag("time").is_some(), "server-time missing: {line}");

    // Unidentified users carry no account tag.
    observer.privmsg(&channel, "hello without account").await;
    let line = user.expect("PRIVMSG without account tag", WAIT, |l| l.contains("hello without account")).await;
    assert_eq!(Message::parse(&line).unwrap().tag("account"), None, "{line}");
}

#[tokio::test]
async fn wrong_sasl_password_gets_904() {
    let net = shared_network().await;
    let account = unique("acct");
    net.register_account(&account, PASSWORD).await;
    let err = match TestClient::try_connect_sasl(net.port(), &unique("bad"), &account, "wrong-password").await {
        Ok(_) => panic!("SASL with a wrong password succeeded"),
        Err(e) => e,
    };
    assert!(err.contains(" 904 "), "expected 904, got: {err}");
}

#[tokio::test]
async fn chanserv_registers_channel_and_ops_accounts() {
    let net = shared_network().await;
    let founder = unique("founder");
    let member = unique("member");
    tokio::join!(net.register_account(&founder, PASSWORD), net.register_account(&member, PASSWORD));
    let channel = format!("#{}", unique("cs"));
    net.register_channel(&founder, PASSWORD, &channel).await;

    let (f_nick, m_nick) = (unique("f"), unique("m"));
    let (mut f, mut m) = tokio::join!(
        TestClient::connect_sasl(net.port(), &f_nick, &founder, PASSWORD),
        TestClient::connect_sasl(net.port(), &m_nick, &member, PASSWORD),
    );
    f.join(&channel).await;
    m.join(&channel).await;

    // The founder has ChanServ op someone else.
    let target = m.nick().to_string();
    f.privmsg("ChanServ", &format!("OP {channel} {target}")).await;
    m.expect_msg("ChanServ MODE +o", WAIT, |x| {
        x.command == "MODE" && x.is_from("ChanServ") && x.param(1) == Some("+o") && x.param(2) == Some(target.as_str())
    })
    .await;
    f.send(&format!("MODE {channel} -o {target}")).await;
    m.expect_msg("MODE -o", WAIT, |x| x.command == "MODE" && x.param(1) == Some("-o")).await;

    // With +o flags the member can op itself.
    net.set_channel_flags(&founder, PASSWORD, &channel, &member, "+o").await;
    m.privmsg("ChanServ", &format!("OP {channel}")).await;
    m.expect_msg("self-requested MODE +o", WAIT, |x| {
        x.command == "MODE" && x.is_from("ChanServ") && x.param(1) == Some("+o") && x.param(2) == Some(target.as_str())
    })
    .await;
}

#[tokio::test]
async fn ircd_restart_relinks_services_and_pause_holds_traffic() {
    // Own network: this test stops and pauses the server.
    let started = std::time::Instant::now();
    let mut net = Network::start(NetOpts::default()).await;
    eprintln!("Network::start took {:?}", started.elapsed());
    let account = unique("acct");
    net.register_account(&account, PASSWORD).await;

    let mut before = TestClient::connect(net.port(), &unique("before")).await;
    net.stop_ircd().await;
    before.expect_closed(WAIT).await;
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", net.port())).await.is_err(),
        "client port still open after stop_ircd"
    );

    let restarted = std::time::Instant::now();
    net.start_ircd().await;
    eprintln!("start_ircd (with services relink) took {:?}", restarted.elapsed());
    let mut after = TestClient::connect_sasl(net.port(), &unique("after"), &account, PASSWORD).await;
    assert!(after.seen().iter().any(|l| l.contains(" 903 ")));

    // Paused: nothing is answered. Resumed: the backlog is processed.
    net.pause_ircd();
    after.send("PING :while-paused").await;
    after.assert_silent(Duration::from_secs(1), |l| l.contains("while-paused")).await;
    net.resume_ircd();
    after.expect("PONG after resume", WAIT, |l| l.contains("while-paused")).await;
}

/// Observed on InspIRCd 3.15: the strict port disconnects a flooder with
/// `ERROR :Closing link: (user@127.0.0.1) [Excess Flood]` after about 10 lines of a
/// burst (fakelag is off, threshold 10, commandrate 1000); only the lines before
/// that reach the channel. The generous port delivers a 300-line burst whole.
#[tokio::test]
async fn strict_port_kills_flooders_generous_port_does_not() {
    let net = shared_network().await;
    let channel = format!("#{}", unique("flood"));
    let mut observer = TestClient::connect(net.port(), &unique("obs")).await;
    observer.join(&channel).await;
    let (strict_nick, gen_nick) = (unique("strict"), unique("gen"));
    let (mut strict, mut generous) =
        tokio::join!(TestClient::connect(net.strict_port(), &strict_nick), TestClient::connect(net.port(), &gen_nick));
    strict.join(&channel).await;
    generous.join(&channel).await;

    for i in 0..60 {
        strict.privmsg(&channel, &format!("strict flood {i}")).await;
    }
    let error = strict.expect_msg("ERROR (closing link)", WAIT, |m| m.command == "ERROR").await;
    assert!(error.params[0].contains("Excess Flood"), "{error:?}");
    let flooder = strict.nick().to_string();
    let quit = observer.expect_msg("flooder's QUIT", WAIT, |m| m.command == "QUIT" && m.is_from(&flooder)).await;
    assert!(quit.params.last().is_some_and(|r| r.contains("Excess Flood")), "{quit:?}");
    let delivered = observer.seen().iter().filter(|l| l.contains("strict flood")).count();
    assert!(delivered < 15, "strict port let {delivered} of 60 burst lines through");

    for i in 0..300 {
        generous.privmsg(&channel, &format!("generous flood {i}")).await;
    }
    observer.expect("last generous line", WAIT, |l| l.ends_with("generous flood 299")).await;
    let delivered = observer.seen().iter().filter(|l| l.contains("generous flood")).count();
    assert_eq!(delivered, 300);
    generous
        .assert_silent(Duration::from_millis(200), |l| Message::parse(l).is_some_and(|m| m.command == "ERROR"))
        .await;
}

#[tokio::test]
async fn network_without_services() {
    let started = std::time::Instant::now();
    let net = Network::start(NetOpts { services: false, ..NetOpts::default() }).await;
    eprintln!("Network::start without services took {:?}", started.elapsed());
    let mut c = TestClient::connect(net.port(), &unique("nosvc")).await;
    assert!(!c.server_has_cap("sasl"), "sasl offered without services: {:?}", c.server_caps());
    c.join("#nosvc").await;
    c.quit("bye").await;
}

#[tokio::test]
async fn operator_can_kill_a_client() {
    let net = shared_network().await;
    let (oper_nick, victim_nick) = (unique("oper"), unique("victim"));
    let (mut oper, mut victim) =
        tokio::join!(TestClient::connect(net.port(), &oper_nick), TestClient::connect(net.port(), &victim_nick));
    oper.send(&format!("OPER {OPER_NAME} {OPER_PASSWORD}")).await;
    oper.expect_msg("381 (you are an operator)", WAIT, |m| m.command == "381").await;
    oper.send(&format!("KILL {} :smoke test", victim.nick())).await;
    let error = victim.expect_msg("ERROR after KILL", WAIT, |m| m.command == "ERROR").await;
    assert!(error.params[0].contains("Killed"), "{error:?}");
    victim.expect_closed(WAIT).await;
}
