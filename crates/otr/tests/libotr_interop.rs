//! Differential tests against libotr 4.1.1, the real C library, in the same process: our
//! engine ("alice") and libotr ("bob") hold private conversations through an in-memory
//! relay, and libotr's own toolkit (`otr_parse`) reads what we put on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use libotr_harness::{Event as LEvent, LibOtr, MsgState, POLICY_DEFAULT, POLICY_MANUAL};
use otr::crypto::sym::hmac_sha1;
use otr::wire::encoded::MessageBody;
use otr::wire::text::{classify, IncomingText};
use otr::{ConversationState, DataError, Engine, Event, NotSent, Notice, Policy, Time};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use testkit::{alice_key, decode_wire, engine, hex, Mixed, Side, OUR_TAG};

#[test]
fn key_exchange_started_by_us() {
    let mut m = Mixed::with_libotr(Policy::MANUAL, POLICY_MANUAL);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    m.assert_private();
    assert!(m
        .events
        .bob
        .iter()
        .any(|e| matches!(e, LEvent::GoneSecure { .. })));
}

#[test]
fn key_exchange_started_by_libotr() {
    let mut m = Mixed::with_libotr(Policy::MANUAL, POLICY_MANUAL);
    // libotr's query carries an HTML explanation after "?OTRv23?".
    let q = m.bob_do(|l| l.start("alice"));
    assert!(q[0].1.starts_with("?OTRv23?"));
    m.relay(q);
    m.assert_private();
}

#[test]
fn whitespace_tag_from_libotr_starts_the_exchange() {
    let mut m = Mixed::with_libotr(Policy::OPPORTUNISTIC, POLICY_DEFAULT);
    let q = m.bob_do(|l| l.send("alice", "hello from libotr"));
    m.relay(q);
    assert_eq!(m.alice_shown(), [("hello from libotr".to_owned(), false)]);
    m.assert_private();
}

/// Random UTF-8 (no NUL) of 1..=max bytes.
fn random_text(rng: &mut impl RngCore, max: usize) -> String {
    let len = 1 + (rng.next_u32() as usize % max);
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let c = match rng.next_u32() % 5 {
            0 => char::from_u32(0x20 + rng.next_u32() % 0x5f),
            1 => char::from_u32(0xa0 + rng.next_u32() % 0x700),
            2 => char::from_u32(0x4e00 + rng.next_u32() % 0x5000),
            3 => char::from_u32(0x1f300 + rng.next_u32() % 0x300),
            _ => Some(['\n', '\t', '<', '&', '?'][rng.next_u32() as usize % 5]),
        };
        match c {
            Some(c) if s.len() + c.len_utf8() <= len => s.push(c),
            Some(_) => break,
            None => {}
        }
    }
    if s.is_empty() {
        s.push('x');
    }
    s
}

/// Runs `count` messages in random bursts in both directions; returns what each side sent.
fn converse(m: &mut Mixed, rng: &mut impl RngCore, count: usize) -> (Vec<String>, Vec<String>) {
    let mut sent = (Vec::new(), Vec::new());
    let mut n = 0;
    while n < count {
        let mut queue = Vec::new();
        let ours_first = rng.next_u32().is_multiple_of(2);
        for turn in 0..2 {
            let ours_turn = (turn == 0) == ours_first;
            // Alternating most of the time, bursts of up to 12 now and then, and sometimes
            // both sides write before either receives (crossing messages).
            let burst = match rng.next_u32() % 10 {
                0..=5 => 1,
                6..=8 => 1 + rng.next_u32() % 12,
                _ => 0,
            };
            for _ in 0..burst {
                let max = match rng.next_u32() % 20 {
                    0 => 10_000,
                    1..=3 => 2_000,
                    _ => 200,
                };
                let text = random_text(rng, max);
                if ours_turn {
                    queue.extend(m.alice_do(|e| e.send("bob", &text)));
                    sent.0.push(text);
                } else {
                    queue.extend(m.bob_do(|l| l.send("alice", &text)));
                    sent.1.push(text);
                }
                n += 1;
            }
            if rng.next_u32().is_multiple_of(2) {
                m.relay(core::mem::take(&mut queue));
            }
        }
        m.relay(queue);
    }
    sent
}

