//! The node's key on disk: `node.key` in the data directory, the raw 32-byte
//! ed25519 seed, mode 0600. The libp2p PeerId is derived from the same key.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use r2com_protocol::identity::NodeKey;

use crate::data_dir::{KEY_FILE, STORE_DIR};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no node key in {0} (run `r2com init` first)")]
    Missing(PathBuf),
    /// A store without its key: a lost `node.key` or a wrong `--data-dir`.
    /// A new key would make this node a stranger to every member (its edits
    /// accepted here, then refused by everyone), so none is made.
    #[error(
        "{0} holds a store but no node.key: the key was lost or this is the wrong data directory. \
         Put this node's key back (from your key backup, mode 0600) as {1}, or give the right \
         --data-dir. A new key would make this node a stranger to its consortium; to start over \
         under a new identity on purpose, move {0}/store aside first (the new key must then be \
         invited)"
    )]
    MissingBesideStore(PathBuf, PathBuf),
    #[error("node key {0} is not a 32-byte ed25519 seed")]
    Corrupt(PathBuf),
    #[error("node key {0} is readable by other users (mode {1:o}); run chmod 600 on it")]
    Permissions(PathBuf, u32),
    #[error("node key {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("no system randomness: {0}")]
    Random(String),
}

pub fn key_path(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE)
}

/// Create the data directory (mode 0700) and a new key, unless one exists.
/// Returns the key and whether it was created now. Refuses (creating
/// nothing) when the directory holds a store but no key.
pub fn init(dir: &Path) -> Result<(NodeKey, bool), IdentityError> {
    let path = key_path(dir);
    if path.exists() {
        return Ok((load(dir)?, false));
    }
    if dir.join(STORE_DIR).exists() {
        return Err(IdentityError::MissingBesideStore(dir.to_owned(), path));
    }
    fs::create_dir_all(dir).map_err(|e| IdentityError::Io(dir.to_owned(), e))?;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    // A new file of its own (mode 0600, as tempfile creates them), synced,
    // then moved in place unless a key appeared meanwhile, and the
    // directory synced: the key is whole and durable, or absent.
    match create_key(&path)? {
        Some(key) => Ok((key, true)),
        // Another `init` won the race: use its key.
        None => Ok((load(dir)?, false)),
    }
}

/// Load the node key, refusing a key file others can read.
pub fn load(dir: &Path) -> Result<NodeKey, IdentityError> {
    read_key(&key_path(dir))?.ok_or_else(|| IdentityError::Missing(dir.to_owned()))
}

/// Write a new random key to `path` (mode 0600, synced, the directory
/// synced) unless a file is there; `None` if one is.
pub(crate) fn create_key(path: &Path) -> Result<Option<NodeKey>, IdentityError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |e: std::io::Error| IdentityError::Io(path.to_owned(), e);
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| IdentityError::Random(e.to_string()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".node.key.")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(&seed).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    if let Err(e) = tmp.persist_noclobber(path) {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            return Ok(None);
        }
        return Err(io(e.error));
    }
    sync_dir(dir).map_err(io)?;
    Ok(Some(NodeKey::from_seed(seed)))
}

pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all())
}

/// Read a key file (`None` if absent), refusing one others can read.
pub(crate) fn read_key(path: &Path) -> Result<Option<NodeKey>, IdentityError> {
    let path = path.to_owned();
    let f = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IdentityError::Io(path, e)),
    };
    let mode = f
        .metadata()
        .map_err(|e| IdentityError::Io(path.clone(), e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::Permissions(path, mode));
    }
    let mut buf = Vec::with_capacity(33);
    f.take(33)
        .read_to_end(&mut buf)
        .map_err(|e| IdentityError::Io(path.clone(), e))?;
    let seed: [u8; 32] = buf.try_into().map_err(|_| IdentityError::Corrupt(path))?;
    Ok(Some(NodeKey::from_seed(seed)))
}

/// The libp2p PeerId of a node key (same key, so "the peer on this
/// connection" and "the author of this change" are one identity).
pub fn peer_id(key: &NodeKey) -> String {
    let kp = libp2p_identity::Keypair::ed25519_from_bytes(key.seed()).expect("32-byte seed");
    kp.public().to_peer_id().to_base58()
}

/// The PeerId of a node public key (hex).
pub fn peer_id_of(key_hex: &str) -> Option<libp2p::PeerId> {
    let bytes = hex::decode(key_hex).ok()?;
    let pk = libp2p_identity::ed25519::PublicKey::try_from_bytes(&bytes).ok()?;
    Some(libp2p_identity::PublicKey::from(pk).to_peer_id())
}

/// The node public key (hex) of a PeerId, if it embeds an ed25519 key.
pub fn key_of(peer: &libp2p::PeerId) -> Option<String> {
    let pk = libp2p_identity::PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    Some(hex::encode(pk.try_into_ed25519().ok()?.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_creates_a_private_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("data");
        let (k1, created) = init(&d).unwrap();
        assert!(created);
        let mode = fs::metadata(key_path(&d)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (k2, created) = init(&d).unwrap();
        assert!(!created);
        assert_eq!(k1.public(), k2.public());
        assert!(peer_id(&k1).starts_with("12D3KooW"));
        fs::set_permissions(key_path(&d), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load(&d), Err(IdentityError::Permissions(..))));
    }
}
