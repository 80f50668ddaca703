//! Opening a node's data directory, and running the node.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::info;

use crate::identity::{self, IdentityError};
use crate::library::Library;
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
    #[error("control socket {0}: {1}")]
    Socket(PathBuf, std::io::Error),
}

/// An opened node: its library and where it lives.
pub struct NodeInfo {
    pub library: Library,
    pub data_dir: PathBuf,
    /// Whether this is the running node (`r2com run`) or the CLI working on
    /// a stopped node's store.
    pub running: bool,
}

impl NodeInfo {
    /// Open the key and the store of a data directory.
    pub fn open(data_dir: &Path, running: bool) -> Result<NodeInfo, NodeError> {
        let key = identity::load(data_dir)?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(&data_dir.join(STORE_DIR))?);
        Ok(NodeInfo {
            library: Library::new(store, key)?,
            data_dir: data_dir.to_owned(),
            running,
        })
    }
}

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CONTROL_SOCKET)
}

/// Run the node until SIGINT or SIGTERM: open the store, serve the control
/// API. Creates the key on first run.
pub async fn run(data_dir: &Path) -> Result<(), NodeError> {
    let started = std::time::Instant::now();
    let (key, created) = identity::init(data_dir)?;
    if created {
        info!(public_key = %key.public(), "created a new node key");
    }
    drop(key);
    let node = Arc::new(NodeInfo::open(data_dir, true)?);
    let span = tracing::info_span!("node", key = %&node.library.key().public().to_hex()[..12]);
    let _enter = span.enter();
    let sock = socket_path(data_dir);
    let listener = crate::control::bind(&sock).map_err(|e| NodeError::Socket(sock.clone(), e))?;
    info!(
        peer_id = %identity::peer_id(node.library.key()),
        control = %sock.display(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ready"
    );
    let library = crate::actor::LibraryHandle::spawn(node.clone());
    let server = tokio::spawn(crate::control::serve(listener, library));
    shutdown_signal().await;
    info!("shutting down");
    server.abort();
    let _ = std::fs::remove_file(&sock);
    node.library.store().flush()?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
