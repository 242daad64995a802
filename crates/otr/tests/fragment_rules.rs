//! Fragmentation (Protocol-v3.html, "Fragmentation"): our `fragment()` against libotr 4.1.1's
//! output byte for byte, round trips, the spec's receiving rules, and the reassembler's
//! memory bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use libotr_harness::{Event as LEvent, LibOtr, MsgState, POLICY_ALLOW_V2, POLICY_MANUAL};
use otr::fragment::{
    fragment, DiscardReason, FragmentError, FragmentOutcome, Reassembler, MAX_FRAGMENTS,
    MAX_INSTANCES, MAX_MESSAGE_BYTES,
};
use otr::wire::encoded::{InstanceTag, ProtocolVersion};
use otr::wire::text::{armour, classify, Fragment, IncomingText};
use proptest::prelude::*;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use testkit::{lines, Relay, Side};

const OURS: InstanceTag = InstanceTag(0x1234_5678);
const THEIRS: InstanceTag = InstanceTag(0x0abc_def0);

fn frag3(sender: u32, receiver: u32, k: u16, n: u16, piece: &str) -> Fragment {
    Fragment {
        instances: Some((InstanceTag(sender), InstanceTag(receiver))),
        index: k,
        total: n,
        piece: piece.into(),
    }
}

fn frag2(k: u16, n: u16, piece: &str) -> Fragment {
    Fragment {
        instances: None,
        index: k,
        total: n,
        piece: piece.into(),
    }
}

fn parse(s: &str) -> Fragment {
    match classify(s) {
        Ok(IncomingText::Fragment(f)) => f,
        other => panic!("{s:?} is not a fragment: {other:?}"),
    }
}

fn random_armour(len: usize, seed: u64) -> String {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    armour(&bytes)
}

/// Feeds every fragment string through classify and the reassembler; returns the outcome of
/// the last one and checks all earlier ones were Incomplete.
fn reassemble(fragments: &[String], ours: InstanceTag) -> FragmentOutcome {
    let mut r = Reassembler::new();
    let (last, init) = fragments.split_last().unwrap();
    for f in init {
        assert_eq!(r.accept(parse(f), ours), FragmentOutcome::Incomplete, "{f}");
    }
    let out = r.accept(parse(last), ours);
    assert_eq!(r.pending_bytes(), 0);
    out
}

// ---------------------------------------------------------------------------------------
// Sending: format

#[test]
fn exact_format_v3_and_v2() {
    let msg = "?OTR:AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHHIIIIJJJJ.";
    assert_eq!(msg.len(), 46);
    // v3: 36 bytes of header and trailing comma, and libotr reserves one more byte for its
    // NUL: pieces of 45 - 37 = 8 bytes
    let f = fragment(msg, 45, ProtocolVersion::V3, InstanceTag(0x100), THEIRS).unwrap();
    assert_eq!(
        f,
        vec![
            "?OTR|00000100|0abcdef0,00001,00006,?OTR:AAA,",
            "?OTR|00000100|0abcdef0,00002,00006,ABBBBCCC,",
            "?OTR|00000100|0abcdef0,00003,00006,CDDDDEEE,",
            "?OTR|00000100|0abcdef0,00004,00006,EFFFFGGG,",
            "?OTR|00000100|0abcdef0,00005,00006,GHHHHIII,",
            "?OTR|00000100|0abcdef0,00006,00006,IJJJJ.,",
        ]
    );
    assert!(f.iter().all(|s| s.len() <= 44));
    // v2: pieces of 27 - 19 = 8; the instance tags are not written
    let f = fragment(msg, 27, ProtocolVersion::V2, OURS, THEIRS).unwrap();
    assert_eq!(
        f,
        vec![
            "?OTR,00001,00006,?OTR:AAA,",
            "?OTR,00002,00006,ABBBBCCC,",
            "?OTR,00003,00006,CDDDDEEE,",
            "?OTR,00004,00006,EFFFFGGG,",
            "?OTR,00005,00006,GHHHHIII,",
            "?OTR,00006,00006,IJJJJ.,",
        ]
    );
    // the receiver tag is written as given, 0 included
    let f = fragment(
        msg,
        45,
        ProtocolVersion::V3,
        InstanceTag(u32::MAX),
        InstanceTag(0),
    )
    .unwrap();
    assert_eq!(f[0], "?OTR|ffffffff|00000000,00001,00006,?OTR:AAA,");
}

