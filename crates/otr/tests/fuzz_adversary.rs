//! Replays the committed corpus of the adversarial fuzz target (fuzz/corpus/engine_adversary)
//! through the same check (fuzz/adversary.rs): Alice, Bob logged in twice and Mallory over
//! a network the input controls, with every invariant checked after every step. Also runs
//! the scripted attacks the corpus was seeded with, so they stay covered by name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/adversary.rs"]
mod adversary;

use testkit::{corpus_dir, replay_corpus};

#[test]
fn corpus_engine_adversary() {
    replay_corpus("engine_adversary", adversary::engine_adversary);
}

/// The seeds do what their names say: they reach private conversations and show text, so
/// the fuzzer starts from deep states, not from the front door.
#[test]
fn seeds_reach_private_conversations() {
    let dir = corpus_dir("engine_adversary");
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
