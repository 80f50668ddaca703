//! The consortium and its roster as stored: the entries, the roster they
//! evaluate to, and merging received entries (only what the protocol's
//! rules keep is stored and relayed: [`r2com_protocol::roster::merge_entries`]).

use std::sync::Arc;

use r2com_protocol::envelope::Scope;
use r2com_protocol::roster::{
    merge_entries, ConsortiumId, EntryId, Roster, SignedEntry, VerifiedEntry,
};

use super::{Batch, Library, LibraryError};
use crate::store::{keys, Write};

pub(crate) const META_CONSORTIUM: &str = "consortium";
/// The roster format of the stored entries (2: issue 13's rules).
pub(crate) const META_ROSTER_FORMAT: &str = "roster-format";
const ROSTER_FORMAT: &[u8] = b"2";

/// What merging received roster entries did.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub added: u64,
    /// Entries that do not decode, verify or belong here (the sender's
    /// fault).
    pub invalid: Vec<String>,
    /// Well-formed entries the rules refuse (not stored).
    pub refused: Vec<String>,
    /// Some entries wait for a dependency (not stored).
    pub pending: bool,
}

impl Library {
    pub(crate) fn consortium_id(&self) -> Result<Option<ConsortiumId>, LibraryError> {
        match self
            .store
            .get(&keys::key(keys::META, META_CONSORTIUM.as_bytes()))?
        {
            None => Ok(None),
            Some(b) => {
                let s = String::from_utf8(b)
                    .map_err(|_| LibraryError::Corrupt("consortium id".into()))?;
                EntryId::from_hex(&s)
                    .map(Some)
                    .map_err(|e| LibraryError::Corrupt(e.to_string()))
            }
        }
    }

    /// The writes that make a store one of this roster format.
    pub(crate) fn roster_format_write() -> Write {
        (
            keys::key(keys::META, META_ROSTER_FORMAT.as_bytes()),
            Some(ROSTER_FORMAT.to_vec()),
        )
    }

    /// Refuse a store whose roster an older r2com wrote: its entries'
    /// signatures and ids follow other rules and cannot be converted
    /// (nobody can re-sign another node's entries).
    fn check_roster_format(&self) -> Result<(), LibraryError> {
        let meta = keys::key(keys::META, META_ROSTER_FORMAT.as_bytes());
        match self.store.get(&meta)? {
            Some(f) if f == ROSTER_FORMAT => Ok(()),
            _ => Err(LibraryError::OldFormat(
                "this data directory holds a consortium roster written by an older r2com \
                 (roster format 1), whose entry ids and admission rules this version no \
                 longer accepts. Export the records with the old version (`r2com export`), \
                 then found or join the consortium again in a new data directory and import \
                 them there."
                    .into(),
            )),
        }
    }

    pub(crate) fn stored_entries(
        &self,
        cid: &ConsortiumId,
    ) -> Result<Vec<VerifiedEntry>, LibraryError> {
        let mut out = Vec::new();
        for e in self.store.scan_prefix(&[keys::ROSTER, 0]) {
            let (_, v) = e?;
            let se = SignedEntry::decode(&v).map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            out.push(
                se.verify(Some(cid))
                    .map_err(|e| LibraryError::Corrupt(format!("stored roster entry: {e}")))?,
            );
        }
        Ok(out)
    }

    /// Re-read the consortium and re-evaluate the roster from the store;
    /// drop stored entries the rules no longer keep, and retract the
    /// changes the roster no longer allows.
    pub fn reload_roster(&self) -> Result<Option<Arc<Roster>>, LibraryError> {
        let Some(cid) = self.consortium_id()? else {
            return Ok(None);
        };
        self.check_roster_format()?;
        let stored = self.stored_entries(&cid)?;
        let roster = Roster::evaluate(&cid, &stored);
        let stale: Vec<Write> = stored
            .iter()
            .filter(|e| !roster.accepted.contains(&e.id))
            .map(|e| (keys::key(keys::ROSTER, e.id.to_hex().as_bytes()), None))
            .collect();
        if !stale.is_empty() {
            tracing::warn!(
                count = stale.len(),
                "dropping roster entries the rules no longer keep"
            );
            self.commit(Batch::of(stale))?;
        }
        Ok(Some(self.set_roster(&cid, roster)?))
    }

    /// Use `roster` from now on, and retract what it does not allow.
    fn set_roster(&self, cid: &ConsortiumId, roster: Roster) -> Result<Arc<Roster>, LibraryError> {
        let roster = Arc::new(roster);
        *self.scope.write().unwrap_or_else(|e| e.into_inner()) = Scope(cid.0);
        *self.roster.write().unwrap_or_else(|e| e.into_inner()) = Some(roster.clone());
        self.retract_disallowed(&roster)?;
        self.apply_erasures(&roster)?;
        Ok(roster)
    }

    pub(crate) fn entry_write(e: &SignedEntry) -> Write {
        (
            keys::key(keys::ROSTER, e.id().to_hex().as_bytes()),
            Some(e.encode()),
        )
    }

    /// Merge received entries: store (and relay) the new ones the rules
    /// keep, drop stored ones they no longer keep, nothing at all if any
    /// entry is invalid data. Committed before it returns.
    pub(crate) fn merge_roster_entries(
        &self,
        cid: &ConsortiumId,
        entries: Vec<SignedEntry>,
    ) -> Result<Merged, LibraryError> {
        let m = merge_entries(cid, &self.stored_entries(cid)?, entries);
        let mut out = Merged {
            added: m.store.len() as u64,
            invalid: m.invalid,
            refused: m.refused,
            pending: m.pending,
        };
        if !out.invalid.is_empty() {
            out.added = 0;
            return Ok(out);
        }
        if m.store.is_empty() && m.drop.is_empty() {
            return Ok(out);
        }
        let mut batch = Batch::default();
        for e in &m.store {
            batch.write(Self::entry_write(e));
            batch.entry(e.encode());
        }
        for id in &m.drop {
            batch.write((keys::key(keys::ROSTER, id.to_hex().as_bytes()), None));
        }
        self.commit(batch)?;
        self.set_roster(cid, m.roster)?;
        Ok(out)
    }
}
