//! The cast most integration tests start from, written once.

use super::{unique, Network, TestClient};

/// The bot account's SASL password.
pub const BOT_SASL_PASSWORD: &str = "botpass1";
/// Alice's account password.
pub const ALICE_PASSWORD: &str = "alicepw1";

/// On a network: the bot's account and alice's, registered with services; a new public channel
/// `chan` and a new security channel `sec`, with alice identified by SASL in both (`a`).
/// `BotOpts::for_scene` starts the bot in it.
pub struct Scene {
    pub botnick: String,
    pub alice: String,
    pub chan: String,
    pub sec: String,
    pub a: TestClient,
}

impl Scene {
    /// The bot's nick (and account) is `unique(bot_prefix)`.
    pub async fn new(net: &Network, bot_prefix: &str) -> Scene {
        let (botnick, alice) = (unique(bot_prefix), unique("al"));
        net.register_account(&botnick, BOT_SASL_PASSWORD).await;
        net.register_account(&alice, ALICE_PASSWORD).await;
        let (chan, sec) = (format!("#{}", unique("sre")), format!("#{}", unique("sec")));
        let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, ALICE_PASSWORD).await;
        a.join(&chan).await;
        a.join(&sec).await;
        Scene { botnick, alice, chan, sec, a }
    }
}

/// Alice alone, registered and identified by SASL, in a new public channel: `(alice, chan, a)`.
pub async fn alice_in_a_channel(net: &Network) -> (String, String, TestClient) {
    let alice = unique("al");
    net.register_account(&alice, ALICE_PASSWORD).await;
    let chan = format!("#{}", unique("sre"));
    let mut a = TestClient::connect_sasl(net.port(), &alice, &alice, ALICE_PASSWORD).await;
    a.join(&chan).await;
    (alice, chan, a)
}
