//! Crash failpoints for tests: `R2COM_FAILPOINT=<site>:<n>[:before|after]`
//! makes the `n`-th call (counted from 1) at `site` abort the process with
//! [`std::process::abort`] just before (default) or just after the store
//! operation, as a power cut would. Sites: `flush` ([`Store::flush`]) and
//! `batch` (a [`Store::write`] of more than one key).
//!
//! The variable is read once when the store opens; without it (the normal
//! case) a failpoint is a `None` and costs one branch per call.
//!
//! [`Store::flush`]: super::Store::flush
//! [`Store::write`]: super::Store::write

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms a failpoint.
pub const ENV: &str = "R2COM_FAILPOINT";

/// Where a failpoint sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    Flush,
    Batch,
}

/// One armed failpoint.
#[derive(Debug)]
pub struct Failpoint {
    site: Site,
    nth: u64,
    after: bool,
    seen: AtomicU64,
}

impl Failpoint {
    /// The failpoint armed by [`ENV`], if any (a malformed value arms none
    /// and says so on stderr).
    pub fn from_env() -> Option<Failpoint> {
        let spec = std::env::var(ENV).ok()?;
        let fp = Failpoint::parse(&spec);
        if fp.is_none() {
            eprintln!("{ENV}={spec:?} is not <flush|batch>:<n>[:before|after]; ignored");
        }
        fp
    }

    fn parse(spec: &str) -> Option<Failpoint> {
        let mut parts = spec.split(':');
        let site = match parts.next()? {
            "flush" => Site::Flush,
            "batch" => Site::Batch,
            _ => return None,
        };
        let nth = parts.next()?.parse().ok().filter(|n| *n > 0)?;
        let after = match parts.next() {
            None | Some("before") => false,
            Some("after") => true,
            Some(_) => return None,
        };
        Some(Failpoint {
            site,
            nth,
            after,
            seen: AtomicU64::new(0),
        })
    }

    /// Count a call at `site`; abort if it is the armed one and `after`
    /// matches the moment.
    pub fn hit(fp: &Option<Failpoint>, site: Site, after: bool) {
        let Some(fp) = fp else { return };
        if fp.site != site || fp.after != after {
            return;
        }
        if fp.seen.fetch_add(1, Ordering::SeqCst) + 1 == fp.nth {
            eprintln!(
                "failpoint {site:?}:{} ({}) hit: aborting",
                fp.nth,
                if after { "after" } else { "before" }
            );
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let fp = Failpoint::parse("flush:3").unwrap();
        assert_eq!((fp.site, fp.nth, fp.after), (Site::Flush, 3, false));
        let fp = Failpoint::parse("batch:1:after").unwrap();
        assert_eq!((fp.site, fp.nth, fp.after), (Site::Batch, 1, true));
        for bad in ["", "flush", "flush:0", "sync:1", "batch:2:during"] {
            assert!(Failpoint::parse(bad).is_none(), "{bad}");
        }
        // Unarmed, or armed elsewhere: nothing happens.
        Failpoint::hit(&None, Site::Flush, false);
        Failpoint::hit(&Failpoint::parse("batch:1"), Site::Flush, false);
    }
}
