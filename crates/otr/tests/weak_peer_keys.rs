//! A peer that authenticates with a degenerate DSA key (tests/vectors/crypto/weak_dsa_keys.txt)
//! and a signature that DSA's verification equation accepts under it: the key exchange must
//! fail with `AuthFailed`, naming the key, and no private session may start.
//!
//! Mallory runs the initiator's side of the AKE by hand (D-H Commit, then Reveal Signature)
//! against our engine, as Alice. The same code with a valid key completes the exchange (the
//! control), so a failure can only come from the key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod weak;

use num_bigint::BigUint;
use otr::crypto::sym::{aes128_ctr, hmac_sha256, hmac_sha256_160, sha256};
use otr::crypto::{DhKeyPair, DhPublicKey};
use otr::wire::codec::{put_data, put_mpi, put_u16, put_u32};
use otr::wire::encoded::{
    DhCommit, EncodedMessage, InstanceTag, MessageBody, ProtocolVersion, RevealSignature,
};
use otr::wire::pubkey::read_pubkey;
use otr::wire::{InvalidMessage, Reader};
use otr::{AkeError, ConversationState, Event, Notice, Policy};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use testkit::{alice_key, decode_wire, encode_wire, engine};
use weak::{forge, mpi, old_verify, weak_keys};

const ALICE_TAG: u32 = 0x1000_0001;
const MALLORY_TAG: u32 = 0x3000_0003;

/// PUBKEY: type 0, then MPI p, q, g, y.
fn pubkey_bytes(key: &[BigUint; 5]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u16(&mut out, 0);
    for v in &key[..4] {
        out.extend_from_slice(&mpi(v));
    }
    out
}

fn v3(to: u32, body: MessageBody) -> String {
    encode_wire(&EncodedMessage::new(
        ProtocolVersion::V3,
        InstanceTag(MALLORY_TAG),
        InstanceTag(to),
        body,
    ))
}

/// Mallory starts an AKE with Alice and authenticates with `key` (with a forged signature,
/// or 40 bytes of garbage); returns what Alice reported on the Reveal Signature and her
/// state afterwards.
fn mallory_authenticates_with(key: &[BigUint; 5], seed: u64) -> (Vec<Event>, ConversationState) {
    mallory_signs_with(key, seed, true)
}

fn mallory_signs_with(
    key: &[BigUint; 5],
    seed: u64,
    forged: bool,
) -> (Vec<Event>, ConversationState) {
    // (Different seeds: the same one would give Mallory Alice's own D-H value.)
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6d61_6c6c_6f72_7900);
    let mut alice = engine(alice_key(), ALICE_TAG, Policy::MANUAL, seed);
    // D-H Commit: AES_r(MPI(g^x)) and SHA-256(MPI(g^x)).
    let ours = DhKeyPair::generate(&mut rng);
    let mut gx_mpi = Vec::new();
    put_mpi(&mut gx_mpi, ours.public().as_bytes());
    let mut r = [0u8; 16];
    rng.fill_bytes(&mut r);
    let mut encrypted_gx = gx_mpi.clone();
    aes128_ctr(&r, &[0; 8], &mut encrypted_gx);
    let commit = MessageBody::DhCommit(DhCommit {
        encrypted_gx,
        hashed_gx: sha256(&[&gx_mpi]).to_vec(),
    });
    let replies = alice.receive("mallory", &v3(0, commit));
    let dh_key = replies
        .iter()
        .find_map(|e| match e {
            Event::Wire { data, .. } => Some(decode_wire(data)),
            _ => None,
        })
        .expect("Alice answers the commit with a D-H Key");
    let MessageBody::DhKey(dh_key) = dh_key.body else {
        panic!("not a D-H Key: {dh_key:?}");
    };
    // The keys of the exchange (Protocol-v3.html, "Authenticated Key Exchange").
    let theirs = DhPublicKey::from_bytes(&dh_key.gy).unwrap();
    let secbytes = ours.shared_secret(&theirs).secbytes();
    let h2 = |b: u8| sha256(&[&[b], &secbytes]);
    let c: [u8; 16] = h2(0x01)[..16].try_into().unwrap();
    let (m1, m2) = (h2(0x02), h2(0x03));
    // X_B = pub_B, keyid_B, sig_B(M_B), M_B = MAC_m1(g^x, g^y, pub_B, keyid_B).
    let mut pub_and_id = pubkey_bytes(key);
    put_u32(&mut pub_and_id, 1);
    let mut gy_mpi = Vec::new();
    put_mpi(&mut gy_mpi, &dh_key.gy);
    let mac_b = hmac_sha256(&m1, &[&gx_mpi, &gy_mpi, &pub_and_id]);
    let mut x_b = pub_and_id;
    if forged {
        x_b.extend_from_slice(&forge(key, &mac_b, &mut rng));
    } else {
        x_b.extend_from_slice(&[0x33; 40]);
    }
    aes128_ctr(&c, &[0; 8], &mut x_b);
    let mut data = Vec::new();
    put_data(&mut data, &x_b);
    let reveal = MessageBody::RevealSignature(RevealSignature {
        revealed_key: r.to_vec(),
        encrypted_signature: x_b,
        mac: hmac_sha256_160(&m2, &[&data]),
    });
    let events = alice.receive("mallory", &v3(ALICE_TAG, reveal));
    let state = alice.state("mallory");
    (events, state)
}

