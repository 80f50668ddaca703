//! Founding a consortium, inviting a node, taking up an invite.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};

use r2com_protocol::control::{Founded, InviteIssued, Joined};
use r2com_protocol::envelope::{Scope, SignedChange};
use r2com_protocol::roster::{Action, Entry, EntryId, Invite, OrgInfo, Role, SignedEntry};

use super::{bad, parse_node_key, ts, TOKEN_PREFIX};
use crate::library::{
    change_write, for_each_change, Batch, Library, LibraryError, META_CONSORTIUM,
};
use crate::store::{keys, Write};

/// Longest an invite may stay valid: an unused invite is a standing
/// admission, and one lasting years is a risk nobody watches.
pub const MAX_INVITE_DAYS: i64 = 366;

impl Library {
    /// Found a consortium with this node's organisation as its first admin.
    pub fn consortium_create(
        &self,
        name: &str,
        org: OrgInfo,
        now: DateTime<Utc>,
    ) -> Result<Founded, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = self.consortium_id()? {
            return Err(bad(format!("this node is already in consortium {c}")));
        }
        let genesis = Entry {
            consortium: String::new(),
            author: self.key.public().to_hex(),
            deps: vec![],
            issued_at: ts(now),
            action: Action::Genesis {
                name: name.to_owned(),
                org,
            },
        }
        .sign(&self.key);
        let cid = genesis.verify(None).map_err(|e| bad(e.to_string()))?.id;
        let mut writes = vec![
            Self::entry_write(&genesis),
            (
                keys::key(keys::META, META_CONSORTIUM.as_bytes()),
                Some(cid.to_hex().into_bytes()),
            ),
            Self::roster_format_write(),
        ];
        writes.extend(self.rescope_writes(&Scope(cid.0))?);
        self.commit(Batch::of(writes))?;
        self.reload_roster()?;
        Ok(Founded {
            consortium: cid.to_hex(),
            name: name.to_owned(),
        })
    }

    /// Re-sign this node's own changes for a new consortium scope (changes
    /// made before founding or joining).
    fn rescope_writes(&self, new: &Scope) -> Result<Vec<Write>, LibraryError> {
        let old = self.scope();
        let me = self.key.public();
        let mut writes = Vec::new();
        for_each_change(&*self.store, |_, read| {
            let c = read.map_err(LibraryError::Corrupt)?;
            let verified = c
                .signed
                .verify(&old)
                .map_err(|e| LibraryError::Corrupt(format!("{}: {e}", c.signed.doc)))?;
            if verified.author == me {
                let resigned = SignedChange::sign(&self.key, new, &verified.doc, verified.change);
                // In the form it is stored in.
                writes.push(change_write(
                    &verified.doc.to_key(),
                    &resigned,
                    &c.change,
                    c.detached,
                ));
            }
            Ok::<(), LibraryError>(())
        })?;
        Ok(writes)
    }

    /// Issue an invite token for a node key, valid for `expires_in` (at
    /// most [`MAX_INVITE_DAYS`]).
    pub fn invite(
        &self,
        org: OrgInfo,
        key: &str,
        role: Role,
        expires_in: Duration,
        addrs: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<InviteIssued, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self.require_admin()?;
        let invitee = parse_node_key(key)?;
        if expires_in <= Duration::zero() || expires_in > Duration::days(MAX_INVITE_DAYS) {
            return Err(bad(format!(
                "an invite expires within {MAX_INVITE_DAYS} days (--expires 7d, 12h, 30m)"
            )));
        }
        let expires_at = now
            .checked_add_signed(expires_in)
            .ok_or_else(|| bad("the invite's expiry is past the last date a clock can hold"))?;
        let invite = Invite {
            org,
            key: invitee.to_hex(),
            role,
            expires_at: ts(expires_at),
            addrs,
        };
        let (signed, _) = self.add_entry(&cid, Action::Invite(invite.clone()), now)?;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed.encode())
        );
        Ok(InviteIssued {
            token,
            invite: signed.id().to_hex(),
            expires_at: invite.expires_at,
            key: invite.key,
        })
    }

    /// Take up an invite: store it and this node's admission.
    pub fn join(&self, token: &str, now: DateTime<Utc>) -> Result<Joined, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let invite = decode_token(token)?;
        let cid = EntryId::from_hex(&invite.entry.consortium)
            .map_err(|_| bad("the invite names no consortium"))?;
        let verified = invite
            .verify(Some(&cid))
            .map_err(|e| bad(format!("the invite does not verify: {e}")))?;
        let Action::Invite(inv) = &verified.entry().action else {
            return Err(bad("the token is not an invite"));
        };
        let me = self.key.public().to_hex();
        if inv.key != me {
            return Err(bad(format!(
                "this invite is for node key {}, not this node ({me})",
                inv.key
            )));
        }
        let expires =
            DateTime::parse_from_rfc3339(&inv.expires_at).map_err(|e| bad(e.to_string()))?;
        if now > expires {
            return Err(bad(format!("this invite expired at {}", inv.expires_at)));
        }
        match self.consortium_id()? {
            Some(c) if c != cid => {
                return Err(bad(format!("this node is already in consortium {c}")))
            }
            _ => {}
        }
        // Joining again (the first attempt reached nobody) hands in the
        // same admission: one admit per invite.
        let admit = match self.own_admission_entries()? {
            Some(own)
                if own.iter().any(|e| {
                    matches!(&e.entry.action, Action::Admit { invite } if *invite == verified.id.to_hex())
                }) =>
            {
                own.into_iter()
                    .find(|e| matches!(e.entry.action, Action::Admit { .. }))
                    .expect("found")
            }
            _ => Entry {
                consortium: cid.to_hex(),
                author: me,
                deps: vec![verified.id.to_hex()],
                issued_at: ts(now),
                action: Action::Admit {
                    invite: verified.id.to_hex(),
                },
            }
            .sign(&self.key),
        };
        let mut writes: Vec<Write> = inv
            .addrs
            .iter()
            .filter(|a| a.parse::<libp2p::Multiaddr>().is_ok())
            .map(|a| {
                (
                    keys::key(keys::PEER_ADDR, a.as_bytes()),
                    Some(b"{}".to_vec()),
                )
            })
            .collect();
        // The invite and admission wait beside the roster until a member
        // witnesses them (members store only witnessed admissions).
        writes.extend([
            Self::own_admission_write(&[invite.clone(), admit]),
            (
                keys::key(keys::META, META_CONSORTIUM.as_bytes()),
                Some(cid.to_hex().into_bytes()),
            ),
            Self::roster_format_write(),
        ]);
        writes.extend(self.rescope_writes(&Scope(cid.0))?);
        self.commit(Batch::of(writes))?;
        let roster = self.reload_roster()?.expect("consortium known");
        Ok(Joined {
            consortium: cid.to_hex(),
            org: inv.org.key.clone(),
            role: inv.role,
            addrs: inv.addrs.clone(),
            admitted: roster.is_live_member(&self.key.public().to_hex()),
            admitted_by: None,
            dial_errors: Vec::new(),
        })
    }

    /// Remember a peer address (dialed by the running node, with backoff).
    pub fn add_peer_addr(&self, addr: &str) -> Result<(), LibraryError> {
        addr.parse::<libp2p::Multiaddr>()
            .map_err(|e| bad(format!("{addr:?} is not a multiaddr: {e}")))?;
        self.commit(Batch::of(vec![(
            keys::key(keys::PEER_ADDR, addr.as_bytes()),
            Some(b"{}".to_vec()),
        )]))
    }
}

/// The signed invite entry an invite token (`TOKEN_PREFIX` + base64) carries;
/// not yet verified.
pub(super) fn decode_token(token: &str) -> Result<SignedEntry, LibraryError> {
    let raw = token
        .trim()
        .strip_prefix(TOKEN_PREFIX)
        .ok_or_else(|| bad(format!("an invite token starts with {TOKEN_PREFIX}")))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| bad("the invite token is damaged (not base64)"))?;
    SignedEntry::decode(&bytes).map_err(|e| bad(format!("the invite token is damaged: {e}")))
}
