//! Interoperability with python-potr, an independent pure-Python OTR *version 2* implementation.
//!
//! Each test runs a real `offrecord rpc` (temporary `--home`) and `tests/potr/potr_peer.py`
//! (python-potr behind the same JSON-lines engine protocol) and relays the `wire` events between
//! them. Every read has a timeout, so a hang fails the test instead of blocking it. Every wire
//! line is recorded; a failing assertion prints the transcript.
//!
//! Needs Debian's python3-potr and python3-pycryptodome for `/usr/bin/python3`
//! (`scripts/install-test-deps.sh` installs them). The tests fail, never skip, without them.
//! `POTR_PYTHON` overrides the interpreter; `POTR_SEED` the seed of the random texts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long any single event may take to arrive.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The name each side uses for the other.
const OFF_NAME: &str = "offrecord";
const POTR_NAME: &str = "potr";

/// The python-potr peer script.
fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/potr/potr_peer.py")
}

/// Debian's python (python3-potr is a Debian package; a pyenv python may come first in PATH).
fn python() -> String {
    std::env::var("POTR_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_owned())
}

/// Fails (does not skip) with instructions when python-potr cannot be imported.
fn require_potr() {
    let python = python();
    let out = Command::new(&python)
        .args(["-c", "import potr, Cryptodome"])
        .output();
    match out {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "python-potr is not usable with {python}: {}\n\
             Install it with scripts/install-test-deps.sh (Debian packages python3-potr and \
             python3-pycryptodome), or point POTR_PYTHON at a python that has them.",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run {python} ({e}): the python-potr interop tests need Debian's python3 with \
             python3-potr; run scripts/install-test-deps.sh"
        ),
    }
}

/// Where potr's DSA keys are kept between runs (generating one in Python takes a while).
fn potr_key(account: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("potr-keys");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{account}.key"))
}

/// Which process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Off,
    Potr,
}

impl Side {
    fn other(self) -> Self {
        match self {
            Side::Off => Side::Potr,
            Side::Potr => Side::Off,
        }
    }

    /// The name this side gives its peer.
    fn peer_name(self) -> &'static str {
        match self {
            Side::Off => POTR_NAME,
            Side::Potr => OFF_NAME,
        }
    }
}

/// One running engine-protocol process.
struct Proc {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Proc {
    fn spawn(name: &'static str, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
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
            name,
            child,
            stdin,
            lines: rx,
        }
    }

    fn next_event(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(READ_TIMEOUT)
            .unwrap_or_else(|e| panic!("{}: no event within {READ_TIMEOUT:?}: {e}", self.name));
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: output is not JSON ({e}): {line}", self.name))
    }

    /// Sends one command; returns the events before its `done` (whose id must echo ours).
    fn command(&mut self, command: &Value) -> Vec<Value> {
        let id = command.get("id").cloned().unwrap_or(Value::Null);
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{command}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut events = Vec::new();
        loop {
            let event = self.next_event();
            if event["event"] == "done" {
                assert_eq!(event["id"], id, "{}: done id for {command}", self.name);
                return events;
            }
            events.push(event);
        }
    }

    fn fingerprint(&mut self) -> String {
        let events = self.command(&json!({"cmd":"fingerprint","id":"fp"}));
        assert_eq!(events.len(), 1, "{}: {events:?}", self.name);
        assert_eq!(events[0]["event"], "fingerprint");
        let fp = events[0]["fingerprint"].as_str().unwrap().to_owned();
        assert_libotr_fingerprint(&fp);
        fp
    }

    /// Closes stdin and waits up to 10 s for a clean exit.
    fn close(mut self) -> bool {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
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

/// Options for one pair of processes.
#[derive(Default)]
struct Options<'a> {
    off_args: &'a [&'a str],
    potr_args: &'a [&'a str],
}

/// offrecord and potr, relayed by the test.
struct Pair {
    off: Proc,
    potr: Proc,
    /// Wire lines not yet delivered: (destination, data).
    pending: VecDeque<(Side, String)>,
    /// Every wire line so far: (sender, data).
    transcript: Vec<(Side, String)>,
    _home: tempfile::TempDir,
}

