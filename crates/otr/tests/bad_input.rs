//! Malformed, hostile and out-of-state input: each gets a typed error or is dropped as the
//! spec says, never a panic, and the session still works afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otr::wire::encoded::{DhKey, EncodedMessage, InstanceTag, MessageBody};
use otr::{AkeError, ConversationState, DataError, Event, Notice, Policy};
use testkit::{decode_wire, encode_wire, notices, unhex, Pair, Side, MODULUS_HEX};

/// What the receiver must do with a bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A [`Notice::Malformed`].
    Malformed,
    /// A [`Notice::Unreadable`] (and possibly an OTR error message on the wire).
    Unreadable,
    /// Nothing at all: silently dropped.
    Dropped,
}

type Make = Box<dyn Fn(&EncodedMessage, &[u8]) -> String>;

/// Runs one case: Alice writes a genuine message, Bob receives the bad input made from it,
/// then the genuine one (which must still decrypt: nothing was consumed or rotated), and the
/// session still works both ways.
fn run_case(pair: &mut Pair, name: &str, make: &Make, expect: Expect) {
    let genuine = pair.hold(Side::Alice, |e| e.send("bob", "genuine"));
    let valid = decode_wire(&genuine[0].1);
    let bytes = {
        use otr::wire::codec::Codec;
        valid.to_bytes()
    };
    let events = pair.bob.receive("alice", &make(&valid, &bytes));
    let notices = notices(&events);
    assert!(
        !events.iter().any(|e| matches!(
            e,
            Event::Message {
                encrypted: true,
                ..
            }
        )),
        "{name}: produced an encrypted message"
    );
    match expect {
        Expect::Malformed => assert!(
            matches!(notices[..], [Notice::Malformed(_)]),
            "{name}: {events:?}"
        ),
        Expect::Unreadable => assert!(
            matches!(notices[..], [Notice::Unreadable(_)]),
            "{name}: {events:?}"
        ),
        Expect::Dropped => assert!(events.is_empty(), "{name}: {events:?}"),
    }
    let events = pair.bob.receive("alice", &genuine[0].1);
    assert!(
        events.iter().any(|e| matches!(e, Event::Message {
            peer, text, encrypted: true, origin: Some(_),
        } if peer == "alice" && text == "genuine")),
        "{name}: the genuine message no longer decrypts: {events:?}"
    );
    pair.clear_events();
    pair.act(Side::Alice, |e| e.send("bob", "still here?"));
    pair.act(Side::Bob, |e| e.send("alice", "yes"));
    assert_eq!(
        pair.shown(Side::Bob),
        [("still here?".to_owned(), true)],
        "{name}"
    );
    assert_eq!(
        pair.shown(Side::Alice),
        [("yes".to_owned(), true)],
        "{name}"
    );
    assert_eq!(
        pair.bob.state("alice"),
        ConversationState::Encrypted,
        "{name}"
    );
    pair.clear_events();
}

fn with_data(
    base: &EncodedMessage,
    f: impl FnOnce(&mut otr::wire::encoded::DataMessage),
) -> String {
    let mut m = base.clone();
    let MessageBody::Data(d) = &mut m.body else {
        panic!("not data")
    };
    f(d);
    encode_wire(&m)
}

fn armour(b: &[u8]) -> String {
    otr::wire::text::armour(b)
}

fn fixed(s: &'static str) -> Make {
    Box::new(move |_, _| s.to_owned())
}

fn data_case(f: impl Fn(&mut otr::wire::encoded::DataMessage) + 'static) -> Make {
    Box::new(move |m, _| with_data(m, &f))
}

