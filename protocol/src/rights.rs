//! Who may do what to a record. Checked for every change, local or
//! received (directly or relayed), against the document as the change's
//! author saw it (the state at the change's dependencies), so every node
//! decides the same whatever order changes arrive in:
//!
//! * any member may edit a record's collaborative text, its tags (sets)
//!   and its other single-value fields: the library is shared work, and
//!   concurrent values are settled with `resolve`;
//! * creating a record, changing its `organisation` (practices) or
//!   `organiser` (events), and deleting or restoring it are for the
//!   record's organisation (the author's key belongs to it) or an admin;
//! * the organisation a member names must be one of the roster. An admin
//!   may also name an organisation that has not joined yet (seeding the
//!   library for partners before their nodes join).
//!
//! A change that breaks a rule is refused like a change by a non-member:
//! not applied, not relayed, and not held against the peer that relayed it.

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{AutoCommit, Change, ChangeHash, ReadDoc, ScalarValue, Value, ROOT};

use crate::ids::RecordKind;
use crate::roster::Roster;

/// Why a change may not be applied.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RightsError {
    /// The author is not allowed to do this to this record.
    #[error("{0}")]
    Forbidden(String),
    /// The change builds on changes this node does not hold yet: it can
    /// only be judged once they are here (it is fetched again).
    #[error("it builds on changes not received yet")]
    Early,
}

/// The field naming a record's organisation.
pub fn owner_field(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Practice => "organisation",
        RecordKind::Event => "organiser",
    }
}

/// What a change does that needs the record's organisation or an admin.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Privileged {
    /// It writes the record's kind (it creates the record).
    pub creates: bool,
    /// It writes the deleted flag.
    pub deletes_or_restores: bool,
    /// It writes the organisation: the new value.
    pub owner: Option<Option<String>>,
}

impl Privileged {
    pub fn any(&self) -> bool {
        self.creates || self.deletes_or_restores || self.owner.is_some()
    }
}

/// Whether a change chunk (uncompressed) to a record of `kind` may be
/// privileged: keys are plain strings in it, so a change that names none
/// of the privileged keys is not, without expanding its ops (a long text
/// edit has thousands).
pub fn may_be_privileged(kind: RecordKind, raw: &[u8]) -> bool {
    let names = |k: &str| raw.windows(k.len()).any(|w| w == k.as_bytes());
    ["type", "deleted", owner_field(kind)]
        .into_iter()
        .any(names)
}

/// The privileged parts of `change` to a record of `kind`.
pub fn privileged(kind: RecordKind, change: &Change) -> Privileged {
    let owner = owner_field(kind);
    let mut p = Privileged::default();
    if !may_be_privileged(kind, change.raw_bytes()) {
        return p;
    }
    for op in change.decode().operations {
        if op.obj != ObjectId::Root {
            continue;
        }
        let Key::Map(key) = &op.key else {
            continue;
        };
        match key.as_str() {
            "type" => p.creates = true,
            "deleted" => p.deletes_or_restores = true,
            k if k == owner => {
                p.owner = Some(match &op.action {
                    OpType::Put(ScalarValue::Str(s)) => Some(s.to_string()),
                    _ => None,
                })
            }
            _ => {}
        }
    }
    p
}

/// The record's organisation at `heads` (`None`: no record yet, or none
/// named). `Err(Early)` when the document lacks one of `heads`.
pub fn owner_at(
    doc: &AutoCommit,
    kind: RecordKind,
    heads: &[ChangeHash],
) -> Result<Option<String>, RightsError> {
    if heads.is_empty() {
        return Ok(None);
    }
    if heads.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
        return Err(RightsError::Early);
    }
    Ok(match doc.get_at(ROOT, owner_field(kind), heads) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    })
}

/// May `change` (to a record of `kind` held in `doc`, which must hold the
/// change's dependencies) be applied, per `roster`? The author's
/// membership is checked before (see [`crate::sync::check_change`]).
///
/// The roster only grows, and this check only ever allows more as it
/// grows (an organisation that was an admin at some point stays one here;
/// a revoked organisation stays nameable), so a change one node accepted
/// is never refused by another that knows more: nodes converge.
/// Revocation is the membership check's business.
pub fn check(
    roster: &Roster,
    doc: &AutoCommit,
    kind: RecordKind,
    change: &Change,
) -> Result<(), RightsError> {
    let author = hex::encode(change.actor_id().to_bytes());
    if roster.was_admin(&author) {
        // Admins may do all of it, naming any organisation.
        return Ok(());
    }
    let p = privileged(kind, change);
    if !p.any() {
        return Ok(());
    }
    let author_org = roster
        .find_key(&author)
        .map(|(o, _)| o.info.key.clone())
        .unwrap_or_else(|| "no organisation".into());
    let field = owner_field(kind);
    if let Some(new) = &p.owner {
        let Some(new) = new else {
            return Err(RightsError::Forbidden(format!(
                "a record must name its {field}"
            )));
        };
        if !roster.orgs.iter().any(|o| &o.info.key == new) {
            return Err(RightsError::Forbidden(format!(
                "{field} {new:?} is not an organisation of the roster"
            )));
        }
    }
    let before = owner_at(doc, kind, change.deps())?;
    let (owner, what) = match (&before, &p.owner) {
        // A new record: whose it says it is.
        (None, Some(new)) => (new.clone(), "create a record".to_owned()),
        (Some(old), Some(Some(new))) if old != new => {
            (Some(old.clone()), format!("change the {field} of a record"))
        }
        (before, _) if p.deletes_or_restores => {
            (before.clone(), "delete or restore a record".to_owned())
        }
        (before, _) => (before.clone(), "write this".to_owned()),
    };
    match owner {
        Some(o) if o == author_org => Ok(()),
        Some(o) => Err(RightsError::Forbidden(format!(
            "only {o} or an admin may {what} of {o} (the author is of {author_org})"
        ))),
        None => Err(RightsError::Forbidden(format!(
            "only the record's organisation or an admin may {what} (the author is of {author_org})"
        ))),
    }
}