/// The non-wire events each side produced.
#[derive(Debug, Default)]
struct Shown {
    off: Vec<Value>,
    potr: Vec<Value>,
}

impl Shown {
    fn of(&self, side: Side) -> &[Value] {
        match side {
            Side::Off => &self.off,
            Side::Potr => &self.potr,
        }
    }

    fn push(&mut self, side: Side, event: Value) {
        match side {
            Side::Off => self.off.push(event),
            Side::Potr => self.potr.push(event),
        }
    }

    fn extend(&mut self, other: Shown) {
        self.off.extend(other.off);
        self.potr.extend(other.potr);
    }
}

impl Pair {
    /// `potr_account` names potr's cached key file: one per test, as tests run in parallel.
    fn spawn(potr_account: &str, options: &Options<'_>) -> Self {
        require_potr();
        let home = tempfile::tempdir().unwrap();
        let mut off = Command::new(env!("CARGO_BIN_EXE_offrecord"));
        off.args(["rpc", "--account", "offrecord@irc", "--home"])
            .arg(home.path())
            .args(options.off_args);
        let mut potr = Command::new(python());
        potr.arg(peer_script())
            .args(["--account", potr_account, "--key"])
            .arg(potr_key(potr_account))
            .args(options.potr_args);
        Self {
            off: Proc::spawn("offrecord", off),
            potr: Proc::spawn("potr", potr),
            pending: VecDeque::new(),
            transcript: Vec::new(),
            _home: home,
        }
    }

    fn proc(&mut self, side: Side) -> &mut Proc {
        match side {
            Side::Off => &mut self.off,
            Side::Potr => &mut self.potr,
        }
    }

    /// The wire transcript, for failure messages.
    fn dump(&self) -> String {
        let mut out = String::from("wire transcript:\n");
        for (i, (from, data)) in self.transcript.iter().enumerate() {
            let arrow = match from {
                Side::Off => "offrecord -> potr",
                Side::Potr => "potr -> offrecord",
            };
            let _ = writeln!(out, "  [{i}] {arrow}: {data}");
        }
        out
    }

    /// Runs a command on `side` without delivering what it sends: wire lines are queued.
    fn queue(&mut self, side: Side, command: Value) -> Shown {
        let events = self.proc(side).command(&command);
        self.take(side, events)
    }

    /// Sorts `side`'s events: wire lines go to the queue (and the transcript), the rest is
    /// returned.
    fn take(&mut self, side: Side, events: Vec<Value>) -> Shown {
        let mut shown = Shown::default();
        for event in events {
            if event["event"] == "wire" {
                assert_eq!(event["peer"], side.peer_name(), "{}", self.dump());
                let data = event["data"].as_str().unwrap().to_owned();
                assert!(
                    !data.contains(['\r', '\n', '\0']),
                    "wire data with a line break or NUL: {data:?}\n{}",
                    self.dump()
                );
                self.transcript.push((side, data.clone()));
                self.pending.push_back((side.other(), data));
            } else {
                shown.push(side, event);
            }
        }
        shown
    }

    /// Delivers queued wire lines (and what they cause) until both sides are quiet.
    fn flush(&mut self) -> Shown {
        let mut shown = Shown::default();
        let mut delivered = 0;
        while let Some((to, data)) = self.pending.pop_front() {
            delivered += 1;
            assert!(
                delivered < 100_000,
                "relay does not settle\n{}",
                self.dump()
            );
            let peer = to.peer_name();
            let events = self
                .proc(to)
                .command(&json!({"cmd":"receive","peer":peer,"data":data}));
            shown.extend(self.take(to, events));
        }
        shown
    }

    /// Runs a command on `side`, then relays until both sides are quiet.
    fn run(&mut self, side: Side, command: Value) -> Shown {
        let mut shown = self.queue(side, command);
        shown.extend(self.flush());
        shown
    }

