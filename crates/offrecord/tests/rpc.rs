//! The engine protocol end to end: real `offrecord rpc` processes with a temporary `--home`,
//! relayed by the test. Every read has a timeout, so a hang fails the test instead of blocking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use testkit::{JsonLines, Relay, Side};

/// How long any single event may take to arrive.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// `offrecord rpc` for `account`, with its `--home` and `extra` arguments.
fn rpc(account: &str, home: &Path, extra: &[&str]) -> JsonLines {
    let mut command = Command::new(env!("CARGO_BIN_EXE_offrecord"));
    command
        .args(["rpc", "--account", account, "--home"])
        .arg(home)
        .args(extra);
    JsonLines::spawn(account, command, READ_TIMEOUT)
}

/// Alice's and Bob's processes, each calling the other by name, relayed by the test.
fn spawn_pair(
    alice_home: &Path,
    bob_home: &Path,
    alice_args: &[&str],
) -> Relay<JsonLines, JsonLines> {
    Relay::new(
        rpc("alice", alice_home, alice_args),
        rpc("bob", bob_home, &[]),
    )
}

fn last_state<'a>(events: &'a [Value], peer: &str) -> &'a Value {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == "state" && e["peer"] == peer)
        .unwrap_or_else(|| panic!("no state event for {peer} in {events:?}"))
}

fn messages(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "message").collect()
}

#[test]
fn conversation_with_trust_restart_and_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_home, bob_home) = (dir.path().join("alice"), dir.path().join("bob"));
    let mut pair = spawn_pair(&alice_home, &bob_home, &[]);
    let alice_fp = pair.alice.fingerprint();
    let bob_fp = pair.bob.fingerprint();
    assert_ne!(alice_fp, bob_fp);

    // start: both sides encrypted, each with the other's fingerprint, untrusted.
    let shown = pair.run(
        Side::Alice,
        json!({"cmd":"start","peer":"bob","id":"start"}),
    );
    let a = last_state(&shown.alice, "bob");
    assert_eq!(a["state"], "encrypted");
    assert_eq!(a["fingerprint"], bob_fp.as_str());
    assert_eq!(a["trusted"], false);
    let b = last_state(&shown.bob, "alice");
    assert_eq!(b["state"], "encrypted");
    assert_eq!(b["fingerprint"], alice_fp.as_str());
    assert_eq!(b["trusted"], false);

    // Messages both ways arrive encrypted, with line breaks and non-ASCII kept.
    for (side, text) in [
        (Side::Alice, "hi Bob"),
        (Side::Bob, "hi Alice\nsecond line"),
        (Side::Alice, "héllo ✓"),
        (Side::Alice, "burst"),
    ] {
        let peer = pair.name(side.other()).to_owned();
        let shown = pair.run(side, json!({"cmd":"send","peer":peer,"text":text}));
        let received = messages(shown.of(side.other()));
        assert_eq!(received.len(), 1, "{shown:?}");
        assert_eq!(received[0]["text"], text);
        assert_eq!(received[0]["encrypted"], true);
        assert_eq!(received[0]["peer"], pair.name(side));
    }

    // trust: a state event with trusted:true.
    let events = pair
        .alice
        .command(&json!({"cmd":"trust","peer":"bob","id":1}));
    let state = last_state(&events, "bob");
    assert_eq!(state["trusted"], true);
    assert_eq!(state["fingerprint"], bob_fp.as_str());
    assert_eq!(state["state"], "encrypted");
    // distrust and trust again on Bob's side too.
    let events = pair.bob.command(&json!({"cmd":"trust","peer":"alice"}));
    assert_eq!(last_state(&events, "alice")["trusted"], true);
    let events = pair.bob.command(&json!({"cmd":"distrust","peer":"alice"}));
    assert_eq!(last_state(&events, "alice")["trusted"], false);

    // Restart both on the same homes: same fingerprints, Alice still trusts Bob.
    let Relay { alice, bob, .. } = pair;
    assert!(alice.close().is_some_and(|s| s.success()));
    assert!(bob.close().is_some_and(|s| s.success()));
    let mut pair = spawn_pair(&alice_home, &bob_home, &[]);
    assert_eq!(pair.alice.fingerprint(), alice_fp);
    assert_eq!(pair.bob.fingerprint(), bob_fp);
    let shown = pair.run(Side::Bob, json!({"cmd":"start","peer":"alice"}));
    let a = last_state(&shown.alice, "bob");
    assert_eq!(a["state"], "encrypted");
    assert_eq!(a["fingerprint"], bob_fp.as_str());
    assert_eq!(a["trusted"], true, "trust survives a restart");
    let b = last_state(&shown.bob, "alice");
    assert_eq!(b["trusted"], false, "distrust survives a restart");

    // finish: Bob sees finished, and his next send is refused.
    let shown = pair.run(Side::Alice, json!({"cmd":"finish","peer":"bob"}));
    assert_eq!(last_state(&shown.alice, "bob")["state"], "plaintext");
    assert_eq!(last_state(&shown.bob, "alice")["state"], "finished");
    let events = pair
        .bob
        .command(&json!({"cmd":"send","peer":"alice","text":"still there?"}));
    assert!(
        events.iter().all(|e| e["event"] != "wire"),
        "nothing may be sent: {events:?}"
    );
    let error = events
        .iter()
        .find(|e| e["event"] == "error")
        .expect("an error");
    assert_eq!(error["code"], "finished");
    assert_eq!(error["peer"], "alice");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));

    let Relay { alice, bob, .. } = pair;
    assert!(alice.close().is_some_and(|s| s.success()));
    assert!(bob.close().is_some_and(|s| s.success()));
}

