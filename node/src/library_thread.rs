//! The library runs on one dedicated thread that owns all store work;
//! async tasks reach it through a bounded channel and get their answer on a
//! oneshot. One long-lived thread keeps memory flat (work hopping across
//! short-lived blocking threads grew the heap with every request) and
//! serializes writers without further locking.
//!
//! A panic while serving one job (a bug, or automerge on a document it
//! cannot handle) is contained: that job fails (its caller gets an
//! internal error), the panic is logged, and the thread serves the next
//! job. Store writes are atomic batches and answers are sent only after the
//! flush, so a job cut short leaves nothing half-written or acknowledged.
//! If the thread ends anyway, the node stops with a log line rather than
//! keep its connections open serving nothing (see [`LibraryHandle::spawn`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};

use r2com_protocol::control::{ApiError, ErrorCode, Request, Response};

use crate::api::dispatch;
use crate::library::Library;
use crate::open::OpenNode;

/// Requests waiting for the library thread; senders wait when it is full.
const QUEUE_CAPACITY: usize = 64;

type Task = Box<dyn FnOnce(&OpenNode) + Send>;

enum Job {
    Api {
        request: Box<Request>,
        progress: mpsc::Sender<(u64, u64)>,
        reply: oneshot::Sender<Result<Response, ApiError>>,
    },
    Task(Task),
}

/// Give freed heap pages back to the OS. glibc's malloc keeps them after
/// the medium-sized blocks of a request (documents, store pages) are freed,
/// and fragmentation then grows a long-running node by tens of MiB over a
/// thousand edits; with this, its memory stays flat.
///
/// Trimming walks the whole heap (and the pages it returns fault back in
/// on the next request): after every request it took a third of an edit's
/// time, so it runs at most every [`TRIM_EVERY`].
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Keep up to this much free memory at the top of the heap rather than
/// give it back to the OS at once (see [`tune_malloc`]).
const TRIM_THRESHOLD: libc::c_int = 16 << 20;

/// Stop glibc's malloc from giving memory back to the OS after every
/// request. Each edit loads its document (automerge builds large indexes
/// for it) and frees it again; with glibc's default threshold (128 KiB,
/// raised only after a large mapped block is freed) the heap was trimmed
/// after nearly every edit and its pages faulted back in on the next one:
/// malloc, the kernel's page faults and zeroing were a third of an
/// edit's CPU (measured by hand with `perf` on 1,000 edits of the full
/// demo data: 1.9-2.1 ms of node CPU per edit before, 1.27 ms after).
/// Peak RSS does not grow: large blocks are still mapped and unmapped on
/// their own (setting a trim threshold also fixes the mmap threshold at
/// 128 KiB, so the heap no longer swallows them), and
/// [`release_free_memory`] still returns what a burst left behind.
/// Process-wide; called once when the node starts.
pub(crate) fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's parameters; it is called
    // before the node's threads start.
    unsafe {
        if libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) != 1 {
            tracing::warn!("could not set malloc's trim threshold; memory is given back eagerly");
        }
    }
}

/// How often free heap pages are given back to the OS, at most.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Most record writes made durable by one flush.
const MAX_GROUP: usize = 32;

/// Requests that write one record: several of them waiting at once are
/// committed as a group.
fn is_record_write(request: &Request) -> bool {
    matches!(
        request,
        Request::Add { .. } | Request::Edit { .. } | Request::Remove { .. }
    )
}

impl Job {
    fn is_record_write(&self) -> bool {
        matches!(self, Job::Api { request, .. } if is_record_write(request))
    }
}

/// The answer to a job that panicked.
fn failed() -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        "the request failed on the node (an internal error; see the node's log)",
    )
}

/// The text a panic carried.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Run one job, containing a panic: the job's reply is dropped on the way
/// out (its caller gets [`failed`]), the panic is logged, and the thread
/// goes on.
fn contained(what: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        tracing::error!(
            job = what,
            panic = panic_text(payload.as_ref()),
            "a job panicked on the library thread; it failed, the node goes on"
        );
    }
}

/// Answer record writes with one flush for all of them: each is applied
/// (its writes in the store, not yet durable), then the group's flush, and
/// only then does any of them get its answer. If the flush fails, every
/// write of the group is answered with the failure.
fn run_group(node: &OpenNode, group: Vec<Job>) {
    let mut answered = Vec::with_capacity(group.len());
    let flushed = node.library.grouped(|| {
        for job in group {
            if let Job::Api { request, reply, .. } = job {
                answered.push((reply, dispatch(node, *request, &|_, _| ())));
            }
        }
    });
    for (reply, result) in answered {
        let result = match &flushed {
            Ok(()) => result,
            Err(e) => result.and(Err(ApiError::new(ErrorCode::Internal, e.to_string()))),
        };
        let _ = reply.send(result);
    }
}

/// A cheap, cloneable handle to the library thread.
#[derive(Clone)]
pub struct LibraryHandle {
    jobs: mpsc::Sender<Job>,
    /// Signalled after a commit left something in the outbox (for the
    /// network): only committed work is announced.
    pub outbox: Arc<Notify>,
}

