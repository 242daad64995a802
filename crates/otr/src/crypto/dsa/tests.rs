#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::crypto::sym::sha256;
use num_bigint::BigUint;
use rand_chacha::rand_core::SeedableRng;
use rand_core::{CryptoRng, RngCore};
use testkit::unhex;

fn big(b: &[u8]) -> BigUint {
    BigUint::from_bytes_be(b)
}

/// The degenerate keys of `tests/vectors/crypto/weak_dsa_keys.txt`: (name, defect, p, q, g,
/// y, x).
type WeakKey = (String, String, [Vec<u8>; 5]);

fn weak_keys() -> Vec<WeakKey> {
    let text = include_str!("../../../tests/vectors/crypto/weak_dsa_keys.txt");
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    let lines = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .chain(std::iter::once(""));
    for line in lines {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                let get = |k: &str| cur.iter().find(|(n, _)| n == k).unwrap().1.clone();
                let c = |k: &str| unhex(&get(k));
                out.push((
                    get("name"),
                    get("defect"),
                    [c("p"), c("q"), c("g"), c("y"), c("x")],
                ));
                cur.clear();
            }
            continue;
        }
        let (k, v) = line.split_once(' ').unwrap();
        cur.push((k.to_owned(), v.trim().to_owned()));
    }
    out
}

fn weak_key(name: &str) -> [Vec<u8>; 5] {
    weak_keys()
        .into_iter()
        .find(|(n, _, _)| n == name)
        .unwrap()
        .2
}

/// RFC 6979 A.2.1's key (1024-bit p, 160-bit q); y = g^x mod p.
fn rfc6979_key() -> DsaPrivateKey {
    let p = unhex(concat!(
        "86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447",
        "E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED88",
        "73ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C",
        "881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779",
    ));
    let q = unhex("996F967F6C8E388D9E28D01E205FBA957A5698B1");
    let g = unhex(concat!(
        "07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D",
        "89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD",
        "87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA4",
        "17BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD",
    ));
    let x = unhex("411602CB19A6CCC34494D79D98EF1E7ED5AF25F7");
    let y = big(&g).modpow(&big(&x), &big(&p)).to_bytes_be();
    DsaPrivateKey::from_components(&p, &q, &g, &y, &x).unwrap()
}

/// A "random" generator that returns the same byte forever: a VM snapshot restored twice,
/// a forked child, a broken entropy source.
struct StuckRng(u8);

