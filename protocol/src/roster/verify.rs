//! Checking one entry on its own: size, encoding, signature, consortium and
//! the shape of its fields. The roster rules (who may do what, and when)
//! come after, in [`super::Roster::evaluate`].

use super::entry::{
    canonical_hex, Action, ConsortiumId, EntryId, OrgInfo, RosterError, SignedEntry, Target,
    VerifiedEntry, ROSTER_DOMAIN,
};
use super::{MAX_ADDRS, MAX_DEPS, MAX_ENTRY_BYTES, MAX_ROSTER_ENTRIES};
use crate::identity::{PublicKey, Signature};
use crate::ids::DocId;
use crate::record::validate_member_fields as vf;

/// Longest revocation reason, in bytes.
const MAX_REASON: usize = 1000;

fn key_hex(s: &str, what: &str) -> Result<PublicKey, RosterError> {
    if canonical_hex::<32>(s).is_none() {
        return Err(RosterError::Malformed(format!(
            "{what} is not 64 lower-case hex digits"
        )));
    }
    PublicKey::from_hex(s).map_err(|k| RosterError::Invalid(format!("{what}: {k}")))
}

/// Strictly ascending lower-case ids: one way to write a set.
fn id_set(ids: &[String], what: &str) -> Result<Vec<EntryId>, RosterError> {
    let parsed = ids
        .iter()
        .map(|d| EntryId::from_hex(d))
        .collect::<Result<Vec<_>, _>>()?;
    if parsed.windows(2).any(|w| w[0] >= w[1]) {
        return Err(RosterError::Malformed(format!(
            "{what} must be sorted and without repeats"
        )));
    }
    Ok(parsed)
}

impl SignedEntry {
    /// Decode from JSON bytes, bounded.
    pub fn decode(bytes: &[u8]) -> Result<SignedEntry, RosterError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(RosterError::Malformed("entry too large".into()));
        }
        serde_json::from_slice(bytes).map_err(|e| RosterError::Malformed(e.to_string()))
    }

    /// Check size, canonical encoding, signature, shape, and that the entry
    /// belongs to `consortium` (`None`: only a genesis entry is acceptable,
    /// and defines it).
    pub fn verify(&self, consortium: Option<&ConsortiumId>) -> Result<VerifiedEntry, RosterError> {
        let e = &self.entry;
        let bytes = e.canonical_bytes();
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(RosterError::Malformed("entry too large".into()));
        }
        let author = key_hex(&e.author, "author")?;
        let sig = canonical_hex::<64>(&self.signature).ok_or_else(|| {
            RosterError::Malformed("signature is not 128 lower-case hex digits".into())
        })?;
        let mut m = ROSTER_DOMAIN.to_vec();
        m.extend_from_slice(&bytes);
        author
            .verify(&m, &Signature(sig))
            .map_err(|_| RosterError::BadSignature)?;
        let id = e.id();
        let is_genesis = matches!(e.action, Action::Genesis { .. });
        match (is_genesis, consortium) {
            (true, Some(c)) if *c != id => {
                return Err(RosterError::OtherConsortium(format!(
                    "a second genesis {id}"
                )))
            }
            (true, _) => {
                if !e.consortium.is_empty() || !e.deps.is_empty() {
                    return Err(RosterError::Invalid(
                        "a genesis entry has no consortium and no deps".into(),
                    ));
                }
            }
            (false, None) => {
                return Err(RosterError::Invalid(
                    "not a genesis entry, and no consortium is known".into(),
                ))
            }
            (false, Some(c)) => {
                if e.consortium != c.to_hex() {
                    return Err(RosterError::OtherConsortium(e.consortium.clone()));
                }
            }
        }
        if e.deps.len() > MAX_DEPS {
            return Err(RosterError::Invalid(format!("more than {MAX_DEPS} deps")));
        }
        let deps = id_set(&e.deps, "deps")?;
        if !is_genesis && deps.is_empty() {
            return Err(RosterError::Invalid(
                "an entry must depend on at least the genesis".into(),
            ));
        }
        vf::timestamp(&e.issued_at).map_err(RosterError::Invalid)?;
        check_action(&e.action)?;
        Ok(VerifiedEntry {
            id,
            author,
            deps,
            signed: self.clone(),
        })
    }
}

