//! The group layer against a malicious host and a malicious member at once: the checks of
//! `fuzz/group_adversary.rs` (read it for the attacks and the invariants), over seeded
//! scripts and over every committed input of its fuzz target
//! (`fuzz/corpus/group_adversary/`).
//!
//! `GROUP_ADVERSARY_SEEDS=n` runs n seeded scripts (default 40).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "../../../fuzz/group_adversary.rs"]
mod group_adversary;

use std::path::PathBuf;

use group_adversary::{Run, MAX_STEPS};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[test]
fn a_malicious_host_and_member_never_get_a_forged_line_shown_as_authenticated() {
    let seeds: u64 = std::env::var("GROUP_ADVERSARY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    for seed in 0..seeds {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut run = Run::new();
        for step in 0..MAX_STEPS {
            run.step(&mut rng, step);
        }
        let shown = run.shown.len();
        eprintln!("seed {seed}: {shown} authenticated lines checked");
    }
}

#[test]
fn corpus_group_adversary() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/group_adversary");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| group_adversary::group_adversary(&data));
            assert!(result.is_ok(), "check failed on {}", path.display());
            n += 1;
        }
    }
    assert!(n > 0, "empty corpus");
}
