//! `roster export|import` and `changes export|import`: hand-over by file.

use anyhow::Context;

use r2com_protocol::control::{ChangesFile, ChangesImported, Request, RosterFile, RosterImported};

use super::Ctx;
use crate::args::HandoverCmd;
use crate::{files, Outcome};

pub fn roster(ctx: &Ctx, cmd: HandoverCmd) -> Outcome {
    match cmd {
        HandoverCmd::Export { out } => {
            let file: RosterFile = ctx.ask(Request::RosterExport)?;
            ctx.export(out.as_deref(), &file, &one_line(&file)?)
        }
        HandoverCmd::Import { file } => {
            let data = files::read_json_file(&file)?;
            let report: RosterImported = ctx.ask(Request::RosterImport { data })?;
            ctx.emit(&report)
        }
    }
}

pub fn changes(ctx: &Ctx, cmd: HandoverCmd) -> Outcome {
    match cmd {
        HandoverCmd::Export { out } => {
            let file: ChangesFile = ctx.ask(Request::ChangesExport)?;
            ctx.export(out.as_deref(), &file, &one_line(&file)?)
        }
        HandoverCmd::Import { file } => {
            let data = files::read_json_file(&file)?;
            let report: ChangesImported = ctx.ask(Request::ChangesImport { data })?;
            ctx.emit(&report)
        }
    }
}

/// A hand-over file: compact JSON and a newline.
fn one_line<T: serde::Serialize>(v: &T) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(v).context("encoding")?;
    bytes.push(b'\n');
    Ok(bytes)
}
