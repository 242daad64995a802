//! The engine against an active network attacker and a malicious peer: each test is an
//! attack that once worked (see the security issue's items 1 to 3), written so that it
//! fails if the attack works again.
//!
//! The attacker owns the network: it injects queries and `?OTR Error:` messages, copies a
//! message under another sender instance tag, replays what it saw, and logs in as the peer
//! with a key of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use libotr_harness::POLICY_DEFAULT;
use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::{InstanceTag, MessageBody, MessageType};
use otr::{ConversationState, Engine, Event, Notice, Policy};
use testkit::{
    alice_key, bob_key, decode_wire, encode_wire, engine, key, lines, notices, Mixed, Pair, Relay,
    Side, ALICE_TAG, BOB_TAG,
};

const MALLORY_TAG: u32 = 0x3000_0003;
/// An instance tag the network made up.
const FAKE_TAG: InstanceTag = InstanceTag(0x0BAD_0BAD);
const PEER_ERROR: &str = "?OTR Error: You transmitted an unreadable encrypted message.";

/// The same OTR message under another sender instance tag (the tag is not covered by any
/// signature or MAC of the key exchange).
fn retag(data: &str, sender: InstanceTag) -> String {
    let mut message = decode_wire(data);
    message.sender_instance = sender;
    encode_wire(&message)
}

/// Mallory's long-term key: hers, not Bob's.
fn mallory_key() -> DsaPrivateKey {
    key(66)
}

/// Fails if two data messages share a keystream: for two messages with the same counter,
/// the XOR of their ciphertexts is the XOR of their plaintexts, and the attacker, who knows
/// or guesses one of the texts, reads the other. `texts` are the texts the sender typed.
fn assert_no_keystream_reuse(sent: &[String], texts: &[&str]) {
    let data: Vec<_> = sent
        .iter()
        .filter(|d| d.starts_with("?OTR:"))
        .map(|d| decode_wire(d))
        .filter_map(|m| match m.body {
            MessageBody::Data(d) => Some(d),
            _ => None,
        })
        .collect();
    let plaintexts: Vec<Vec<u8>> = texts
        .iter()
        .map(|t| [t.as_bytes(), &[0]].concat())
        .collect();
    for (i, a) in data.iter().enumerate() {
        for b in data.iter().skip(i + 1).filter(|b| b.ctr == a.ctr) {
            let xor_c: Vec<u8> = a
                .encrypted
                .iter()
                .zip(&b.encrypted)
                .map(|(x, y)| x ^ y)
                .collect();
            for pa in &plaintexts {
                for pb in &plaintexts {
                    let xor_p: Vec<u8> = pa.iter().zip(pb).map(|(x, y)| x ^ y).collect();
                    let n = xor_c.len().min(xor_p.len());
                    assert!(
                        n < 4 || xor_c[..n] != xor_p[..n],
                        "two data messages share key and counter"
                    );
                }
            }
        }
    }
}

/// Item 1: the network injects a query as Bob, so Alice commits to no instance in
/// particular; it then delivers copies of Bob's D-H Key and Signature under a made-up
/// instance tag. Before the fix, Alice completed a second session for that tag with the
/// same D-H values as the real one (same keys, counters from 1), and her next messages to
/// the two instances shared keystream.
#[test]
fn a_retagged_copy_of_the_key_exchange_never_reuses_keystream() {
    let mut alice = engine(alice_key(), ALICE_TAG, Policy::OPPORTUNISTIC, 11);
    let mut bob = engine(bob_key(), BOB_TAG, Policy::OPPORTUNISTIC, 22);
    let mut sent_by_alice = Vec::new();
    let mut alice_do = |alice: &mut Engine, events: Vec<Event>| {
        let w = lines(&events);
        sent_by_alice.extend(w.clone());
        let _ = alice;
        w
    };
    let commit = alice.receive("bob", "?OTRv3?");
    let commit = alice_do(&mut alice, commit);
    assert_eq!(
        decode_wire(&commit[0]).receiver_instance,
        InstanceTag::UNKNOWN
    );
    let dh_key = lines(&bob.receive("alice", &commit[0]));
    let reveal = alice.receive("bob", &dh_key[0]);
    let reveal = alice_do(&mut alice, reveal);
    let copy = alice.receive("bob", &retag(&dh_key[0], FAKE_TAG));
    let copy = alice_do(&mut alice, copy);
    assert!(
        copy.is_empty(),
        "answered a re-tagged copy of the D-H Key: {copy:?}"
    );
    let signature = lines(&bob.receive("alice", &reveal[0]));
    let done = alice.receive("bob", &signature[0]);
    alice_do(&mut alice, done);
    assert_eq!(alice.state("bob"), ConversationState::Encrypted);
    let copy = alice.receive("bob", &retag(&signature[0], FAKE_TAG));
    assert!(
        !copy
            .iter()
            .any(|e| matches!(e, Event::State { instance, .. } if *instance == FAKE_TAG)),
        "a session came up for the made-up instance: {copy:?}"
    );
    alice_do(&mut alice, copy);

    // Alice writes; Bob answers (so whichever instance Alice prefers, both get used); the
    // network injects an error, and Alice resends whatever she resends.
    let first = alice.send("bob", "attack at dawn");
    for w in alice_do(&mut alice, first) {
        let _ = bob.receive("alice", &w);
    }
    for w in lines(&bob.send("alice", "ok")) {
        let out = alice.receive("bob", &w);
        alice_do(&mut alice, out);
    }
    let second = alice.send("bob", "retreat at noon");
    alice_do(&mut alice, second);
    let after_error = alice.receive("bob", PEER_ERROR);
    alice_do(&mut alice, after_error);

    for w in &sent_by_alice {
        if w.starts_with("?OTR:") {
            let m = decode_wire(w);
            assert_ne!(
                m.receiver_instance, FAKE_TAG,
                "Alice wrote to a made-up instance"
            );
        }
    }
    assert_no_keystream_reuse(
        &sent_by_alice,
        &[
            "attack at dawn",
            "retreat at noon",
            "[resent] retreat at noon",
        ],
    );
}

