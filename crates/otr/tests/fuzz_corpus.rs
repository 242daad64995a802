//! Replays every committed fuzz input (fuzz/corpus/<target>/) through the same checks the
//! fuzz targets run (fuzz/checks.rs), so `cargo test` exercises the corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/checks.rs"]
mod checks;

use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(
                result.is_ok(),
                "{target}: check failed on {}",
                path.display()
            );
            n += 1;
        }
    }
    assert!(n > 0, "empty corpus for {target}");
}

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
