//! A malicious peer writing what an honest engine never sends (security issue, item 5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::crypto::DsaPrivateKey;
use crate::engine::{Engine, EngineConfig};
use crate::event::{Event, SmpResult};
use crate::policy::Policy;
use crate::wire::encoded::InstanceTag;
use crate::wire::tlv::{encode_plaintext, Tlv, TlvType};

fn key(seed: u64) -> DsaPrivateKey {
    type Parts = Vec<Vec<u8>>;
    static KEYS: OnceLock<Vec<Parts>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (1..=2)
            .map(|s| {
                let k = DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(s));
                let p = k.public();
                vec![
                    p.p().to_vec(),
                    p.q().to_vec(),
                    p.g().to_vec(),
                    p.y().to_vec(),
                    k.x_bytes().to_vec(),
                ]
            })
            .collect()
    });
    let k = &keys[usize::try_from(seed).unwrap() - 1];
    DsaPrivateKey::from_components(&k[0], &k[1], &k[2], &k[3], &k[4]).unwrap()
}

fn engine(seed: u64, tag: u32) -> Engine {
    Engine::new(
        key(seed),
        EngineConfig {
            policy: Policy::MANUAL,
            instance_tag: InstanceTag(tag),
            line_based: true,
            hold_during_key_exchange: false,
        },
        Box::new(ChaCha20Rng::seed_from_u64(seed + 100)),
    )
}

fn wires(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Wire { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect()
}

/// Alice and Bob, private with each other.
fn private_pair() -> (Engine, Engine) {
    let mut alice = engine(1, 0x100);
    let mut bob = engine(2, 0x200);
    let mut to_bob = wires(&alice.start("bob").unwrap());
    while !to_bob.is_empty() {
        let mut to_alice = Vec::new();
        for w in to_bob.drain(..) {
            to_alice.extend(wires(&bob.receive("alice", &w)));
        }
        for w in to_alice {
            to_bob.extend(wires(&alice.receive("bob", &w)));
        }
    }
    (alice, bob)
}

/// One line carrying 10,000 broken SMP records: before the fix, the engine answered each
/// with an abort message (10,000 messages, 3.5 MB). Now it handles one record per data
/// message, answers at most once, and a flood of such messages gets a few answers only.
#[test]
fn many_smp_records_in_one_message_get_at_most_one_answer() {
    let (mut alice, mut bob) = private_pair();
    let records: Vec<Tlv> = (0..10_000)
        .map(|_| Tlv {
            kind: TlvType::SMP2,
            value: vec![0; 1],
        })
        .collect();
    let line = bob
        .seal_raw("alice", &encode_plaintext(b"", &records))
        .unwrap();
    let out = alice.receive("bob", &line);
    assert!(wires(&out).len() <= 1, "{} answers", wires(&out).len());
    let aborted = out
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Smp {
                    result: SmpResult::Aborted,
                    ..
                }
            )
        })
        .count();
    assert!(aborted <= 1);

    let mut answers = wires(&out).len();
    for _ in 0..50 {
        let line = bob
            .seal_raw("alice", &encode_plaintext(b"", &records[..2]))
            .unwrap();
        answers += wires(&alice.receive("bob", &line)).len();
    }
    assert!(answers <= 4, "{answers} answers to 51 broken SMP messages");
}
