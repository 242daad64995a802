//! Time-driven behaviour and recovery: heartbeats, held messages that expire, the resend
//! of the last message after the peer lost its session (only to the same key), and the
//! limits that stop two confused instances from ping-ponging errors forever.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otr::wire::encoded::MessageBody;
use otr::{ConversationState, DataError, Event, HoldReason, NotSent, Notice, Policy, Time};
use testkit::{alice_key, bob_key, decode_wire, engine, key, notices, Pair, Side};

fn tick(pair: &mut Pair, now: f64) {
    let now = Time::from_secs_f64(now).unwrap();
    let a = pair.alice.tick(now);
    let b = pair.bob.tick(now);
    pair.events.alice.extend(a);
    pair.events.bob.extend(b);
}

#[test]
fn heartbeat_after_a_minute_of_silence() {
    let mut pair = Pair::engines(Policy::MANUAL);
    tick(&mut pair, 1_000.0);
    pair.connect(Side::Alice);
    pair.wire.clear();
    pair.act(Side::Alice, |e| e.send("bob", "first"));
    // Bob sent nothing, but the session is new: no heartbeat yet.
    assert_eq!(pair.wire.len(), 1);
    tick(&mut pair, 1_061.0);
    pair.act(Side::Alice, |e| e.send("bob", "a minute later"));
    assert_eq!(pair.wire.len(), 3, "{:?}", pair.wire);
    let (from, heartbeat) = &pair.wire[2];
    assert_eq!(*from, Side::Bob);
    let MessageBody::Data(d) = decode_wire(heartbeat).body else {
        panic!()
    };
    assert!(d.flags.ignore_unreadable());
    // The heartbeat shows nothing to Alice.
    assert_eq!(pair.shown(Side::Alice), []);
    // Within the minute, no second heartbeat.
    pair.act(Side::Alice, |e| e.send("bob", "again"));
    assert_eq!(pair.wire.len(), 4);
}

#[test]
fn no_timer_fires_before_the_first_tick() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Alice);
    pair.wire.clear();
    for _ in 0..3 {
        pair.act(Side::Alice, |e| e.send("bob", "hi"));
    }
    assert_eq!(pair.wire.len(), 3);
}

#[test]
fn held_messages_expire_and_are_reported() {
    let mut alice = engine(alice_key(), 0x100, Policy::ALWAYS, 1);
    let _ = alice.tick(Time::from_secs(100));
    let out = alice.send("bob", "held for a while");
    assert_eq!(
        notices(&out),
        [Notice::Held(HoldReason::EncryptionRequired)]
    );
    assert!(out
        .iter()
        .any(|e| matches!(e, Event::Wire { data, .. } if data.starts_with("?OTRv"))));
    assert!(alice.tick(Time::from_secs(150)).is_empty());
    let out = alice.tick(Time::from_secs(161));
    assert_eq!(
        notices(&out),
        [Notice::NotSent(NotSent::NoSession {
            text: "held for a while".into()
        })]
    );
    assert_eq!(out.len(), 1);
    // The exchange the query began was given up too, without a word (no text waited on it).
    assert_eq!(alice.status("bob").key_exchange, None);
    assert_eq!(alice.status("bob").held, 0);
    assert!(alice.tick(Time::from_secs(500)).is_empty());
}

#[test]
fn the_status_shows_a_key_exchange_until_it_completes() {
    let mut pair = Pair::engines(Policy::MANUAL);
    tick(&mut pair, 10.0);
    assert_eq!(pair.alice.status("bob").key_exchange, None);
    let query = pair.hold(Side::Alice, |e| e.start("bob").unwrap());
    let status = pair.alice.status("bob");
    assert_eq!(status.state, ConversationState::Plaintext);
    assert_eq!(
        status.key_exchange.and_then(|k| k.since),
        Some(Time::from_secs(10))
    );
    // Bob answers with a D-H Commit: his side of the exchange runs too.
    let commit = pair.hold(Side::Bob, |e| e.receive("alice", &query[0].1));
    assert!(pair.bob.status("alice").key_exchange.is_some());
    pair.relay(commit);
    for (engine, peer) in [(&pair.alice, "bob"), (&pair.bob, "alice")] {
        let status = engine.status(peer);
        assert_eq!(status.state, ConversationState::Encrypted);
        assert_eq!(status.key_exchange, None);
        assert_eq!(status.fingerprint, engine.peer_fingerprint(peer));
        assert!(!status.trusted);
    }
    // A refresh while private is no key exchange a user waits for.
    let _ = pair.hold(Side::Alice, |e| e.start("bob").unwrap());
    assert_eq!(pair.alice.status("bob").key_exchange, None);
}

