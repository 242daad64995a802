//! Work and memory that others can make the engine spend are capped (security issue,
//! item 9): conversations per engine, fragments waiting for reassembly across all peers,
//! new instances of one peer starting key exchanges, fingerprints remembered per peer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otr::crypto::Fingerprint;
use otr::engine::{MAX_PEERS, MAX_TOTAL_REASSEMBLY_BYTES};
use otr::trust::MAX_UNVERIFIED_PER_PEER;
use otr::wire::encoded::{InstanceTag, MessageType};
use otr::{KnownFingerprints, Policy, Time};
use testkit::{alice_key, bob_key, decode_wire, encode_wire, engine, lines};

/// Any nick that sends one line gets a conversation: a crowd of nicks cannot make the
/// engine hold more than [`MAX_PEERS`], and a private conversation is never the one
/// forgotten to make room.
#[test]
fn a_crowd_of_nicks_cannot_grow_the_conversations_without_end() {
    let mut alice = engine(alice_key(), 0x100, Policy::MANUAL, 1);
    for i in 0..MAX_PEERS + 500 {
        let _ = alice.receive(&format!("nick{i}"), "hello");
    }
    assert!(alice.conversation_count() <= MAX_PEERS);
}

/// Nicks each sending the first half of a message as large as a fragment may be: the
/// fragments held for all of them together stay under the budget.
#[test]
fn fragments_of_many_peers_stay_under_one_budget() {
    let mut alice = engine(alice_key(), 0x100, Policy::MANUAL, 1);
    let piece = "A".repeat(250 * 1024);
    for i in 0..100u32 {
        let line = format!("?OTR|{:08x}|00000100,00001,00002,{piece},", 0x1000 + i);
        let _ = alice.receive(&format!("nick{i}"), &line);
        assert!(alice.pending_fragment_bytes() <= MAX_TOTAL_REASSEMBLY_BYTES);
    }
    assert!(alice.pending_fragment_bytes() > 0);
}

/// A D-H Commit copied under a hundred made-up sender instance tags: each new tag would
/// cost a D-H key generation. The first and eight new ones are answered, the rest dropped
/// until time passes.
#[test]
fn new_instances_starting_key_exchanges_are_rate_limited() {
    let mut alice = engine(alice_key(), 0x100, Policy::MANUAL, 1);
    let mut bob = engine(bob_key(), 0x200, Policy::MANUAL, 2);
    let _ = alice.tick(Time::from_secs(1000));
    let query = lines(&alice.start("bob").unwrap());
    let commit = lines(&bob.receive("alice", &query[0]));
    let mut answered = 0;
    for i in 0..100u32 {
        let mut m = decode_wire(&commit[0]);
        assert_eq!(m.message_type(), MessageType::DH_COMMIT);
        m.sender_instance = InstanceTag(0x1000 + i);
        answered += lines(&alice.receive("bob", &encode_wire(&m))).len();
    }
    // The first tag is the conversation's first instance; eight more are new instances.
    assert_eq!(answered, 9);
    // Ten seconds later, one more.
    let _ = alice.tick(Time::from_secs(1010));
    let mut m = decode_wire(&commit[0]);
    m.sender_instance = InstanceTag(0x5000);
    assert_eq!(lines(&alice.receive("bob", &encode_wire(&m))).len(), 1);
}

/// Every key exchange with a new key adds a fingerprint (saved by the client): a peer
/// presenting key after key keeps at most [`MAX_UNVERIFIED_PER_PEER`] unverified ones, and
/// a verified one is never pushed out.
#[test]
fn fingerprints_of_one_peer_are_capped_and_verified_ones_stay() {
    let mut known = KnownFingerprints::new();
    let verified = Fingerprint([0xff; 20]);
    known.set_trusted("bob", verified, true);
    for i in 0..1000u32 {
        let mut fp = [0u8; 20];
        fp[..4].copy_from_slice(&i.to_be_bytes());
        known.insert("bob", Fingerprint(fp));
    }
    assert_eq!(known.len(), MAX_UNVERIFIED_PER_PEER + 1);
    assert!(known.is_trusted("bob", &verified));
}