fn assert_delivered(m: &Mixed, sent: &(Vec<String>, Vec<String>)) {
    let lib_got: Vec<String> = m
        .bob_shown()
        .into_iter()
        .map(|(t, enc)| {
            assert!(enc, "libotr got plaintext: {t}");
            t
        })
        .collect();
    let ours_got: Vec<String> = m
        .alice_shown()
        .into_iter()
        .map(|(t, enc)| {
            assert!(enc, "we got plaintext: {t}");
            t
        })
        .collect();
    assert_eq!(lib_got.len(), sent.0.len());
    assert_eq!(
        lib_got, sent.0,
        "libotr did not receive exactly what we sent"
    );
    assert_eq!(
        ours_got, sent.1,
        "we did not receive exactly what libotr sent"
    );
    assert!(
        !m.events
            .alice
            .iter()
            .any(|e| matches!(e, Event::Notice { .. })),
        "{:?}",
        m.events.alice
    );
    for (_, data) in &m.wire {
        assert!(
            data.starts_with("?OTR"),
            "non-OTR text on the wire: {data:.80}"
        );
        for text in sent.0.iter().chain(&sent.1).filter(|t| t.len() >= 6) {
            assert!(!data.contains(text.as_str()), "plaintext on the wire");
        }
    }
}

#[test]
fn over_a_thousand_messages_both_ways_with_rotation() {
    let mut m = Mixed::with_libotr(Policy::OPPORTUNISTIC, POLICY_DEFAULT);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    m.assert_private();
    m.clear();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    let sent = converse(&mut m, &mut rng, 1200);
    assert!(sent.0.len() > 400 && sent.1.len() > 400);
    assert_delivered(&m, &sent);
    check_reveals(&m);
}

/// Every MAC key either side reveals is the key that verified an earlier data message of
/// the other side (the receiving key of a key set it forgot), none is revealed twice, and
/// both reveal at the same pace: this is what makes the transcript forgeable.
fn check_reveals(m: &Mixed) {
    let mut earlier: Vec<(Side, Vec<u8>, [u8; 20])> = Vec::new();
    let mut revealed = (HashSet::new(), HashSet::new());
    for (from, data) in &m.wire {
        let Ok(IncomingText::Encoded(_)) = classify(data) else {
            continue;
        };
        let message = decode_wire(data);
        let MessageBody::Data(d) = &message.body else {
            continue;
        };
        for key in d.old_mac_keys.chunks(20) {
            assert!(
                earlier
                    .iter()
                    .any(|(sender, input, mac)| sender != from && &hmac_sha1(key, &[input]) == mac),
                "{from:?} revealed a MAC key that verifies no earlier message of the other side"
            );
            let fresh = match from {
                Side::Alice => revealed.0.insert(key.to_vec()),
                Side::Bob => revealed.1.insert(key.to_vec()),
            };
            assert!(fresh, "{from:?} revealed a MAC key twice");
        }
        earlier.push((*from, message.data_mac_input().unwrap(), d.mac));
    }
    let (ours, theirs) = (revealed.0.len(), revealed.1.len());
    assert!(
        ours > 100 && theirs > 100,
        "reveals: ours {ours}, libotr {theirs}"
    );
    assert!(
        ours.abs_diff(theirs) <= 4,
        "reveals: ours {ours}, libotr {theirs}"
    );
}

