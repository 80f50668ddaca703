//! Answers about the web app's staff accounts (`r2com user ...`,
//! `r2com web login-url`). The accounts stay on their node; only these
//! summaries cross the control socket, never a password hash or a secret
//! feed address.

use serde::{Deserialize, Serialize};

use crate::staff::StaffRole;

/// A staff account as `user list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    pub name: String,
    pub role: StaffRole,
    /// Whether its owner has set a password (the operator account never
    /// has one: it logs in by one-time URLs only).
    pub password_set: bool,
    /// Whether it has a secret calendar address.
    pub feed: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// `user add`: the new account and the one-time link that sets its
/// password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAdded {
    pub user: StaffAccount,
    pub url: String,
    /// When the link stops working (RFC 3339, UTC).
    pub expires_at: String,
}

/// `user link` and `web login-url`: a one-time link for an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeLink {
    pub user: String,
    pub url: String,
    /// When the link stops working (RFC 3339, UTC).
    pub expires_at: String,
}

/// `user rm`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRemoved {
    pub removed: String,
}
