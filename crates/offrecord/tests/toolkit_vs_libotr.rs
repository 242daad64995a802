//! Differential tests: every `offrecord toolkit` command against libotr's tool of the same
//! name (Debian's libotr5-bin: `otr_parse`, `otr_sesskeys`, `otr_mackey`, `otr_readforge`,
//! `otr_modify`, `otr_remac`), run as processes on identical arguments and stdin. Their
//! stdout and exit status must be identical.
//!
//! Inputs: wire messages of libotr 4.1.1 talking to itself (protocol versions 3 and 2, with
//! fragments), of our engine talking to libotr (v3) and to itself (v2), messages built by
//! `otr_remac` and forged by `otr_readforge` / `otr_modify`, hand-made version 1 messages,
//! and malformed ones (seeded random mutations, truncations, huge lengths, NUL bytes,
//! stray base64 characters, bad arguments).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Output};
use std::sync::OnceLock;

use libotr_harness::{LibOtr, POLICY_ALLOW_V2, POLICY_MANUAL};
use offrecord::store::hex;
use offrecord::toolkit::message::{classify, DataMessage, MessageKind};
use otr::crypto::sym::aes128_ctr;
use otr::crypto::DhKeyPair;
use otr::wire::text::armour;
use otr::Policy;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use testkit::{engine, key, pipe, unhex, Party, Relay, Side, MODULUS_HEX};

