//! The honest admins' roster moves: the founder's consortium with its
//! members admitted up front, invites and admits, and revocations that
//! name what the revoker saw of the revoked key.

use std::collections::BTreeMap;

use r2com_protocol::roster::{
    self, Action, DocFrontier, Entry, EntryId, Invite, KeyFrontier, Role, SignedEntry, Target,
};

use super::store::Store;
use super::*;

/// An invitee's admit of `invite`.
pub fn admit(cid: EntryId, who: usize, invite: &SignedEntry) -> SignedEntry {
    Entry {
        consortium: cid.to_hex(),
        author: hex_key(who),
        deps: vec![invite.id().to_hex()],
        issued_at: "2026-11-02T00:00:00Z".into(),
        action: Action::Admit {
            invite: invite.id().to_hex(),
        },
    }
    .sign(&key(who))
}

pub fn invite(store: &mut Store, who: usize, role: Role, expires_at: String) -> SignedEntry {
    store
        .author_entry(Action::Invite(Invite {
            org: org(who),
            key: hex_key(who),
            role,
            expires_at,
            addrs: vec![],
        }))
        .expect("the founder invites")
}

/// The founder's consortium with everyone admitted up front but the
/// joiner, the late invitee and the stranger.
pub fn consortium() -> (EntryId, Store, SignedEntry) {
    let genesis = Entry {
        consortium: String::new(),
        author: hex_key(0),
        deps: vec![],
        issued_at: "2026-11-01T00:00:00Z".into(),
        action: Action::Genesis {
            name: "RAN".into(),
            org: org(0),
        },
    }
    .sign(&key(0));
    let cid = genesis.id();
    let mut founder = Store::new(0, cid, std::slice::from_ref(&genesis));
    for i in (1..HONEST)
        .filter(|i| *i != JOINER)
        .chain([REVOKED, ROGUE_ADMIN])
    {
        let role = if i == 1 || i == ROGUE_ADMIN {
            Role::Admin
        } else {
            Role::Member
        };
        let inv = invite(&mut founder, i, role, "2099-01-01T00:00:00Z".into());
        let a = admit(cid, i, &inv);
        let w = roster::witness(
            &founder.key,
            &cid,
            &{
                let mut v = founder.stored();
                v.push(a.verify(Some(&cid)).unwrap());
                v
            },
            a.id(),
            founder.now,
        )
        .expect("witnessed");
        founder.merge(vec![a, w]);
        assert!(
            founder.roster.is_live_member(&hex_key(i)),
            "{:?}",
            founder.roster.rejected
        );
    }
    founder.outbox = Default::default();
    (cid, founder, genesis)
}

/// What the revoking admin saw of `k`'s changes: per document, the
/// highest applied sequence number and its hash.
pub fn frontier_of(s: &Store, k: usize) -> Vec<KeyFrontier> {
    let author = key(k).public().to_bytes();
    let mut per_doc: BTreeMap<String, (u64, [u8; 32])> = BTreeMap::new();
    for (h, c) in &s.changes {
        if c.author == author && s.applied.contains(h) {
            let e = per_doc.entry(c.doc.clone()).or_insert((c.seq, *h));
            if c.seq > e.0 {
                *e = (c.seq, *h);
            }
        }
    }
    let docs: Vec<DocFrontier> = per_doc
        .into_iter()
        .map(|(doc, (count, last))| DocFrontier {
            doc,
            count,
            last: hex::encode(last),
        })
        .collect();
    if docs.is_empty() {
        return vec![];
    }
    vec![KeyFrontier {
        key: hex_key(k),
        docs,
    }]
}

pub fn seen_by(s: &Store, k: usize) -> Vec<String> {
    let mut ids: Vec<String> = s
        .entries
        .values()
        .filter(|e| e.entry.author == hex_key(k))
        .map(|e| e.id().to_hex())
        .collect();
    ids.sort();
    ids
}

pub fn revoke(s: &mut Store, k: usize, reason: &str) -> SignedEntry {
    let action = Action::Revoke {
        target: Target::Org { org: org(k).key },
        reason: reason.into(),
        seen: seen_by(s, k),
        frontier: frontier_of(s, k),
    };
    s.author_entry(action).expect("the revocation is accepted")
}
