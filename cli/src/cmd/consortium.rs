//! `consortium create`, `invite`, `join`, `members`, `revoke`, `withdraw`,
//! `promote`, `demote`.

use r2com_protocol::control::{
    Founded, InviteIssued, InviteWithdrawn, Joined, Members, Request, Revoked, RoleSet,
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
    ctx.emit(&joined)
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
