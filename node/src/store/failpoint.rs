//! Crash and failure failpoints for tests, in a store wrapper that the
//! production store never carries: [`FailpointStore`] wraps a store only
//! when `R2COM_FAILPOINT` is set (see [`crate::open::OpenNode::open_locked`]) or a
//! test builds one.
//!
//! `R2COM_FAILPOINT=<site>:<n>[:before|after|fail]` arms the `n`-th call
//! (counted from 1) at `site`: `before` (the default) and `after` abort the
//! process with [`std::process::abort`] just before or just after the store
//! operation, as a power cut would; `fail` makes that call return an error
//! without doing it, as a failing disk would (a `flush` that fails leaves
//! the preceding writes in place but not durable). Sites: `flush`
//! ([`Store::flush`]), `batch` (a [`Store::write`] of more than one key),
//! `piece` (a fetched file piece written to its part file; only
//! `after` applies: the fetcher aborts once the piece is written), and
//! `key-switch` (a key rotation's switch of key files, see
//! [`crate::rotation`]: `before` aborts between linking `node.key.old` and
//! renaming `node.key.next`, `after` once the switch is done, before the
//! old key's revocation).

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Entry, Store, StoreError, Write};

/// The environment variable that arms a failpoint.
pub const ENV: &str = "R2COM_FAILPOINT";

/// Where a failpoint sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    Flush,
    Batch,
    Piece,
    KeySwitch,
}

/// What an armed failpoint does when it is hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Abort the process before the operation.
    AbortBefore,
    /// Abort the process after the operation.
    AbortAfter,
    /// Skip the operation and return an error.
    Fail,
}

/// One armed failpoint.
#[derive(Debug)]
pub struct Failpoint {
    site: Site,
    nth: u64,
    action: Action,
    seen: AtomicU64,
}

impl Failpoint {
    /// The failpoint armed by [`ENV`], if any (a malformed value arms none
    /// and says so on stderr).
    pub fn from_env() -> Option<Failpoint> {
        let spec = std::env::var(ENV).ok()?;
        let fp = Failpoint::parse(&spec);
        if fp.is_none() {
            eprintln!("{ENV}={spec:?} is not <flush|batch|piece|key-switch>:<n>[:before|after|fail]; ignored");
        }
        fp
    }

    pub fn parse(spec: &str) -> Option<Failpoint> {
        let mut parts = spec.split(':');
        let site = match parts.next()? {
            "flush" => Site::Flush,
            "batch" => Site::Batch,
            "piece" => Site::Piece,
            "key-switch" => Site::KeySwitch,
            _ => return None,
        };
        let nth = parts.next()?.parse().ok().filter(|n| *n > 0)?;
        let action = match parts.next() {
            None | Some("before") => Action::AbortBefore,
            Some("after") => Action::AbortAfter,
            Some("fail") => Action::Fail,
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Failpoint {
            site,
            nth,
            action,
            seen: AtomicU64::new(0),
        })
    }

    /// The site this failpoint is armed at.
    pub fn site(&self) -> Site {
        self.site
    }

    /// What it does when hit.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Count a call at `site`; abort the process if it is the armed one.
    pub fn hit(&self, site: Site) {
        if self.armed(site) {
            self.abort()
        }
    }

    /// Count a call at `site`: whether it is the armed one.
    fn armed(&self, site: Site) -> bool {
        self.site == site && self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.nth
    }

    fn abort(&self) -> ! {
        eprintln!(
            "failpoint {:?}:{} ({:?}) hit: aborting",
            self.site, self.nth, self.action
        );
        std::process::abort();
    }
}

/// A store whose operations pass through one failpoint.
pub struct FailpointStore<S> {
    inner: S,
    failpoint: Failpoint,
}

impl<S: Store> FailpointStore<S> {
    pub fn new(inner: S, failpoint: Failpoint) -> FailpointStore<S> {
        FailpointStore { inner, failpoint }
    }

    /// Run `op` at `site`, doing what the failpoint says if this call is
    /// the armed one.
    fn at(
        &self,
        site: Site,
        op: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if !self.failpoint.armed(site) {
            return op();
        }
        match self.failpoint.action {
            Action::AbortBefore => self.failpoint.abort(),
            Action::AbortAfter => {
                op()?;
                self.failpoint.abort()
            }
            Action::Fail => {
                eprintln!(
                    "failpoint {site:?}:{} (fail) hit: failing the call",
                    self.failpoint.nth
                );
                Err(StoreError::Io(std::io::Error::other(format!(
                    "failpoint {site:?}:{}",
                    self.failpoint.nth
                ))))
            }
        }
    }
}

impl<S: Store> Store for FailpointStore<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }

    fn scan_prefix<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a> {
        self.inner.scan_prefix(prefix)
    }

    fn scan_keys<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Vec<u8>, StoreError>> + 'a> {
        self.inner.scan_keys(prefix)
    }

    fn scan_after<'a>(
        &'a self,
        prefix: &[u8],
        after: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a> {
        self.inner.scan_after(prefix, after)
    }

    fn write(&self, batch: Vec<Write>) -> Result<(), StoreError> {
        if batch.len() > 1 {
            self.at(Site::Batch, || self.inner.write(batch))
        } else {
            self.inner.write(batch)
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.at(Site::Flush, || self.inner.flush())
    }

    fn compact_if_grown(&self) -> Result<bool, StoreError> {
        self.inner.compact_if_grown()
    }

    fn compact_if_grown_in_background(&self) -> Result<bool, StoreError> {
        self.inner.compact_if_grown_in_background()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{keys, MemoryStore};

    #[test]
    fn specs_parse() {
        let fp = Failpoint::parse("flush:3").unwrap();
        assert_eq!(
            (fp.site, fp.nth, fp.action),
            (Site::Flush, 3, Action::AbortBefore)
        );
        let fp = Failpoint::parse("batch:1:after").unwrap();
        assert_eq!(
            (fp.site, fp.nth, fp.action),
            (Site::Batch, 1, Action::AbortAfter)
        );
        let fp = Failpoint::parse("flush:2:fail").unwrap();
        assert_eq!((fp.site, fp.nth, fp.action), (Site::Flush, 2, Action::Fail));
        for bad in [
            "",
            "flush",
            "flush:0",
            "sync:1",
            "batch:2:during",
            "flush:1:fail:x",
        ] {
            assert!(Failpoint::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_failing_call_is_the_armed_one_only() {
        let store = FailpointStore::new(
            MemoryStore::default(),
            Failpoint::parse("batch:2:fail").unwrap(),
        );
        let put = |k: &str| (keys::doc(keys::RECORD, k), Some(b"v".to_vec()));
        // A single-key write is not a batch: not counted.
        store.write(vec![put("a")]).unwrap();
        store.write(vec![put("b"), put("c")]).unwrap();
        // The second batch fails and writes nothing.
        assert!(store.write(vec![put("d"), put("e")]).is_err());
        assert_eq!(store.get(&keys::doc(keys::RECORD, "d")).unwrap(), None);
        // Later calls pass again; flushes are another site.
        store.write(vec![put("f"), put("g")]).unwrap();
        store.flush().unwrap();
        assert!(store.get(&keys::doc(keys::RECORD, "g")).unwrap().is_some());
    }
}
