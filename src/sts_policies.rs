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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[tokio::test]
    async fn policies_are_kept_in_the_database_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (store, thread) = Store::open(&dir.path().join("sts.sqlite3"));
        let sts = StoredSts::new(store.clone());
        assert_eq!(sts.load("irc.example").await, None);
        let policy = StsPolicy { port: 6697, expires: Utc::now() + chrono::Duration::hours(1) };
        sts.remember("IRC.example", Some(policy));
        // `remember` writes in the background: wait for it (briefly).
        let mut loaded = None;
        for _ in 0..100 {
            loaded = sts.load("irc.example").await;
            if loaded.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(loaded.map(|p| p.port), Some(6697), "host names compare without case");
        sts.remember("irc.example", None);
        for _ in 0..100 {
            if sts.load("irc.example").await.is_none() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(sts.load("irc.example").await, None);
        // An expired one is not in force.
        let old = StsPolicy { port: 6697, expires: Utc::now() - chrono::Duration::seconds(1) };
        store.call(move |c| crate::store::sts::set(c, "old.example", Some((old.port, old.expires)))).await.unwrap();
        assert_eq!(sts.load("old.example").await, None);
        drop((sts, store));
        tokio::task::spawn_blocking(move || thread.join()).await.unwrap();
    }
}
