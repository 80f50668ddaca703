//! The consortium roster: signed, replicated membership data.
//!
//! The roster is a DAG of [`SignedEntry`]s. Every entry names the entries
//! its author had seen (`deps`), is bound to its consortium, and is signed
//! by its author's node key. The genesis entry founds the consortium; its id
//! is the consortium id. [`Roster::evaluate`] turns any set of entries into
//! the same roster on every node, whatever order they arrived in.
//!
//! ## Rules
//! 1. An entry counts only once all its dependencies are present.
//! 2. `invite`, `revoke` and `set_role` need authority: the author's key
//!    belongs to an admin organisation, and both the grant of that key and
//!    of that role are in the entry's causal past (its deps closure).
//! 3. `admit` is signed by the invitee; its authority is the invite in its
//!    causal past, which must itself be valid, for the same key, not
//!    expired at the admission's time, and not used before.
//! 4. Entries are applied in a topological order with ties broken by entry
//!    id, so concurrent conflicting entries resolve the same everywhere.
//! 5. Revocation wins: an entry that needs authority is void when its
//!    author's key or organisation is revoked or demoted by an entry that is
//!    concurrent with it (neither in the other's past). Evaluation repeats
//!    until the set of void entries is stable (bounded).
//! 6. The last admin cannot be removed: a revocation or demotion that would
//!    leave no admin organisation with a live key is rejected.
//! 7. A revoked key's library changes stay valid exactly as far as the
//!    revocation's frontier lists them (per document: the hash of each of
//!    the key's changes the revoking admin had seen, in sequence order);
//!    a later change, or a backdated one forking an earlier sequence
//!    number, is refused.

mod entry;
mod state;

pub use entry::{
    Action, ConsortiumId, Entry, EntryId, FrontierItem, Invite, OrgInfo, Role, RosterError,
    SignedEntry, Target, VerifiedEntry, MAX_ENTRY_BYTES,
};
pub use state::{KeyState, MembershipError, OrgState, Rejected, Roster};

#[cfg(test)]
mod tests;
