//! libotr's DSA, `otrl_privkey_sign` and `otrl_privkey_verify` (libgcrypt's `gcry_pk_sign`
//! and `gcry_pk_verify` underneath), on keys given as big-endian components: an independent
//! implementation to check the `otr` crate's DSA against.
//!
//! The data is signed as libotr's key exchange signs its 32-byte MAC: as an unsigned MPI,
//! which libgcrypt's DSA takes mod q. Signatures are r || s, 20 bytes each.
//!
//! ```no_run
//! # let (p, q, g, y, x) = (vec![], vec![], vec![], vec![], vec![]);
//! let sig = libotr_harness::dsa::sign([&p, &q, &g, &y, &x], &[7; 32]).unwrap();
//! assert!(libotr_harness::dsa::verify([&p, &q, &g, &y], &[7; 32], &sig).is_ok());
//! ```

use std::ffi::{c_uchar, c_uint};

use crate::{init, strerror};

extern "C" {
    fn harness_dsa_verify(
        parts: *const *const c_uchar,
        lens: *const usize,
        sig: *const c_uchar,
        siglen: usize,
        data: *const c_uchar,
        len: usize,
    ) -> c_uint;
    fn harness_dsa_sign(
        parts: *const *const c_uchar,
        lens: *const usize,
        data: *const c_uchar,
        len: usize,
        out: *mut c_uchar,
    ) -> c_uint;
}

/// `otrl_privkey_verify` of `sig` (r || s; libotr accepts only 40 bytes) over `data` under
/// the public key `[p, q, g, y]`. `Err` carries libgcrypt's reason ("Bad signature" for a
/// plain mismatch).
pub fn verify(key: [&[u8]; 4], data: &[u8], sig: &[u8]) -> Result<(), String> {
    init()?;
    let parts = key.map(<[u8]>::as_ptr);
    let lens = key.map(<[u8]>::len);
    // SAFETY: parts/lens describe four live slices; sig and data are live slices with
    // their lengths. The shim only reads them.
    let err = unsafe {
        harness_dsa_verify(
            parts.as_ptr(),
            lens.as_ptr(),
            sig.as_ptr(),
            sig.len(),
            data.as_ptr(),
            data.len(),
        )
    };
    if err == 0 {
        Ok(())
    } else {
        Err(strerror(err))
    }
}

/// `otrl_privkey_sign` of `data` with the private key `[p, q, g, y, x]`: r || s.
pub fn sign(key: [&[u8]; 5], data: &[u8]) -> Result<[u8; 40], String> {
    init()?;
    let parts = key.map(<[u8]>::as_ptr);
    let lens = key.map(<[u8]>::len);
    let mut out = [0u8; 40];
    // SAFETY: parts/lens describe five live slices, data is a live slice with its length,
    // out holds the 40 bytes the shim writes on success.
    let err = unsafe {
        harness_dsa_sign(
            parts.as_ptr(),
            lens.as_ptr(),
            data.as_ptr(),
            data.len(),
            out.as_mut_ptr(),
        )
    };
    if err == 0 {
        Ok(out)
    } else {
        Err(strerror(err))
    }
}