/// Item 2, with libotr as Bob: the network replays to Bob a data message he already read.
/// libotr answers a replay with `?OTR Error:`; before the fix, Alice then resent her last
/// message, and Bob saw it a second time as `[resent] ...`.
#[test]
fn a_replay_to_libotr_never_makes_it_show_a_message_twice() {
    let mut m = Mixed::with_libotr(Policy::OPPORTUNISTIC, POLICY_DEFAULT);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    m.assert_private();
    let q = m.alice_do(|e| e.send("bob", "the meeting is at six"));
    let captured = q[0].1.clone();
    m.relay(q);
    // Bob answers: he read it (and used the key it announced).
    let q = m.bob_do(|l| l.send("alice", "got it"));
    m.relay(q);
    m.clear();
    // The replay.
    let q = m.bob_do(|l| l.receive("alice", &captured));
    m.relay(q);
    let shown: Vec<String> = m.bob_shown().into_iter().map(|(t, _)| t).collect();
    assert!(
        shown.iter().all(|t| !t.contains("the meeting is at six")),
        "Bob saw the message twice: {shown:?}"
    );
    assert!(m
        .wire
        .iter()
        .any(|(f, d)| *f == Side::Bob && d.starts_with("?OTR Error:")));
}

/// Item 2, forged: after Bob replied to Alice's message, the network injects an error.
/// Alice must not resend what Bob showed he read.
#[test]
fn a_forged_error_after_the_peer_replied_resends_nothing() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.connect(Side::Alice);
    pair.act(Side::Alice, |e| e.send("bob", "I read you"));
    pair.act(Side::Bob, |e| e.send("alice", "and I you"));
    pair.clear_events();
    let q = pair.hold(Side::Bob, |_| Vec::new());
    pair.relay(q);
    pair.act(Side::Alice, |e| e.receive("bob", PEER_ERROR));
    assert!(
        pair.shown(Side::Bob).is_empty(),
        "{:?}",
        pair.shown(Side::Bob)
    );
    assert!(!notices(&pair.events.alice)
        .iter()
        .any(|n| matches!(n, Notice::Resent { .. })));
}

/// Item 2: a message the peer may have missed is resent once, not once per error.
#[test]
fn the_last_message_is_resent_at_most_once() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.connect(Side::Alice);
    let lost = pair.hold(Side::Alice, |e| e.send("bob", "lost on the way"));
    drop(lost);
    pair.clear_events();
    for _ in 0..3 {
        pair.act(Side::Alice, |e| e.receive("bob", PEER_ERROR));
    }
    let resent: Vec<_> = pair
        .shown(Side::Bob)
        .into_iter()
        .filter(|(t, _)| t.contains("lost on the way"))
        .collect();
    assert_eq!(resent.len(), 1, "{resent:?}");
}

/// Item 2, our engine as Bob: a replayed data message gets no `?OTR Error:` back (which
/// would make the sender resend what we showed already), and is not shown again.
#[test]
fn a_replay_to_us_gets_no_error_reply() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.connect(Side::Alice);
    let q = pair.hold(Side::Alice, |e| e.send("bob", "once"));
    let captured = q[0].1.clone();
    pair.relay(q);
    pair.clear_events();
    let events = pair.bob.receive("alice", &captured);
    assert!(lines(&events).is_empty(), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::Message { .. })));
}

