//! Spreading independent work (signature checks, documents) over the
//! machine's cores, for the apply steps.

/// Threads for a batch's independent work: the machine's cores, at most 4.
pub(super) fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// `f` over every item, in order; on [`worker_threads`] threads when there
/// are at least 32 items (below that, threads cost more than they save).
pub(super) fn map_on_cores<T, R, F>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    let threads = if items.len() >= 32 {
        worker_threads()
    } else {
        1
    };
    r2com_protocol::par::map_on_threads(items, threads, f)
}