thread_local! {
    /// How many comparisons this test's thread made (printed with --nocapture).
    static COMPARED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Prints how many comparisons the current test made.
fn report(test: &str) {
    COMPARED.with(|c| eprintln!("{test}: {} comparisons, all identical", c.get()));
}

/// Runs `tool` (libotr's `otr_<tool>`) and `offrecord toolkit <tool>` on the same arguments
/// and stdin; asserts identical stdout and exit status; returns libotr's output.
fn both(tool: &str, args: &[&[u8]], stdin: &[u8]) -> Output {
    COMPARED.with(|c| c.set(c.get() + 1));
    let run = |mut cmd: Command| {
        for a in args {
            cmd.arg(OsStr::from_bytes(a));
        }
        // The tools may exit before reading everything (bad arguments): `pipe` allows it.
        pipe(&mut cmd, stdin)
            .unwrap_or_else(|e| panic!("running {tool}: {e} (is libotr5-bin installed?)"))
    };
    let libotr = run(Command::new(format!("otr_{tool}")));
    let mut ours_cmd = Command::new(env!("CARGO_BIN_EXE_offrecord"));
    ours_cmd.args(["toolkit", tool]);
    let ours = run(ours_cmd);
    let show = |o: &Output| {
        format!(
            "status {:?}\nstdout:\n{}\nstderr:\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(
        libotr.stdout == ours.stdout && libotr.status.code() == ours.status.code(),
        "{tool} {:?} on stdin {:?}\n--- libotr: {}\n--- ours: {}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(stdin),
        show(&libotr),
        show(&ours)
    );
    libotr
}

const TEXTS: &[&str] = &[
    "Hi Bob! Is this channel private?",
    "It is now.",
    "The meeting moves to Thursday at ten.",
    "Thursday at ten, got it.",
    "Bring the draft contract, please: \u{e9}\u{e8} \u{1f600}",
    "OK.",
    "One more.",
];

/// The lines that crossed `relay`'s wire, in order.
fn transcript<A: Party, B: Party>(relay: Relay<A, B>) -> Vec<String> {
    relay.wire.into_iter().map(|(_, line)| line).collect()
}

/// A conversation of libotr with itself under `policy`: AKE, alternating messages, a
/// burst, optionally a fragmented message, the end.
fn libotr_conversation(policy: u32, fragment: bool) -> Vec<String> {
    let a = LibOtr::with_cached_key("alice", policy).unwrap();
    let b = LibOtr::with_cached_key("bob", policy).unwrap();
    let mut relay = Relay::new(a, b);
    relay.connect(Side::Alice);
    for (i, text) in TEXTS.iter().enumerate() {
        if i % 2 == 0 || i >= 5 {
            relay.act(Side::Alice, |a| a.send("bob", text));
        } else {
            relay.act(Side::Bob, |b| b.send("alice", text));
        }
    }
    if fragment {
        relay.alice.set_max_message_size(120);
        relay.act(Side::Alice, |a| {
            a.send(
                "bob",
                "a fragmented message, long enough to need several pieces",
            )
        });
        relay.alice.set_max_message_size(0);
    }
    relay.act(Side::Alice, |a| a.finish("bob"));
    transcript(relay)
}

/// Our engine ("alice") with libotr ("bob"), protocol version 3.
fn ours_with_libotr() -> Vec<String> {
    let ours = engine(key(11), 0x5150_0001, Policy::MANUAL, 5);
    let lib = LibOtr::with_cached_key("bob", POLICY_MANUAL).unwrap();
    let mut relay = Relay::new(ours, lib);
    relay.connect(Side::Alice);
    for (i, text) in TEXTS.iter().enumerate() {
        let queue = if i % 2 == 0 {
            relay.alice_do(|e| e.send("bob", text))
        } else {
            relay.bob_do(|l| l.send("alice", text))
        };
        relay.relay(queue);
    }
    transcript(relay)
}

/// Our engine with itself, protocol version 2 only.
fn ours_v2() -> Vec<String> {
    let v2 = Policy(Policy::ALLOW_V2);
    let a = engine(key(12), 0x100, v2, 6);
    let b = engine(key(13), 0x200, v2, 7);
    let mut relay = Relay::new(a, b).named("a", "b");
    relay.connect(Side::Alice);
    for (i, text) in TEXTS.iter().enumerate() {
        if i % 2 == 0 {
            relay.act(Side::Alice, |a| a.send("b", text));
        } else {
            relay.act(Side::Bob, |b| b.send("a", text));
        }
    }
    transcript(relay)
}

/// Every captured conversation, computed once.
fn corpus() -> &'static [(&'static str, Vec<String>)] {
    static C: OnceLock<Vec<(&'static str, Vec<String>)>> = OnceLock::new();
    C.get_or_init(|| {
        vec![
            ("libotr v3", libotr_conversation(POLICY_MANUAL, true)),
            ("libotr v2", libotr_conversation(POLICY_ALLOW_V2, true)),
            ("ours with libotr v3", ours_with_libotr()),
            ("ours v2", ours_v2()),
        ]
    })
}

fn all_lines() -> Vec<String> {
    corpus()
        .iter()
        .flat_map(|(_, log)| log.iter().cloned())
        .collect()
}

/// The data messages of a conversation, with the revealed MAC key that verifies each (if
/// one was revealed later in the conversation).
fn data_messages_with_keys(log: &[String]) -> Vec<(String, Option<[u8; 20]>)> {
    let data: Vec<&String> = log
        .iter()
        .filter(|w| classify(w.as_bytes()) == MessageKind::Data)
        .filter(|w| DataMessage::parse(w.as_bytes()).is_ok())
        .collect();
    let revealed: Vec<[u8; 20]> = data
        .iter()
        .flat_map(|w| {
            let m = DataMessage::parse(w.as_bytes()).unwrap();
            m.old_mac_keys
                .chunks_exact(20)
                .map(|k| k.try_into().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    data.iter()
        .map(|w| {
            let m = DataMessage::parse(w.as_bytes()).unwrap();
            let key = revealed.iter().find(|k| m.mac_verifies(&k[..])).copied();
            ((*w).clone(), key)
        })
        .collect()
}

#[test]
fn corpus_has_what_the_tests_need() {
    for (name, log) in corpus() {
        let kinds: Vec<MessageKind> = log.iter().map(|w| classify(w.as_bytes())).collect();
        for k in [
            MessageKind::DhCommit,
            MessageKind::DhKey,
            MessageKind::RevealSignature,
            MessageKind::Signature,
            MessageKind::Data,
        ] {
            assert!(kinds.contains(&k), "{name}: no {k:?}");
        }
        let with_keys = data_messages_with_keys(log)
            .iter()
            .filter(|(_, k)| k.is_some())
            .count();
        assert!(
            with_keys >= 2,
            "{name}: {with_keys} messages verified by a revealed key"
        );
    }
    let v2 = &corpus()[1].1;
    assert!(v2.iter().any(|w| w.starts_with("?OTR:AAID")));
    assert!(v2.iter().any(|w| w.starts_with("?OTR,")), "v2 fragments");
    assert!(
        corpus()[0].1.iter().any(|w| w.starts_with("?OTR|")),
        "v3 fragments"
    );
    assert!(corpus()[3].1.iter().any(|w| w.starts_with("?OTR:AAID")));
}

#[test]
fn parse_agrees_on_real_conversations() {
    let mut n = 0;
    for (_, log) in corpus() {
        // The whole conversation as one input, one line each.
        let input: String = log.iter().map(|w| format!("{}\n", w)).collect();
        let out = both("parse", &[], input.as_bytes());
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Data Message:"), "{text}");
        assert!(text.contains("Revealed MAC keys:"), "{text}");
        // And each line alone.
        for w in log {
            both("parse", &[], w.as_bytes());
            n += 1;
        }
    }
    assert!(n > 60, "{n}");
    report("parse (conversations)");
}

/// Hand-made messages: protocol version 1, leading zeros, odd revealed-key lengths,
/// huge lengths, unknown types, stray characters, NUL bytes, no trailing dot.
fn crafted() -> Vec<Vec<u8>> {
    let mut v1_keyexch = vec![0, 1, 0x0a, 1];
    for mpi in [&[0u8, 0, 7][..], &[1, 2], &[], &[9; 20]] {
        v1_keyexch.extend_from_slice(&(mpi.len() as u32).to_be_bytes());
        v1_keyexch.extend_from_slice(mpi);
    }
    v1_keyexch.extend_from_slice(&5u32.to_be_bytes());
    v1_keyexch.extend_from_slice(&[0, 0, 0, 2, 0, 5]);
    v1_keyexch.extend_from_slice(&[0; 20]);
    v1_keyexch.extend_from_slice(&[0xab; 20]);
    let mut v1_data = vec![0, 1, 3];
    v1_data.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 9]);
    v1_data.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    v1_data.extend_from_slice(&[0, 0, 0, 2, 0xaa, 0xbb]);
    v1_data.extend_from_slice(&[0x11; 20]);
    v1_data.extend_from_slice(&[0, 0, 0, 25]);
    v1_data.extend_from_slice(&[0x22; 25]);
    let huge_data = {
        let mut m = vec![0, 3, 3, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        m.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        m
    };
    let huge_commit = vec![
        0, 3, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0,
    ];
    let short_key = vec![0, 2, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0];
    let trailing_sig = vec![
        0, 2, 0x12, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
        20, 99,
    ];
    let mut out: Vec<Vec<u8>> = [
        v1_keyexch,
        v1_data,
        huge_data,
        huge_commit,
        short_key,
        trailing_sig,
    ]
    .iter()
    .map(|raw| armour(raw).into_bytes())
    .collect();
    for s in [
        &b"?OTR:AAMX."[..],
        b"?OTR:AAM",
        b"?OTR:AAMD",
        b"?OTR:AAMD.",
        b"?OTR:AAED.",
        b"?OTR:AAEKAAAA.",
        b"?OTR:AAMC\x00AAAA.",
        b"?OTR:AAMK AA\tAA\x80\xffAAAAAAAAAAAAAAAAAAAA=AAAA.",
        b"?OTR:AAIS====.",
        b"?OTR:\xc3\xa9t\xc3\xa9.",
        b"text ??OTR:? ?OTR:AAMR.",
        b"?OTR:",
        b"\x00\x00?OTR:AAMD\x00.more",
    ] {
        out.push(s.to_vec());
    }
    out
}

/// Seeded random damage to real messages: truncation, replaced and inserted bytes.
fn mutations(lines: &[String], rng: &mut ChaCha20Rng, count: usize) -> Vec<Vec<u8>> {
    const NASTY: &[u8] = b"\x00.=?:A/+ \n\x80\xff";
    (0..count)
        .map(|_| {
            let mut m = lines[rng.next_u32() as usize % lines.len()]
                .clone()
                .into_bytes();
            match rng.next_u32() % 4 {
                0 => {
                    let cut = rng.next_u32() as usize % (m.len() + 1);
                    m.truncate(cut);
                }
                1 => {
                    for _ in 0..1 + rng.next_u32() % 4 {
                        let i = rng.next_u32() as usize % m.len();
                        m[i] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                            [rng.next_u32() as usize % 64];
                    }
                }
                2 => {
                    let i = rng.next_u32() as usize % (m.len() + 1);
                    m.insert(i, NASTY[rng.next_u32() as usize % NASTY.len()]);
                }
                _ => {
                    // Replace the encoded length of a field: decode, damage, re-armour.
                    let raw = offrecord::toolkit::message::payload(&m).unwrap_or_default();
                    let mut raw = raw;
                    if raw.len() > 8 {
                        let i = 3 + rng.next_u32() as usize % (raw.len() - 7);
                        raw[i] = [0x00, 0xff, 0x7f, 0x01][rng.next_u32() as usize % 4];
                    }
                    m = armour(&raw).into_bytes();
                }
            }
            m
        })
        .collect()
}

#[test]
fn parse_agrees_on_crafted_and_damaged_messages() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7001);
    let mut inputs = crafted();
    inputs.extend(mutations(&all_lines(), &mut rng, 150));
    for input in &inputs {
        both("parse", &[], input);
    }
    // All of them in one stream, too.
    both("parse", &[], &inputs.join(&b'\n'));
    // Wrong usage.
    both("parse", &[b"x"], b"");
    report("parse (crafted, damaged)");
}

/// The comparison does catch a difference (here, one we make on purpose).
#[test]
#[should_panic(expected = "--- libotr")]
fn a_difference_is_caught() {
    both("sesskeys", &[b"0102", b"01"], b"");
}

#[test]
fn readforge_modify_agree_on_real_data_messages_and_revealed_keys() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7002);
    let mut forged_with_revealed_key = 0;
    for (name, log) in corpus() {
        for (msg, key) in data_messages_with_keys(log) {
            let mut aes = [0u8; 16];
            rng.fill_bytes(&mut aes);
            let aes = hex(&aes);
            // A wrong AES key: the MAC fails (stderr), the forgery is still made.
            both("readforge", &[aes.as_bytes()], msg.as_bytes());
            both(
                "readforge",
                &[aes.as_bytes(), b"forged text"],
                msg.as_bytes(),
            );
            let mut wrong = [0u8; 20];
            rng.fill_bytes(&mut wrong);
            let out = both(
                "modify",
                &[hex(&wrong).as_bytes(), b"a", b"b", b"0"],
                msg.as_bytes(),
            );
            assert_eq!(out.status.code(), Some(1));
            if let Some(key) = key {
                // The walk-through: a revealed MAC key re-MACs a changed message.
                let key = hex(&key);
                let out = both(
                    "modify",
                    &[key.as_bytes(), b"Hi", b"Yo", b"0"],
                    msg.as_bytes(),
                );
                assert!(out.status.success(), "{name}");
                let forged = out.stdout.clone();
                let m = DataMessage::parse(&forged).unwrap();
                assert!(m.mac_verifies(&unhex(&key)));
                both("parse", &[], &forged);
                both(
                    "modify",
                    &[key.as_bytes(), b"xyz", b"abc", b"1000"],
                    msg.as_bytes(),
                );
                both("modify", &[key.as_bytes(), b"", b"", b"0"], msg.as_bytes());
                forged_with_revealed_key += 1;
            }
        }
    }
    assert!(forged_with_revealed_key >= 8, "{forged_with_revealed_key}");
    report("readforge/modify/parse (conversations)");
}

