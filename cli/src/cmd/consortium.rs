//! `consortium create`, `invite`, `join`, `members`, `revoke`, `withdraw`,
//! `promote`, `demote`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use r2com_node::data_dir::socket_path;
use r2com_protocol::control::{
    Founded, InviteIssued, InviteWithdrawn, Joined, Members, Request, Revoked, RoleSet, SyncOutcome,
};
use r2com_protocol::roster::{OrgInfo, Role};

use super::Ctx;
use crate::args::InviteArgs;
use crate::Outcome;

pub fn create(ctx: &Ctx, name: String, org: String, org_name: String, country: String) -> Outcome {
    let org = OrgInfo {
        key: org,
        name: org_name,
        country,
    };
    let founded: Founded = ctx.ask(Request::ConsortiumCreate { name, org })?;
    ctx.emit(&founded)
}

pub fn invite(ctx: &Ctx, a: InviteArgs) -> Outcome {
    let org = OrgInfo {
        key: a.org,
        name: a.org_name,
        country: a.country,
    };
    let issued: InviteIssued = ctx.ask(Request::Invite {
        org,
        key: a.key,
        admin: a.admin,
        expires_secs: i64::try_from(a.expires.as_secs()).unwrap_or(i64::MAX),
        addrs: a.addrs,
    })?;
    ctx.emit(&issued)
}

pub fn join(ctx: &Ctx, token: String) -> Outcome {
    let joined: Joined = ctx.ask(Request::Join { token })?;
    // On a terminal, with the node running, follow the first sync (the
    // clone of the library) as it happens; scripts get the answer at once
    // and run `sync` themselves.
    let running = std::os::unix::net::UnixStream::connect(socket_path(&ctx.dir)).is_ok();
    if std::io::stderr().is_terminal() && running && !joined.addrs.is_empty() {
        follow_first_sync(ctx);
    }
    ctx.emit(&joined)
}

/// How long `join` follows the first sync before leaving it to the node.
const FIRST_SYNC_WAIT: Duration = Duration::from_secs(120);

/// Ask for rounds with the connected members until one has run (the node
/// dials the inviting members and hands in the admission first), showing
/// the changes fetched.
fn follow_first_sync(ctx: &Ctx) {
    let started = Instant::now();
    while started.elapsed() < FIRST_SYNC_WAIT {
        let template = "{bar:40} {pos}/{len} changes fetched from the members {elapsed}";
        match super::peers::rounds(ctx, None, template) {
            Ok(results)
                if results
                    .iter()
                    .any(|r| matches!(r.result, SyncOutcome::Done(_))) =>
            {
                return
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(500)),
            Err(_) => return,
        }
    }
    eprintln!("the first sync is still running; `r2com status` shows how far it is");
}

pub fn members(ctx: &Ctx) -> Outcome {
    let members: Members = ctx.ask(Request::Members)?;
    ctx.emit(&members)
}

pub fn revoke(ctx: &Ctx, target: String, reason: String) -> Outcome {
    let revoked: Revoked = ctx.ask(Request::Revoke { target, reason })?;
    ctx.emit(&revoked)
}

pub fn withdraw(ctx: &Ctx, invite: String) -> Outcome {
    let withdrawn: InviteWithdrawn = ctx.ask(Request::InviteWithdraw { invite })?;
    ctx.emit(&withdrawn)
}

pub fn set_role(ctx: &Ctx, org: String, role: Role) -> Outcome {
    let set: RoleSet = ctx.ask(Request::SetRole { org, role })?;
    ctx.emit(&set)
}
