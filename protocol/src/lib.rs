//! The r2com protocol: everything that is pure, deterministic and reachable
//! by hostile input.
//!
//! * [`record`]: the Practice and Event records of DATA-MODEL.md and their
//!   validation, with errors that name the record and field at fault.
//! * [`doc`]: the mapping between a record and its own automerge document
//!   (one document per record; collaborative text only for the long fields
//!   that people edit together).
//! * [`identity`] and [`envelope`]: node keys and the signed, domain-separated
//!   change envelope that every change travels and is stored in.
//! * [`history`]: what each signed change did to its record, and the
//!   fields concurrent changes left with more than one value.
//! * [`rights`]: who may do what to a record (create, move to another
//!   organisation, delete), checked for every change on every node.
//! * [`search`]: case- and diacritic-insensitive ranked full-text matching.
//! * [`control`]: request/response types of the node's local control API.
//! * [`staff`]: names and roles of a node's local web app accounts.
//! * [`wire`] and [`sync`]: the messages between member nodes and the
//!   sans-IO sync machine that decides what to send and when.
//!
//! No sockets, no disk, no clock: time is always passed in.
//!
//! ```
//! use r2com_protocol::{doc, identity::NodeKey, record::Practice};
//! let key = NodeKey::from_seed([7; 32]);
//! let practice: Practice = serde_json::from_value(serde_json::json!({
//!     "id": "p-1", "title": "Mentoring after release", "summary": "", "body": "Week one.",
//!     "themes": ["mentoring"], "target_groups": ["released offenders"],
//!     "countries": ["FR"], "languages": ["fr"], "organisation": "lmds",
//!     "evidence": "promising", "contact": "team@example.org", "status": "draft",
//!     "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-01T10:00:00Z"
//! })).unwrap();
//! practice.validate().unwrap();
//! let (mut d, change) = doc::create(&key, &practice.clone().into(), 1_700_000_000_000).unwrap();
//! let signed = r2com_protocol::envelope::SignedChange::sign(
//!     &key, &r2com_protocol::envelope::Scope::UNAFFILIATED, &practice.doc_id(), change);
//! assert!(signed.verify(&r2com_protocol::envelope::Scope::UNAFFILIATED).is_ok());
//! assert_eq!(doc::read(&mut d).unwrap(), practice.into());
//! ```

pub mod calendar;
pub mod control;
pub mod doc;
pub mod envelope;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod history;
pub mod identity;
pub mod ids;
pub mod par;
pub mod record;
pub mod rights;
pub mod roster;
pub mod search;
pub mod staff;
pub mod sync;
pub mod wire;
