//! `history`, `log`, `conflicts`, `resolve`.

use r2com_protocol::control::{
    ChangeInfo, Conflicts, Erased, History, Request, Resolution, Resolved,
};

use super::Ctx;
use crate::error::CliError;
use crate::Outcome;

pub fn history(ctx: &Ctx, record: String, diff: bool) -> Outcome {
    let h: History = ctx.ask(Request::History { record, diff })?;
    ctx.emit(&h)
}

pub fn log(ctx: &Ctx, since: Option<String>, org: Option<String>, limit: Option<usize>) -> Outcome {
    let changes: Vec<ChangeInfo> = ctx.ask(Request::Log { since, org, limit })?;
    ctx.emit(&changes)
}

pub fn erase(ctx: &Ctx, record: String, reason: String) -> Outcome {
    let e: Erased = ctx.ask(Request::Erase { record, reason })?;
    ctx.emit(&e)
}

pub fn conflicts(ctx: &Ctx) -> Outcome {
    let c: Conflicts = ctx.ask(Request::Conflicts)?;
    ctx.emit(&c)
}

pub fn resolve(
    ctx: &Ctx,
    record: String,
    field: String,
    keep: Option<u32>,
    value: Option<String>,
) -> Outcome {
    let resolution = match (keep, value) {
        (Some(n), _) => Resolution::Keep(n),
        (None, Some(v)) => Resolution::Value(v),
        (None, None) => return Err(CliError::usage("give --keep N or --value VALUE")),
    };
    let r: Resolved = ctx.ask(Request::Resolve {
        record,
        field,
        resolution,
    })?;
    ctx.emit(&r)
}
