//! Consortium membership on a node: founding, invites, joining, roles,
//! revocation, roster hand-over, and accepting library changes from other
//! members (only when their author may write, per the roster).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use automerge::AutoCommit;
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use r2com_protocol::doc;
use r2com_protocol::envelope::{Scope, SignedChange};
use r2com_protocol::identity::PublicKey;
use r2com_protocol::ids::DocId;
use r2com_protocol::roster::{
    Action, ConsortiumId, Entry, EntryId, FrontierItem, Invite, OrgInfo, Role, Roster, SignedEntry,
    Target, VerifiedEntry,
};

use crate::library::{author_index, heads_hex, DocState, Library, LibraryError};
use crate::store::{keys, Write};

/// Prefix of invite tokens.
pub const TOKEN_PREFIX: &str = "r2com-invite:";
/// Most changes one `changes import` may carry.
pub const MAX_IMPORT_CHANGES: usize = 200_000;

const META_CONSORTIUM: &str = "consortium";

fn ts(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn bad(msg: impl Into<String>) -> LibraryError {
    LibraryError::BadRequest(msg.into())
}

/// A public key given as 64 hex digits or as a libp2p PeerId.
pub fn parse_node_key(s: &str) -> Result<PublicKey, LibraryError> {
    if let Ok(k) = PublicKey::from_hex(s) {
        return Ok(k);
    }
    let peer: libp2p_identity::PeerId = s.parse().map_err(|_| {
        bad(format!(
            "{s:?} is neither a 64-hex-digit public key nor a PeerId"
        ))
    })?;
    let mh = peer.as_ref();
    let pk = libp2p_identity::PublicKey::try_decode_protobuf(mh.digest())
        .map_err(|_| bad(format!("PeerId {s} does not embed its public key")))?;
    let ed = pk
        .try_into_ed25519()
        .map_err(|_| bad(format!("PeerId {s} is not an ed25519 key")))?;
    PublicKey::from_bytes(&ed.to_bytes()).map_err(|e| bad(format!("PeerId {s}: {e}")))
}

/// What `changes import` did.
#[derive(Debug, Default, Serialize)]
pub struct ApplyReport {
    pub received: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub refused: u64,
    /// Why changes were refused (first ones).
    pub refusals: Vec<String>,
    /// Well-formed changes whose author may not write per our roster
    /// (unknown, or revoked past its frontier): skipped, not applied. Not
    /// the sender's fault (an honest peer with an older roster relays
    /// them), unlike `refused`.
    pub not_allowed: Vec<String>,
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

    fn stored_entries(&self, cid: &ConsortiumId) -> Result<Vec<VerifiedEntry>, LibraryError> {
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

    /// Sign an entry depending on the current roster heads; evaluate the
    /// roster with it; store it only if the roster accepts it.
    fn add_entry(
        &self,
        cid: &ConsortiumId,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(SignedEntry, Arc<Roster>), LibraryError> {
        let roster = self
            .roster()
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        let mut deps: Vec<String> = roster.heads.iter().map(EntryId::to_hex).collect();
        if deps.is_empty() {
            deps.push(cid.to_hex());
        }
        deps.sort();
        let signed = Entry {
            consortium: cid.to_hex(),
            author: self.key.public().to_hex(),
            deps,
            issued_at: ts(now),
            action,
        }
        .sign(&self.key);
        let mut all = self.stored_entries(cid)?;
        all.push(signed.verify(Some(cid)).map_err(|e| bad(e.to_string()))?);
        let next = Roster::evaluate(cid, &all);
        if let Some(r) = next.rejected.iter().find(|r| r.id == signed.id().to_hex()) {
            return Err(bad(format!("refused by the roster rules: {}", r.reason)));
        }
        self.store.write(vec![Self::entry_write(&signed)])?;
        self.store.flush()?;
        self.to_outbox_entry(signed.encode());
        let roster = self.reload_roster()?.expect("consortium known");
        Ok((signed, roster))
    }

    fn require_admin(&self) -> Result<ConsortiumId, LibraryError> {
        let cid = self.consortium_id()?.ok_or_else(|| {
            bad("this node is not in a consortium (r2com consortium create, or r2com join)")
        })?;
        let roster = self.roster().ok_or_else(|| bad("no roster"))?;
        if !roster.is_admin(&self.key.public().to_hex()) {
            return Err(bad("only an admin of the consortium can do this"));
        }
        Ok(cid)
    }

    /// Found a consortium with this node's organisation as its first admin.
    pub fn consortium_create(
        &self,
        name: &str,
        org: OrgInfo,
        now: DateTime<Utc>,
    ) -> Result<Value, LibraryError> {
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
        ];
        writes.extend(self.rescope_writes(&Scope(cid.0))?);
        self.store.write(writes)?;
        self.store.flush()?;
        self.reload_roster()?;
        Ok(json!({"consortium": cid.to_hex(), "name": name}))
    }

    /// Re-sign this node's own changes for a new consortium scope (changes
    /// made before founding or joining).
    fn rescope_writes(&self, new: &Scope) -> Result<Vec<Write>, LibraryError> {
        let old = self.scope();
        let me = self.key.public();
        let mut writes = Vec::new();
        for e in self.store.scan_prefix(&[keys::CHANGE, 0]) {
            let (k, v) = e?;
            let sc = SignedChange::decode(&v).map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            let verified = sc
                .verify(&old)
                .map_err(|e| LibraryError::Corrupt(format!("{}: {e}", sc.doc)))?;
            if verified.author == me {
                let resigned = SignedChange::sign(&self.key, new, &verified.doc, verified.change);
                writes.push((k, Some(resigned.encode())));
            }
        }
        Ok(writes)
    }

    /// Issue an invite token for a node key.
    pub fn invite(
        &self,
        org: OrgInfo,
        key: &str,
        role: Role,
        expires_in: Duration,
        addrs: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<Value, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self.require_admin()?;
        let invitee = parse_node_key(key)?;
        let invite = Invite {
            org,
            key: invitee.to_hex(),
            role,
            expires_at: ts(now + expires_in),
            addrs,
        };
        let (signed, _) = self.add_entry(&cid, Action::Invite(invite.clone()), now)?;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed.encode())
        );
        Ok(
            json!({"token": token, "invite": signed.id().to_hex(), "expires_at": invite.expires_at, "key": invite.key}),
        )
    }

    /// Take up an invite: store it and this node's admission.
    pub fn join(&self, token: &str, now: DateTime<Utc>) -> Result<Value, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let raw = token
            .trim()
            .strip_prefix(TOKEN_PREFIX)
            .ok_or_else(|| bad(format!("an invite token starts with {TOKEN_PREFIX}")))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| bad("the invite token is damaged (not base64)"))?;
        let invite = SignedEntry::decode(&bytes)
            .map_err(|e| bad(format!("the invite token is damaged: {e}")))?;
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
        let admit = Entry {
            consortium: cid.to_hex(),
            author: me,
            deps: vec![verified.id.to_hex()],
            issued_at: ts(now),
            action: Action::Admit {
                invite: verified.id.to_hex(),
            },
        }
        .sign(&self.key);
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
        writes.extend([
            Self::entry_write(&invite),
            Self::entry_write(&admit),
            (
                keys::key(keys::META, META_CONSORTIUM.as_bytes()),
                Some(cid.to_hex().into_bytes()),
            ),
        ]);
        writes.extend(self.rescope_writes(&Scope(cid.0))?);
        self.store.write(writes)?;
        self.store.flush()?;
        let roster = self.reload_roster()?.expect("consortium known");
        Ok(json!({
            "consortium": cid.to_hex(),
            "org": inv.org.key,
            "role": inv.role,
            "addrs": inv.addrs,
            "admitted": roster.is_live_member(&self.key.public().to_hex()),
        }))
    }

    /// Remember a peer address (dialed by the running node, with backoff).
    pub fn add_peer_addr(&self, addr: &str) -> Result<(), LibraryError> {
        addr.parse::<libp2p::Multiaddr>()
            .map_err(|e| bad(format!("{addr:?} is not a multiaddr: {e}")))?;
        self.store.write(vec![(
            keys::key(keys::PEER_ADDR, addr.as_bytes()),
            Some(b"{}".to_vec()),
        )])?;
        self.store.flush()?;
        Ok(())
    }

    /// The roster as a member list.
    pub fn members(&self) -> Result<Value, LibraryError> {
        let roster = self
            .roster()
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        Ok(serde_json::to_value(&*roster).expect("roster serializes"))
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
    ) -> Result<Value, LibraryError> {
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
        Ok(json!({"revoked": struck, "entry": signed.id().to_hex()}))
    }

    /// Promote or demote an organisation.
    pub fn set_role(
        &self,
        org: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<Value, LibraryError> {
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
        Ok(json!({"org": org, "role": role, "entry": signed.id().to_hex()}))
    }

    /// Every stored roster entry, for hand-over to another node.
    pub fn roster_export(&self) -> Result<Value, LibraryError> {
        let cid = self
            .consortium_id()?
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        let entries: Vec<SignedEntry> = self
            .stored_entries(&cid)?
            .into_iter()
            .map(|v| v.signed)
            .collect();
        Ok(json!({"consortium": cid.to_hex(), "entries": entries}))
    }

    /// Store the valid entries of a roster file. A node outside any
    /// consortium adopts the file's consortium only if the file holds its
    /// genesis and this node's own admission is possible later (join).
    pub fn roster_import(&self, data: Value) -> Result<Value, LibraryError> {
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
        self.store.write(writes)?;
        self.store.flush()?;
        let roster = self.reload_roster()?.expect("consortium known");
        Ok(json!({
            "added": added,
            "refused": refused,
            "rejected_by_rules": roster.rejected,
            "pending": roster.pending,
            "admitted": roster.is_live_member(&self.key.public().to_hex()),
        }))
    }

    /// Store the entries that verify for `cid` and are new; re-evaluate the
    /// roster. Returns how many were added and why others were refused.
    pub(crate) fn store_roster_entries(
        &self,
        cid: &ConsortiumId,
        entries: Vec<SignedEntry>,
    ) -> Result<(u64, Vec<String>), LibraryError> {
        let mut writes = Vec::new();
        let mut refused = Vec::new();
        let mut added = 0;
        for e in entries {
            match e.verify(Some(cid)) {
                Ok(v) => {
                    let k = keys::key(keys::ROSTER, v.id.to_hex().as_bytes());
                    if self.store.get(&k)?.is_none() {
                        added += 1;
                        self.to_outbox_entry(e.encode());
                        writes.push(Self::entry_write(&e));
                    }
                }
                Err(err) => refused.push(format!("{}: {err}", e.id().to_hex())),
            }
        }
        if !writes.is_empty() {
            self.store.write(writes)?;
            self.store.flush()?;
            self.reload_roster()?;
        }
        Ok((added, refused))
    }

    /// Every stored signed change (hex envelopes), for hand-over.
    pub fn changes_export(&self) -> Result<Value, LibraryError> {
        let mut out = Vec::new();
        for e in self.store.scan_prefix(&[keys::CHANGE, 0]) {
            let (_, v) = e?;
            out.push(Value::String(hex::encode(v)));
        }
        let cid = self.consortium_id()?.map(|c| c.to_hex());
        Ok(json!({"consortium": cid, "changes": out}))
    }

    /// Accept changes from another member: each must decode, verify for
    /// this consortium, and be by an author the roster lets write. Accepted
    /// changes are applied and stored with their signatures; refused ones
    /// change nothing and are reported.
    pub fn changes_import(&self, data: Value) -> Result<ApplyReport, LibraryError> {
        let items = data
            .get("changes")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("not a changes file: expected {\"changes\": [hex, ...]}"))?;
        if items.len() > MAX_IMPORT_CHANGES {
            return Err(bad(format!(
                "more than {MAX_IMPORT_CHANGES} changes in one file"
            )));
        }
        let mut report = ApplyReport::default();
        let mut changes = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            report.received += 1;
            let decoded = item
                .as_str()
                .and_then(|s| hex::decode(s).ok())
                .ok_or_else(|| "not hex".to_owned())
                .and_then(|b| SignedChange::decode(&b).map_err(|e| e.to_string()));
            match decoded {
                Ok(sc) => changes.push(sc),
                Err(e) => report.refuse(format!("change #{i}: {e}")),
            }
        }
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.apply_remote(changes, &mut report)?;
        // For the operator, a change whose author may not write is refused.
        for why in std::mem::take(&mut report.not_allowed) {
            report.refuse(why);
        }
        Ok(report)
    }

    /// Verify, check membership, apply and store remote changes, grouped by
    /// document.
    /// Returns whether some document now waits for changes it lacks.
    pub fn apply_remote(
        &self,
        changes: Vec<SignedChange>,
        report: &mut ApplyReport,
    ) -> Result<bool, LibraryError> {
        let mut missing_deps = false;
        let scope = self.scope();
        let roster = self.roster();
        let mut by_doc: BTreeMap<
            DocId,
            Vec<(SignedChange, r2com_protocol::envelope::VerifiedChange)>,
        > = BTreeMap::new();
        // Signature checks are independent: spread them over the cores.
        let threads = if changes.len() >= 64 {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        let check = |sc: SignedChange| -> Result<Checked, LibraryError> {
            use r2com_protocol::sync::{check_change, ChangeRefusal};
            let key = sc.doc.to_key();
            let verified = match check_change(&scope, roster.as_deref(), &sc) {
                Ok(v) => v,
                Err(ChangeRefusal::Invalid(why)) => return Ok(Checked::Refused(why)),
                Err(ChangeRefusal::NotAllowed(why)) => return Ok(Checked::NotAllowed(why)),
            };
            if self
                .store
                .get(&keys::change(&key, &verified.hash.0))?
                .is_some()
            {
                return Ok(Checked::Duplicate);
            }
            Ok(Checked::Ok(Box::new((sc, verified))))
        };
        let checked: Vec<Result<Checked, LibraryError>> = if threads == 1 {
            changes.into_iter().map(check).collect()
        } else {
            let per = changes.len().div_ceil(threads);
            let mut parts: Vec<Vec<SignedChange>> = Vec::new();
            let mut it = changes.into_iter().peekable();
            while it.peek().is_some() {
                parts.push(it.by_ref().take(per).collect());
            }
            std::thread::scope(|s| {
                let handles: Vec<_> = parts
                    .into_iter()
                    .map(|part| {
                        let check = &check;
                        s.spawn(move || part.into_iter().map(check).collect::<Vec<_>>())
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("verify worker panicked"))
                    .collect()
            })
        };
        for c in checked {
            match c? {
                Checked::Ok(item) => {
                    let (sc, verified) = *item;
                    by_doc
                        .entry(sc.doc.clone())
                        .or_default()
                        .push((sc, verified));
                }
                Checked::Duplicate => report.duplicates += 1,
                Checked::Refused(why) => report.refuse(why),
                Checked::NotAllowed(why) => report.not_allowed.push(why),
            }
        }
        // All or nothing: one change that does not verify, and nothing from
        // this batch is applied. Changes whose author may not write are
        // skipped (see `ApplyReport::not_allowed`).
        if report.refused > 0 {
            return Ok(false);
        }
        // Documents are independent: build them on all cores, write here.
        let docs: Vec<(DocId, Vec<Verified>)> = by_doc.into_iter().collect();
        let threads = if docs.len() >= 32 {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        let outcomes: Vec<Result<DocOutcome, LibraryError>> = if threads == 1 {
            docs.iter()
                .map(|(d, items)| self.apply_doc(d, items))
                .collect()
        } else {
            let per = docs.len().div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = docs
                    .chunks(per)
                    .map(|part| {
                        s.spawn(move || {
                            part.iter()
                                .map(|(d, items)| self.apply_doc(d, items))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("apply worker panicked"))
                    .collect()
            })
        };
        let mut writes: Vec<Write> = Vec::new();
        for outcome in outcomes {
            let o = outcome?;
            if let Some(why) = o.refused {
                report.refuse(why);
                continue;
            }
            missing_deps |= o.missing_deps;
            report.applied += o.applied;
            for env in o.outbox {
                self.to_outbox(env);
            }
            writes.extend(o.writes);
            if writes.len() > 4000 {
                self.store.write(std::mem::take(&mut writes))?;
            }
        }
        self.store.write(writes)?;
        self.store.flush()?;
        Ok(missing_deps)
    }
}

type Verified = (SignedChange, r2com_protocol::envelope::VerifiedChange);

/// A received change after its checks.
enum Checked {
    Ok(Box<Verified>),
    Duplicate,
    Refused(String),
    NotAllowed(String),
}

/// What applying one document's changes produced.
struct DocOutcome {
    writes: Vec<Write>,
    outbox: Vec<Vec<u8>>,
    applied: u64,
    missing_deps: bool,
    /// Set when the changes were refused (nothing of them is written).
    refused: Option<String>,
}

impl Library {
    /// Apply verified changes to one document and compute the writes: the
    /// changes, their indexes, the record, its search text, the document
    /// state and (for documents with history) a snapshot.
    ///
    /// Only changes automerge could apply enter the hash index (what the
    /// summary, inventories and fetches see); one waiting for a missing
    /// dependency is stored but unannounced until that dependency arrives.
    fn apply_doc(&self, doc_id: &DocId, items: &[Verified]) -> Result<DocOutcome, LibraryError> {
        let key = doc_id.to_key();
        let refused = |why: String| DocOutcome {
            writes: Vec::new(),
            outbox: Vec::new(),
            applied: 0,
            missing_deps: false,
            refused: Some(why),
        };
        let existing = self.load_doc(doc_id)?;
        let existed = existing.is_some();
        let mut d = existing.unwrap_or_else(AutoCommit::new);
        let had_waiting = !d.get_missing_deps(&[]).is_empty();
        let changes: Vec<automerge::Change> = items.iter().map(|(_, v)| v.change.clone()).collect();
        match catch_unwind(AssertUnwindSafe(|| d.apply_changes(changes))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Ok(refused(format!(
                    "{key}: automerge refused the changes: {e}"
                )))
            }
            Err(_) => return Ok(refused(format!("{key}: automerge panicked on the changes"))),
        }
        let mut writes = match self.doc_writes(doc_id, &mut d, existed || items.len() > 1)? {
            Ok(w) => w,
            Err(why) => return Ok(refused(why)),
        };
        // Nothing waits (the usual case): all of them applied, no need to ask
        // automerge change by change (costly: it rebuilds each change).
        let all_applied = d.get_missing_deps(&[]).is_empty();
        let mut outbox = Vec::with_capacity(items.len());
        for (sc, v) in items {
            let env = sc.encode();
            writes.push((keys::change(&key, &v.hash.0), Some(env.clone())));
            writes.push(author_index(
                &v.author.to_hex(),
                &key,
                v.change.seq(),
                &v.hash.0,
            ));
            if all_applied || d.get_change_meta_by_hash(&v.hash).is_some() {
                writes.push(crate::library::hash_index(&key, &v.hash.0));
            }
            outbox.push(env);
        }
        if had_waiting {
            // Stored changes that waited for one of these now apply.
            writes.extend(self.index_applied(&key, &mut d, &[])?);
        }
        Ok(DocOutcome {
            writes,
            outbox,
            applied: items.len() as u64,
            missing_deps: !all_applied,
            refused: None,
        })
    }

    /// Hash-index writes for the stored changes of `key` (but `skip`):
    /// indexed if `d` has applied them, unindexed if they wait.
    fn index_applied(
        &self,
        key: &str,
        d: &mut AutoCommit,
        skip: &[[u8; 32]],
    ) -> Result<Vec<Write>, LibraryError> {
        let prefix = keys::changes_of(key);
        let mut writes = Vec::new();
        for e in self.store.scan_prefix(&prefix) {
            let (k, _) = e?;
            let Ok(hash) = <[u8; 32]>::try_from(&k[prefix.len()..]) else {
                continue;
            };
            if skip.contains(&hash) {
                continue;
            }
            if d.get_change_meta_by_hash(&automerge::ChangeHash(hash))
                .is_some()
            {
                writes.push(crate::library::hash_index(key, &hash));
            } else {
                writes.push((keys::key(keys::HASH, &hash), None));
            }
        }
        Ok(writes)
    }

    /// The writes for a document's state after changes: its heads, the
    /// record and search text (or their removal), the event revision, and a
    /// snapshot if `snapshot` (none while a change waits for a dependency:
    /// it would leave that change out). `Err` if the document no longer
    /// holds a record of its own kind and id.
    fn doc_writes(
        &self,
        doc_id: &DocId,
        d: &mut AutoCommit,
        snapshot: bool,
    ) -> Result<Result<Vec<Write>, String>, LibraryError> {
        let key = doc_id.to_key();
        let record = match doc::read(d) {
            Ok(r) if r.doc_id() == *doc_id => Some(r),
            Ok(r) => return Ok(Err(format!("{key}: changes turn it into {}", r.doc_id()))),
            Err(_) => None,
        };
        let deleted = doc::is_deleted(d) || record.is_none();
        let visible = record.as_ref().filter(|_| !deleted);
        let mut writes = Vec::new();
        if self.record(doc_id)?.as_ref() != visible {
            writes.extend(self.revision_write(doc_id, Utc::now())?);
        }
        let state = DocState {
            heads: heads_hex(d),
            deleted,
        };
        writes.push((
            keys::doc(keys::DOC, &key),
            Some(serde_json::to_vec(&state).expect("state")),
        ));
        match visible {
            Some(r) => {
                writes.push((
                    keys::doc(keys::RECORD, &key),
                    Some(serde_json::to_vec(r).expect("record")),
                ));
                writes.push((
                    keys::doc(keys::SEARCH, &key),
                    Some(r.search_text().into_bytes()),
                ));
            }
            None => {
                writes.push((keys::doc(keys::RECORD, &key), None));
                writes.push((keys::doc(keys::SEARCH, &key), None));
            }
        }
        // A new document made of one change loads as fast from that change
        // as from a snapshot: skip the snapshot.
        if !d.get_missing_deps(&[]).is_empty() {
            writes.push((keys::doc(keys::SNAPSHOT, &key), None));
        } else if snapshot {
            writes.push((keys::doc(keys::SNAPSHOT, &key), Some(d.save())));
        }
        Ok(Ok(writes))
    }

    /// Remove the changes the roster no longer allows (a revoked key's
    /// changes that its revocation does not list: made after it, or before
    /// it but never seen by the revoking admin, or backdated forks) and
    /// rebuild their documents from the rest. Changes that depended on a
    /// removed one wait, unapplied and unannounced, like any change whose
    /// dependency is missing. Every node applies the same rule to the same
    /// roster, so they converge. Returns how many changes were removed.
    pub(crate) fn retract_disallowed(&self, roster: &Roster) -> Result<u64, LibraryError> {
        let mut removed_total = 0;
        let mut writes = Vec::new();
        let revoked = roster.orgs.iter().flat_map(|o| {
            o.keys
                .iter()
                .filter(move |k| o.revoked.is_some() || k.revoked.is_some())
        });
        for k in revoked {
            let Ok(author) = PublicKey::from_hex(&k.key) else {
                continue;
            };
            let mut prefix = keys::key(keys::AUTHOR, k.key.as_bytes());
            prefix.push(0);
            let mut docs = Vec::new();
            for e in self.store.scan_prefix(&prefix) {
                let (key, _) = e?;
                docs.push(String::from_utf8_lossy(&key[prefix.len()..]).into_owned());
            }
            for key in docs {
                let Ok(doc_id) = DocId::parse(&key) else {
                    continue;
                };
                let mut remove = Vec::new();
                let mut keep = Vec::new();
                for e in self.store.scan_prefix(&keys::changes_of(&key)) {
                    let (_, env) = e?;
                    let sc = SignedChange::decode(&env)
                        .map_err(|e| LibraryError::Corrupt(format!("{key}: {e}")))?;
                    let change = r2com_protocol::envelope::parse_change(&sc.change)
                        .map_err(|e| LibraryError::Corrupt(format!("{key}: {e}")))?;
                    let hash = change.hash().0;
                    let by_author = change.actor_id().to_bytes() == author.to_bytes();
                    if by_author
                        && roster
                            .check_change_author(&author, &key, change.seq(), &hash)
                            .is_err()
                    {
                        remove.push(hash);
                    } else {
                        keep.push(change);
                    }
                }
                if remove.is_empty() {
                    continue;
                }
                tracing::warn!(
                    doc = %key,
                    author = %k.key,
                    count = remove.len(),
                    "retracting changes of a revoked key that its revocation does not list"
                );
                removed_total += remove.len() as u64;
                for h in &remove {
                    writes.push((keys::change(&key, h), None));
                    writes.push((keys::key(keys::HASH, h), None));
                }
                let mut d = AutoCommit::new();
                d.apply_changes(keep)
                    .map_err(|e| LibraryError::Corrupt(format!("changes of {key}: {e}")))?;
                writes.extend(self.index_applied(&key, &mut d, &remove)?);
                match self.doc_writes(&doc_id, &mut d, true)? {
                    Ok(w) => writes.extend(w),
                    Err(why) => return Err(LibraryError::Corrupt(why)),
                }
            }
        }
        if !writes.is_empty() {
            self.store.write(writes)?;
            self.store.flush()?;
        }
        Ok(removed_total)
    }
}

impl ApplyReport {
    pub(crate) fn refuse(&mut self, why: String) {
        self.refused += 1;
        if self.refusals.len() < 50 {
            self.refusals.push(why);
        }
    }
}
