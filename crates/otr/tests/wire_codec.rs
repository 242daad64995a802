//! Round trips, properties and malformed inputs for the wire codec (`otr::wire`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otr::wire::codec::{put_data, put_mpi, put_u32};
use otr::wire::encoded::{
    limits, DataFlags, DataMessage, DhCommit, DhKey, EncodedMessage, InstanceTag, MessageBody,
    ProtocolVersion, RevealSignature, SignatureMessage,
};
use otr::wire::pubkey::{put_signature, read_pubkey, read_signature};
use otr::wire::text::{
    armour, classify, error_message, query_message, whitespace_tag, Fragment, IncomingText,
    Versions,
};
use otr::wire::tlv::{decode_plaintext, encode_plaintext, Tlv, TlvType};
use otr::wire::{Codec, InvalidMessage, Reader};
use proptest::prelude::*;
use testkit::unhex;

use otr::crypto::DsaSignature;

// ---------------------------------------------------------------------------------------
// Sample messages
// ---------------------------------------------------------------------------------------

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn mac(seed: u8) -> [u8; 20] {
    let mut m = [0u8; 20];
    for (i, b) in m.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
    m
}

fn bodies() -> Vec<MessageBody> {
    vec![
        MessageBody::DhCommit(DhCommit {
            encrypted_gx: bytes(196, 1),
            hashed_gx: bytes(32, 2),
        }),
        MessageBody::DhKey(DhKey { gy: bytes(192, 3) }),
        // a D-H Key whose MPI has a leading zero byte: kept as received
        MessageBody::DhKey(DhKey {
            gy: vec![0, 0, 1, 2, 3],
        }),
        MessageBody::RevealSignature(RevealSignature {
            revealed_key: bytes(16, 4),
            encrypted_signature: bytes(466, 5),
            mac: mac(6),
        }),
        MessageBody::Signature(SignatureMessage {
            encrypted_signature: bytes(466, 7),
            mac: mac(8),
        }),
        MessageBody::Data(DataMessage {
            flags: DataFlags(DataFlags::IGNORE_UNREADABLE),
            sender_keyid: 7,
            recipient_keyid: 0xdead_beef,
            next_dh: bytes(192, 9),
            ctr: [1, 2, 3, 4, 5, 6, 7, 8],
            encrypted: bytes(100, 10),
            mac: mac(11),
            old_mac_keys: bytes(40, 12),
        }),
        MessageBody::Data(DataMessage {
            flags: DataFlags(0),
            sender_keyid: 0,
            recipient_keyid: 0,
            next_dh: vec![],
            ctr: [0; 8],
            encrypted: vec![],
            mac: [0; 20],
            old_mac_keys: vec![],
        }),
    ]
}

