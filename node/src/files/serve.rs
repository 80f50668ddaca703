//! Answering a member's file requests from the store (blocking disk reads:
//! the network loop runs this off its thread). Only whole files are
//! served, never a part still being fetched.

use r2com_protocol::files::{piece_count, FileRequest, FileResponse, MAX_HOLDS};
use serde_bytes::ByteBuf;

use super::FileStore;

/// What a request gets: the answer, or why the request itself is
/// misbehaviour (the caller disconnects the peer).
pub fn answer(store: &FileStore, request: FileRequest) -> Result<FileResponse, String> {
    Ok(match request {
        FileRequest::Holds { hashes } => {
            if hashes.len() > MAX_HOLDS {
                return Err(format!(
                    "asked about {} files at once, at most {MAX_HOLDS}",
                    hashes.len()
                ));
            }
            FileResponse::Holds {
                sizes: hashes.iter().map(|h| store.holds(h)).collect(),
            }
        }
        FileRequest::Outline { hash } => match store.holds(&hash) {
            None => FileResponse::NotHeld,
            Some(size) => match store.verifier(&hash, size) {
                Ok(Some(v)) => FileResponse::Outline {
                    size,
                    pieces: v
                        .outline()
                        .iter()
                        .map(|cv| ByteBuf::from(cv.to_vec()))
                        .collect(),
                },
                Ok(None) | Err(_) => FileResponse::NotHeld,
            },
        },
        FileRequest::Piece { hash, index } => match store.holds(&hash) {
            Some(size) if index < piece_count(size) => match store.read_piece(&hash, size, index) {
                Ok(Some(bytes)) => {
                    store.metrics.piece_served(bytes.len() as u64);
                    FileResponse::Piece {
                        bytes: ByteBuf::from(bytes),
                    }
                }
                _ => FileResponse::NotHeld,
            },
            // Past the end: the asker's reference names another size (a
            // member may have attached a wrong one); not its fault.
            _ => FileResponse::NotHeld,
        },
    })
}
