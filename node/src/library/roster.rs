//! The consortium and its roster as stored: the entries, the roster they
//! evaluate to, and storing received entries.

use std::sync::Arc;

use r2com_protocol::envelope::Scope;
use r2com_protocol::roster::{ConsortiumId, EntryId, Roster, SignedEntry, VerifiedEntry};

use super::{Batch, Library, LibraryError};
use crate::store::{keys, Write};

pub(crate) const META_CONSORTIUM: &str = "consortium";

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

    /// Re-read the consortium and re-evaluate the roster from the store.
    pub fn reload_roster(&self) -> Result<Option<Arc<Roster>>, LibraryError> {
        let Some(cid) = self.consortium_id()? else {
            return Ok(None);
        };
        let roster = Arc::new(Roster::evaluate(&cid, &self.stored_entries(&cid)?));
        *self.scope.write().unwrap_or_else(|e| e.into_inner()) = Scope(cid.0);
        *self.roster.write().unwrap_or_else(|e| e.into_inner()) = Some(roster.clone());
        self.retract_disallowed(&roster)?;
        Ok(Some(roster))
    }

    pub(crate) fn entry_write(e: &SignedEntry) -> Write {
        (
            keys::key(keys::ROSTER, e.id().to_hex().as_bytes()),
            Some(e.encode()),
        )
    }

    /// Store the entries that verify for `cid` and are new; re-evaluate the
    /// roster. Returns how many were added and why others were refused.
    pub(crate) fn store_roster_entries(
        &self,
        cid: &ConsortiumId,
        entries: Vec<SignedEntry>,
    ) -> Result<(u64, Vec<String>), LibraryError> {
        let mut batch = Batch::default();
        let mut refused = Vec::new();
        let mut added = 0;
        for e in entries {
            match e.verify(Some(cid)) {
                Ok(v) => {
                    let k = keys::key(keys::ROSTER, v.id.to_hex().as_bytes());
                    if self.store.get(&k)?.is_none() {
                        added += 1;
                        batch.write(Self::entry_write(&e));
                        batch.entry(e.encode());
                    }
                }
                Err(err) => refused.push(format!("{}: {err}", e.id().to_hex())),
            }
        }
        if added > 0 {
            self.commit(batch)?;
            self.reload_roster()?;
        }
        Ok((added, refused))
    }
}
