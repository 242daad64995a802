//! The adversarial engine check: an input is a script of actions among Alice, Bob logged in
//! twice (two instances, one key) and Mallory (her own key, logged in as "bob"), over a
//! network the input controls. After every step it checks the invariants an active
//! attacker must never break:
//!
//! 1. no two data messages are ever encrypted under the same key and counter (the
//!    `keystream-oracle` feature of `otr` records every pair);
//! 2. nothing is shown, or announced, as coming from a verified key unless it came from
//!    the key Alice verified (Bob's); an SMP success never names Mallory's key;
//! 3. nothing typed leaves in plaintext while the typist's conversation is private (or
//!    finished) or its policy requires encryption;
//! 4. every text shown as encrypted was typed by an actor holding the key the event names
//!    (Bob's instances for Bob's key, Mallory for hers, Alice for hers), and is shown at
//!    most once (a `[resent] ` copy at most once more);
//! 5. memory stays under the engine's caps;
//! 6. no panic.
//!
//! Shared by the fuzz target `engine_adversary` (`#[path]`) and by
//! `crates/otr/tests/fuzz_adversary.rs`, which replays the committed corpus.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use otr::crypto::{DsaPrivateKey, Fingerprint};
use otr::engine::{MAX_PEERS, MAX_TOTAL_REASSEMBLY_BYTES};
use otr::wire::encoded::{EncodedMessage, InstanceTag};
use otr::wire::text::{armour, classify, IncomingText};
use otr::wire::Codec;
use otr::{ConversationState, Engine, EngineConfig, Event, Origin, Policy, SmpResult};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const ALICE: usize = 0;
const BOB1: usize = 1;
const BOB2: usize = 2;
const MALLORY: usize = 3;
const ACTORS: usize = 4;
const TAGS: [u32; ACTORS] = [0x100, 0x200, 0x201, 0x300];
/// Instance tags a re-tagging attacker writes: ours, made up, and invalid ones.
const RETAGS: [u32; 8] = [0, 1, 0x100, 0x200, 0x201, 0x300, 0x0BAD_0BAD, 0xFFFF_FFFF];
const MAX_STEPS: usize = 64;
const MAX_IN_FLIGHT: usize = 64;
const MAX_HISTORY: usize = 128;
const ERROR_TEXT: &str = "?OTR Error: You transmitted an unreadable encrypted message.";

/// The three long-term keys (Alice, Bob, Mallory), generated and validated once per
/// process; each engine gets a copy.
fn keys() -> &'static [DsaPrivateKey; 3] {
    static KEYS: OnceLock<[DsaPrivateKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [1u64, 2, 3].map(|seed| DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(seed)))
    })
}

fn key(i: usize) -> DsaPrivateKey {
    keys()[i].clone()
}

/// Which key each actor holds: Bob's two instances share one.
fn key_index(actor: usize) -> usize {
    match actor {
        ALICE => 0,
        BOB1 | BOB2 => 1,
        _ => 2,
    }
}

/// What an actor calls its peer: Alice talks to "bob" (all three others log in as bob);
/// the others talk to "alice".
fn peer_of(actor: usize) -> &'static str {
    if actor == ALICE {
        "bob"
    } else {
        "alice"
    }
}

/// A wire message in flight, from `from`; Alice's go to one of the others, chosen when
/// the network delivers it, and the others' go to Alice.
#[derive(Clone)]
struct Packet {
    from: usize,
    data: String,
}

/// Reads the script's bytes, 0 once they run out.
struct Script<'a> {
    data: &'a [u8],
    at: usize,
}

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

struct World {
    engines: Vec<Engine>,
    fingerprints: [Fingerprint; 3],
    policies: [Policy; ACTORS],
    in_flight: Vec<Packet>,
    history: Vec<Packet>,
    /// Every text typed, with its typist.
    typed: HashMap<String, usize>,
    /// Typed texts that may appear in plaintext on the wire (typed in plaintext state
    /// under a policy that allows it).
    may_leak: HashSet<String>,
    /// Texts Alice typed while a private session with a key she verified existed: they may
    /// only ever be readable under that key.
    for_verified_only: HashSet<String>,
    /// How often each (receiver, text) was shown as encrypted.
    shown: HashMap<(usize, String), u32>,
    counter: u32,
    now: f64,
}