#[test]
fn readforge_modify_agree_on_crafted_damaged_and_non_data_input() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7003);
    let aes = "00112233445566778899aabbccddeeff";
    let mac = "739e0e8490eacbcb2ea11d4a5dbefbae888b092e";
    let mut inputs = crafted();
    inputs.extend(mutations(&all_lines(), &mut rng, 60));
    inputs.push(b"no message at all".to_vec());
    inputs.push(Vec::new());
    for input in &inputs {
        both("readforge", &[aes.as_bytes()], input);
        both("readforge", &[aes.as_bytes(), b"new"], input);
        both("modify", &[mac.as_bytes(), b"ab", b"cd", b"1"], input);
    }
    report("readforge/modify (crafted, damaged)");
}

/// Data messages of versions 1, 2 and 3 with a valid MAC under the MAC key of `aes`, the
/// text encrypted under `aes`, D-H values with leading zeros, odd revealed-key lengths.
fn valid_data_messages(aes: &[u8; 16]) -> Vec<Vec<u8>> {
    let mac_key = otr::DataKeySet::mac_key(aes);
    let mut out = Vec::new();
    for (version, text, dh, reveal_len) in [
        (1u8, &b"version one says hi"[..], &[0u8, 0, 5][..], 20usize),
        (2, b"version two\0\x00\x01\x00\x00", &[7; 192][..], 0),
        (3, "caf\u{e9} \u{1f600}".as_bytes(), &[0, 9][..], 27),
        (3, b"", &[][..], 40),
    ] {
        let counter = [0, 0, 0, 0, 0, 0, 1, version];
        let mut enc = text.to_vec();
        aes128_ctr(aes, &counter, &mut enc);
        let mut raw = vec![0, version, 3];
        if version == 3 {
            raw.extend_from_slice(&[0, 0, 1, 0, 0, 0, 2, 0]);
        }
        if version >= 2 {
            raw.push(1);
        }
        raw.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 4]);
        raw.extend_from_slice(&(dh.len() as u32).to_be_bytes());
        raw.extend_from_slice(dh);
        raw.extend_from_slice(&counter);
        raw.extend_from_slice(&(enc.len() as u32).to_be_bytes());
        raw.extend_from_slice(&enc);
        let mac = otr::crypto::sym::hmac_sha1(&mac_key, &[&raw]);
        raw.extend_from_slice(&mac);
        raw.extend_from_slice(&(reveal_len as u32).to_be_bytes());
        raw.extend(std::iter::repeat_n(0xab, reveal_len));
        out.push(armour(&raw).into_bytes());
    }
    out
}

