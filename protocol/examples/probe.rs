use r2com_protocol::{doc, envelope::*, identity::NodeKey, record::Dataset};
fn main() {
    let data = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let t = std::time::Instant::now();
    let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
    let recs = Dataset::from_value(v).unwrap();
    println!("parse+validate {} records: {:?}", recs.len(), t.elapsed());
    let key = NodeKey::from_seed([1; 32]);
    let t = std::time::Instant::now();
    let mut bytes = 0;
    for r in &recs {
        let (_d, c) = doc::create(&key, r, 0).unwrap();
        let s = SignedChange::sign(&key, &Scope::UNAFFILIATED, &r.doc_id(), c);
        bytes += s.change.len();
    }
    println!("create+sign: {:?}, {} bytes", t.elapsed(), bytes);
}