impl World {
    fn new(seed: u8, policy_bits: u8) -> Self {
        let presets = [Policy::MANUAL, Policy::OPPORTUNISTIC, Policy::ALWAYS];
        let policies: [Policy; ACTORS] =
            core::array::from_fn(|i| presets[usize::from(policy_bits >> (2 * i)) % 3]);
        let engines = (0..ACTORS)
            .map(|i| {
                Engine::new(
                    key(key_index(i)),
                    EngineConfig {
                        policy: policies[i],
                        instance_tag: InstanceTag(TAGS[i]),
                        line_based: true,
                        hold_during_key_exchange: false,
                    },
                    Box::new(ChaCha20Rng::seed_from_u64(u64::from(seed) * 16 + i as u64)),
                )
            })
            .collect();
        otr::oracle::reset();
        Self {
            engines,
            fingerprints: [0, 1, 2].map(|i| key(i).public().fingerprint()),
            policies,
            in_flight: Vec::new(),
            history: Vec::new(),
            typed: HashMap::new(),
            may_leak: HashSet::new(),
            for_verified_only: HashSet::new(),
            shown: HashMap::new(),
            counter: 0,
            now: 1_000_000.0,
        }
    }

    fn fp_of(&self, actor: usize) -> Fingerprint {
        self.fingerprints[key_index(actor)]
    }

    /// Runs `actor`'s engine on an action and takes in what it caused.
    fn act(&mut self, actor: usize, f: impl FnOnce(&mut Engine) -> Vec<Event>) {
        let events = f(&mut self.engines[actor]);
        self.absorb(actor, events);
    }

    fn deliver(&mut self, packet: &Packet, to: usize) {
        let peer = peer_of(to);
        let data = packet.data.clone();
        self.act(to, |e| e.receive(peer, &data));
    }

    /// The receiver of a packet: Alice's go to the other actor chosen by `choice`.
    fn receiver(packet: &Packet, choice: u8) -> usize {
        if packet.from == ALICE {
            1 + usize::from(choice) % 3
        } else {
            ALICE
        }
    }

    fn absorb(&mut self, actor: usize, events: Vec<Event>) {
        for event in events {
            match event {
                Event::Wire { data, .. } => {
                    self.check_no_leak(actor, &data);
                    let packet = Packet { from: actor, data };
                    if self.history.len() >= MAX_HISTORY {
                        self.history.remove(0);
                    }
                    self.history.push(packet.clone());
                    if self.in_flight.len() < MAX_IN_FLIGHT {
                        self.in_flight.push(packet);
                    }
                }
                Event::Message {
                    text,
                    encrypted: true,
                    origin,
                    ..
                } => self.check_shown(actor, text, origin),
                Event::State {
                    fingerprint,
                    trusted: true,
                    ..
                } => assert_eq!(
                    fingerprint,
                    Some(self.verifiable(actor)),
                    "an unverified key announced as verified"
                ),
                Event::Smp {
                    result,
                    origin: Some(o),
                    ..
                } => {
                    self.check_trusted_origin(actor, &o);
                    if result == SmpResult::Success {
                        assert_ne!(
                            o.fingerprint, self.fingerprints[2],
                            "SMP success with Mallory"
                        );
                    }
                }
                Event::ExtraSymmetricKey { origin, .. } => {
                    self.check_trusted_origin(actor, &origin)
                }
                _ => {}
            }
        }
    }

    /// The only key `actor` can come to trust: Alice verifies Bob's (by hand or by SMP);
    /// Bob's instances can verify Alice's by SMP. Mallory knows no SMP secret.
    fn verifiable(&self, actor: usize) -> Fingerprint {
        if actor == ALICE {
            self.fingerprints[1]
        } else {
            self.fingerprints[0]
        }
    }

