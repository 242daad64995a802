//! The SMP state machine through its public API (`otr::smp`): full runs with secrets built
//! by `smp_secret` as both sides would, restarts, aborts, and arbitrary TLVs in every state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otr::smp::{smp_secret, Smp, SmpError, SmpEvent};
use otr::wire::tlv::{Tlv, TlvType};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const FP_A: [u8; 20] = [0xa1; 20];
const FP_B: [u8; 20] = [0xb2; 20];
const SSID: [u8; 8] = [9, 8, 7, 6, 5, 4, 3, 2];

/// Alice starts with `x`, Bob answers with `y`; returns both results.
fn run(x: &[u8], y: &[u8], question: Option<&str>, seed: u64) -> (SmpEvent, SmpEvent) {
    let rng = &mut ChaCha20Rng::seed_from_u64(seed);
    // Both sides put the initiator's fingerprint first.
    let sa = smp_secret(&FP_A, &FP_B, &SSID, x);
    let sb = smp_secret(&FP_A, &FP_B, &SSID, y);
    let (mut a, mut b) = (Smp::default(), Smp::default());
    let m1 = a.start(&sa, question, rng);
    let step = b.receive(&m1[0], rng);
    assert_eq!(
        step.event,
        Some(SmpEvent::Request {
            question: question.map(str::to_owned)
        })
    );
    let m2 = b.respond(&sb, rng).unwrap();
    let m3 = a.receive(&m2[0], rng).send;
    let step_b = b.receive(&m3[0], rng);
    let step_a = a.receive(&step_b.send[0], rng);
    assert!(!a.in_progress() && !b.in_progress());
    (step_a.event.unwrap(), step_b.event.unwrap())
}

#[test]
fn same_secret_succeeds_different_fails() {
    assert_eq!(
        run(b"swordfish", b"swordfish", None, 1),
        (SmpEvent::Success, SmpEvent::Success)
    );
    assert_eq!(
        run(b"swordfish", b"swordfish", Some("Password?"), 2),
        (SmpEvent::Success, SmpEvent::Success)
    );
    assert_eq!(
        run(b"swordfish", b"catfish", None, 3),
        (SmpEvent::Failure, SmpEvent::Failure)
    );
    assert_eq!(
        run(b"", b"x", Some("Empty?"), 4),
        (SmpEvent::Failure, SmpEvent::Failure)
    );
}

#[test]
fn fingerprint_order_matters() {
    let rng = &mut ChaCha20Rng::seed_from_u64(5);
    let sa = smp_secret(&FP_A, &FP_B, &SSID, b"s");
    // Bob wrongly puts himself first: a different secret, so the SMP fails.
    let sb = smp_secret(&FP_B, &FP_A, &SSID, b"s");
    let (mut a, mut b) = (Smp::default(), Smp::default());
    let m1 = a.start(&sa, None, rng);
    b.receive(&m1[0], rng);
    let m2 = b.respond(&sb, rng).unwrap();
    let m3 = a.receive(&m2[0], rng).send;
    let s = b.receive(&m3[0], rng);
    assert_eq!(s.event, Some(SmpEvent::Failure));
    assert_eq!(a.receive(&s.send[0], rng).event, Some(SmpEvent::Failure));
}

#[test]
fn abort_and_respond_errors() {
    let rng = &mut ChaCha20Rng::seed_from_u64(6);
    let s = smp_secret(&FP_A, &FP_B, &SSID, b"s");
    let mut a = Smp::default();
    assert_eq!(a.respond(&s, rng).unwrap_err(), SmpError::NoRequest);
    let m1 = a.start(&s, None, rng);
    let mut b = Smp::default();
    b.receive(&m1[0], rng);
    let abort = b.abort();
    assert_eq!(abort.len(), 1);
    assert_eq!(abort[0].kind, TlvType::SMP_ABORT);
    let step = a.receive(&abort[0], rng);
    assert_eq!(step.event, Some(SmpEvent::Aborted));
    assert!(step.send.is_empty());
    assert!(!a.in_progress() && !b.in_progress());
    // Debug never shows values
    let m1 = a.start(&s, Some("q"), rng);
    assert_eq!(m1[0].kind, TlvType::SMP1Q);
    let dbg = format!("{a:?}");
    assert!(dbg.contains("Expect2") && !dbg.contains("0x"), "{dbg}");
}

/// Machines in every state: fresh, request pending, Expect2, Expect3, Expect4.
fn states() -> Vec<Smp> {
    let rng = &mut ChaCha20Rng::seed_from_u64(7);
    let s = smp_secret(&FP_A, &FP_B, &SSID, b"s");
    let (mut a, mut b) = (Smp::default(), Smp::default());
    let m1 = a.start(&s, None, rng);
    let a2 = a.clone();
    b.receive(&m1[0], rng);
    let b1 = b.clone();
    let m2 = b.respond(&s, rng).unwrap();
    let b3 = b.clone();
    a.receive(&m2[0], rng);
    vec![Smp::default(), b1, a2, b3, a]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn arbitrary_tlvs_in_every_state(state in 0usize..5, kind in 2u16..8, value in proptest::collection::vec(any::<u8>(), 0..300)) {
        thread_local!(static STATES: Vec<Smp> = states());
        let mut smp = STATES.with(|s| s[state].clone());
        let rng = &mut ChaCha20Rng::seed_from_u64(8);
        let step = smp.receive(&Tlv::new(TlvType(kind), value), rng);
        // random bytes never pass a proof: every SMP type is an abort
        prop_assert_eq!(step.event, Some(SmpEvent::Aborted));
        prop_assert!(!smp.in_progress());
        if kind == 6 {
            prop_assert!(step.send.is_empty());
        } else {
            prop_assert_eq!(step.send.len(), 1);
            prop_assert_eq!(step.send[0].kind, TlvType::SMP_ABORT);
        }
    }
}
