//! The engine protocol end to end: real `offrecord rpc` processes with a temporary `--home`,
//! relayed by the test. Every read has a timeout, so a hang fails the test instead of blocking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long any single event may take to arrive.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// One running `offrecord rpc`.
struct Rpc {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Rpc {
    fn spawn(account: &'static str, home: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_offrecord"))
            .args(["rpc", "--account", account, "--home"])
            .arg(home)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn offrecord");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            name: account,
            child,
            stdin,
            lines: rx,
        }
    }

    /// Writes raw text (one or more lines) to stdin.
    fn write_raw(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// The next event, parsed.
    fn next_event(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(READ_TIMEOUT)
            .unwrap_or_else(|e| panic!("{}: no event within {READ_TIMEOUT:?}: {e}", self.name));
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: output is not JSON ({e}): {line}", self.name))
    }

    /// Events up to and including the next `done`: (events before it, its id).
    fn until_done(&mut self) -> (Vec<Value>, Value) {
        let mut events = Vec::new();
        loop {
            let event = self.next_event();
            if event["event"] == "done" {
                return (events, event["id"].clone());
            }
            events.push(event);
        }
    }

    /// Sends one command and returns the events it caused (checking `done` echoes its id).
    fn command(&mut self, command: Value) -> Vec<Value> {
        let id = command.get("id").cloned().unwrap_or(Value::Null);
        self.write_raw(&format!("{command}\n"));
        let (events, done_id) = self.until_done();
        assert_eq!(done_id, id, "{}: done id for {command}", self.name);
        events
    }

    fn fingerprint(&mut self) -> String {
        let events = self.command(json!({"cmd":"fingerprint"}));
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["event"], "fingerprint");
        let fp = events[0]["fingerprint"].as_str().unwrap().to_owned();
        assert_libotr_fingerprint(&fp);
        fp
    }

    /// Closes stdin and waits for the process to exit.
    fn close(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{}: did not exit within 10 s of stdin closing", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Rpc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn assert_libotr_fingerprint(fp: &str) {
    let groups: Vec<&str> = fp.split(' ').collect();
    assert_eq!(groups.len(), 5, "{fp}");
    for group in groups {
        assert_eq!(group.len(), 8, "{fp}");
        assert!(
            group
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)),
            "{fp}"
        );
    }
}

/// Alice's and Bob's processes, each calling the other by name.
struct Pair {
    alice: Rpc,
    bob: Rpc,
}

/// The non-wire events each side produced while messages were relayed.
#[derive(Debug, Default)]
struct Shown {
    alice: Vec<Value>,
    bob: Vec<Value>,
}

impl Pair {
    fn spawn(alice_home: &Path, bob_home: &Path) -> Self {
        Self::spawn_with(alice_home, bob_home, &[])
    }

    fn spawn_with(alice_home: &Path, bob_home: &Path, alice_args: &[&str]) -> Self {
        Self {
            alice: Rpc::spawn("alice", alice_home, alice_args),
            bob: Rpc::spawn("bob", bob_home, &[]),
        }
    }

    /// Runs `command` on one side, then relays wire events both ways until both are quiet.
    fn run(&mut self, on_alice: bool, command: Value) -> Shown {
        let mut shown = Shown::default();
        let first = if on_alice {
            self.alice.command(command)
        } else {
            self.bob.command(command)
        };
        let mut pending = vec![(on_alice, first)];
        let mut rounds = 0;
        while let Some((from_alice, events)) = pending.pop() {
            rounds += 1;
            assert!(rounds < 200, "relay does not settle");
            for event in events {
                if event["event"] == "wire" {
                    let (to, peer) = if from_alice {
                        (&mut self.bob, "alice")
                    } else {
                        (&mut self.alice, "bob")
                    };
                    assert_eq!(event["peer"], if from_alice { "bob" } else { "alice" });
                    let data = event["data"].as_str().unwrap();
                    assert!(
                        !data.contains(['\r', '\n', '\0']),
                        "irc wire data with a line break: {data:?}"
                    );
                    let reply = to.command(json!({"cmd":"receive","peer":peer,"data":data}));
                    pending.insert(0, (!from_alice, reply));
                } else if from_alice {
                    shown.alice.push(event);
                } else {
                    shown.bob.push(event);
                }
            }
        }
        shown
    }
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
    let mut pair = Pair::spawn(&alice_home, &bob_home);
    let alice_fp = pair.alice.fingerprint();
    let bob_fp = pair.bob.fingerprint();
    assert_ne!(alice_fp, bob_fp);