#[test]
fn otr_parse_reads_our_data_messages() {
    let mut m = Mixed::with_libotr(Policy::MANUAL, POLICY_MANUAL);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    converse(&mut m, &mut rng, 40);
    let ours: Vec<&String> = m
        .wire
        .iter()
        .filter(|(f, d)| *f == Side::Alice && d.starts_with("?OTR:AAMD"))
        .map(|(_, d)| d)
        .collect();
    assert!(ours.len() > 10);
    let mut child = Command::new("otr_parse")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("otr_parse (libotr5-bin)");
    {
        let mut stdin = child.stdin.take().unwrap();
        for d in &ours {
            writeln!(stdin, "{d}").unwrap();
        }
    }
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let blocks: Vec<&str> = out.split("Data Message:").skip(1).collect();
    assert_eq!(blocks.len(), ours.len(), "{out}");
    for (block, data) in blocks.iter().zip(&ours) {
        let MessageBody::Data(d) = decode_wire(data).body else {
            panic!()
        };
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .map(str::trim)
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(field("Sender keyid:"), d.sender_keyid.to_string());
        assert_eq!(field("Rcpt keyid:"), d.recipient_keyid.to_string());
        assert_eq!(field("Sender instance:"), OUR_TAG.to_string());
        assert_eq!(field("MAC:"), hex(&d.mac));
        assert_eq!(field("Counter:"), hex(&d.ctr));
        let keys: Vec<String> = block
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Key "))
            .map(|l| l.split(": ").nth(1).unwrap().to_owned())
            .collect();
        let ours_keys: Vec<String> = d.old_mac_keys.chunks(20).map(hex).collect();
        assert_eq!(keys, ours_keys);
    }
}

#[test]
fn disconnect_and_restart_both_ways() {
    let mut m = Mixed::with_libotr(Policy::OPPORTUNISTIC, POLICY_DEFAULT);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    m.clear();
    let sent = converse(&mut m, &mut rng, 30);
    assert_delivered(&m, &sent);

    // libotr ends the conversation: we are Finished and refuse to send.
    let q = m.bob_do(|l| l.finish("alice"));
    m.relay(q);
    assert_eq!(m.alice.state("bob"), ConversationState::Finished);
    m.clear();
    let q = m.alice_do(|e| e.send("bob", "into the void"));
    assert!(q.is_empty());
    assert!(m.events.alice.iter().any(|e| matches!(
        e,
        Event::Notice {
            notice: Notice::NotSent(NotSent::PeerFinished),
            ..
        }
    )));
    let q = m.alice_do(|e| e.finish("bob"));
    m.relay(q);
    assert_eq!(m.alice.state("bob"), ConversationState::Plaintext);

    // Restart from libotr's side.
    let q = m.bob_do(|l| l.start("alice"));
    m.relay(q);
    m.assert_private();
    m.clear();
    let sent = converse(&mut m, &mut rng, 30);
    assert_delivered(&m, &sent);

    // We end it: libotr is Finished. Then we restart.
    let q = m.alice_do(|e| e.finish("bob"));
    m.relay(q);
    assert_eq!(m.bob.msgstate("alice"), MsgState::Finished);
    let q = m.bob_do(|l| l.finish("alice"));
    m.relay(q);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    m.assert_private();
    m.clear();
    let sent = converse(&mut m, &mut rng, 30);
    assert_delivered(&m, &sent);
}

#[test]
fn refresh_with_libotr_never_sends_plaintext() {
    let mut m = Mixed::with_libotr(Policy::MANUAL, POLICY_MANUAL);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    m.clear();
    // We refresh; our messages written during the exchange stay encrypted.
    let query = m.alice_do(|e| e.start("bob").unwrap());
    let commit = m.bob_do(|l| l.receive("alice", &query[0].1));
    let during = m.alice_do(|e| e.send("bob", "written during the refresh"));
    assert!(during[0].1.starts_with("?OTR:AAMD"));
    // In order, as a network delivers them: our data message was sent before our reply
    // to libotr's D-H Commit.
    m.relay(during);
    m.relay(commit);
    m.assert_private();
    let q = m.alice_do(|e| e.send("bob", "after the refresh"));
    m.relay(q);
    let texts: Vec<String> = m
        .bob_shown()
        .into_iter()
        .map(|(t, enc)| {
            assert!(enc);
            t
        })
        .collect();
    assert_eq!(texts, ["written during the refresh", "after the refresh"]);
}

