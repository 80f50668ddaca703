//! The address book: where each member can be reached, from members only.
//!
//! Every node signs its own addresses as a libp2p peer record (the
//! standard routing record in a signed envelope, libp2p RFC 0003: the
//! addresses, and a sequence number that is the time of signing in
//! seconds) and hands it to the members it is connected to over
//! `/r2com/addrs/1`; a node keeps, per member, the record with the highest
//! sequence number and passes new ones on to its other members, so every
//! member learns every other member's addresses, also those it never met.
//!
//! A record is accepted only from a live member and only about a live
//! member (a record proves who signed it, not that the signer may be
//! dialed); a stranger's addresses are never dialed. Records are kept in
//! the store (`k\0{peer id}`), so a node that restarts while the member it
//! joined through is down still reaches the others.

use std::collections::HashMap;

use libp2p::core::{PeerRecord, SignedEnvelope};
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::members::Members;

/// The protocol name.
pub(super) const PROTOCOL: &str = "/r2com/addrs/1";
/// Records in one message; a book larger than that goes in several.
pub(super) const MAX_RECORDS_PER_MESSAGE: usize = 64;
/// One encoded record (envelope); larger ones are refused.
pub(super) const MAX_RECORD_BYTES: usize = 4096;
/// One message on the wire.
pub(super) const MAX_MESSAGE_BYTES: u64 =
    (MAX_RECORDS_PER_MESSAGE * (MAX_RECORD_BYTES + 16)) as u64;
/// Addresses in one record; a record with more is refused.
pub(super) const MAX_ADDRS: usize = 32;
/// Concurrent inbound `/r2com/addrs/1` streams per connection.
pub(super) const MAX_STREAMS: usize = 4;
/// A record signed this far in the future (seconds) is refused: its
/// sequence number would shadow the member's next records.
const MAX_CLOCK_SKEW_SECS: u64 = 24 * 3600;

/// Signed address records (encoded envelopes).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AddrsRequest {
    pub(super) records: Vec<ByteBuf>,
}

/// How many of them were new to the receiver.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AddrsResponse {
    pub(super) new: u32,
}

/// Why a record was not taken.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Not a valid signed peer record (the sender relayed garbage).
    Invalid(String),
    /// Valid, but about a peer that is not a live member (or this node).
    NotMember(PeerId),
}

/// Members' records and our own.
pub(super) struct Book {
    me: PeerId,
    records: HashMap<PeerId, PeerRecord>,
    own: Option<PeerRecord>,
}

/// Decode and verify one encoded record.
pub(super) fn decode(bytes: &[u8]) -> Result<PeerRecord, String> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(format!("record of {} bytes", bytes.len()));
    }
    let env = SignedEnvelope::from_protobuf_encoding(bytes).map_err(|e| e.to_string())?;
    let rec = PeerRecord::from_signed_envelope_interop(env).map_err(|e| e.to_string())?;
    if rec.addresses().len() > MAX_ADDRS {
        return Err(format!("{} addresses", rec.addresses().len()));
    }
    Ok(rec)
}

pub(super) fn encode(rec: &PeerRecord) -> Vec<u8> {
    rec.to_signed_envelope().into_protobuf_encoding()
}

impl Book {
    /// A book holding the records kept in the store (invalid ones are
    /// skipped; members are filtered at the first roster look).
    pub(super) fn new(me: PeerId, stored: Vec<Vec<u8>>) -> Book {
        let mut book = Book {
            me,
            records: HashMap::new(),
            own: None,
        };
        for bytes in stored {
            let Ok(rec) = decode(&bytes) else { continue };
            if rec.peer_id() == me {
                book.own = Some(rec);
            } else {
                book.keep(rec);
            }
        }
        book
    }

    /// Keep `rec` if it is newer than what we hold; whether it was.
    fn keep(&mut self, rec: PeerRecord) -> bool {
        match self.records.get(&rec.peer_id()) {
            Some(old) if old.seq() >= rec.seq() => false,
            _ => {
                self.records.insert(rec.peer_id(), rec);
                true
            }
        }
    }

    /// Take a record received from a member: `Ok(Some)` if it is new,
    /// `Ok(None)` if we hold it or a newer one.
    pub(super) fn accept(
        &mut self,
        bytes: &[u8],
        members: &Members,
        now_secs: u64,
    ) -> Result<Option<PeerRecord>, Refusal> {
        let rec = decode(bytes).map_err(Refusal::Invalid)?;
        if rec.seq() > now_secs + MAX_CLOCK_SKEW_SECS {
            return Err(Refusal::Invalid(format!(
                "record of {} signed {} s in the future",
                rec.peer_id(),
                rec.seq() - now_secs
            )));
        }
        if rec.peer_id() == self.me || !members.contains(&rec.peer_id()) {
            return Err(Refusal::NotMember(rec.peer_id()));
        }
        Ok(self.keep(rec.clone()).then_some(rec))
    }

