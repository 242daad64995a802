//! Cryptographic primitives with OTR's exact conventions.
//!
//! * [`dh`]: Diffie-Hellman in the 1536-bit MODP group of RFC 3526 (g = 2).
//! * [`dsa`]: 1024-bit DSA long-term keys, signing a 32-byte value taken mod q as libotr does,
//!   with hedged RFC 6979 nonces; peers' keys are validated.
//! * [`sym`]: AES-128-CTR, SHA-1, SHA-256, HMAC-SHA1, HMAC-SHA256(-160).
//! * `bigint`: the fixed-width constant-time Montgomery arithmetic underneath.
//!
//! Every secret type here is zeroized on drop and redacted in `Debug`.

pub(crate) mod bigint;
pub mod dh;
pub mod dsa;
mod fuzz_memo;
pub(crate) mod group;
mod mont24;
pub mod sym;

pub use dh::{DhKeyPair, DhPublicKey, SharedSecret};
pub use dsa::{DsaKeyDefect, DsaPrivateKey, DsaPublicKey, DsaSignature, Fingerprint};

/// Why a cryptographic value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// A Diffie-Hellman public value outside `[2, p-2]` (or longer than the modulus).
    DhValueOutOfRange,
    /// DSA key components that are missing, oversized or inconsistent.
    InvalidDsaKey,
    /// A DSA public key that parses but fails validation (weak or degenerate parameters).
    WeakDsaKey(DsaKeyDefect),
    /// A DSA signature with `r` or `s` outside `[1, q-1]`, or of the wrong length.
    InvalidSignature,
}

impl core::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::DhValueOutOfRange => f.write_str("Diffie-Hellman value out of range"),
            Self::InvalidDsaKey => f.write_str("invalid DSA key"),
            Self::WeakDsaKey(defect) => write!(f, "weak DSA key: {defect}"),
            Self::InvalidSignature => f.write_str("invalid DSA signature"),
        }
    }
}

impl std::error::Error for CryptoError {}