#[test]
fn tools_agree_on_v1_v2_v3_data_messages_with_valid_macs_and_odd_arguments() {
    let aes = [0x5a; 16];
    let aes_hex = hex(&aes);
    let mac_hex = hex(&otr::DataKeySet::mac_key(&aes));
    for msg in valid_data_messages(&aes) {
        let out = both("readforge", &[aes_hex.as_bytes()], &msg);
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("Plaintext: ``"));
        both(
            "readforge",
            &[aes_hex.as_bytes(), b"new \xff\xfe text"],
            &msg,
        );
        both("readforge", &[aes_hex.as_bytes(), b""], &msg);
        both("parse", &[], &msg);
        let out = both("modify", &[mac_hex.as_bytes(), b"ver", b"VER", b"0"], &msg);
        assert!(out.status.success());
        both("parse", &[], &out.stdout);
        both(
            "modify",
            &[mac_hex.as_bytes(), b"\xff\x01", b"\x80a", b" 3"],
            &msg,
        );
        both(
            "modify",
            &[mac_hex.as_bytes(), b"abc", b"xyz", b"4294967295"],
            &msg,
        );
        both("modify", &[mac_hex.as_bytes(), b"abc", b"xyz", b"-1"], &msg);
        // Arguments that look like options are arguments, as in libotr.
        for args in [
            [&b"--"[..], b"ab", b"0"],
            [b"--help", b"-h-1", b"0"],
            [b"-h", b"ab", b"0"],
            [b"--home", b"x", b"0"],
            [b"--", b"--", b"0"],
        ] {
            let mut all: Vec<&[u8]> = vec![mac_hex.as_bytes()];
            all.extend_from_slice(&args);
            both("modify", &all, &msg);
        }
        // Wrong argument counts and keys.
        both("modify", &[mac_hex.as_bytes(), b"a", b"b"], &msg);
        both("modify", &[aes_hex.as_bytes(), b"a", b"b", b"0"], &msg);
        both("modify", &[mac_hex.as_bytes(), b"a", b"bc", b"0"], &msg);
        both("modify", &[mac_hex.as_bytes(), b"a", b"b", b"x"], &msg);
        both("readforge", &[mac_hex.as_bytes()], &msg);
        both("readforge", &[aes_hex.as_bytes(), b"a", b"b"], &msg);
        both("readforge", &[], &msg);
    }
    report("readforge/modify/parse (v1/v2/v3 with valid MACs, odd arguments)");
}