    /// The addresses a member's record lists (empty if none known).
    pub(super) fn addrs(&self, peer: &PeerId) -> &[Multiaddr] {
        self.records
            .get(peer)
            .map(|r| r.addresses())
            .unwrap_or_default()
    }

    /// Every record (ours first) but `recipient`'s own, encoded.
    pub(super) fn encoded_for(&self, recipient: &PeerId) -> Vec<ByteBuf> {
        self.own
            .iter()
            .chain(self.records.values())
            .filter(|r| r.peer_id() != *recipient)
            .map(|r| ByteBuf::from(encode(r)))
            .collect()
    }

    /// Drop the records of peers that are no longer members; their ids.
    pub(super) fn retain_members(&mut self, members: &Members) -> Vec<PeerId> {
        let gone: Vec<PeerId> = self
            .records
            .keys()
            .filter(|p| !members.contains(p))
            .copied()
            .collect();
        for p in &gone {
            self.records.remove(p);
        }
        gone
    }

    /// Our current record.
    pub(super) fn own(&self) -> Option<&PeerRecord> {
        self.own.as_ref()
    }

    /// Sign `addrs` as our new record if they differ from the current one
    /// and a new sequence number is available (`now_secs` past the last
    /// one; else the caller tries again later). The new record, if any.
    pub(super) fn sign_own(
        &mut self,
        key: &libp2p_identity::Keypair,
        addrs: Vec<Multiaddr>,
        now_secs: u64,
    ) -> Option<PeerRecord> {
        if let Some(own) = &self.own {
            if own.addresses() == addrs.as_slice() || own.seq() >= now_secs {
                return None;
            }
        }
        let rec = PeerRecord::new_interop(key, addrs).ok()?;
        self.own = Some(rec.clone());
        Some(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> libp2p_identity::Keypair {
        libp2p_identity::Keypair::generate_ed25519()
    }

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()
    }

    #[test]
    fn records_are_taken_from_members_about_members_newest_first() {
        let me = key();
        let member = key();
        let stranger = key();
        let members = Members::default();
        members.set_for_test([member.public().to_peer_id()]);
        let mut book = Book::new(me.public().to_peer_id(), vec![]);
        let now = PeerRecord::new_interop(&member, vec![]).unwrap().seq();

        let r1 = encode(&PeerRecord::new_interop(&member, vec![addr(1)]).unwrap());
        assert!(book.accept(&r1, &members, now).unwrap().is_some());
        assert_eq!(book.addrs(&member.public().to_peer_id()), [addr(1)]);
        assert_eq!(book.accept(&r1, &members, now), Ok(None), "not again");

        let s = encode(&PeerRecord::new_interop(&stranger, vec![addr(2)]).unwrap());
        assert!(matches!(
            book.accept(&s, &members, now),
            Err(Refusal::NotMember(_))
        ));
        assert!(book.addrs(&stranger.public().to_peer_id()).is_empty());

        let mut forged = r1.clone();
        let n = forged.len();
        forged[n - 1] ^= 1;
        assert!(matches!(
            book.accept(&forged, &members, now),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            book.accept(&r1[..10], &members, now),
            Err(Refusal::Invalid(_))
        ));
        // Our own record is ours to sign, never taken from others.
        let mine = encode(&PeerRecord::new_interop(&me, vec![addr(3)]).unwrap());
        assert!(book.accept(&mine, &members, now).is_err());

        // Signing our own: only when the addresses change and time moved on.
        assert!(book.sign_own(&me, vec![addr(4)], now).is_some());
        assert!(book.sign_own(&me, vec![addr(4)], now + 5).is_none());
        assert!(book.sign_own(&me, vec![addr(5)], now).is_none());
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let later = now + 1;
        let own = book.sign_own(&me, vec![addr(5)], later).unwrap();
        assert!(own.seq() >= later);
        assert_eq!(own.addresses(), [addr(5)]);
        assert_eq!(book.encoded_for(&member.public().to_peer_id()).len(), 1);
        assert_eq!(book.encoded_for(&stranger.public().to_peer_id()).len(), 2);

        members.set_for_test([]);
        assert_eq!(book.retain_members(&members).len(), 1);
        assert!(book.addrs(&member.public().to_peer_id()).is_empty());
    }
}
