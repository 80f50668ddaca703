//! The node's local, never replicated store: staff accounts, sessions,
//! one-time links, secret feed addresses and the audit table (which local
//! user made which change). A sled database of its own (`DATA_DIR/local`),
//! apart from the replicated store, so that nothing the sync reads can
//! reach it: no personal data leaves the organisation.
//!
//! Secrets that only need to be recognised (session tokens, one-time
//! tokens) are kept as SHA-256 digests; feed secrets are kept as they are,
//! because the user's page shows the subscribe address again.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use r2com_protocol::staff::{StaffRole, UserName};

use crate::data_dir::LOCAL_DIR;
/// Page cache of the local store.
const CACHE_BYTES: u64 = 256 * 1024;

/// Key tables: one letter, a NUL, then the rest (as in the main store).
mod table {
    /// `u\0{name}` -> [`super::User`].
    pub const USER: u8 = b'u';
    /// `s\0{sha256(token)}` -> [`super::Session`].
    pub const SESSION: u8 = b's';
    /// `t\0{sha256(token)}` -> [`super::OneTime`].
    pub const ONE_TIME: u8 = b't';
    /// `f\0{secret}` -> user name.
    pub const FEED: u8 = b'f';
    /// `c\0{change hash hex}` -> [`super::AuditEntry`].
    pub const AUDIT: u8 = b'c';
    /// `d\0{doc}\0{change hash hex}` -> empty: the audit entries of a document.
    pub const AUDIT_BY_DOC: u8 = b'd';
}

/// Why the local store failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("local store: {0}")]
    Sled(#[from] sled::Error),
    /// Another process holds the local store (a running node).
    #[error("the local store is in use by another process (is `r2com run` running?)")]
    Locked,
    /// A stored value does not decode: report, do not guess.
    #[error("local store is inconsistent: {0}")]
    Corrupt(String),
    #[error("no staff account named {0:?}")]
    NoSuchUser(String),
    #[error("a staff account named {0:?} exists already")]
    UserExists(String),
}

/// A staff account of this node.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: StaffRole,
    /// Argon2id hash in PHC format; `None` until the user sets a password
    /// (such an account logs in by one-time links only).
    pub password: Option<String>,
    /// Interface language chosen by the user (`None`: from the browser).
    pub locale: Option<String>,
    /// IANA zone the calendar is shown in (`None`: the default zone).
    pub zone: Option<String>,
    /// The secret of the user's calendar feed address, if made.
    pub feed: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// A logged-in browser.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub user: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    pub created_ms: i64,
    /// Last request, updated at most every [`SEEN_GRANULARITY_MS`].
    pub seen_ms: i64,
}

/// Sessions end after this long without a request...
pub const SESSION_IDLE_MS: i64 = 12 * 3600 * 1000;
/// ...and this long after login in any case.
pub const SESSION_MAX_MS: i64 = 14 * 24 * 3600 * 1000;
/// How stale `seen_ms` may get before a request rewrites it.
pub const SEEN_GRANULARITY_MS: i64 = 5 * 60 * 1000;

/// What a one-time link does.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Log in (from `r2com web login-url`).
    Login,
    /// Set the password, then log in (from `r2com user add`).
    SetPassword,
}

/// A one-time link, until used or expired.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OneTime {
    pub user: String,
    pub purpose: Purpose,
    pub expires_ms: i64,
}

/// Who made a change, kept next to its hash.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEntry {
    /// The change hash (hex).
    pub change: String,
    pub user: String,
    /// The document (`practice/p-1`).
    pub doc: String,
    /// `add`, `edit` or `remove`.
    pub action: String,
    pub at_ms: i64,
}

/// The local store. Cheap to clone (one database underneath).
#[derive(Clone)]
pub struct LocalStore {
    db: sled::Db,
}

