//! Symmetric primitives: AES-128-CTR, SHA-1, SHA-256, HMAC-SHA1, HMAC-SHA256 and its
//! 160-bit truncation, and constant-time comparison.

/// SHA-1 of the concatenation of `parts`.
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] { unimplemented!() }
/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] { unimplemented!() }
/// HMAC-SHA1 of the concatenation of `parts`.
pub fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] { unimplemented!() }
/// HMAC-SHA256 of the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] { unimplemented!() }
/// The first 160 bits of HMAC-SHA256 (OTR's "SHA256-HMAC-160").
pub fn hmac_sha256_160(key: &[u8], parts: &[&[u8]]) -> [u8; 20] { unimplemented!() }
/// AES-128 in counter mode, in place; the 16-byte initial counter is `counter_top || 0^8`.
pub fn aes128_ctr(key: &[u8; 16], counter_top: &[u8; 8], data: &mut [u8]) { unimplemented!() }
/// Constant-time equality of two byte strings (false when the lengths differ).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool { unimplemented!() }
