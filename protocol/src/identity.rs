//! Node keys. Newtypes over ed25519-dalek so that the rest of the code cannot
//! sign or verify in a way other than the one r2com allows: strict
//! verification, no weak keys, no batch verification.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// Length of a public key and of an automerge actor id bound to it.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// A node's secret key. Never printed, never serialized except to the key
/// file.
pub struct NodeKey {
    signing: SigningKey,
}

impl NodeKey {
    /// The key from its 32-byte ed25519 seed (the content of the key file).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        NodeKey {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The 32-byte seed, to be written to the key file.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
    }

    /// Sign `message` (callers build it with a domain-separation prefix).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey({})", self.public())
    }
}

/// A member node's public key, checked to be a valid, non-weak point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// Why bytes are not an acceptable public key or signature.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not 32 bytes (or not 64 hex digits).
    #[error("a public key is 32 bytes (64 hex digits)")]
    BadLength,
    /// Not a point on the curve.
    #[error("not a valid ed25519 public key")]
    Invalid,
    /// A small-order point: anyone could forge signatures for it.
    #[error("weak ed25519 public key refused")]
    Weak,
    /// The signature did not verify under `verify_strict`.
    #[error("signature does not verify")]
    BadSignature,
}

impl PublicKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: [u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| KeyError::BadLength)?;
        let key = VerifyingKey::from_bytes(&arr).map_err(|_| KeyError::Invalid)?;
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        Ok(PublicKey(key))
    }

    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(s.trim()).map_err(|_| KeyError::BadLength)?;
        Self::from_bytes(&bytes)
    }

    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0.to_bytes()
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Strict verification (rejects non-canonical and small-order
    /// components); never batched.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| KeyError::BadSignature)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

/// An ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}..)", hex::encode(&self.0[..8]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_malformed_keys_are_refused() {
        // The identity point (small order) encodes as 1 followed by zeros.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(KeyError::Weak));
        assert_eq!(PublicKey::from_bytes(&[1, 2, 3]), Err(KeyError::BadLength));
        assert_eq!(PublicKey::from_hex("zz"), Err(KeyError::BadLength));
        let key = NodeKey::from_seed([3; 32]);
        let pk = key.public();
        assert_eq!(PublicKey::from_hex(&pk.to_hex()).unwrap(), pk);
    }

    #[test]
    fn signatures_verify_strictly() {
        let key = NodeKey::from_seed([9; 32]);
        let sig = key.sign(b"hello");
        assert!(key.public().verify(b"hello", &sig).is_ok());
        assert_eq!(
            key.public().verify(b"hellO", &sig),
            Err(KeyError::BadSignature)
        );
        let other = NodeKey::from_seed([10; 32]);
        assert!(other.public().verify(b"hello", &sig).is_err());
    }
}
