//! Test fixture: a real IRC network (InspIRCd 3 + Atheme 7.2 services) started
//! per test group, and a raw line-based IRC client to act as a human user.
//!
//! * [`Network`] (net.rs) starts the servers on 127.0.0.1 with free ports and a
//!   private temp dir, and kills them again on drop.
//! * [`TestClient`] (client.rs) speaks raw IRC and lets a test wait for lines.
//! * [`Scene`] (scene.rs) registers the bot and alice and puts alice in two new channels.
//! * [`acked_ids`] (acks.rs) reads the entry ids out of the bot's acks.
//! * [`handler::Handler`] (handler.rs) is the bot's message handler without a network.
//! * [`shared_network`] hands out one lazily started network per test binary, for
//!   tests that do not restart or pause the server. Use unique nicks, accounts
//!   and channels there ([`unique`]), since other tests run on it concurrently.
//!
//! The servers come from Debian packages: run `scripts/install-test-deps`.
// Several binaries include this fixture (tests/it, examples/loadgen and devnet, via `#[path]`),
// each using a part of it.
#![allow(dead_code)]

pub mod acks;
pub mod client;
pub mod handler;
pub mod net;
pub mod scene;

#[allow(unused_imports)]
pub use acks::acked_ids;
#[allow(unused_imports)]
pub use client::{irc_eq, Message, TestClient};
#[allow(unused_imports)]
pub use net::{NetOpts, Network, OPER_NAME, OPER_PASSWORD};
#[allow(unused_imports)]
pub use scene::Scene;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Default time to wait for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// A name nobody else in this test binary got: `prefix` followed by a number.
/// Keep `prefix` short: nicks may have at most 30 characters, and Atheme
/// account names are nicks.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!("{prefix}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The network shared by every test in this binary that asks for it, started on
/// first use (with services). It is never dropped: its processes die with the
/// test binary (see `Network` for how). Tests that stop, restart or pause the
/// server must start their own [`Network`] instead.
pub async fn shared_network() -> &'static Network {
    static SHARED: tokio::sync::OnceCell<Network> = tokio::sync::OnceCell::const_new();
    SHARED.get_or_init(|| Network::start(NetOpts::default())).await
}
