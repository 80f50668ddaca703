//! `import`, `export`, `search`, `verify`.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;

use r2com_protocol::control::{Dataset, ImportReport, Request, SearchHit, VerifyReport};

use super::Ctx;
use crate::{client, files, Outcome};

pub fn import(ctx: &Ctx, file: &Path) -> Outcome {
    let data = files::read_json_file(file)?;
    let bar = indicatif::ProgressBar::new(0);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records {elapsed}")
            .expect("template"),
    );
    let result: Result<ImportReport, _> =
        client::ask_with_progress(&ctx.dir, Request::Import { data }, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
    bar.finish_and_clear();
    ctx.emit(&result?)
}

pub fn export(ctx: &Ctx, out: Option<&Path>) -> Outcome {
    let dataset: Dataset = ctx.ask(Request::Export)?;
    let mut text = serde_json::to_string_pretty(&dataset).context("encoding")?;
    text.push('\n');
    ctx.export(out, &dataset, text.as_bytes())
}

pub fn search(ctx: &Ctx, query: String, limit: usize) -> Outcome {
    let hits: Vec<SearchHit> = ctx.ask(Request::Search { query, limit })?;
    ctx.emit(&hits)
}

pub fn verify(ctx: &Ctx) -> Outcome {
    let report: VerifyReport = ctx.ask(Request::Verify)?;
    ctx.emit(&report)
}
