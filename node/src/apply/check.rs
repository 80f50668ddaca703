//! The check every received change passes before it is applied: the
//! protocol's [`r2com_protocol::roster::verify_batch`] (the function the
//! simulation calls too), on the history this node holds.

use std::collections::BTreeMap;

use r2com_protocol::envelope::SignedChange;
use r2com_protocol::ids::DocId;
use r2com_protocol::roster::verify_batch;

use super::{ApplyReport, Verified};
use crate::library::{Library, LibraryError, StoredHistory};

impl Library {
    /// Check received changes: refused ones (invalid) and those whose author
    /// may not write are counted in `report`; duplicates are skipped; the
    /// rest come back grouped by document.
    pub(super) fn check(
        &self,
        changes: Vec<SignedChange>,
        report: &mut ApplyReport,
    ) -> Result<BTreeMap<DocId, Vec<Verified>>, LibraryError> {
        let scope = self.scope();
        let roster = self.roster();
        // Signature checks are independent: on several cores when many.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let verdict = verify_batch(
            &scope,
            roster.as_deref(),
            changes,
            &StoredHistory(self),
            threads,
        );
        report.duplicates += verdict.duplicates;
        for why in verdict.invalid {
            report.refuse(why);
        }
        report.not_allowed.extend(verdict.not_allowed);
        let mut by_doc: BTreeMap<DocId, Vec<Verified>> = BTreeMap::new();
        for (sc, v) in verdict.accepted {
            by_doc.entry(sc.doc.clone()).or_default().push((sc, v));
        }
        Ok(by_doc)
    }
}
