//! `attach`, `detach`, `attachment list`, `attachment get`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;

use r2com_protocol::control::{Attached, AttachmentRow, Detached, FileWritten, Request};

use super::Ctx;
use crate::{client, Outcome};

/// An absolute path for the node (which reads or writes the file itself).
fn absolute(p: &Path) -> anyhow::Result<String> {
    let abs: PathBuf =
        std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?;
    abs.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not a UTF-8 path", abs.display()))
}

pub fn attach(
    ctx: &Ctx,
    id: String,
    file: &Path,
    title: Option<String>,
    language: Option<String>,
) -> Outcome {
    let path =
        std::fs::canonicalize(file).with_context(|| format!("reading {}", file.display()))?;
    let attached: Attached = ctx.ask(Request::Attach {
        id,
        path: absolute(&path)?,
        title,
        language,
    })?;
    ctx.emit(&attached)
}

pub fn detach(ctx: &Ctx, id: String, hash: String) -> Outcome {
    let detached: Detached = ctx.ask(Request::Detach { id, hash })?;
    ctx.emit(&detached)
}

pub fn list(ctx: &Ctx, missing: bool) -> Outcome {
    let rows: Vec<AttachmentRow> = ctx.ask(Request::Attachments { missing })?;
    ctx.emit(&rows)
}

pub fn get(ctx: &Ctx, hash: String, out: &Path) -> Outcome {
    let out = absolute(out)?;
    let bar = indicatif::ProgressBar::new(0);
    if !std::io::stderr().is_terminal() || ctx.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
        )
        .expect("template"),
    );
    let result: Result<FileWritten, _> = client::ask_with_progress(
        &ctx.dir,
        Request::AttachmentGet { hash, out },
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    );
    bar.finish_and_clear();
    ctx.emit(&result?)
}
