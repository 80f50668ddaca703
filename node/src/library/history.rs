//! `history` and `log`: who changed what, read from the stored signed
//! changes themselves (each signature checked again as it is shown).

use std::collections::BTreeMap;

use automerge::{AutoCommit, Change, ChangeHash};
use chrono::{DateTime, NaiveDate, Utc};

use r2com_protocol::control::{Author, AuthorStanding, ChangeInfo, History, SignatureCheck};
use r2com_protocol::envelope::SignedChange;
use r2com_protocol::history;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::roster::Roster;

use super::changes_read::split_key;
use super::{Library, LibraryError};
use crate::store::keys;

/// A stored change, decoded but not yet described.
struct Signed {
    envelope: SignedChange,
    change: Change,
}

impl Library {
    /// The record `reference` names: `practice/ID`, `event/ID`, or a bare
    /// ID held by exactly one kind (deleted records included).
    pub fn resolve_reference(&self, reference: &str) -> Result<DocId, LibraryError> {
        if reference.contains('/') {
            let doc =
                DocId::parse(reference).map_err(|e| LibraryError::BadRequest(e.to_string()))?;
            return match self.doc_state(&doc)? {
                Some(_) => Ok(doc),
                None => Err(LibraryError::NotFound {
                    kind: doc.kind(),
                    id: doc.record_id().to_owned(),
                }),
            };
        }
        let mut found = Vec::new();
        for kind in RecordKind::ALL {
            let doc = super::doc_id(kind, reference)?;
            if self.doc_state(&doc)?.is_some() {
                found.push(doc);
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(LibraryError::NoRecord(reference.to_owned())),
            _ => Err(LibraryError::BadRequest(format!(
                "both a practice and an event have the id {reference:?}: write practice/{reference} or event/{reference}"
            ))),
        }
    }

    /// Every change of a record, oldest first (causal order), each with its
    /// author, signature check and the fields it changed.
    pub fn history(&self, reference: &str, diff: bool) -> Result<History, LibraryError> {
        let doc_id = self.resolve_reference(reference)?;
        let key = doc_id.to_key();
        let mut d = self
            .load_doc(&doc_id)?
            .ok_or_else(|| LibraryError::Corrupt(format!("{key} has no document")))?;
        let mut stored = self.stored_changes(&doc_id, &mut d)?;
        let roster = self.roster();
        let mut changes = Vec::new();
        for change in d.get_changes(&[]) {
            let Some(s) = stored.remove(&change.hash()) else {
                return Err(LibraryError::Corrupt(format!(
                    "{key}: change {} is in the document but not stored",
                    change.hash()
                )));
            };
            changes.push(self.change_info(roster.as_deref(), &doc_id, &mut d, &s, diff));
        }
        let record = self.record(&doc_id)?;
        Ok(History {
            record: key,
            title: record.as_ref().map(|r| r.title().to_owned()),
            deleted: record.is_none(),
            changes,
            waiting: stored.keys().map(ToString::to_string).collect(),
        })
    }

    /// The consortium's changes across all records, newest first (by the
    /// time their authors' nodes gave them): made since `since` (a day,
    /// `YYYY-MM-DD` UTC, or an RFC 3339 time), by keys of organisation
    /// `org`, at most `limit`.
    pub fn log(
        &self,
        since: Option<&str>,
        org: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<ChangeInfo>, LibraryError> {
        let since_ms = since.map(parse_since).transpose()?;
        let roster = self.roster();
        if let Some(o) = org {
            let known = roster
                .as_deref()
                .is_some_and(|r| r.orgs.iter().any(|m| m.info.key == o));
            if !known {
                return Err(LibraryError::BadRequest(format!(
                    "no member organisation {o:?} (see `r2com members`)"
                )));
            }
        }
        // Pick the changes first (cheap: no document is loaded, each entry
        // says its author and time), then describe only those shown,
        // loading each document once.
        let mut picked: Vec<(i64, DocId, [u8; 32])> = Vec::new();
        for entry in self.store.scan_prefix(&[keys::CHANGE, 0]) {
            let (k, v) = entry?;
            let Some((doc, hash)) = split_key(&k) else {
                continue;
            };
            let Ok(doc) = DocId::parse(&String::from_utf8_lossy(doc)) else {
                continue;
            };
            let Ok(meta) = super::Stored::decode(&v).and_then(|s| s.meta()) else {
                continue;
            };
            if since_ms.is_some_and(|s| meta.time < s) {
                continue;
            }
            if let Some(o) = org {
                let author = hex::encode(meta.author);
                let of_org = roster
                    .as_deref()
                    .and_then(|r| r.find_key(&author))
                    .is_some_and(|(m, _)| m.info.key == o);
                if !of_org {
                    continue;
                }
            }
            picked.push((meta.time, doc, hash));
        }
        picked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.2.cmp(&a.2)));
        if let Some(n) = limit {
            picked.truncate(n);
        }
        let mut by_doc: BTreeMap<DocId, Vec<usize>> = BTreeMap::new();
        for (i, (_, doc, _)) in picked.iter().enumerate() {
            by_doc.entry(doc.clone()).or_default().push(i);
        }
        let mut out: Vec<Option<ChangeInfo>> = vec![None; picked.len()];
        for (doc_id, idx) in by_doc {
            let Some(mut d) = self.load_doc(&doc_id)? else {
                continue;
            };
            // A change that does not read is left out (`verify` reports it).
            let mut stored = match self.stored_changes(&doc_id, &mut d) {
                Err(LibraryError::Corrupt(_)) => continue,
                r => r?,
            };
            let title = self.record(&doc_id)?.map(|r| r.title().to_owned());
            for i in idx {
                let Some(s) = stored.remove(&ChangeHash(picked[i].2)) else {
                    continue;
                };
                let mut info = self.change_info(roster.as_deref(), &doc_id, &mut d, &s, false);
                info.title = title.clone();
                out[i] = Some(info);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// The stored changes of a document by hash, read whole (detached ones
    /// from `d`, the document loaded).
    fn stored_changes(
        &self,
        doc: &DocId,
        d: &mut AutoCommit,
    ) -> Result<BTreeMap<ChangeHash, Signed>, LibraryError> {
        Ok(self
            .changes_in(doc, d)?
            .into_iter()
            .map(|c| {
                (
                    ChangeHash(c.hash),
                    Signed {
                        envelope: c.signed,
                        change: c.change,
                    },
                )
            })
            .collect())
    }

    fn change_info(
        &self,
        roster: Option<&Roster>,
        doc_id: &DocId,
        d: &mut AutoCommit,
        s: &Signed,
        diff: bool,
    ) -> ChangeInfo {
        let hash = s.change.hash();
        let signature = match s.envelope.verify(&self.scope()) {
            Ok(v) if v.doc == *doc_id => SignatureCheck::Valid,
            Ok(v) => SignatureCheck::Invalid(format!("signed for {}", v.doc)),
            Err(e) => SignatureCheck::Invalid(e.to_string()),
        };
        let key = hex::encode(s.change.actor_id().to_bytes());
        let (organisation, standing) = match roster.and_then(|r| r.find_key(&key).map(|f| (r, f))) {
            None => (None, AuthorStanding::Unknown),
            Some((r, (o, _))) => (
                Some(o.info.key.clone()),
                if r.is_live_member(&key) {
                    AuthorStanding::Member
                } else {
                    AuthorStanding::Revoked
                },
            ),
        };
        // A change waiting for a dependency is not in the document: it has
        // no effect to show yet.
        let (action, fields) = if d.get_change_meta_by_hash(&hash).is_some() {
            history::describe(d, doc_id.kind(), &s.change, diff)
        } else {
            (r2com_protocol::control::ChangeAction::Edited, Vec::new())
        };
        ChangeInfo {
            hash: hash.to_string(),
            record: doc_id.to_key(),
            title: None,
            at: history::rfc3339(s.change.timestamp()),
            author: Author {
                key,
                organisation,
                standing,
            },
            signature,
            action,
            fields,
            deps: s.change.deps().iter().map(ToString::to_string).collect(),
        }
    }
}

/// `YYYY-MM-DD` (the start of that day, UTC) or an RFC 3339 time, as
/// milliseconds since the epoch.
fn parse_since(s: &str) -> Result<i64, LibraryError> {
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        return Ok(t.timestamp_millis());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc).timestamp_millis())
        .map_err(|_| {
            LibraryError::BadRequest(format!(
                "--since {s:?}: write a day (2026-03-01) or an RFC 3339 time (2026-03-01T10:00:00Z)"
            ))
        })
}
