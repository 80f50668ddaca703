//! Opening a node's data directory: its key and its store, as an
//! [`OpenNode`] (by the running node, or by the CLI on a stopped node).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::files::FileStore;
use crate::identity::{self, IdentityError};
use crate::library::Library;
use crate::store::failpoint::{Failpoint, FailpointStore};
use crate::store::{SledStore, Store, StoreError};

/// The store directory inside the data directory.
pub const STORE_DIR: &str = "store";
/// The control socket inside the data directory.
pub const CONTROL_SOCKET: &str = "control.sock";

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Library(#[from] crate::library::LibraryError),
    #[error("network: {0}")]
    Net(String),
    #[error("control socket {0}: {1}")]
    Socket(PathBuf, std::io::Error),
    /// `config.toml` or a `run` option is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The calendar feed's configured address cannot be bound.
    #[error("calendar feed on {0}: {1}")]
    Feed(std::net::SocketAddr, std::io::Error),
}

/// An opened node: its library and where it lives.
pub struct OpenNode {
    pub library: Library,
    /// Files attached to records (`DATA_DIR/files`).
    pub files: FileStore,
    pub data_dir: PathBuf,
    /// Whether this is the running node (`r2com run`) or the CLI working on
    /// a stopped node's store.
    pub running: bool,
}

impl OpenNode {
    /// Open the key and the store of a data directory.
    pub fn open(data_dir: &Path, running: bool) -> Result<OpenNode, NodeError> {
        let config = crate::config::Config::load(data_dir)?;
        let key = identity::load(data_dir)?;
        let sled = SledStore::open(&data_dir.join(STORE_DIR))?;
        // Tests arm crash and failure points with `R2COM_FAILPOINT`; the
        // production store never carries them.
        let store: Arc<dyn Store> = match Failpoint::from_env() {
            Some(fp) => Arc::new(FailpointStore::new(sled, fp)),
            None => Arc::new(sled),
        };
        Ok(OpenNode {
            library: Library::new(store, key)?,
            files: FileStore::new(data_dir, config.attachments.max_size()),
            data_dir: data_dir.to_owned(),
            running,
        })
    }
}

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CONTROL_SOCKET)
}
