//! Diffie-Hellman in the 1536-bit MODP group of RFC 3526 with generator 2
//! (Protocol-v3.html, "Encoded messages").
//!
//! Private exponents are 320 bits (40 random bytes, as libotr draws them). Key generation
//! uses a precomputed fixed-base table for g = 2; shared secrets use a constant-time
//! windowed exponentiation. Every received public value is checked to lie in `[2, p-2]`.

use rand_core::CryptoRngCore;

/// Bytes of the 1536-bit modulus.
pub const MODULUS_BYTES: usize = 192;

/// A validated Diffie-Hellman public value `g^x mod p`, `2 <= g^x <= p-2`.
///
/// Ordered numerically: OTR's "high"/"low" end of a data message compares public values.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DhPublicKey {
    /// Minimal big-endian bytes (no leading zero), at most [`MODULUS_BYTES`].
    bytes: Vec<u8>,
}

impl DhPublicKey {
    /// Validates big-endian bytes (leading zeros allowed) as a public value in `[2, p-2]`.
    pub fn from_bytes(be: &[u8]) -> Result<Self, super::CryptoError> {
        unimplemented!("crypto helper")
    }

    /// The value as minimal big-endian bytes: the body of its MPI encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl core::fmt::Debug for DhPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        unimplemented!("crypto helper: print a short hex prefix")
    }
}

/// A Diffie-Hellman key pair: a 320-bit secret exponent and its public value.
pub struct DhKeyPair {
    public: DhPublicKey,
    // secret exponent: zeroized on drop, never printed
}

impl DhKeyPair {
    /// Draws a 320-bit secret exponent from `rng` and computes `2^x mod p`.
    pub fn generate(rng: &mut dyn CryptoRngCore) -> Self {
        unimplemented!("crypto helper")
    }

    /// Our public value.
    pub fn public(&self) -> &DhPublicKey {
        &self.public
    }

    /// The shared secret `theirs^x mod p`, computed in constant time.
    pub fn shared_secret(&self, theirs: &DhPublicKey) -> SharedSecret {
        unimplemented!("crypto helper")
    }
}

impl core::fmt::Debug for DhKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DhKeyPair").field("public", &self.public).finish_non_exhaustive()
    }
}

/// A Diffie-Hellman shared secret `g^xy`. Zeroized on drop, redacted in `Debug`.
pub struct SharedSecret {
    // zeroizing storage of the minimal big-endian bytes
}

impl SharedSecret {
    /// OTR's `secbytes`: the secret as a minimum-length MPI (4-byte big-endian length, then
    /// the value), the input of the h1/h2 key derivations.
    pub fn secbytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        unimplemented!("crypto helper")
    }
}

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}