#[test]
fn short_messages_are_unchanged() {
    for (msg, max) in [
        ("?OTR:AAAA.", 10),
        ("?OTR:AAAA.", 0),
        ("x,y", 3),
        ("", 5),
        ("", 0),
    ] {
        for v in [ProtocolVersion::V2, ProtocolVersion::V3] {
            assert_eq!(fragment(msg, max, v, OURS, THEIRS).unwrap(), vec![msg]);
        }
    }
    // max 0 means no limit, however long the message
    let long = random_armour(100_000, 1);
    assert_eq!(
        fragment(&long, 0, ProtocolVersion::V3, OURS, THEIRS).unwrap(),
        vec![long.clone()]
    );
}

#[test]
fn fragment_errors() {
    let msg = random_armour(100, 2);
    assert_eq!(
        fragment(&msg, 37, ProtocolVersion::V3, OURS, THEIRS),
        Err(FragmentError::MaxSizeTooSmall {
            max_size: 37,
            minimum: 38
        })
    );
    assert_eq!(
        fragment(&msg, 38, ProtocolVersion::V3, OURS, THEIRS)
            .unwrap()
            .len(),
        msg.len()
    );
    assert_eq!(
        fragment(&msg, 19, ProtocolVersion::V2, OURS, THEIRS),
        Err(FragmentError::MaxSizeTooSmall {
            max_size: 19,
            minimum: 20
        })
    );
    assert_eq!(
        fragment(&msg, 20, ProtocolVersion::V2, OURS, THEIRS)
            .unwrap()
            .len(),
        msg.len()
    );
    for bad in [0, 1, 4, 0xffff] {
        assert_eq!(
            fragment(&msg, 50, ProtocolVersion(bad), OURS, THEIRS),
            Err(FragmentError::UnsupportedVersion(ProtocolVersion(bad)))
        );
    }
    assert_eq!(
        fragment(
            "?OTR|1|2,1,1,x,-and-more",
            20,
            ProtocolVersion::V2,
            OURS,
            THEIRS
        ),
        Err(FragmentError::ContainsComma)
    );
    // 65535 one-byte pieces is the most there can be
    let exact = "A".repeat(MAX_FRAGMENTS);
    let f = fragment(&exact, 20, ProtocolVersion::V2, OURS, THEIRS).unwrap();
    assert_eq!(f.len(), MAX_FRAGMENTS);
    assert_eq!(f.last().unwrap(), "?OTR,65535,65535,A,");
    let over = "A".repeat(MAX_FRAGMENTS + 1);
    assert_eq!(
        fragment(&over, 20, ProtocolVersion::V2, OURS, THEIRS),
        Err(FragmentError::TooManyFragments {
            needed: MAX_FRAGMENTS + 1
        })
    );
    // a 4-byte character cannot go into a 1..3-byte piece
    let wide = "😀".repeat(20);
    assert_eq!(
        fragment(&wide, 40, ProtocolVersion::V3, OURS, THEIRS),
        Err(FragmentError::CharacterTooWide)
    );
    assert!(fragment(&wide, 41, ProtocolVersion::V3, OURS, THEIRS).is_ok());
}

// ---------------------------------------------------------------------------------------
// Sending: round trips

