//! `[attachments] prefetch`: fetching files nobody asked for yet, for a
//! node that should keep them (a backup node keeps all; an organisation's
//! node may keep its own records' files). One file at a time, every
//! [`INTERVAL`], so document sync is never crowded out.

use std::time::Duration;

use tracing::{debug, info};

use r2com_protocol::record::Record;

use super::{parse_hash, FileStore, Prefetch};
use crate::library_thread::LibraryHandle;
use crate::net::NetHandle;

/// How often the node looks for files to prefetch.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// Run the policy until the node stops.
pub async fn run(policy: Prefetch, library: LibraryHandle, net: NetHandle, store: FileStore) {
    if policy == Prefetch::None {
        return;
    }
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = store.clone();
        let wanted = library
            .with(move |l| -> Vec<([u8; 32], u64)> {
                let me = l.key().public().to_hex();
                let org = l
                    .roster()
                    .and_then(|r| r.find_key(&me).map(|(o, _)| o.info.key.clone()));
                let mut out = Vec::new();
                for kind in [
                    r2com_protocol::ids::RecordKind::Practice,
                    r2com_protocol::ids::RecordKind::Event,
                ] {
                    for r in l.list(kind, &Default::default()).unwrap_or_default() {
                        let owner = match &r {
                            Record::Practice(p) => &p.organisation,
                            Record::Event(e) => &e.organiser,
                        };
                        if policy == Prefetch::Organisation && Some(owner) != org.as_ref() {
                            continue;
                        }
                        for a in r.attachments() {
                            if let Some(h) = parse_hash(&a.hash) {
                                if s.holds(&h) != Some(a.size) && a.size <= s.max_size() {
                                    out.push((h, a.size));
                                }
                            }
                        }
                    }
                }
                out.sort();
                out.dedup();
                out
            })
            .await
            .unwrap_or_default();
        for (hash, size) in wanted {
            match net.fetch(&store, hash, size, None).await {
                Ok(f) => info!(file = %&hex::encode(hash)[..12], fetched = f.fetched, "prefetched"),
                Err(e) => debug!(file = %&hex::encode(hash)[..12], error = %e, "prefetch: not now"),
            }
        }
    }
}
