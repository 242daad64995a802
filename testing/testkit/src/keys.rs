//! Seeded long-term keys, generated once per test binary and cloned (a 1024-bit DSA key
//! takes a while), and engines built from them with seeded randomness.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::InstanceTag;
use otr::{Engine, EngineConfig, Policy};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Alice's instance tag in a pair of engines ([`crate::Relay::engines`]).
pub const ALICE_TAG: u32 = 0x1000_0001;
/// Bob's instance tag in a pair of engines.
pub const BOB_TAG: u32 = 0x2000_0002;
/// Our engine's instance tag beside libotr ([`crate::Relay::with_libotr`]).
pub const OUR_TAG: u32 = 0x5150_0001;

/// The DSA key generated from a ChaCha20 generator seeded with `seed`: the same key for the
/// same seed, in every test and every run. Generated once per test binary, then cloned.
pub fn key(seed: u64) -> DsaPrivateKey {
    static KEYS: OnceLock<Mutex<HashMap<u64, Arc<OnceLock<DsaPrivateKey>>>>> = OnceLock::new();
    let slot = {
        let mut keys = KEYS
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(keys.entry(seed).or_default())
    };
    // Outside the map's lock: other seeds are generated in parallel meanwhile.
    slot.get_or_init(|| DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(seed)))
        .clone()
}

/// Alice's long-term key: [`key`]`(1)`.
pub fn alice_key() -> DsaPrivateKey {
    key(1)
}

/// Bob's long-term key: [`key`]`(2)`.
pub fn bob_key() -> DsaPrivateKey {
    key(2)
}

/// An engine with `key`, instance tag `tag` and `policy`, line-based (IRC), holding nothing
/// during a key exchange, its randomness a ChaCha20 generator seeded with `seed`.
pub fn engine(key: DsaPrivateKey, tag: u32, policy: Policy, seed: u64) -> Engine {
    Engine::new(
        key,
        EngineConfig {
            policy,
            instance_tag: InstanceTag(tag),
            line_based: true,
            hold_during_key_exchange: false,
        },
        Box::new(ChaCha20Rng::seed_from_u64(seed)),
    )
}
