//! `offrecord demo` runs to completion and shows what it promises.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Command;

use testkit::{assert_contains_all, succeeds};

#[test]
fn demo_runs_and_shows_fingerprints_and_revealed_keys() {
    let stdout = succeeds(Command::new(env!("CARGO_BIN_EXE_offrecord")).arg("demo"));
    // Not a terminal: no colour codes.
    assert!(!stdout.contains('\x1b'));
    for who in ["Alice's fingerprint: ", "Bob's fingerprint:   "] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(who))
            .unwrap_or_else(|| panic!("{who} missing:\n{stdout}"));
        let fp = &line[who.len()..];
        let groups: Vec<&str> = fp.split(' ').collect();
        assert_eq!(groups.len(), 5, "{line}");
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 8 && g.chars().all(|c| c.is_ascii_hexdigit())),
            "{line}"
        );
    }
    assert_contains_all(
        &stdout,
        &[
            "D-H Commit",
            "D-H Key",
            "Reveal Signature",
            "Signature",
            "Eve sees",
            "revealed",
            "Revealed MAC keys",
            "Bob's state: finished",
            "[finished]",
            "Plaintext on the wire:          never",
        ],
    );
}