/// Our D-H value for a seed.
fn dh(seed: u64) -> DhKeyPair {
    let mut secret = [0u8; 40];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut secret);
    DhKeyPair::from_secret_bytes(&secret).unwrap()
}

/// Reads `Title: hex` from a tool's output.
fn field(out: &[u8], title: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(out);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{title}: ")))
        .unwrap_or_else(|| panic!("no {title} in {text}"));
    unhex(line)
}

#[test]
fn sesskeys_agrees_and_the_keys_read_and_forge_libotr_built_messages() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7004);
    // Public values from libotr (D-H Key messages and data messages' next keys), and ours.
    let mut publics: Vec<Vec<u8>> = Vec::new();
    for (_, log) in corpus() {
        for w in log {
            let msg = w.as_bytes();
            match classify(msg) {
                MessageKind::DhKey => {
                    publics.push(offrecord::toolkit::message::DhKey::parse(msg).unwrap().y)
                }
                MessageKind::Data => {
                    if let Ok(m) = DataMessage::parse(msg) {
                        publics.push(m.next_dh);
                    }
                }
                _ => {}
            }
        }
    }
    publics.truncate(12);
    publics.push(dh(1).public().as_bytes().to_vec());
    let mut with_zeros = vec![0, 0];
    with_zeros.extend_from_slice(dh(2).public().as_bytes());
    publics.push(with_zeros);
    let mut checked = 0;
    for (i, public) in publics.iter().enumerate() {
        // Private keys of every length from 1 to 40 bytes, spread over the publics.
        let len = 1 + (i * 7) % 40;
        let mut private = vec![0u8; len];
        rng.fill_bytes(&mut private);
        let out = both(
            "sesskeys",
            &[hex(&private).as_bytes(), hex(public).as_bytes()],
            b"",
        );
        assert!(out.status.success());
        // Each side's keys open what the other side's keys sealed, through libotr's
        // otr_remac and both readforges.
        let send_aes = field(&out.stdout, "Sending   AES key");
        let send_mac = field(&out.stdout, "Sending   MAC key");
        let mut text = format!("message {i}: hello\0TLV").into_bytes();
        let ctr = [0, 0, 0, 0, 0, 0, 0, i as u8 + 1];
        aes128_ctr(&send_aes.clone().try_into().unwrap(), &ctr, &mut text);
        let built = both(
            "remac",
            &[
                hex(&send_mac).as_bytes(),
                b"256",
                b"257",
                b"0",
                b"1",
                b"2",
                hex(public).as_bytes(),
                hex(&ctr).as_bytes(),
                hex(&text).as_bytes(),
                b"",
            ],
            b"",
        );
        let out = both("readforge", &[hex(&send_aes).as_bytes()], &built.stdout);
        assert_eq!(
            out.stdout,
            format!("Plaintext: ``message {i}: hello''\n").into_bytes()
        );
        let forged = both(
            "readforge",
            &[hex(&send_aes).as_bytes(), "forged \u{e9}".as_bytes()],
            &built.stdout,
        );
        let forged_msg = forged
            .stdout
            .split(|&c| c == b'\n')
            .nth(1)
            .unwrap()
            .to_vec();
        let out = both("readforge", &[hex(&send_aes).as_bytes()], &forged_msg);
        assert_eq!(out.stdout, "Plaintext: ``forged \u{e9}''\n".as_bytes());
        let modified = both(
            "modify",
            &[
                hex(&send_mac).as_bytes(),
                b"hello",
                b"HELLO",
                format!("{}", 10 + i.to_string().len()).as_bytes(),
            ],
            &built.stdout,
        );
        let out = both("readforge", &[hex(&send_aes).as_bytes()], &modified.stdout);
        assert_eq!(
            out.stdout,
            format!("Plaintext: ``message {i}: HELLO''\n").into_bytes()
        );
        checked += 1;
    }
    assert_eq!(checked, 14);
    report("sesskeys/remac/readforge/modify chain");
    // Bad arguments.
    let p = hex(dh(3).public().as_bytes());
    for args in [
        vec![&b"0102"[..]],
        vec![b"010", p.as_bytes()],
        vec![b"01zz", p.as_bytes()],
        vec![&[0x41u8; 82][..], p.as_bytes()],
        vec![b"0102", b"123"],
        vec![b"0102", p.as_bytes(), b"x"],
    ] {
        let out = both("sesskeys", &args, b"");
        assert_eq!(out.status.code(), Some(1));
    }
}