#[test]
fn our_restart_mid_conversation_recovers() {
    let mut m = Mixed::with_libotr(Policy::OPPORTUNISTIC, POLICY_DEFAULT);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    converse(&mut m, &mut rng, 20);
    // We restart (same key and instance tag, all session state lost).
    m.alice = engine(alice_key(), OUR_TAG, Policy::OPPORTUNISTIC, 1234);
    m.clear();
    let q = m.bob_do(|l| l.send("alice", "lost in the restart"));
    m.relay(q);
    // We could not read it, said so, and the error made libotr start a new exchange.
    assert!(m.events.alice.iter().any(|e| matches!(
        e,
        Event::Notice {
            notice: Notice::Unreadable(DataError::NoSession),
            ..
        }
    )));
    m.assert_private();
    m.clear();
    let sent = converse(&mut m, &mut rng, 30);
    assert_delivered(&m, &sent);
}

#[test]
fn libotr_restart_mid_conversation_recovers() {
    let mut m = Mixed::with_libotr(Policy::OPPORTUNISTIC, POLICY_DEFAULT);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    converse(&mut m, &mut rng, 20);
    // libotr restarts on the same files: same key, same instance tag, no session.
    let restarted = LibOtr::new("bob", m.bob.dir(), POLICY_DEFAULT).unwrap();
    assert_eq!(restarted.instance_tag(), m.bob.instance_tag());
    let _old = std::mem::replace(&mut m.bob, restarted); // owns the directory until the end
    m.clear();
    // libotr 4.1 answers a data message it cannot read with nothing at all (it might be for
    // another version-2 instance), so the message is lost and only libotr's user is told.
    let q = m.alice_do(|e| e.send("bob", "lost in libotr's restart"));
    m.relay(q);
    assert!(m.bob_shown().is_empty());
    // When libotr's user writes, it goes out in plaintext with a whitespace tag: we show it
    // flagged as unencrypted, and the tag makes us start a new key exchange.
    let q = m.bob_do(|l| l.send("alice", "did you say something?"));
    m.relay(q);
    assert_eq!(
        m.alice_shown(),
        [("did you say something?".to_owned(), false)]
    );
    assert!(m.events.alice.iter().any(|e| matches!(
        e,
        Event::Notice {
            notice: Notice::Unencrypted,
            ..
        }
    )));
    m.assert_private();
    m.clear();
    let sent = converse(&mut m, &mut rng, 30);
    assert_delivered(&m, &sent);
}

#[test]
fn fragments_both_ways_at_400_bytes() {
    let mut m = Mixed::with_libotr(Policy::OPPORTUNISTIC, POLICY_DEFAULT);
    m.alice.set_default_max_message_size(400);
    m.bob.set_max_message_size(400);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    m.assert_private();
    m.clear();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(400);
    let sent = converse(&mut m, &mut rng, 150);
    // Fragments are not plaintext but do not start with "?OTR:": check them here.
    let lib_got: Vec<String> = m.bob_shown().into_iter().map(|(t, _)| t).collect();
    let ours_got: Vec<String> = m.alice_shown().into_iter().map(|(t, _)| t).collect();
    assert_eq!(lib_got, sent.0);
    assert_eq!(ours_got, sent.1);
    let mut fragments = (0, 0);
    for (from, data) in &m.wire {
        assert!(data.len() <= 400, "{from:?} sent {} bytes", data.len());
        if data.starts_with("?OTR|") {
            match from {
                Side::Alice => fragments.0 += 1,
                Side::Bob => fragments.1 += 1,
            }
        }
    }
    assert!(fragments.0 > 100 && fragments.1 > 100, "{fragments:?}");
}