/// Alice and Bob in a private conversation; then Mallory, logged in as "bob" with her own
/// key, completes a key exchange with Alice from another instance and writes first.
fn with_impostor(trust_bob: bool) -> (Pair, Engine, Vec<Event>) {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.connect(Side::Alice);
    if trust_bob {
        pair.alice.set_trust("bob", true).unwrap();
    }
    pair.act(Side::Bob, |e| e.send("alice", "hi, it's Bob"));
    pair.clear_events();
    let mut mallory = engine(mallory_key(), MALLORY_TAG, Policy::OPPORTUNISTIC, 33);
    // Mallory calls herself "bob"; Alice's events are kept, her replies go to Mallory.
    let mut network = Relay::new(&mut pair.alice, &mut mallory).named("alice", "bob");
    network.connect(Side::Bob);
    let mut alice_events = network.take_events().alice;
    assert_eq!(mallory.state("alice"), ConversationState::Encrypted);
    for w in lines(&mallory.send("alice", "it's me, Bob, on my phone")) {
        alice_events.extend(pair.alice.receive("bob", &w));
    }
    (pair, mallory, alice_events)
}

/// Item 3: with Bob's key verified, an impostor instance with another key writes to Alice.
/// Its message names its own (unverified) key, and what Alice types next still goes to
/// Bob's verified instance only.
#[test]
fn an_impostor_instance_never_receives_what_the_user_types() {
    let (mut pair, mut mallory, events) = with_impostor(true);
    let mallory_fp = mallory.fingerprint();
    let from_mallory = events
        .iter()
        .find_map(|e| match e {
            Event::Message { text, origin, .. } if text.contains("phone") => Some(*origin),
            _ => None,
        })
        .expect("Mallory's message is shown");
    let origin = from_mallory.expect("it arrived encrypted");
    assert_eq!(origin.fingerprint, mallory_fp);
    assert_eq!(origin.instance, InstanceTag(MALLORY_TAG));
    assert!(!origin.trusted);
    assert_eq!(
        pair.alice.peer_fingerprint("bob"),
        Some(bob_key().public().fingerprint())
    );
    let out = pair.alice.send("bob", "for Bob only");
    for w in lines(&out) {
        assert_eq!(decode_wire(&w).receiver_instance, InstanceTag(BOB_TAG));
        let read = mallory.receive("alice", &w);
        assert!(
            !read.iter().any(|e| matches!(e, Event::Message { .. })),
            "{read:?}"
        );
    }
    pair.clear_events();
    pair.act(Side::Alice, |_| out);
    assert_eq!(pair.shown(Side::Bob), [("for Bob only".to_owned(), true)]);
}

/// Item 3, nobody verified: the instance that wrote last receives what Alice types (as
/// libotr does), but only after a `State` event names its instance and its key.
#[test]
fn a_switch_to_another_instance_is_announced_before_anything_goes_there() {
    let (mut pair, mallory, events) = with_impostor(false);
    let announced = events.iter().rev().find_map(|e| match e {
        Event::State {
            instance,
            fingerprint,
            trusted,
            ..
        } => Some((*instance, *fingerprint, *trusted)),
        _ => None,
    });
    assert_eq!(
        announced,
        Some((InstanceTag(MALLORY_TAG), Some(mallory.fingerprint()), false))
    );
    let out = pair.alice.send("bob", "to whoever wrote last");
    assert_eq!(
        decode_wire(&lines(&out)[0]).receiver_instance,
        InstanceTag(MALLORY_TAG)
    );
}

/// Item 3: every message, SMP and extra-symmetric-key event names its session.
#[test]
fn events_name_the_session_they_came_from() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.connect(Side::Alice);
    pair.act(Side::Alice, |e| e.send("bob", "hello"));
    pair.act(Side::Alice, |e| {
        e.extra_symmetric_key("bob", 7, b"file").unwrap().1
    });
    pair.act(Side::Alice, |e| {
        e.smp_start("bob", b"secret", None).unwrap()
    });
    let alice_fp = pair.alice.fingerprint();
    let mut seen = 0;
    for e in pair.events.of(Side::Bob) {
        let origin = match e {
            Event::Message { origin, .. } => origin.expect("encrypted"),
            Event::Smp { origin, .. } => origin.expect("in a session"),
            Event::ExtraSymmetricKey { origin, .. } => *origin,
            _ => continue,
        };
        assert_eq!(origin.fingerprint, alice_fp);
        assert_eq!(origin.instance, InstanceTag(ALICE_TAG));
        seen += 1;
    }
    assert_eq!(seen, 3);
    let _ = MessageType::DATA;
}
