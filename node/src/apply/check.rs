//! The check every received change passes before it is applied: the
//! protocol's [`r2com_protocol::roster::verify_batch`] (the function the
//! simulation calls too), on the history this node holds.

use std::collections::BTreeMap;

use r2com_protocol::envelope::SignedChange;
use r2com_protocol::ids::DocId;
use r2com_protocol::roster::verify_batch;

use super::cores::worker_threads;
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
        let threads = worker_threads();
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
        Ok(by_doc(verdict.accepted))
    }
}

/// Accepted changes grouped by their document, in arrival order.
pub(super) fn by_doc(accepted: Vec<Verified>) -> BTreeMap<DocId, Vec<Verified>> {
    let mut by_doc: BTreeMap<DocId, Vec<Verified>> = BTreeMap::new();
    for (sc, v) in accepted {
        by_doc.entry(sc.doc.clone()).or_default().push((sc, v));
    }
    by_doc
}