    /// The transcript lines from index `from` on.
    fn wire_since(&self, from: usize) -> &[(Side, String)] {
        &self.transcript[from..]
    }
}

fn last_state<'a>(events: &'a [Value], peer: &str) -> Option<&'a Value> {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == "state" && e["peer"] == peer)
}

fn errors(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "error").collect()
}

/// Runs `start` on `side` and checks the v2 key exchange: both encrypted, each with the
/// other's fingerprint, every OTR-encoded line version 2, no errors.
fn key_exchange(pair: &mut Pair, side: Side) {
    let off_fp = pair.off.fingerprint();
    let potr_fp = pair.potr.fingerprint();
    assert_ne!(off_fp, potr_fp);
    let mark = pair.transcript.len();
    let shown = pair.run(
        side,
        json!({"cmd":"start","peer":side.peer_name(),"id":"start"}),
    );
    let dump = pair.dump();
    for s in [Side::Off, Side::Potr] {
        assert!(
            errors(shown.of(s)).is_empty(),
            "{s:?} reported errors during the key exchange: {shown:?}\n{dump}"
        );
    }
    let wire = pair.wire_since(mark);
    let (first_from, query) = &wire[0];
    assert_eq!(*first_from, side, "{dump}");
    match side {
        Side::Off => assert!(query.starts_with("?OTRv23?"), "offrecord's query: {dump}"),
        Side::Potr => assert!(query.starts_with("?OTRv2?"), "potr's query: {dump}"),
    }
    for (from, data) in &wire[1..] {
        // DH commit, DH key, reveal signature, signature: ?OTR: + base64 of 00 02 type.
        assert!(
            data.starts_with("?OTR:AAI") && data.ends_with('.'),
            "not an OTR v2 key exchange message from {from:?}: {data}\n{dump}"
        );
    }
    let types: Vec<&str> = wire[1..].iter().map(|(_, d)| &d[..9]).collect();
    assert_eq!(
        types,
        ["?OTR:AAIC", "?OTR:AAIK", "?OTR:AAIR", "?OTR:AAIS"],
        "the v2 AKE: DH commit, DH key, reveal signature, signature\n{dump}"
    );

    let off = last_state(&shown.off, POTR_NAME)
        .unwrap_or_else(|| panic!("offrecord reported no state: {shown:?}\n{dump}"));
    assert_eq!(off["state"], "encrypted", "{shown:?}\n{dump}");
    assert_eq!(off["fingerprint"], potr_fp.as_str());
    assert_eq!(off["trusted"], false);
    let potr = last_state(&shown.potr, OFF_NAME)
        .unwrap_or_else(|| panic!("potr reported no state: {shown:?}\n{dump}"));
    assert_eq!(potr["state"], "encrypted", "{shown:?}\n{dump}");
    assert_eq!(potr["fingerprint"], off_fp.as_str());
}

#[test]
fn key_exchange_started_by_offrecord() {
    let mut pair = Pair::spawn("potr-ake-off", &Options::default());
    key_exchange(&mut pair, Side::Off);
    // One message each way proves the keys agree.
    exchange_one(&mut pair, Side::Off, "hello potr");
    exchange_one(&mut pair, Side::Potr, "hello offrecord");
    close(pair);
}

#[test]
fn key_exchange_started_by_potr() {
    let mut pair = Pair::spawn("potr-ake-potr", &Options::default());
    key_exchange(&mut pair, Side::Potr);
    exchange_one(&mut pair, Side::Potr, "hello offrecord");
    exchange_one(&mut pair, Side::Off, "hello potr");
    close(pair);
}

/// Closes both processes; offrecord must exit 0.
fn close(pair: Pair) {
    let Pair { off, potr, .. } = pair;
    assert!(off.close(), "offrecord did not exit cleanly");
    drop(potr);
}

/// Sends one text from `side` and checks it arrives once, unchanged, encrypted, as a v2 data
/// message.
fn exchange_one(pair: &mut Pair, side: Side, text: &str) {
    let mark = pair.transcript.len();
    let shown = pair.run(
        side,
        json!({"cmd":"send","peer":side.peer_name(),"text":text}),
    );
    let mut expected = VecDeque::from([text.to_owned()]);
    check_received(pair, &shown, side.other(), &mut expected);
    assert!(expected.is_empty());
    check_wire(pair, mark, &[text.to_owned()]);
}

