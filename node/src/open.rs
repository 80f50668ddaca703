//! Opening a node's data directory: its key and its store, as an
//! [`OpenNode`] (by the running node, or by the CLI on a stopped node).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::data_dir::STORE_DIR;
use crate::dir_lock::{DirLock, LockError, Role};
use crate::files::FileStore;
use crate::identity::{self, IdentityError};
use crate::library::Library;
use crate::store::failpoint::{Failpoint, FailpointStore};
use crate::store::{SledStore, Store, StoreError};
use crate::web::local::{LocalError, LocalStore};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data directory is held by another process (see [`crate::dir_lock`]).
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Library(#[from] crate::library::LibraryError),
    #[error("network: {0}")]
    Net(String),
    /// The data directory's modes could not be made owner-only.
    #[error("making {0} readable by its owner only: {1}")]
    Permissions(PathBuf, std::io::Error),
    #[error("control socket {0}: {1}")]
    Socket(PathBuf, std::io::Error),
    /// `config.toml` or a `run` option is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The calendar feed's configured address cannot be bound.
    #[error("calendar feed on {0}: {1}")]
    Feed(std::net::SocketAddr, std::io::Error),
    /// The web app's configured address cannot be bound.
    #[error("web app on {0}: {1}")]
    Web(std::net::SocketAddr, std::io::Error),
    /// The SIGINT/SIGTERM handlers cannot be installed.
    #[error("signal handlers: {0}")]
    Signal(std::io::Error),
    /// The local store (staff accounts, sessions, audit) failed.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// The metrics listener's address cannot be bound (or its file written).
    #[error("metrics on {0}: {1}")]
    Metrics(String, std::io::Error),
}

/// How long `r2com run` waits for a CLI command that has the store open.
pub const RUN_LOCK_WAIT: Duration = Duration::from_secs(60);

/// An opened node: its library and where it lives.
pub struct OpenNode {
    pub library: Library,
    /// Files attached to records (`DATA_DIR/files`).
    pub files: FileStore,
    pub data_dir: PathBuf,
    /// Whether this is the running node (`r2com run`) or the CLI working on
    /// a stopped node's store.
    pub running: bool,
    /// The local, never replicated store (staff accounts, sessions, audit),
    /// opened on first use.
    local: std::sync::Mutex<Option<LocalStore>>,
    /// Held while the store is open (see [`crate::dir_lock`]); dropped last.
    _lock: DirLock,
}

impl OpenNode {
    /// Open the key and the store of a data directory for `r2com run`:
    /// waits (up to [`RUN_LOCK_WAIT`], logged) for a CLI command that has
    /// the store open.
    pub fn open_for_run(data_dir: &Path) -> Result<OpenNode, NodeError> {
        let lock = DirLock::acquire(data_dir, Role::Node, RUN_LOCK_WAIT, |holder| {
            tracing::warn!(
                %holder,
                wait_secs = RUN_LOCK_WAIT.as_secs(),
                "the store is in use; waiting for it"
            )
        })?;
        Self::open_locked(data_dir, lock, true)
    }

    /// Open the key and the store of a data directory under a lock already
    /// taken (the CLI takes it with [`DirLock::try_acquire`]).
    pub fn open_locked(
        data_dir: &Path,
        lock: DirLock,
        running: bool,
    ) -> Result<OpenNode, NodeError> {
        let config = crate::config::Config::load(data_dir)?;
        let key = identity::load(data_dir)?;
        let mut sled = SledStore::open(&data_dir.join(STORE_DIR))?;
        if let Some(bytes) = config.store.compact_above() {
            sled.set_compact_above(bytes);
        }
        // The running node compacts a store that grew while it serves; a
        // CLI command on a stopped node leaves that to the next start.
        if running {
            if let Err(e) = sled.compact_in_background() {
                tracing::warn!(error = %e, "the store grew but could not be compacted now");
            }
        }
        // Tests arm crash and failure points with `R2COM_FAILPOINT`; the
        // production store never carries them.
        let store: Arc<dyn Store> = match Failpoint::from_env() {
            Some(fp) => Arc::new(FailpointStore::new(sled, fp)),
            None => Arc::new(sled),
        };
        match crate::perms::restrict(data_dir) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                dir = %data_dir.display(),
                changed = n,
                "files in the data directory were readable by others; made them owner-only (0700/0600)"
            ),
            Err(e) => return Err(NodeError::Permissions(data_dir.to_owned(), e)),
        }
        let library = Library::new(store, key)?;
        let files = FileStore::new(data_dir, config.attachments.max_size());
        library.use_files(files.clone())?;
        Ok(OpenNode {
            library,
            files,
            data_dir: data_dir.to_owned(),
            running,
            local: Default::default(),
            _lock: lock,
        })
    }

    /// The local store of this data directory (opened on first use).
    pub fn local(&self) -> Result<LocalStore, LocalError> {
        let mut slot = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = &*slot {
            return Ok(l.clone());
        }
        let l = LocalStore::open(&self.data_dir)?;
        *slot = Some(l.clone());
        Ok(l)
    }
}