#[test]
fn malformed_lines_are_bad_requests_and_the_engine_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut rpc = rpc("alice", dir.path(), &[]);
    let fp = rpc.fingerprint();
    for line in [
        "not json",
        "{}",
        r#"{"cmd":"nope"}"#,
        r#"{"cmd":"send"}"#,
        r#"{"cmd":"send","peer":1,"text":"x"}"#,
        r#"{"cmd":"receive","peer":"bob"}"#,
        r#"{"cmd":"tick","now":"later"}"#,
        "[1,2,3]",
        r#"{"cmd":"send","peer":"bob","text":"x""#,
    ] {
        rpc.write_raw(format!("{line}\n"));
        let (events, id) = rpc.until_done();
        assert_eq!(id, Value::Null, "{line}");
        assert_eq!(events.len(), 1, "{line}: {events:?}");
        assert_eq!(events[0]["event"], "error", "{line}");
        assert_eq!(events[0]["code"], "bad_request", "{line}");
        assert!(
            events[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{line}"
        );
        assert!(
            events[0].get("peer").is_some(),
            "error events always carry peer: {line}"
        );
    }
    // A bad request with an id still echoes it.
    let events = rpc.command(&json!({"cmd":"nope","id":"x1"}));
    assert_eq!(events[0]["code"], "bad_request");
    // Invalid UTF-8 and a blank line (skipped without any event).
    rpc.write_raw(b"\xff\xfe\n\n   \n");
    let (events, id) = rpc.until_done();
    assert_eq!(id, Value::Null);
    assert_eq!(events[0]["code"], "bad_request");
    // Still running.
    assert_eq!(rpc.fingerprint(), fp);
    assert!(rpc.close().is_some_and(|s| s.success()));
}