/// Checks that `receiver` showed exactly the texts at the front of `expected`, in order,
/// encrypted, and nothing else; pops them.
fn check_received(pair: &Pair, shown: &Shown, receiver: Side, expected: &mut VecDeque<String>) {
    for s in [Side::Off, Side::Potr] {
        let errs = errors(shown.of(s));
        assert!(errs.is_empty(), "{s:?} errors: {errs:?}\n{}", pair.dump());
        if s != receiver {
            assert!(
                shown.of(s).iter().all(|e| e["event"] != "message"),
                "{s:?} showed a message it should not: {:?}",
                shown.of(s)
            );
        }
    }
    for event in shown.of(receiver) {
        match event["event"].as_str() {
            Some("message") => {
                let want = expected.pop_front().unwrap_or_else(|| {
                    panic!("{receiver:?} showed an unexpected message: {event}")
                });
                assert_eq!(
                    event["text"].as_str(),
                    Some(want.as_str()),
                    "{receiver:?} showed a changed text"
                );
                assert_eq!(event["encrypted"], true, "{receiver:?}: {event}");
                assert_eq!(event["peer"], receiver.peer_name());
            }
            Some("state") => assert_eq!(event["state"], "encrypted", "{event}"),
            _ => panic!("{receiver:?}: unexpected event {event}"),
        }
    }
}

/// Checks every wire line since `mark`: a v2 data message, containing none of `texts`.
fn check_wire(pair: &Pair, mark: usize, texts: &[String]) {
    for (from, data) in pair.wire_since(mark) {
        assert!(
            data.starts_with("?OTR:AAID") && data.ends_with('.'),
            "not an OTR v2 data message from {from:?}: {data}"
        );
        for text in texts {
            // Short texts could occur in base64 by chance; longer ones must not appear.
            if text.len() >= 12 {
                assert!(
                    !data.contains(text.as_str()),
                    "plaintext on the wire: {data}"
                );
            }
        }
    }
}

/// A small deterministic PRNG (xorshift64*), so a failure can be reproduced with POTR_SEED.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("POTR_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("potr_interop: POTR_SEED={seed}");
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Random UTF-8 of `1..=max` bytes without NUL: ASCII (with controls, line breaks, `?OTR`
    /// look-alikes), Latin-1, other BMP scripts and astral characters such as emoji.
    fn text(&mut self, max: usize) -> String {
        let target = 1 + self.below(max as u64) as usize;
        let mut s = String::new();
        loop {
            let c = match self.below(10) {
                0..=4 => char::from_u32(0x20 + self.below(0x5f) as u32),
                5 => char::from_u32(1 + self.below(0x7f) as u32), // controls, \n, \r, \t
                6 => char::from_u32(0xa0 + self.below(0x160) as u32),
                7 => char::from_u32(0x400 + self.below(0xd000 - 0x400) as u32),
                8 => char::from_u32(0xe000 + self.below(0x2000) as u32),
                _ => char::from_u32(0x1_0000 + self.below(0x1_0000) as u32),
            };
            let Some(c) = c else { continue };
            if s.len() + c.len_utf8() > target {
                if s.is_empty() {
                    continue;
                }
                return s;
            }
            s.push(c);
            if s.len() == target {
                return s;
            }
        }
    }
}

