use super::*;

#[test]
fn batches_round_trip_and_bombs_are_bounded() {
    let envs = vec![vec![1u8; 100], vec![2u8; 5000], vec![]];
    assert_eq!(decode_batch(&encode_batch(&envs)).unwrap(), envs);
    // 100 MiB of zeros compress to a few KB; inflating stops at the bound.
    let bomb = zstd::bulk::compress(&vec![0u8; 100 * 1024 * 1024], 19).unwrap();
    assert!(bomb.len() < 100_000);
    assert_eq!(
        decode_batch(&bomb).unwrap_err(),
        WireError::Limit("batch inflates beyond its limit")
    );
    assert!(decode_batch(b"garbage").is_err());
    let mut lying = (u32::MAX).to_be_bytes().to_vec();
    lying.extend_from_slice(b"abc");
    assert!(decode_batch(&zstd::bulk::compress(&lying, 1).unwrap()).is_err());
}

#[test]
fn the_empty_bucket_digest_is_sha256_of_nothing() {
    use sha2::Digest;
    assert_eq!(EMPTY_BUCKET, <[u8; 32]>::from(sha2::Sha256::digest(b"")));
}

#[test]
fn lists_are_bounded() {
    let too_many = SyncRequest::GetChanges {
        hashes: vec![ByteBuf::from(vec![0u8; 32]); MAX_CHANGES_PER_REQUEST + 1],
    };
    assert!(too_many.check().is_err());
    let short = SyncRequest::GetChanges {
        hashes: vec![ByteBuf::from(vec![0u8; 31])],
    };
    assert!(short.check().is_err());
    assert!(SyncResponse::Buckets { digests: vec![] }.check().is_err());
}

/// A list is refused while it is decoded, as soon as it passes the
/// longest list a message may carry, not after all of it is in memory
/// (issue 13, point 7).
#[test]
fn a_list_is_refused_while_decoding_past_its_bound() {
    // `GetChanges` with `n` empty byte strings, written as a peer may
    // (building the list itself would take the memory under test).
    let many = |n: usize| {
        let mut cbor =
            cbor4ii::serde::to_vec(Vec::new(), &SyncRequest::GetChanges { hashes: Vec::new() })
                .unwrap();
        assert_eq!(cbor.pop(), Some(0x80), "the empty list ends the message");
        cbor.push(0x9a);
        cbor.extend_from_slice(&(n as u32).to_be_bytes());
        cbor.resize(cbor.len() + n, 0x40);
        cbor
    };
    let at_bound = cbor4ii::serde::from_slice::<SyncRequest>(&many(MAX_HASHES));
    assert!(
        matches!(at_bound, Ok(SyncRequest::GetChanges { hashes }) if hashes.len() == MAX_HASHES)
    );
    // An 8 MiB request of empty byte strings: refused at item 65,537.
    let flood = many(MAX_REQUEST_BYTES as usize - 32);
    assert!(flood.len() as u64 <= MAX_REQUEST_BYTES);
    let err = cbor4ii::serde::from_slice::<SyncRequest>(&flood).unwrap_err();
    assert!(err.to_string().contains("longer than 65536"), "{err}");
    let reply = cbor4ii::serde::to_vec(
        Vec::new(),
        &SyncResponse::Inventory {
            hashes: vec![ByteBuf::new(); MAX_HASHES + 1],
            buckets: ByteBuf::new(),
        },
    )
    .unwrap();
    assert!(cbor4ii::serde::from_slice::<SyncResponse>(&reply).is_err());
}

#[test]
fn get_docs_without_envelopes_is_the_revision_2_message() {
    use serde_bytes::ByteBuf;
    /// The request as a revision 2 node knew it.
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    enum Old {
        GetDocs { buckets: ByteBuf },
    }
    let buckets = ByteBuf::from(vec![1, 2, 3]);
    let new = SyncRequest::GetDocs {
        buckets: buckets.clone(),
        envelopes: false,
    };
    let old = Old::GetDocs {
        buckets: buckets.clone(),
    };
    // Byte for byte what a revision 2 node sends, and it decodes as one.
    assert_eq!(cbor(&new), cbor(&old));
    let decoded: SyncRequest = cbor4ii::serde::from_slice(&cbor(&old)).unwrap();
    assert!(matches!(
        decoded,
        SyncRequest::GetDocs {
            envelopes: false,
            ..
        }
    ));
    // A revision 3 request with envelopes still decodes on a revision 2
    // node (which answers version 1 chunks), though it is only sent to
    // revision 3 peers.
    let with = SyncRequest::GetDocs {
        buckets,
        envelopes: true,
    };
    let decoded: Old = cbor4ii::serde::from_slice(&cbor(&with)).unwrap();
    assert_eq!(decoded, old);
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    cbor4ii::serde::to_vec(Vec::new(), v).unwrap()
}
