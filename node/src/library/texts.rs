//! The catalog's search texts, held zstd-compressed in blocks of texts
//! next to each other in key order.
//!
//! Folded search texts are most of the catalog's memory (about the size of
//! the records' text: 12 MB at full scale, 116 MB at ten times that). A
//! block of neighbouring texts compresses to about a third; a search
//! unpacks every block once (about 1.5 GB/s), and a change to one text
//! packs its block again (a few hundred KB at most).

use std::collections::BTreeMap;
use std::ops::Bound;

/// Texts per block when blocks are built; a block that grows past twice
/// this is split.
const BLOCK: usize = 64;
/// zstd level: packing a block must stay cheap, as every record write
/// packs one.
const LEVEL: i32 = 1;

/// Neighbouring texts, packed together.
#[derive(Default)]
struct Block {
    /// The texts' document keys, in key order.
    keys: Vec<String>,
    /// Where each text ends in the unpacked block.
    ends: Vec<u32>,
    /// The texts one after another, zstd-compressed.
    packed: Box<[u8]>,
}

impl Block {
    fn pack(texts: Vec<(String, Box<str>)>) -> Block {
        let mut raw = String::new();
        let mut keys = Vec::with_capacity(texts.len());
        let mut ends = Vec::with_capacity(texts.len());
        for (k, t) in texts {
            raw.push_str(&t);
            keys.push(k);
            ends.push(raw.len() as u32);
        }
        let packed = zstd::bulk::compress(raw.as_bytes(), LEVEL)
            .expect("compressing into a growable buffer")
            .into_boxed_slice();
        Block { keys, ends, packed }
    }

    /// The block's texts, unpacked into `raw` (kept between blocks).
    fn unpack<'s, 'r>(
        &'s self,
        raw: &'r mut Vec<u8>,
    ) -> impl Iterator<Item = (&'s str, &'r str)> + use<'s, 'r> {
        let len = self.ends.last().copied().unwrap_or(0) as usize;
        raw.clear();
        raw.resize(len, 0);
        let n = zstd::bulk::decompress_to_buffer(&self.packed, &mut raw[..])
            .expect("a block this process packed unpacks");
        debug_assert_eq!(n, len);
        // Valid UTF-8: it was packed from strings, cut where they ended.
        let all: &'r str = std::str::from_utf8(&raw[..]).expect("packed from strings");
        let mut start = 0;
        self.keys.iter().zip(&self.ends).map(move |(k, &end)| {
            let t = &all[start..end as usize];
            start = end as usize;
            (k.as_str(), t)
        })
    }

    fn entries(&self) -> Vec<(String, Box<str>)> {
        let mut raw = Vec::new();
        self.unpack(&mut raw)
            .map(|(k, t)| (k.to_owned(), t.into()))
            .collect()
    }
}

/// Document key -> folded search text.
#[derive(Default)]
pub(crate) struct Texts {
    /// Blocks by their first key.
    blocks: BTreeMap<String, Block>,
    len: usize,
}

impl Texts {
    /// Texts from pairs in key order (as the store lists them).
    pub fn from_sorted(pairs: impl IntoIterator<Item = (String, Box<str>)>) -> Texts {
        let mut texts = Texts::default();
        let mut chunk = Vec::with_capacity(BLOCK);
        for pair in pairs {
            chunk.push(pair);
            if chunk.len() == BLOCK {
                texts.put_block(std::mem::take(&mut chunk));
            }
        }
        if !chunk.is_empty() {
            texts.put_block(chunk);
        }
        texts
    }

    fn put_block(&mut self, entries: Vec<(String, Box<str>)>) {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        self.len += entries.len();
        let first = entries[0].0.clone();
        self.blocks.insert(first, Block::pack(entries));
    }

    /// The first key of the block `key` belongs in: the last block
    /// starting at or before it, else the first block.
    fn block_of(&self, key: &str) -> Option<String> {
        self.blocks
            .range::<str, _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()
            .or_else(|| self.blocks.iter().next())
            .map(|(k, _)| k.clone())
    }

