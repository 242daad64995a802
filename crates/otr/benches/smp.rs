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
use testkit::{Relay, Side};

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

const A: &str = "bench-smp-alice";
const B: &str = "bench-smp-bob";

/// Two libotr accounts, private with each other.
struct LibPair(Relay<LibOtr, LibOtr>);

impl LibPair {
    fn new() -> Self {
        let a = LibOtr::with_cached_key(A, POLICY_MANUAL).unwrap();
        let b = LibOtr::with_cached_key(B, POLICY_MANUAL).unwrap();
        let mut pair = Relay::new(a, b).named(A, B);
        pair.connect(Side::Alice);
        LibPair(pair)
    }

    /// One full SMP run; panics unless both sides report success.
    fn run(&mut self) {
        let pair = &mut self.0;
        pair.clear();
        pair.act(Side::Alice, |a| a.smp_start(B, None, &SECRET));
        let asked =
            pair.events.bob.iter().any(
                |e| matches!(e, LEvent::Smp { event, .. } if *event == SMPEVENT_ASK_FOR_SECRET),
            );
        assert!(asked, "libotr did not ask for the secret");
        pair.act(Side::Bob, |b| b.smp_respond(A, &SECRET));
        let succ = [&pair.events.alice, &pair.events.bob]
            .into_iter()
            .flatten()
            .filter(|e| matches!(e, LEvent::Smp { event, .. } if *event == SMPEVENT_SUCCESS))
            .count();
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
