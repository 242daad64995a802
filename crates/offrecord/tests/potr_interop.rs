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
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use testkit::{Events, JsonLines, Relay, Side};

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

/// offrecord is Alice in the relay, potr Bob.
const OFF: Side = Side::Alice;
const POTR: Side = Side::Bob;

/// The name `side` gives its peer.
fn peer_name(side: Side) -> &'static str {
    match side {
        OFF => POTR_NAME,
        POTR => OFF_NAME,
    }
}

/// What each process reported while lines were relayed (offrecord's as Alice's).
type Shown = Events<Value, Value>;

/// Options for one pair of processes.
#[derive(Default)]
struct Options<'a> {
    off_args: &'a [&'a str],
    potr_args: &'a [&'a str],
}

/// offrecord and potr, relayed by the test, and offrecord's home.
struct Pair {
    relay: Relay<JsonLines, JsonLines>,
    _home: tempfile::TempDir,
}

impl Deref for Pair {
    type Target = Relay<JsonLines, JsonLines>;
    fn deref(&self) -> &Self::Target {
        &self.relay
    }
}

impl DerefMut for Pair {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.relay
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
        let relay = Relay::new(
            JsonLines::spawn("offrecord", off, READ_TIMEOUT),
            JsonLines::spawn("potr", potr, READ_TIMEOUT),
        )
        .named(OFF_NAME, POTR_NAME);
        Self { relay, _home: home }
    }

    /// Runs a command on `side` without delivering what it sends: returns its wire lines.
    fn queue(&mut self, side: Side, command: &Value) -> Vec<(Side, String)> {
        self.hold(side, |p| p.command(command))
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
    let off_fp = pair.alice.fingerprint();
    let potr_fp = pair.bob.fingerprint();
    assert_ne!(off_fp, potr_fp);
    let mark = pair.wire.len();
    let shown = pair.run(
        side,
        json!({"cmd":"start","peer":peer_name(side),"id":"start"}),
    );
    let dump = pair.dump();
    for s in [OFF, POTR] {
        assert!(
            errors(shown.of(s)).is_empty(),
            "{s:?} reported errors during the key exchange: {shown:?}\n{dump}"
        );
    }
    let wire = &pair.wire[mark..];
    let (first_from, query) = &wire[0];
    assert_eq!(*first_from, side, "{dump}");
    match side {
        OFF => assert!(query.starts_with("?OTRv23?"), "offrecord's query: {dump}"),
        POTR => assert!(query.starts_with("?OTRv2?"), "potr's query: {dump}"),
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

    let off = last_state(&shown.alice, POTR_NAME)
        .unwrap_or_else(|| panic!("offrecord reported no state: {shown:?}\n{dump}"));
    assert_eq!(off["state"], "encrypted", "{shown:?}\n{dump}");
    assert_eq!(off["fingerprint"], potr_fp.as_str());
    assert_eq!(off["trusted"], false);
    let potr = last_state(&shown.bob, OFF_NAME)
        .unwrap_or_else(|| panic!("potr reported no state: {shown:?}\n{dump}"));
    assert_eq!(potr["state"], "encrypted", "{shown:?}\n{dump}");
    assert_eq!(potr["fingerprint"], off_fp.as_str());
}

#[test]
fn key_exchange_started_by_offrecord() {
    let mut pair = Pair::spawn("potr-ake-off", &Options::default());
    key_exchange(&mut pair, OFF);
    // One message each way proves the keys agree.
    exchange_one(&mut pair, OFF, "hello potr");
    exchange_one(&mut pair, POTR, "hello offrecord");
    close(pair);
}

#[test]
fn key_exchange_started_by_potr() {
    let mut pair = Pair::spawn("potr-ake-potr", &Options::default());
    key_exchange(&mut pair, POTR);
    exchange_one(&mut pair, POTR, "hello offrecord");
    exchange_one(&mut pair, OFF, "hello potr");
    close(pair);
}

/// Closes both processes; offrecord must exit 0.
fn close(pair: Pair) {
    let Relay {
        alice: off,
        bob: potr,
        ..
    } = pair.relay;
    assert!(
        off.close().is_some_and(|s| s.success()),
        "offrecord did not exit cleanly"
    );
    drop(potr);
}

/// Sends one text from `side` and checks it arrives once, unchanged, encrypted, as a v2 data
/// message.
fn exchange_one(pair: &mut Pair, side: Side, text: &str) {
    let mark = pair.wire.len();
    let shown = pair.run(
        side,
        json!({"cmd":"send","peer":peer_name(side),"text":text}),
    );
    let mut expected = VecDeque::from([text.to_owned()]);
    check_received(pair, &shown, side.other(), &mut expected);
    assert!(expected.is_empty());
    check_wire(pair, mark, &[text.to_owned()]);
}

/// Checks that `receiver` showed exactly the texts at the front of `expected`, in order,
/// encrypted, and nothing else; pops them.
fn check_received(pair: &Pair, shown: &Shown, receiver: Side, expected: &mut VecDeque<String>) {
    for s in [OFF, POTR] {
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
                assert_eq!(event["peer"], peer_name(receiver));
            }
            Some("state") => assert_eq!(event["state"], "encrypted", "{event}"),
            _ => panic!("{receiver:?}: unexpected event {event}"),
        }
    }
}

