//! Benchmarks of the cryptographic layer: `cargo bench -p otr --bench crypto`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use otr::crypto::{DhKeyPair, DsaPrivateKey, DsaPublicKey};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn dh(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let a = DhKeyPair::generate(&mut rng);
    let b = DhKeyPair::generate(&mut rng);
    c.bench_function("dh_keygen_fixed_base_320", |bn| {
        bn.iter(|| DhKeyPair::generate(&mut rng))
    });
    c.bench_function("dh_shared_secret_varbase_320", |bn| {
        bn.iter(|| a.shared_secret(b.public()))
    });
}

fn dsa(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let key = DsaPrivateKey::generate(&mut rng);
    let value = [0x42u8; 32];
    let sig = key.sign(&value, &mut rng);
    c.bench_function("dsa_sign", |bn| bn.iter(|| key.sign(&value, &mut rng)));
    c.bench_function("dsa_verify", |bn| {
        bn.iter(|| assert!(key.public().verify(&value, &sig)))
    });
    // What a key exchange pays for a peer key it has not validated before: parse, size and
    // range checks, q | p - 1, 64 Miller-Rabin rounds on q, g^q and y^q.
    let pk = key.public();
    c.bench_function("dsa_validate_peer_key", |bn| {
        bn.iter(|| DsaPublicKey::from_components(pk.p(), pk.q(), pk.g(), pk.y()).unwrap())
    });
    let mut g = c.benchmark_group("slow");
    g.sample_size(10);
    g.bench_function("dsa_keygen_1024_160", |bn| {
        bn.iter(|| DsaPrivateKey::generate(&mut rng))
    });
    g.finish();
}

criterion_group!(benches, dh, dsa);
criterion_main!(benches);