#[test]
fn malformed_and_hostile_messages() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Alice);
    use Expect::{Dropped, Malformed, Unreadable};
    let mut table: Vec<(String, Make, Expect)> = vec![
        ("bad base64".into(), fixed("?OTR:@@@@."), Malformed),
        ("unterminated armour".into(), fixed("?OTR:AAMD"), Malformed),
        ("empty armour".into(), fixed("?OTR:."), Malformed),
        (
            "unknown version".into(),
            Box::new(|_, _| armour(&[0, 4, 3, 0, 0, 1, 0])),
            Malformed,
        ),
        (
            "version 1".into(),
            Box::new(|_, _| armour(&[0, 1, 3])),
            Malformed,
        ),
        (
            "unknown type".into(),
            Box::new(|_, b| armour(&[&b[..2], &[0x77], &b[3..11]].concat())),
            Malformed,
        ),
        (
            "trailing byte".into(),
            Box::new(|_, b| armour(&[b, &[0]].concat())),
            Malformed,
        ),
    ];
    for cut in [3usize, 7, 11, 12, 16, 20, 24, 100, 250, 21, 1] {
        let make: Make = Box::new(move |_, b: &[u8]| {
            armour(
                &b[..if cut < 30 && cut > 20 {
                    b.len() - cut
                } else if cut == 1 {
                    b.len() - 1
                } else {
                    cut
                }],
            )
        });
        table.push((format!("truncated ({cut})"), make, Malformed));
    }
    // Length fields of 0xFFFFFFFF: the next-D-H MPI (offset 20) and the ciphertext DATA.
    table.push((
        "MPI length 0xFFFFFFFF".into(),
        Box::new(|_, b| {
            let mut b = b.to_vec();
            b[20..24].copy_from_slice(&[0xff; 4]);
            armour(&b)
        }),
        Malformed,
    ));
    table.push((
        "DATA length 0xFFFFFFFF".into(),
        Box::new(|_, b| {
            let mut b = b.to_vec();
            let at = 24 + u32::from_be_bytes(b[20..24].try_into().unwrap()) as usize + 8;
            b[at..at + 4].copy_from_slice(&[0xff; 4]);
            armour(&b)
        }),
        Malformed,
    ));
    // Instance tags: another receiver or sender is dropped; reserved tags are malformed.
    table.push((
        "for another instance".into(),
        Box::new(|m, _| {
            let mut m = m.clone();
            m.receiver_instance = InstanceTag(0x3000_0003);
            encode_wire(&m)
        }),
        Dropped,
    ));
    table.push((
        "from another instance".into(),
        Box::new(|m, _| {
            let mut m = m.clone();
            m.sender_instance = InstanceTag(0x4000_0004);
            encode_wire(&m)
        }),
        Dropped,
    ));
    table.push((
        "reserved sender tag".into(),
        Box::new(|_, b| {
            let mut b = b.to_vec();
            b[3..7].copy_from_slice(&[0, 0, 0, 0x42]);
            armour(&b)
        }),
        Malformed,
    ));
    // Keys, counter and MAC.
    table.push((
        "unknown sender keyid".into(),
        data_case(|d| d.sender_keyid = 99),
        Unreadable,
    ));
    table.push((
        "unknown recipient keyid".into(),
        data_case(|d| d.recipient_keyid = 99),
        Unreadable,
    ));
    table.push((
        "keyid 0".into(),
        data_case(|d| d.sender_keyid = 0),
        Unreadable,
    ));
    table.push((
        "flipped MAC byte".into(),
        data_case(|d| d.mac[7] ^= 0x10),
        Unreadable,
    ));
    table.push((
        "flipped ciphertext bit".into(),
        data_case(|d| d.encrypted[0] ^= 1),
        Unreadable,
    ));
    table.push((
        "zero counter".into(),
        data_case(|d| d.ctr = [0; 8]),
        Unreadable,
    ));
    for (name, value) in dh_edge_values() {
        table.push((
            format!("next D-H = {name}"),
            data_case(move |d| d.next_dh = value.clone()),
            Unreadable,
        ));
    }
    table.push((
        "ignore-unreadable flag".into(),
        data_case(|d| {
            d.mac[0] ^= 1;
            d.flags.0 = 1;
        }),
        Dropped,
    ));
    // Out-of-state AKE messages are ignored.
    table.push((
        "stray D-H Key".into(),
        Box::new(|m, _| {
            let mut m = m.clone();
            m.body = MessageBody::DhKey(DhKey { gy: vec![5; 192] });
            encode_wire(&m)
        }),
        Dropped,
    ));

    for (name, make, expect) in &table {
        run_case(&mut pair, name, make, *expect);
    }

    // Replays and stale messages.
    let genuine = pair.hold(Side::Alice, |e| e.send("bob", "once"));
    pair.relay(genuine.clone());
    assert_eq!(pair.shown(Side::Bob), [("once".to_owned(), true)]);
    pair.clear_events();
    let replay = pair.bob.receive("alice", &genuine[0].1);
    assert!(
        replay.iter().any(|e| matches!(
            e,
            Event::Notice {
                notice: Notice::Unreadable(DataError::Replay),
                ..
            }
        )),
        "{replay:?}"
    );
    for _ in 0..3 {
        pair.act(Side::Alice, |e| e.send("bob", "rotate"));
        pair.act(Side::Bob, |e| e.send("alice", "rotate"));
    }
    let stale = pair.bob.receive("alice", &genuine[0].1);
    assert!(
        stale.iter().any(|e| matches!(
            e,
            Event::Notice {
                notice: Notice::Unreadable(_),
                ..
            }
        )),
        "{stale:?}"
    );
    assert!(!stale.iter().any(|e| matches!(e, Event::Message { .. })));
}