    // start: both sides encrypted, each with the other's fingerprint, untrusted.
    let shown = pair.run(true, json!({"cmd":"start","peer":"bob","id":"start"}));
    let a = last_state(&shown.alice, "bob");
    assert_eq!(a["state"], "encrypted");
    assert_eq!(a["fingerprint"], bob_fp.as_str());
    assert_eq!(a["trusted"], false);
    let b = last_state(&shown.bob, "alice");
    assert_eq!(b["state"], "encrypted");
    assert_eq!(b["fingerprint"], alice_fp.as_str());
    assert_eq!(b["trusted"], false);

    // Messages both ways arrive encrypted, with line breaks and non-ASCII kept.
    for (on_alice, text) in [
        (true, "hi Bob"),
        (false, "hi Alice\nsecond line"),
        (true, "héllo ✓"),
        (true, "burst"),
    ] {
        let peer = if on_alice { "bob" } else { "alice" };
        let shown = pair.run(on_alice, json!({"cmd":"send","peer":peer,"text":text}));
        let received = if on_alice { &shown.bob } else { &shown.alice };
        let received = messages(received);
        assert_eq!(received.len(), 1, "{shown:?}");
        assert_eq!(received[0]["text"], text);
        assert_eq!(received[0]["encrypted"], true);
        assert_eq!(received[0]["peer"], if on_alice { "alice" } else { "bob" });
    }

    // trust: a state event with trusted:true.
    let events = pair
        .alice
        .command(json!({"cmd":"trust","peer":"bob","id":1}));
    let state = last_state(&events, "bob");
    assert_eq!(state["trusted"], true);
    assert_eq!(state["fingerprint"], bob_fp.as_str());
    assert_eq!(state["state"], "encrypted");
    // distrust and trust again on Bob's side too.
    let events = pair.bob.command(json!({"cmd":"trust","peer":"alice"}));
    assert_eq!(last_state(&events, "alice")["trusted"], true);
    let events = pair.bob.command(json!({"cmd":"distrust","peer":"alice"}));
    assert_eq!(last_state(&events, "alice")["trusted"], false);

    // Restart both on the same homes: same fingerprints, Alice still trusts Bob.
    let Pair { alice, bob } = pair;
    assert!(alice.close().success());
    assert!(bob.close().success());
    let mut pair = Pair::spawn(&alice_home, &bob_home);
    assert_eq!(pair.alice.fingerprint(), alice_fp);
    assert_eq!(pair.bob.fingerprint(), bob_fp);
    let shown = pair.run(false, json!({"cmd":"start","peer":"alice"}));
    let a = last_state(&shown.alice, "bob");
    assert_eq!(a["state"], "encrypted");
    assert_eq!(a["fingerprint"], bob_fp.as_str());
    assert_eq!(a["trusted"], true, "trust survives a restart");
    let b = last_state(&shown.bob, "alice");
    assert_eq!(b["trusted"], false, "distrust survives a restart");

    // finish: Bob sees finished, and his next send is refused.
    let shown = pair.run(true, json!({"cmd":"finish","peer":"bob"}));
    assert_eq!(last_state(&shown.alice, "bob")["state"], "plaintext");
    assert_eq!(last_state(&shown.bob, "alice")["state"], "finished");
    let events = pair
        .bob
        .command(json!({"cmd":"send","peer":"alice","text":"still there?"}));
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

    let Pair { alice, bob } = pair;
    assert!(alice.close().success());
    assert!(bob.close().success());
}

#[test]
fn malformed_lines_are_bad_requests_and_the_engine_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut rpc = Rpc::spawn("alice", dir.path(), &[]);
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
        rpc.write_raw(&format!("{line}\n"));
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
    let events = rpc.command(json!({"cmd":"nope","id":"x1"}));
    assert_eq!(events[0]["code"], "bad_request");
    // Invalid UTF-8 and a blank line (skipped without any event).
    rpc.stdin
        .as_mut()
        .unwrap()
        .write_all(b"\xff\xfe\n\n   \n")
        .unwrap();
    let (events, id) = rpc.until_done();
    assert_eq!(id, Value::Null);
    assert_eq!(events[0]["code"], "bad_request");
    // Still running.
    assert_eq!(rpc.fingerprint(), fp);
    assert!(rpc.close().success());
}

