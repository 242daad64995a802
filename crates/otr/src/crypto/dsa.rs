//! DSA long-term identity keys as OTR uses them (Protocol-v3.html, "Public keys, signatures,
//! and fingerprints"): 1024-bit p, 160-bit q; the signed value is the 32-byte HMAC taken
//! mod q (not truncated as FIPS 186 says, not hashed again), as libotr does.

use rand_core::CryptoRngCore;

/// A DSA public key (p, q, g, y).
#[derive(Clone, PartialEq, Eq)]
pub struct DsaPublicKey {
    // p, q, g, y as minimal big-endian bytes, plus whatever precomputation verification wants
}

impl DsaPublicKey {
    /// Builds a key from big-endian components (leading zeros allowed). Rejects p over
    /// 1024 bits... (see the crypto helper's doc for the exact limits).
    pub fn from_components(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<Self, super::CryptoError> {
        unimplemented!("crypto helper")
    }
    /// p as minimal big-endian bytes.
    pub fn p(&self) -> &[u8] { unimplemented!() }
    /// q as minimal big-endian bytes.
    pub fn q(&self) -> &[u8] { unimplemented!() }
    /// g as minimal big-endian bytes.
    pub fn g(&self) -> &[u8] { unimplemented!() }
    /// y as minimal big-endian bytes.
    pub fn y(&self) -> &[u8] { unimplemented!() }
    /// SHA-1 of MPI(p) || MPI(q) || MPI(g) || MPI(y) (the PUBKEY encoding without its type).
    pub fn fingerprint(&self) -> Fingerprint { unimplemented!() }
    /// Checks `sig` over `value` (taken mod q).
    pub fn verify(&self, value: &[u8; 32], sig: &DsaSignature) -> bool { unimplemented!() }
}

/// A DSA private key. Zeroized on drop, redacted in `Debug`.
pub struct DsaPrivateKey {
    public: DsaPublicKey,
}

impl DsaPrivateKey {
    /// Generates fresh 1024/160-bit domain parameters and a key pair.
    pub fn generate(rng: &mut dyn CryptoRngCore) -> Self { unimplemented!() }
    /// Builds a key from big-endian components, checking y = g^x mod p.
    pub fn from_components(p: &[u8], q: &[u8], g: &[u8], y: &[u8], x: &[u8]) -> Result<Self, super::CryptoError> { unimplemented!() }
    /// The public half.
    pub fn public(&self) -> &DsaPublicKey { &self.public }
    /// x as minimal big-endian bytes, for persistence.
    pub fn x_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> { unimplemented!() }
    /// Signs `value` (taken mod q) with a fresh nonce from `rng`.
    pub fn sign(&self, value: &[u8; 32], rng: &mut dyn CryptoRngCore) -> DsaSignature { unimplemented!() }
}

/// A DSA signature: r and s, each 20 big-endian bytes on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DsaSignature {
    /// r, big-endian, left-padded to 20 bytes.
    pub r: [u8; 20],
    /// s, big-endian, left-padded to 20 bytes.
    pub s: [u8; 20],
}

/// A public key fingerprint: SHA-1 of the encoded key.
///
/// `Display` gives libotr's human form: five groups of eight uppercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 20]);