/// The library thread's loop: serve jobs until every handle is dropped,
/// each job's panic contained.
fn serve(node: &OpenNode, mut rx: mpsc::Receiver<Job>) {
    let mut next = None;
    let mut trimmed = std::time::Instant::now();
    while let Some(job) = next.take().or_else(|| rx.blocking_recv()) {
        match job {
            job if job.is_record_write() => {
                // Record writes queued behind this one share its flush
                // (group commit).
                let mut group = vec![job];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(j @ Job::Api { .. }) if j.is_record_write() => group.push(j),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                contained("record writes", || run_group(node, group));
            }
            Job::Api {
                request,
                progress,
                reply,
            } => {
                let report = move |done, total| {
                    let _ = progress.try_send((done, total));
                };
                let name = request.name();
                let mut result = None;
                contained(name, || result = Some(dispatch(node, *request, &report)));
                let _ = reply.send(result.unwrap_or_else(|| Err(failed())));
            }
            Job::Task(task) => contained("network task", || task(node)),
        }
        if trimmed.elapsed() >= TRIM_EVERY {
            release_free_memory();
            trimmed = std::time::Instant::now();
        }
    }
}

impl LibraryHandle {
    /// Start the library thread. It ends when every handle is dropped. A
    /// panic escaping [`serve`] (every job's is contained) stops the process
    /// with a log line: a node whose library is gone would keep its
    /// connections open and serve nothing.
    pub fn spawn(node: Arc<OpenNode>) -> LibraryHandle {
        let (jobs, rx) = mpsc::channel::<Job>(QUEUE_CAPACITY);
        let outbox = node.library.committed();
        std::thread::Builder::new()
            .name("library".into())
            .spawn(move || {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| serve(&node, rx))) {
                    tracing::error!(
                        panic = panic_text(payload.as_ref()),
                        "the library thread stopped; stopping the node"
                    );
                    std::process::exit(70);
                }
            })
            .expect("spawning the library thread");
        LibraryHandle { jobs, outbox }
    }

    fn gone() -> ApiError {
        ApiError::new(ErrorCode::Internal, "the library thread has stopped")
    }

    /// Run a request on the library thread; progress reports go to
    /// `progress` (dropped when it is full: progress is a hint).
    pub async fn call(
        &self,
        request: Request,
        progress: mpsc::Sender<(u64, u64)>,
    ) -> Result<Response, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Api {
                request: Box::new(request),
                progress,
                reply,
            })
            .await
            .map_err(|_| Self::gone())?;
        answer.await.map_err(|_| failed())?
    }

    /// Run a request on the library thread and take its answer as the type
    /// it has: `let ics: Ics = library.request(Request::CalendarIcs { .. })`.
    /// Network requests (`Peers`, `Sync`) are the network's, not the
    /// library's: here they fail as unavailable.
    pub async fn request<T>(&self, request: Request) -> Result<T, ApiError>
    where
        T: TryFrom<Response, Error = Response>,
    {
        let (progress, _) = mpsc::channel(1);
        let name = request.name();
        self.call(request, progress)
            .await?
            .try_into()
            .map_err(|r: Response| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("{name} was answered with {}", r.name()),
                )
            })
    }

    /// Run a closure on the library thread with the whole node (e.g. to
    /// dispatch a request and read the store in the same turn).
    pub async fn with_node<R: Send + 'static>(
        &self,
        f: impl FnOnce(&OpenNode) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let (reply, answer) = oneshot::channel();
        let task: Task = Box::new(move |node: &OpenNode| {
            let _ = reply.send(f(node));
        });
        self.jobs
            .send(Job::Task(task))
            .await
            .map_err(|_| Self::gone())?;
        answer.await.map_err(|_| Self::gone())
    }

    /// Run a closure on the library thread and wait for its result.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Library) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let (reply, answer) = oneshot::channel();
        let task: Task = Box::new(move |node: &OpenNode| {
            let _ = reply.send(f(&node.library));
        });
        self.jobs
            .send(Job::Task(task))
            .await
            .map_err(|_| Self::gone())?;
        answer.await.map_err(|_| failed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2com_protocol::control::Status;

    /// A job that panics fails alone: its caller gets an error, and the
    /// thread still answers the next requests (issue 13, point 10).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_fails_alone_and_the_library_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        crate::identity::init(dir.path()).unwrap();
        let node = Arc::new(OpenNode::open_for_run(dir.path()).unwrap());
        let library = LibraryHandle::spawn(node);
        let boom = library
            .with(|_| -> u32 { panic!("a bug on the library thread") })
            .await;
        let err = boom.unwrap_err();
        assert!(err.message.contains("internal error"), "{err:?}");
        let status: Status = library.request(Request::Status).await.unwrap();
        assert_eq!(status.counts.practices, 0);
        assert_eq!(
            library.with(|l| l.counts().unwrap().changes).await.unwrap(),
            0
        );
    }
}