    /// Take the block `key` belongs in out, unpacked.
    fn take_block(&mut self, key: &str) -> Vec<(String, Box<str>)> {
        let Some(first) = self.block_of(key) else {
            return Vec::new();
        };
        let block = self.blocks.remove(&first).expect("just found");
        let entries = block.entries();
        self.len -= entries.len();
        entries
    }

    /// Put unpacked entries back, split in two if they grew too many.
    fn put_back(&mut self, mut entries: Vec<(String, Box<str>)>) {
        if entries.len() > 2 * BLOCK {
            let rest = entries.split_off(entries.len() / 2);
            self.put_block(rest);
        }
        if !entries.is_empty() {
            self.put_block(entries);
        }
    }

    /// Set the text of `key`.
    pub fn insert(&mut self, key: String, text: Box<str>) {
        let mut entries = self.take_block(&key);
        match entries.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => entries[i].1 = text,
            Err(i) => entries.insert(i, (key, text)),
        }
        self.put_back(entries);
    }

    /// Drop the text of `key`, if there is one.
    pub fn remove(&mut self, key: &str) {
        let mut entries = self.take_block(key);
        if let Ok(i) = entries.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            entries.remove(i);
        }
        self.put_back(entries);
    }

    /// How many texts there are (tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Call `f` with every document key and its text, in key order. The
    /// text lives only for the call; the key as long as `self`.
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(&'a str, &str)) {
        let mut raw = Vec::new();
        for block in self.blocks.values() {
            for (k, t) in block.unpack(&mut raw) {
                f(k, t);
            }
        }
    }

    /// Every key and text, unpacked (tests).
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.for_each(|k, t| out.push((k.to_owned(), t.to_owned())));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> String {
        format!("practice/p-{i:05}")
    }

    fn text(i: usize, round: usize) -> Box<str> {
        format!("mentorat apres la liberation {i} {round} ")
            .repeat(i % 7 + 1)
            .into()
    }

    /// Inserting, replacing and removing texts in any order leaves what a
    /// map would hold, in key order, through block splits and removals.
    #[test]
    fn texts_behave_as_a_sorted_map() {
        let mut model = BTreeMap::new();
        let built: Vec<_> = (0..300).step_by(2).map(|i| (key(i), text(i, 0))).collect();
        for (k, t) in &built {
            model.insert(k.clone(), t.to_string());
        }
        let mut texts = Texts::from_sorted(built);
        // New keys between, before and after the existing ones, so that
        // blocks grow past twice their size and split.
        for i in (1..301).step_by(2).chain([0, 1000, 2000]) {
            texts.insert(key(i), text(i, 1));
            model.insert(key(i), text(i, 1).to_string());
        }
        for i in (0..300).step_by(3) {
            texts.remove(&key(i));
            model.remove(&key(i));
        }
        texts.remove("event/none");
        texts.remove("practice/zzz");
        for i in (0..300).step_by(5) {
            texts.insert(key(i), text(i, 2));
            model.insert(key(i), text(i, 2).to_string());
        }
        let expected: Vec<(String, String)> = model.into_iter().collect();
        assert_eq!(texts.to_vec(), expected);
        assert_eq!(texts.len(), expected.len());
        assert!(texts.blocks.values().all(|b| b.keys.len() <= 2 * BLOCK));
        // Removing everything leaves no block.
        for (k, _) in &expected {
            texts.remove(k);
        }
        assert!(texts.blocks.is_empty() && texts.len() == 0);
        texts.insert(key(7), text(7, 3));
        assert_eq!(texts.to_vec(), vec![(key(7), text(7, 3).to_string())]);
    }

    /// Multi-byte text is cut where each text ended.
    #[test]
    fn texts_keep_their_characters() {
        let pairs = vec![
            ("event/e-1".to_owned(), "затвор и семейство".into()),
            ("event/e-2".to_owned(), "".into()),
            ("practice/p-1".to_owned(), "reinsercao familia".into()),
        ];
        let texts = Texts::from_sorted(pairs.clone());
        let got = texts.to_vec();
        let want: Vec<(String, String)> =
            pairs.into_iter().map(|(k, t)| (k, t.to_string())).collect();
        assert_eq!(got, want);
    }
}
