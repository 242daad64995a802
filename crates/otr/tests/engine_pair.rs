//! Our engine against itself: key exchange from either side, data with key rotation,
//! MAC-key reveals, refresh without a plaintext window, finishing, held messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otr::crypto::sym::hmac_sha1;
use otr::wire::encoded::MessageBody;
use otr::{ConversationState, Event, NotSent, Notice, Policy};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use testkit::{decode_wire, Pair, Side};

fn assert_encrypted(pair: &Pair) {
    assert_eq!(pair.alice.state("bob"), ConversationState::Encrypted);
    assert_eq!(pair.bob.state("alice"), ConversationState::Encrypted);
    assert_eq!(
        pair.alice.peer_fingerprint("bob"),
        Some(pair.bob.fingerprint())
    );
    assert_eq!(
        pair.bob.peer_fingerprint("alice"),
        Some(pair.alice.fingerprint())
    );
}

#[test]
fn key_exchange_started_by_either_side() {
    for side in [Side::Alice, Side::Bob] {
        let mut pair = Pair::engines(Policy::MANUAL);
        pair.connect(side);
        assert_encrypted(&pair);
        // One query, D-H Commit, D-H Key, Reveal Signature, Signature.
        assert_eq!(pair.wire.len(), 5, "{:?}", pair.wire);
        let a = pair.alice.session_id("bob").unwrap();
        let b = pair.bob.session_id("alice").unwrap();
        assert_eq!(a.bytes(), b.bytes());
        assert_eq!(a.to_string(), b.to_string());
        assert_ne!(a.bold_half(), b.bold_half());
        assert!(pair.events.alice.iter().any(|e| matches!(
            e,
            Event::State {
                state: ConversationState::Encrypted,
                trusted: false,
                ..
            }
        )));
    }
}

#[test]
fn simultaneous_commits_resolve() {
    let mut pair = Pair::engines(Policy::MANUAL);
    let mut queue = pair.hold(Side::Alice, |e| e.receive("bob", "?OTRv3?"));
    queue.extend(pair.hold(Side::Bob, |e| e.receive("alice", "?OTRv3?")));
    pair.relay(queue);
    assert_encrypted(&pair);
}

#[test]
fn repeated_commit_gets_the_same_dh_key() {
    let mut pair = Pair::engines(Policy::MANUAL);
    let commit = pair.hold(Side::Alice, |e| e.receive("bob", "?OTRv3?"));
    let first = pair.hold(Side::Bob, |e| e.receive("alice", &commit[0].1));
    let second = pair.hold(Side::Bob, |e| e.receive("alice", &commit[0].1));
    assert_eq!(first, second);
    pair.relay(second);
    assert_encrypted(&pair);
}

