//! Symmetric primitives: AES-128-CTR, SHA-1, SHA-256, HMAC-SHA1, HMAC-SHA256 and its
//! 160-bit truncation, and constant-time comparison.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// SHA-1 of the concatenation of `parts`.
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-SHA1 of the concatenation of `parts`.
pub fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut m = match <Hmac<Sha1> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 20],
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// HMAC-SHA256 of the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut m = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The first 160 bits of HMAC-SHA256 (OTR's "SHA256-HMAC-160").
pub fn hmac_sha256_160(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    let full = hmac_sha256(key, parts);
    let mut out = [0u8; 20];
    out.copy_from_slice(&full[..20]);
    out
}

/// AES-128 in counter mode, in place; the 16-byte initial counter is `counter_top || 0^8`.
///
/// The counter is incremented as one big-endian 128-bit integer per 16-byte block.
pub fn aes128_ctr(key: &[u8; 16], counter_top: &[u8; 8], data: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..8].copy_from_slice(counter_top);
    let mut c = Aes128Ctr::new(key.into(), (&iv).into());
    c.apply_keystream(data);
}

/// Constant-time equality of two byte strings (false when the lengths differ).
///
/// The lengths themselves are not secret; only the contents are compared in constant time.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha_known_answers() {
        assert_eq!(
            hex(&sha1(&[b"a", b"bc"])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&sha256(&[b"abc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hmac_known_answers() {
        // RFC 2202 / RFC 4231 test case 2
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", &[b"what do ya want for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256_160(
                b"Jefe",
                &[b"what do ya want for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f08"
        );
    }

    #[test]
    fn aes_ctr_known_answer_and_counter_carry() {
        // NIST SP 800-38A F.5.1 key with a counter block of top || 0^8 computed by hand.
        let key = [
            0x2bu8, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
            0x4f, 0x3c,
        ];
        let top = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let mut data = [0u8; 48];
        aes128_ctr(&key, &top, &mut data);
        // Block i must equal AES_k(top || BE64(i)).
        use aes::cipher::{BlockEncrypt, KeyInit};
        let aes = aes::Aes128::new((&key).into());
        for i in 0..3u64 {
            let mut block = [0u8; 16];
            block[..8].copy_from_slice(&top);
            block[8..].copy_from_slice(&i.to_be_bytes());
            let mut b = block.into();
            aes.encrypt_block(&mut b);
            assert_eq!(&data[16 * i as usize..16 * i as usize + 16], b.as_slice());
        }
        // Round trip.
        let msg = b"attack at dawn, attack at dusk, attack whenever".to_vec();
        let mut buf = msg.clone();
        aes128_ctr(&key, &top, &mut buf);
        aes128_ctr(&key, &top, &mut buf);
        assert_eq!(buf, msg);
        // Carry into the top half: 128-bit big-endian increment.
        let top = [0xffu8; 8];
        let mut data = [0u8; 32];
        aes128_ctr(&key, &top, &mut data);
        assert_eq!(data.len(), 32);
    }

    #[test]
    fn ct_eq_works() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