fn our_smp_results(m: &Mixed) -> Vec<(otr::SmpResult, Option<String>)> {
    m.events
        .alice
        .iter()
        .filter_map(|e| match e {
            Event::Smp {
                result, question, ..
            } => Some((*result, question.clone())),
            _ => None,
        })
        .collect()
}

/// libotr's SMP events of interest (not the progress-only ones), as (code, question).
fn lib_smp_events(m: &Mixed) -> Vec<(i32, Option<String>)> {
    m.events
        .bob
        .iter()
        .filter_map(|e| match e {
            LEvent::Smp {
                event, question, ..
            } if [
                libotr_harness::SMPEVENT_ASK_FOR_SECRET,
                libotr_harness::SMPEVENT_ASK_FOR_ANSWER,
                libotr_harness::SMPEVENT_SUCCESS,
                libotr_harness::SMPEVENT_FAILURE,
                libotr_harness::SMPEVENT_ABORT,
            ]
            .contains(event) =>
            {
                Some((*event, question.clone()))
            }
            _ => None,
        })
        .collect()
}

fn private_pair() -> Mixed {
    let mut m = Mixed::with_libotr(Policy::MANUAL, POLICY_MANUAL);
    let q = m.alice_do(|e| e.start("bob").unwrap());
    m.relay(q);
    m.assert_private();
    m.clear();
    m
}

#[test]
fn smp_started_by_us_against_libotr() {
    use libotr_harness::{
        SMPEVENT_ASK_FOR_ANSWER, SMPEVENT_ASK_FOR_SECRET, SMPEVENT_FAILURE, SMPEVENT_SUCCESS,
    };
    use otr::SmpResult;
    for (question, ours, theirs, ok) in [
        (None, "a secret", "a secret", true),
        (Some("Where did we meet?"), "Lisbon", "Lisbon", true),
        (None, "a secret", "another", false),
        (Some("Where did we meet?"), "Lisbon", "Porto", false),
    ] {
        let mut m = private_pair();
        let q = m.alice_do(|e| e.smp_start("bob", ours.as_bytes(), question).unwrap());
        m.relay(q);
        let asked = if question.is_some() {
            SMPEVENT_ASK_FOR_ANSWER
        } else {
            SMPEVENT_ASK_FOR_SECRET
        };
        assert_eq!(lib_smp_events(&m), [(asked, question.map(str::to_owned))]);
        let q = m.bob_do(|l| l.smp_respond("alice", theirs.as_bytes()));
        m.relay(q);
        let (ours_result, lib_result) = if ok {
            (SmpResult::Success, SMPEVENT_SUCCESS)
        } else {
            (SmpResult::Failure, SMPEVENT_FAILURE)
        };
        assert_eq!(
            our_smp_results(&m),
            [(ours_result, None)],
            "{question:?} {ours} {theirs}"
        );
        assert_eq!(lib_smp_events(&m)[1].0, lib_result);
        // Success makes us trust libotr's fingerprint (we asked).
        let trusted = m
            .events
            .alice
            .iter()
            .any(|e| matches!(e, Event::State { trusted: true, .. }));
        assert_eq!(trusted, ok);
    }
}

