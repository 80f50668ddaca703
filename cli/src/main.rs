//! The `r2com` binary. `r2com run` starts the node; every other command is a
//! thin client of its control API (or works on the store directly while the
//! node is stopped).
//!
//! Exit codes: 0 success, 1 internal or I/O error, 2 bad command line,
//! 3 invalid input (nothing changed), 4 not found, 5 exists already,
//! 6 verification failed, 7 the node is not running (`peers`, `sync`).
//! Under `--json` an error is one object on standard output,
//! `{"error": {"code": "not_found", "message": "..."}}`, with the same
//! exit code (see [`error`]).

mod args;
mod client;
mod cmd;
mod error;
mod files;
mod output;
mod render;

use std::process::ExitCode;

use clap::Parser;

use args::Cli;
use error::CliError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return error::clap_failed(e),
    };
    let json = cli.json;
    // Files this process creates (the store, exports) are the owner's only.
    r2com_node::perms::private_umask();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(json),
    }
}

/// The result of a command.
pub type Outcome = Result<(), CliError>;
