//! SMP benchmarks against libotr 4.1.1 in the same run (`cargo bench -p otr --bench smp`):
//! full Socialist Millionaires' Protocol runs (start, request, answer, messages 2 to 4,
//! until both sides have a result).
//!
//! * offrecord: two [`Smp`] state machines exchanging TLVs in-process.
//! * libotr: two `LibOtr` instances with an established session; each run is
//!   `otrl_message_initiate_smp`, then the encrypted data messages relayed until both sides
//!   report `SMPEVENT_SUCCESS` (so libotr's figure also includes encrypting and decrypting
//!   four data messages, a small part of its cost).
//!
//! After criterion's own report, a summary table gives the rates and our speed-up.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rate;
use std::time::Duration;

use criterion::Criterion;
use libotr_harness::{
    Event as LEvent, LibOtr, POLICY_MANUAL, SMPEVENT_ASK_FOR_SECRET, SMPEVENT_SUCCESS,
};
use otr::smp::{Smp, SmpEvent};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const SECRET: [u8; 32] = [0x5a; 32];

/// One full SMP run between two of our state machines; panics unless both succeed.
fn ours_run(a: &mut Smp, b: &mut Smp, rng: &mut ChaCha20Rng) {
    let m1 = a.start(&SECRET, None, rng);
    let s = b.receive(&m1[0], rng);
    assert!(matches!(s.event, Some(SmpEvent::Request { .. })));
    let m2 = b.respond(&SECRET, rng).unwrap();
    let m3 = a.receive(&m2[0], rng).send;
    let s = b.receive(&m3[0], rng);
    assert_eq!(s.event, Some(SmpEvent::Success));
    let s2 = a.receive(&s.send[0], rng);
    assert_eq!(s2.event, Some(SmpEvent::Success));
}

struct LibPair {
    a: LibOtr,
    b: LibOtr,
}

const A: &str = "bench-smp-alice";
const B: &str = "bench-smp-bob";

fn wires(events: &[LEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            LEvent::Wire { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect()
}

fn smp_events(events: &[LEvent]) -> Vec<i32> {
    events
        .iter()
        .filter_map(|e| match e {
            LEvent::Smp { event, .. } => Some(*event),
            _ => None,
        })
        .collect()
}

impl LibPair {
    fn new() -> Self {
        let mut a = LibOtr::with_cached_key(A, POLICY_MANUAL).unwrap();
        let mut b = LibOtr::with_cached_key(B, POLICY_MANUAL).unwrap();
        // AKE: relay until quiet.
        let mut to_b = wires(&a.start(B));
        while !to_b.is_empty() {
            let mut to_a = Vec::new();
            for m in to_b.drain(..) {
                to_a.extend(wires(&b.receive(A, &m)));
            }
            for m in to_a {
                to_b.extend(wires(&a.receive(B, &m)));
            }
        }
        LibPair { a, b }
    }

    /// One full SMP run; panics unless both sides report success.
    fn run(&mut self) {
        let (a, b) = (&mut self.a, &mut self.b);
        let mut succ = 0;
        let mut to_b = wires(&a.smp_start(B, None, &SECRET));
        while !to_b.is_empty() {
            let mut to_a = Vec::new();
            for m in to_b.drain(..) {
                let ev = b.receive(A, &m);
                to_a.extend(wires(&ev));
                for e in smp_events(&ev) {
                    if e == SMPEVENT_ASK_FOR_SECRET {
                        to_a.extend(wires(&b.smp_respond(A, &SECRET)));
                    }
                    succ += usize::from(e == SMPEVENT_SUCCESS);
                }
            }
            for m in to_a {
                let ev = a.receive(B, &m);
                to_b.extend(wires(&ev));
                succ += smp_events(&ev)
                    .iter()
                    .filter(|&&e| e == SMPEVENT_SUCCESS)
                    .count();
            }
        }
        assert_eq!(succ, 2, "libotr SMP did not succeed on both sides");
    }
}

fn criterion_benches(c: &mut Criterion) {
    let (mut a, mut b) = (Smp::default(), Smp::default());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut lib = LibPair::new();
    let mut g = c.benchmark_group("smp_run");
    g.sample_size(20);
    g.bench_function("offrecord", |bn| {
        bn.iter(|| ours_run(&mut a, &mut b, &mut rng))
    });
    g.bench_function("libotr", |bn| bn.iter(|| lib.run()));
    g.finish();
}

fn summary() {
    let budget = Duration::from_millis(3000);
    let (mut a, mut b) = (Smp::default(), Smp::default());
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut lib = LibPair::new();
    println!("\nsummary (one core, same run)        offrecord      libotr    speed-up");
    let ours = rate(budget, || ours_run(&mut a, &mut b, &mut rng));
    let theirs = rate(budget, || lib.run());
    println!(
        "full SMP runs/s                    {ours:>10.1}  {theirs:>10.1}  {:>8.2}x",
        ours / theirs
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        summary();
    }
}
