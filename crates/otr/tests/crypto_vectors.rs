//! Known-answer tests of the crypto layer against values produced by libotr 4.1.1
//! (see `tests/vectors/crypto/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otr::crypto::sym::sha1;
use otr::crypto::{DhKeyPair, DhPublicKey, DsaPrivateKey, DsaPublicKey, DsaSignature, Fingerprint};
use rand_chacha::rand_core::SeedableRng;
use testkit::{hex, unhex};

fn vector(name: &str) -> String {
    let path = format!("{}/tests/vectors/crypto/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `key value...` lines, comments skipped; repeated keys keep their order.
fn fields(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.trim().to_string())
        })
        .collect()
}

fn field<'a>(f: &'a [(String, String)], key: &str) -> &'a str {
    &f.iter().find(|(k, _)| k == key).unwrap().1
}

/// The `#HEX#` value of `(name #HEX#)` in a libotr private key s-expression.
fn sexp_mpi(sexp: &str, name: &str) -> Vec<u8> {
    let start = sexp.find(&format!("({name} #")).unwrap() + name.len() + 3;
    let end = start + sexp[start..].find('#').unwrap();
    unhex(&sexp[start..end])
}

fn libotr_key() -> DsaPrivateKey {
    let s = vector("libotr_privkey.sexp");
    let c = |n| sexp_mpi(&s, n);
    DsaPrivateKey::from_components(&c("p"), &c("q"), &c("g"), &c("y"), &c("x")).unwrap()
}

#[test]
fn libotr_fingerprint_matches() {
    let key = libotr_key();
    let f = fields(&vector("libotr_dsa.txt"));
    let expected = field(&f, "fingerprint");
    let fp = key.public().fingerprint();
    assert_eq!(fp.to_string(), expected);
    assert_eq!(Fingerprint::from_hex(expected), Some(fp));
    assert_eq!(fp.to_hex(), expected.replace(' ', "").to_lowercase());
    // The same key rebuilt from its public components only.
    let pk = key.public();
    let pk2 = DsaPublicKey::from_components(pk.p(), pk.q(), pk.g(), pk.y()).unwrap();
    assert_eq!(pk2.fingerprint(), fp);
    assert_eq!(pk.p().len(), 128);
    assert_eq!(pk.q().len(), 20);
}

#[test]
fn libotr_signatures_verify() {
    let key = libotr_key();
    let f = fields(&vector("libotr_dsa.txt"));
    let values: Vec<_> = f
        .iter()
        .filter(|(k, _)| k == "value")
        .map(|(_, v)| unhex(v))
        .collect();
    let sigs: Vec<_> = f
        .iter()
        .filter(|(k, _)| k == "sig")
        .map(|(_, v)| unhex(v))
        .collect();
    assert_eq!(values.len(), 3);
    for (v, s) in values.iter().zip(&sigs) {
        let value: [u8; 32] = v.as_slice().try_into().unwrap();
        let sig = DsaSignature {
            r: s[..20].try_into().unwrap(),
            s: s[20..].try_into().unwrap(),
        };
        assert!(
            key.public().verify(&value, &sig),
            "libotr signature over {}",
            hex(v)
        );
        let mut other = value;
        other[0] ^= 0x40;
        assert!(!key.public().verify(&other, &sig));
    }
}

#[test]
fn sign_verify_round_trip_with_libotr_key() {
    let key = libotr_key();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(99);
    for i in 0..8u8 {
        let value = [i.wrapping_mul(31).wrapping_add(0xf0); 32];
        let sig = key.sign(&value, &mut rng);
        assert!(key.public().verify(&value, &sig));
        let sig2 = key.sign(&value, &mut rng);
        assert_ne!(sig, sig2, "fresh nonce each time");
        assert!(key.public().verify(&value, &sig2));
    }
    let x = key.x_bytes();
    let pk = key.public();
    let again = DsaPrivateKey::from_components(pk.p(), pk.q(), pk.g(), pk.y(), &x).unwrap();
    assert_eq!(again.public(), pk);
}

#[test]
fn libotr_session_keys() {
    let f = fields(&vector("libotr_sesskeys.txt"));
    let ours = DhKeyPair::from_secret_bytes(&unhex(field(&f, "our_secret"))).unwrap();
    assert_eq!(hex(ours.public().as_bytes()), field(&f, "our_public"));
    let theirs = DhPublicKey::from_bytes(&unhex(field(&f, "their_public"))).unwrap();
    // otr_sesskeys says we are the high end: our public value is the larger.
    assert_eq!(field(&f, "high_end"), "1");
    assert!(ours.public() > &theirs);
    let secbytes = ours.shared_secret(&theirs).secbytes();
    let h = |b: u8| sha1(&[&[b], &secbytes]);
    assert_eq!(hex(&h(0)), field(&f, "session_id"));
    let (send, recv) = (&h(1)[..16], &h(2)[..16]);
    assert_eq!(hex(send), field(&f, "send_aes"));
    assert_eq!(hex(recv), field(&f, "recv_aes"));
    assert_eq!(hex(&sha1(&[send])), field(&f, "send_mac"));
    assert_eq!(hex(&sha1(&[recv])), field(&f, "recv_mac"));
}

/// Prints signatures made with the libotr key, for checking with libotr's
/// `otrl_privkey_verify` (`cargo test --test crypto_vectors -- --ignored --nocapture`).
#[test]
#[ignore]
fn print_signatures_for_libotr() {
    let key = libotr_key();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    for i in 0..6u8 {
        let value = [i.wrapping_mul(0x35) ^ 0xc3; 32];
        let sig = key.sign(&value, &mut rng);
        println!("OURSIG {} {}{}", hex(&value), hex(&sig.r), hex(&sig.s));
    }
}
