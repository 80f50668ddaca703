//! How a command fails: an [`ErrorCode`] (which gives the exit code) and
//! a message. People get `r2com: MESSAGE` on standard error; under `--json`
//! scripts get one JSON object on standard output,
//! `{"error": {"code": "invalid", "message": "..."}}`, so that standard
//! output always holds exactly one JSON document: the answer or the error.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use r2com_protocol::control::{ApiError, ErrorCode};

/// A failed command.
#[derive(Debug)]
pub struct CliError(pub ApiError);

impl CliError {
    /// A bad command line that clap could not see (exit code 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError(ApiError::new(ErrorCode::Usage, message))
    }

    /// Print the error the way the output mode asks, and give the exit code.
    pub fn report(self, json: bool) -> ExitCode {
        let CliError(e) = self;
        if json {
            print_json_error(&e);
        } else {
            eprintln!("r2com: {}", crate::output::terminal_safe(&e.message));
        }
        ExitCode::from(e.code.exit_code())
    }
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> Self {
        CliError(e)
    }
}

/// Anything else (reading a file, reaching the node) is an internal or
/// I/O error, exit code 1.
impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError(ApiError::new(ErrorCode::Internal, format!("{e:#}")))
    }
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    error: &'a ApiError,
}

fn print_json_error(e: &ApiError) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, &ErrorJson { error: e });
    let _ = writeln!(out);
}

/// Clap refused the command line (exit code 2), or was asked for help or
/// the version (exit code 0). Under `--json` a refusal is a JSON error too.
pub fn clap_failed(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    let json = std::env::args_os().skip(1).any(|a| a == "--json");
    if informational || !json {
        let _ = e.print();
        return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
    }
    let message = match e.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "a subcommand is required (see --help)".to_owned()
        }
        _ => e.render().to_string(),
    };
    let message = message
        .trim()
        .trim_start_matches("error: ")
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    print_json_error(&ApiError::new(ErrorCode::Usage, message));
    ExitCode::from(ErrorCode::Usage.exit_code())
}
