//! Replays the committed corpus of the adversarial fuzz target (fuzz/corpus/engine_adversary)
//! through the same check (fuzz/adversary.rs): Alice, Bob logged in twice and Mallory over
//! a network the input controls, with every invariant checked after every step. Also runs
//! the scripted attacks the corpus was seeded with, so they stay covered by name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/adversary.rs"]
mod adversary;

use std::path::PathBuf;

#[test]
fn corpus_engine_adversary() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/engine_adversary");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| adversary::engine_adversary(&data));
            assert!(result.is_ok(), "check failed on {}", path.display());
            n += 1;
        }
    }
    assert!(n > 0, "empty corpus");
}

/// The seeds do what their names say: they reach private conversations and show text, so
/// the fuzzer starts from deep states, not from the front door.
#[test]
fn seeds_reach_private_conversations() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/engine_adversary");
    for name in [
        "seed_honest_smp",
        "seed_impostor",
        "seed_impostor_untrusted",
        "seed_replay_error",
        "seed_retag",
    ] {
        let data = std::fs::read(dir.join(name)).unwrap();
        let (states, shown) = adversary::run(&data);
        eprintln!("{name}: {states:?}, {shown} texts shown");
        assert!(shown > 0, "{name}: nothing shown");
    }
}
