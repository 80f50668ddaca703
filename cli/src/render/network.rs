//! Peers and sync rounds.

use std::io::{self, Write};

use r2com_protocol::control::{Connection, PeerAdded, Peers, SyncOutcome, SyncResult};

use crate::output::{or_dash, table, Human};

impl Human for Peers {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let addrs = |a: &[String]| {
            if a.is_empty() {
                "-".to_owned()
            } else {
                a.join(", ")
            }
        };
        let mut rows: Vec<Vec<String>> = self
            .members
            .iter()
            .map(|p| {
                let state = if p.revoked {
                    "revoked".to_owned()
                } else {
                    match (p.connection, &p.via, &p.dial_error) {
                        (Some(Connection::Direct), ..) => "direct".to_owned(),
                        // Files are not fetched through a relay (said
                        // first: a long cell is cut at its end).
                        (Some(Connection::Relayed), Some(via), _) => {
                            format!("relayed (no files) via {via}")
                        }
                        (Some(Connection::Relayed), None, _) => "relayed (no files)".to_owned(),
                        (None, _, Some(e)) => format!("unreachable: {e}"),
                        (None, _, None) => "-".to_owned(),
                    }
                };
                vec![
                    p.org.clone(),
                    p.peer_id.clone(),
                    state,
                    or_dash(p.last_sync.as_deref()),
                    format!("{}/{}", p.we_lack, p.they_lack),
                    format!("{}/{}", p.bytes_sent, p.bytes_received),
                    addrs(&p.addrs),
                ]
            })
            .collect();
        // Configured addresses that reach no member yet.
        rows.extend(self.addresses.iter().map(|a| {
            let state = match (&a.dial_error, a.connected) {
                (Some(e), _) => format!("unreachable: {e}"),
                (None, true) => "connected, not a member".to_owned(),
                (None, false) => "-".to_owned(),
            };
            vec![
                "-".to_owned(),
                or_dash(a.peer_id.as_deref()),
                state,
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                a.addr.clone(),
            ]
        }));
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