#[test]
fn the_forger_is_sound_on_a_valid_key() {
    let keys = weak_keys();
    let (_, _, valid) = keys.iter().find(|(n, _, _)| n == "valid").unwrap();
    let (events, state) = mallory_authenticates_with(valid, 1);
    assert_eq!(state, ConversationState::Encrypted, "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::Notice { .. })));
}

#[test]
fn a_degenerate_peer_key_fails_the_key_exchange() {
    let keys = weak_keys();
    assert_eq!(keys.len(), 7);
    for (i, (name, defect, key)) in keys.iter().enumerate() {
        if defect == "None" {
            continue;
        }
        // The forged signature passes DSA's verification equation under the key: only
        // validation can stop it.
        let probe = [i as u8; 32];
        let sig = forge(key, &probe, &mut ChaCha20Rng::seed_from_u64(99));
        let (r, s) = (
            BigUint::from_bytes_be(&sig[..20]),
            BigUint::from_bytes_be(&sig[20..]),
        );
        assert!(old_verify(key, &probe, &r, &s), "{name}");

        let (events, state) = mallory_authenticates_with(key, 100 + i as u64);
        assert_ne!(state, ConversationState::Encrypted, "{name}: {events:?}");
        let failed = events.iter().any(|e| {
            matches!(
                e,
                Event::Notice {
                    notice: Notice::AuthFailed(AkeError::WeakPublicKey(_)),
                    ..
                }
            )
        });
        assert!(failed, "{name}: {events:?}");
        assert!(
            !events.iter().any(|e| matches!(e, Event::Wire { .. })),
            "{name}: Alice must not answer with her Signature: {events:?}"
        );

        // The wire reader names the defect.
        let bytes = pubkey_bytes(key);
        match read_pubkey(&mut Reader::new(&bytes)) {
            Err(InvalidMessage::WeakPublicKey(d)) => assert_eq!(format!("{d:?}"), *defect),
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// Validation comes after the signature: with a key it cannot sign for, a peer learns
/// nothing from how long the validation takes (nor whether we validated that key before).
#[test]
fn a_key_without_a_valid_signature_fails_on_the_signature() {
    for (name, _, key) in weak_keys() {
        let (events, state) = mallory_signs_with(&key, 7, false);
        assert_ne!(state, ConversationState::Encrypted, "{name}");
        assert!(
            events.iter().any(|e| matches!(
                e,
                Event::Notice {
                    notice: Notice::AuthFailed(AkeError::BadSignature),
                    ..
                }
            )),
            "{name}: {events:?}"
        );
    }
}
