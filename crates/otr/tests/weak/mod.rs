//! The degenerate DSA keys of tests/vectors/crypto/weak_dsa_keys.txt and a forger that
//! signs under them so that DSA's verification equation accepts (for `dsa_libgcrypt` and
//! `weak_peer_keys`).
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use num_bigint::BigUint;
use otr::wire::codec::put_mpi;
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha20Rng;
use testkit::unhex;

/// (name, expected defect, [p, q, g, y, x]) for every key of the vector file.
pub fn weak_keys() -> Vec<(String, String, [BigUint; 5])> {
    let path = format!(
        "{}/tests/vectors/crypto/weak_dsa_keys.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let fields: Vec<(&str, &str)> = block
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(|l| l.split_once(' ').unwrap())
                .collect();
            let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
            let n = |k: &str| BigUint::from_bytes_be(&unhex(get(k).unwrap()));
            Some((
                get("name")?.to_owned(),
                get("defect")?.to_owned(),
                [n("p"), n("q"), n("g"), n("y"), n("x")],
            ))
        })
        .collect()
}

/// MPI of a number (minimal, as libotr writes it).
pub fn mpi(v: &BigUint) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = if *v == BigUint::from(0u8) {
        Vec::new()
    } else {
        v.to_bytes_be()
    };
    put_mpi(&mut out, &bytes);
    out
}

/// 20 big-endian bytes.
pub fn be20(v: &BigUint) -> [u8; 20] {
    let b = v.to_bytes_be();
    let mut out = [0u8; 20];
    out[20 - b.len()..].copy_from_slice(&b);
    out
}

/// DSA verification exactly as the engine computed it before keys were validated (w by
/// Fermat, s^(q-2)): what a forged signature has to pass.
pub fn old_verify(key: &[BigUint; 5], m: &[u8; 32], r: &BigUint, s: &BigUint) -> bool {
    let [p, q, g, y, _] = key;
    let zero = BigUint::from(0u8);
    if *r == zero || *s == zero || r >= q || s >= q {
        return false;
    }
    let m = BigUint::from_bytes_be(m) % q;
    let w = s.modpow(&(q - 2u8), q);
    let (u1, u2) = (&m * &w % q, r * &w % q);
    (g.modpow(&u1, p) * y.modpow(&u2, p)) % p % q == *r
}

/// The forger: textbook DSA signing with the key's x, retried with other nonces until the
/// verification equation accepts the result (at once for a sound key; for a quarter to a
/// half of the nonces when y or g has an order-2 component).
pub fn forge(key: &[BigUint; 5], m: &[u8; 32], rng: &mut ChaCha20Rng) -> [u8; 40] {
    let [p, q, g, _, x] = key;
    let zero = BigUint::from(0u8);
    for _ in 0..400 {
        let mut kb = [0u8; 32];
        rng.fill_bytes(&mut kb);
        let k = BigUint::from_bytes_be(&kb) % q;
        if k == zero {
            continue;
        }
        let r = g.modpow(&k, p) % q;
        let Some(k_inv) = k.modinv(q) else { continue };
        let s = k_inv * ((BigUint::from_bytes_be(m) % q) + x * &r) % q;
        if old_verify(key, m, &r, &s) {
            let mut sig = [0u8; 40];
            sig[..20].copy_from_slice(&be20(&r));
            sig[20..].copy_from_slice(&be20(&s));
            return sig;
        }
    }
    panic!("no forgery found under p = {:x}, q = {:x}", key[0], key[1]);
}
