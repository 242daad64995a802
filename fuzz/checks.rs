//! The per-target checks, shared by the fuzz targets (`#[path = "../checks.rs"]`) and by
//! `crates/otr/tests/fuzz_corpus.rs`, which replays the committed corpus under `cargo test`.
//! Each check panics (assert) on a violated property; malformed input is fine.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use otr::wire::encoded::EncodedMessage;
use otr::wire::pubkey::{put_pubkey, put_signature, read_pubkey, read_signature};
use otr::wire::text::{armour, classify, IncomingText};
use otr::wire::tlv::{decode_plaintext, encode_plaintext};
use otr::wire::{Codec, Reader};

/// Bytes -> lossy string -> classify; armour is decoded as a message and round-tripped.
pub fn classify_text(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(IncomingText::Encoded(bytes)) = classify(&s) {
        encoded_message(&bytes);
        // our own armour of those bytes classifies back to them
        assert_eq!(classify(&armour(&bytes)), Ok(IncomingText::Encoded(bytes)));
    }
}

/// Raw bytes -> EncodedMessage::decode; whatever decodes re-encodes to the same bytes.
pub fn encoded_message(data: &[u8]) {
    if let Ok(m) = EncodedMessage::decode(data) {
        assert_eq!(m.to_bytes(), data, "encode(decode(b)) != b");
        assert_eq!(EncodedMessage::decode(&m.to_bytes()).as_ref(), Ok(&m));
        if let Some(mi) = m.data_mac_input() {
            assert!(data.starts_with(&mi), "data_mac_input is not a prefix");
        }
    }
}

/// decode_plaintext, then re-encode: exact when the input has a NUL, else input + NUL.
pub fn tlv_plaintext(data: &[u8]) {
    if let Ok(p) = decode_plaintext(data) {
        let enc = encode_plaintext(&p.text, &p.tlvs);
        if data.contains(&0) {
            assert_eq!(&enc[..], data);
        } else {
            assert_eq!(&enc[..data.len()], data);
            assert_eq!(enc.len(), data.len() + 1);
        }
        assert_eq!(decode_plaintext(&enc).as_ref(), Ok(&p));
    }
}

/// read_pubkey and read_signature on the same bytes; what reads re-reads from its encoding.
pub fn pubkey(data: &[u8]) {
    let mut r = Reader::new(data);
    if let Ok(key) = read_pubkey(&mut r) {
        let mut out = Vec::new();
        put_pubkey(&mut out, &key);
        let mut r2 = Reader::new(&out);
        assert_eq!(read_pubkey(&mut r2).as_ref(), Ok(&key));
        assert!(r2.is_empty());
        // the encoding is the input with leading zeros stripped from each MPI
        assert!(out.len() <= data.len() - r.rest().len());
    }
    let mut r = Reader::new(data);
    if let Ok(sig) = read_signature(&mut r) {
        let mut out = Vec::new();
        put_signature(&mut out, &sig);
        assert_eq!(&out[..], &data[..40]);
    }
}

/// The engine's receive path: an established session (Alice and Bob, built once per thread)
/// receives the input, as text (first byte even) or as the armour of the remaining bytes
/// (first byte odd). Nothing may panic, nothing unauthenticated may be shown as encrypted,
/// and the session must still carry a message afterwards.
pub fn engine_receive(data: &[u8]) {
    use otr::{ConversationState, Engine, EngineConfig, Event, Policy};
    use std::cell::RefCell;

    thread_local! {
        static PAIR: RefCell<Option<(Engine, Engine)>> = const { RefCell::new(None) };
    }
    fn new_pair() -> (Engine, Engine) {
        use rand_chacha::rand_core::SeedableRng;
        let engine = |seed: u64, tag: u32| {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let key = otr::crypto::DsaPrivateKey::generate(&mut rng);
            let config = EngineConfig {
                policy: Policy::OPPORTUNISTIC,
                instance_tag: otr::wire::encoded::InstanceTag(tag),
                line_based: true,
                hold_during_key_exchange: false,
            };
            Engine::new(key, config, Box::new(rng))
        };
        let (mut alice, mut bob) = (engine(1, 0x100), engine(2, 0x200));
        let mut to_bob = alice.start("bob").unwrap_or_default();
        while !to_bob.is_empty() {
            let mut to_alice = Vec::new();
            for e in to_bob.drain(..) {
                if let Event::Wire { data, .. } = e {
                    to_alice.extend(bob.receive("alice", &data));
                }
            }
            for e in to_alice {
                if let Event::Wire { data, .. } = e {
                    to_bob.extend(alice.receive("bob", &data));
                }
            }
        }
        assert_eq!(bob.state("alice"), ConversationState::Encrypted);
        (alice, bob)
    }

    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = if mode % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        armour(rest)
    };
    PAIR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (alice, bob) = slot.get_or_insert_with(new_pair);
        let events = bob.receive("alice", &input);
        assert!(
            !events.iter().any(|e| matches!(
                e,
                Event::Message {
                    encrypted: true,
                    ..
                }
            )),
            "unauthenticated input shown as encrypted"
        );
        for e in &events {
            if let Event::Wire { data, .. } = e {
                assert!(
                    !data.contains(['\r', '\n', '\0']),
                    "a wire line with CR, LF or NUL"
                );
            }
        }
        assert_eq!(bob.state("alice"), ConversationState::Encrypted);
        let ping = alice.send("bob", "ping");
        let Some(Event::Wire { data, .. }) = ping.first() else {
            panic!("alice sent nothing")
        };
        let got = bob.receive("alice", data);
        assert!(
            got.iter().any(|e| matches!(e, Event::Message {
                peer, text, encrypted: true, origin: Some(_),
            } if peer == "alice" && text == "ping")),
            "the session broke: {got:?}"
        );
    });
}

