//! Answers of the running node's network: peers, sync rounds, addresses.

use serde::{Deserialize, Serialize};

use crate::sync::RoundOutcome;

/// One member node in `peers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRow {
    /// The organisation's short key.
    pub org: String,
    /// Node key (hex).
    pub key: String,
    pub peer_id: String,
    /// The organisation or this key is revoked.
    pub revoked: bool,
    pub connected: bool,
    /// Connected only through a relay: its circuit limits (2 minutes,
    /// 128 KiB) let sync through but not files.
    #[serde(default)]
    pub relayed: bool,
    /// Addresses known for it.
    pub addrs: Vec<String>,
    /// RFC 3339 time of the last completed round, if any.
    pub last_sync: Option<String>,
    /// Changes this node lacked from it at the last comparison.
    pub we_lack: u64,
    /// Changes it lacked from this node.
    pub they_lack: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// `sync`: one round with one peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResult {
    pub peer: String,
    pub result: SyncOutcome,
}

/// How a round ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SyncOutcome {
    Done(SyncRound),
    Failed { error: String },
}

/// A round that completed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRound {
    /// Changes fetched from the peer.
    pub fetched: u64,
    pub we_lack: u64,
    pub they_lack: u64,
    /// The peer's summary digest (hex).
    pub digest: String,
    /// Roster entries this node holds that the peer's summary lacked.
    #[serde(default)]
    pub they_lack_entries: u64,
}

impl From<RoundOutcome> for SyncRound {
    fn from(o: RoundOutcome) -> Self {
        SyncRound {
            fetched: o.fetched,
            we_lack: o.we_lack,
            they_lack: o.they_lack,
            digest: o.digest,
            they_lack_entries: o.they_lack_entries,
        }
    }
}

/// `peer add`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAdded {
    /// The stored multiaddr.
    pub added: String,
    /// Whether the running node dials it now (false: stored for the next run).
    pub dialing: bool,
}