fn dh_edge_values() -> Vec<(&'static str, Vec<u8>)> {
    let p = unhex(MODULUS_HEX);
    let mut p_minus_1 = p.clone();
    *p_minus_1.last_mut().unwrap() -= 1;
    vec![
        ("0", vec![]),
        ("1", vec![1]),
        ("p-1", p_minus_1),
        ("p", p),
        ("all ones", vec![0xff; 192]),
        ("2^1536", [vec![1], vec![0; 192]].concat()),
    ]
}

#[test]
fn bad_dh_values_in_the_key_exchange() {
    for (name, value) in dh_edge_values() {
        let mut pair = Pair::engines(Policy::MANUAL);
        // Bob initiates; a forged D-H Key with a bad g^y is rejected and Bob keeps waiting.
        let commit = pair.hold(Side::Bob, |e| e.receive("alice", "?OTRv3?"));
        let real_key = pair.hold(Side::Alice, |e| e.receive("bob", &commit[0].1));
        let mut forged = decode_wire(&real_key[0].1);
        forged.body = MessageBody::DhKey(DhKey { gy: value });
        let events = pair.bob.receive("alice", &encode_wire(&forged));
        assert!(
            events.iter().all(|e| matches!(
                e,
                Event::Notice {
                    notice: Notice::AuthFailed(AkeError::BadDhValue),
                    ..
                }
            )) && !events.is_empty(),
            "g^y = {name}: {events:?}"
        );
        pair.relay(real_key);
        assert_eq!(
            pair.bob.state("alice"),
            ConversationState::Encrypted,
            "g^y = {name}"
        );
        assert_eq!(
            pair.alice.state("bob"),
            ConversationState::Encrypted,
            "g^y = {name}"
        );
    }
}

#[test]
fn garbage_never_panics() {
    let mut pair = Pair::engines(Policy::OPPORTUNISTIC);
    pair.connect(Side::Alice);
    let inputs = [
        "",
        "?",
        "?OTR",
        "?OTR:",
        "?OTR|",
        "?OTR,",
        "?OTR,0,0,",
        "?OTR|1|2,3,2,x,",
        "?OTRv",
        "?OTRv?",
        "?OTR?v?",
        "?OTR Error:",
        "?OTR:AAMC.",
        "?OTR:AAIK.",
        "?OTR:AAMR.",
        "?OTR:AAMS.",
        "?OTR:AAMDAAABAAAAAQA=.",
        "\u{20}\t\u{20}\u{20}\t\t\t\t\u{20}\t\u{20}\t\u{20}\t\u{20}\u{20}",
        "?OTR:////////////.",
    ];
    for input in inputs {
        let _ = pair.bob.receive("alice", input);
        let _ = pair.alice.receive("bob", input);
    }
    pair.clear_events();
    pair.act(Side::Alice, |e| e.send("bob", "fine"));
    assert_eq!(pair.shown(Side::Bob), [("fine".to_owned(), true)]);
}

/// Regression (found by the `engine_receive` fuzz target): an unauthenticated D-H Commit
/// from another instance must not cut the established session off from its own instance.
#[test]
fn commit_from_another_instance_does_not_hijack_the_session() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Alice);
    let commit = pair.hold(Side::Bob, |e| e.receive("alice", "?OTRv3?"));
    let mut stranger = decode_wire(&commit[0].1);
    stranger.sender_instance = InstanceTag(0x7777_7777);
    stranger.receiver_instance = InstanceTag(0);
    let _ = pair.alice.receive("bob", &encode_wire(&stranger));
    pair.clear_events();
    pair.act(Side::Bob, |e| e.send("alice", "still mine"));
    assert_eq!(pair.shown(Side::Alice), [("still mine".to_owned(), true)]);
}
