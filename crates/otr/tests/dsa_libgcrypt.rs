//! Our DSA against an independent implementation: libotr's `otrl_privkey_sign` and
//! `otrl_privkey_verify` (libgcrypt's DSA), in process through `libotr_harness::dsa`.
//!
//! Signatures go both ways, over values below and above q (both sides take the value mod
//! q), with keys libotr generated and keys we generated; out-of-range r and s are refused by
//! both; degenerate keys are refused by us whatever libgcrypt makes of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

mod weak;

use libotr_harness::dsa;
use libotr_harness::userstate::UserState;
use num_bigint::BigUint;
use otr::crypto::sym::sha1;
use otr::crypto::{CryptoError, DsaPrivateKey, DsaPublicKey, DsaSignature};
use otr::wire::pubkey::read_pubkey;
use otr::wire::Reader;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use testkit::unhex;
use weak::{be20, forge, weak_keys};

const VECTOR_ACCOUNT: &str = "alice@example.org";
const VECTOR_PROTOCOL: &str = "prpl-jabber";

fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/vectors/crypto/{name}"))
}

/// The libotr key of tests/vectors/crypto/libotr_privkey.sexp, read by us.
fn our_copy_of_the_libotr_key() -> DsaPrivateKey {
    let s = std::fs::read_to_string(vector_path("libotr_privkey.sexp")).unwrap();
    let c = |name: &str| {
        let start = s.find(&format!("({name} #")).unwrap() + name.len() + 3;
        let end = start + s[start..].find('#').unwrap();
        unhex(&s[start..end])
    };
    DsaPrivateKey::from_components(&c("p"), &c("q"), &c("g"), &c("y"), &c("x")).unwrap()
}

/// The same key, read by libotr.
fn libotr_copy_of_the_libotr_key() -> UserState {
    let mut us = UserState::new().unwrap();
    us.privkey_read(&vector_path("libotr_privkey.sexp"))
        .unwrap();
    us
}

fn public_parts(pk: &DsaPublicKey) -> [&[u8]; 4] {
    [pk.p(), pk.q(), pk.g(), pk.y()]
}

fn private_parts(key: &DsaPrivateKey) -> [Vec<u8>; 5] {
    let pk = key.public();
    [
        pk.p().to_vec(),
        pk.q().to_vec(),
        pk.g().to_vec(),
        pk.y().to_vec(),
        key.x_bytes().to_vec(),
    ]
}

fn sig_of(bytes: &[u8; 40]) -> DsaSignature {
    DsaSignature {
        r: bytes[..20].try_into().unwrap(),
        s: bytes[20..].try_into().unwrap(),
    }
}

fn bytes_of(sig: &DsaSignature) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..20].copy_from_slice(&sig.r);
    out[20..].copy_from_slice(&sig.s);
    out
}

/// Values to sign: random ones, and edge values (0, all ones: above q, so taken mod q).
fn values(seed: u64) -> Vec<[u8; 32]> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = vec![[0u8; 32], [0xff; 32], [0x80; 32]];
    for _ in 0..16 {
        let mut v = [0u8; 32];
        rng.fill_bytes(&mut v);
        out.push(v);
    }
    out
}

#[test]
fn libotr_serializes_its_key_as_we_do() {
    let ours = our_copy_of_the_libotr_key();
    let lib = libotr_copy_of_the_libotr_key();
    let data = lib.public_key(VECTOR_ACCOUNT, VECTOR_PROTOCOL).unwrap();
    // libotr's PUBKEY body is minimal MPIs: our strict reader takes it, and it is our key.
    let mut pubkey = vec![0, 0];
    pubkey.extend_from_slice(&data);
    let read = read_pubkey(&mut Reader::new(&pubkey)).unwrap();
    assert_eq!(&read, ours.public());
    // libotr's fingerprint is SHA-1 of exactly those bytes; so is ours.
    assert_eq!(sha1(&[&data]), ours.public().fingerprint().0);
    assert_eq!(
        lib.fingerprint(VECTOR_ACCOUNT, VECTOR_PROTOCOL).unwrap(),
        ours.public().fingerprint().to_string()
    );
}

#[test]
fn libgcrypt_signs_we_verify() {
    let ours = our_copy_of_the_libotr_key();
    let lib = libotr_copy_of_the_libotr_key();
    for value in values(1) {
        let sig = lib.sign(VECTOR_ACCOUNT, VECTOR_PROTOCOL, &value).unwrap();
        assert!(ours.public().verify(&value, &sig_of(&sig)), "{value:02x?}");
        // And through the component interface, with the same key.
        let parts = private_parts(&ours);
        let sig = dsa::sign(parts.each_ref().map(Vec::as_slice), &value).unwrap();
        assert!(ours.public().verify(&value, &sig_of(&sig)));
        let mut other = value;
        other[5] ^= 1;
        assert!(!ours.public().verify(&other, &sig_of(&sig)));
    }
}

#[test]
fn we_sign_libgcrypt_verifies() {
    let libotr_key = our_copy_of_the_libotr_key();
    let our_key = testkit::key(5);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    for key in [&libotr_key, &our_key] {
        let pk = key.public();
        for value in values(2) {
            let sig = bytes_of(&key.sign(&value, &mut rng));
            assert_eq!(dsa::verify(public_parts(pk), &value, &sig), Ok(()));
            let mut other = value;
            other[31] ^= 1;
            assert!(dsa::verify(public_parts(pk), &other, &sig).is_err());
        }
    }
}

