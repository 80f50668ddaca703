//! The digests two replicas compare in a round: one over every change hash
//! (the [`Summary`](super::Summary)'s), and one per bucket (the changes
//! whose hash starts with that byte, [`crate::wire::BUCKETS`] of them).
//! Each is SHA-256 over the 32-byte change hashes in ascending order, so
//! replicas that hold the same changes have the same digests. Every
//! [`Replica`](super::Replica) computes them with these functions.

use sha2::{Digest, Sha256};

use crate::wire::BUCKETS;

/// The digest over every change hash held, given in ascending order.
pub fn summary_digest<'a>(hashes: impl IntoIterator<Item = &'a [u8; 32]>) -> [u8; 32] {
    let mut h = Sha256::new();
    for hash in ascending(hashes) {
        h.update(hash);
    }
    h.finalize().into()
}

/// The digest of each bucket (an empty bucket's is SHA-256 of nothing,
/// [`crate::wire::EMPTY_BUCKET`], which a round looks for), from every
/// change hash held, given in ascending order.
pub fn bucket_digests<'a>(hashes: impl IntoIterator<Item = &'a [u8; 32]>) -> Vec<[u8; 32]> {
    let mut hashers: Vec<Sha256> = (0..BUCKETS).map(|_| Sha256::new()).collect();
    for hash in ascending(hashes) {
        hashers[usize::from(hash[0])].update(hash);
    }
    hashers.into_iter().map(|h| h.finalize().into()).collect()
}

/// The hashes, checked (in debug builds) to come in ascending order: the
/// order is part of the digest.
fn ascending<'a>(
    hashes: impl IntoIterator<Item = &'a [u8; 32]>,
) -> impl Iterator<Item = &'a [u8; 32]> {
    let mut last: Option<&[u8; 32]> = None;
    hashes.into_iter().inspect(move |h| {
        debug_assert!(last.is_none_or(|l| l < *h), "change hashes out of order");
        last = Some(*h);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(first: u8, n: u8) -> [u8; 32] {
        let mut h = [n; 32];
        h[0] = first;
        h
    }

    #[test]
    fn same_changes_same_digests_and_one_more_changes_only_its_bucket() {
        let empty = crate::wire::EMPTY_BUCKET;
        assert_eq!(summary_digest([]), empty);
        assert_eq!(bucket_digests([]), vec![empty; BUCKETS]);

        let held = [hash(1, 1), hash(1, 2), hash(200, 3)];
        assert_eq!(summary_digest(&held), summary_digest(&held.clone()));
        let mut all = Sha256::new();
        held.iter().for_each(|h| all.update(h));
        assert_eq!(summary_digest(&held), <[u8; 32]>::from(all.finalize()));

        let more = [hash(1, 1), hash(1, 2), hash(7, 9), hash(200, 3)];
        assert_ne!(summary_digest(&held), summary_digest(&more));
        let (a, b) = (bucket_digests(&held), bucket_digests(&more));
        let differ: Vec<usize> = (0..BUCKETS).filter(|&i| a[i] != b[i]).collect();
        assert_eq!(differ, vec![7]);
        assert_ne!(a[1], empty);
        assert_eq!(a[2], empty);
    }

    #[test]
    #[should_panic(expected = "out of order")]
    #[cfg(debug_assertions)]
    fn hashes_out_of_order_are_a_bug() {
        summary_digest(&[hash(2, 0), hash(1, 0)]);
    }
}
