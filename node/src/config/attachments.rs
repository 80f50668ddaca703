//! `[attachments]`: the largest file accepted and which files are fetched
//! without being asked.

use serde::Deserialize;

/// `[attachments]`: files attached to records.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsSection {
    /// Largest file accepted, in MB (10^6 bytes); default 100.
    pub max_size_mb: Option<u64>,
    /// Which files to fetch without being asked.
    #[serde(default)]
    pub prefetch: crate::files::Prefetch,
}

impl AttachmentsSection {
    /// The largest file accepted, in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size_mb
            .map(|mb| mb.saturating_mul(1000 * 1000))
            .unwrap_or(crate::files::DEFAULT_MAX_SIZE)
    }
}
