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
    /// How it is connected (`None` when it is not).
    pub connection: Option<Connection>,
    /// The relay's PeerId, for a relayed connection.
    pub via: Option<String>,
    /// Addresses known for it: where it was seen, and its signed record's.
    pub addrs: Vec<String>,
    /// Why the last dial towards it failed (cleared when one succeeds).
    pub dial_error: Option<String>,
    /// RFC 3339 time of the last completed round, if any.
    pub last_sync: Option<String>,
    /// Changes this node lacked from it at the last comparison.
    pub we_lack: u64,
    /// Changes it lacked from this node.
    pub they_lack: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// How a member is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// At least one connection that goes through no relay.
    Direct,
    /// Only through a member relay (see `PeerRow::via`).
    Relayed,
}

/// `peers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peers {
    /// Every member node but this one.
    pub members: Vec<PeerRow>,
    /// Configured addresses (`peer add`, invites) that reach no member
    /// (yet): a typo, a host name that does not resolve, a node not up.
    pub addresses: Vec<AddressRow>,
}

/// A configured address that reaches no member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRow {
    pub addr: String,
    /// The peer that answered there, or the one the address names.
    pub peer_id: Option<String>,
    pub connected: bool,
    /// Why the last dial failed.
    pub dial_error: Option<String>,
}

/// The running node's network, as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkStatus {
    /// Whether members can dial this node directly.
    pub reachability: Reachability,
    /// External addresses confirmed (dialed back by AutoNAT, or mapped by
    /// UPnP).
    pub external_addrs: Vec<String>,
    /// The last AutoNAT results.
    pub tested: Vec<AddrTest>,
    /// UPnP's last word, when it is on.
    pub upnp: Option<String>,
    pub relay: RelayStatus,
    /// The addresses this node's signed record gives the members.
    pub addresses_given: Vec<String>,
}

/// Whether this node can be dialed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reachability {
    /// A confirmed external address with a global IP.
    #[serde(rename = "public")]
    Public,
    /// Confirmed addresses, none of them global.
    #[serde(rename = "local network only")]
    LocalNetworkOnly,
    /// Every dial back failed.
    #[serde(rename = "not reachable")]
    NotReachable,
    /// Nothing tested yet.
    #[serde(rename = "unknown")]
    Unknown,
}

impl std::fmt::Display for Reachability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reachability::Public => "public",
            Reachability::LocalNetworkOnly => "local network only",
            Reachability::NotReachable => "not reachable",
            Reachability::Unknown => "unknown",
        })
    }
}

/// One AutoNAT dial back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrTest {
    pub addr: String,
    pub reachable: bool,
    pub error: Option<String>,
}

/// Relaying: for the members, and through member relays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayStatus {
    /// This node relays for the members now.
    pub serving: bool,
    /// `[net] relay`: `auto`, `on` or `off`.
    pub mode: String,
    /// Slots this node holds (or asks for) on member relays.
    pub reservations: Vec<RelayReservation>,
}

/// A slot on a member relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayReservation {
    /// The relay's PeerId.
    pub relay: String,
    /// The circuit address members dial.
    pub addr: String,
    pub accepted: bool,
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
