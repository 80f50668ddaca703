//! The r2com node: the store, the library of signed records, the local
//! control API, the network, and `run`, which serves it.
//!
//! Flow of a write: the CLI sends a [`r2com_protocol::control::Request`] on
//! the control socket; [`control::dispatch`] calls the [`library::Library`],
//! which makes one signed automerge change per touched record, writes it
//! with the record and its search text in one atomic batch, and flushes the
//! store before the answer goes back.

pub mod apply;
pub mod config;
pub mod control;
pub mod feed;
pub mod frame;
pub mod identity;
pub mod library;
pub mod library_thread;
pub mod membership;
pub mod net;
pub mod open;
pub mod replica;
pub mod run;
pub mod store;