impl RngCore for StuckRng {
    fn next_u32(&mut self) -> u32 {
        u32::from_ne_bytes([self.0; 4])
    }
    fn next_u64(&mut self) -> u64 {
        u64::from_ne_bytes([self.0; 8])
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(self.0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        dest.fill(self.0);
        Ok(())
    }
}

impl CryptoRng for StuckRng {}

/// The textbook attack on a repeated nonce: from two signatures sharing r over different
/// values, x = (s2·m1 - s1·m2) / (r·(s1 - s2)) mod q. Returns x if the signatures share r.
fn recover_x_from_shared_nonce(
    q: &BigUint,
    (m1, sig1): (&[u8; 32], &DsaSignature),
    (m2, sig2): (&[u8; 32], &DsaSignature),
) -> Option<BigUint> {
    if sig1.r != sig2.r {
        return None;
    }
    let (r, s1, s2) = (big(&sig1.r), big(&sig1.s), big(&sig2.s));
    let (m1, m2) = (big(m1) % q, big(m2) % q);
    let num = (&s2 * &m1 % q + q - &s1 * &m2 % q) % q;
    let den = &r * ((&s1 + q - &s2) % q) % q;
    let den_inv = den.modpow(&(q - 2u8), q);
    Some(num * den_inv % q)
}

#[test]
fn repeated_randomness_does_not_repeat_the_nonce() {
    // The attack: a signer whose generator repeats itself signs two different values; on
    // a nonce taken from the generator alone, both signatures share r and give away x.
    let key = rfc6979_key();
    let q = big(key.public().q());
    let (m1, m2) = ([0x11u8; 32], [0x22u8; 32]);
    let sig1 = key.sign(&m1, &mut StuckRng(7));
    let sig2 = key.sign(&m2, &mut StuckRng(7));
    assert!(key.public().verify(&m1, &sig1));
    assert!(key.public().verify(&m2, &sig2));
    assert_ne!(sig1.r, sig2.r, "the nonce must depend on the value signed");
    let recovered = recover_x_from_shared_nonce(&q, (&m1, &sig1), (&m2, &sig2));
    assert_eq!(recovered, None);
    // The same value with the same (stuck) randomness: the same signature, which reveals
    // nothing new.
    assert_eq!(key.sign(&m1, &mut StuckRng(7)), sig1);
    // Different randomness, same value: a different nonce.
    let sig3 = key.sign(&m1, &mut StuckRng(8));
    assert_ne!(sig3.r, sig1.r);
    assert!(key.public().verify(&m1, &sig3));
    // Values that differ only in their low bits (the value is taken mod q, not truncated)
    // still get different nonces.
    let mut m4 = m1;
    m4[31] ^= 1;
    let sig4 = key.sign(&m4, &mut StuckRng(7));
    assert_ne!(sig4.r, sig1.r);
    assert!(key.public().verify(&m4, &sig4));
}

#[test]
fn recovery_helper_works_on_a_shared_nonce() {
    // The attack helper itself, on two signatures forced to share k (built by hand).
    let key = rfc6979_key();
    let pk = key.public();
    let (p, q, g) = (big(pk.p()), big(pk.q()), big(pk.g()));
    let x = big(&key.x_bytes());
    let k = BigUint::from(123_456_789u64);
    let r = g.modpow(&k, &p) % &q;
    let k_inv = k.modpow(&(&q - 2u8), &q);
    let sign = |m: &[u8; 32]| {
        let s = &k_inv * ((big(m) % &q) + &x * &r) % &q;
        let mut sig = DsaSignature {
            r: [0; 20],
            s: [0; 20],
        };
        let (rb, sb) = (r.to_bytes_be(), s.to_bytes_be());
        sig.r[20 - rb.len()..].copy_from_slice(&rb);
        sig.s[20 - sb.len()..].copy_from_slice(&sb);
        sig
    };
    let (m1, m2) = ([0x11u8; 32], [0x22u8; 32]);
    let (s1, s2) = (sign(&m1), sign(&m2));
    assert!(pk.verify(&m1, &s1) && pk.verify(&m2, &s2));
    assert_eq!(
        recover_x_from_shared_nonce(&q, (&m1, &s1), (&m2, &s2)),
        Some(x)
    );
}

/// RFC 6979 A.2.1, DSA 1024/160 with SHA-256: the deterministic generator (empty additional
/// data) reproduces the RFC's signatures. Our value plays bits2int(H(m)): the leftmost 160
/// bits of SHA-256(m), as a 32-byte big-endian number.
#[test]
fn rfc6979_a21_sha256_vectors() {
    let key = rfc6979_key();
    for (msg, r, s) in [
        (
            &b"sample"[..],
            "81F2F5850BE5BC123C43F71A3033E9384611C545",
            "4CDD914B65EB6C66A8AAAD27299BEE6B035F5E89",
        ),
        (
            &b"test"[..],
            "22518C127299B0F6FDC9872B282B9E70D0790812",
            "6837EC18F150D55DE95B5E29BE7AF5D01E4FE160",
        ),
    ] {
        let h1 = sha256(&[msg]);
        let mut value = [0u8; 32];
        value[12..].copy_from_slice(&h1[..20]);
        let sig = key.sign_with_extra(&value, &[]);
        assert_eq!(sig.r.to_vec(), unhex(r), "r for {msg:?}");
        assert_eq!(sig.s.to_vec(), unhex(s), "s for {msg:?}");
        assert!(key.public().verify(&value, &sig));
        // With additional data the nonce changes (hedged), and the signature still verifies.
        let hedged = key.sign_with_extra(&value, &[1; 32]);
        assert_ne!(hedged.r, sig.r);
        assert!(key.public().verify(&value, &hedged));
    }
}

#[test]
fn generate_sign_verify() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let t = std::time::Instant::now();
    let key = DsaPrivateKey::generate(&mut rng);
    eprintln!("keygen: {:?}", t.elapsed());
    let pk = key.public();
    let (p, q, g, y) = (big(pk.p()), big(pk.q()), big(pk.g()), big(pk.y()));
    assert_eq!(p.bits(), 1024);
    assert_eq!(q.bits(), 160);
    assert_eq!((&p - 1u8) % &q, BigUint::from(0u8));
    assert_eq!(g.modpow(&q, &p), BigUint::from(1u8));
    assert_eq!(g.modpow(&big(&key.x_bytes()), &p), y);
    assert_eq!(pk.validate(), Ok(()));
    for i in 0..20u8 {
        let value = [i.wrapping_mul(37) ^ 0xa5; 32];
        let sig = key.sign(&value, &mut rng);
        assert!(pk.verify(&value, &sig));
        // Check s against the formula with m = value mod q.
        let (r, s) = (big(&sig.r), big(&sig.s));
        let m = big(&value) % &q;
        let w = s.modpow(&(&q - 2u8), &q);
        let u1 = (&m * &w) % &q;
        let u2 = (&r * &w) % &q;
        let v = (g.modpow(&u1, &p) * y.modpow(&u2, &p)) % &p % &q;
        assert_eq!(v, r);
        let mut bad = value;
        bad[31] ^= 1;
        assert!(!pk.verify(&bad, &sig));
        let mut bad_sig = sig;
        bad_sig.s[19] ^= 1;
        assert!(!pk.verify(&value, &bad_sig));
    }
    // Range checks on r, s.
    let value = [1u8; 32];
    let sig = key.sign(&value, &mut rng);
    let with = |r: [u8; 20], s: [u8; 20]| pk.verify(&value, &DsaSignature { r, s });
    let mut q20 = [0u8; 20];
    q20.copy_from_slice(pk.q());
    assert!(!with([0; 20], sig.s));
    assert!(!with(sig.r, [0; 20]));
    assert!(!with(q20, sig.s));
    assert!(!with(sig.r, q20));
    assert!(!with([0xff; 20], sig.s));
    assert!(!with(sig.r, [0xff; 20]));
    // Round trip through components.
    let k2 =
        DsaPrivateKey::from_components(pk.p(), pk.q(), pk.g(), pk.y(), &key.x_bytes()).unwrap();
    assert_eq!(k2.public(), pk);
    assert_eq!(k2.public().fingerprint(), pk.fingerprint());
    let mut x = key.x_bytes().to_vec();
    let last = x.len() - 1;
    x[last] ^= 1;
    assert!(DsaPrivateKey::from_components(pk.p(), pk.q(), pk.g(), pk.y(), &x).is_err());
    let dbg = format!("{key:?}");
    let x_hex: String = key.x_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!dbg.to_lowercase().contains(&x_hex[..16]));
    assert!(dbg.contains(&pk.fingerprint().to_string()));
}

