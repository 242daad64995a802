//! PUBKEY (type 0x0000, then MPIs p, q, g, y) and SIG (r || s, 20 bytes each)
//! (Protocol-v3.html, "Public keys, signatures, and fingerprints").

use super::codec::{put_mpi, put_u16, InvalidMessage, Reader};
use crate::crypto::{CryptoError, DsaPublicKey, DsaSignature};

/// The PUBKEY type for DSA, the only one defined.
pub const PUBKEY_TYPE_DSA: u16 = 0x0000;

/// The cap on each of p, q, g, y in a PUBKEY: 1024 bits (OTR's DSA size, and the most
/// [`DsaPublicKey::from_components`] accepts for p) plus one byte, so that a 129-byte MPI
/// with a leading zero is reported as [`InvalidMessage::NonMinimalMpi`]. A longer MPI is
/// [`InvalidMessage::TooLong`] before anything is allocated.
pub const PUBKEY_MPI: usize = 1024 / 8 + 1;

/// Appends the PUBKEY encoding of `key`: type 0x0000, then MPI p, q, g, y (minimal form,
/// as libotr writes them).
pub fn put_pubkey(out: &mut Vec<u8>, key: &DsaPublicKey) {
    put_u16(out, PUBKEY_TYPE_DSA);
    for part in [key.p(), key.q(), key.g(), key.y()] {
        put_mpi(out, part);
    }
}
/// Reads a PUBKEY and validates the key as [`DsaPublicKey::from_components`] does.
///
/// A type other than 0x0000 or components that do not parse give
/// [`InvalidMessage::BadPublicKey`]; an MPI with a leading zero byte
/// [`InvalidMessage::NonMinimalMpi`]; a key that fails validation
/// [`InvalidMessage::WeakPublicKey`]. Running out of bytes is [`InvalidMessage::Truncated`];
/// an MPI over [`PUBKEY_MPI`] bytes is [`InvalidMessage::TooLong`].
pub fn read_pubkey(r: &mut Reader<'_>) -> Result<DsaPublicKey, InvalidMessage> {
    let key = read_pubkey_unvalidated(r)?;
    key.validate().map_err(key_error)?;
    Ok(key)
}

/// [`read_pubkey`] without the validation of the key (the caller validates it, or knows
/// that it was validated before).
pub(crate) fn read_pubkey_unvalidated(r: &mut Reader<'_>) -> Result<DsaPublicKey, InvalidMessage> {
    if r.u16("PUBKEY type")? != PUBKEY_TYPE_DSA {
        return Err(InvalidMessage::BadPublicKey);
    }
    let mut parts: [&[u8]; 4] = [&[]; 4];
    for (part, what) in parts.iter_mut().zip(["DSA p", "DSA q", "DSA g", "DSA y"]) {
        let bytes = r.mpi(PUBKEY_MPI, what)?;
        if bytes.first() == Some(&0) {
            return Err(InvalidMessage::NonMinimalMpi(what));
        }
        *part = bytes;
    }
    let [p, q, g, y] = parts;
    DsaPublicKey::parse(p, q, g, y).map_err(key_error)
}

/// The wire error for a key the crypto layer rejected.
pub(crate) fn key_error(e: CryptoError) -> InvalidMessage {
    match e {
        CryptoError::WeakDsaKey(defect) => InvalidMessage::WeakPublicKey(defect),
        _ => InvalidMessage::BadPublicKey,
    }
}

/// Appends SIG: r then s, 20 bytes each.
pub fn put_signature(out: &mut Vec<u8>, sig: &DsaSignature) {
    out.extend_from_slice(&sig.r);
    out.extend_from_slice(&sig.s);
}
/// Reads SIG (40 bytes).
pub fn read_signature(r: &mut Reader<'_>) -> Result<DsaSignature, InvalidMessage> {
    Ok(DsaSignature {
        r: r.array("DSA signature r")?,
        s: r.array("DSA signature s")?,
    })
}