#[test]
fn messages_both_ways_alternating_and_in_bursts() {
    let mut pair = Pair::spawn("potr-messages", &Options::default());
    key_exchange(&mut pair, Side::Off);
    let mut rng = Rng::new();
    let mark = pair.transcript.len();
    let mut all_texts = Vec::new();

    // 100 each way, strictly alternating, each delivered before the next is sent.
    for i in 0..200 {
        let side = if i % 2 == 0 { Side::Off } else { Side::Potr };
        let text = rng.text(2000);
        exchange_one(&mut pair, side, &text);
        all_texts.push(text);
    }

    // 100 each way in bursts: both sides send 1..=12 messages before anything is delivered,
    // so messages cross and each side sends several under the same keys before the other's
    // next DH key arrives.
    let mut left = [100_usize, 100];
    while left[0] + left[1] > 0 {
        let mut expected_at_potr = VecDeque::new();
        let mut expected_at_off = VecDeque::new();
        let mut shown = Shown::default();
        let mut sends = Vec::new();
        for (k, side) in [Side::Off, Side::Potr].into_iter().enumerate() {
            let n = (1 + rng.below(12) as usize).min(left[k]);
            left[k] -= n;
            for _ in 0..n {
                sends.push(side);
            }
        }
        // Interleave the two bursts at random.
        for i in (1..sends.len()).rev() {
            sends.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for side in sends {
            let text = rng.text(2000);
            shown.extend(pair.queue(
                side,
                json!({"cmd":"send","peer":side.peer_name(),"text":&text}),
            ));
            match side {
                Side::Off => expected_at_potr.push_back(text.clone()),
                Side::Potr => expected_at_off.push_back(text.clone()),
            }
            all_texts.push(text);
        }
        shown.extend(pair.flush());
        // Split the shown events by receiver and check each side in order.
        let at_potr = Shown {
            off: Vec::new(),
            potr: shown.potr.clone(),
        };
        let at_off = Shown {
            off: shown.off.clone(),
            potr: Vec::new(),
        };
        check_received(&pair, &at_potr, Side::Potr, &mut expected_at_potr);
        check_received(&pair, &at_off, Side::Off, &mut expected_at_off);
        assert!(
            expected_at_potr.is_empty() && expected_at_off.is_empty(),
            "lost messages: potr still expects {}, offrecord {}\n{}",
            expected_at_potr.len(),
            expected_at_off.len(),
            pair.dump()
        );
    }
    check_wire(&pair, mark, &all_texts);
    close(pair);
}

/// `finish` on `side`: the other side reports finished and refuses to send in plaintext.
fn finish_from(side: Side, account: &str) {
    let mut pair = Pair::spawn(account, &Options::default());
    key_exchange(&mut pair, Side::Off);
    let mark = pair.transcript.len();
    let shown = pair.run(side, json!({"cmd":"finish","peer":side.peer_name()}));
    let dump = pair.dump();
    let wire = pair.wire_since(mark);
    assert_eq!(
        wire.len(),
        1,
        "one data message with the disconnect TLV\n{dump}"
    );
    assert!(wire[0].1.starts_with("?OTR:AAID"), "{dump}");
    let other = side.other();
    let state = last_state(shown.of(other), other.peer_name())
        .unwrap_or_else(|| panic!("{other:?} reported no state: {shown:?}\n{dump}"));
    assert_eq!(state["state"], "finished", "{shown:?}\n{dump}");
    let mine = last_state(shown.of(side), side.peer_name())
        .unwrap_or_else(|| panic!("{side:?} reported no state: {shown:?}\n{dump}"));
    assert_eq!(mine["state"], "plaintext", "{shown:?}\n{dump}");

    // The finished side does not send the next message in plaintext.
    let mark = pair.transcript.len();
    let shown = pair.queue(
        other,
        json!({"cmd":"send","peer":other.peer_name(),"text":"still there?"}),
    );
    assert!(
        pair.wire_since(mark).is_empty(),
        "{other:?} sent after finished: {}",
        pair.dump()
    );
    let errs = errors(shown.of(other));
    assert_eq!(errs.len(), 1, "{shown:?}");
    assert_eq!(errs[0]["code"], "finished");
    close(pair);
}

#[test]
fn finish_from_offrecord() {
    finish_from(Side::Off, "potr-finish-off");
}

#[test]
fn finish_from_potr() {
    finish_from(Side::Potr, "potr-finish-potr");
}

/// Fragmented traffic: key exchange started by `starter`, then texts both ways.
fn fragmented(pair: &mut Pair, starter: Side) {
    let off_fp = pair.off.fingerprint();
    let potr_fp = pair.potr.fingerprint();
    let shown = pair.run(starter, json!({"cmd":"start","peer":starter.peer_name()}));
    let dump = pair.dump();
    for s in [Side::Off, Side::Potr] {
        assert!(
            errors(shown.of(s)).is_empty(),
            "{s:?} errors: {shown:?}\n{dump}"
        );
    }
    let off = last_state(&shown.off, POTR_NAME)
        .unwrap_or_else(|| panic!("offrecord reported no state: {shown:?}\n{dump}"));
    assert_eq!(off["state"], "encrypted");
    assert_eq!(off["fingerprint"], potr_fp.as_str());
    let potr = last_state(&shown.potr, OFF_NAME)
        .unwrap_or_else(|| panic!("potr reported no state: {shown:?}\n{dump}"));
    assert_eq!(potr["state"], "encrypted");
    assert_eq!(potr["fingerprint"], off_fp.as_str());

    let mut rng = Rng::new();
    for i in 0..20 {
        let side = if i % 2 == 0 { Side::Potr } else { Side::Off };
        let text = rng.text(2000);
        let mark = pair.transcript.len();
        let shown = pair.run(
            side,
            json!({"cmd":"send","peer":side.peer_name(),"text":&text}),
        );
        let mut expected = VecDeque::from([text]);
        check_received(pair, &shown, side.other(), &mut expected);
        assert!(expected.is_empty(), "lost\n{}", pair.dump());
        for (from, data) in pair.wire_since(mark) {
            assert!(
                data.starts_with("?OTR,") || data.starts_with("?OTR:AAID"),
                "{from:?}: {data}"
            );
        }
    }
}

/// potr fragments everything it sends (v2 fragments `?OTR,k,n,piece,`) to 300 bytes;
/// offrecord must reassemble them, during the key exchange and after.
#[test]
fn potr_fragments_reassembled_by_offrecord() {
    let mut pair = Pair::spawn(
        "potr-frag-in",
        &Options {
            potr_args: &["--max-message-size", "300"],
            ..Options::default()
        },
    );
    fragmented(&mut pair, Side::Potr);
    let potr_fragments = pair
        .transcript
        .iter()
        .filter(|(from, d)| *from == Side::Potr && d.starts_with("?OTR,"))
        .count();
    assert!(
        potr_fragments > 0,
        "potr sent no fragments\n{}",
        pair.dump()
    );
    for (from, data) in &pair.transcript {
        if *from == Side::Potr {
            assert!(data.len() <= 300, "potr sent {} bytes", data.len());
        }
    }
    close(pair);
}

/// offrecord fragments to 300 bytes; potr reassembles.
#[test]
fn offrecord_fragments_reassembled_by_potr() {
    let mut pair = Pair::spawn(
        "potr-frag-out",
        &Options {
            off_args: &["--max-message-size", "300"],
            ..Options::default()
        },
    );
    fragmented(&mut pair, Side::Off);
    let mut fragments = 0;
    for (from, data) in &pair.transcript {
        if *from == Side::Off {
            assert!(data.len() <= 300, "offrecord sent {} bytes", data.len());
            // A v2 conversation uses v2 fragments (no instance tags): `?OTR,k,n,piece,`.
            assert!(
                !data.starts_with("?OTR|"),
                "v3 fragment in a v2 conversation: {data}"
            );
            fragments += usize::from(data.starts_with("?OTR,"));
        }
    }
    assert!(
        fragments > 0,
        "offrecord sent no fragments\n{}",
        pair.dump()
    );
    close(pair);
}

/// SMP started on `initiator` (with an optional question), answered on the other side.
/// Returns what both sides showed during the answer.
fn smp(pair: &mut Pair, initiator: Side, question: Option<&str>, secrets: (&str, &str)) -> Shown {
    let mut command = json!({"cmd":"smp","peer":initiator.peer_name(),"secret":secrets.0});
    if let Some(q) = question {
        command["question"] = json!(q);
    }
    let shown = pair.run(initiator, command);
    let responder = initiator.other();
    let dump = pair.dump();
    let request = shown
        .of(responder)
        .iter()
        .find(|e| e["event"] == "smp")
        .unwrap_or_else(|| panic!("{responder:?} got no SMP request: {shown:?}\n{dump}"));
    match question {
        Some(q) => {
            assert_eq!(request["result"], "question", "{request}");
            assert_eq!(request["question"], q);
        }
        None => assert_eq!(request["result"], "request", "{request}"),
    }
    pair.run(
        responder,
        json!({"cmd":"smp_respond","peer":responder.peer_name(),"secret":secrets.1}),
    )
}

fn smp_results(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["event"] == "smp")
        .filter_map(|e| e["result"].as_str())
        .collect()
}

