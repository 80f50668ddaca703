//! Metrics: the series a node exports in the OpenMetrics text format at
//! `/metrics`, on a listener of its own (`[metrics] listen`, off by
//! default; see [`serve`]).
//!
//! Everything is kept current where it happens, not recomputed per scrape:
//! the network loop sets the per-member series from the sync machine's
//! outputs ([`NetMetrics`]), the library counts what it applies and refuses
//! ([`ChangeMetrics`]), the file store what it fetches and serves
//! ([`FileMetrics`]). Only the store's sizes are sampled, every
//! [`sample::EVERY`] ([`StoreMetrics`]). libp2p's own metrics (bandwidth,
//! connections, identify, ping) sit in the same registry under `libp2p_`.
//!
//! Label cardinality is bounded: per-member series exist for members of the
//! roster only (a stranger's PeerId never becomes a label), and every
//! `reason` label is one of a fixed list.
//!
//! The files: `serve` (the HTTP listener), `sample` (the sampled gauges),
//! this file (the series).

pub mod sample;
pub mod serve;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use r2com_protocol::roster::Roster;
use r2com_protocol::sync::PeerState;

/// The labels of a per-member series: the organisation's key and the
/// node's PeerId.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MemberLabels {
    pub member: String,
    pub peer: String,
}

/// One of a fixed list of reasons.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

fn reason(reason: &'static str) -> ReasonLabels {
    ReasonLabels { reason }
}

/// Changes received from peers or files, as the library applied them.
#[derive(Clone, Debug, Default)]
pub struct ChangeMetrics {
    applied: Counter,
    refused: Family<ReasonLabels, Counter>,
}

impl ChangeMetrics {
    /// Count one apply: `invalid` changes or entries refused (the batch is
    /// refused whole), `not_allowed` skipped (their authors may not write).
    pub fn applied(&self, applied: u64, invalid: u64, not_allowed: u64) {
        self.applied.inc_by(applied);
        if invalid > 0 {
            self.refused
                .get_or_create(&reason("invalid"))
                .inc_by(invalid);
        }
        if not_allowed > 0 {
            self.refused
                .get_or_create(&reason("not_allowed"))
                .inc_by(not_allowed);
        }
    }
}

/// Attachments moved over the network.
#[derive(Clone, Debug, Default)]
pub struct FileMetrics {
    fetched: Counter,
    fetched_bytes: Counter,
    served_bytes: Counter,
}

impl FileMetrics {
    /// A piece of `len` bytes that verified was written.
    pub fn piece_fetched(&self, len: u64) {
        self.fetched_bytes.inc_by(len);
    }

    /// A whole file was fetched and verified.
    pub fn file_fetched(&self) {
        self.fetched.inc();
    }

    /// A piece of `len` bytes was sent to a member.
    pub fn piece_served(&self, len: u64) {
        self.served_bytes.inc_by(len);
    }
}

/// What the store holds (sampled, see [`sample`]).
#[derive(Clone, Debug, Default)]
pub struct StoreMetrics {
    pub(crate) size_bytes: Gauge,
    pub(crate) documents: Gauge,
    pub(crate) changes: Gauge,
    pub(crate) roster_entries: Gauge,
    pub(crate) attachments: Gauge,
    pub(crate) attachment_bytes: Gauge,
}

/// The network loop's series: per member, and the peers it disconnected.
#[derive(Clone, Debug, Default)]
pub struct NetMetrics {
    connected: Family<MemberLabels, Gauge>,
    relayed: Family<MemberLabels, Gauge>,
    last_sync: Family<MemberLabels, Gauge>,
    we_lack: Family<MemberLabels, Gauge>,
    they_lack: Family<MemberLabels, Gauge>,
    sent_bytes: Family<MemberLabels, Counter>,
    received_bytes: Family<MemberLabels, Counter>,
    misbehaved: Family<ReasonLabels, Counter>,
    non_members: Counter,
    /// The member label of each PeerId that has series.
    labelled: Arc<Mutex<HashMap<String, String>>>,
}

