//! Key rotation (`r2com key rotate`): the node carries on under a new key,
//! in the same organisation, without losing any change.
//!
//! 1. **Admit the next key** (running node, current key K1). The new key
//!    K2 is created as `node.key.next` (mode 0600, synced) or reused from
//!    an earlier attempt. An admin node invites K2 into its own
//!    organisation itself; any other node prints K2 and the `r2com invite`
//!    line an admin runs, and continues with `key rotate --token TOKEN`.
//!    K2 signs its admission, K1 witnesses it (K1 is a member, not the
//!    invitee: rule 3); the three entries are committed and pushed to the
//!    connected members. At least one member must be connected: the node
//!    then runs sync rounds (up to [`CONFIRM_WAIT`]) until a member's
//!    summary holds every roster entry this node holds. Only then does it
//!    switch: under K2 it is a stranger to anyone who has not seen K2's
//!    admission.
//! 2. **Switch.** `node.key` is hard-linked as `node.key.old`, then
//!    `node.key.next` renamed over `node.key` (the directory synced after
//!    each step, so `node.key` is always whole). The control answer goes
//!    out, the store is flushed, and the node restarts itself under K2
//!    (`run` returns [`crate::run::Stopped::Restart`] with its bound
//!    addresses, which `r2com run` execs itself with: same process id,
//!    same ports).
//! 3. **Revoke the old key** (at start, while `node.key.old` exists): K1
//!    revokes itself (roster rule 5a; this works for admin and member
//!    organisations alike), listing its entries and, as frontier, every
//!    change it signed (all of them are on this node, so none is lost);
//!    then `node.key.old` is deleted. Changes after the switch are K2's.
//!
//! A crash at any point is recovered at the next start by [`recover`]:
//! before the switch the node is still K1 (a later `key rotate` reuses
//! `node.key.next`); between the two steps of the switch it completes the
//! rename; after it, step 3 runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::Notify;
use tracing::{info, warn};

use r2com_protocol::control::{ApiError, ErrorCode, KeyRotated, RotationState, SyncOutcome};
use r2com_protocol::identity::NodeKey;

use crate::data_dir::{NEXT_KEY_FILE, OLD_KEY_FILE};
use crate::identity::{self, create_key, key_path, read_key, sync_dir, IdentityError};
use crate::library::Library;
use crate::library_thread::LibraryHandle;
use crate::membership::NextKey;
use crate::net::NetHandle;
use crate::store::failpoint::{Action, Failpoint, Site};

/// How long a member has to confirm it holds the next key's admission.
pub const CONFIRM_WAIT: Duration = Duration::from_secs(60);

/// The next key: the one of an earlier attempt, or a new one.
pub fn next_key(dir: &Path) -> Result<NodeKey, IdentityError> {
    let path = dir.join(NEXT_KEY_FILE);
    if let Some(k) = read_key(&path)? {
        return Ok(k);
    }
    match create_key(&path)? {
        Some(k) => Ok(k),
        None => read_key(&path)?.ok_or(IdentityError::Corrupt(path)),
    }
}

/// Switch to the next key: `node.key` -> `node.key.old` (a hard link),
/// then `node.key.next` -> `node.key`, the directory synced after each.
pub fn switch(dir: &Path) -> Result<(), IdentityError> {
    let (key, old, next) = paths(dir);
    let io = |p: &PathBuf| {
        let p = p.clone();
        move |e: std::io::Error| IdentityError::Io(p, e)
    };
    match fs::hard_link(&key, &old) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(&old)(e)),
    }
    sync_dir(dir).map_err(io(&old))?;
    failpoint(Action::AbortBefore);
    fs::rename(&next, &key).map_err(io(&next))?;
    sync_dir(dir).map_err(io(&key))?;
    failpoint(Action::AbortAfter);
    Ok(())
}

