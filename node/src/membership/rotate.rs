//! The roster side of key rotation (see [`crate::rotation`] for the whole
//! procedure): admitting this node's next key into its own organisation
//! (phase 1, signed by the current key), and the old key's revocation of
//! itself with the frontier of its changes (phase 2, after the switch).

use chrono::{DateTime, Duration, Utc};

use r2com_protocol::identity::NodeKey;
use r2com_protocol::roster::{
    author_entry, witness, Action, ConsortiumId, Entry, Invite, OrgInfo, SignedEntry, Target,
};

use super::{bad, ts};
use crate::library::{Library, LibraryError};

/// How long the invite of the next key (by an admin node itself) runs:
/// it is witnessed at once, so only a clock step could make it matter.
const OWN_INVITE_VALIDITY: i64 = 24 * 3600;

/// What phase 1 did.
#[derive(Debug, PartialEq, Eq)]
pub enum NextKey {
    /// The next key is a live member of this node's organisation.
    Admitted,
    /// This node's organisation is not an admin: an admin must invite the
    /// next key into `org` first.
    NeedsInvite { org: OrgInfo },
}

impl Library {
    fn own_org(&self) -> Result<(ConsortiumId, String, bool), LibraryError> {
        let cid = self
            .consortium_id()?
            .ok_or_else(|| bad("this node is not in a consortium: there is no key to rotate"))?;
        let roster = self.roster().ok_or_else(|| bad("no roster"))?;
        let me = self.key.public().to_hex();
        let Some((org, _)) = roster.find_key(&me).filter(|_| roster.is_live_member(&me)) else {
            return Err(bad(
                "this node is not a live member of its consortium: only a member rotates its key",
            ));
        };
        Ok((cid, org.info.key.clone(), roster.is_admin(&me)))
    }

    /// Phase 1: admit `next` into this node's organisation. An admin node
    /// invites it itself; otherwise `token` must be an admin's invite of
    /// `next` into this organisation. `next` signs its admission and this
    /// node's current key witnesses it. Committed (and so pushed to the
    /// connected members) before it returns; nothing is stored if the rules
    /// refuse any of it.
    pub fn admit_next_key(
        &self,
        next: &NodeKey,
        token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<NextKey, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (cid, org, admin) = self.own_org()?;
        let next_hex = next.public().to_hex();
        let roster = self.roster().expect("a member has a roster");
        if roster.is_live_member(&next_hex) {
            return Ok(NextKey::Admitted);
        }
        if roster.find_key(&next_hex).is_some() {
            return Err(bad(format!(
                "the next key {next_hex} is revoked: remove node.key.next and rotate again"
            )));
        }
        let invite = match token {
            Some(t) => self.invite_of_token(&cid, t, &next_hex, &org)?,
            None if admin => {
                let info = roster
                    .orgs
                    .iter()
                    .find(|o| o.info.key == org)
                    .expect("own organisation")
                    .info
                    .clone();
                author_entry(
                    &self.key,
                    &cid,
                    &roster,
                    Action::Invite(Invite {
                        org: info,
                        key: next_hex.clone(),
                        role: roster
                            .orgs
                            .iter()
                            .find(|o| o.info.key == org)
                            .expect("own")
                            .role,
                        expires_at: ts(now + Duration::seconds(OWN_INVITE_VALIDITY)),
                        addrs: Vec::new(),
                    }),
                    now,
                )
            }
            None => {
                let info = roster.orgs.iter().find(|o| o.info.key == org);
                let info = info.expect("own organisation").info.clone();
                return Ok(NextKey::NeedsInvite { org: info });
            }
        };
        let admit = Entry {
            consortium: cid.to_hex(),
            author: next_hex.clone(),
            deps: vec![invite.id().to_hex()],
            issued_at: ts(now),
            action: Action::Admit {
                invite: invite.id().to_hex(),
            },
        }
        .sign(next);
        let mut all = self.stored_entries(&cid)?;
        for e in [&invite, &admit] {
            all.push(
                e.verify(Some(&cid))
                    .map_err(|e| bad(format!("the next key's admission: {e}")))?,
            );
        }
        let wit = witness(&self.key, &cid, &all, admit.id(), now)
            .map_err(|why| bad(format!("cannot witness the next key's admission: {why}")))?;
        let merged = self.merge_roster_entries(&cid, vec![invite, admit, wit])?;
        if let Some(why) = merged.invalid.into_iter().chain(merged.refused).next() {
            return Err(bad(format!("refused by the roster rules: {why}")));
        }
        let roster = self.roster().expect("consortium known");
        if !roster.is_live_member(&next_hex) {
            return Err(bad("the roster rules do not admit the next key"));
        }
        Ok(NextKey::Admitted)
    }

    /// An admin's invite token for `key` into `org` (this node's own).
    fn invite_of_token(
        &self,
        cid: &ConsortiumId,
        token: &str,
        key: &str,
        org: &str,
    ) -> Result<SignedEntry, LibraryError> {
        let invite = super::join::decode_token(token)?;
        let v = invite
            .verify(Some(cid))
            .map_err(|e| bad(format!("the invite does not verify here: {e}")))?;
        match v.action() {
            Action::Invite(inv) if inv.key == key && inv.org.key == org => Ok(invite),
            Action::Invite(inv) => Err(bad(format!(
                "this invite is for key {} into {:?}; the next key is {key}, of organisation {org:?}",
                inv.key, inv.org.key
            ))),
            _ => Err(bad("the token is not an invite")),
        }
    }

    /// Phase 2: `old`, this node's previous key, revokes itself, listing
    /// its roster entries and keeping all its changes (this node holds
    /// every one of them). Nothing to do if it is revoked already.
    pub fn revoke_old_key(&self, old: &NodeKey, now: DateTime<Utc>) -> Result<bool, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self
            .consortium_id()?
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        let roster = self.roster().ok_or_else(|| bad("no roster"))?;
        let old_hex = old.public().to_hex();
        if !roster.is_live_member(&old_hex) {
            return Ok(false);
        }
        if !roster.is_live_member(&self.key.public().to_hex()) {
            return Err(bad(
                "this node's key is not a live member: the old key stays until it is",
            ));
        }
        let mut seen: Vec<String> = self
            .stored_entries(&cid)?
            .iter()
            .filter(|e| e.entry().author == old_hex)
            .map(|e| e.id.to_hex())
            .collect();
        seen.sort();
        let frontier = self.frontier_of(&old_hex)?.into_iter().collect();
        let signed = author_entry(
            old,
            &cid,
            &roster,
            Action::Revoke {
                target: Target::Node { key: old_hex },
                reason: "key rotated".into(),
                seen,
                frontier,
            },
            now,
        );
        let id = signed.id();
        let merged = self.merge_roster_entries(&cid, vec![signed])?;
        if let Some(why) = merged.invalid.into_iter().chain(merged.refused).next() {
            return Err(bad(format!("refused by the roster rules: {why}")));
        }
        let roster = self.roster().expect("consortium known");
        if !roster.accepted.contains(&id) {
            return Err(bad("the roster rules do not keep the old key's revocation"));
        }
        Ok(true)
    }
}