    /// Invariant 2.
    fn check_trusted_origin(&self, receiver: usize, origin: &Origin) {
        if origin.trusted {
            assert_eq!(
                origin.fingerprint,
                self.verifiable(receiver),
                "verified, but the wrong key"
            );
        }
    }

    /// Invariant 3: typed texts are unique markers; one in a wire message is a leak unless
    /// it was typed where plaintext was allowed.
    fn check_no_leak(&self, actor: usize, data: &str) {
        for (text, typist) in &self.typed {
            if *typist == actor && data.contains(text.as_str()) {
                assert!(
                    self.may_leak.contains(text),
                    "typed text left in plaintext: {text}"
                );
            }
        }
    }

    /// Invariants 2 and 4.
    fn check_shown(&mut self, receiver: usize, text: String, origin: Option<Origin>) {
        let origin = origin.expect("encrypted text without its session");
        self.check_trusted_origin(receiver, &origin);
        let original = text.strip_prefix("[resent] ").unwrap_or(&text);
        let typist = *self
            .typed
            .get(original)
            .unwrap_or_else(|| panic!("shown but never typed: {text:?}"));
        assert_eq!(
            origin.fingerprint,
            self.fp_of(typist),
            "shown under another typist's key"
        );
        if receiver == MALLORY {
            assert!(
                !self.for_verified_only.contains(original),
                "typed for a verified key, read by an impostor: {text:?}"
            );
        }
        if receiver == ALICE {
            assert_ne!(typist, ALICE, "Alice shown her own text");
        } else {
            assert_eq!(typist, ALICE, "a text not from Alice shown to {receiver}");
        }
        let count = self.shown.entry((receiver, text.clone())).or_insert(0);
        *count += 1;
        assert!(*count <= 1, "shown twice: {text:?}");
    }

    fn type_text(&mut self, actor: usize) {
        self.counter += 1;
        let text = format!("t{:06}x{actor}", self.counter);
        let peer = peer_of(actor);
        let private = self.engines[actor].state(peer) != ConversationState::Plaintext;
        if !private && !self.policies[actor].has(Policy::REQUIRE_ENCRYPTION) {
            self.may_leak.insert(text.clone());
        }
        if actor == ALICE {
            let verified = self.engines[ALICE]
                .instances("bob")
                .iter()
                .any(|(_, state, fp)| {
                    *state == ConversationState::Encrypted
                        && fp.is_some_and(|fp| {
                            self.engines[ALICE]
                                .known_fingerprints()
                                .is_trusted("bob", &fp)
                        })
                });
            if verified {
                self.for_verified_only.insert(text.clone());
            }
        }
        self.typed.insert(text.clone(), actor);
        self.act(actor, |e| e.send(peer, &text));
    }

