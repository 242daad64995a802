//! Checks for the `toolkit_tools` fuzz target, shared with
//! `crates/offrecord/tests/fuzz_corpus_toolkit.rs`, which replays the committed corpus under
//! `cargo test`. Any bytes are the stdin of every `offrecord toolkit` tool that reads one;
//! nothing may panic. Every data message found re-MACs to a message that parses back to the
//! same fields and verifies under the new key.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;

use offrecord::toolkit::message::{classify, read_otr, DataMessage};
use offrecord::toolkit::{run, RawArgs, Tool};

fn raw(args: &[&str]) -> RawArgs {
    RawArgs {
        args: args.iter().map(OsString::from).collect(),
    }
}

/// Every tool on `data` as stdin, then the re-MAC round trip.
pub fn toolkit_tools(data: &[u8]) {
    let aes = "00112233445566778899aabbccddeeff";
    let mac = "739e0e8490eacbcb2ea11d4a5dbefbae888b092e";
    for tool in [
        Tool::Parse(raw(&[])),
        Tool::Readforge(raw(&[aes])),
        Tool::Readforge(raw(&[aes, "forged"])),
        Tool::Modify(raw(&[mac, "abc", "xyz", "2"])),
        Tool::Verify(raw(&[mac])),
    ] {
        let _ = run(&tool, &mut &data[..], &mut Vec::new(), &mut Vec::new());
    }
    let mut input = data;
    while let Ok(Some(msg)) = read_otr(&mut input) {
        let _ = classify(&msg);
        if let Ok(mut m) = DataMessage::parse(&msg) {
            let key = [7u8; 20];
            let text = m.remac(&key);
            let again = DataMessage::parse(text.as_bytes()).expect("a re-MACed message parses");
            assert!(again.mac_verifies(&key));
            assert_eq!(again.version, m.version);
            assert_eq!(again.flags, m.flags);
            assert_eq!(again.instances, m.instances);
            assert_eq!(again.sender_keyid, m.sender_keyid);
            assert_eq!(again.recipient_keyid, m.recipient_keyid);
            let minimal = |v: &[u8]| {
                v.iter()
                    .skip_while(|&&b| b == 0)
                    .copied()
                    .collect::<Vec<u8>>()
            };
            assert_eq!(minimal(&again.next_dh), minimal(&m.next_dh));
            assert_eq!(again.counter, m.counter);
            assert_eq!(again.encrypted, m.encrypted);
            assert_eq!(again.old_mac_keys, m.old_mac_keys);
            assert_eq!(again.authenticated, m.authenticated);
        }
    }
}
