//! The fuzz targets' committed corpora (`fuzz/corpus/<target>/`), replayed by `cargo test`
//! through the checks the targets run.

use std::path::PathBuf;

/// The directory of `target`'s committed corpus.
pub fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// Runs `check` on every file of `target`'s corpus; fails the test on the first input it
/// panics on (naming the file), or if the corpus is empty.
pub fn replay_corpus(target: &str, check: fn(&[u8])) {
    let dir = corpus_dir(target);
    let mut n = 0;
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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