fn check_action(action: &Action) -> Result<(), RosterError> {
    match action {
        Action::Genesis { name, org } => {
            vf::display_name(name).map_err(RosterError::Invalid)?;
            check_org(org)?;
        }
        Action::Invite(inv) => {
            check_org(&inv.org)?;
            key_hex(&inv.key, "invitee key")?;
            vf::timestamp(&inv.expires_at).map_err(RosterError::Invalid)?;
            if inv.addrs.len() > MAX_ADDRS
                || inv
                    .addrs
                    .iter()
                    .any(|a| a.len() > 256 || !a.starts_with('/'))
            {
                return Err(RosterError::Invalid(format!(
                    "at most {MAX_ADDRS} multiaddrs, each starting with /"
                )));
            }
        }
        Action::Admit { invite } | Action::Withdraw { invite } => {
            EntryId::from_hex(invite)?;
        }
        Action::Witness { admit } => {
            EntryId::from_hex(admit)?;
        }
        Action::Revoke {
            target,
            reason,
            seen,
            frontier,
        } => {
            if reason.len() > MAX_REASON {
                return Err(RosterError::Invalid("reason too long".into()));
            }
            match target {
                Target::Org { org } => vf::member_key(org).map_err(RosterError::Invalid)?,
                Target::Node { key } => {
                    key_hex(key, "revoked key")?;
                }
            }
            if seen.len() > MAX_ROSTER_ENTRIES {
                return Err(RosterError::Invalid("seen lists too many entries".into()));
            }
            id_set(seen, "seen")?;
            let mut keys = Vec::new();
            for f in frontier {
                keys.push(key_hex(&f.key, "frontier key")?.to_bytes());
                let mut docs = Vec::new();
                for d in &f.docs {
                    DocId::parse(&d.doc)
                        .map_err(|e| RosterError::Invalid(format!("frontier: {e}")))?;
                    if canonical_hex::<32>(&d.last).is_none() || d.count == 0 {
                        return Err(RosterError::Malformed(format!(
                            "frontier of {}: a count of at least 1 and a lower-case hex hash",
                            d.doc
                        )));
                    }
                    docs.push(d.doc.as_str());
                }
                if docs.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(RosterError::Malformed(
                        "frontier documents must be sorted and without repeats".into(),
                    ));
                }
            }
            if keys.windows(2).any(|w| w[0] >= w[1]) {
                return Err(RosterError::Malformed(
                    "frontier keys must be sorted and without repeats".into(),
                ));
            }
        }
        Action::SetRole { org, .. } => vf::member_key(org).map_err(RosterError::Invalid)?,
        Action::Erase {
            doc,
            organisation,
            reason,
            hashes,
        } => {
            DocId::parse(doc).map_err(|e| RosterError::Invalid(format!("erased record: {e}")))?;
            vf::member_key(organisation).map_err(RosterError::Invalid)?;
            if reason.len() > MAX_REASON {
                return Err(RosterError::Invalid("reason too long".into()));
            }
            let mut parsed = Vec::with_capacity(hashes.len());
            for h in hashes {
                parsed.push(canonical_hex::<32>(h).ok_or_else(|| {
                    RosterError::Malformed(
                        "an erased change hash is not 64 lower-case hex digits".into(),
                    )
                })?);
            }
            if parsed.windows(2).any(|w| w[0] >= w[1]) {
                return Err(RosterError::Malformed(
                    "erased change hashes must be sorted and without repeats".into(),
                ));
            }
        }
        Action::Reuse { doc } => {
            DocId::parse(doc).map_err(|e| RosterError::Invalid(format!("reused record: {e}")))?;
        }
    }
    Ok(())
}

fn check_org(org: &OrgInfo) -> Result<(), RosterError> {
    vf::member_key(&org.key).map_err(RosterError::Invalid)?;
    vf::display_name(&org.name).map_err(RosterError::Invalid)?;
    vf::country(&org.country).map_err(RosterError::Invalid)?;
    Ok(())
}
