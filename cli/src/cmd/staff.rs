//! `user ...`, `web login-url`: the web app's staff accounts.

use r2com_protocol::control::{OneTimeLink, Request, StaffAccount, StaffAdded, StaffRemoved};

use super::Ctx;
use crate::args::{UserCmd, WebCmd};
use crate::Outcome;

pub fn user(ctx: &Ctx, cmd: UserCmd) -> Outcome {
    match cmd {
        UserCmd::Add { name, role } => {
            let added: StaffAdded = ctx.ask(Request::UserAdd { name, role })?;
            ctx.emit(&added)
        }
        UserCmd::List => {
            let users: Vec<StaffAccount> = ctx.ask(Request::UserList)?;
            ctx.emit(&users)
        }
        UserCmd::Role { name, role } => {
            let user: StaffAccount = ctx.ask(Request::UserRole { name, role })?;
            ctx.emit(&user)
        }
        UserCmd::Link { name } => {
            let link: OneTimeLink = ctx.ask(Request::UserLink { name })?;
            ctx.emit(&link)
        }
        UserCmd::Rm { name } => {
            let removed: StaffRemoved = ctx.ask(Request::UserRemove { name })?;
            ctx.emit(&removed)
        }
    }
}

pub fn web(ctx: &Ctx, cmd: WebCmd) -> Outcome {
    match cmd {
        WebCmd::LoginUrl { user } => {
            let link: OneTimeLink = ctx.ask(Request::WebLoginUrl { user })?;
            ctx.emit(&link)
        }
    }
}
