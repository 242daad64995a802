//! `offrecord demo --group` runs to completion: a room of three over a channel with tags,
//! nothing typed on the wire, and the tampering host caught by Carol.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Command;

use testkit::{assert_contains_all, succeeds};

#[test]
fn group_demo_catches_the_tampering_host() {
    let stdout = succeeds(Command::new(env!("CARGO_BIN_EXE_offrecord")).args(["demo", "--group"]));
    assert_contains_all(
        &stdout,
        &[
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
        ],
    );
}