#[test]
fn every_degenerate_key_is_rejected_with_its_defect() {
    let keys = weak_keys();
    assert_eq!(keys.len(), 7);
    for (name, defect, [p, q, g, y, _x]) in &keys {
        let got = DsaPublicKey::from_components(p, q, g, y);
        if defect == "None" {
            assert!(got.is_ok(), "{name}: {got:?}");
            continue;
        }
        let Err(CryptoError::WeakDsaKey(d)) = got else {
            panic!("{name}: accepted or wrong error: {got:?}");
        };
        assert_eq!(format!("{d:?}"), *defect, "{name}");
        // The parse alone (what the old constructor did) accepts it: only validation
        // stands in the way.
        let parsed = DsaPublicKey::parse(p, q, g, y).unwrap();
        assert_eq!(parsed.validate(), Err(CryptoError::WeakDsaKey(d)), "{name}");
        // Nor can it be smuggled in as half of a private key.
        assert!(DsaPrivateKey::from_components(p, q, g, y, &[1]).is_err());
    }
}

#[test]
fn component_checks() {
    let [p, q, g, y, x] = weak_key("valid");
    let ok = |p: &[u8], q: &[u8], g: &[u8], y: &[u8]| DsaPublicKey::from_components(p, q, g, y);
    let weak = |d| Err(CryptoError::WeakDsaKey(d));
    let invalid = Err(CryptoError::InvalidDsaKey);
    assert!(ok(&p, &q, &g, &y).is_ok());
    // Leading zeros are accepted here (files, s-expressions) and dropped.
    let k = ok(
        &[&[0, 0][..], &p].concat(),
        &[&[0][..], &q].concat(),
        &g,
        &y,
    )
    .unwrap();
    assert_eq!(k.p(), &p[..]);
    assert_eq!(k.q(), &q[..]);
    // Too long for the arithmetic, or even moduli: not parsed at all.
    assert_eq!(ok(&[&[1][..], &p].concat(), &q, &g, &y), invalid);
    assert_eq!(ok(&p, &[1u8; 21], &g, &y), invalid);
    let mut p_even = p.clone();
    *p_even.last_mut().unwrap() &= !1;
    assert_eq!(ok(&p_even, &q, &g, &y), invalid);
    assert_eq!(ok(&p, &q, &p, &y), invalid);
    assert_eq!(ok(&p, &q, &g, &p), invalid);
    // Parsed, then refused by validation.
    assert_eq!(ok(&p, &q, &[1], &y), weak(DsaKeyDefect::GOutOfRange));
    assert_eq!(ok(&p, &q, &[], &y), weak(DsaKeyDefect::GOutOfRange));
    assert_eq!(ok(&p, &q, &g, &[1]), weak(DsaKeyDefect::YOutOfRange));
    assert_eq!(ok(&p, &q, &g, &[]), weak(DsaKeyDefect::YOutOfRange));
    assert_eq!(ok(&p, &q, &[2], &y), weak(DsaKeyDefect::GOrder));
    let q_small = BigUint::from_bytes_be(&q) >> 1u8 | BigUint::from(1u8);
    assert_eq!(
        ok(&p, &q_small.to_bytes_be(), &g, &y),
        weak(DsaKeyDefect::QSize)
    );
    let y_bad = (big(&y) * 2u8 % big(&p)).to_bytes_be();
    assert_eq!(ok(&p, &q, &g, &y_bad), weak(DsaKeyDefect::YOrder));
    // The private half checks y = g^x as before.
    assert!(DsaPrivateKey::from_components(&p, &q, &g, &y, &x).is_ok());
    assert!(DsaPrivateKey::from_components(&p, &q, &g, &y, &[2]).is_err());
}