#[test]
fn text_typed_during_a_key_exchange_is_held_when_asked_and_sent_once_private() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.alice.set_hold_during_key_exchange(true);
    let query = pair.hold(Side::Alice, |e| e.start("bob").unwrap());
    let out = pair.alice.send("bob", "typed early");
    assert_eq!(notices(&out), [Notice::Held(HoldReason::KeyExchange)]);
    assert!(!out.iter().any(|e| matches!(e, Event::Wire { .. })));
    assert_eq!(pair.alice.status("bob").held, 1);
    pair.relay(query);
    assert_eq!(pair.shown(Side::Bob), [("typed early".to_owned(), true)]);
    assert!(notices(&pair.events.alice).contains(&Notice::HeldSent { count: 1 }));
    assert_eq!(pair.alice.status("bob").held, 0);
    // Without the setting (libotr's behaviour) the same text goes out as the policy says:
    // in the clear.
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    let _query = pair.hold(Side::Alice, |e| e.start("bob").unwrap());
    let out = pair.alice.send("bob", "typed early");
    assert!(notices(&out).is_empty());
    assert!(out
        .iter()
        .any(|e| matches!(e, Event::Wire { data, .. } if data.starts_with("typed early"))));
}

#[test]
fn a_key_exchange_without_answer_is_given_up_with_what_was_held_for_it() {
    let mut alice = engine(alice_key(), 0x100, Policy::MANUAL, 9);
    alice.set_hold_during_key_exchange(true);
    assert!(alice.tick(Time::from_secs(100)).is_empty());
    let _query = alice.start("bob").unwrap();
    let _ = alice.send("bob", "one");
    assert!(alice.tick(Time::from_secs(130)).is_empty());
    let _ = alice.send("bob", "two");
    assert_eq!(alice.status("bob").held, 2);
    let out = alice.tick(Time::from_secs(160));
    assert_eq!(
        notices(&out),
        ["one", "two"].map(|t| Notice::NotSent(NotSent::NoSession { text: t.into() }))
    );
    let status = alice.status("bob");
    assert_eq!((status.key_exchange, status.held), (None, 0));
    // What is typed next goes out as the policy says (manual: in the clear).
    let out = alice.send("bob", "three");
    assert!(matches!(&out[..], [Event::Wire { data, .. }] if data == "three"));
    // Finishing gives up a running exchange and its held text alike.
    let _query = alice.start("bob").unwrap();
    let _ = alice.send("bob", "four");
    let out = alice.finish("bob");
    assert_eq!(
        notices(&out),
        [Notice::NotSent(NotSent::NoSession {
            text: "four".into()
        })]
    );
    assert_eq!(alice.status("bob").key_exchange, None);
}

#[test]
fn last_message_is_resent_after_the_peer_restarts() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    tick(&mut pair, 10.0);
    pair.connect(Side::Alice);
    pair.act(Side::Alice, |e| e.send("bob", "hello"));
    // Bob restarts: same key, no session. Alice's next message is unreadable for him.
    pair.bob = engine(bob_key(), 0x2000_0002, Policy::OPPORTUNISTIC, 77);
    let _ = pair.bob.tick(Time::from_secs(20));
    let _ = pair.alice.tick(Time::from_secs(20));
    pair.clear_events();
    pair.act(Side::Alice, |e| e.send("bob", "did you get this?"));
    assert_eq!(
        notices(&pair.events.bob),
        [Notice::Unreadable(DataError::NoSession)]
    );
    assert_eq!(pair.bob.state("alice"), ConversationState::Encrypted);
    assert_eq!(
        pair.shown(Side::Bob),
        [("[resent] did you get this?".to_owned(), true)]
    );
    assert!(notices(&pair.events.alice).contains(&Notice::Resent {
        text: "did you get this?".into()
    }));
}

