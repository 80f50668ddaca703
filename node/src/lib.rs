//! The r2com node: the store, the library of signed records, the local
//! control API, the network, and `run`, which serves it.
//!
//! # Layout
//!
//! * [`data_dir`] names what a data directory holds; [`config`] reads its
//!   `config.toml` (one file per section: `net`, `web`, `feed`, `sync`,
//!   `attachments`, `metrics`); [`open`] opens it as an [`open::OpenNode`]
//!   (key and store); [`run`] serves it (`r2com run`): the
//!   [`library_thread`], the control socket ([`control`], [`api`],
//!   [`frame`]), the web app and calendar feeds ([`web`]), the network
//!   ([`net`]) and the `/metrics` listener ([`metrics`]).
//! * [`store`]: the `Store` trait, sled and in-memory stores, and the
//!   failpoint wrapper tests use.
//! * [`library`]: records, their automerge documents and signed changes in
//!   the store; local writes, reads, search, verify; the roster as stored;
//!   and `library::commit`, the one way a batch of writes becomes durable
//!   and then announced.
//! * [`membership`]: the operator's roster actions (found, invite, join,
//!   roles, revoke, hand-over, a rotated key's admission and
//!   self-revocation) and admission over the network.
//! * [`rotation`]: `key rotate` on the running node: the key files, the
//!   member's confirmation, the switch and restart, and recovery at start.
//! * [`apply`]: the one step that applies received changes, from a peer or
//!   a file.
//! * [`replica`]: the library as the protocol's sync machine sees it.
//! * [`net`]: the libp2p swarm and the event loop (`net/event_loop/`) that
//!   drives the sync machine, and serves and fetches files.
//! * [`files`]: files attached to records: the content-addressed store
//!   (`files/store/`: ingesting a file, piece outlines), serving members,
//!   fetching from them.
//! * [`backup`]: `backup` and `restore` of the store (and the files held).
//! * [`demo_data`]: the generated demo library (`r2com demo-data`).
//!
//! Dependencies point one way: `library` depends on `store` only;
//! `membership` and `apply` on `library`; `replica` on those; `net` on
//! `replica` and the library thread.
//!
//! # How a CLI edit flows
//!
//! 1. `r2com practice edit ...` (cli) sends a
//!    [`r2com_protocol::control::Request::Edit`] on the control socket.
//! 2. `control::serve` -> `control::handle` reads the frame and hands it to
//!    the library thread: `library_thread::LibraryHandle::call` (a bounded
//!    queue; the answer comes back on a oneshot).
//! 3. On that thread, [`api::dispatch`] calls
//!    `library::write::Library::edit`: it checks this node may write, loads
//!    the record's document (`library::doc::Library::load_doc`), applies
//!    the edits, and `Library::change_batch` signs one automerge change and
//!    builds the [`library::Batch`]: the change, its indexes, the record,
//!    the document state, plus the envelope to announce.
//! 4. `library::commit::Library::commit` writes the batch atomically,
//!    flushes the store, and only then puts the envelope in the outbox and
//!    wakes the network (`Library::announce` signals the `Notify` that
//!    `Library::committed` hands to the loop as `LibraryHandle::outbox`).
//!    A failed write or flush returns the error and announces nothing.
//! 5. The answer goes back to the CLI: the edit is acknowledged after it is
//!    durable.
//! 6. The network loop (`net::event_loop::Loop::run`) wakes, drives the
//!    sync machine with `Input::LocalWrites`; the machine takes the outbox
//!    (`replica::NodeReplica::take_outbox` -> `Library::take_outbox`) and
//!    queues a push to each connected member (`protocol::sync::push`); the
//!    loop sends the requests over libp2p.
//!
//! # How a received change flows
//!
//! 1. A peer's `Push` (or the answer to one of this node's fetches) arrives
//!    as a request-response event; `net::event_loop::Loop::on_sync` turns it
//!    into an `Input::Request` (or `Input::Response`).
//! 2. `Loop::drive` runs `SyncMachine::handle` on the library thread
//!    (`LibraryHandle::with`) with `replica::NodeReplica` as its replica.
//!    The machine checks who may ask (`protocol::sync::gate`: the peer's
//!    `Roster::standing`), decodes the batch and calls `Replica::apply`
//!    (`protocol::sync::serve`).
//! 3. `NodeReplica::apply` calls `apply::Library::apply` with the peer as
//!    the origin: roster entries first (`Library::merge_roster_entries`:
//!    the protocol's `merge_entries` keeps what the rules keep, committed
//!    on their own), then every envelope is decoded and checked
//!    (`apply::check`, the protocol's `roster::verify_batch`: signature for
//!    this consortium, author allowed by the roster), and only if the whole
//!    batch is valid each document is built (`apply::doc::Library::apply_doc`,
//!    in parallel) into one `Batch::relayed_from(origin)`.
//! 4. `Library::commit` writes and flushes the batch, then announces the
//!    changes with their origin, so they are relayed to every other member
//!    and never pushed back to the sender.
//! 5. The machine answers the push (`Ack`), or treats invalid data as
//!    misbehaviour and disconnects the peer; the loop carries out its
//!    outputs and, woken by the commit, pushes the relayed changes on.

pub mod api;
pub mod apply;
pub mod backup;
pub mod config;
pub mod control;
pub mod data_dir;
pub mod demo_data;
pub mod dir_lock;
pub mod files;
pub mod frame;
pub mod identity;
pub mod library;
pub mod library_thread;
pub mod membership;
pub mod metrics;
pub mod net;
pub mod open;
pub mod perms;
pub mod replica;
pub mod rotation;
pub mod run;
pub mod store;
pub mod web;

#[cfg(test)]
mod testing;
