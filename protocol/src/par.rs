//! Independent work spread over threads, results in order (signature
//! checks, documents of a batch). Plain scoped threads: no runtime.

/// `f` over every item, in order, on up to `threads` threads; on this
/// thread when `threads` is 1 or less. The threads take the items one at a
/// time as they finish the one before: items cost unequal times (a
/// clone's documents differ in size by tens of times), and contiguous
/// equal parts left one thread idle while the other still had a third of
/// the work.
pub fn map_on_threads<T: Send, U: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> U + Sync,
) -> Vec<U> {
    if threads <= 1 || items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    let n = items.len();
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let (f, queue) = (&f, &queue);
    let mut done: Vec<(usize, U)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.min(n))
            .map(|_| {
                s.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        // The lock is held only to take the next item.
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((i, item)) = next else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread panicked"))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, u)| u).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_on_any_number_of_threads() {
        for threads in [0, 1, 2, 3, 7] {
            for n in [0, 1, 5, 100] {
                let got = map_on_threads((0..n).collect(), threads, |i| i * 2);
                assert_eq!(got, (0..n).map(|i| i * 2).collect::<Vec<_>>());
            }
        }
    }
}
