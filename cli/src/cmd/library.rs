//! `import`, `export`, `search`, `verify`.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;

use r2com_protocol::control::{
    Dataset, ImportReport, RecordPage, Request, SearchHit, VerifyReport, MAX_EXPORT_PAGE,
};

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
    // Page after page, so that the node never holds the whole library in
    // one answer.
    let mut records = Vec::new();
    let mut after = None;
    loop {
        let page: RecordPage = ctx.ask(Request::ExportPage {
            after: after.take(),
            limit: MAX_EXPORT_PAGE,
        })?;
        records.extend(page.records);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let dataset = Dataset::from_records(records);
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

/// `demo-data`: the generated dataset, to standard output as it is (with
/// or without `--json`: it is JSON) or written to `out`.
pub fn demo_data(ctx: &Ctx, practices: u32, events: u32, seed: u64, out: Option<&Path>) -> Outcome {
    use r2com_node::demo_data;
    let data = demo_data::to_json(&demo_data::generate(practices, events, seed));
    match out {
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&data)
                .and_then(|()| stdout.flush())
                .context("writing")?;
            Ok(())
        }
        Some(path) => {
            files::write_atomically(path, &data)?;
            ctx.emit(&crate::render::Written {
                written: path.display().to_string(),
                bytes: data.len() as u64,
            })
        }
    }
}