/// Tests kill the node inside a switch (`R2COM_FAILPOINT=key-switch:1`,
/// `key-switch:1:after`).
fn failpoint(at: Action) {
    static FP: OnceLock<Option<Failpoint>> = OnceLock::new();
    let fp = FP.get_or_init(|| Failpoint::from_env().filter(|f| f.site() == Site::KeySwitch));
    if let Some(fp) = fp.as_ref().filter(|f| f.action() == at) {
        fp.hit(Site::KeySwitch);
    }
}

fn paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        key_path(dir),
        dir.join(OLD_KEY_FILE),
        dir.join(NEXT_KEY_FILE),
    )
}

/// At start: finish a switch a crash interrupted. Returns the old key if
/// its revocation (phase 3) is still due.
pub fn recover(dir: &Path) -> Result<Option<NodeKey>, IdentityError> {
    let (key, old, next) = paths(dir);
    let Some(old_key) = read_key(&old)? else {
        return Ok(None);
    };
    let current = read_key(&key)?;
    if current.as_ref().map(NodeKey::public) == Some(old_key.public()) {
        if read_key(&next)?.is_some() {
            // Crashed between the link and the rename.
            warn!("finishing an interrupted key switch");
            fs::rename(&next, &key).map_err(|e| IdentityError::Io(next.clone(), e))?;
            sync_dir(dir).map_err(|e| IdentityError::Io(key.clone(), e))?;
        } else {
            // The old key is the current one: nothing was switched.
            fs::remove_file(&old).map_err(|e| IdentityError::Io(old.clone(), e))?;
            sync_dir(dir).map_err(|e| IdentityError::Io(old.clone(), e))?;
            return Ok(None);
        }
    }
    Ok(Some(old_key))
}

/// Phase 3, at start, before the network: the old key revokes itself;
/// then its file goes. A failure is logged and retried at the next start.
pub fn revoke_old(dir: &Path, library: &Library, old: NodeKey) {
    match library.revoke_old_key(&old, Utc::now()) {
        Ok(revoked) => {
            info!(old = %old.public(), revoked, "the previous node key is revoked");
            let path = dir.join(OLD_KEY_FILE);
            if let Err(e) = fs::remove_file(&path).and_then(|()| sync_dir(dir)) {
                warn!(error = %e, path = %path.display(), "cannot remove the previous key");
            }
        }
        Err(e) => {
            warn!(error = %e, "the previous node key is not revoked yet (retried at the next start)")
        }
    }
}

/// The running node's rotation: one at a time, and the restart it asks
/// of `run` once its answer is out.
#[derive(Clone)]
pub struct Rotator {
    data_dir: PathBuf,
    restart: Arc<Notify>,
    busy: Arc<tokio::sync::Mutex<()>>,
}

fn err(code: ErrorCode, msg: impl Into<String>) -> ApiError {
    ApiError::new(code, msg.into())
}

