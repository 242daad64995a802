//! Replays every committed input of the `identity_files` fuzz target
//! (fuzz/corpus/identity_files/) through the target's checks (fuzz/identity_checks.rs), so
//! `cargo test` exercises the corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/identity_checks.rs"]
mod identity_checks;

use std::path::PathBuf;

#[test]
fn corpus_identity_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/identity_files");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| identity_checks::identity_files(&data));
            assert!(result.is_ok(), "check failed on {}", path.display());
            n += 1;
        }
    }
    assert!(n > 0, "empty corpus");
}
