//! Datasets: the demo dataset as a file to import, and a dataset's records
//! sorted for comparison.

use std::io::Write;
use std::path::{Path, PathBuf};

use r2com_node::demo_data;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The demo dataset `r2com demo-data --practices P --events E --seed S`
/// prints (generated in this process), as a file to import. The file is
/// named by its content: tests running at once write their own temporary
/// file and rename it into place, and a changed generator never finds a
/// stale file.
pub fn gen_dataset(practices: u32, events: u32, seed: u32) -> PathBuf {
    let data = demo_data::to_json(&demo_data::generate(practices, events, seed.into()));
    let digest = hex::encode(&Sha256::digest(&data)[..8]);
    let dir = std::env::temp_dir().join("r2com-datasets");
    std::fs::create_dir_all(&dir).expect("dataset dir");
    let path = dir.join(format!("p{practices}-e{events}-s{seed}-{digest}.json"));
    if !path.exists() {
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).expect("dataset temp file");
        tmp.write_all(&data).expect("write dataset");
        tmp.persist(&path).expect("rename dataset into place");
    }
    path
}

/// Records of a dataset file, keyed and sorted for comparison.
pub fn sorted_dataset(v: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["practices", "events"] {
        let mut items = v[key].as_array().cloned().unwrap_or_default();
        items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        out.insert(key.to_owned(), Value::Array(items));
    }
    Value::Object(out)
}

/// A file of `size` bytes that starts as a PDF and neither repeats nor
/// compresses (xorshift from `seed`), written as `dir/name`: its path and
/// its bytes.
pub fn material(dir: &Path, name: &str, size: usize, seed: u64) -> (PathBuf, Vec<u8>) {
    let mut data = b"%PDF-1.7\n".to_vec();
    let mut x = seed | 1;
    while data.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(size);
    let path = dir.join(name);
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

#[cfg(test)]
mod tests {
    #[test]
    fn datasets_generated_at_once_by_several_tests_are_whole() {
        let paths: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| super::gen_dataset(50, 20, 11)))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("no panic"))
            .collect();
        assert!(paths.windows(2).all(|w| w[0] == w[1]));
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
        assert_eq!(v["practices"].as_array().unwrap().len(), 50);
        assert_eq!(v["events"].as_array().unwrap().len(), 20);
    }
}
