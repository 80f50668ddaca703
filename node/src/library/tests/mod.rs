//! Unit tests of the library on an in-memory store with a test clock:
//! local writes (`write`) and their commit (`commit`), import and export (`dataset`), records
//! merged into invalid ones (`merged`), changes stored detached from
//! their document's snapshot (`detached`), reads, search
//! and verification (`read`), and the catalog following every write
//! (`catalog`).

mod catalog;
mod commit;
mod dataset;
mod detached;
mod merged;
mod read;
mod write;
