//! Errors of the control API: a code a script (and the CLI's exit code)
//! can act on, and a message for people.

use serde::{Deserialize, Serialize};

use crate::record::ValidationError;

/// What went wrong. Under `--json` the CLI prints it as
/// `{"error": {"code": "not_found", "message": "..."}}`.
#[derive(Clone, Debug, Serialize, Deserialize, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

/// The kinds of failure, one per exit code of the CLI.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Storage, I/O or another internal failure. Exit code 1.
    Internal,
    /// A bad command line: the CLI's own check, never sent by the node.
    /// Exit code 2.
    Usage,
    /// Bad input: an invalid record, field or request, or a roster rule
    /// refused it. Nothing changed. Exit code 3.
    Invalid,
    /// No such record (or member). Exit code 4.
    NotFound,
    /// The record exists already. Exit code 5.
    Exists,
    /// `verify` found bad signatures or changes. Exit code 6.
    VerifyFailed,
    /// The node is not running, or its network is down. Exit code 7.
    Unavailable,
}

impl ErrorCode {
    /// The CLI's exit code for this failure.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorCode::Internal => 1,
            ErrorCode::Usage => 2,
            ErrorCode::Invalid => 3,
            ErrorCode::NotFound => 4,
            ErrorCode::Exists => 5,
            ErrorCode::VerifyFailed => 6,
            ErrorCode::Unavailable => 7,
        }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::new(ErrorCode::Invalid, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_with_snake_case_codes() {
        let e = ApiError::new(ErrorCode::NotFound, "practice p-1 not found");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "not_found", "message": "practice p-1 not found"})
        );
        assert_eq!(ErrorCode::Unavailable.exit_code(), 7);
    }
}