#[test]
fn smp_started_by_offrecord_with_question() {
    let mut pair = Pair::spawn("potr-smp-off", &Options::default());
    key_exchange(&mut pair, Side::Off);
    let shown = smp(
        &mut pair,
        Side::Off,
        Some("Our first café?"),
        ("Zürich", "Zürich"),
    );
    assert_eq!(smp_results(&shown.off), ["success"], "{shown:?}");
    assert_eq!(smp_results(&shown.potr), ["success"], "{shown:?}");
    // offrecord, the asker, now trusts potr's fingerprint.
    assert_eq!(last_state(&shown.off, POTR_NAME).unwrap()["trusted"], true);
    close(pair);
}

#[test]
fn smp_started_by_potr() {
    let mut pair = Pair::spawn("potr-smp-potr", &Options::default());
    key_exchange(&mut pair, Side::Off);
    let shown = smp(
        &mut pair,
        Side::Potr,
        None,
        ("shared secret", "shared secret"),
    );
    assert_eq!(smp_results(&shown.off), ["success"], "{shown:?}");
    assert_eq!(smp_results(&shown.potr), ["success"], "{shown:?}");
    assert_eq!(last_state(&shown.off, POTR_NAME).unwrap()["trusted"], true);
    close(pair);
}

#[test]
fn smp_with_different_secrets_fails() {
    let mut pair = Pair::spawn("potr-smp-fail", &Options::default());
    key_exchange(&mut pair, Side::Off);
    // offrecord asks, potr answers wrongly: offrecord (the initiator) learns it from the
    // last SMP message. potr answers a failed check with an SMP abort instead of libotr's
    // final message, so offrecord may also report `aborted` after `failure`.
    let shown = smp(&mut pair, Side::Off, None, ("right", "wrong"));
    eprintln!("smp with different secrets: {shown:?}");
    let off = smp_results(&shown.off);
    assert!(
        off.first() == Some(&"failure") || off == ["aborted"],
        "offrecord: {shown:?}"
    );
    let potr = smp_results(&shown.potr);
    assert!(potr.contains(&"failure"), "potr: {shown:?}");
    assert_ne!(
        last_state(&shown.off, POTR_NAME).map(|s| &s["trusted"]),
        Some(&json!(true))
    );
    close(pair);
}

#[test]
fn smp_started_by_potr_with_different_secrets_fails() {
    let mut pair = Pair::spawn("potr-smp-fail2", &Options::default());
    key_exchange(&mut pair, Side::Off);
    // potr asks, offrecord answers wrongly: offrecord (the responder) learns it from SMP3 and
    // sends SMP4; potr learns it from SMP4 and then sends an abort, which offrecord may report.
    let shown = smp(&mut pair, Side::Potr, None, ("right", "wrong"));
    eprintln!("smp started by potr with different secrets: {shown:?}");
    let off = smp_results(&shown.off);
    assert_eq!(off.first(), Some(&"failure"), "offrecord: {shown:?}");
    assert_eq!(smp_results(&shown.potr), ["failure"], "potr: {shown:?}");
    assert_ne!(
        last_state(&shown.off, POTR_NAME).map(|s| &s["trusted"]),
        Some(&json!(true))
    );
    close(pair);
}