/// Random UTF-8 text of 1..=max bytes.
fn random_text(rng: &mut impl RngCore, max: usize) -> String {
    let len = 1 + (rng.next_u32() as usize % max);
    let mut s = String::new();
    while s.len() < len {
        let c = match rng.next_u32() % 4 {
            0 => char::from_u32(0x20 + rng.next_u32() % 0x5f),
            1 => char::from_u32(0xa0 + rng.next_u32() % 0x700),
            2 => char::from_u32(0x4e00 + rng.next_u32() % 0x5000),
            _ => char::from_u32(0x1f600 + rng.next_u32() % 0x50),
        };
        if let Some(c) = c {
            if s.len() + c.len_utf8() > len {
                break;
            }
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('x');
    }
    s
}

#[test]
fn a_thousand_messages_alternating_and_in_bursts() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Alice);
    pair.clear_events();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let mut sent = (Vec::new(), Vec::new());
    let mut n = 0;
    while n < 1000 {
        // Bursts of 1..=8 from one side, delivered in order, sometimes held back until the
        // other side has sent too (so both sides' messages cross on the wire).
        let side = if rng.next_u32().is_multiple_of(2) {
            Side::Alice
        } else {
            Side::Bob
        };
        let burst = 1 + rng.next_u32() % 8;
        let mut queue = Vec::new();
        for _ in 0..burst {
            let text = random_text(&mut rng, if n % 50 == 0 { 10_000 } else { 300 });
            let peer = if side == Side::Alice { "bob" } else { "alice" };
            queue.extend(pair.hold(side, |e| e.send(peer, &text)));
            if side == Side::Alice {
                sent.0.push(text)
            } else {
                sent.1.push(text)
            }
            n += 1;
        }
        if rng.next_u32().is_multiple_of(3) {
            let other = if side == Side::Alice {
                Side::Bob
            } else {
                Side::Alice
            };
            let text = random_text(&mut rng, 100);
            let peer = if other == Side::Alice { "bob" } else { "alice" };
            queue.extend(pair.hold(other, |e| e.send(peer, &text)));
            if other == Side::Alice {
                sent.0.push(text)
            } else {
                sent.1.push(text)
            }
            n += 1;
        }
        pair.relay(queue);
    }
    let bob_got: Vec<String> = pair
        .shown(Side::Bob)
        .into_iter()
        .map(|(t, enc)| {
            assert!(enc);
            t
        })
        .collect();
    let alice_got: Vec<String> = pair
        .shown(Side::Alice)
        .into_iter()
        .map(|(t, enc)| {
            assert!(enc);
            t
        })
        .collect();
    assert_eq!(bob_got, sent.0);
    assert_eq!(alice_got, sent.1);
    assert!(pair
        .events
        .alice
        .iter()
        .chain(&pair.events.bob)
        .all(|e| !matches!(e, Event::Notice { .. })));
    for (_, data) in &pair.wire {
        assert!(data.starts_with("?OTR"), "plaintext on the wire: {data}");
        for text in sent.0.iter().chain(&sent.1) {
            if text.len() >= 4 {
                assert!(!data.contains(text.as_str()));
            }
        }
    }
    check_reveals(&pair);
}

/// Every revealed MAC key verifies some earlier data message (that is what makes the
/// transcript forgeable), every key is revealed at most once, and reveals do happen.
fn check_reveals(pair: &Pair) {
    let mut earlier = Vec::new();
    let mut revealed = std::collections::HashSet::new();
    let mut count = 0;
    for (_, data) in &pair.wire {
        let Ok(otr::wire::text::IncomingText::Encoded(_)) = otr::wire::text::classify(data) else {
            continue;
        };
        let message = decode_wire(data);
        let MessageBody::Data(d) = &message.body else {
            continue;
        };
        for key in d.old_mac_keys.chunks(20) {
            count += 1;
            assert!(
                revealed.insert(key.to_vec()),
                "a MAC key was revealed twice"
            );
            let verifies = earlier
                .iter()
                .any(|(input, mac): &(Vec<u8>, [u8; 20])| &hmac_sha1(key, &[input]) == mac);
            assert!(verifies, "a revealed key verifies no earlier message");
        }
        earlier.push((message.data_mac_input().unwrap(), d.mac));
    }
    assert!(count > 100, "only {count} MAC keys revealed");
}

#[test]
fn refresh_keeps_the_session_private() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Alice);
    pair.act(Side::Alice, |e| e.send("bob", "before"));
    let old_fp = pair.bob.peer_fingerprint("alice");
    // Alice refreshes; while the new exchange runs, everything she sends stays encrypted.
    let query = pair.hold(Side::Alice, |e| e.start("bob").unwrap());
    let commit = pair.hold(Side::Bob, |e| e.receive("alice", &query[0].1));
    let during = pair.hold(Side::Alice, |e| e.send("bob", "during the exchange"));
    assert!(during[0].1.starts_with("?OTR:"));
    let dh_key = pair.hold(Side::Alice, |e| e.receive("bob", &commit[0].1));
    let in_flight = pair.hold(Side::Bob, |e| e.send("alice", "old keys, in flight"));
    pair.relay(dh_key);
    assert_encrypted(&pair);
    pair.relay(during);
    pair.relay(in_flight);
    pair.act(Side::Alice, |e| e.send("bob", "after"));
    let texts: Vec<String> = pair.shown(Side::Bob).into_iter().map(|(t, _)| t).collect();
    assert_eq!(texts, ["before", "during the exchange", "after"]);
    assert_eq!(
        pair.shown(Side::Alice),
        [("old keys, in flight".to_owned(), true)]
    );
    assert_eq!(pair.bob.peer_fingerprint("alice"), old_fp);
    assert!(pair.wire.iter().all(|(_, d)| d.starts_with("?OTR")));
}