#[test]
fn a_libotr_generated_key_works_both_ways() {
    let dir = std::env::temp_dir().join(format!("offrecord-dsa-gcrypt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("otr.private_key");
    let mut us = UserState::new().unwrap();
    us.privkey_generate(&path, "bob", "irc").unwrap();
    let data = us.public_key("bob", "irc").unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let pk = read_pubkey(&mut Reader::new(&[&[0, 0][..], &data].concat())).unwrap();
    assert_eq!(sha1(&[&data]), pk.fingerprint().0);
    for value in values(3) {
        let sig = us.sign("bob", "irc", &value).unwrap();
        assert!(pk.verify(&value, &sig_of(&sig)));
    }
}

#[test]
fn out_of_range_r_and_s_are_refused_by_both() {
    let key = our_copy_of_the_libotr_key();
    let pk = key.public();
    let q = BigUint::from_bytes_be(pk.q());
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let value = [0x42u8; 32];
    let good = key.sign(&value, &mut rng);
    let (r, s) = (
        BigUint::from_bytes_be(&good.r),
        BigUint::from_bytes_be(&good.s),
    );
    let zero = [0u8; 20];
    let q20 = be20(&q);
    let max = [0xffu8; 20];
    let mut cases = vec![
        ("r = 0", zero, good.s),
        ("s = 0", good.r, zero),
        ("r = q", q20, good.s),
        ("s = q", good.r, q20),
        ("r = 2^160 - 1", max, good.s),
        ("s = 2^160 - 1", good.r, max),
    ];
    // r + q and s + q: the same values mod q, so the verification equation holds for them;
    // only the range check stops them (q is 0xFE10..., so they fit in 160 bits only when
    // small enough).
    let limit = BigUint::from(1u8) << 160u32;
    if &r + &q < limit {
        cases.push(("r + q", be20(&(&r + &q)), good.s));
    }
    if &s + &q < limit {
        cases.push(("s + q", good.r, be20(&(&s + &q))));
    }
    assert_eq!(
        dsa::verify(public_parts(pk), &value, &bytes_of(&good)),
        Ok(())
    );
    for (name, r, s) in cases {
        let sig = DsaSignature { r, s };
        assert!(!pk.verify(&value, &sig), "ours accepted {name}");
        let verdict = dsa::verify(public_parts(pk), &value, &bytes_of(&sig));
        eprintln!("libgcrypt, {name}: {verdict:?}");
        assert!(verdict.is_err(), "libgcrypt accepted {name}");
    }
    // A signature of the wrong length: libotr refuses anything but 40 bytes.
    assert!(dsa::verify(public_parts(pk), &value, &bytes_of(&good)[..39]).is_err());
}

#[test]
fn out_of_range_r_and_s_with_a_small_q() {
    // With RFC 6979's q (0x996F...), s + q fits in 160 bits for many signatures: look for
    // one, so that the "same value mod q, out of range" case is always exercised.
    let keys = weak_keys();
    let (_, _, [p, q, g, y, x]) = keys.iter().find(|(n, _, _)| n == "valid").unwrap();
    let bytes = |v: &BigUint| v.to_bytes_be();
    let key = DsaPrivateKey::from_components(&bytes(p), &bytes(q), &bytes(g), &bytes(y), &bytes(x))
        .unwrap();
    let pk = key.public();
    let limit = BigUint::from(1u8) << 160u32;
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let mut tried = 0;
    for value in values(4) {
        let good = key.sign(&value, &mut rng);
        assert_eq!(
            dsa::verify(public_parts(pk), &value, &bytes_of(&good)),
            Ok(())
        );
        let s = BigUint::from_bytes_be(&good.s);
        if &s + q >= limit {
            continue;
        }
        let sig = DsaSignature {
            r: good.r,
            s: be20(&(&s + q)),
        };
        assert!(!pk.verify(&value, &sig));
        let verdict = dsa::verify(public_parts(pk), &value, &bytes_of(&sig));
        assert!(verdict.is_err(), "libgcrypt accepted s + q");
        tried += 1;
    }
    assert!(tried > 0);
}

#[test]
fn degenerate_keys_we_refuse_whatever_libgcrypt_says() {
    for (name, defect, key) in weak_keys() {
        let b: Vec<Vec<u8>> = key[..4].iter().map(BigUint::to_bytes_be).collect();
        let parts = [&b[0][..], &b[1][..], &b[2][..], &b[3][..]];
        let value = [0x5au8; 32];
        let sig = forge(&key, &value, &mut ChaCha20Rng::seed_from_u64(9));
        let verdict = dsa::verify(parts, &value, &sig);
        eprintln!("libgcrypt verifies a forgery under {name}: {verdict:?}");
        let ours = DsaPublicKey::from_components(parts[0], parts[1], parts[2], parts[3]);
        if defect == "None" {
            assert_eq!(verdict, Ok(()));
            assert!(ours.unwrap().verify(&value, &sig_of(&sig)));
        } else {
            match ours {
                Err(CryptoError::WeakDsaKey(d)) => assert_eq!(format!("{d:?}"), defect),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
