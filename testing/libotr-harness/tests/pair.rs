//! Two libotr accounts talking to each other through the harness: proves
//! the harness itself works before the `otr` engine is paired with it.

// Test helpers outside #[test] functions may fail loudly.
#![allow(clippy::expect_used, clippy::panic)]

use libotr_harness::{Event, LibOtr, MsgState, POLICY_DEFAULT, POLICY_MANUAL, SMPEVENT_SUCCESS};
use testkit::{shown, Events, Relay, Side};

/// Alice and Bob, two libotr accounts, relayed by the test kit.
fn pair(policy: u32) -> Relay<LibOtr, LibOtr> {
    let a = LibOtr::with_cached_key("alice@test", policy).expect("alice");
    let b = LibOtr::with_cached_key("bob@test", policy).expect("bob");
    Relay::new(a, b).named("alice@test", "bob@test")
}

/// Alice starts: her query message, then the key exchange until quiet.
fn handshake(p: &mut Relay<LibOtr, LibOtr>) -> Events<Event, Event> {
    p.exchange(Side::Alice, |a| {
        let q = a.start("bob@test");
        assert!(
            matches!(q.as_slice(), [Event::Wire { data, .. }] if data.starts_with("?OTRv")),
            "{q:?}"
        );
        q
    })
}

#[test]
fn keys_fingerprints_and_instance_tags() {
    let p = pair(POLICY_DEFAULT);
    let fp = p.alice.fingerprint();
    assert_eq!(fp.len(), 44, "{fp}");
    assert_eq!(fp.split(' ').count(), 5, "{fp}");
    assert_ne!(fp, p.bob.fingerprint());
    assert!(
        p.alice.instance_tag() >= 0x100,
        "{:#x}",
        p.alice.instance_tag()
    );
    assert_ne!(p.alice.instance_tag(), p.bob.instance_tag());
    // Same cached key again: same fingerprint, fresh instance tag.
    let a2 = LibOtr::with_cached_key("alice@test", POLICY_DEFAULT).expect("alice again");
    assert_eq!(a2.fingerprint(), fp);
    assert_eq!(p.alice.msgstate("bob@test"), MsgState::Plaintext);
    assert_eq!(p.alice.their_fingerprint("bob@test"), None);
}

#[test]
fn full_conversation() {
    let mut p = pair(POLICY_MANUAL);
    let (an, bn) = ("alice@test", "bob@test");

    let log = handshake(&mut p);
    assert_eq!(p.alice.msgstate(bn), MsgState::Encrypted, "{log:?}");
    assert_eq!(p.bob.msgstate(an), MsgState::Encrypted, "{log:?}");
    assert!(
        log.alice.contains(&Event::GoneSecure { peer: bn.into() }),
        "{log:?}"
    );
    assert!(
        log.bob.contains(&Event::GoneSecure { peer: an.into() }),
        "{log:?}"
    );
    assert!(log.alice.contains(&Event::NewFingerprint {
        peer: bn.into(),
        fingerprint: p.bob.fingerprint()
    }));
    assert_eq!(p.alice.their_fingerprint(bn), Some(p.bob.fingerprint()));
    assert_eq!(p.bob.their_fingerprint(an), Some(p.alice.fingerprint()));
    assert!(shown(&log.alice).is_empty() && shown(&log.bob).is_empty());

    // 50 messages each way, interleaved.
    for i in 0..50 {
        let text = format!("message {i} from alice: héllo ✓");
        let out = p.alice.send(bn, &text);
        let wires: Vec<_> = out
            .iter()
            .filter(|e| matches!(e, Event::Wire { .. }))
            .collect();
        assert_eq!(wires.len(), 1, "{out:?}");
        assert!(
            matches!(wires[0], Event::Wire { data, .. } if data.starts_with("?OTR:AAMD")),
            "{out:?}"
        );
        let log = p.exchange(Side::Alice, |_| out);
        assert_eq!(shown(&log.bob), vec![(text, true)], "{log:?}");

        let text = format!("reply {i} from bob");
        let out = p.bob.send(an, &text);
        let log = p.exchange(Side::Bob, |_| out);
        assert_eq!(shown(&log.alice), vec![(text, true)], "{log:?}");
    }

    // SMP with a question and a shared secret.
    let out = p.alice.smp_start(bn, Some("colour?"), b"blue");
    let log = p.exchange(Side::Alice, |_| out);
    assert!(
        log.bob.iter().any(|e| matches!(e,
            Event::Smp { name, question: Some(q), .. } if name == "ASK_FOR_ANSWER" && q == "colour?")),
        "{log:?}"
    );
    let out = p.bob.smp_respond(an, b"blue");
    let log = p.exchange(Side::Bob, |_| out);
    let success = |evs: &[Event]| {
        evs.iter().any(
            |e| matches!(e, Event::Smp { event, progress: 100, .. } if *event == SMPEVENT_SUCCESS),
        )
    };
    assert!(success(&log.alice), "{log:?}");
    assert!(success(&log.bob), "{log:?}");

    // Alice ends the conversation: bob is told and is FINISHED.
    let out = p.alice.finish(bn);
    assert_eq!(p.alice.msgstate(bn), MsgState::Plaintext);
    let log = p.exchange(Side::Alice, |_| out);
    assert_eq!(p.bob.msgstate(an), MsgState::Finished, "{log:?}");
    // Bob can no longer send: libotr swallows the message.
    let out = p.bob.send(an, "anyone there?");
    assert!(
        out.iter()
            .any(|e| matches!(e, Event::MsgEvent { name, .. } if name == "CONNECTION_ENDED")),
        "{out:?}"
    );
    assert!(
        !out.iter().any(|e| matches!(e, Event::Wire { .. })),
        "{out:?}"
    );
}

