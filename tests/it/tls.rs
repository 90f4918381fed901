//! TLS with rustls against a real InspIRCd (ssl_gnutls), certificates from a throw-away CA.

use crate::botproc::{BotOpts, BotProcess};
use crate::sal::wait_join;
use crate::support::{unique, NetOpts, Network, Scene, WAIT};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_with_tls_verifies_the_certificate_and_logs() {
    let net = Network::start(NetOpts { tls: true, ..NetOpts::default() }).await;
    let scene = Scene::new(&net, "sb").await;
    let mut opts = BotOpts::for_scene(&net, &scene);
    let Scene { botnick, alice, chan, sec, mut a } = scene;

    opts.port = net.tls_port();
    opts.irc_extra = format!("tls = true\ntls_ca_file = {:?}\n", net.ca_file());
    let _bot = BotProcess::start(opts);
    wait_join(&mut a, &botnick, &chan, WAIT).await;
    wait_join(&mut a, &botnick, &sec, WAIT).await; // SASL over TLS worked
    a.privmsg(&chan, "!log over TLS").await;
    assert_eq!(a.expect_privmsg_from(&botnick, &chan, WAIT).await, format!("Logged #1, {alice}"));

    // Without our CA the certificate is not trusted: no connection, and the log says why.
    let other = unique("sb");
    let mut opts = BotOpts::new(&net, &other);
    opts.port = net.tls_port();
    opts.irc_extra = "tls = true\n".into();
    opts.channels = vec![(chan.clone(), "public")];
    let untrusting = BotProcess::start(opts);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !untrusting.log_text().contains("connect failed") {
        assert!(std::time::Instant::now() < deadline, "{}", untrusting.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(untrusting.log_text().to_lowercase().contains("certificate"), "{}", untrusting.log_text());
    a.assert_silent(Duration::from_secs(1), |l| l.contains(&format!(":{other}!"))).await;
}
