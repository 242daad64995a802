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
