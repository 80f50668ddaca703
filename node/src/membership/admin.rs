//! Administering the roster: members, revocation (with what it saw of the
//! revoked keys and their compact frontier), withdrawal of invites, roles,
//! and hand-over of the roster as a file.

use chrono::{DateTime, Utc};
use serde_json::Value;

use std::collections::BTreeSet;

use r2com_protocol::control::{
    InviteWithdrawn, Members, RejectedEntry, Revoked, RoleSet, RosterFile, RosterImported,
};
use r2com_protocol::roster::{
    witness, Action, ConsortiumId, DocFrontier, EntryId, KeyFrontier, Role, Roster, SignedEntry,
    Target,
};

use super::{bad, parse_node_key};
use crate::library::{Library, LibraryError};
use crate::store::keys;

impl Library {
    /// The roster as a member list.
    pub fn members(&self) -> Result<Members, LibraryError> {
        let roster = self
            .roster()
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        Ok(Members::from(&*roster))
    }

    /// What a revocation keeps of `key`'s changes: per document it wrote
    /// to, the count and hash of its last change this node applied (the
    /// rest of what it keeps is that change's history).
    pub(super) fn frontier_of(&self, key: &str) -> Result<Option<KeyFrontier>, LibraryError> {
        let mut prefix = keys::key(keys::AUTHOR, key.as_bytes());
        prefix.push(0);
        let mut docs = Vec::new();
        for e in self.store.scan_prefix(&prefix) {
            let (k, _) = e?;
            docs.push(String::from_utf8_lossy(&k[prefix.len()..]).into_owned());
        }
        let mut out = Vec::new();
        for doc in docs {
            let mut last: Option<(u64, [u8; 32])> = None;
            for (hash, stored) in self.stored_of(&doc)? {
                let meta = stored
                    .meta()
                    .map_err(|e| LibraryError::Corrupt(format!("{doc}: {e}")))?;
                let applied = self.store.get(&keys::key(keys::HASH, &hash))?.is_some();
                if applied
                    && hex::encode(meta.author) == key
                    && last.is_none_or(|(s, _)| meta.seq > s)
                {
                    last = Some((meta.seq, hash));
                }
            }
            if let Some((count, hash)) = last {
                out.push(DocFrontier {
                    doc,
                    count,
                    last: hex::encode(hash),
                });
            }
        }
        out.sort_by(|a, b| a.doc.cmp(&b.doc));
        Ok((!out.is_empty()).then(|| KeyFrontier {
            key: key.to_owned(),
            docs: out,
        }))
    }

    /// Revoke an organisation (by short key) or one node key (hex or
    /// PeerId). The revocation lists every roster entry by the revoked keys
    /// this node holds, and keeps their changes up to what it applied.
    pub fn revoke(
        &self,
        target: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Revoked, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self.require_admin()?;
        let roster = self.roster().expect("admin has a roster");
        let stored = self.stored_entries(&cid)?;
        let (target, struck): (Target, BTreeSet<String>) =
            match roster.orgs.iter().find(|o| o.info.key == target) {
                Some(o) => {
                    // Its keys, and any key invited into it.
                    let mut keys: BTreeSet<String> = o.keys.iter().map(|k| k.key.clone()).collect();
                    keys.extend(stored.iter().filter_map(|e| match e.action() {
                        Action::Invite(inv) if inv.org.key == o.info.key => Some(inv.key.clone()),
                        _ => None,
                    }));
                    (
                        Target::Org {
                            org: o.info.key.clone(),
                        },
                        keys,
                    )
                }
                None => {
                    let key = parse_node_key(target)?.to_hex();
                    if roster.find_key(&key).is_none() {
                        return Err(bad(format!(
                            "no member organisation or node key {target:?}"
                        )));
                    }
                    (Target::Node { key: key.clone() }, BTreeSet::from([key]))
                }
            };
        let mut seen: Vec<String> = stored
            .iter()
            .filter(|e| struck.contains(&e.entry().author))
            .map(|e| e.id.to_hex())
            .collect();
        seen.sort();
        let mut frontier = Vec::new();
        for k in &struck {
            frontier.extend(self.frontier_of(k)?);
        }
        let (signed, _) = self.add_entry(
            &cid,
            Action::Revoke {
                target,
                reason: reason.to_owned(),
                seen,
                frontier,
            },
            now,
        )?;
        Ok(Revoked {
            revoked: struck.into_iter().collect(),
            entry: signed.id().to_hex(),
        })
    }

