//! The `/r2com/files/1` protocol: members ask each other who holds a file
//! and fetch it in pieces of at most [`PIECE`] bytes, each piece verified
//! on arrival.
//!
//! A file's hash is its BLAKE3. BLAKE3 is a tree hash: every aligned
//! 1 MiB piece is a complete subtree with its own chaining value, and the
//! root hash follows from the pieces' chaining values. A fetcher first
//! asks a holder for the file's *outline* (the chaining value of each
//! piece), checks that the outline hashes to the file's hash, and then
//! checks each piece against its chaining value as it arrives: a peer
//! that sends one wrong byte is caught on that piece, not after the whole
//! file. A file of one piece has no outline: the piece is checked against
//! the hash itself.

use blake3::hazmat::{
    merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The protocol name.
pub const PROTOCOL: &str = "/r2com/files/1";
/// Bytes per piece (a power of two of BLAKE3 chunks: a complete subtree).
pub const PIECE: u64 = 1 << 20;
/// Most hashes one `Holds` question names.
pub const MAX_HOLDS: usize = 64;
/// Most pieces a file may have (a 64 GiB file); bounds an outline.
pub const MAX_PIECES: u64 = 1 << 16;
/// Largest request on the wire.
pub const MAX_REQUEST_BYTES: u64 = 8 * 1024;
/// Largest response on the wire: a piece, or an outline, with framing.
pub const MAX_RESPONSE_BYTES: u64 = PIECE + 64 * 1024 + 40 * MAX_PIECES;

/// A 32-byte hash as it travels.
pub type Hash32 = [u8; 32];

/// What a member asks another about files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileRequest {
    /// Which of these files do you hold whole?
    Holds { hashes: Vec<Hash32> },
    /// The chaining value of each piece of this file.
    Outline { hash: Hash32 },
    /// Piece `index` of this file.
    Piece { hash: Hash32, index: u64 },
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileResponse {
    /// The size of each asked file held, `None` for one not held.
    Holds {
        sizes: Vec<Option<u64>>,
    },
    Outline {
        size: u64,
        pieces: Vec<ByteBuf>,
    },
    Piece {
        bytes: ByteBuf,
    },
    /// The file is not held (any more).
    NotHeld,
}

impl FileRequest {
    pub fn kind(&self) -> &'static str {
        match self {
            FileRequest::Holds { .. } => "holds",
            FileRequest::Outline { .. } => "outline",
            FileRequest::Piece { .. } => "piece",
        }
    }
}

/// Pieces of a file of `size` bytes.
pub fn piece_count(size: u64) -> u64 {
    size.div_ceil(PIECE).max(1)
}

/// The length of piece `index` of a file of `size` bytes.
pub fn piece_len(size: u64, index: u64) -> u64 {
    size.saturating_sub(index * PIECE).min(PIECE)
}

/// The chaining value of piece `index` (its bytes), for a file of more
/// than one piece.
pub fn piece_cv(index: u64, bytes: &[u8]) -> ChainingValue {
    let mut h = blake3::Hasher::new();
    h.set_input_offset(index * PIECE);
    h.update(bytes);
    h.finalize_non_root()
}

/// The root hash of a file of several pieces from their chaining values.
pub fn root_of(cvs: &[ChainingValue]) -> Option<blake3::Hash> {
    if cvs.len() < 2 {
        return None;
    }
    let split = split(cvs.len());
    let left = subtree(&cvs[..split]);
    let right = subtree(&cvs[split..]);
    Some(merge_subtrees_root(&left, &right, Mode::Hash))
}

/// The largest power of two below `n` (n >= 2): where the left-balanced
/// BLAKE3 tree splits `n` whole pieces.
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn subtree(cvs: &[ChainingValue]) -> ChainingValue {
    if cvs.len() == 1 {
        return cvs[0];
    }
    let s = split(cvs.len());
    merge_subtrees_non_root(&subtree(&cvs[..s]), &subtree(&cvs[s..]), Mode::Hash)
}

/// What a fetcher checks pieces against: the hash and size of the file
/// and, for a file of several pieces, the verified outline.
#[derive(Clone, Debug)]
pub struct Verifier {
    hash: Hash32,
    size: u64,
    cvs: Vec<ChainingValue>,
}

/// Why an outline or a piece does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the outline is for a file of {got} bytes, not {want}")]
    Size { got: u64, want: u64 },
    #[error("the outline has {got} pieces, not {want}")]
    Count { got: usize, want: u64 },
    #[error("the outline does not hash to the file's hash")]
    Outline,
    #[error("piece {0} is not part of the file")]
    Index(u64),
    #[error("piece {index} has {got} bytes, not {want}")]
    Length { index: u64, got: usize, want: u64 },
    #[error("piece {0} does not match the file's hash")]
    Piece(u64),
}