#[test]
fn smp_with_wrong_secret_fails() {
    let mut p = pair(POLICY_MANUAL);
    let (an, bn) = ("alice@test", "bob@test");
    handshake(&mut p);
    let out = p.alice.smp_start(bn, None, b"one");
    let log = p.exchange(Side::Alice, |_| out);
    assert!(
        log.bob
            .iter()
            .any(|e| matches!(e, Event::Smp { name, .. } if name == "ASK_FOR_SECRET")),
        "{log:?}"
    );
    let out = p.bob.smp_respond(an, b"two");
    let log = p.exchange(Side::Bob, |_| out);
    let failed = |evs: &[Event]| {
        evs.iter()
            .any(|e| matches!(e, Event::Smp { name, .. } if name == "FAILURE"))
    };
    assert!(failed(&log.alice) && failed(&log.bob), "{log:?}");
}

#[test]
fn fragmentation_and_plaintext() {
    let mut p = pair(POLICY_MANUAL);
    let bn = "bob@test";

    // Plaintext before OTR: sent as is, shown unencrypted.
    let out = p.alice.send(bn, "hi in the clear");
    assert_eq!(
        out,
        vec![Event::Wire {
            peer: bn.into(),
            data: "hi in the clear".into()
        }]
    );
    let log = p.exchange(Side::Alice, |_| out);
    assert_eq!(shown(&log.bob), vec![("hi in the clear".into(), false)]);

    p.alice.set_max_message_size(120);
    p.bob.set_max_message_size(120);
    let log = handshake(&mut p);
    assert_eq!(p.alice.msgstate(bn), MsgState::Encrypted, "{log:?}");
    let long = "x".repeat(1000);
    let out = p.alice.send(bn, &long);
    let wires: Vec<&str> = out
        .iter()
        .filter_map(|e| match e {
            Event::Wire { data, .. } => Some(data.as_str()),
            _ => None,
        })
        .collect();
    assert!(wires.len() > 5, "{out:?}");
    assert!(wires
        .iter()
        .all(|w| w.starts_with("?OTR|") && w.len() <= 120));
    let log = p.exchange(Side::Alice, |_| out);
    assert_eq!(shown(&log.bob), vec![(long, true)]);
}

#[test]
fn whitespace_tag_starts_ake_with_default_policy() {
    let mut p = pair(POLICY_DEFAULT);
    let (an, bn) = ("alice@test", "bob@test");
    let out = p.alice.send(bn, "hello");
    assert!(
        matches!(out.as_slice(), [Event::Wire { data, .. }] if data.starts_with("hello \t  \t\t\t\t \t \t \t  ")),
        "{out:?}"
    );
    let log = p.exchange(Side::Alice, |_| out);
    assert_eq!(shown(&log.bob), vec![("hello".into(), false)], "{log:?}");
    assert_eq!(p.alice.msgstate(bn), MsgState::Encrypted, "{log:?}");
    assert_eq!(p.bob.msgstate(an), MsgState::Encrypted, "{log:?}");
}

#[test]
fn symkey_reaches_the_peer() {
    let mut p = pair(POLICY_MANUAL);
    let (an, bn) = ("alice@test", "bob@test");
    handshake(&mut p);
    let (key, out) = p.alice.symkey(bn, 7, b"file.txt").expect("symkey");
    let log = p.exchange(Side::Alice, |_| out);
    assert!(
        log.bob.contains(&Event::ReceivedSymkey {
            peer: an.into(),
            usage: 7,
            usedata: b"file.txt".to_vec(),
            key: key.to_vec()
        }),
        "{log:?}"
    );
}
