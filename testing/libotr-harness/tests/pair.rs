//! Two libotr accounts talking to each other through the harness: proves
//! the harness itself works before the `otr` engine is paired with it.

// Test helpers outside #[test] functions may fail loudly.
#![allow(clippy::expect_used, clippy::panic)]

use libotr_harness::{Event, LibOtr, MsgState, POLICY_DEFAULT, POLICY_MANUAL, SMPEVENT_SUCCESS};

/// Everything that happened on both sides, in order.
#[derive(Default, Debug)]
struct Log {
    a: Vec<Event>,
    b: Vec<Event>,
}

/// Deliver every Wire event to the other side until nothing is in flight.
/// `first_from_a` are events a just produced; `first_from_b` b's.
fn relay(
    a: &mut LibOtr,
    b: &mut LibOtr,
    first_from_a: Vec<Event>,
    first_from_b: Vec<Event>,
) -> Log {
    let (an, bn) = (a.account().to_owned(), b.account().to_owned());
    let mut log = Log::default();
    let mut to_b: Vec<String> = Vec::new();
    let mut to_a: Vec<String> = Vec::new();
    let take = |evs: Vec<Event>, out: &mut Vec<String>, into: &mut Vec<Event>| {
        for ev in evs {
            if let Event::Wire { data, .. } = &ev {
                out.push(data.clone());
            }
            into.push(ev);
        }
    };
    take(first_from_a, &mut to_b, &mut log.a);
    take(first_from_b, &mut to_a, &mut log.b);
    let mut rounds = 0;
    while !to_a.is_empty() || !to_b.is_empty() {
        rounds += 1;
        assert!(rounds < 1000, "relay does not settle");
        for m in std::mem::take(&mut to_b) {
            let evs = b.receive(&an, &m);
            take(evs, &mut to_a, &mut log.b);
        }
        for m in std::mem::take(&mut to_a) {
            let evs = a.receive(&bn, &m);
            take(evs, &mut to_b, &mut log.a);
        }
    }
    log
}

fn pair(policy: u32) -> (LibOtr, LibOtr) {
    let a = LibOtr::with_cached_key("alice@test", policy).expect("alice");
    let b = LibOtr::with_cached_key("bob@test", policy).expect("bob");
    (a, b)
}

fn messages(evs: &[Event]) -> Vec<(String, bool)> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Message {
                text, encrypted, ..
            } => Some((text.clone(), *encrypted)),
            _ => None,
        })
        .collect()
}

fn handshake(a: &mut LibOtr, b: &mut LibOtr) -> Log {
    let bob = b.account().to_owned();
    let q = a.start(&bob);
    assert!(
        matches!(q.as_slice(), [Event::Wire { data, .. }] if data.starts_with("?OTRv")),
        "{q:?}"
    );
    relay(a, b, q, Vec::new())
}

#[test]
fn keys_fingerprints_and_instance_tags() {
    let (a, b) = pair(POLICY_DEFAULT);
    let fp = a.fingerprint();
    assert_eq!(fp.len(), 44, "{fp}");
    assert_eq!(fp.split(' ').count(), 5, "{fp}");
    assert_ne!(fp, b.fingerprint());
    assert!(a.instance_tag() >= 0x100, "{:#x}", a.instance_tag());
    assert_ne!(a.instance_tag(), b.instance_tag());
    // Same cached key again: same fingerprint, fresh instance tag.
    let a2 = LibOtr::with_cached_key("alice@test", POLICY_DEFAULT).expect("alice again");
    assert_eq!(a2.fingerprint(), fp);
    assert_eq!(a.msgstate("bob@test"), MsgState::Plaintext);
    assert_eq!(a.their_fingerprint("bob@test"), None);
}

