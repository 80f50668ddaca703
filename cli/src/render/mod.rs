//! How each answer looks to people ([`crate::output::Human`]); its
//! `--json` shape is its `Serialize`. One impl per type.

mod calendar;
mod files;
mod history;
mod library;
mod membership;
mod network;
mod node;
mod staff;

pub use calendar::Agenda;
pub use files::Shown;
pub use library::{Listed, Saved};
pub use node::{Identity, Initialised, Written};
