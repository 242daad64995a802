//! Replays every committed input of the `identity_files` fuzz target
//! (fuzz/corpus/identity_files/) through the target's checks (fuzz/identity_checks.rs), so
//! `cargo test` exercises the corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/identity_checks.rs"]
mod identity_checks;

use testkit::replay_corpus;

#[test]
fn corpus_identity_files() {
    replay_corpus("identity_files", identity_checks::identity_files);
}