#[test]
fn round_trip_many_sizes() {
    let mut checked = 0;
    for (seed, len) in [1usize, 2, 3, 10, 57, 100, 333, 1000, 4000]
        .iter()
        .enumerate()
    {
        let msg = random_armour(*len, seed as u64);
        for max in (20..=300).chain([400, 1000, 5000, 10_000]) {
            for (v, ours) in [
                (ProtocolVersion::V3, OURS),
                (ProtocolVersion::V3, InstanceTag::UNKNOWN),
                (ProtocolVersion::V2, OURS),
            ] {
                let Ok(frags) = fragment(&msg, max, v, THEIRS, ours) else {
                    assert!(v == ProtocolVersion::V3 && max < 38);
                    continue;
                };
                assert!(frags.iter().all(|f| f.len() <= max), "{max} {frags:?}");
                if msg.len() <= max {
                    assert_eq!(frags, vec![msg.clone()]);
                    continue;
                }
                let header = if v == ProtocolVersion::V3 { 37 } else { 19 };
                assert_eq!(frags.len(), msg.len().div_ceil(max - header));
                assert!(frags.iter().all(|f| f.len() < max));
                assert!(frags
                    .iter()
                    .all(|f| f.starts_with(if v == ProtocolVersion::V3 {
                        "?OTR|"
                    } else {
                        "?OTR,"
                    })));
                assert_eq!(
                    reassemble(&frags, OURS),
                    FragmentOutcome::Complete(msg.clone())
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 2500, "{checked}");
}

#[test]
fn round_trip_non_ascii_never_splits_a_character() {
    let msg = format!("?OTR:{}.", "aé€😀".repeat(50));
    for max in 41..200 {
        for v in [ProtocolVersion::V2, ProtocolVersion::V3] {
            let frags = fragment(&msg, max, v, THEIRS, OURS).unwrap();
            assert!(frags.iter().all(|f| f.len() <= max));
            assert_eq!(
                reassemble(&frags, OURS),
                FragmentOutcome::Complete(msg.clone())
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sending and receiving against libotr

/// Two libotr accounts fragmenting to `max` bytes (0: not at all), private with each other
/// (`a` started); returns them and every wire string each sent, in order (a's, b's).
fn private_libotr(
    (a, b): (&str, &str),
    policy: u32,
    max: usize,
) -> (LibOtr, LibOtr, Vec<String>, Vec<String>) {
    let mut pair = Relay::new(
        LibOtr::with_cached_key(a, policy).unwrap(),
        LibOtr::with_cached_key(b, policy).unwrap(),
    )
    .named(a, b);
    pair.alice.set_max_message_size(max);
    pair.bob.set_max_message_size(max);
    pair.connect(Side::Alice);
    let (sent_a, sent_b) = (pair.sent_by(Side::Alice), pair.sent_by(Side::Bob));
    (pair.alice, pair.bob, sent_a, sent_b)
}

/// Takes libotr's fragment strings of one message, reassembles them with our Reassembler
/// (receiving as `receiver`), checks the result decodes, and refragments it with our
/// `fragment()`: the result must be libotr's strings byte for byte.
fn check_against_libotr(lib_frags: &[String], max: usize, version: ProtocolVersion) {
    assert!(lib_frags.len() > 1, "{lib_frags:?}");
    assert!(lib_frags.iter().all(|f| f.len() <= max));
    let first = parse(&lib_frags[0]);
    let (sender, receiver) = first
        .instances
        .unwrap_or((InstanceTag(0x999), InstanceTag(0x998)));
    let whole = match reassemble(lib_frags, receiver) {
        FragmentOutcome::Complete(m) => m,
        other => panic!("{other:?}"),
    };
    assert!(whole.starts_with("?OTR:"), "{whole}");
    assert!(
        matches!(classify(&whole), Ok(IncomingText::Encoded(_))),
        "{whole}"
    );
    let ours = fragment(&whole, max, version, sender, receiver).unwrap();
    assert_eq!(ours, lib_frags);
}

/// Splits a sequence of wire strings into groups of fragments (k = 1 .. n).
fn fragment_groups(wires: &[String]) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    for w in wires {
        if let Ok(IncomingText::Fragment(f)) = classify(w) {
            if f.index == 1 {
                groups.push(Vec::new());
            }
            groups.last_mut().unwrap().push(w.clone());
        }
    }
    groups
}

#[test]
fn libotr_v3_fragments_match_ours_byte_for_byte() {
    let (mut a, mut b, _, _) = private_libotr(("alice@frag", "bob@frag"), POLICY_MANUAL, 0);
    assert_eq!(a.msgstate("bob@frag"), MsgState::Encrypted);
    assert_eq!(b.msgstate("alice@frag"), MsgState::Encrypted);

    for (max, len) in [
        (200, 3000),
        (200, 40),
        (201, 500),
        (150, 2000),
        (1000, 5000),
    ] {
        a.set_max_message_size(max);
        let text: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let out = a.send("bob@frag", &text);
        let frags = lines(&out);
        // libotr's instance tags are in the header: ours must be the same
        let f1 = parse(&frags[0]);
        assert_eq!(
            f1.instances,
            Some((InstanceTag(a.instance_tag()), InstanceTag(b.instance_tag())))
        );
        check_against_libotr(&frags, max, ProtocolVersion::V3);
        // and libotr still takes them
        let mut shown = Vec::new();
        for f in &frags {
            shown.extend(b.receive("alice@frag", f));
        }
        assert!(
            shown.iter().any(
                |e| matches!(e, LEvent::Message { text: t, encrypted: true, .. } if *t == text)
            ),
            "{shown:?}"
        );
    }
}

#[test]
fn libotr_v2_fragments_match_ours_byte_for_byte() {
    let (mut a, _b, _, _) = private_libotr(("alice@frag2", "bob@frag2"), POLICY_ALLOW_V2, 0);
    assert_eq!(a.msgstate("bob@frag2"), MsgState::Encrypted);
    a.set_max_message_size(200);
    let out = a.send("bob@frag2", &"v2 fragments ".repeat(100));
    let frags = lines(&out);
    assert!(frags[0].starts_with("?OTR,00001,"), "{frags:?}");
    check_against_libotr(&frags, 200, ProtocolVersion::V2);
}

#[test]
fn libotr_fragmented_data_messages_after_fragmented_ake() {
    // With a limit from the start, libotr fragments the AKE messages too (D-H Commit, Reveal
    // Signature, Signature; the D-H Commit with receiver instance 0). Every group must
    // reassemble with our Reassembler into an encoded message that our fragment() splits
    // back into libotr's exact strings.
    let (a, mut b, sent_a, sent_b) =
        private_libotr(("alice@frag3", "bob@frag3"), POLICY_MANUAL, 300);
    assert_eq!(a.msgstate("bob@frag3"), MsgState::Encrypted);
    let mut groups = 0;
    for wires in [&sent_a, &sent_b] {
        for group in fragment_groups(wires) {
            let first = parse(&group[0]);
            let receiver = first.instances.unwrap().1;
            let out = reassemble(&group, receiver);
            let FragmentOutcome::Complete(m) = out else {
                panic!("{out:?} {group:?}")
            };
            assert!(matches!(classify(&m), Ok(IncomingText::Encoded(_))));
            let (sender, receiver) = first.instances.unwrap();
            let ours = fragment(&m, 300, ProtocolVersion::V3, sender, receiver).unwrap();
            assert_eq!(ours, group);
            groups += 1;
        }
    }
    assert_eq!(groups, 3);
    let out = b.send("alice@frag3", &"pong ".repeat(300));
    let frags = lines(&out);
    check_against_libotr(&frags, 300, ProtocolVersion::V3);
}

// ---------------------------------------------------------------------------------------
// Receiving: the spec's rules

#[test]
fn in_order_completes() {
    let mut r = Reassembler::new();
    assert_eq!(
        r.accept(frag3(0x200, 0, 1, 3, "?OTR:"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(r.pending_bytes(), 5);
    assert_eq!(
        r.accept(frag3(0x200, 0, 2, 3, "AAAA"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x200, 0, 3, 3, "."), OURS),
        FragmentOutcome::Complete("?OTR:AAAA.".into())
    );
    assert_eq!(r.pending_bytes(), 0);
    assert_eq!(r.pending_messages(), 0);
    // n = 1 completes at once
    assert_eq!(
        r.accept(frag2(1, 1, "?OTR:AAAA."), OURS),
        FragmentOutcome::Complete("?OTR:AAAA.".into())
    );
}

#[test]
fn out_of_order_is_discarded_and_forgets() {
    let mut r = Reassembler::new();
    // nothing stored: k = 2 is out of sequence
    assert_eq!(
        r.accept(frag2(2, 3, "b"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    assert_eq!(
        r.accept(frag2(1, 3, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    // 3 before 2: forget everything
    assert_eq!(
        r.accept(frag2(3, 3, "c"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    assert_eq!(r.pending_bytes(), 0);
    // and 2 now has nothing to follow
    assert_eq!(
        r.accept(frag2(2, 3, "b"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    assert_eq!(
        r.accept(frag2(3, 3, "c"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
}

#[test]
fn duplicates() {
    let mut r = Reassembler::new();
    // a repeated k = 1 restarts (same result)
    assert_eq!(
        r.accept(frag2(1, 2, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(1, 2, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(r.pending_bytes(), 1);
    assert_eq!(
        r.accept(frag2(2, 2, "b"), OURS),
        FragmentOutcome::Complete("ab".into())
    );
    // a repeated middle fragment forgets the message
    assert_eq!(
        r.accept(frag2(1, 3, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(2, 3, "b"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(2, 3, "b"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    assert_eq!(
        r.accept(frag2(3, 3, "c"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    // a repeated last fragment after completion is out of sequence
    assert_eq!(
        r.accept(frag2(1, 2, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert!(matches!(
        r.accept(frag2(2, 2, "b"), OURS),
        FragmentOutcome::Complete(_)
    ));
    assert_eq!(
        r.accept(frag2(2, 2, "b"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
}

#[test]
fn illegal_values_are_discarded_without_touching_the_stored_message() {
    let mut r = Reassembler::new();
    assert_eq!(
        r.accept(frag3(0x200, 0, 1, 3, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    for f in [
        frag3(0x200, 0, 0, 3, "x"),
        frag3(0x200, 0, 2, 0, "x"),
        frag3(0x200, 0, 0, 0, "x"),
        frag3(0x200, 0, 4, 3, "x"),
        frag3(0x200, 0, 65535, 3, "x"),
        frag3(0x200, 0, 2, 3, ""),
        frag3(0x200, 0, 2, 3, "x,y"),
        frag2(0, 0, "x"),
        frag2(3, 2, "x"),
    ] {
        assert_eq!(
            r.accept(f.clone(), OURS),
            FragmentOutcome::Discarded(DiscardReason::Illegal),
            "{f:?}"
        );
        assert_eq!(r.pending_bytes(), 1);
    }
    assert_eq!(
        r.accept(frag3(0x200, 0, 2, 3, "b"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x200, 0, 3, 3, "c"), OURS),
        FragmentOutcome::Complete("abc".into())
    );
}

#[test]
fn n_change_midway_forgets() {
    let mut r = Reassembler::new();
    assert_eq!(
        r.accept(frag2(1, 3, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(2, 4, "b"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    assert_eq!(r.pending_bytes(), 0);
    assert_eq!(
        r.accept(frag2(3, 3, "c"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    assert_eq!(
        r.accept(frag2(3, 4, "c"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
}

#[test]
fn k1_restarts() {
    let mut r = Reassembler::new();
    assert_eq!(
        r.accept(frag2(1, 3, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(2, 3, "b"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(1, 2, "c"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(r.pending_bytes(), 1);
    assert_eq!(
        r.accept(frag2(2, 2, "d"), OURS),
        FragmentOutcome::Complete("cd".into())
    );
}

#[test]
fn clear_forgets_everything() {
    let mut r = Reassembler::new();
    assert_eq!(
        r.accept(frag2(1, 2, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x200, 0, 1, 2, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(r.pending_messages(), 2);
    r.clear();
    assert_eq!((r.pending_bytes(), r.pending_messages()), (0, 0));
    assert_eq!(
        r.accept(frag2(2, 2, "b"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
}

#[test]
fn instances() {
    let mut r = Reassembler::new();
    // for another instance: discarded, nothing stored or forgotten
    assert_eq!(
        r.accept(frag3(0x200, 0, 1, 2, "a"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x200, 0x9999, 2, 2, "b"), OURS),
        FragmentOutcome::Discarded(DiscardReason::ForOtherInstance)
    );
    assert_eq!(
        r.accept(frag3(0x200, 0x9999, 1, 1, "b"), OURS),
        FragmentOutcome::Discarded(DiscardReason::ForOtherInstance)
    );
    // when we have no tag yet, only receiver 0 is ours
    assert_eq!(
        r.accept(frag3(0x200, OURS.0, 1, 1, "b"), InstanceTag::UNKNOWN),
        FragmentOutcome::Discarded(DiscardReason::ForOtherInstance)
    );
    // invalid sender tags are malformed (as libotr)
    for bad in [0, 1, 0xff] {
        assert_eq!(
            r.accept(frag3(bad, 0, 1, 1, "b"), OURS),
            FragmentOutcome::Discarded(DiscardReason::BadSenderInstance)
        );
    }
    assert_eq!(r.pending_bytes(), 1);
    // addressed to us explicitly
    assert_eq!(
        r.accept(frag3(0x200, OURS.0, 2, 2, "b"), OURS),
        FragmentOutcome::Complete("ab".into())
    );
}

#[test]
fn interleaved_instances_and_versions() {
    let mut r = Reassembler::new();
    assert_eq!(
        r.accept(frag3(0x200, 0, 1, 2, "A1"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x300, 0, 1, 3, "B1"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(1, 2, "V1"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x300, 0, 2, 3, "B2"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x200, 0, 2, 2, "A2"), OURS),
        FragmentOutcome::Complete("A1A2".into())
    );
    assert_eq!(
        r.accept(frag2(2, 2, "V2"), OURS),
        FragmentOutcome::Complete("V1V2".into())
    );
    assert_eq!(
        r.accept(frag3(0x300, 0, 3, 3, "B3"), OURS),
        FragmentOutcome::Complete("B1B2B3".into())
    );
    // an out-of-sequence fragment from one instance leaves the others alone
    assert_eq!(
        r.accept(frag3(0x200, 0, 1, 2, "A1"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x300, 0, 1, 2, "B1"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(0x300, 0, 2, 5, "B2"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    assert_eq!(
        r.accept(frag3(0x200, 0, 2, 2, "A2"), OURS),
        FragmentOutcome::Complete("A1A2".into())
    );
}

#[test]
fn instance_cap_evicts_the_least_recently_updated() {
    let mut r = Reassembler::new();
    let senders: Vec<u32> = (0..=MAX_INSTANCES as u32).map(|i| 0x1000 + i).collect();
    for &s in &senders[..MAX_INSTANCES] {
        assert_eq!(
            r.accept(frag3(s, 0, 1, 3, "x"), OURS),
            FragmentOutcome::Incomplete
        );
    }
    // touching the first makes the second the oldest
    assert_eq!(
        r.accept(frag3(senders[0], 0, 2, 3, "y"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag3(senders[MAX_INSTANCES], 0, 1, 3, "x"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(r.pending_messages(), MAX_INSTANCES);
    assert_eq!(
        r.accept(frag3(senders[1], 0, 2, 3, "y"), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    assert_eq!(
        r.accept(frag3(senders[0], 0, 3, 3, "z"), OURS),
        FragmentOutcome::Complete("xyz".into())
    );
}

#[test]
fn oversized_message_is_discarded() {
    let mut r = Reassembler::new();
    let piece = "A".repeat(60_000);
    for k in 1..=4 {
        assert_eq!(
            r.accept(frag2(k, 10, &piece), OURS),
            FragmentOutcome::Incomplete
        );
    }
    assert_eq!(r.pending_bytes(), 240_000);
    assert_eq!(
        r.accept(frag2(5, 10, &piece), OURS),
        FragmentOutcome::Discarded(DiscardReason::TooLarge)
    );
    assert_eq!(r.pending_bytes(), 0);
    assert_eq!(
        r.accept(frag2(6, 10, &piece), OURS),
        FragmentOutcome::Discarded(DiscardReason::OutOfSequence)
    );
    // exactly the cap is fine
    let piece = "A".repeat(MAX_MESSAGE_BYTES / 2);
    assert_eq!(
        r.accept(frag2(1, 2, &piece), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(2, 2, &piece), OURS),
        FragmentOutcome::Complete("A".repeat(MAX_MESSAGE_BYTES))
    );
    // a single first piece over the cap
    let big = "A".repeat(MAX_MESSAGE_BYTES + 1);
    assert_eq!(
        r.accept(frag2(1, 2, &big), OURS),
        FragmentOutcome::Discarded(DiscardReason::TooLarge)
    );
    assert_eq!(r.pending_bytes(), 0);
}

#[test]
fn flood_stays_under_the_cap() {
    let mut r = Reassembler::new();
    let piece = "Q".repeat(100);
    let mut outcomes = [0usize; 3];
    for i in 0..100_000u32 {
        let k = (i % 65535) as u16 + 1;
        let out = r.accept(frag3(0x200, 0, k, 65535, &piece), OURS);
        outcomes[match out {
            FragmentOutcome::Incomplete => 0,
            FragmentOutcome::Discarded(_) => 1,
            _ => 2,
        }] += 1;
        assert!(r.pending_bytes() <= MAX_MESSAGE_BYTES);
    }
    assert_eq!(outcomes[2], 0);
    assert!(outcomes[1] > 0);
    // the same from many instances: bounded by instances x cap
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let piece = "Q".repeat(5000);
    for i in 0..20_000u32 {
        let sender = 0x100 + rng.next_u32() % 32;
        let k = (i / 32 % 65535) as u16 + 1;
        let _ = r.accept(frag3(sender, 0, k, 65535, &piece), OURS);
        let _ = r.accept(frag3(sender, 0, 1, 65535, &piece), OURS);
        assert!(r.pending_messages() <= MAX_INSTANCES);
        assert!(r.pending_bytes() <= MAX_INSTANCES * MAX_MESSAGE_BYTES);
    }
}

#[test]
fn completed_fragment_is_not_reassembled_again() {
    let mut r = Reassembler::new();
    assert_eq!(
        r.accept(frag2(1, 2, "?OTR"), OURS),
        FragmentOutcome::Incomplete
    );
    assert_eq!(
        r.accept(frag2(2, 2, "|100|0"), OURS),
        FragmentOutcome::Discarded(DiscardReason::NestedFragment)
    );
    assert_eq!(r.pending_bytes(), 0);
    assert_eq!(
        r.accept(frag3(0x100, 0, 1, 1, "x?OTR"), OURS),
        FragmentOutcome::Complete("x?OTR".into())
    );
}

// ---------------------------------------------------------------------------------------
// No panics on arbitrary input

fn arb_fragment() -> impl Strategy<Value = Fragment> {
    (
        prop::option::of((
            prop_oneof![Just(0u32), Just(0x100), Just(0x101), any::<u32>()],
            prop_oneof![Just(0u32), Just(OURS.0), any::<u32>()],
        )),
        prop_oneof![0u16..4, any::<u16>()],
        prop_oneof![0u16..4, any::<u16>()],
        prop_oneof![".{0,8}", "[A-Za-z0-9+/=?:.,|]{0,40}"],
    )
        .prop_map(|(inst, index, total, piece)| Fragment {
            instances: inst.map(|(s, r)| (InstanceTag(s), InstanceTag(r))),
            index,
            total,
            piece,
        })
}

proptest! {
    #[test]
    fn accept_never_panics(frags in prop::collection::vec(arb_fragment(), 0..200)) {
        let mut r = Reassembler::new();
        for f in frags {
            let before = r.pending_bytes();
            let piece_len = f.piece.len();
            let out = r.accept(f, OURS);
            if let FragmentOutcome::Complete(m) = &out {
                prop_assert!(m.len() <= MAX_MESSAGE_BYTES);
                prop_assert!(m.len() <= before + piece_len);
            }
            prop_assert!(r.pending_messages() <= MAX_INSTANCES);
            prop_assert!(r.pending_bytes() <= MAX_INSTANCES * MAX_MESSAGE_BYTES);
        }
    }

    #[test]
    fn classified_text_never_panics(texts in prop::collection::vec(
        prop_oneof![
            "\\?OTR\\|[0-9a-f]{1,9}\\|[0-9a-f]{1,9},[0-9]{1,6},[0-9]{1,6},[^,]{0,10},",
            "\\?OTR,[0-9]{1,6},[0-9]{1,6},[^,]{0,10},",
            ".{0,40}",
        ], 0..100)) {
        let mut r = Reassembler::new();
        for t in texts {
            match classify(&t) {
                Ok(IncomingText::Fragment(f)) => { let _ = r.accept(f, OURS); }
                _ => r.clear(),
            }
        }
    }

    #[test]
    fn fragment_round_trips(len in 0usize..3000, max in 0usize..600, v3 in any::<bool>(),
                            sender in any::<u32>(), receiver in any::<u32>(), seed in any::<u64>()) {
        let msg = random_armour(len, seed);
        let version = if v3 { ProtocolVersion::V3 } else { ProtocolVersion::V2 };
        let sender = InstanceTag(sender.max(0x100));
        match fragment(&msg, max, version, sender, InstanceTag(receiver)) {
            Ok(frags) => {
                if max != 0 {
                    prop_assert!(frags.iter().all(|f| f.len() <= max));
                }
                if frags.len() > 1 || frags[0] != msg {
                    prop_assert_eq!(reassemble(&frags, InstanceTag(receiver)), FragmentOutcome::Complete(msg));
                }
            }
            Err(FragmentError::MaxSizeTooSmall { minimum, .. }) => prop_assert!(max < minimum),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
