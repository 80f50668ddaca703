use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{Entry, Store, StoreError, Write};

/// An in-memory store for tests. `flush` is a no-op: it never crashes.
#[derive(Default)]
pub struct MemoryStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.read().expect("lock").get(key).cloned())
    }

    fn scan_prefix<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a> {
        let map = self.map.read().expect("lock");
        let items: Vec<_> = map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        Box::new(items.into_iter())
    }

    fn scan_after<'a>(
        &'a self,
        prefix: &[u8],
        after: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let start = if after < prefix {
            Included(prefix.to_vec())
        } else {
            Excluded(after.to_vec())
        };
        let map = self.map.read().expect("lock");
        let items: Vec<_> = map
            .range::<Vec<u8>, _>((start, Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        Box::new(items.into_iter())
    }

    fn write(&self, batch: Vec<Write>) -> Result<(), StoreError> {
        let mut map = self.map.write().expect("lock");
        for (k, v) in batch {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
