//! PUBKEY (type 0x0000, then MPIs p, q, g, y) and SIG (r || s, 20 bytes each)
//! (Protocol-v3.html, "Public keys, signatures, and fingerprints").

use super::codec::{InvalidMessage, Reader};
use crate::crypto::{DsaPublicKey, DsaSignature};

/// Appends the PUBKEY encoding of `key`.
pub fn put_pubkey(out: &mut Vec<u8>, key: &DsaPublicKey) { unimplemented!() }
/// Reads a PUBKEY; type other than 0x0000 or bad components give [`InvalidMessage::BadPublicKey`].
pub fn read_pubkey(r: &mut Reader<'_>) -> Result<DsaPublicKey, InvalidMessage> { unimplemented!() }
/// Appends SIG: r then s, 20 bytes each.
pub fn put_signature(out: &mut Vec<u8>, sig: &DsaSignature) { unimplemented!() }
/// Reads SIG (40 bytes).
pub fn read_signature(r: &mut Reader<'_>) -> Result<DsaSignature, InvalidMessage> { unimplemented!() }
