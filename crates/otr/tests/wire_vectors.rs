//! Messages produced by libotr 4.1.1 (tests/vectors/wire, see its README): each decodes,
//! agrees field by field with libotr's own `otr_parse`, and re-encodes to the same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hmac::{Hmac, Mac};
use otr::wire::encoded::{EncodedMessage, MessageBody};
use otr::wire::text::{classify, IncomingText};
use otr::wire::Codec;
use sha1::Sha1;
use std::collections::BTreeMap;
use std::path::PathBuf;
use testkit::hex;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/wire")
}

fn lines(name: &str) -> Vec<String> {
    let s = std::fs::read_to_string(dir().join(name)).unwrap();
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// otr_parse's output: one map per message, field name -> value (revealed MAC keys are
/// concatenated into one "Revealed MAC keys" entry).
fn parsed(name: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let s = std::fs::read_to_string(dir().join(name)).unwrap();
    let mut out: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in s.lines() {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('\t') {
            out.push((line.trim_end_matches(':').to_owned(), BTreeMap::new()));
            continue;
        }
        let map = &mut out.last_mut().unwrap().1;
        let t = line.trim_start_matches('\t');
        let (k, v) = t.split_once(':').unwrap();
        if line.starts_with("\t\tKey ") {
            map.entry("Revealed MAC keys".into())
                .or_default()
                .push_str(v.trim());
        } else {
            map.insert(k.to_owned(), v.trim().to_owned());
        }
    }
    out
}

/// Our decoding in otr_parse's vocabulary.
fn our_fields(m: &EncodedMessage) -> (String, BTreeMap<String, String>) {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        f.insert(k.to_owned(), v);
    };
    put("Version", format!("{:02}", m.version.0));
    if m.version.0 == 3 {
        put("Sender instance", m.sender_instance.0.to_string());
        put("Receiver instance", m.receiver_instance.0.to_string());
    }
    let kind = match &m.body {
        MessageBody::DhCommit(c) => {
            put("Encrypted Key", hex(&c.encrypted_gx));
            put("Hashed Key", hex(&c.hashed_gx));
            "D-H Commit Message"
        }
        MessageBody::DhKey(k) => {
            put("D-H Key", hex(&k.gy));
            "D-H Key Message"
        }
        MessageBody::RevealSignature(r) => {
            put("Key", hex(&r.revealed_key));
            put("Encrypted Signature", hex(&r.encrypted_signature));
            put("MAC", hex(&r.mac));
            "Reveal Signature Message"
        }
        MessageBody::Signature(s) => {
            put("Encrypted Signature", hex(&s.encrypted_signature));
            put("MAC", hex(&s.mac));
            "Signature Message"
        }
        MessageBody::Data(d) => {
            put("Flags", d.flags.0.to_string());
            put("Sender keyid", d.sender_keyid.to_string());
            put("Rcpt keyid", d.recipient_keyid.to_string());
            put("DH y", hex(&d.next_dh));
            put("Counter", hex(&d.ctr));
            put("Encrypted message", hex(&d.encrypted));
            put("MAC", hex(&d.mac));
            if !d.old_mac_keys.is_empty() {
                put("Revealed MAC keys", hex(&d.old_mac_keys));
            }
            "Data Message"
        }
        _ => panic!("unexpected body"),
    };
    (kind.to_owned(), f)
}

/// MPIs are printed as numbers: compare without leading zeros.
fn norm(k: &str, v: &str) -> String {
    if k == "D-H Key" || k == "DH y" {
        v.trim_start_matches('0').to_lowercase()
    } else {
        v.to_lowercase()
    }
}

fn decode_line(line: &str) -> (Vec<u8>, EncodedMessage) {
    let bytes = match classify(line).unwrap() {
        IncomingText::Encoded(b) => b,
        other => panic!("not armour: {other:?}"),
    };
    let msg = EncodedMessage::decode(&bytes).unwrap();
    assert_eq!(msg.to_bytes(), bytes, "encode(decode(b)) != b for {line}");
    (bytes, msg)
}

