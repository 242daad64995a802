//! Replays every committed input of the `group_messages` fuzz target
//! (fuzz/corpus/group_messages/) through the target's checks (fuzz/group_checks.rs), so
//! `cargo test` exercises the corpus: envelope, channel tag and `otr.chatinfo` parsers with
//! their round trips, and a host and a member receiving each input inside their session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/group_checks.rs"]
mod group_checks;

use std::path::PathBuf;

#[test]
fn corpus_group_messages() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/group_messages");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| group_checks::group_messages(&data));
            assert!(result.is_ok(), "check failed on {}", path.display());
            n += 1;
        }
    }
    assert!(n > 0, "empty corpus");
}
