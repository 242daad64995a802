//! The walk-through of docs/forging.md, step by step: a transcript from `offrecord demo`,
//! a data message from it, the MAC key the demo's peers revealed, and a forged message that
//! verifies under that key just as the real one does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Command, Output};

use offrecord::demo::Transcript;
use offrecord::store::hex;
use offrecord::toolkit::message::DataMessage;
use otr::crypto::sym::aes128_ctr;
use testkit::{pipe, unhex};

/// The line docs/forging.md changes, and where.
const ORIGINAL: &str = "Good. The meeting moves to Thursday at ten.";
const FORGED: &str = "Good. The meeting moves to Saturday at ten.";
const OFFSET: &str = "27";

fn run(program: &str, args: &[&str], stdin: &str) -> Output {
    pipe(Command::new(program).args(args), stdin.as_bytes()).unwrap()
}

fn offrecord(args: &[&str], stdin: &str) -> Output {
    run(env!("CARGO_BIN_EXE_offrecord"), args, stdin)
}

#[test]
fn a_demo_transcript_message_is_forged_with_a_revealed_mac_key() {
    // Step 1: the demo, saving its transcript.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    let out = offrecord(&["demo", "--transcript", path.to_str().unwrap()], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let transcript: Transcript =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();

    // Step 2: the message and the revealed key that verifies it.
    let line = transcript
        .lines
        .iter()
        .find(|l| l.read.as_deref() == Some(ORIGINAL))
        .expect("the demo says the line");
    let key = line
        .verified_by_revealed_key
        .clone()
        .expect("its MAC key is revealed later in the demo");
    let revealed = transcript
        .revealed_mac_keys
        .iter()
        .find(|r| r.key == key)
        .unwrap();
    assert!(revealed.revealed_in > line.index);
    assert_eq!(revealed.verifies, vec![line.index]);
    let revealing_line = &transcript.lines[revealed.revealed_in];
    assert!(revealing_line.reveals.contains(&key));
    // The key is in the revealing message on the wire, for anyone to read.
    let parsed = offrecord(&["toolkit", "parse"], &revealing_line.wire);
    assert!(String::from_utf8_lossy(&parsed.stdout).contains(&key));

    // Step 3: the original verifies under the revealed key.
    let out = offrecord(&["toolkit", "verify", &key], &line.wire);
    assert!(out.status.success());

    // Step 4: forge, without the AES key.
    let out = offrecord(
        &["toolkit", "modify", &key, "Thursday", "Saturday", OFFSET],
        &line.wire,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let forged = String::from_utf8(out.stdout).unwrap();
    let forged = forged.trim_end();
    assert_ne!(forged, line.wire);

    // libotr's own otr_modify makes the very same forgery.
    let libotr = run(
        "otr_modify",
        &[&key, "Thursday", "Saturday", OFFSET],
        &line.wire,
    );
    assert_eq!(String::from_utf8(libotr.stdout).unwrap().trim_end(), forged);

    // Step 5: the forgery verifies under the same key, as the original did.
    let out = offrecord(&["toolkit", "verify", &key], forged);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let original = DataMessage::parse(line.wire.as_bytes()).unwrap();
    let forgery = DataMessage::parse(forged.as_bytes()).unwrap();
    assert!(forgery.mac_verifies(&unhex(&key)));
    // Same keys, counter and next D-H value; only the ciphertext (at "Thursday") and
    // the MAC differ.
    assert_eq!(forgery.sender_keyid, original.sender_keyid);
    assert_eq!(forgery.recipient_keyid, original.recipient_keyid);
    assert_eq!(forgery.counter, original.counter);
    assert_eq!(forgery.next_dh, original.next_dh);
    assert_eq!(forgery.old_mac_keys, original.old_mac_keys);
    assert_ne!(forgery.mac, original.mac);
    let diff: Vec<u8> = original
        .encrypted
        .iter()
        .zip(&forgery.encrypted)
        .map(|(a, b)| a ^ b)
        .collect();
    let mut expected = vec![0u8; original.encrypted.len()];
    for (i, (o, n)) in ORIGINAL.bytes().zip(FORGED.bytes()).enumerate() {
        expected[i] = o ^ n;
    }
    // Whoever holds the AES key decrypts original XOR diff: the forged text.
    assert_eq!(diff, expected);
}

#[test]
fn with_the_aes_key_the_forgery_decrypts_to_the_new_text() {
    // Any D-H private value and the peer's public value give the session's keys.
    let ours = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let theirs_pair = otr::crypto::DhKeyPair::from_secret_bytes(&[0x42; 40]).unwrap();
    let theirs = hex(theirs_pair.public().as_bytes());
    let keys = offrecord(&["toolkit", "sesskeys", ours, &theirs], "");
    assert!(keys.status.success());
    let keys = String::from_utf8(keys.stdout).unwrap();
    let field = |title: &str| {
        keys.lines()
            .find_map(|l| l.strip_prefix(&format!("{title}: ")))
            .unwrap()
            .to_owned()
    };
    let aes = field("Sending   AES key");
    let mac = field("Sending   MAC key");
    assert_eq!(
        String::from_utf8(offrecord(&["toolkit", "mackey", &aes], "").stdout).unwrap(),
        format!("AES key: {aes}\nMAC key: {mac}\n")
    );

    // A data message saying ORIGINAL, built from its parts.
    let counter = [0, 0, 0, 0, 0, 0, 0, 1];
    let mut encrypted = ORIGINAL.as_bytes().to_vec();
    aes128_ctr(&unhex(&aes).try_into().unwrap(), &counter, &mut encrypted);
    let out = offrecord(
        &[
            "toolkit",
            "remac",
            &mac,
            "256",
            "257",
            "0",
            "2",
            "3",
            &theirs,
            &hex(&counter),
            &hex(&encrypted),
            "",
        ],
        "",
    );
    let message = String::from_utf8(out.stdout).unwrap();
    let read = offrecord(&["toolkit", "readforge", &aes], &message);
    assert_eq!(
        String::from_utf8(read.stdout).unwrap(),
        format!("Plaintext: ``{ORIGINAL}''\n")
    );

    // Forged with the MAC key alone, read with the AES key: the new text.
    let forged = offrecord(
        &["toolkit", "modify", &mac, "Thursday", "Saturday", OFFSET],
        &message,
    );
    let forged = String::from_utf8(forged.stdout).unwrap();
    let read = offrecord(&["toolkit", "readforge", &aes], &forged);
    assert_eq!(
        String::from_utf8(read.stdout).unwrap(),
        format!("Plaintext: ``{FORGED}''\n")
    );

    // With the AES key, any text at all: readforge re-encrypts and re-MACs.
    let out = offrecord(
        &["toolkit", "readforge", &aes, "I never said that."],
        &message,
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rewritten = text.lines().nth(1).unwrap();
    let read = offrecord(&["toolkit", "readforge", &aes], rewritten);
    assert_eq!(
        String::from_utf8(read.stdout).unwrap(),
        "Plaintext: ``I never said that.''\n"
    );
    assert!(offrecord(&["toolkit", "verify", &mac], rewritten)
        .status
        .success());
}