#[test]
fn finish_and_finished_state() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Bob);
    pair.act(Side::Alice, |e| e.finish("bob"));
    assert_eq!(pair.alice.state("bob"), ConversationState::Plaintext);
    assert_eq!(pair.bob.state("alice"), ConversationState::Finished);
    pair.clear_events();
    let out = pair.hold(Side::Bob, |e| e.send("alice", "are you there?"));
    assert!(out.is_empty(), "nothing may be sent in the finished state");
    assert!(matches!(
        pair.events.bob.as_slice(),
        [Event::Notice {
            notice: Notice::NotSent(NotSent::PeerFinished),
            ..
        }]
    ));
    pair.act(Side::Bob, |e| e.finish("alice"));
    assert_eq!(pair.bob.state("alice"), ConversationState::Plaintext);
    // And they can start again.
    pair.connect(Side::Bob);
    assert_encrypted(&pair);
}

#[test]
fn require_encryption_holds_the_first_message() {
    let mut pair = Pair::engines_with(Policy::ALWAYS, Policy::MANUAL);
    pair.act(Side::Alice, |e| e.send("bob", "secret first words"));
    assert_encrypted(&pair);
    assert_eq!(
        pair.shown(Side::Bob),
        [("secret first words".to_owned(), true)]
    );
    assert!(pair.wire.iter().all(|(_, d)| !d.contains("secret")));
}

#[test]
fn opportunistic_whitespace_tag_starts_otr() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.act(Side::Alice, |e| e.send("bob", "hello"));
    assert_eq!(pair.shown(Side::Bob), [("hello".to_owned(), false)]);
    assert_encrypted(&pair);
}

#[test]
fn plaintext_during_a_session_is_flagged() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Alice);
    pair.clear_events();
    let events = pair.bob.receive("alice", "sneaky plaintext");
    assert!(events.contains(&Event::Message {
        peer: "alice".into(),
        text: "sneaky plaintext".into(),
        encrypted: false,
        origin: None,
    }));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Notice {
            notice: Notice::Unencrypted,
            ..
        }
    )));
}

#[test]
fn plaintext_lines_are_split_and_clean() {
    let mut pair = Pair::engines(Policy::MANUAL);
    let out = pair.hold(Side::Alice, |e| e.send("bob", "one\r\ntwo\nthree\0four"));
    let lines: Vec<&str> = out.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(lines, ["one", "two", "threefour"]);
    // Inside an encrypted message line breaks survive.
    pair.connect(Side::Alice);
    pair.clear_events();
    pair.act(Side::Alice, |e| e.send("bob", "multi\nline"));
    assert_eq!(pair.shown(Side::Bob), [("multi\nline".to_owned(), true)]);
    assert!(pair
        .wire
        .iter()
        .all(|(_, d)| !d.contains(['\r', '\n', '\0'])));
}

#[test]
fn a_query_in_a_channel_never_starts_a_key_exchange() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    for text in [
        "?OTRv23?",
        "?OTRv3? let's talk",
        "hi \t  \t\t\t\t \t \t \t    \t\t  \t\t",
    ] {
        let events = pair.bob.receive_from_channel("alice", text);
        assert!(
            events.iter().all(|e| !matches!(e, Event::Wire { .. })),
            "{text:?}: {events:?}"
        );
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Message {
                encrypted: false,
                ..
            }
        )));
    }
    assert_eq!(pair.bob.state("alice"), ConversationState::Plaintext);
    // An OTR message in a channel is reported, never processed.
    let commit = pair.hold(Side::Alice, |e| e.receive("bob", "?OTRv3?"));
    let events = pair.bob.receive_from_channel("alice", &commit[0].1);
    assert!(matches!(
        events.as_slice(),
        [Event::Notice {
            notice: Notice::OtrInChannel,
            ..
        }]
    ));
}