impl Rotator {
    pub fn new(data_dir: &Path) -> Rotator {
        Rotator {
            data_dir: data_dir.to_owned(),
            restart: Arc::new(Notify::new()),
            busy: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Ask `run` to restart (after the answer was sent).
    pub fn restart(&self) {
        self.restart.notify_one();
    }

    /// Resolves when a restart was asked for.
    pub async fn restart_requested(&self) {
        self.restart.notified().await
    }

    /// Phases 1 and 2 (see the module docs).
    pub async fn rotate(
        &self,
        library: &LibraryHandle,
        net: &NetHandle,
        token: Option<String>,
    ) -> Result<KeyRotated, ApiError> {
        let Ok(_one) = self.busy.try_lock() else {
            return Err(err(ErrorCode::Invalid, "a key rotation is running already"));
        };
        let connected = connected_members(net).await;
        if connected == 0 {
            return Err(err(
                ErrorCode::Unavailable,
                "no member is connected: the new key's admission must reach a member before \
                 this node switches to it (otherwise no member would know the new key). \
                 Start the rotation while connected to a partner (see `r2com peers`)",
            ));
        }
        let next = next_key(&self.data_dir).map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
        let old_key = library.with(|l| l.key().public().to_hex()).await?;
        let new_key = next.public().to_hex();
        let new_peer_id = identity::peer_id(&next);
        let step = library
            .with(move |l| l.admit_next_key(&next, token.as_deref(), Utc::now()))
            .await?
            .map_err(ApiError::from)?;
        if let NextKey::NeedsInvite { org } = step {
            return Ok(KeyRotated {
                state: RotationState::NeedsInvite,
                invite_command: Some(format!(
                    "r2com invite --org {} --org-name {} --country {} --key {new_key}",
                    shell_word(&org.key),
                    shell_word(&org.name),
                    shell_word(&org.country)
                )),
                old_key,
                new_key,
                new_peer_id,
                confirmed_by: None,
            });
        }
        info!(new_key = %new_key, "the next key is admitted; waiting for a member to hold its admission");
        let confirmed_by = confirm(net).await?;
        switch(&self.data_dir).map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
        info!(new_key = %new_key, by = %confirmed_by, "switched to the next key; restarting");
        Ok(KeyRotated {
            state: RotationState::Switched,
            old_key,
            new_key,
            new_peer_id,
            invite_command: None,
            confirmed_by: Some(confirmed_by),
        })
    }
}

async fn connected_members(net: &NetHandle) -> usize {
    net.peers()
        .await
        .map(|p| p.members)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.connected && !p.revoked)
        .count()
}

/// Sync rounds with the connected members until one of them lacks none of
/// this node's roster entries; its PeerId.
async fn confirm(net: &NetHandle) -> Result<String, ApiError> {
    let started = Instant::now();
    loop {
        if let Ok(results) = net.sync(None, None).await {
            for r in results {
                if let SyncOutcome::Done(round) = &r.result {
                    if round.they_lack_entries == 0 {
                        return Ok(r.peer);
                    }
                }
            }
        }
        if started.elapsed() >= CONFIRM_WAIT {
            return Err(err(
                ErrorCode::Unavailable,
                format!(
                    "no connected member confirmed the new key's admission within {} s; this \
                     node keeps its key (the new one waits in {NEXT_KEY_FILE}): run `r2com key \
                     rotate` again when a member is connected",
                    CONFIRM_WAIT.as_secs()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `s` as one shell word.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_interrupted_anywhere_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (k1, _) = identity::init(d).unwrap();
        assert!(recover(d).unwrap().is_none());
        let k2 = next_key(d).unwrap();
        assert_eq!(next_key(d).unwrap().public(), k2.public(), "reused");
        // Crash after the link, before the rename.
        fs::hard_link(key_path(d), d.join(OLD_KEY_FILE)).unwrap();
        let old = recover(d)
            .unwrap()
            .expect("the old key's revocation is due");
        assert_eq!(old.public(), k1.public());
        assert_eq!(identity::load(d).unwrap().public(), k2.public());
        assert!(!d.join(NEXT_KEY_FILE).exists());
        // Recovering again changes nothing.
        assert_eq!(recover(d).unwrap().unwrap().public(), k1.public());
        assert_eq!(identity::load(d).unwrap().public(), k2.public());
        // A whole switch.
        fs::remove_file(d.join(OLD_KEY_FILE)).unwrap();
        let k3 = next_key(d).unwrap();
        switch(d).unwrap();
        assert_eq!(identity::load(d).unwrap().public(), k3.public());
        assert_eq!(recover(d).unwrap().unwrap().public(), k2.public());
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(key_path(d)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn shell_words_are_quoted() {
        assert_eq!(shell_word("lmds"), "lmds");
        assert_eq!(shell_word("Les Militants"), "'Les Militants'");
        assert_eq!(shell_word("l'ami"), r"'l'\''ami'");
    }
}
