//! Administering the roster: members, revocation (with the revoked keys'
//! frontier), roles, and hand-over of the roster as a file.

use chrono::{DateTime, Utc};
use serde_json::Value;

use r2com_protocol::control::{
    Members, RejectedEntry, Revoked, RoleSet, RosterFile, RosterImported,
};
use r2com_protocol::envelope::SignedChange;
use r2com_protocol::roster::{Action, FrontierItem, Role, SignedEntry, Target};

use super::{bad, parse_node_key};
use crate::library::{Batch, Library, LibraryError};
use crate::store::keys;

impl Library {
    /// The roster as a member list.
    pub fn members(&self) -> Result<Members, LibraryError> {
        let roster = self
            .roster()
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        Ok(Members::from(&*roster))
    }

    /// An author's frontier: per document it wrote to, the hashes of its
    /// changes there in sequence order.
    fn frontier_of(&self, key: &str) -> Result<Vec<FrontierItem>, LibraryError> {
        let mut prefix = keys::key(keys::AUTHOR, key.as_bytes());
        prefix.push(0);
        let mut docs = Vec::new();
        for e in self.store.scan_prefix(&prefix) {
            let (k, _) = e?;
            docs.push(String::from_utf8_lossy(&k[prefix.len()..]).into_owned());
        }
        let mut out = Vec::new();
        for doc in docs {
            let mut mine: Vec<(u64, String)> = Vec::new();
            for e in self.store.scan_prefix(&keys::changes_of(&doc)) {
                let (_, env) = e?;
                let sc = SignedChange::decode(&env)
                    .map_err(|e| LibraryError::Corrupt(format!("{doc}: {e}")))?;
                let change = r2com_protocol::envelope::parse_change(&sc.change)
                    .map_err(|e| LibraryError::Corrupt(format!("{doc}: {e}")))?;
                if hex::encode(change.actor_id().to_bytes()) == key {
                    mine.push((change.seq(), hex::encode(change.hash().0)));
                }
            }
            mine.sort();
            out.push(FrontierItem {
                key: key.to_owned(),
                doc,
                hashes: mine.into_iter().map(|(_, h)| h).collect(),
            });
        }
        Ok(out)
    }

    /// Revoke an organisation (by short key) or one node key (hex or PeerId).
    pub fn revoke(
        &self,
        target: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Revoked, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self.require_admin()?;
        let roster = self.roster().expect("admin has a roster");
        let (target, struck): (Target, Vec<String>) =
            match roster.orgs.iter().find(|o| o.info.key == target) {
                Some(o) => (
                    Target::Org {
                        org: o.info.key.clone(),
                    },
                    o.keys.iter().map(|k| k.key.clone()).collect(),
                ),
                None => {
                    let key = parse_node_key(target)?.to_hex();
                    if roster.find_key(&key).is_none() {
                        return Err(bad(format!(
                            "no member organisation or node key {target:?}"
                        )));
                    }
                    (Target::Node { key: key.clone() }, vec![key])
                }
            };
        let mut frontier = Vec::new();
        for k in &struck {
            frontier.extend(self.frontier_of(k)?);
        }
        let (signed, _) = self.add_entry(
            &cid,
            Action::Revoke {
                target,
                reason: reason.to_owned(),
                frontier,
            },
            now,
        )?;
        Ok(Revoked {
            revoked: struck,
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

    /// Every stored roster entry, for hand-over to another node.
    pub fn roster_export(&self) -> Result<RosterFile, LibraryError> {
        let cid = self
            .consortium_id()?
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        let entries: Vec<SignedEntry> = self
            .stored_entries(&cid)?
            .into_iter()
            .map(|v| v.signed)
            .collect();
        Ok(RosterFile {
            consortium: cid.to_hex(),
            entries,
        })
    }

    /// Store the valid entries of a roster file. A node outside any
    /// consortium adopts the file's consortium only if the file holds its
    /// genesis and this node's own admission is possible later (join).
    pub fn roster_import(&self, data: Value) -> Result<RosterImported, LibraryError> {
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
        let mut writes = Vec::new();
        let mut refused = Vec::new();
        let mut added = 0;
        for e in entries {
            match e.verify(Some(&cid)) {
                Ok(v) => {
                    let k = keys::key(keys::ROSTER, v.id.to_hex().as_bytes());
                    if self.store.get(&k)?.is_none() {
                        added += 1;
                        writes.push(Self::entry_write(&e));
                    }
                }
                Err(err) => refused.push(format!("{}: {err}", e.id().to_hex())),
            }
        }
        self.commit(Batch::of(writes))?;
        let roster = self.reload_roster()?.expect("consortium known");
        Ok(RosterImported {
            added,
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
}