#[test]
fn fingerprint_format() {
    let mut b = [0u8; 20];
    for (i, x) in b.iter_mut().enumerate() {
        *x = (i as u8) * 13;
    }
    let f = Fingerprint(b);
    let disp = f.to_string();
    assert_eq!(disp.len(), 44);
    assert_eq!(disp, "000D1A27 34414E5B 6875828F 9CA9B6C3 D0DDEAF7");
    assert_eq!(f.to_hex(), "000d1a2734414e5b6875828f9ca9b6c3d0ddeaf7");
    assert_eq!(Fingerprint::from_hex(&disp), Some(f));
    assert_eq!(Fingerprint::from_hex(&f.to_hex()), Some(f));
    assert_eq!(Fingerprint::from_hex("00"), None);
    assert_eq!(
        format!("{f:?}"),
        "Fingerprint(000d1a2734414e5b6875828f9ca9b6c3d0ddeaf7)"
    );
}

#[test]
fn validated_keys_remember_only_valid_keys_and_stay_bounded() {
    let [p, q, g, _, _] = weak_key("valid");
    // Three valid keys over the same group (y = g^x for x = 2, 3, 4).
    let keys: Vec<DsaPublicKey> = (2u8..5)
        .map(|x| {
            let y = big(&g).modpow(&BigUint::from(x), &big(&p)).to_bytes_be();
            DsaPublicKey::parse(&p, &q, &g, &y).unwrap()
        })
        .collect();
    let mut cache = ValidatedKeys::with_capacity(2);
    assert_eq!(cache.validate(&keys[0]), Ok(()));
    assert_eq!(cache.validate(&keys[1]), Ok(()));
    assert!(cache.contains(&keys[0]) && cache.contains(&keys[1]));
    // Using keys[0] again makes keys[1] the least recently used: it goes first.
    assert_eq!(cache.validate(&keys[0]), Ok(()));
    assert_eq!(cache.validate(&keys[2]), Ok(()));
    assert!(cache.contains(&keys[0]) && cache.contains(&keys[2]));
    assert!(!cache.contains(&keys[1]));
    // A weak key is refused, every time, and never remembered.
    for (name, defect, [p, q, g, y, _]) in weak_keys() {
        if defect == "None" {
            continue;
        }
        let key = DsaPublicKey::parse(&p, &q, &g, &y).unwrap();
        for _ in 0..2 {
            let got = cache.validate(&key);
            assert!(matches!(got, Err(CryptoError::WeakDsaKey(_))), "{name}");
        }
        assert!(!cache.contains(&key), "{name}");
    }
    assert!(cache.contains(&keys[0]) && cache.contains(&keys[2]));
}