#[test]
fn nothing_is_resent_to_a_different_key() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.connect(Side::Alice);
    pair.act(Side::Alice, |e| e.send("bob", "for Bob's eyes only"));
    // Mallory, with another key, claims Bob lost his session and answers with a new
    // key exchange.
    let mallory_key = key(66);
    pair.bob = engine(mallory_key, 0x2000_0002, Policy::OPPORTUNISTIC, 5);
    pair.clear_events();
    let q = pair.hold(Side::Bob, |e| {
        e.receive(
            "alice",
            "?OTR Error: You transmitted an unreadable encrypted message.",
        )
    });
    pair.relay(q);
    let q = pair.hold(Side::Alice, |e| {
        e.receive(
            "bob",
            "?OTR Error: You transmitted an unreadable encrypted message.",
        )
    });
    pair.relay(q);
    assert_eq!(pair.alice.state("bob"), ConversationState::Encrypted);
    assert_ne!(
        pair.alice.peer_fingerprint("bob"),
        Some(bob_key().public().fingerprint())
    );
    assert!(
        pair.shown(Side::Bob).is_empty(),
        "resent to another key: {:?}",
        pair.shown(Side::Bob)
    );
    assert!(
        notices(&pair.events.alice).contains(&Notice::NotSent(NotSent::OtherSession {
            text: "for Bob's eyes only".into()
        }))
    );
    assert!(pair.wire.iter().all(|(_, d)| !d.contains("Bob's eyes")));
}

#[test]
fn error_replies_are_rate_limited() {
    let mut bob = engine(bob_key(), 0x200, Policy::OPPORTUNISTIC, 3);
    // A stream of unreadable data messages (no session): at most a few error replies.
    let garbage = "?OTR:AAMDAAABAAAAAgAAAAAAAQAAAAEAAAABAgAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==.";
    let mut replies = 0;
    for _ in 0..50 {
        let out = bob.receive("alice", garbage);
        replies += out
            .iter()
            .filter(|e| matches!(e, Event::Wire { .. }))
            .count();
    }
    assert!(replies <= 3, "{replies} error replies");
    // Once time is known, one more after a pause.
    let _ = bob.tick(Time::from_secs(1_000));
    let _ = bob.tick(Time::from_secs(1_100));
    let out = bob.receive("alice", garbage);
    assert!(out.iter().any(|e| matches!(e, Event::Wire { .. })) || replies < 3);

    // Two engines answering each other's errors with queries: bounded.
    let mut alice = engine(alice_key(), 0x100, Policy::OPPORTUNISTIC, 4);
    let mut queries = 0;
    for _ in 0..20 {
        let out = alice.receive("bob", "?OTR Error: boom");
        queries += out
            .iter()
            .filter(|e| matches!(e, Event::Wire { .. }))
            .count();
    }
    assert!(queries <= 3, "{queries} queries");
}

#[test]
fn a_peer_error_names_the_messages_that_may_be_lost() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    tick(&mut pair, 10.0);
    pair.connect(Side::Alice);
    // Bob restarts; Alice's next two messages are unreadable for him.
    pair.bob = engine(bob_key(), 0x2000_0002, Policy::OPPORTUNISTIC, 78);
    let _ = pair.bob.tick(Time::from_secs(12));
    pair.clear_events();
    let mut queue = pair.hold(Side::Alice, |e| e.send("bob", "first lost"));
    queue.extend(pair.hold(Side::Alice, |e| e.send("bob", "second lost")));
    pair.relay(queue);
    let unread = notices(&pair.events.alice)
        .into_iter()
        .find_map(|n| match n {
            Notice::PeerError { unread, .. } => Some(unread),
            _ => None,
        })
        .unwrap();
    assert_eq!(unread, ["first lost", "second lost"]);
    // The last one is resent in the new session.
    assert!(pair
        .shown(Side::Bob)
        .contains(&("[resent] second lost".to_owned(), true)));
}
