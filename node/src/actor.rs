//! The library runs on one dedicated thread that owns all store work;
//! async tasks reach it through a bounded channel and get their answer on a
//! oneshot. One long-lived thread keeps memory flat (work hopping across
//! short-lived blocking threads grew the heap with every request) and
//! serializes writers without further locking.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use r2com_protocol::control::{ApiError, ErrorCode, Request};

use crate::control::dispatch;
use crate::node::NodeInfo;

/// Requests waiting for the library thread; senders wait when it is full.
const QUEUE_CAPACITY: usize = 64;

struct Job {
    request: Request,
    progress: mpsc::Sender<(u64, u64)>,
    reply: oneshot::Sender<Result<Value, ApiError>>,
}

/// Give freed heap pages back to the OS. glibc's malloc keeps them after
/// the medium-sized blocks of a request (documents, store pages) are freed,
/// and fragmentation then grows a long-running node by tens of MiB over a
/// thousand edits; with this, its memory stays flat.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A cheap, cloneable handle to the library thread.
#[derive(Clone)]
pub struct LibraryHandle {
    jobs: mpsc::Sender<Job>,
}

impl LibraryHandle {
    /// Start the library thread. It ends when every handle is dropped.
    pub fn spawn(node: Arc<NodeInfo>) -> LibraryHandle {
        let (jobs, mut rx) = mpsc::channel::<Job>(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("library".into())
            .spawn(move || {
                while let Some(job) = rx.blocking_recv() {
                    let progress = job.progress;
                    let report = move |done, total| {
                        let _ = progress.try_send((done, total));
                    };
                    let result = dispatch(&node, job.request, &report);
                    let _ = job.reply.send(result);
                    release_free_memory();
                }
            })
            .expect("spawning the library thread");
        LibraryHandle { jobs }
    }

    /// Run a request on the library thread; progress reports go to `progress`.
    pub async fn call(
        &self,
        request: Request,
        progress: mpsc::Sender<(u64, u64)>,
    ) -> Result<Value, ApiError> {
        let (reply, answer) = oneshot::channel();
        let gone = || ApiError::new(ErrorCode::Internal, "the library thread has stopped");
        self.jobs
            .send(Job {
                request,
                progress,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}