#[test]
fn smp_verifies_the_peer_and_marks_it_trusted() {
    let (alice_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut pair = spawn_pair(alice_home.path(), bob_home.path(), &[]);
    // Before a session: an error, not a crash.
    let shown = pair.run(Side::Alice, json!({"cmd":"smp","peer":"bob","secret":"x"}));
    assert_eq!(shown.alice[0]["code"], "no_session");
    pair.run(Side::Alice, json!({"cmd":"start","peer":"bob"}));
    // Nothing to answer yet.
    let shown = pair.run(
        Side::Bob,
        json!({"cmd":"smp_respond","peer":"alice","secret":"x"}),
    );
    assert_eq!(shown.bob[0]["code"], "no_smp_request");

    // With a question, answered right.
    let shown = pair.run(
        Side::Alice,
        json!({"cmd":"smp","peer":"bob","secret":"blue","question":"Colour of the door?"}),
    );
    let asked = shown.bob.iter().find(|e| e["event"] == "smp").unwrap();
    assert_eq!(asked["result"], "question");
    assert_eq!(asked["question"], "Colour of the door?");
    let shown = pair.run(
        Side::Bob,
        json!({"cmd":"smp_respond","peer":"alice","secret":"blue"}),
    );
    let results = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["event"] == "smp")
            .map(|e| e["result"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(results(&shown.alice), ["success"]);
    assert_eq!(results(&shown.bob), ["success"]);
    // The asker now trusts the answerer's fingerprint; the answerer learned nothing about
    // the asker from a question, so (as libotr) it does not.
    assert_eq!(last_state(&shown.alice, "bob")["trusted"], true);
    assert!(shown.bob.iter().all(|e| e["event"] != "state"));

    // Without a question, wrong secret: failure on both sides.
    let shown = pair.run(
        Side::Bob,
        json!({"cmd":"smp","peer":"alice","secret":"one"}),
    );
    assert_eq!(results(&shown.alice), ["request"]);
    let shown = pair.run(
        Side::Alice,
        json!({"cmd":"smp_respond","peer":"bob","secret":"two"}),
    );
    assert_eq!(results(&shown.alice), ["failure"]);
    assert_eq!(results(&shown.bob), ["failure"]);

    // Abort: both sides report it.
    let shown = pair.run(Side::Alice, json!({"cmd":"smp","peer":"bob","secret":"s"}));
    assert_eq!(results(&shown.bob), ["request"]);
    let shown = pair.run(Side::Bob, json!({"cmd":"smp_abort","peer":"alice"}));
    assert_eq!(results(&shown.bob), ["aborted"]);
    assert_eq!(results(&shown.alice), ["aborted"]);
}

#[test]
fn fragmentation_keeps_every_line_under_the_limit() {
    let (alice_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Alice fragments everything to 300 bytes (--max-message-size); Bob, to 250 for Alice
    // (the max_message_size command).
    let mut pair = spawn_pair(
        alice_home.path(),
        bob_home.path(),
        &["--max-message-size", "300"],
    );
    pair.run(
        Side::Bob,
        json!({"cmd":"max_message_size","peer":"alice","size":250}),
    );
    let shown = pair.run(Side::Alice, json!({"cmd":"start","peer":"bob"}));
    assert_eq!(last_state(&shown.alice, "bob")["state"], "encrypted");
    let long: String = "Fragments must reassemble exactly. ".repeat(60);
    let shown = pair.run(Side::Alice, json!({"cmd":"send","peer":"bob","text":long}));
    assert_eq!(messages(&shown.bob)[0]["text"], long.as_str());
    let shown = pair.run(Side::Bob, json!({"cmd":"send","peer":"alice","text":long}));
    assert_eq!(messages(&shown.alice)[0]["text"], long.as_str());
    // Every OTR line each side wrote fits its limit.
    for (side, limit) in [(&mut pair.alice, 300), (&mut pair.bob, 250)] {
        let events = side.command(
            &json!({"cmd":"send","peer":if limit == 300 {"bob"} else {"alice"},"text":long}),
        );
        let wires: Vec<&str> = events
            .iter()
            .filter(|e| e["event"] == "wire")
            .map(|e| e["data"].as_str().unwrap())
            .collect();
        assert!(wires.len() > 5, "{wires:?}");
        for w in wires {
            assert!(w.len() <= limit, "{} > {limit}: {w}", w.len());
            assert!(w.starts_with("?OTR|"), "{w}");
        }
    }
}

#[test]
fn ids_are_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let mut rpc = rpc("alice", dir.path(), &[]);
    for id in [
        json!(42),
        json!(-1.5),
        json!("abc"),
        json!({"a":[1,{"b":null}]}),
        json!([1, 2]),
        json!(true),
    ] {
        rpc.write_raw(format!("{}\n", json!({"cmd":"fingerprint","id":id})));
        let (events, done) = rpc.until_done();
        assert_eq!(events.len(), 1);
        assert_eq!(done, id);
    }
    rpc.write_raw("{\"cmd\":\"fingerprint\"}\n");
    let (_, done) = rpc.until_done();
    assert_eq!(done, Value::Null);
    rpc.write_raw("{\"cmd\":\"fingerprint\",\"id\":null}\n");
    let (_, done) = rpc.until_done();
    assert_eq!(done, Value::Null);
    assert!(rpc.close().is_some_and(|s| s.success()));
}

#[test]
fn pipelined_commands_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut rpc = rpc("alice", dir.path(), &["--policy", "manual"]);
    let mut batch = String::new();
    for i in 0..100 {
        let command = match i % 4 {
            0 => json!({"cmd":"fingerprint","id":i}),
            1 => json!({"cmd":"send","peer":"bob","text":format!("plain {i}"),"id":i}),
            2 => json!({"cmd":"nope","id":i}),
            _ => json!({"cmd":"receive","peer":"bob","data":format!("hello {i}"),"id":i}),
        };
        batch.push_str(&format!("{command}\n"));
    }
    rpc.write_raw(&batch);
    for i in 0..100 {
        let (events, id) = rpc.until_done();
        assert_eq!(id, json!(i));
        assert_eq!(events.len(), 1, "{i}: {events:?}");
        let event = &events[0];
        match i % 4 {
            0 => assert_eq!(event["event"], "fingerprint"),
            1 => {
                // Manual policy: plain text goes out as is, without a whitespace tag.
                assert_eq!(event["event"], "wire");
                assert_eq!(event["data"], format!("plain {i}"));
            }
            2 => assert_eq!(event["code"], "bad_request"),
            _ => {
                assert_eq!(event["event"], "message");
                assert_eq!(event["text"], format!("hello {i}"));
                assert_eq!(event["encrypted"], false);
            }
        }
    }
    assert!(rpc.close().is_some_and(|s| s.success()));
}

#[test]
fn policies_are_accepted_and_an_unknown_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for policy in ["manual", "opportunistic", "always"] {
        let mut rpc = rpc(
            "alice",
            dir.path(),
            &["--policy", policy, "--protocol", "irc"],
        );
        rpc.fingerprint();
        assert!(rpc.close().is_some_and(|s| s.success()));
    }
    // always: nothing goes out in plaintext.
    let mut rpc = rpc("alice", dir.path(), &["--policy", "always"]);
    let events = rpc.command(&json!({"cmd":"send","peer":"bob","text":"secret"}));
    assert!(events
        .iter()
        .all(|e| e["event"] != "wire" || !e["data"].as_str().unwrap().contains("secret")));
    assert!(rpc.close().is_some_and(|s| s.success()));

    let status = Command::new(env!("CARGO_BIN_EXE_offrecord"))
        .args(["rpc", "--account", "a", "--home"])
        .arg(dir.path())
        .args(["--policy", "sometimes"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .status;
    assert!(!status.success());
}

#[test]
fn a_corrupt_home_file_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("otr.private_key");
    std::fs::write(&file, "{ not json").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_offrecord"))
        .args(["rpc", "--account", "alice", "--home"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:1:1:", file.display())),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{ not json");
}

#[test]
fn two_accounts_can_share_a_home() {
    let dir = tempfile::tempdir().unwrap();
    let mut alice = rpc("alice", dir.path(), &[]);
    let mut bob = rpc("bob", dir.path(), &[]);
    let (a, b) = (alice.fingerprint(), bob.fingerprint());
    assert_ne!(a, b);
    assert!(alice.close().is_some_and(|s| s.success()));
    assert!(bob.close().is_some_and(|s| s.success()));
    let mut alice = rpc("alice", dir.path(), &[]);
    let mut bob = rpc("bob", dir.path(), &[]);
    assert_eq!(alice.fingerprint(), a);
    assert_eq!(bob.fingerprint(), b);
}
