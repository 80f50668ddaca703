//! Tests of the file store.

use super::*;

#[test]
fn ingest_stores_by_hash_and_refuses_large_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path(), 3 * PIECE);
    let src = dir.path().join("guide.pdf");
    let mut data = b"%PDF-1.7\n".to_vec();
    data.extend((0..(2 * PIECE + 100)).map(|i| (i % 251) as u8));
    fs::write(&src, &data).unwrap();
    let got = store.ingest(&src).unwrap();
    assert_eq!(got.hash, blake3::hash(&data).to_hex().as_str());
    assert_eq!(got.size, data.len() as u64);
    assert_eq!(got.media_type, "application/pdf");
    let h = parse_hash(&got.hash).unwrap();
    assert_eq!(fs::read(store.path(&h)).unwrap(), data);
    assert!(store.check(&h).unwrap());
    let v = store.verifier(&h, got.size).unwrap().unwrap();
    for i in 0..3 {
        let piece = store.read_piece(&h, got.size, i).unwrap().unwrap();
        v.check(i, &piece).unwrap();
    }
    assert_eq!(store.held().unwrap(), vec![(h, got.size)]);
    // Again: the same hash, nothing new.
    assert_eq!(store.ingest(&src).unwrap(), got);

    let big = dir.path().join("big");
    fs::write(&big, vec![0u8; (3 * PIECE + 1) as usize]).unwrap();
    assert!(matches!(
        store.ingest(&big),
        Err(FileError::TooLarge { .. })
    ));
}

#[test]
fn sniffing_looks_at_content_not_names() {
    assert_eq!(sniff(b"%PDF-1.4 rest"), "application/pdf");
    assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), "image/png");
    assert_eq!(sniff("Plain notes, café".as_bytes()), "text/plain");
    assert_eq!(sniff(&[0, 1, 2, 3, 0xff]), "application/octet-stream");
}
