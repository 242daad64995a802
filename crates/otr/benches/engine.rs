//! Engine benchmarks against libotr 4.1.1 in the same run (`cargo bench -p otr --bench engine`):
//! key exchanges per second, and data round trips per second (A sends, B replies: two
//! encryptions, two decryptions, two key rotations) for 100 B, 1 KB and 10 KB messages.
//! After criterion's own report, a summary table gives the rates and our speed-up.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rate;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use libotr_harness::{LibOtr, POLICY_MANUAL};
use otr::{ConversationState, Engine, Policy};
use testkit::{engine, key, AsView, Party, Relay, Side, View};

/// One key exchange, started by the first party (the record of the last one is forgotten
/// first: a benchmark runs thousands).
fn ake<P: Party>(pair: &mut Relay<P, P>) {
    pair.clear();
    pair.connect(Side::Alice);
}

/// The first party sends `text`, the second replies with it: each shows exactly that one
/// message, and nothing else crosses.
fn round_trip<P: Party>(pair: &mut Relay<P, P>, text: &str) {
    pair.clear();
    pair.say(Side::Alice, text);
    pair.say(Side::Bob, text);
    let shown = |events: &[P::Event]| {
        events
            .iter()
            .filter(|e| matches!(e.view(), View::Shown { .. }))
            .count()
    };
    assert_eq!(pair.wire.len(), 2);
    assert_eq!(shown(&pair.events.alice), 1);
    assert_eq!(shown(&pair.events.bob), 1);
}

fn our_pair() -> Relay<Engine, Engine> {
    let mut pair = Relay::new(
        engine(key(1), 0x100, Policy::MANUAL, 3),
        engine(key(2), 0x200, Policy::MANUAL, 4),
    );
    ake(&mut pair);
    assert_eq!(pair.alice.state("bob"), ConversationState::Encrypted);
    pair
}

fn lib_pair() -> Relay<LibOtr, LibOtr> {
    let mut pair = Relay::new(
        LibOtr::with_cached_key("bench-alice", POLICY_MANUAL).unwrap(),
        LibOtr::with_cached_key("bench-bob", POLICY_MANUAL).unwrap(),
    )
    .named("bench-alice", "bench-bob");
    ake(&mut pair);
    pair
}

const SIZES: [usize; 3] = [100, 1000, 10_000];

fn text_of(size: usize) -> String {
    "offrecord ".repeat(size / 10)
}

fn criterion_benches(c: &mut Criterion) {
    let mut ours_pair = our_pair();
    let mut libs_pair = lib_pair();
    let mut g = c.benchmark_group("ake");
    g.sample_size(30);
    g.bench_function("offrecord", |bn| bn.iter(|| ake(&mut ours_pair)));
    g.bench_function("libotr", |bn| bn.iter(|| ake(&mut libs_pair)));
    g.finish();
    let mut g = c.benchmark_group("round_trip");
    g.sample_size(30);
    for size in SIZES {
        let text = text_of(size);
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("offrecord", size), &text, |bn, t| {
            bn.iter(|| round_trip(&mut ours_pair, t))
        });
        g.bench_with_input(BenchmarkId::new("libotr", size), &text, |bn, t| {
            bn.iter(|| round_trip(&mut libs_pair, t))
        });
    }
    g.finish();
}

fn summary() {
    let budget = Duration::from_millis(1500);
    let mut ours_pair = our_pair();
    let mut libs_pair = lib_pair();
    println!("\nsummary (one core, same run)        offrecord      libotr    speed-up");
    let ours = rate(budget, || ake(&mut ours_pair));
    let lib = rate(budget, || ake(&mut libs_pair));
    println!(
        "AKE/s                              {ours:>10.1}  {lib:>10.1}  {:>8.2}x",
        ours / lib
    );
    for size in SIZES {
        let text = text_of(size);
        let ours = rate(budget, || round_trip(&mut ours_pair, &text));
        let lib = rate(budget, || round_trip(&mut libs_pair, &text));
        println!(
            "round trips/s, {size:>5} B            {ours:>10.1}  {lib:>10.1}  {:>8.2}x",
            ours / lib
        );
    }
}

/// `OTR_ROUND_TRIPS=n`: one pair (ours, or libotr's with `OTR_ROUND_TRIPS_PEER=libotr`),
/// one key exchange and then `n` round trips of 1 KB (`OTR_ROUND_TRIP_BYTES` to change),
/// no timing. Run it with `n` and with 0
/// under `valgrind --tool=callgrind` (instruction counts) or `/usr/bin/time -f %U` (CPU
/// time, robust on a loaded machine): the difference divided by `n` is one round trip.
fn round_trips_only(n: usize) {
    let bytes = std::env::var("OTR_ROUND_TRIP_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let text = text_of(bytes);
    if std::env::var("OTR_ROUND_TRIPS_PEER").is_ok_and(|p| p == "libotr") {
        let mut libs_pair = lib_pair();
        for _ in 0..n {
            round_trip(&mut libs_pair, &text);
        }
    } else {
        let mut ours_pair = our_pair();
        for _ in 0..n {
            round_trip(&mut ours_pair, &text);
        }
    }
}

/// `OTR_AKES=n`: one pair of our engines and `n` key exchanges between them, no timing (as
/// `OTR_ROUND_TRIPS`: run it with `n` and with 0 under `perf stat -e instructions:u` or
/// callgrind; the difference divided by `n` is one exchange, both sides, robust on a
/// loaded machine).
fn akes_only(n: usize) {
    let mut ours_pair = our_pair();
    for _ in 0..n {
        ake(&mut ours_pair);
    }
    assert_eq!(ours_pair.alice.state("bob"), ConversationState::Encrypted);
}

fn main() {
    if let Some(n) = std::env::var("OTR_AKES").ok().and_then(|v| v.parse().ok()) {
        akes_only(n);
        return;
    }
    if let Some(n) = std::env::var("OTR_ROUND_TRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        round_trips_only(n);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        summary();
    }
}
