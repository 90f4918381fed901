//! The STS policies of the connection layer, kept in the store: read once at start-up, written
//! whenever a server gives or withdraws one. The glue between `irc::sts` and `store::sts`, so
//! that neither knows the other.

use crate::irc::sts::{StsPolicies, StsPolicy};
use crate::store::{self, Store};

pub struct StoredSts {
    store: Store,
}

impl StoredSts {
    pub fn new(store: Store) -> StoredSts {
        StoredSts { store }
    }

    /// The policy kept for `host`, if one is still in force.
    pub async fn load(&self, host: &str) -> Option<StsPolicy> {
        let host = host.to_ascii_lowercase();
        match self.store.call(move |c| store::sts::get(c, &host)).await {
            Ok(found) => {
                found.map(|(port, expires)| StsPolicy { port, expires }).filter(|p| p.in_force(chrono::Utc::now()))
            }
            Err(e) => {
                // Without the database we cannot know; the bot still connects as configured.
                tracing::error!(error = %e, "cannot read the STS policy");
                None
            }
        }
    }
}

impl StsPolicies for StoredSts {
    fn remember(&self, host: &str, policy: Option<StsPolicy>) {
        let (store, host) = (self.store.clone(), host.to_ascii_lowercase());
        tokio::spawn(async move {
            let row = policy.map(|p| (p.port, p.expires));
            if let Err(e) = store.call(move |c| store::sts::set(c, &host, row)).await {
                tracing::error!(error = %e, "cannot store the STS policy");
            }
        });
    }
}