fn samples() -> Vec<EncodedMessage> {
    let mut out = Vec::new();
    for body in bodies() {
        out.push(EncodedMessage::new(
            ProtocolVersion::V3,
            InstanceTag(0x1234_abcd),
            InstanceTag(0x100),
            body.clone(),
        ));
        out.push(EncodedMessage::new(
            ProtocolVersion::V3,
            InstanceTag(0xffff_ffff),
            InstanceTag::UNKNOWN,
            body.clone(),
        ));
        out.push(EncodedMessage::new(
            ProtocolVersion::V2,
            InstanceTag::UNKNOWN,
            InstanceTag::UNKNOWN,
            body,
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

#[test]
fn every_message_type_round_trips() {
    let mut seen = std::collections::HashSet::new();
    for msg in samples() {
        let b = msg.to_bytes();
        let back = EncodedMessage::decode(&b).unwrap();
        assert_eq!(back, msg);
        assert_eq!(back.to_bytes(), b);
        seen.insert(msg.message_type().0);
        // through the armour too
        match classify(&armour(&b)).unwrap() {
            IncomingText::Encoded(d) => assert_eq!(d, b),
            other => panic!("armour classified as {other:?}"),
        }
    }
    assert_eq!(seen.len(), 5);
}

#[test]
fn header_layout_is_as_specified() {
    let m = EncodedMessage::new(
        ProtocolVersion::V3,
        InstanceTag(0x0102_0304),
        InstanceTag(0x0506_0708),
        MessageBody::DhKey(DhKey { gy: vec![0xab] }),
    );
    assert_eq!(
        m.to_bytes(),
        [0, 3, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0xab]
    );
    let m2 = EncodedMessage::new(
        ProtocolVersion::V2,
        InstanceTag::UNKNOWN,
        InstanceTag::UNKNOWN,
        MessageBody::DhKey(DhKey { gy: vec![0xab] }),
    );
    assert_eq!(m2.to_bytes(), [0, 2, 0x0a, 0, 0, 0, 1, 0xab]);
}

#[test]
fn data_mac_input_is_prefix_up_to_ciphertext() {
    for msg in samples() {
        let full = msg.to_bytes();
        match &msg.body {
            MessageBody::Data(d) => {
                let mi = msg.data_mac_input().unwrap();
                assert!(full.starts_with(&mi));
                // what follows is exactly MAC || DATA(old mac keys)
                let mut tail = d.mac.to_vec();
                put_data(&mut tail, &d.old_mac_keys);
                assert_eq!(&full[mi.len()..], &tail[..]);
            }
            _ => assert!(msg.data_mac_input().is_none()),
        }
    }
}

#[test]
fn primitives() {
    let mut v = Vec::new();
    put_mpi(&mut v, &[0, 0, 1, 2]);
    assert_eq!(v, [0, 0, 0, 2, 1, 2]);
    v.clear();
    put_mpi(&mut v, &[0, 0]);
    assert_eq!(v, [0, 0, 0, 0]);
    v.clear();
    put_mpi(&mut v, &[]);
    assert_eq!(v, [0, 0, 0, 0]);
    v.clear();
    put_u32(&mut v, 0x0102_0304);
    put_data(&mut v, b"xy");
    assert_eq!(v, [1, 2, 3, 4, 0, 0, 0, 2, b'x', b'y']);

    let mut r = Reader::new(&v);
    assert_eq!(r.u16("a").unwrap(), 0x0102);
    assert_eq!(r.u8("b").unwrap(), 3);
    assert_eq!(r.finish(), Err(InvalidMessage::TrailingBytes));
    assert_eq!(r.u8("c").unwrap(), 4);
    assert_eq!(
        r.data(1, "d"),
        Err(InvalidMessage::TooLong {
            what: "d",
            len: 2,
            max: 1
        })
    );
    let mut r = Reader::new(&v[4..]);
    assert_eq!(r.data(2, "d").unwrap(), b"xy");
    assert!(r.is_empty());
    assert_eq!(r.finish(), Ok(()));
    assert_eq!(r.u8("e"), Err(InvalidMessage::Truncated("e")));
    assert_eq!(r.take(usize::MAX, "f"), Err(InvalidMessage::Truncated("f")));
    assert_eq!(r.array::<3>("g"), Err(InvalidMessage::Truncated("g")));
    let mut r = Reader::new(&[0, 0, 0, 3, 1]);
    assert_eq!(r.mpi(10, "m"), Err(InvalidMessage::Truncated("m")));
    let mut r = Reader::new(&[0, 0, 0, 2, 0, 1]);
    assert_eq!(r.mpi(10, "m").unwrap(), [0, 1]);
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

fn vec_upto(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

fn body_strategy() -> impl Strategy<Value = MessageBody> {
    prop_oneof![
        (vec_upto(limits::ENCRYPTED_GX), vec_upto(limits::HASHED_GX)).prop_map(|(e, h)| {
            MessageBody::DhCommit(DhCommit {
                encrypted_gx: e,
                hashed_gx: h,
            })
        }),
        vec_upto(limits::DH_MPI).prop_map(|gy| MessageBody::DhKey(DhKey { gy })),
        (
            vec_upto(limits::REVEALED_KEY),
            vec_upto(600),
            any::<[u8; 20]>()
        )
            .prop_map(|(k, e, m)| MessageBody::RevealSignature(RevealSignature {
                revealed_key: k,
                encrypted_signature: e,
                mac: m,
            })),
        (vec_upto(600), any::<[u8; 20]>()).prop_map(|(e, m)| {
            MessageBody::Signature(SignatureMessage {
                encrypted_signature: e,
                mac: m,
            })
        }),
        (
            any::<u8>(),
            any::<u32>(),
            any::<u32>(),
            vec_upto(limits::DH_MPI),
            any::<[u8; 8]>(),
            vec_upto(700),
            any::<[u8; 20]>(),
            vec_upto(100),
        )
            .prop_map(|(f, s, r, n, c, e, m, o)| {
                MessageBody::Data(DataMessage {
                    flags: DataFlags(f),
                    sender_keyid: s,
                    recipient_keyid: r,
                    next_dh: n,
                    ctr: c,
                    encrypted: e,
                    mac: m,
                    old_mac_keys: o,
                })
            }),
    ]
}

fn message_strategy() -> impl Strategy<Value = EncodedMessage> {
    let v3 = (
        0x100u32..,
        prop_oneof![Just(0u32), 0x100u32..],
        body_strategy(),
    )
        .prop_map(|(s, r, b)| {
            EncodedMessage::new(ProtocolVersion::V3, InstanceTag(s), InstanceTag(r), b)
        });
    let v2 = body_strategy()
        .prop_map(|b| EncodedMessage::new(ProtocolVersion::V2, InstanceTag(0), InstanceTag(0), b));
    prop_oneof![v3, v2]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// decode(encode(x)) == x for arbitrary field contents, and encode(decode(b)) == b for
    /// those encodings (raw MPIs with leading zeros included: every valid encoding is the
    /// encoding of some value of this strategy).
    #[test]
    fn prop_round_trip(msg in message_strategy()) {
        let b = msg.to_bytes();
        let back = EncodedMessage::decode(&b).unwrap();
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(back.to_bytes(), b.clone());
        if let Some(mi) = msg.data_mac_input() {
            prop_assert!(b.starts_with(&mi));
        }
    }

    /// A valid encoding with any byte changed, dropped or appended: decoding never panics,
    /// and whatever decodes re-encodes to the same bytes.
    #[test]
    fn prop_mutated_encodings(msg in message_strategy(), pos in any::<prop::sample::Index>(),
                              byte in any::<u8>(), op in 0u8..3) {
        let mut b = msg.to_bytes();
        let i = pos.index(b.len());
        match op {
            0 => b[i] = byte,
            1 => { b.remove(i); }
            _ => b.insert(i, byte),
        }
        if let Ok(m) = EncodedMessage::decode(&b) {
            prop_assert_eq!(m.to_bytes(), b);
        }
    }

    /// Arbitrary bytes never panic the decoder; anything that decodes re-encodes exactly.
    #[test]
    fn prop_arbitrary_bytes(b in vec_upto(300)) {
        if let Ok(m) = EncodedMessage::decode(&b) {
            prop_assert_eq!(m.to_bytes(), b);
        }
    }

    /// Arbitrary strings never panic `classify`; armour always round-trips.
    #[test]
    fn prop_classify_no_panic(s in ".{0,200}", b in vec_upto(200)) {
        let _ = classify(&s);
        prop_assert_eq!(classify(&armour(&b)), Ok(IncomingText::Encoded(b)));
    }

    #[test]
    fn prop_classify_otr_ish(s in "(\\?OTR[|,:v? ]?|[0-9a-f,|.]|[ \t]{8}| \t  \t\t\t\t \t \t \t  |x)*") {
        let _ = classify(&s);
    }

    #[test]
    fn prop_tlv_round_trip(text in prop::collection::vec(1u8.., 0..50),
                           tlvs in prop::collection::vec((any::<u16>(), vec_upto(300)), 0..5)) {
        let tlvs: Vec<Tlv> = tlvs.into_iter().map(|(k, v)| Tlv::new(TlvType(k), v)).collect();
        let enc = encode_plaintext(&text, &tlvs);
        let dec = decode_plaintext(&enc).unwrap();
        prop_assert_eq!(&dec.text, &text);
        prop_assert_eq!(&dec.tlvs, &tlvs);
        prop_assert_eq!(&encode_plaintext(&dec.text, &dec.tlvs)[..], &enc[..]);
    }

    #[test]
    fn prop_tlv_arbitrary(b in vec_upto(200)) {
        if let Ok(p) = decode_plaintext(&b) {
            let enc = encode_plaintext(&p.text, &p.tlvs);
            if b.contains(&0) {
                prop_assert_eq!(&enc[..], &b[..]);
            } else {
                prop_assert_eq!(&enc[..b.len()], &b[..]);
                prop_assert_eq!(enc.len(), b.len() + 1);
            }
        }
    }

    #[test]
    fn prop_fragment(sender in any::<u32>(), receiver in any::<u32>(), k in 1u16.., extra in 0u16..100,
                     piece in "[A-Za-z0-9+/=?:.]{1,40}") {
        let n = k.saturating_add(extra);
        let s = format!("?OTR|{sender:08x}|{receiver:08x},{k:05},{n:05},{piece},");
        let want = Fragment {
            instances: Some((InstanceTag(sender), InstanceTag(receiver))),
            index: k,
            total: n,
            piece: piece.clone(),
        };
        prop_assert_eq!(classify(&s), Ok(IncomingText::Fragment(want)));
        let s2 = format!("?OTR,{k},{n},{piece},");
        let want2 = Fragment { instances: None, index: k, total: n, piece };
        prop_assert_eq!(classify(&s2), Ok(IncomingText::Fragment(want2)));
    }
}

// ---------------------------------------------------------------------------------------
// Malformed encodings
// ---------------------------------------------------------------------------------------

#[test]
fn truncated_at_every_offset() {
    for msg in samples() {
        let b = msg.to_bytes();
        for cut in 0..b.len() {
            match EncodedMessage::decode(&b[..cut]) {
                Err(InvalidMessage::Truncated(_)) => {}
                other => panic!("{msg:?} cut at {cut}: {other:?}"),
            }
        }
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(
            EncodedMessage::decode(&longer),
            Err(InvalidMessage::TrailingBytes)
        );
    }
}

fn v3_header(kind: u8) -> Vec<u8> {
    let mut b = vec![0, 3, kind];
    put_u32(&mut b, 0x1234_abcd);
    put_u32(&mut b, 0);
    b
}

#[test]
fn malformed_table() {
    let too_long = |what, len: u64, max| InvalidMessage::TooLong { what, len, max };
    let mut cases: Vec<(&str, Vec<u8>, InvalidMessage)> = vec![
        (
            "empty",
            vec![],
            InvalidMessage::Truncated("protocol version"),
        ),
        (
            "one byte",
            vec![0],
            InvalidMessage::Truncated("protocol version"),
        ),
        (
            "version 1",
            vec![0, 1, 2],
            InvalidMessage::UnknownVersion(1),
        ),
        (
            "version 0",
            vec![0, 0, 2],
            InvalidMessage::UnknownVersion(0),
        ),
        (
            "version 4",
            vec![0, 4, 2],
            InvalidMessage::UnknownVersion(4),
        ),
        (
            "version ffff",
            vec![0xff, 0xff, 2],
            InvalidMessage::UnknownVersion(0xffff),
        ),
        (
            "no type",
            vec![0, 3],
            InvalidMessage::Truncated("message type"),
        ),
        (
            "type 0",
            vec![0, 3, 0],
            InvalidMessage::UnknownMessageType(0),
        ),
        (
            "type 0xff",
            vec![0, 2, 0xff],
            InvalidMessage::UnknownMessageType(0xff),
        ),
        (
            "v1 key exchange type",
            vec![0, 3, 0x01],
            InvalidMessage::UnknownMessageType(1),
        ),
        (
            "sender tag 0",
            vec![0, 3, 2, 0, 0, 0, 0, 0, 0, 0, 0],
            InvalidMessage::BadInstanceTag(0),
        ),
        (
            "sender tag 0xff",
            vec![0, 3, 2, 0, 0, 0, 0xff, 0, 0, 0, 0],
            InvalidMessage::BadInstanceTag(0xff),
        ),
        (
            "receiver tag 1",
            vec![0, 3, 2, 0, 0, 1, 0, 0, 0, 0, 1],
            InvalidMessage::BadInstanceTag(1),
        ),
        (
            "receiver tag 0xff",
            vec![0, 3, 2, 0, 0, 1, 0, 0, 0, 0, 0xff],
            InvalidMessage::BadInstanceTag(0xff),
        ),
        (
            "v3 header cut",
            vec![0, 3, 2, 0, 0, 1],
            InvalidMessage::Truncated("sender instance tag"),
        ),
    ];
    // length fields of 0xFFFFFFFF and just over the caps, in every length field
    let mut b = v3_header(0x02);
    b.extend_from_slice(&[0xff; 4]);
    cases.push((
        "commit gx ffffffff",
        b,
        too_long("encrypted g^x", 0xffff_ffff, limits::ENCRYPTED_GX),
    ));
    let mut b = v3_header(0x02);
    put_data(&mut b, &[1; 10]);
    put_u32(&mut b, limits::HASHED_GX as u32 + 1);
    cases.push((
        "commit hash over cap",
        b,
        too_long("hashed g^x", 65, limits::HASHED_GX),
    ));
    let mut b = v3_header(0x0a);
    b.extend_from_slice(&[0xff; 4]);
    cases.push((
        "dh key ffffffff",
        b,
        too_long("g^y", 0xffff_ffff, limits::DH_MPI),
    ));
    let mut b = v3_header(0x0a);
    put_u32(&mut b, 201);
    b.extend_from_slice(&[1; 201]);
    cases.push(("dh key 201 bytes", b, too_long("g^y", 201, limits::DH_MPI)));
    let mut b = v3_header(0x11);
    b.extend_from_slice(&[0xff; 4]);
    cases.push((
        "revealed key ffffffff",
        b,
        too_long("revealed key", 0xffff_ffff, limits::REVEALED_KEY),
    ));
    let mut b = v3_header(0x11);
    put_data(&mut b, &[1; 16]);
    b.extend_from_slice(&[0xff; 4]);
    cases.push((
        "revealsig encsig ffffffff",
        b,
        too_long(
            "encrypted signature",
            0xffff_ffff,
            limits::ENCRYPTED_SIGNATURE,
        ),
    ));
    let mut b = v3_header(0x12);
    b.extend_from_slice(&[0xff; 4]);
    cases.push((
        "sig encsig ffffffff",
        b,
        too_long(
            "encrypted signature",
            0xffff_ffff,
            limits::ENCRYPTED_SIGNATURE,
        ),
    ));
    let data_prefix = |b: &mut Vec<u8>| {
        b.push(0);
        put_u32(b, 1);
        put_u32(b, 2);
    };
    let mut b = v3_header(0x03);
    data_prefix(&mut b);
    b.extend_from_slice(&[0xff; 4]);
    cases.push((
        "data next dh ffffffff",
        b,
        too_long("next DH key", 0xffff_ffff, limits::DH_MPI),
    ));
    let mut b = v3_header(0x03);
    data_prefix(&mut b);
    put_data(&mut b, &[5; 192]);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&[0xff; 4]);
    cases.push((
        "data ciphertext ffffffff",
        b.clone(),
        too_long("encrypted message", 0xffff_ffff, limits::ENCRYPTED_DATA),
    ));
    let mut b2 = b[..b.len() - 4].to_vec();
    put_data(&mut b2, b"ct");
    b2.extend_from_slice(&[9; 20]);
    let mut b3 = b2.clone();
    b2.extend_from_slice(&[0xff; 4]);
    cases.push((
        "data old keys ffffffff",
        b2,
        too_long("old MAC keys", 0xffff_ffff, limits::OLD_MAC_KEYS),
    ));
    put_data(&mut b3, &[]);
    b3.push(0);
    cases.push(("data trailing byte", b3, InvalidMessage::TrailingBytes));

    for (name, input, want) in cases {
        assert_eq!(EncodedMessage::decode(&input), Err(want), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------

const V23: Versions = Versions {
    v1: false,
    v2: true,
    v3: true,
};
const ALL: Versions = Versions {
    v1: true,
    v2: true,
    v3: true,
};

/// The strings libotr 4.1.1 itself writes (otrl_proto_default_query_msg's version tag,
/// OTRL_MESSAGE_TAG_* in proto.h, the error prefix).
#[test]
fn libotr_literal_strings() {
    assert_eq!(query_message(V23), "?OTRv23?");
    assert_eq!(
        query_message(Versions {
            v3: true,
            ..Default::default()
        }),
        "?OTRv3?"
    );
    assert_eq!(
        query_message(Versions {
            v2: true,
            ..Default::default()
        }),
        "?OTRv2?"
    );
    assert_eq!(query_message(ALL), "?OTR?v23?");
    assert_eq!(
        query_message(Versions {
            v1: true,
            ..Default::default()
        }),
        "?OTR?"
    );
    assert_eq!(
        whitespace_tag(V23),
        " \t  \t\t\t\t \t \t \t    \t\t  \t   \t\t  \t\t"
    );
    assert_eq!(
        whitespace_tag(Versions {
            v3: true,
            ..Default::default()
        }),
        " \t  \t\t\t\t \t \t \t    \t\t  \t\t"
    );
    assert_eq!(
        whitespace_tag(ALL),
        " \t  \t\t\t\t \t \t \t   \t \t  \t   \t\t  \t   \t\t  \t\t"
    );
    assert_eq!(error_message("x"), "?OTR Error: x");
    assert_eq!(armour(&[0, 3, 2]), "?OTR:AAMC.");
    assert_eq!(armour(&[]), "?OTR:.");
}

fn q(v1: bool, v2: bool, v3: bool) -> Result<IncomingText, InvalidMessage> {
    Ok(IncomingText::Query(Versions { v1, v2, v3 }))
}

fn plain(text: &str, tag: Option<Versions>) -> Result<IncomingText, InvalidMessage> {
    Ok(IncomingText::Plain {
        text: text.to_owned(),
        tag,
    })
}

#[test]
fn classify_queries() {
    // libotr's full default query message
    let full = "?OTRv23?\n<b>alice</b> has requested an <a href=\"https://otr.cypherpunks.ca/\">\
                Off-the-Record private conversation</a>.  However, you do not have a plugin \
                to support that.\nSee <a href=\"https://otr.cypherpunks.ca/\">\
                https://otr.cypherpunks.ca/</a> for more information.";
    assert_eq!(classify(full), q(false, true, true));
    assert_eq!(classify("?OTR?"), q(true, false, false));
    assert_eq!(classify("?OTR?v2?"), q(true, true, false));
    assert_eq!(classify("?OTRv2?"), q(false, true, false));
    assert_eq!(classify("?OTRv3?"), q(false, false, true));
    assert_eq!(classify("?OTRv?"), q(false, false, false));
    assert_eq!(classify("?OTRv1?"), q(false, false, false));
    assert_eq!(classify("?OTRv124x3?"), q(false, true, true));
    assert_eq!(classify("?OTRv4?"), q(false, false, false));
    assert_eq!(classify("?OTRv2"), q(false, true, false));
    assert_eq!(classify("?OTRv2?3"), q(false, true, false));
    assert_eq!(classify("hi ?OTRv3? there"), q(false, false, true));
    assert_eq!(classify(&query_message(ALL)), q(true, true, true));
}

#[test]
fn classify_errors_and_plain() {
    assert_eq!(
        classify("?OTR Error: boom"),
        Ok(IncomingText::Error("boom".into()))
    );
    assert_eq!(
        classify("?OTR Error:boom"),
        Ok(IncomingText::Error("boom".into()))
    );
    assert_eq!(
        classify("?OTR Error:  two"),
        Ok(IncomingText::Error(" two".into()))
    );
    assert_eq!(
        classify(&error_message("x y")),
        Ok(IncomingText::Error("x y".into()))
    );
    assert_eq!(classify("hello"), plain("hello", None));
    assert_eq!(classify(""), plain("", None));
    // an unrecognised ?OTR message falls through to plain text (see classify's doc)
    assert_eq!(classify("?OTRx"), plain("?OTRx", None));
    assert_eq!(classify("?OTR"), plain("?OTR", None));
}

#[test]
fn classify_whitespace_tags() {
    let t = whitespace_tag(V23);
    assert_eq!(classify(&format!("hello{t}")), plain("hello", Some(V23)));
    assert_eq!(classify(&format!("a{t}b")), plain("ab", Some(V23)));
    let base = whitespace_tag(Versions::default());
    assert_eq!(
        classify(&format!("x{base}")),
        plain("x", Some(Versions::default()))
    );
    // an unknown group of 8 spaces/tabs is skipped (and removed), as libotr does
    let odd = format!("{base}\t\t\t\t\t\t\t\t  \t\t  \t\tend");
    assert_eq!(
        classify(&odd),
        plain(
            "end",
            Some(Versions {
                v3: true,
                ..Default::default()
            })
        )
    );
    // a partial group is left in place
    let partial = format!("{base}  \t\t");
    assert_eq!(
        classify(&partial),
        plain("  \t\t", Some(Versions::default()))
    );
    let v1 = format!("{base} \t \t  \t ");
    assert_eq!(
        classify(&v1),
        plain(
            "",
            Some(Versions {
                v1: true,
                ..Default::default()
            })
        )
    );
}

#[test]
fn classify_armour() {
    assert_eq!(
        classify("?OTR:AAMC."),
        Ok(IncomingText::Encoded(vec![0, 3, 2]))
    );
    assert_eq!(
        classify("pre ?OTR:AAMC.post"),
        Ok(IncomingText::Encoded(vec![0, 3, 2]))
    );
    assert_eq!(
        classify("?OTR:AAMCAA==."),
        Ok(IncomingText::Encoded(vec![0, 3, 2, 0]))
    );
    assert_eq!(classify("?OTR:AAMC"), Err(InvalidMessage::Unterminated));
    assert_eq!(classify("?OTR:AA!C."), Err(InvalidMessage::BadBase64));
    assert_eq!(classify("?OTR:AAMCA."), Err(InvalidMessage::BadBase64));
    // the first ?OTR decides: a query before armour is a query (libotr's order)
    assert_eq!(classify("?OTRv3? ?OTR:AAMC."), q(false, false, true));
}

#[test]
fn classify_fragments() {
    let f = |instances, index, total, piece: &str| {
        Ok(IncomingText::Fragment(Fragment {
            instances,
            index,
            total,
            piece: piece.into(),
        }))
    };
    let tags = Some((InstanceTag(0x1234_abcd), InstanceTag(0x100)));
    assert_eq!(
        classify("?OTR|1234abcd|00000100,00001,00005,?OTR:AAM,"),
        f(tags, 1, 5, "?OTR:AAM")
    );
    assert_eq!(
        classify("?OTR|1234ABCD|100,1,1,x,trailing"),
        f(tags, 1, 1, "x")
    );
    assert_eq!(classify("?OTR,00002,00004,abc,"), f(None, 2, 4, "abc"));
    assert_eq!(
        classify("?OTR,65535,65535,abc,"),
        f(None, 65535, 65535, "abc")
    );
    // a fragment wins over everything else in the string
    assert_eq!(classify("?OTRv3? ?OTR,1,2,abc,"), f(None, 1, 2, "abc"));

    let bad = [
        "?OTR,0,4,abc,",
        "?OTR,1,0,abc,",
        "?OTR,5,4,abc,",
        "?OTR,1,4,,",
        "?OTR,1,4,abc",
        "?OTR,65536,65536,abc,",
        "?OTR,1,65536,abc,",
        "?OTR,,4,abc,",
        "?OTR,a,4,abc,",
        "?OTR,-1,4,abc,",
        "?OTR,",
        "?OTR|1234abcd|100,0,1,x,",
        "?OTR|1234abcd|100,2,1,x,",
        "?OTR|1234abcd|100,1,1,,",
        "?OTR|1234abcd,1,1,x,",
        "?OTR||100,1,1,x,",
        "?OTR|12g4|100,1,1,x,",
        "?OTR|100000000|100,1,1,x,",
        "?OTR|",
    ];
    for s in bad {
        assert_eq!(classify(s), Err(InvalidMessage::BadFragment), "{s}");
    }
}

// ---------------------------------------------------------------------------------------
// TLVs
// ---------------------------------------------------------------------------------------

#[test]
fn tlv_encoding() {
    assert_eq!(&encode_plaintext(b"hi", &[])[..], b"hi\0");
    assert_eq!(&encode_plaintext(b"", &[])[..], b"\0");
    assert_eq!(&encode_plaintext(b"a\0b", &[])[..], b"a\0");
    let tlvs = [
        Tlv::new(TlvType::DISCONNECTED, vec![]),
        Tlv::new(TlvType::SMP1Q, vec![1, 2]),
    ];
    assert_eq!(
        &encode_plaintext(b"x", &tlvs)[..],
        &[b'x', 0, 0, 1, 0, 0, 0, 7, 0, 2, 1, 2][..]
    );
    let p = decode_plaintext(&[b'x', 0, 0, 1, 0, 0, 0, 7, 0, 2, 1, 2]).unwrap();
    assert_eq!(p.text, b"x");
    assert_eq!(p.tlvs, tlvs);
    // oversize values are cut to 65535 bytes
    let big = [Tlv::new(TlvType::PADDING, vec![7; 70_000])];
    let enc = encode_plaintext(b"", &big);
    assert_eq!(enc.len(), 1 + 4 + 65535);
    assert_eq!(decode_plaintext(&enc).unwrap().tlvs[0].value.len(), 65535);
}

#[test]
fn tlv_decoding() {
    let p = decode_plaintext(b"no nul").unwrap();
    assert_eq!((p.text.as_slice(), p.tlvs.len()), (&b"no nul"[..], 0));
    let p = decode_plaintext(b"text\0").unwrap();
    assert_eq!((p.text.as_slice(), p.tlvs.len()), (&b"text"[..], 0));
    let p = decode_plaintext(b"").unwrap();
    assert!(p.text.is_empty() && p.tlvs.is_empty());
    for bad in [
        &b"t\0\x00"[..],
        b"t\0\x00\x01",
        b"t\0\x00\x01\x00",
        b"t\0\x00\x01\x00\x02\x01",
        b"t\0\x00\x01\x00\x00\x00",
    ] {
        assert_eq!(
            decode_plaintext(bad),
            Err(InvalidMessage::BadTlv),
            "{bad:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// PUBKEY and SIG
// ---------------------------------------------------------------------------------------

#[test]
fn signature_encoding() {
    let sig = DsaSignature {
        r: mac(1),
        s: mac(100),
    };
    let mut b = Vec::new();
    put_signature(&mut b, &sig);
    assert_eq!(b.len(), 40);
    assert_eq!(&b[..20], &sig.r);
    let mut r = Reader::new(&b);
    assert_eq!(read_signature(&mut r).unwrap(), sig);
    assert!(r.is_empty());
    for cut in 0..40 {
        assert!(matches!(
            read_signature(&mut Reader::new(&b[..cut])),
            Err(InvalidMessage::Truncated(_))
        ));
    }
}

#[test]
fn pubkey_rejections_before_key_checks() {
    // wrong type
    assert_eq!(
        read_pubkey(&mut Reader::new(&[0, 1, 0, 0, 0, 0])).err(),
        Some(InvalidMessage::BadPublicKey)
    );
    assert!(matches!(
        read_pubkey(&mut Reader::new(&[0])),
        Err(InvalidMessage::Truncated(_))
    ));
    assert!(matches!(
        read_pubkey(&mut Reader::new(&[0, 0, 0, 0, 0, 2, 1])),
        Err(InvalidMessage::Truncated(_))
    ));
    assert!(matches!(
        read_pubkey(&mut Reader::new(&[0, 0, 0xff, 0xff, 0xff, 0xff])),
        Err(InvalidMessage::TooLong {
            len: 0xffff_ffff,
            ..
        })
    ));
}

/// A real 1024-bit DSA public key (a throwaway key libotr generated for the vectors in
/// tests/vectors/wire), as libotr writes PUBKEY.
pub const LIBOTR_PUBKEY_HEX: &str = concat!(
    "0000",
    "00000080",
    "900A8CF9152282FC8C5210F32A121ECB9A8043F233F4E7F79AA48DE893DEF134B437424CB326FCDC8C8BEF63",
    "3B35BA5F394CC0AFC91DB1ADD0B237B794973589CD637D0BF9D1CB082EBAB99DBD653C3AC1DBE036A3345964",
    "1D390814FBE840AEA5F4BF3E6EF93BF7AFE2F1E81BE8557B8495E0762CEB86277937C2A53CB819FB",
    "00000014",
    "B822DE429A08BC9B4629EAA6F2971CA7DD4CEA37",
    "00000080",
    "8D6F890A4A84F7CA78DB99982FD99657A6209DDACF7093BB7E8054FB0A64CCE1ACF0D6B100B13DAB67F40328",
    "AEF4C305B7D51698FE48263062189F7209AC24F93CC062178262A3F9B02A613C3A14F1D1C0EF6E9536EC9AE7",
    "E719FE0DF96882335B2371A8248F3600F532BB6831FA35B27A7EDDF24EA0684F06D1252F5D9E4F6B",
    "00000080",
    "82D06067BABD4B10AD9C5194D09101A218D8EFB953BDE32A12DCFD56E34A986E8EED50AADD4928453315689B",
    "B11E8AD576665BA8D80F4181A6ED8E0680B5CFDC0B8D5A3123C38B5AB7F6F0451A57AE4446740F8AB391D2A0",
    "3E94C8BBD4B2978A2FE3B80637F3C56E6563C2E576B39C2EA1B681F4C43F701ED38058518010EB1B",
);

#[test]
fn pubkey_round_trip() {
    let b = unhex(LIBOTR_PUBKEY_HEX);
    let mut r = Reader::new(&b);
    let key = read_pubkey(&mut r).unwrap();
    assert!(r.is_empty());
    let mut out = Vec::new();
    otr::wire::pubkey::put_pubkey(&mut out, &key);
    assert_eq!(out, b);
    // The fingerprint is SHA-1 of the bytes as received after the type, as libotr computes
    // it for a peer (auth.c hashes the received MPIs), and of what we send.
    assert_eq!(key.fingerprint().0, otr::crypto::sym::sha1(&[&b[2..]]));
}

/// Item 4 of the DSA audit: a key sent with a leading zero byte in an MPI. libotr writes
/// minimal MPIs and hashes a received key's bytes as they are, so libotr would give such an
/// encoding a second fingerprint for the same key while we (hashing the minimal form) would
/// not: the two would disagree about who the peer is. Refused, for each of p, q, g, y.
#[test]
fn pubkey_with_a_non_minimal_mpi_is_refused() {
    let b = unhex(LIBOTR_PUBKEY_HEX);
    // Offsets of the four MPIs (length, body) after the 2-byte type.
    let mut at = 2;
    for what in ["DSA p", "DSA q", "DSA g", "DSA y"] {
        let len = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        let mut padded = b[..at].to_vec();
        padded.extend_from_slice(&(len as u32 + 1).to_be_bytes());
        padded.push(0);
        padded.extend_from_slice(&b[at + 4..]);
        assert_eq!(
            read_pubkey(&mut Reader::new(&padded)),
            Err(InvalidMessage::NonMinimalMpi(what))
        );
        at += 4 + len;
    }
    assert_eq!(at, b.len());
}