impl Verifier {
    /// A verifier from a holder's outline (empty for a one-piece file),
    /// checked against `hash`.
    pub fn new(
        hash: Hash32,
        size: u64,
        outline_size: u64,
        pieces: &[impl AsRef<[u8]>],
    ) -> Result<Verifier, VerifyError> {
        if outline_size != size {
            return Err(VerifyError::Size {
                got: outline_size,
                want: size,
            });
        }
        let n = piece_count(size);
        if n == 1 {
            return Ok(Verifier {
                hash,
                size,
                cvs: Vec::new(),
            });
        }
        if pieces.len() as u64 != n {
            return Err(VerifyError::Count {
                got: pieces.len(),
                want: n,
            });
        }
        let mut cvs = Vec::with_capacity(pieces.len());
        for p in pieces {
            cvs.push(<ChainingValue>::try_from(p.as_ref()).map_err(|_| VerifyError::Outline)?);
        }
        if root_of(&cvs).map(|h| *h.as_bytes()) != Some(hash) {
            return Err(VerifyError::Outline);
        }
        Ok(Verifier { hash, size, cvs })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn pieces(&self) -> u64 {
        piece_count(self.size)
    }

    /// The outline (empty for a one-piece file), to keep beside a part.
    pub fn outline(&self) -> &[ChainingValue] {
        &self.cvs
    }

    /// Check piece `index`.
    pub fn check(&self, index: u64, bytes: &[u8]) -> Result<(), VerifyError> {
        if index >= self.pieces() {
            return Err(VerifyError::Index(index));
        }
        let want = piece_len(self.size, index);
        if bytes.len() as u64 != want {
            return Err(VerifyError::Length {
                index,
                got: bytes.len(),
                want,
            });
        }
        let ok = if self.cvs.is_empty() {
            *blake3::hash(bytes).as_bytes() == self.hash
        } else {
            piece_cv(index, bytes) == self.cvs[index as usize]
        };
        if ok {
            Ok(())
        } else {
            Err(VerifyError::Piece(index))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(data: &[u8]) -> Vec<ChainingValue> {
        if data.len() as u64 <= PIECE {
            return Vec::new();
        }
        data.chunks(PIECE as usize)
            .enumerate()
            .map(|(i, c)| piece_cv(i as u64, c))
            .collect()
    }

    #[test]
    fn outlines_hash_to_blake3_for_many_sizes() {
        let p = PIECE as usize;
        for size in [
            0,
            1,
            1024,
            p - 1,
            p,
            p + 1,
            2 * p,
            2 * p + 1025,
            3 * p,
            5 * p - 7,
            8 * p,
            9 * p + 1,
        ] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 + i / 1000) as u8).collect();
            let hash = *blake3::hash(&data).as_bytes();
            let cvs = outline(&data);
            let v = Verifier::new(hash, size as u64, size as u64, &cvs)
                .unwrap_or_else(|e| panic!("size {size}: {e}"));
            for (i, c) in data.chunks(p).enumerate() {
                v.check(i as u64, c).unwrap();
            }
            if size == 0 {
                v.check(0, &[]).unwrap();
            }
        }
    }

    #[test]
    fn a_wrong_piece_or_outline_is_caught() {
        let p = PIECE as usize;
        // Not periodic: every piece differs from the others.
        let data: Vec<u8> = (0..3 * p + 5)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let hash = *blake3::hash(&data).as_bytes();
        let mut cvs = outline(&data);
        let v = Verifier::new(hash, data.len() as u64, data.len() as u64, &cvs).unwrap();
        let mut bad = data[p..2 * p].to_vec();
        bad[17] ^= 1;
        assert_eq!(v.check(1, &bad), Err(VerifyError::Piece(1)));
        // A right piece sent for another index.
        assert_eq!(v.check(2, &data[p..2 * p]), Err(VerifyError::Piece(2)));
        assert!(matches!(
            v.check(3, &data[3 * p..3 * p + 4]),
            Err(VerifyError::Length { .. })
        ));
        cvs[0][0] ^= 1;
        assert_eq!(
            Verifier::new(hash, data.len() as u64, data.len() as u64, &cvs).unwrap_err(),
            VerifyError::Outline
        );
        let small = b"one piece";
        let v = Verifier::new(*blake3::hash(small).as_bytes(), 9, 9, &[] as &[&[u8]]).unwrap();
        assert_eq!(v.check(0, b"One piece"), Err(VerifyError::Piece(0)));
    }
}
