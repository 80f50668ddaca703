//! Peers and sync rounds.

use std::io::{self, Write};

use r2com_protocol::control::{PeerAdded, PeerRow, SyncOutcome, SyncResult};

use crate::output::{or_dash, table, Human};

impl Human for Vec<PeerRow> {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows = self
            .iter()
            .map(|p| {
                let state = if p.revoked {
                    "revoked"
                } else if p.connected && p.relayed {
                    // The relay's circuit (2 min, 128 KiB) lets sync
                    // through, not files.
                    "relayed (no files)"
                } else if p.connected {
                    "connected"
                } else {
                    "-"
                };
                vec![
                    p.org.clone(),
                    p.peer_id.clone(),
                    state.to_owned(),
                    or_dash(p.last_sync.as_deref()),
                    format!("{}/{}", p.we_lack, p.they_lack),
                    format!("{}/{}", p.bytes_sent, p.bytes_received),
                    if p.addrs.is_empty() {
                        "-".to_owned()
                    } else {
                        p.addrs.join(", ")
                    },
                ]
            })
            .collect();
        let headers = [
            "ORG",
            "PEER",
            "STATE",
            "LAST SYNC",
            "LACK US/THEM",
            "BYTES OUT/IN",
            "ADDRESSES",
        ];
        table(out, &headers, rows, 60)
    }
}

impl Human for Vec<SyncResult> {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        for r in self {
            match &r.result {
                SyncOutcome::Done(round) => writeln!(
                    out,
                    "{}: fetched {} changes; it lacks {}",
                    r.peer, round.fetched, round.they_lack
                )?,
                SyncOutcome::Failed { error } => writeln!(out, "{}: failed: {error}", r.peer)?,
            }
        }
        Ok(())
    }
}

impl Human for PeerAdded {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "added {}", self.added)
    }
}