/// Fragment reassembly: the input, as lossy text, is split into lines; each line is
/// classified and fragments go to one Reassembler (anything else clears it, as the spec
/// says). Memory stays bounded, nothing completed is itself a fragment. Then the armour of
/// the input is fragmented (v2 or v3 by the first byte's parity, max size from the first
/// byte) and fed to the same Reassembler: every fragment fits, and the message comes back.
pub fn fragment_reassembly(data: &[u8]) {
    use otr::fragment::{fragment, FragmentOutcome, Reassembler, MAX_INSTANCES, MAX_MESSAGE_BYTES};
    use otr::wire::encoded::{InstanceTag, ProtocolVersion};

    let ours = InstanceTag(0x1234_5678);
    let mut r = Reassembler::new();
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n') {
        match classify(line) {
            Ok(IncomingText::Fragment(f)) => {
                if let FragmentOutcome::Complete(m) = r.accept(f, ours) {
                    assert!(m.len() <= MAX_MESSAGE_BYTES);
                    assert!(!m.contains("?OTR|") && !m.contains("?OTR,"));
                }
            }
            _ => r.clear(),
        }
        assert!(r.pending_messages() <= MAX_INSTANCES);
        assert!(r.pending_bytes() <= MAX_INSTANCES * MAX_MESSAGE_BYTES);
    }

    let Some(&first) = data.first() else {
        return;
    };
    let version = if first % 2 == 0 {
        ProtocolVersion::V2
    } else {
        ProtocolVersion::V3
    };
    let max = 20 + usize::from(first);
    let message = armour(data);
    let sender = InstanceTag(0x100);
    let frags = match fragment(&message, max, version, sender, ours) {
        Ok(f) => f,
        Err(otr::fragment::FragmentError::MaxSizeTooSmall { minimum, .. }) => {
            assert!(max < minimum);
            return;
        }
        Err(e) => panic!("fragment failed: {e}"),
    };
    if message.len() <= max {
        assert_eq!(frags, vec![message]);
        return;
    }
    assert!(frags.iter().all(|f| f.len() <= max));
    let n = frags.len();
    for (i, f) in frags.iter().enumerate() {
        let Ok(IncomingText::Fragment(parsed)) = classify(f) else {
            panic!("our fragment does not classify as one: {f}");
        };
        let out = r.accept(parsed, ours);
        if i + 1 < n {
            assert_eq!(out, FragmentOutcome::Incomplete);
        } else {
            assert_eq!(out, FragmentOutcome::Complete(message.clone()));
        }
    }
}

/// The SMP receive path: a TLV built from the input (raw, or an honest SMP message with the
/// input XORed in) delivered to an SMP state machine in each of its states. Nothing may
/// panic; a failed check aborts cleanly (one abort TLV, back to no SMP in progress); an
/// honest message is accepted and one with a modified SMP payload never is. See
/// `otr::smp::__fuzz_smp_receive`.
pub fn smp_receive(data: &[u8]) {
    otr::smp::__fuzz_smp_receive(data);
}