/// How a member's link stands, as the network loop sees it.
pub struct MemberView<'a> {
    pub connected: bool,
    /// Every open connection goes through a relay.
    pub relayed: bool,
    pub state: Option<&'a PeerState>,
}

impl NetMetrics {
    /// Set the series of the node with key `key` (hex) and PeerId `peer`
    /// if it is a live member of `roster`; remove them otherwise (a
    /// revoked member's series end).
    pub fn member(&self, roster: Option<&Roster>, key: &str, peer: &str, view: MemberView<'_>) {
        let org = roster
            .filter(|r| r.is_live_member(key))
            .and_then(|r| r.find_key(key))
            .map(|(org, _)| org.info.key.clone());
        let Some(member) = org else {
            self.forget(peer);
            return;
        };
        let previous = self.labelled().insert(peer.to_owned(), member.clone());
        if let Some(old) = previous.filter(|m| *m != member) {
            self.remove(&MemberLabels {
                member: old,
                peer: peer.to_owned(),
            });
        }
        let l = MemberLabels {
            member,
            peer: peer.to_owned(),
        };
        self.connected.get_or_create(&l).set(view.connected.into());
        self.relayed
            .get_or_create(&l)
            .set((view.connected && view.relayed).into());
        let Some(st) = view.state else {
            return;
        };
        if let Some(t) = st
            .last_sync
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            self.last_sync.get_or_create(&l).set(t.timestamp());
        }
        self.we_lack.get_or_create(&l).set(clamp(st.we_lack));
        self.they_lack.get_or_create(&l).set(clamp(st.they_lack));
        raise(&self.sent_bytes.get_or_create(&l), st.bytes_sent);
        raise(&self.received_bytes.get_or_create(&l), st.bytes_received);
    }

    /// Drop every series of `peer` (no longer a member).
    fn forget(&self, peer: &str) {
        let Some(member) = self.labelled().remove(peer) else {
            return;
        };
        self.remove(&MemberLabels {
            member,
            peer: peer.to_owned(),
        });
    }

    fn remove(&self, l: &MemberLabels) {
        for f in [
            &self.connected,
            &self.relayed,
            &self.last_sync,
            &self.we_lack,
            &self.they_lack,
        ] {
            f.remove(l);
        }
        self.sent_bytes.remove(l);
        self.received_bytes.remove(l);
    }

    fn labelled(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.labelled.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A peer was disconnected for sending something invalid (`reason` as
    /// the sync machine or the file fetcher put it).
    pub fn misbehaved(&self, why: &str) {
        self.misbehaved
            .get_or_create(&reason(misbehaviour_class(why)))
            .inc();
    }

    /// A connection or request from a node that is not a member was
    /// refused.
    pub fn non_member_refused(&self) {
        self.non_members.inc();
    }

    /// The refusals counted so far.
    #[cfg(test)]
    pub(crate) fn non_member_refused_count(&self) -> u64 {
        self.non_members.get()
    }
}

/// The reasons changes are refused for (`reason` of `changes_refused`).
const REFUSAL_REASONS: [&str; 2] = ["invalid", "not_allowed"];

/// The classes `misbehaviour_class` sorts reasons into.
const MISBEHAVIOUR_CLASSES: [&str; 5] = [
    "undecodable",
    "flood",
    "unexpected_answer",
    "bad_file_piece",
    "invalid_data",
];

/// The fixed classes of misbehaviour (a label value, never free text).
fn misbehaviour_class(why: &str) -> &'static str {
    if why.starts_with("undecodable") {
        "undecodable"
    } else if why.contains("flood") {
        "flood"
    } else if why.starts_with("unexpected answer") || why.starts_with("answered") {
        "unexpected_answer"
    } else if why.starts_with("file ") {
        "bad_file_piece"
    } else {
        "invalid_data"
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Bring a counter up to `total` (a running total the sync machine keeps).
fn raise(c: &Counter, total: u64) {
    let now = c.get();
    if total > now {
        c.inc_by(total - now);
    }
}

/// Every series of a node, registered in `registry` (which already has
/// libp2p's under `libp2p_`).
pub fn register(
    registry: &mut Registry,
    net: &NetMetrics,
    changes: &ChangeMetrics,
    files: &FileMetrics,
    store: &StoreMetrics,
) {
    // Every reason is exported from the start, at 0: the families exist
    // for dashboards and alerts, and rate() has a first sample.
    for why in REFUSAL_REASONS {
        drop(changes.refused.get_or_create(&reason(why)));
    }
    for class in MISBEHAVIOUR_CLASSES {
        drop(net.misbehaved.get_or_create(&reason(class)));
    }
    let r = registry.sub_registry_with_prefix("r2com");
    let build = Info::new(vec![
        ("version", env!("CARGO_PKG_VERSION")),
        (
            "commit",
            option_env!("R2COM_GIT_COMMIT").unwrap_or("unknown"),
        ),
    ]);
    r.register(
        "build",
        "This node's r2com version (and git commit when the build recorded it)",
        build,
    );
    r.register(
        "member_connected",
        "1 if a connection to this member's node is open",
        net.connected.clone(),
    );
    r.register(
        "member_relayed",
        "1 if every open connection to this member goes through a relay",
        net.relayed.clone(),
    );
    r.register(
        "member_last_sync_timestamp_seconds",
        "Unix time of the last successful exchange with this member",
        net.last_sync.clone(),
    );
    r.register(
        "member_we_lack_changes",
        "Changes this node lacked from the member at the last comparison",
        net.we_lack.clone(),
    );
    r.register(
        "member_they_lack_changes",
        "Changes the member lacked from this node at the last comparison",
        net.they_lack.clone(),
    );
    r.register(
        "member_sync_sent_bytes",
        "Sync request bytes sent to this member",
        net.sent_bytes.clone(),
    );
    r.register(
        "member_sync_received_bytes",
        "Sync request bytes received from this member",
        net.received_bytes.clone(),
    );
    r.register(
        "peers_misbehaved",
        "Peers disconnected for sending invalid data, by reason",
        net.misbehaved.clone(),
    );
    r.register(
        "non_member_refused",
        "Connections and requests from nodes that are not members, refused",
        net.non_members.clone(),
    );
    r.register(
        "changes_applied",
        "Changes received (from peers or files) and applied",
        changes.applied.clone(),
    );
    r.register(
        "changes_refused",
        "Changes and roster entries received and not applied, by reason",
        changes.refused.clone(),
    );
    r.register(
        "attachments_fetched",
        "Attachment files fetched from members and verified",
        files.fetched.clone(),
    );
    r.register(
        "attachments_fetched_bytes",
        "Attachment bytes fetched from members and verified",
        files.fetched_bytes.clone(),
    );
    r.register(
        "attachments_served_bytes",
        "Attachment bytes sent to members",
        files.served_bytes.clone(),
    );
    r.register(
        "store_size_bytes",
        "Size of the store on disk",
        store.size_bytes.clone(),
    );
    r.register(
        "documents",
        "Documents in the store (one per record)",
        store.documents.clone(),
    );
    r.register(
        "changes",
        "Signed changes in the store",
        store.changes.clone(),
    );
    r.register(
        "roster_entries",
        "Roster entries in the store",
        store.roster_entries.clone(),
    );
    r.register(
        "attachments_stored",
        "Attachment files held by this node",
        store.attachments.clone(),
    );
    r.register(
        "attachments_stored_bytes",
        "Bytes of the attachment files held by this node",
        store.attachment_bytes.clone(),
    );
}

#[cfg(test)]
mod tests;
