//! Passwords: argon2id hashing and checking off the async threads,
//! counted against failed attempts, and what a new password must be.

use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::ratelimit::MAX_PER_ACCOUNT;
use super::AppState;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 would take any length; bound it).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hash a password (argon2id, random salt) off the async threads.
pub async fn hash_password(
    hashing: &tokio::sync::Semaphore,
    password: String,
) -> Result<String, String> {
    let _permit = hashing.acquire().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Check a password against a stored hash off the async threads.
pub(super) async fn verify_password(state: &AppState, password: String, hash: String) -> bool {
    let Ok(_permit) = state.hashing.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Check the password of a logged-in account (before changing it),
/// counted against the account's failed attempts like a login.
pub async fn check_password(state: &AppState, name: &str, password: String, hash: String) -> bool {
    let key = format!("user:{name}");
    let now = Instant::now();
    if state.limiter.check(&key, MAX_PER_ACCOUNT, now).is_err() {
        return false;
    }
    let ok = verify_password(state, password, hash).await;
    if !ok {
        state.limiter.fail(&key, now);
    }
    ok
}

/// Whether a new password is acceptable; the message key if not.
pub fn password_problem(password: &str, again: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Some("password-too-short")
    } else if password.len() > MAX_PASSWORD_BYTES {
        Some("password-too-long")
    } else if password != again {
        Some("password-mismatch")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert_eq!(
            password_problem("short", "short"),
            Some("password-too-short")
        );
        assert_eq!(
            password_problem("long enough pw", "long enough pX"),
            Some("password-mismatch")
        );
        assert_eq!(password_problem("long enough pw", "long enough pw"), None);
        let huge = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(password_problem(&huge, &huge), Some("password-too-long"));
    }
}
