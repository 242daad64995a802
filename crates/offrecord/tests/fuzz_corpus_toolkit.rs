//! Replays every committed input of the `toolkit_tools` fuzz target
//! (fuzz/corpus/toolkit_tools/) through the target's checks (fuzz/toolkit_checks.rs), so
//! `cargo test` exercises the corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/toolkit_checks.rs"]
mod toolkit_checks;

use std::path::PathBuf;

#[test]
fn corpus_toolkit_tools() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/toolkit_tools");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| toolkit_checks::toolkit_tools(&data));
            assert!(result.is_ok(), "check failed on {}", path.display());
            n += 1;
        }
    }
    assert!(n > 0, "empty corpus");
}
