//! `[store]`: when the store is compacted.

use serde::Deserialize;

/// `[store]`: the node's store on disk.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// Compact the store (in the background, after a start, an import or
    /// sync rounds) once it is past this size, in MB (10^6 bytes), and
    /// past twice its size after its last compaction; default 16 MiB
    /// ([`crate::store::COMPACT_ABOVE`]). 0: on the second rule alone.
    pub compact_above_mb: Option<u64>,
}

impl StoreSection {
    /// The size past which the store is compacted, in bytes, if set.
    pub fn compact_above(&self) -> Option<u64> {
        self.compact_above_mb
            .map(|mb| mb.saturating_mul(1000 * 1000))
    }
}