fn check_file(stem: &str) -> Vec<EncodedMessage> {
    let msgs = lines(&format!("{stem}.txt"));
    let want = parsed(&format!("{stem}.parsed"));
    assert_eq!(msgs.len(), want.len(), "{stem}");
    assert!(!msgs.is_empty());
    let mut out = Vec::new();
    for (line, (kind, fields)) in msgs.iter().zip(want) {
        let (_, msg) = decode_line(line);
        let (our_kind, ours) = our_fields(&msg);
        assert_eq!(our_kind, kind, "{stem}");
        for (k, v) in &fields {
            let o = ours
                .get(k)
                .unwrap_or_else(|| panic!("{stem}: we have no field {k}"));
            assert_eq!(norm(k, o), norm(k, v), "{stem}: field {k}");
        }
        for k in ours.keys() {
            assert!(fields.contains_key(k), "{stem}: otr_parse has no field {k}");
        }
        out.push(msg);
    }
    out
}

#[test]
fn libotr_data_messages() {
    let msgs = check_file("data_v3");
    assert_eq!(msgs.len(), 3);
    let key = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
        0xef, 0x01, 0x23, 0x45, 0x67,
    ];
    for m in &msgs {
        let MessageBody::Data(d) = &m.body else {
            panic!("not data")
        };
        let mut h = Hmac::<Sha1>::new_from_slice(&key).unwrap();
        h.update(&m.data_mac_input().unwrap());
        assert_eq!(
            h.finalize().into_bytes().as_slice(),
            &d.mac,
            "MAC over data_mac_input"
        );
    }
    // otr_remac was given "00c0ffee": libotr wrote the MPI in minimal form
    let MessageBody::Data(d) = &msgs[0].body else {
        panic!()
    };
    assert_eq!(d.next_dh, [0xc0, 0xff, 0xee]);
    assert!(d.flags.ignore_unreadable());
    assert_eq!(
        (msgs[0].sender_instance.0, msgs[0].receiver_instance.0),
        (257, 131_844)
    );
    let MessageBody::Data(d) = &msgs[1].body else {
        panic!()
    };
    assert_eq!(d.old_mac_keys.len(), 40);
    assert!(d.encrypted.is_empty());
    let MessageBody::Data(d) = &msgs[2].body else {
        panic!()
    };
    assert_eq!(d.encrypted.len(), 300);
    assert_eq!(d.sender_keyid, u32::MAX);
}

#[test]
fn libotr_ake_messages() {
    for (stem, v) in [("ake_v3", 3), ("ake_v2", 2)] {
        let msgs = check_file(stem);
        let types: Vec<u8> = msgs.iter().map(|m| m.message_type().0).collect();
        assert_eq!(types, [0x02, 0x0a, 0x11, 0x12], "{stem}");
        for m in &msgs {
            assert_eq!(m.version.0, v);
        }
        if v == 3 {
            let tags: Vec<(u32, u32)> = msgs
                .iter()
                .map(|m| (m.sender_instance.0, m.receiver_instance.0))
                .collect();
            assert_eq!(
                tags,
                [
                    (0x1234_abcd, 0),
                    (0x100, 0x1234_abcd),
                    (0x1234_abcd, 0x100),
                    (0x100, 0x1234_abcd)
                ]
            );
        }
        let MessageBody::DhCommit(c) = &msgs[0].body else {
            panic!()
        };
        assert_eq!(c.hashed_gx.len(), 32);
        assert_eq!(c.encrypted_gx.len(), 196);
        let MessageBody::RevealSignature(r) = &msgs[2].body else {
            panic!()
        };
        assert_eq!(r.revealed_key.len(), 16);
    }
}

#[test]
fn libotr_fragments() {
    for (stem, v3) in [("frag_v3", true), ("frag_v2", false)] {
        let frags = lines(&format!("{stem}.txt"));
        let whole = &lines(if v3 { "ake_v3.txt" } else { "ake_v2.txt" })[2];
        let mut joined = String::new();
        for (i, line) in frags.iter().enumerate() {
            let IncomingText::Fragment(f) = classify(line).unwrap() else {
                panic!("{stem}: not a fragment")
            };
            assert_eq!(usize::from(f.index), i + 1);
            assert_eq!(usize::from(f.total), frags.len());
            if v3 {
                assert_eq!(
                    f.instances.map(|(s, r)| (s.0, r.0)),
                    Some((0x1234_abcd, 0x100))
                );
            } else {
                assert_eq!(f.instances, None);
            }
            joined.push_str(&f.piece);
        }
        assert_eq!(&joined, whole, "{stem}");
        decode_line(&joined);
    }
}
