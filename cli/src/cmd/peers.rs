//! `peer add`, `peers`, `sync`: the running node's network.

use r2com_protocol::control::{PeerAdded, Peers, Request, SyncResult};

use super::Ctx;
use crate::{client, Outcome};

pub fn add(ctx: &Ctx, addr: String) -> Outcome {
    let added: PeerAdded = ctx.ask(Request::PeerAdd { addr })?;
    ctx.emit(&added)
}

pub fn list(ctx: &Ctx) -> Outcome {
    let peers: Peers = ctx.ask(Request::Peers)?;
    ctx.emit(&peers)
}

pub fn sync(ctx: &Ctx, peer: Option<String>) -> Outcome {
    let results = rounds(ctx, peer, "{bar:40} {pos}/{len} changes fetched {elapsed}");
    ctx.emit(&results?)
}

/// Ask for rounds and wait for them; on a terminal, a bar shows the
/// changes fetched of those known missing.
pub(super) fn rounds(
    ctx: &Ctx,
    peer: Option<String>,
    template: &str,
) -> Result<Vec<SyncResult>, crate::error::CliError> {
    let bar = super::progress_bar(template);
    let results =
        client::ask_with_progress(&ctx.dir, Request::Sync { peer }, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
    bar.finish_and_clear();
    results
}
