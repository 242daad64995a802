//! Replays every committed fuzz input (fuzz/corpus/<target>/) through the same checks the
//! fuzz targets run (fuzz/checks.rs), so `cargo test` exercises the corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/checks.rs"]
mod checks;

use testkit::replay_corpus as replay;

#[test]
fn corpus_classify_text() {
    replay("classify_text", checks::classify_text);
}

#[test]
fn corpus_encoded_message() {
    replay("encoded_message", checks::encoded_message);
}

#[test]
fn corpus_tlv_plaintext() {
    replay("tlv_plaintext", checks::tlv_plaintext);
}

#[test]
fn corpus_pubkey() {
    replay("pubkey", checks::pubkey);
}

#[test]
fn corpus_engine_receive() {
    replay("engine_receive", checks::engine_receive);
}

#[test]
fn corpus_fragment_reassembly() {
    replay("fragment_reassembly", checks::fragment_reassembly);
}

#[test]
fn corpus_smp_receive() {
    replay("smp_receive", checks::smp_receive);
}