#[test]
fn smp_started_by_libotr_against_us() {
    use libotr_harness::{SMPEVENT_FAILURE, SMPEVENT_SUCCESS};
    use otr::SmpResult;
    for (question, theirs, ours, ok) in [
        (None, "a secret", "a secret", true),
        (Some("Name of the cat?"), "Felix", "Felix", true),
        (None, "a secret", "wrong", false),
        (Some("Name of the cat?"), "Felix", "Tom", false),
    ] {
        let mut m = private_pair();
        let q = m.bob_do(|l| l.smp_start("alice", question, theirs.as_bytes()));
        m.relay(q);
        let asked = if question.is_some() {
            SmpResult::Question
        } else {
            SmpResult::Request
        };
        assert_eq!(our_smp_results(&m), [(asked, question.map(str::to_owned))]);
        let q = m.alice_do(|e| e.smp_respond("bob", ours.as_bytes()).unwrap());
        m.relay(q);
        let (ours_result, lib_result) = if ok {
            (SmpResult::Success, SMPEVENT_SUCCESS)
        } else {
            (SmpResult::Failure, SMPEVENT_FAILURE)
        };
        assert_eq!(
            our_smp_results(&m)[1],
            (ours_result, None),
            "{question:?} {theirs} {ours}"
        );
        assert_eq!(lib_smp_events(&m).last().unwrap().0, lib_result);
        // We trust only after answering a secret without a question (libotr's rule).
        let trusted = m
            .events
            .alice
            .iter()
            .any(|e| matches!(e, Event::State { trusted: true, .. }));
        assert_eq!(trusted, ok && question.is_none());
    }
}

#[test]
fn smp_abort_against_libotr() {
    use libotr_harness::SMPEVENT_ABORT;
    use otr::SmpResult;
    // We abort after libotr asked.
    let mut m = private_pair();
    let q = m.bob_do(|l| l.smp_start("alice", None, b"s"));
    m.relay(q);
    let q = m.alice_do(|e| e.smp_abort("bob").unwrap());
    m.relay(q);
    assert_eq!(our_smp_results(&m).last().unwrap().0, SmpResult::Aborted);
    assert_eq!(lib_smp_events(&m).last().unwrap().0, SMPEVENT_ABORT);
    // libotr aborts while we wait for its answer.
    let mut m = private_pair();
    let q = m.alice_do(|e| e.smp_start("bob", b"s", None).unwrap());
    m.relay(q);
    let q = m.bob_do(|l| l.smp_abort("alice"));
    m.relay(q);
    assert_eq!(our_smp_results(&m), [(SmpResult::Aborted, None)]);
    // And a new run after the abort still succeeds.
    m.clear();
    let q = m.alice_do(|e| e.smp_start("bob", b"again", None).unwrap());
    m.relay(q);
    let q = m.bob_do(|l| l.smp_respond("alice", b"again"));
    m.relay(q);
    assert_eq!(our_smp_results(&m), [(SmpResult::Success, None)]);
}

#[test]
fn extra_symmetric_key_agrees_with_libotr() {
    let mut m = private_pair();
    // We use it: libotr derives the same key and sees our usage data.
    let (key, events) = m
        .alice
        .extra_symmetric_key("bob", 0x0001_0002, b"file.tar")
        .unwrap();
    let q = m.alice_do(|_| events);
    m.relay(q);
    let got = m.events.bob.iter().find_map(|e| match e {
        LEvent::ReceivedSymkey {
            usage,
            usedata,
            key,
            ..
        } => Some((*usage, usedata.clone(), key.clone())),
        _ => None,
    });
    assert_eq!(
        got,
        Some((0x0001_0002, b"file.tar".to_vec(), key.as_bytes().to_vec()))
    );
    // libotr uses it: we derive the same key.
    let (lib_key, events) = m.bob.symkey("alice", 7, b"voice").unwrap();
    let q = m.bob_do(|_| events);
    m.relay(q);
    let got = m.events.alice.iter().find_map(|e| match e {
        Event::ExtraSymmetricKey {
            usage,
            usedata,
            key,
            ..
        } => Some((*usage, usedata.clone(), *key.as_bytes())),
        _ => None,
    });
    assert_eq!(got, Some((7, b"voice".to_vec(), lib_key)));
}

