//! What a node's data directory (`--data-dir`) holds: the name of every
//! file and directory in it, and the modules that own each.
//!
//! ```text
//! DATA_DIR/
//!   node.key        the node's ed25519 seed, 0600          (identity)
//!   node.key.next   the next key, while a rotation runs    (rotation)
//!   node.key.old    the previous key, until it is revoked  (rotation)
//!   node.lock       who has the store open                 (dir_lock)
//!   config.toml     the operator's settings                (config)
//!   store/          the sled store: the library            (open, store)
//!   files/          files attached to records              (files)
//!   local/          staff accounts, sessions, audit        (web::local)
//!   control.sock    the control socket of `r2com run`      (control)
//!   web.addr        the web app's bound address            (run, web)
//!   feed.addr       the anonymous calendar feed's address  (run, web::feed)
//!   metrics.addr    where /metrics is served               (metrics)
//! ```

use std::path::{Path, PathBuf};

/// The node's key.
pub const KEY_FILE: &str = "node.key";
/// The next key, while phase 1 of a rotation runs.
pub const NEXT_KEY_FILE: &str = "node.key.next";
/// The previous key, between the switch and its revocation.
pub const OLD_KEY_FILE: &str = "node.key.old";
/// The lock file.
pub const LOCK_FILE: &str = "node.lock";
/// The configuration file.
pub const CONFIG_FILE: &str = "config.toml";
/// The store directory (sled).
pub const STORE_DIR: &str = "store";
/// The file store's directory.
pub const FILES_DIR: &str = "files";
/// The local, never replicated store.
pub const LOCAL_DIR: &str = "local";
/// The control socket.
pub const CONTROL_SOCKET: &str = "control.sock";
/// The address the web app is bound to, while it runs.
pub const WEB_ADDR_FILE: &str = "web.addr";
/// The address the anonymous calendar feed is bound to, while it runs.
pub const FEED_ADDR_FILE: &str = "feed.addr";
/// The address `/metrics` is bound to, while it runs.
pub const METRICS_ADDR_FILE: &str = "metrics.addr";

/// The control socket of the node in `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CONTROL_SOCKET)
}
