//! `peer add`, `peers`, `sync`: the running node's network.

use r2com_protocol::control::{PeerAdded, Peers, Request, SyncResult};

use super::Ctx;
use crate::Outcome;

pub fn add(ctx: &Ctx, addr: String) -> Outcome {
    let added: PeerAdded = ctx.ask(Request::PeerAdd { addr })?;
    ctx.emit(&added)
}

pub fn list(ctx: &Ctx) -> Outcome {
    let peers: Peers = ctx.ask(Request::Peers)?;
    ctx.emit(&peers)
}

pub fn sync(ctx: &Ctx, peer: Option<String>) -> Outcome {
    let results: Vec<SyncResult> = ctx.ask(Request::Sync { peer })?;
    ctx.emit(&results)
}
