//! `offrecord demo --group` runs to completion: a room of three over a channel with tags,
//! nothing typed on the wire, and the tampering host caught by Carol.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Command;

#[test]
fn group_demo_catches_the_tampering_host() {
    let output = Command::new(env!("CARGO_BIN_EXE_offrecord"))
        .args(["demo", "--group"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "?RECV?",
        "?ENDSEND??OTR:",
        "eve sees",
        "?STAT?2",
        "carol reads #",
        "verified by a MAC only the two of them share",
        "carol ALERT: message #",
        "was altered or not written by bob",
        "the host showed one of you a different conversation",
        "No typed text ever appeared on the wire.",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
