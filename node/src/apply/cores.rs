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
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut it = items.into_iter().peekable();
    while it.peek().is_some() {
        parts.push(it.by_ref().take(per).collect());
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| s.spawn(move || part.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("apply worker panicked"))
            .collect()
    })
}
