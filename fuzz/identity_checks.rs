//! Checks for the `identity_files` fuzz target, shared with
//! `crates/offrecord/tests/fuzz_corpus.rs`, which replays the committed corpus under
//! `cargo test`. Any bytes are parsed as each of libotr's three identity files and as a bare
//! S-expression; nothing may panic, and whatever parses prints to text that parses back to
//! the same thing.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use offrecord::identity::sexp::{self, Sexp};
use offrecord::identity::{fingerprints, instance_tags, PrivateKeys};

/// The structure of an S-expression without positions.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Atom(Vec<u8>),
    List(Vec<Shape>),
}

fn shape(s: &Sexp) -> Shape {
    match s {
        Sexp::Atom(bytes, _) => Shape::Atom(bytes.to_vec()),
        Sexp::List(items, _) => Shape::List(items.iter().map(shape).collect()),
    }
}

/// Every parser on the same bytes, with print/parse round trips.
pub fn identity_files(data: &[u8]) {
    if let Ok(parsed) = sexp::parse(data) {
        let mut text = String::new();
        sexp::print(&mut text, &parsed, 0);
        let again = sexp::parse(text.as_bytes()).expect("printed S-expression parses");
        assert_eq!(shape(&parsed), shape(&again), "{text}");
    }
    if let Ok(keys) = PrivateKeys::parse(data) {
        let text = keys.to_text();
        let again = PrivateKeys::parse(text.as_bytes()).expect("printed key file parses");
        assert_eq!(keys.entries().len(), again.entries().len());
        for (a, b) in keys.entries().iter().zip(again.entries()) {
            assert_eq!(a.account, b.account);
            assert_eq!(a.protocol, b.protocol);
            assert_eq!(a.key.public().fingerprint(), b.key.public().fingerprint());
        }
    }
    if let Ok(entries) = fingerprints::parse(data) {
        let text = fingerprints::to_text(&entries);
        assert_eq!(
            fingerprints::parse(text.as_bytes()).as_ref(),
            Ok(&entries),
            "{text:?}"
        );
    }
    if let Ok(entries) = instance_tags::parse(data) {
        let text = instance_tags::to_text(&entries);
        assert_eq!(
            instance_tags::parse(text.as_bytes()).as_ref(),
            Ok(&entries),
            "{text:?}"
        );
    }
}