/// libotr computes with degenerate D-H values; we refuse them (a documented difference).
#[test]
fn sesskeys_refuses_degenerate_values_that_libotr_accepts() {
    let p = common_modulus();
    let mut p_minus_1 = p.clone();
    *p_minus_1.last_mut().unwrap() -= 1;
    let mut p_plus = p.clone();
    p_plus.push(5);
    for (private, public) in [
        ("0102", "00".to_owned()),
        ("0102", "01".to_owned()),
        ("0102", hex(&p_minus_1)),
        ("0102", hex(&p)),
        ("0102", hex(&p_plus)),
        ("", "05".to_owned()),
        ("00", "05".to_owned()),
    ] {
        let ours = Command::new(env!("CARGO_BIN_EXE_offrecord"))
            .args(["toolkit", "sesskeys", private, &public])
            .output()
            .unwrap();
        assert_eq!(ours.status.code(), Some(1), "{private} {public}");
        assert!(ours.stdout.is_empty());
        let libotr = Command::new("otr_sesskeys")
            .args([private, &public])
            .output()
            .unwrap();
        assert_eq!(
            libotr.status.code(),
            Some(0),
            "libotr accepts {private} {public}"
        );
    }
}

fn common_modulus() -> Vec<u8> {
    unhex(MODULUS_HEX)
}