/// The peer is logged in twice: two libotr instances of one account (same key, two
/// instance tags) both see everything we send, as on networks that copy messages to every
/// session. Both get a working session with us, and what we type goes to the instance
/// that spoke last.
#[test]
fn two_libotr_instances_of_one_account() {
    let mut ours = engine(alice_key(), OUR_TAG, Policy::MANUAL, 31);
    let mut libs = [
        LibOtr::with_cached_key("bob", POLICY_MANUAL).unwrap(),
        LibOtr::with_cached_key("bob", POLICY_MANUAL).unwrap(),
    ];
    assert_ne!(libs[0].instance_tag(), libs[1].instance_tag());
    assert_eq!(libs[0].fingerprint(), libs[1].fingerprint());
    let mut shown: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut ours_shown = Vec::new();
    // Everything we send reaches both instances; what they send reaches us.
    let relay = |ours: &mut Engine,
                 libs: &mut [LibOtr; 2],
                 first: Vec<Event>,
                 shown: &mut [Vec<String>; 2],
                 ours_shown: &mut Vec<String>| {
        let mut to_libs: Vec<String> = first
            .into_iter()
            .filter_map(|e| match e {
                Event::Wire { data, .. } => Some(data),
                _ => None,
            })
            .collect();
        let mut rounds = 0;
        while !to_libs.is_empty() {
            rounds += 1;
            assert!(rounds < 100);
            let mut to_us = Vec::new();
            for data in to_libs.drain(..) {
                for (i, lib) in libs.iter_mut().enumerate() {
                    for e in lib.receive("alice", &data) {
                        match e {
                            LEvent::Wire { data, .. } => to_us.push(data),
                            LEvent::Message { text, .. } => shown[i].push(text),
                            _ => {}
                        }
                    }
                }
            }
            for data in to_us {
                for e in ours.receive("bob", &data) {
                    match e {
                        Event::Wire { data, .. } => to_libs.push(data),
                        Event::Message {
                            text,
                            encrypted: true,
                            ..
                        } => ours_shown.push(text),
                        _ => {}
                    }
                }
            }
        }
    };
    let q = ours.start("bob").unwrap();
    relay(&mut ours, &mut libs, q, &mut shown, &mut ours_shown);
    assert_eq!(libs[0].msgstate("alice"), MsgState::Encrypted);
    assert_eq!(libs[1].msgstate("alice"), MsgState::Encrypted);
    for round in 0..3 {
        for i in [1, 0] {
            let text = format!("from instance {i}, round {round}");
            let out: Vec<Event> = libs[i]
                .send("alice", &text)
                .into_iter()
                .filter_map(|e| match e {
                    LEvent::Wire { peer, data } => Some(Event::Wire { peer, data }),
                    _ => None,
                })
                .collect();
            // Deliver the instance's message to us, then our reply to both instances.
            let mut replies = Vec::new();
            for e in out {
                if let Event::Wire { data, .. } = e {
                    for e in ours.receive("bob", &data) {
                        match e {
                            Event::Message {
                                text,
                                encrypted: true,
                                ..
                            } => ours_shown.push(text),
                            other => replies.push(other),
                        }
                    }
                }
            }
            relay(&mut ours, &mut libs, replies, &mut shown, &mut ours_shown);
            let reply = format!("reply to {i}, round {round}");
            let q = ours.send("bob", &reply);
            relay(&mut ours, &mut libs, q, &mut shown, &mut ours_shown);
            assert_eq!(
                shown[i].last(),
                Some(&reply),
                "instance {i} did not get our reply"
            );
            assert_ne!(
                shown[1 - i].last(),
                Some(&reply),
                "both instances showed our reply"
            );
        }
    }
    assert_eq!(ours_shown.len(), 6, "{ours_shown:?}");
    assert_eq!(shown[0].len(), 3);
    assert_eq!(shown[1].len(), 3);
}

