//! Shared test helpers: deterministic engines and an in-memory relay between two of them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod mixed;
pub mod weak;

use std::sync::OnceLock;

use otr::crypto::DsaPrivateKey;
use otr::wire::codec::Codec;
use otr::wire::encoded::{EncodedMessage, InstanceTag};
use otr::wire::text::{self, IncomingText};
use otr::{Engine, EngineConfig, Event, Notice, Policy};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The RFC 3526 1536-bit modulus, big-endian.
pub const MODULUS_HEX: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF";

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cached_key(slot: &'static OnceLock<Vec<Vec<u8>>>, seed: u64) -> DsaPrivateKey {
    let parts = slot.get_or_init(|| {
        let key = DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(seed));
        let p = key.public();
        vec![
            p.p().to_vec(),
            p.q().to_vec(),
            p.g().to_vec(),
            p.y().to_vec(),
            key.x_bytes().to_vec(),
        ]
    });
    DsaPrivateKey::from_components(&parts[0], &parts[1], &parts[2], &parts[3], &parts[4]).unwrap()
}

/// Alice's long-term key (generated once per test binary).
pub fn alice_key() -> DsaPrivateKey {
    static K: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    cached_key(&K, 1)
}

/// Bob's long-term key (generated once per test binary).
pub fn bob_key() -> DsaPrivateKey {
    static K: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    cached_key(&K, 2)
}

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

/// Which side of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Alice,
    Bob,
}

/// Two engines, "alice" and "bob", and everything that crossed the wire between them.
pub struct Pair {
    pub alice: Engine,
    pub bob: Engine,
    /// (sender, data) of every wire message, in order.
    pub wire: Vec<(Side, String)>,
    /// Non-wire events seen by each side, in order.
    pub alice_events: Vec<Event>,
    pub bob_events: Vec<Event>,
}

impl Pair {
    pub fn new(policy: Policy) -> Self {
        Self::with_policies(policy, policy)
    }

    pub fn with_policies(alice: Policy, bob: Policy) -> Self {
        Self {
            alice: engine(alice_key(), 0x1000_0001, alice, 11),
            bob: engine(bob_key(), 0x2000_0002, bob, 22),
            wire: Vec::new(),
            alice_events: Vec::new(),
            bob_events: Vec::new(),
        }
    }

    /// Splits a side's output into wire messages (queued for the other side) and the rest.
    pub fn absorb(&mut self, from: Side, events: Vec<Event>, queue: &mut Vec<(Side, String)>) {
        for event in events {
            match event {
                Event::Wire { data, .. } => {
                    self.wire.push((from, data.clone()));
                    queue.push((from, data));
                }
                other => match from {
                    Side::Alice => self.alice_events.push(other),
                    Side::Bob => self.bob_events.push(other),
                },
            }
        }
    }

    /// Delivers queued wire messages (and everything they cause) until quiet.
    pub fn relay(&mut self, mut queue: Vec<(Side, String)>) {
        let mut rounds = 0;
        while !queue.is_empty() {
            rounds += 1;
            assert!(rounds < 10_000, "relay did not settle");
            let (from, data) = queue.remove(0);
            let (to, events) = match from {
                Side::Alice => (Side::Bob, self.bob.receive("alice", &data)),
                Side::Bob => (Side::Alice, self.alice.receive("bob", &data)),
            };
            self.absorb(to, events, &mut queue);
        }
    }

    /// Runs a side's action and relays what it causes until quiet.
    pub fn act(&mut self, side: Side, f: impl FnOnce(&mut Engine) -> Vec<Event>) {
        let events = match side {
            Side::Alice => f(&mut self.alice),
            Side::Bob => f(&mut self.bob),
        };
        let mut queue = Vec::new();
        self.absorb(side, events, &mut queue);
        self.relay(queue);
    }

    /// Runs a side's action and returns its wire output without delivering it.
    pub fn hold(
        &mut self,
        side: Side,
        f: impl FnOnce(&mut Engine) -> Vec<Event>,
    ) -> Vec<(Side, String)> {
        let events = match side {
            Side::Alice => f(&mut self.alice),
            Side::Bob => f(&mut self.bob),
        };
        let mut queue = Vec::new();
        self.absorb(side, events, &mut queue);
        queue
    }

    /// Establishes a private session started by `side`.
    pub fn connect(&mut self, side: Side) {
        let peer = match side {
            Side::Alice => "bob",
            Side::Bob => "alice",
        };
        self.act(side, |e| e.start(peer).unwrap());
    }

    pub fn events(&self, side: Side) -> &[Event] {
        match side {
            Side::Alice => &self.alice_events,
            Side::Bob => &self.bob_events,
        }
    }

    /// Texts shown to `side` (with their `encrypted` flag).
    pub fn shown(&self, side: Side) -> Vec<(String, bool)> {
        shown_in(self.events(side))
    }

    pub fn clear_events(&mut self) {
        self.alice_events.clear();
        self.bob_events.clear();
    }
}

/// The texts shown among `events`, with their `encrypted` flag.
pub fn shown_in(events: &[Event]) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message {
                text, encrypted, ..
            } => Some((text.clone(), *encrypted)),
            _ => None,
        })
        .collect()
}

/// The notices among `events`, in order.
pub fn notices(events: &[Event]) -> Vec<Notice> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Notice { notice, .. } => Some(notice.clone()),
            _ => None,
        })
        .collect()
}

/// Decodes an armoured wire message.
pub fn decode_wire(data: &str) -> EncodedMessage {
    match text::classify(data).unwrap() {
        IncomingText::Encoded(bytes) => EncodedMessage::decode(&bytes).unwrap(),
        other => panic!("not an encoded message: {other:?}"),
    }
}

/// Re-armours an encoded message.
pub fn encode_wire(message: &EncodedMessage) -> String {
    text::armour(&message.to_bytes())
}
