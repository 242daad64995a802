//! Replays every committed input of the `toolkit_tools` fuzz target
//! (fuzz/corpus/toolkit_tools/) through the target's checks (fuzz/toolkit_checks.rs), so
//! `cargo test` exercises the corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/toolkit_checks.rs"]
mod toolkit_checks;

use testkit::replay_corpus;

#[test]
fn corpus_toolkit_tools() {
    replay_corpus("toolkit_tools", toolkit_checks::toolkit_tools);
}