fn key(table: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + rest.len());
    k.extend_from_slice(&[table, 0]);
    k.extend_from_slice(rest);
    k
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A fresh random token: 32 bytes, base64url without padding.
pub fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Equal strings, compared in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl LocalStore {
    /// Open (or create) the local store of a data directory.
    pub fn open(data_dir: &Path) -> Result<LocalStore, LocalError> {
        let config = sled::Config::new()
            .path(data_dir.join(LOCAL_DIR))
            .cache_capacity(CACHE_BYTES);
        let db = crate::store::open_waiting(&config).map_err(|e| {
            if crate::store::is_lock_error(&e) {
                LocalError::Locked
            } else {
                LocalError::Sled(e)
            }
        })?;
        Ok(LocalStore { db })
    }

    /// A store in a temporary place, for tests.
    pub fn temporary() -> LocalStore {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .expect("temporary sled");
        LocalStore { db }
    }

    fn get<T: DeserializeOwned>(&self, k: &[u8]) -> Result<Option<T>, LocalError> {
        match self.db.get(k)? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| LocalError::Corrupt(e.to_string())),
        }
    }

    fn put<T: Serialize>(&self, k: Vec<u8>, v: &T) -> Result<(), LocalError> {
        self.db
            .insert(k, serde_json::to_vec(v).expect("local values serialize"))?;
        Ok(())
    }

    /// Make everything written so far durable.
    pub fn flush(&self) -> Result<(), LocalError> {
        self.db.flush()?;
        Ok(())
    }

    // ---- users ----

    pub fn user(&self, name: &str) -> Result<Option<User>, LocalError> {
        self.get(&key(table::USER, name.as_bytes()))
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<User>, LocalError> {
        let mut out = Vec::new();
        for e in self.db.scan_prefix([table::USER, 0]) {
            let (_, v) = e?;
            out.push(serde_json::from_slice(&v).map_err(|e| LocalError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }

    /// Create an account without a password.
    pub fn add_user(
        &self,
        name: &UserName,
        role: StaffRole,
        now: DateTime<Utc>,
    ) -> Result<User, LocalError> {
        if self.user(name.as_str())?.is_some() {
            return Err(LocalError::UserExists(name.to_string()));
        }
        let user = User {
            name: name.to_string(),
            role,
            password: None,
            locale: None,
            zone: None,
            feed: None,
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        self.save_user(&user)?;
        Ok(user)
    }

    /// Store a changed account (durably).
    pub fn save_user(&self, user: &User) -> Result<(), LocalError> {
        self.put(key(table::USER, user.name.as_bytes()), user)?;
        self.flush()
    }

    /// Change an account with `f` and store it.
    pub fn update_user(&self, name: &str, f: impl FnOnce(&mut User)) -> Result<User, LocalError> {
        let mut user = self
            .user(name)?
            .ok_or_else(|| LocalError::NoSuchUser(name.to_owned()))?;
        f(&mut user);
        self.save_user(&user)?;
        Ok(user)
    }

    /// Delete an account with its sessions, links and feed address.
    pub fn remove_user(&self, name: &str) -> Result<(), LocalError> {
        let user = self
            .user(name)?
            .ok_or_else(|| LocalError::NoSuchUser(name.to_owned()))?;
        let mut batch = sled::Batch::default();
        batch.remove(key(table::USER, name.as_bytes()));
        if let Some(secret) = &user.feed {
            batch.remove(key(table::FEED, secret.as_bytes()));
        }
        for t in [table::SESSION, table::ONE_TIME] {
            for e in self.db.scan_prefix([t, 0]) {
                let (k, v) = e?;
                let owner: serde_json::Value =
                    serde_json::from_slice(&v).map_err(|e| LocalError::Corrupt(e.to_string()))?;
                if owner["user"] == name {
                    batch.remove(k);
                }
            }
        }
        self.db.apply_batch(batch)?;
        self.flush()
    }
}

mod feeds;
mod sessions;

#[cfg(test)]
mod tests;