    /// Withdraw an open invite (one nobody has used yet) by its id.
    pub fn withdraw_invite(
        &self,
        invite: &str,
        now: DateTime<Utc>,
    ) -> Result<InviteWithdrawn, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self.require_admin()?;
        let roster = self.roster().expect("admin has a roster");
        let id = EntryId::from_hex(invite.trim()).map_err(|_| {
            bad(format!(
                "{invite:?} is not an invite id (64 lower-case hex digits)"
            ))
        })?;
        let Some(inv) = roster.invites.get(&id) else {
            return Err(bad(format!(
                "{invite} is not an open invite (unknown, used, or withdrawn already)"
            )));
        };
        let key = inv.key.clone();
        let (signed, _) = self.add_entry(
            &cid,
            Action::Withdraw {
                invite: id.to_hex(),
            },
            now,
        )?;
        Ok(InviteWithdrawn {
            invite: id.to_hex(),
            key,
            entry: signed.id().to_hex(),
        })
    }

    /// Promote or demote an organisation.
    pub fn set_role(
        &self,
        org: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<RoleSet, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self.require_admin()?;
        let (signed, _) = self.add_entry(
            &cid,
            Action::SetRole {
                org: org.to_owned(),
                role,
            },
            now,
        )?;
        Ok(RoleSet {
            org: org.to_owned(),
            role,
            entry: signed.id().to_hex(),
        })
    }

    /// Every stored roster entry (and this node's own admission while it
    /// waits), for hand-over to another node.
    pub fn roster_export(&self) -> Result<RosterFile, LibraryError> {
        let cid = self
            .consortium_id()?
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        let mut entries: Vec<SignedEntry> = self
            .stored_entries(&cid)?
            .into_iter()
            .map(|v| v.signed)
            .collect();
        let me = self.key.public().to_hex();
        if self.roster().is_some_and(|r| r.awaiting_admission(&me)) {
            entries.extend(self.own_admission_entries()?.unwrap_or_default());
        }
        Ok(RosterFile {
            consortium: cid.to_hex(),
            entries,
        })
    }

    /// Merge the entries of a roster file (only what the rules keep is
    /// stored). A member witnesses the admissions the file hands in whose
    /// invite has not expired (the way an invitee's admission reaches a
    /// member by file).
    pub fn roster_import(
        &self,
        data: Value,
        now: DateTime<Utc>,
    ) -> Result<RosterImported, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self
            .consortium_id()?
            .ok_or_else(|| bad("this node is not in a consortium: join with an invite first"))?;
        let file_cid = data
            .get("consortium")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if file_cid != cid.to_hex() {
            return Err(bad(format!(
                "the roster file is for consortium {file_cid:?}, this node is in {cid}"
            )));
        }
        let entries: Vec<SignedEntry> =
            serde_json::from_value(data.get("entries").cloned().unwrap_or(Value::Null))
                .map_err(|e| bad(format!("not a roster file: {e}")))?;
        let merged = self.merge_roster_entries(&cid, entries.clone())?;
        let (witnessed, stored) = self.witness_admissions(&cid, &entries, now)?;
        let roster = self.roster().expect("consortium known");
        let mut refused = merged.invalid;
        refused.extend(merged.refused.into_iter().filter(|r| {
            // Admissions this node witnessed were stored after all.
            !roster.accepted.iter().any(|id| r.starts_with(&id.to_hex()))
        }));
        Ok(RosterImported {
            added: merged.added + stored,
            witnessed,
            refused,
            rejected_by_rules: roster
                .rejected
                .iter()
                .map(|r| RejectedEntry {
                    id: r.id.clone(),
                    reason: r.reason.clone(),
                })
                .collect(),
            pending: roster.pending.clone(),
            admitted: roster.is_live_member(&self.key.public().to_hex()),
        })
    }

    /// Witness the unwitnessed admissions among `entries` (with their
    /// invites) if this node is a live member and the invites have not
    /// expired at `now`; returns how many admissions it witnessed and how
    /// many entries that stored.
    fn witness_admissions(
        &self,
        cid: &ConsortiumId,
        entries: &[SignedEntry],
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), LibraryError> {
        let me = self.key.public().to_hex();
        if !self.roster().is_some_and(|r| r.is_live_member(&me)) {
            return Ok((0, 0));
        }
        let mut stored = self.stored_entries(cid)?;
        let held: BTreeSet<EntryId> = stored.iter().map(|e| e.id).collect();
        stored.extend(
            entries
                .iter()
                .filter_map(|e| e.verify(Some(cid)).ok())
                .filter(|v| !held.contains(&v.id)),
        );
        let candidates = Roster::evaluate(cid, &stored).unwitnessed;
        let mut added = 0;
        let mut witnessed = 0;
        for admit in candidates {
            match witness(&self.key, cid, &stored, admit, now) {
                Ok(w) => {
                    let admission: Vec<SignedEntry> = stored
                        .iter()
                        .filter(|v| !held.contains(&v.id))
                        .map(|v| v.signed.clone())
                        .chain([w])
                        .collect();
                    let stored_now = self.merge_roster_entries(cid, admission)?.added;
                    witnessed += u64::from(stored_now > 0);
                    added += stored_now;
                    stored = self.stored_entries(cid)?;
                }
                Err(why) => tracing::info!(%admit, %why, "not witnessing an admission"),
            }
        }
        Ok((witnessed, added))
    }
}
