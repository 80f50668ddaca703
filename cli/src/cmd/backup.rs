//! `backup`, `restore`, `verify --backup`.

use std::path::Path;

use anyhow::Context;

use r2com_node::backup;
use r2com_protocol::control::{ApiError, BackupReport, Request};

use super::Ctx;
use crate::Outcome;

/// Ask the node (running, or its store opened here) to write a backup,
/// with the files it holds unless `without_files`.
pub fn backup(ctx: &Ctx, out: &Path, without_files: bool) -> Outcome {
    // The running node writes the file: give it an absolute path.
    let out = std::path::absolute(out).context("the backup path")?;
    let report: BackupReport = ctx.ask(Request::Backup {
        out: out.display().to_string(),
        without_files,
    })?;
    if !ctx.json {
        eprintln!(
            "note: the node key is not in the backup; keep {} apart from it",
            r2com_node::identity::key_path(&ctx.dir).display()
        );
    }
    ctx.emit(&report)
}

/// Rebuild a stopped node's store from a backup.
pub fn restore(ctx: &Ctx, file: &Path) -> Outcome {
    let sock = r2com_node::data_dir::socket_path(&ctx.dir);
    if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
        return Err(ApiError::new(
            r2com_protocol::control::ErrorCode::Invalid,
            "the node is running: stop it, and restore into a data directory without a store",
        )
        .into());
    }
    let report = backup::restore(&ctx.dir, file).map_err(ApiError::from)?;
    ctx.emit(&report)
}

/// Check a backup file offline.
pub fn verify(ctx: &Ctx, file: &Path) -> Outcome {
    let report = backup::verify(file).map_err(ApiError::from)?;
    ctx.emit(&report)
}