    /// One action of the script.
    fn step(&mut self, s: &mut Script<'_>) {
        // Every step is four bytes: operation, actor, argument, extra.
        let op = s.byte() % 15;
        let actor_byte = s.byte();
        let actor = usize::from(actor_byte) % ACTORS;
        let arg = s.byte();
        let extra = s.byte();
        let peer = peer_of(actor);
        if std::env::var_os("ADVERSARY_TRACE").is_some() {
            let in_flight: Vec<String> = self
                .in_flight
                .iter()
                .map(|p| format!("{}:{}", p.from, p.data.get(..12).unwrap_or(&p.data)))
                .collect();
            eprintln!("op {op} actor {actor} arg {arg}; in flight {in_flight:?}");
        }
        match op {
            0..=2 if self.in_flight.is_empty() => {}
            0 => {
                let p = self
                    .in_flight
                    .remove(usize::from(arg) % self.in_flight.len());
                let to = Self::receiver(&p, extra);
                self.deliver(&p, to);
            }
            1 => {
                self.in_flight
                    .remove(usize::from(arg) % self.in_flight.len());
            }
            2 => {
                let p = self.in_flight[usize::from(arg) % self.in_flight.len()].clone();
                if self.in_flight.len() < MAX_IN_FLIGHT {
                    self.in_flight.push(p);
                }
            }
            3 if !self.history.is_empty() => {
                let p = self.history[usize::from(arg) % self.history.len()].clone();
                let to = Self::receiver(&p, extra);
                self.deliver(&p, to);
            }
            4 if !self.history.is_empty() => {
                let p = self.history[usize::from(arg) % self.history.len()].clone();
                let which = extra;
                let tag = InstanceTag(RETAGS[usize::from(which >> 1) % RETAGS.len()]);
                if let Ok(IncomingText::Encoded(bytes)) = classify(&p.data) {
                    if let Ok(mut m) = EncodedMessage::decode(&bytes) {
                        if which & 1 == 0 {
                            m.sender_instance = tag;
                        } else {
                            m.receiver_instance = tag;
                        }
                        let forged = Packet {
                            from: p.from,
                            data: armour(&m.to_bytes()),
                        };
                        let to = Self::receiver(&forged, actor_byte);
                        self.deliver(&forged, to);
                    }
                }
            }
            5 => self.act(actor, |e| e.receive(peer, ERROR_TEXT)),
            6 => {
                let injected = [
                    "?OTRv3?",
                    "?OTRv23?",
                    "?OTRv2?",
                    "hi \t  \t\t\t\t \t \t   \t  \t\t  \t\t",
                ][usize::from(arg) % 4];
                self.act(actor, |e| e.receive(peer, injected));
            }
            7 | 8 => self.type_text(actor),
            9 => self.act(actor, |e| e.start(peer).unwrap_or_default()),
            10 => self.act(actor, |e| e.finish(peer)),
            11 | 12 => {
                // Bob's instances and Alice know "right"; Mallory never does.
                let secret: &[u8] = match (actor, arg & 1) {
                    (MALLORY, _) => b"mallory",
                    (_, 0) => b"right",
                    _ => b"wrong",
                };
                if op == 11 {
                    self.act(actor, |e| {
                        e.smp_start(peer, secret, None).unwrap_or_default()
                    });
                } else {
                    self.act(actor, |e| e.smp_respond(peer, secret).unwrap_or_default());
                }
            }
            13 => {
                // Alice verifies Bob's key when it is the one she sees, or withdraws it.
                let bob = self.fingerprints[1];
                if arg & 1 == 0 && self.engines[ALICE].peer_fingerprint("bob") == Some(bob) {
                    self.act(ALICE, |e| e.set_trust("bob", true).unwrap_or_default());
                } else if arg & 1 == 1 {
                    self.act(ALICE, |e| e.set_trust("bob", false).unwrap_or_default());
                }
            }
            _ => {
                self.now += f64::from(arg);
                let now = otr::Time::from_secs_f64(self.now).unwrap_or_default();
                for actor in 0..ACTORS {
                    self.act(actor, |e| e.tick(now));
                }
            }
        }
        // Invariants 1 and 5 after every step.
        assert_eq!(
            otr::oracle::reuses(),
            0,
            "a key and counter were used twice"
        );
        for e in &self.engines {
            assert!(e.pending_fragment_bytes() <= MAX_TOTAL_REASSEMBLY_BYTES);
            assert!(e.conversation_count() <= MAX_PEERS);
        }
    }
}

/// Runs one script.
pub fn engine_adversary(data: &[u8]) {
    run(data);
}

/// Runs one script and returns each actor's message state with its peer at the end, and
/// how many texts were shown encrypted (for tests that check a script does what it says).
pub fn run(data: &[u8]) -> ([ConversationState; ACTORS], usize) {
    let mut s = Script { data, at: 0 };
    let seed = s.byte();
    let policies = s.byte();
    let mut world = World::new(seed, policies);
    let mut steps = 0;
    while !s.done() && steps < MAX_STEPS {
        world.step(&mut s);
        steps += 1;
    }
    let states = core::array::from_fn(|i| world.engines[i].state(peer_of(i)));
    (states, world.shown.len())
}