#[test]
fn smp_verifies_the_peer_and_marks_it_trusted() {
    let (alice_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut pair = Pair::spawn(alice_home.path(), bob_home.path());
    // Before a session: an error, not a crash.
    let shown = pair.run(true, json!({"cmd":"smp","peer":"bob","secret":"x"}));
    assert_eq!(shown.alice[0]["code"], "no_session");
    pair.run(true, json!({"cmd":"start","peer":"bob"}));
    // Nothing to answer yet.
    let shown = pair.run(
        false,
        json!({"cmd":"smp_respond","peer":"alice","secret":"x"}),
    );
    assert_eq!(shown.bob[0]["code"], "no_smp_request");

    // With a question, answered right.
    let shown = pair.run(
        true,
        json!({"cmd":"smp","peer":"bob","secret":"blue","question":"Colour of the door?"}),
    );
    let asked = shown.bob.iter().find(|e| e["event"] == "smp").unwrap();
    assert_eq!(asked["result"], "question");
    assert_eq!(asked["question"], "Colour of the door?");
    let shown = pair.run(
        false,
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
    let shown = pair.run(false, json!({"cmd":"smp","peer":"alice","secret":"one"}));
    assert_eq!(results(&shown.alice), ["request"]);
    let shown = pair.run(
        true,
        json!({"cmd":"smp_respond","peer":"bob","secret":"two"}),
    );
    assert_eq!(results(&shown.alice), ["failure"]);
    assert_eq!(results(&shown.bob), ["failure"]);

    // Abort: both sides report it.
    let shown = pair.run(true, json!({"cmd":"smp","peer":"bob","secret":"s"}));
    assert_eq!(results(&shown.bob), ["request"]);
    let shown = pair.run(false, json!({"cmd":"smp_abort","peer":"alice"}));
    assert_eq!(results(&shown.bob), ["aborted"]);
    assert_eq!(results(&shown.alice), ["aborted"]);
}

#[test]
fn fragmentation_keeps_every_line_under_the_limit() {
    let (alice_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Alice fragments everything to 300 bytes (--max-message-size); Bob, to 250 for Alice
    // (the max_message_size command).
    let mut pair = Pair::spawn_with(
        alice_home.path(),
        bob_home.path(),
        &["--max-message-size", "300"],
    );
    pair.run(
        false,
        json!({"cmd":"max_message_size","peer":"alice","size":250}),
    );
    let shown = pair.run(true, json!({"cmd":"start","peer":"bob"}));
    assert_eq!(last_state(&shown.alice, "bob")["state"], "encrypted");
    let long: String = "Fragments must reassemble exactly. ".repeat(60);
    let shown = pair.run(true, json!({"cmd":"send","peer":"bob","text":long}));
    assert_eq!(messages(&shown.bob)[0]["text"], long.as_str());
    let shown = pair.run(false, json!({"cmd":"send","peer":"alice","text":long}));
    assert_eq!(messages(&shown.alice)[0]["text"], long.as_str());
    // Every OTR line each side wrote fits its limit.
    for (side, limit) in [(&mut pair.alice, 300), (&mut pair.bob, 250)] {
        let events = side.command(
            json!({"cmd":"send","peer":if limit == 300 {"bob"} else {"alice"},"text":long}),
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
    let mut rpc = Rpc::spawn("alice", dir.path(), &[]);
    for id in [
        json!(42),
        json!(-1.5),
        json!("abc"),
        json!({"a":[1,{"b":null}]}),
        json!([1, 2]),
        json!(true),
    ] {
        rpc.write_raw(&format!("{}\n", json!({"cmd":"fingerprint","id":id})));
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
    assert!(rpc.close().success());
}

#[test]
fn pipelined_commands_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut rpc = Rpc::spawn("alice", dir.path(), &["--policy", "manual"]);
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
    assert!(rpc.close().success());
}

#[test]
fn policies_are_accepted_and_an_unknown_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for policy in ["manual", "opportunistic", "always"] {
        let mut rpc = Rpc::spawn(
            "alice",
            dir.path(),
            &["--policy", policy, "--protocol", "irc"],
        );
        rpc.fingerprint();
        assert!(rpc.close().success());
    }
    // always: nothing goes out in plaintext.
    let mut rpc = Rpc::spawn("alice", dir.path(), &["--policy", "always"]);
    let events = rpc.command(json!({"cmd":"send","peer":"bob","text":"secret"}));
    assert!(events
        .iter()
        .all(|e| e["event"] != "wire" || !e["data"].as_str().unwrap().contains("secret")));
    assert!(rpc.close().success());

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
    let mut alice = Rpc::spawn("alice", dir.path(), &[]);
    let mut bob = Rpc::spawn("bob", dir.path(), &[]);
    let (a, b) = (alice.fingerprint(), bob.fingerprint());
    assert_ne!(a, b);
    assert!(alice.close().success());
    assert!(bob.close().success());
    let mut alice = Rpc::spawn("alice", dir.path(), &[]);
    let mut bob = Rpc::spawn("bob", dir.path(), &[]);
    assert_eq!(alice.fingerprint(), a);
    assert_eq!(bob.fingerprint(), b);
}
