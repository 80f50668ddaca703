//! The consortium roster: signed, replicated membership data.
//!
//! The roster is a DAG of [`SignedEntry`]s. Every entry names the entries
//! its author had seen (`deps`), is bound to its consortium, and is signed
//! by its author's node key. The genesis entry founds the consortium; its id
//! is the consortium id. [`Roster::evaluate`] turns any set of entries into
//! the same roster on every node, whatever order they arrived in. "In an
//! entry's causal past" means reachable through `deps`; two entries neither
//! of which is in the other's past are concurrent.
//!
//! ## Rules
//! 1. **Ids.** An entry's id is the hash of its canonical bytes: its JSON
//!    with every hex field in lower case and every id list sorted (anything
//!    else does not verify). The signature is not part of it, so nobody can
//!    give an entry a second id. No id, timestamp or text decides any rule
//!    below (an author's own timestamp never counts; a witness's does, for
//!    expiry only).
//! 2. **Dependencies and bounds.** An entry counts once all its
//!    dependencies are present, and only if none of them is refused. A key
//!    signs at most [`MAX_ENTRIES_PER_AUTHOR`] entries and a roster holds at
//!    most [`MAX_ROSTER_ENTRIES`] (counted in topological order); entries
//!    beyond are refused.
//! 3. **Admission.** An admin's `invite` names a key; the invitee signs an
//!    `admit` with the invite in its causal past; the admission takes effect
//!    when a member (not the invitee) signs a `witness` of it with the admit
//!    in its past and a time no later than the invite's expiry. Members
//!    witness an admission when it is handed to them (by the invitee over
//!    the network, or in a roster file) and only before the expiry by their
//!    own clock. So expiry is judged by when a member learnt of the
//!    admission, never by the invitee's claim. A key belongs to one
//!    organisation (that of its first witnessed admission); an invite whose
//!    organisation has nobody admitted in the invite's past creates it, with
//!    the invite's role.
//! 4. **Authority.** `invite`, `withdraw`, `revoke` and `set_role` need an
//!    admin: the author's admission and an admin grant of its organisation
//!    (the genesis, the creating invite once witnessed, or a promotion) are
//!    in the entry's causal past, and no demotion in effect of the
//!    organisation is after that grant and before the entry (such an entry
//!    is refused) or concurrent with the entry (void: demotion wins). A
//!    `witness` needs a member; so does a `revoke` of the author's own key
//!    (rule 5a).
//! 5. **Revocation lists what it saw.** A `revoke` of a key or of an
//!    organisation (all its keys, present and future) lists every entry by
//!    the revoked keys that its author had seen. While it is in effect, any
//!    other entry by those keys is void (concurrent with it) or refused
//!    (after it), and an invite by a revoked key is void unless an
//!    admission of it was witnessed in the revocation's past: a revoked
//!    admin cannot act later, cannot backdate, and its unused invites die
//!    with it.
//!
//!    5a. **Self-revocation.** Any member, admin or not, may revoke its own
//!    key (`Target::Node` naming the author; never another key or an
//!    organisation). It is an ordinary revocation in every other respect
//!    (it lists what its author signed, carries a frontier, takes effect
//!    by the author's seniority, cannot remove the last admin), so it can
//!    only take power away from the key that signs it. Key rotation uses it:
//!    the old key, once its successor is admitted into the same
//!    organisation, revokes itself with the frontier of its changes.
//! 6. **Withdrawal.** An admin may `withdraw` an invite that was not used
//!    in the withdrawal's causal past; the invite is then void, and so is
//!    any admission of it (withdrawal wins over a concurrent admission).
//! 7. **What takes effect, by seniority.** A key's seniority is the depth
//!    (longest dependency chain from the genesis) of the first invite of it
//!    whose use a member witnessed; the founder's key is the most senior
//!    (depth 0) and so the last that can be removed against its will. No
//!    admin can make a key more senior than itself. Revocations,
//!    withdrawals and demotions take effect in causal order (one is judged
//!    only after every other in its causal past), and concurrent ones in
//!    order of their authors' seniority, most senior first, each judged
//!    only by those already in effect; those of equally senior authors are
//!    judged together (none voids another). Nobody can put an entry into
//!    another's causal past, so this order cannot be ground either. So of
//!    two admins revoking each other concurrently, the
//!    senior one's revocation holds and the junior's is void; equally
//!    senior ones both go. One that would leave no admin organisation with
//!    a live key does not take effect ("cannot remove the last admin").
//! 8. **Changes of revoked keys.** A revocation's frontier lists, per
//!    revoked key and document, how many of the key's changes its author
//!    had seen and the hash of the last one. The key's changes that stay
//!    valid are that change and the key's changes in its history; any other
//!    (a later one, or a backdated fork of an earlier one) is refused, and
//!    a node that holds one retracts it when it learns the revocation. A
//!    node that does not hold that history yet takes none of the key's
//!    earlier changes until it does. Where several revocations in effect
//!    strike a key, a change must be kept by all of them.
//! 9. **Erasure.** An `erase` names a record, its organisation and the
//!    hashes of the record's changes its author held; it is signed by a
//!    member of that organisation (admitted in its causal past) or by an
//!    admin (authority as in 4). A concurrent revocation of its author voids
//!    it, like any entry. While a valid erasure stands, every node deletes
//!    the record's changes and refuses any change of the record; a valid
//!    `reuse` by an admin with every erasure of the record in its causal
//!    past lets the id be used again by changes that do not build on
//!    erased ones (the erased ones stay refused).
//! 10. **Storing and relaying.** Nodes store and relay only entries the
//!     rules keep (valid ones, and void ones: valid where they were made,
//!     and needed by entries that depend on them). Refused entries,
//!     unwitnessed admissions and entries waiting for a dependency are not
//!     stored; a stored entry that the rules refuse later is dropped.
//!
//! Evaluation costs O(n log n) in the entries handed in plus a causal
//! index over those that pass a cheap first filter, of which there are at
//! most [`MAX_ROSTER_ENTRIES`] (a 2 MiB bit matrix).

mod admission;
mod batch;
mod entry;
mod eval;
mod facts;
mod filter;
mod frontier;
mod graph;
mod resolve;
mod rules;
mod state;
mod verify;

pub use admission::{
    admit, author_entry, decode_entries, merge_entries, witness, Admission, Merge,
    MAX_ADMISSION_ENTRIES,
};
pub use batch::{
    judge_doc_batch, verify_batch, verify_doc_batch, verify_doc_chunks, BatchVerdict,
    DocBatchVerdict,
};
pub use entry::{
    canonical_hex, Action, ConsortiumId, DocFrontier, Entry, EntryId, Invite, KeyFrontier, OrgInfo,
    Role, RosterError, SignedEntry, Target, VerifiedEntry, ROSTER_DOMAIN,
};
pub use frontier::{authored_history, ChangeGraph, ChangeNode, FrontierCache, History};
pub use state::{
    ChangeAuthority, Erasure, KeyState, MembershipError, OrgState, Rejected, Revocation, Roster,
    Standing,
};

/// Largest encoded entry (a revocation carries its frontier).
pub const MAX_ENTRY_BYTES: usize = 4 * 1024 * 1024;
/// Most dependencies an entry may name.
pub const MAX_DEPS: usize = 64;
/// Most addresses an invite may carry.
pub const MAX_ADDRS: usize = 16;
/// Most entries a roster holds (the most a sync summary lists).
pub const MAX_ROSTER_ENTRIES: usize = 4096;
/// Most entries one key may sign.
pub const MAX_ENTRIES_PER_AUTHOR: usize = 512;

#[cfg(test)]
mod tests;