/// Every pairing of our policy presets with libotr's: libotr's user writes first, then
/// ours. Whether the conversation ends up private follows libotr's rules (a require-
/// encryption side holds its text and sends a query; a whitespace tag starts OTR at a
/// receiver that allows it; we stop tagging once plaintext arrived), every message arrives
/// exactly once, and a side that requires encryption never puts plaintext on the wire.
#[test]
fn every_policy_pairing_with_libotr() {
    use libotr_harness::POLICY_ALWAYS;
    let ours_policies = [
        ("manual", Policy::MANUAL),
        ("opportunistic", Policy::OPPORTUNISTIC),
        ("always", Policy::ALWAYS),
    ];
    let lib_policies = [
        ("manual", POLICY_MANUAL),
        ("default", POLICY_DEFAULT),
        ("always", POLICY_ALWAYS),
    ];
    // Rows: ours; columns: libotr's. True where the conversation ends encrypted.
    let expected = [
        [false, false, true],
        [false, true, true],
        [true, true, true],
    ];
    for (i, (ours_name, ours_policy)) in ours_policies.iter().enumerate() {
        for (j, (lib_name, lib_policy)) in lib_policies.iter().enumerate() {
            let case = format!("ours {ours_name}, libotr {lib_name}");
            let mut m = Mixed::with_libotr(*ours_policy, *lib_policy);
            let q = m.bob_do(|l| l.send("alice", "hello from libotr"));
            m.relay(q);
            let q = m.alice_do(|e| e.send("bob", "hello from offrecord"));
            m.relay(q);
            let private = m.alice.state("bob") == ConversationState::Encrypted;
            assert_eq!(private, expected[i][j], "{case}");
            if private {
                assert_eq!(m.bob.msgstate("alice"), MsgState::Encrypted, "{case}");
            }
            let ours_got: Vec<String> = m.alice_shown().into_iter().map(|(t, _)| t).collect();
            let lib_got: Vec<String> = m.bob_shown().into_iter().map(|(t, _)| t).collect();
            assert_eq!(ours_got, ["hello from libotr"], "{case}");
            assert_eq!(lib_got, ["hello from offrecord"], "{case}");
            for (from, data) in &m.wire {
                let requires = match from {
                    Side::Alice => ours_policy.has(Policy::REQUIRE_ENCRYPTION),
                    Side::Bob => lib_policy & libotr_harness::POLICY_REQUIRE_ENCRYPTION != 0,
                };
                if requires {
                    assert!(
                        !data.contains("hello from"),
                        "{case}: plaintext from a require-encryption side: {data}"
                    );
                }
            }
        }
    }
}

/// Our heartbeat (after a minute of not sending, when a message arrives) is what libotr
/// expects: an empty data message it does not show, logged as a heartbeat, after which the
/// keys have rotated and the conversation goes on.
#[test]
fn libotr_takes_our_heartbeat() {
    let mut m = private_pair();
    let _ = m.alice.tick(Time::from_secs(1_000));
    let q = m.bob_do(|l| l.send("alice", "are you there?"));
    m.relay(q);
    assert!(
        m.wire.iter().all(|(f, _)| *f == Side::Bob),
        "no heartbeat yet: we just went private"
    );
    m.clear();
    let _ = m.alice.tick(Time::from_secs(1_061));
    let q = m.bob_do(|l| l.send("alice", "a minute later"));
    m.relay(q);
    let ours: Vec<&String> = m
        .wire
        .iter()
        .filter(|(f, _)| *f == Side::Alice)
        .map(|(_, d)| d)
        .collect();
    assert_eq!(ours.len(), 1, "one heartbeat");
    assert!(m.bob_shown().is_empty(), "libotr showed the heartbeat");
    assert!(
        m.events
            .bob
            .iter()
            .any(|e| matches!(e, LEvent::MsgEvent { name, .. } if name == "LOG_HEARTBEAT_RCVD")),
        "{:?}",
        m.events.bob
    );
    m.clear();
    let q = m.alice_do(|e| e.send("bob", "still here"));
    m.relay(q);
    assert_eq!(m.bob_shown(), [("still here".to_owned(), true)]);
}