/// Checks every wire line since `mark`: a v2 data message, containing none of `texts`.
fn check_wire(pair: &Pair, mark: usize, texts: &[String]) {
    for (from, data) in &pair.wire[mark..] {
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
    key_exchange(&mut pair, OFF);
    let mut rng = Rng::new();
    let mark = pair.wire.len();
    let mut all_texts = Vec::new();

    // 100 each way, strictly alternating, each delivered before the next is sent.
    for i in 0..200 {
        let side = if i % 2 == 0 { OFF } else { POTR };
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
        pair.clear_events();
        let mut pending = Vec::new();
        let mut sends = Vec::new();
        for (k, side) in [OFF, POTR].into_iter().enumerate() {
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
            pending.extend(pair.queue(
                side,
                &json!({"cmd":"send","peer":peer_name(side),"text":&text}),
            ));
            match side {
                OFF => expected_at_potr.push_back(text.clone()),
                POTR => expected_at_off.push_back(text.clone()),
            }
            all_texts.push(text);
        }
        pair.relay(pending);
        let shown = pair.take_events();
        // Split the shown events by receiver and check each side in order.
        let at_potr = Shown {
            alice: Vec::new(),
            bob: shown.bob.clone(),
        };
        let at_off = Shown {
            alice: shown.alice.clone(),
            bob: Vec::new(),
        };
        check_received(&pair, &at_potr, POTR, &mut expected_at_potr);
        check_received(&pair, &at_off, OFF, &mut expected_at_off);
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
    key_exchange(&mut pair, OFF);
    let mark = pair.wire.len();
    let shown = pair.run(side, json!({"cmd":"finish","peer":peer_name(side)}));
    let dump = pair.dump();
    let wire = &pair.wire[mark..];
    assert_eq!(
        wire.len(),
        1,
        "one data message with the disconnect TLV\n{dump}"
    );
    assert!(wire[0].1.starts_with("?OTR:AAID"), "{dump}");
    let other = side.other();
    let state = last_state(shown.of(other), peer_name(other))
        .unwrap_or_else(|| panic!("{other:?} reported no state: {shown:?}\n{dump}"));
    assert_eq!(state["state"], "finished", "{shown:?}\n{dump}");
    let mine = last_state(shown.of(side), peer_name(side))
        .unwrap_or_else(|| panic!("{side:?} reported no state: {shown:?}\n{dump}"));
    assert_eq!(mine["state"], "plaintext", "{shown:?}\n{dump}");

    // The finished side does not send the next message in plaintext.
    let mark = pair.wire.len();
    pair.clear_events();
    let _ = pair.queue(
        other,
        &json!({"cmd":"send","peer":peer_name(other),"text":"still there?"}),
    );
    let shown = pair.take_events();
    assert!(
        pair.wire[mark..].is_empty(),
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
    finish_from(OFF, "potr-finish-off");
}

#[test]
fn finish_from_potr() {
    finish_from(POTR, "potr-finish-potr");
}

/// Fragmented traffic: key exchange started by `starter`, then texts both ways.
fn fragmented(pair: &mut Pair, starter: Side) {
    let off_fp = pair.alice.fingerprint();
    let potr_fp = pair.bob.fingerprint();
    let shown = pair.run(starter, json!({"cmd":"start","peer":peer_name(starter)}));
    let dump = pair.dump();
    for s in [OFF, POTR] {
        assert!(
            errors(shown.of(s)).is_empty(),
            "{s:?} errors: {shown:?}\n{dump}"
        );
    }
    let off = last_state(&shown.alice, POTR_NAME)
        .unwrap_or_else(|| panic!("offrecord reported no state: {shown:?}\n{dump}"));
    assert_eq!(off["state"], "encrypted");
    assert_eq!(off["fingerprint"], potr_fp.as_str());
    let potr = last_state(&shown.bob, OFF_NAME)
        .unwrap_or_else(|| panic!("potr reported no state: {shown:?}\n{dump}"));
    assert_eq!(potr["state"], "encrypted");
    assert_eq!(potr["fingerprint"], off_fp.as_str());

    let mut rng = Rng::new();
    for i in 0..20 {
        let side = if i % 2 == 0 { POTR } else { OFF };
        let text = rng.text(2000);
        let mark = pair.wire.len();
        let shown = pair.run(
            side,
            json!({"cmd":"send","peer":peer_name(side),"text":&text}),
        );
        let mut expected = VecDeque::from([text]);
        check_received(pair, &shown, side.other(), &mut expected);
        assert!(expected.is_empty(), "lost\n{}", pair.dump());
        for (from, data) in &pair.wire[mark..] {
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
    fragmented(&mut pair, POTR);
    let potr_fragments = pair
        .wire
        .iter()
        .filter(|(from, d)| *from == POTR && d.starts_with("?OTR,"))
        .count();
    assert!(
        potr_fragments > 0,
        "potr sent no fragments\n{}",
        pair.dump()
    );
    for (from, data) in &pair.wire {
        if *from == POTR {
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
    fragmented(&mut pair, OFF);
    let mut fragments = 0;
    for (from, data) in &pair.wire {
        if *from == OFF {
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
    let mut command = json!({"cmd":"smp","peer":peer_name(initiator),"secret":secrets.0});
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
        json!({"cmd":"smp_respond","peer":peer_name(responder),"secret":secrets.1}),
    )
}

/// Both report SMP success, and offrecord now trusts potr's fingerprint.
fn assert_verified(shown: &Shown) {
    assert_eq!(smp_results(&shown.alice), ["success"], "{shown:?}");
    assert_eq!(smp_results(&shown.bob), ["success"], "{shown:?}");
    assert_eq!(
        last_state(&shown.alice, POTR_NAME).unwrap()["trusted"],
        true
    );
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
    key_exchange(&mut pair, OFF);
    let shown = smp(
        &mut pair,
        OFF,
        Some("Our first café?"),
        ("Zürich", "Zürich"),
    );
    // offrecord, the asker, now trusts potr's fingerprint.
    assert_verified(&shown);
    close(pair);
}

#[test]
fn smp_started_by_potr() {
    let mut pair = Pair::spawn("potr-smp-potr", &Options::default());
    key_exchange(&mut pair, OFF);
    let shown = smp(&mut pair, POTR, None, ("shared secret", "shared secret"));
    assert_verified(&shown);
    close(pair);
}

#[test]
fn smp_with_different_secrets_fails() {
    let mut pair = Pair::spawn("potr-smp-fail", &Options::default());
    key_exchange(&mut pair, OFF);
    // offrecord asks, potr answers wrongly: offrecord (the initiator) learns it from the
    // last SMP message. potr answers a failed check with an SMP abort instead of libotr's
    // final message, so offrecord may also report `aborted` after `failure`.
    let shown = smp(&mut pair, OFF, None, ("right", "wrong"));
    eprintln!("smp with different secrets: {shown:?}");
    let off = smp_results(&shown.alice);
    assert!(
        off.first() == Some(&"failure") || off == ["aborted"],
        "offrecord: {shown:?}"
    );
    let potr = smp_results(&shown.bob);
    assert!(potr.contains(&"failure"), "potr: {shown:?}");
    assert_ne!(
        last_state(&shown.alice, POTR_NAME).map(|s| &s["trusted"]),
        Some(&json!(true))
    );
    close(pair);
}

#[test]
fn smp_started_by_potr_with_different_secrets_fails() {
    let mut pair = Pair::spawn("potr-smp-fail2", &Options::default());
    key_exchange(&mut pair, OFF);
    // potr asks, offrecord answers wrongly: offrecord (the responder) learns it from SMP3 and
    // sends SMP4; potr learns it from SMP4 and then sends an abort, which offrecord may report.
    let shown = smp(&mut pair, POTR, None, ("right", "wrong"));
    eprintln!("smp started by potr with different secrets: {shown:?}");
    let off = smp_results(&shown.alice);
    assert_eq!(off.first(), Some(&"failure"), "offrecord: {shown:?}");
    assert_eq!(smp_results(&shown.bob), ["failure"], "potr: {shown:?}");
    assert_ne!(
        last_state(&shown.alice, POTR_NAME).map(|s| &s["trusted"]),
        Some(&json!(true))
    );
    close(pair);
}