#[test]
fn full_conversation() {
    let (mut a, mut b) = pair(POLICY_MANUAL);
    let (an, bn) = ("alice@test", "bob@test");

    let log = handshake(&mut a, &mut b);
    assert_eq!(a.msgstate(bn), MsgState::Encrypted, "{log:?}");
    assert_eq!(b.msgstate(an), MsgState::Encrypted, "{log:?}");
    assert!(
        log.a.contains(&Event::GoneSecure { peer: bn.into() }),
        "{log:?}"
    );
    assert!(
        log.b.contains(&Event::GoneSecure { peer: an.into() }),
        "{log:?}"
    );
    assert!(log.a.contains(&Event::NewFingerprint {
        peer: bn.into(),
        fingerprint: b.fingerprint()
    }));
    assert_eq!(a.their_fingerprint(bn), Some(b.fingerprint()));
    assert_eq!(b.their_fingerprint(an), Some(a.fingerprint()));
    assert!(messages(&log.a).is_empty() && messages(&log.b).is_empty());

    // 50 messages each way, interleaved.
    for i in 0..50 {
        let text = format!("message {i} from alice: héllo ✓");
        let out = a.send(bn, &text);
        let wires: Vec<_> = out
            .iter()
            .filter(|e| matches!(e, Event::Wire { .. }))
            .collect();
        assert_eq!(wires.len(), 1, "{out:?}");
        assert!(
            matches!(wires[0], Event::Wire { data, .. } if data.starts_with("?OTR:AAMD")),
            "{out:?}"
        );
        let log = relay(&mut a, &mut b, out, Vec::new());
        assert_eq!(messages(&log.b), vec![(text, true)], "{log:?}");

        let text = format!("reply {i} from bob");
        let out = b.send(an, &text);
        let log = relay(&mut a, &mut b, Vec::new(), out);
        assert_eq!(messages(&log.a), vec![(text, true)], "{log:?}");
    }

    // SMP with a question and a shared secret.
    let out = a.smp_start(bn, Some("colour?"), b"blue");
    let log = relay(&mut a, &mut b, out, Vec::new());
    assert!(
        log.b.iter().any(|e| matches!(e,
            Event::Smp { name, question: Some(q), .. } if name == "ASK_FOR_ANSWER" && q == "colour?")),
        "{log:?}"
    );
    let out = b.smp_respond(an, b"blue");
    let log = relay(&mut a, &mut b, Vec::new(), out);
    let success = |evs: &[Event]| {
        evs.iter().any(
            |e| matches!(e, Event::Smp { event, progress: 100, .. } if *event == SMPEVENT_SUCCESS),
        )
    };
    assert!(success(&log.a), "{log:?}");
    assert!(success(&log.b), "{log:?}");

    // Alice ends the conversation: bob is told and is FINISHED.
    let out = a.finish(bn);
    assert_eq!(a.msgstate(bn), MsgState::Plaintext);
    let log = relay(&mut a, &mut b, out, Vec::new());
    assert_eq!(b.msgstate(an), MsgState::Finished, "{log:?}");
    // Bob can no longer send: libotr swallows the message.
    let out = b.send(an, "anyone there?");
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
    let (mut a, mut b) = pair(POLICY_MANUAL);
    let (an, bn) = ("alice@test", "bob@test");
    handshake(&mut a, &mut b);
    let out = a.smp_start(bn, None, b"one");
    let log = relay(&mut a, &mut b, out, Vec::new());
    assert!(
        log.b
            .iter()
            .any(|e| matches!(e, Event::Smp { name, .. } if name == "ASK_FOR_SECRET")),
        "{log:?}"
    );
    let out = b.smp_respond(an, b"two");
    let log = relay(&mut a, &mut b, Vec::new(), out);
    let failed = |evs: &[Event]| {
        evs.iter()
            .any(|e| matches!(e, Event::Smp { name, .. } if name == "FAILURE"))
    };
    assert!(failed(&log.a) && failed(&log.b), "{log:?}");
}

#[test]
fn fragmentation_and_plaintext() {
    let (mut a, mut b) = pair(POLICY_MANUAL);
    let bn = "bob@test";

    // Plaintext before OTR: sent as is, shown unencrypted.
    let out = a.send(bn, "hi in the clear");
    assert_eq!(
        out,
        vec![Event::Wire {
            peer: bn.into(),
            data: "hi in the clear".into()
        }]
    );
    let log = relay(&mut a, &mut b, out, Vec::new());
    assert_eq!(messages(&log.b), vec![("hi in the clear".into(), false)]);

    a.set_max_message_size(120);
    b.set_max_message_size(120);
    let log = handshake(&mut a, &mut b);
    assert_eq!(a.msgstate(bn), MsgState::Encrypted, "{log:?}");
    let long = "x".repeat(1000);
    let out = a.send(bn, &long);
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
    let log = relay(&mut a, &mut b, out, Vec::new());
    assert_eq!(messages(&log.b), vec![(long, true)]);
}

#[test]
fn whitespace_tag_starts_ake_with_default_policy() {
    let (mut a, mut b) = pair(POLICY_DEFAULT);
    let (an, bn) = ("alice@test", "bob@test");
    let out = a.send(bn, "hello");
    assert!(
        matches!(out.as_slice(), [Event::Wire { data, .. }] if data.starts_with("hello \t  \t\t\t\t \t \t \t  ")),
        "{out:?}"
    );
    let log = relay(&mut a, &mut b, out, Vec::new());
    assert_eq!(messages(&log.b), vec![("hello".into(), false)], "{log:?}");
    assert_eq!(a.msgstate(bn), MsgState::Encrypted, "{log:?}");
    assert_eq!(b.msgstate(an), MsgState::Encrypted, "{log:?}");
}

#[test]
fn symkey_reaches_the_peer() {
    let (mut a, mut b) = pair(POLICY_MANUAL);
    let (an, bn) = ("alice@test", "bob@test");
    handshake(&mut a, &mut b);
    let (key, out) = a.symkey(bn, 7, b"file.txt").expect("symkey");
    let log = relay(&mut a, &mut b, out, Vec::new());
    assert!(
        log.b.contains(&Event::ReceivedSymkey {
            peer: an.into(),
            usage: 7,
            usedata: b"file.txt".to_vec(),
            key: key.to_vec()
        }),
        "{log:?}"
    );
}