#[test]
fn mackey_agrees() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7005);
    for _ in 0..20 {
        let mut aes = [0u8; 16];
        rng.fill_bytes(&mut aes);
        let out = both("mackey", &[hex(&aes).to_uppercase().as_bytes()], b"");
        assert!(out.status.success());
    }
    for args in [
        vec![],
        vec![&b""[..]],
        vec![b"0011"],
        vec![b"00112233445566778899aabbccddeeff00"],
        vec![b"00112233445566778899aabbccddeefg"],
        vec![b"00112233445566778899aabbccddeef"],
        vec![b"00112233445566778899aabbccddeeff", b"x"],
    ] {
        both("mackey", &args, b"");
    }
    report("mackey");
}

#[test]
fn remac_agrees() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7006);
    let mut hexbytes = |n: usize| {
        let mut b = vec![0u8; n];
        rng.fill_bytes(&mut b);
        hex(&b)
    };
    let mac = hexbytes(20);
    for i in 0..12 {
        let pubkey = if i % 3 == 0 {
            format!("0000{}", hexbytes(i))
        } else {
            hexbytes(192)
        };
        let enc = hexbytes(i * 13);
        let keys = hexbytes(20 * (i % 3) + (i % 2) * 7);
        let ctr = hexbytes(8);
        both(
            "remac",
            &[
                mac.as_bytes(),
                format!("{}", i * 1_000_003).as_bytes(),
                b"4294967295",
                format!("{}", i * 37).as_bytes(),
                format!("{i}").as_bytes(),
                b"7",
                pubkey.as_bytes(),
                ctr.as_bytes(),
                enc.as_bytes(),
                keys.as_bytes(),
            ],
            b"",
        );
    }
    let ok: Vec<String> = [
        mac.as_str(),
        "1",
        "2",
        "1",
        "3",
        "4",
        "0102",
        "0000000000000001",
        "abcd",
        "",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Every argument replaced by something odd, one at a time.
    let odd: &[&str] = &[
        "",
        "0",
        "-1",
        " 12",
        "+7x",
        "4294967296",
        "99999999999999999999",
        "-99999999999999999999",
        "x",
        "abc",
        "0g",
        "00",
        "0011223344556677",
        "001122334455667788",
    ];
    for i in 0..ok.len() {
        for o in odd {
            let mut args: Vec<&[u8]> = ok.iter().map(|s| s.as_bytes()).collect();
            args[i] = o.as_bytes();
            both("remac", &args, b"");
        }
    }
    both("remac", &[mac.as_bytes()], b"");
    report("remac");
}
