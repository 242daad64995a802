//! Engine benchmarks against libotr 4.1.1 in the same run (`cargo bench -p otr --bench engine`):
//! key exchanges per second, and data round trips per second (A sends, B replies: two
//! encryptions, two decryptions, two key rotations) for 100 B, 1 KB and 10 KB messages.
//! After criterion's own report, a summary table gives the rates and our speed-up.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rate;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use libotr_harness::{Event as LEvent, LibOtr, POLICY_MANUAL};
use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::InstanceTag;
use otr::{ConversationState, Engine, EngineConfig, Event, Policy};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Two parties that can exchange messages: ours or libotr's.
trait Party {
    fn start(&mut self) -> Vec<String>;
    fn send(&mut self, text: &str) -> Vec<String>;
    /// Delivers `data`; returns wire replies and how many messages were shown.
    fn receive(&mut self, data: &str) -> (Vec<String>, usize);
}

struct Ours {
    engine: Engine,
    peer: &'static str,
}

impl Party for Ours {
    fn start(&mut self) -> Vec<String> {
        wires(self.engine.start(self.peer).unwrap()).0
    }
    fn send(&mut self, text: &str) -> Vec<String> {
        wires(self.engine.send(self.peer, text)).0
    }
    fn receive(&mut self, data: &str) -> (Vec<String>, usize) {
        wires(self.engine.receive(self.peer, data))
    }
}

fn wires(events: Vec<Event>) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut shown = 0;
    for e in events {
        match e {
            Event::Wire { data, .. } => out.push(data),
            Event::Message { .. } => shown += 1,
            _ => {}
        }
    }
    (out, shown)
}

struct Lib {
    lib: LibOtr,
    peer: &'static str,
}

impl Party for Lib {
    fn start(&mut self) -> Vec<String> {
        lwires(self.lib.start(self.peer)).0
    }
    fn send(&mut self, text: &str) -> Vec<String> {
        lwires(self.lib.send(self.peer, text)).0
    }
    fn receive(&mut self, data: &str) -> (Vec<String>, usize) {
        lwires(self.lib.receive(self.peer, data))
    }
}

fn lwires(events: Vec<LEvent>) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut shown = 0;
    for e in events {
        match e {
            LEvent::Wire { data, .. } => out.push(data),
            LEvent::Message { .. } => shown += 1,
            _ => {}
        }
    }
    (out, shown)
}

/// Delivers messages back and forth until both are quiet; returns messages shown.
fn relay(a: &mut dyn Party, b: &mut dyn Party, from_a: Vec<String>) -> usize {
    let mut shown = 0;
    let mut to_b = from_a;
    while !to_b.is_empty() {
        let mut to_a = Vec::new();
        for m in to_b.drain(..) {
            let (replies, n) = b.receive(&m);
            shown += n;
            to_a.extend(replies);
        }
        for m in to_a {
            let (replies, n) = a.receive(&m);
            shown += n;
            to_b.extend(replies);
        }
    }
    shown
}

fn ake(a: &mut dyn Party, b: &mut dyn Party) {
    let q = a.start();
    relay(a, b, q);
}

fn round_trip(a: &mut dyn Party, b: &mut dyn Party, text: &str) {
    let m = a.send(text);
    let (replies, shown) = b.receive(&m[0]);
    assert!(replies.is_empty() && shown == 1);
    let r = b.send(text);
    let (replies, shown) = a.receive(&r[0]);
    assert!(replies.is_empty() && shown == 1);
}

fn key(seed: u64) -> DsaPrivateKey {
    DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
}

fn our_pair() -> (Ours, Ours) {
    let engine = |key, tag, seed| {
        Engine::new(
            key,
            EngineConfig {
                policy: Policy::MANUAL,
                instance_tag: InstanceTag(tag),
                line_based: true,
                hold_during_key_exchange: false,
            },
            Box::new(ChaCha20Rng::seed_from_u64(seed)),
        )
    };
    let mut a = Ours {
        engine: engine(key(1), 0x100, 3),
        peer: "bob",
    };
    let mut b = Ours {
        engine: engine(key(2), 0x200, 4),
        peer: "alice",
    };
    ake(&mut a, &mut b);
    assert_eq!(a.engine.state("bob"), ConversationState::Encrypted);
    (a, b)
}

fn lib_pair() -> (Lib, Lib) {
    let mut a = Lib {
        lib: LibOtr::with_cached_key("bench-alice", POLICY_MANUAL).unwrap(),
        peer: "bench-bob",
    };
    let mut b = Lib {
        lib: LibOtr::with_cached_key("bench-bob", POLICY_MANUAL).unwrap(),
        peer: "bench-alice",
    };
    ake(&mut a, &mut b);
    (a, b)
}

const SIZES: [usize; 3] = [100, 1000, 10_000];

fn text_of(size: usize) -> String {
    "offrecord ".repeat(size / 10)
}

fn criterion_benches(c: &mut Criterion) {
    let (mut oa, mut ob) = our_pair();
    let (mut la, mut lb) = lib_pair();
    let mut g = c.benchmark_group("ake");
    g.sample_size(30);
    g.bench_function("offrecord", |bn| bn.iter(|| ake(&mut oa, &mut ob)));
    g.bench_function("libotr", |bn| bn.iter(|| ake(&mut la, &mut lb)));
    g.finish();
    let mut g = c.benchmark_group("round_trip");
    g.sample_size(30);
    for size in SIZES {
        let text = text_of(size);
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("offrecord", size), &text, |bn, t| {
            bn.iter(|| round_trip(&mut oa, &mut ob, t))
        });
        g.bench_with_input(BenchmarkId::new("libotr", size), &text, |bn, t| {
            bn.iter(|| round_trip(&mut la, &mut lb, t))
        });
    }
    g.finish();
}

fn summary() {
    let budget = Duration::from_millis(1500);
    let (mut oa, mut ob) = our_pair();
    let (mut la, mut lb) = lib_pair();
    println!("\nsummary (one core, same run)        offrecord      libotr    speed-up");
    let ours = rate(budget, || ake(&mut oa, &mut ob));
    let lib = rate(budget, || ake(&mut la, &mut lb));
    println!(
        "AKE/s                              {ours:>10.1}  {lib:>10.1}  {:>8.2}x",
        ours / lib
    );
    for size in SIZES {
        let text = text_of(size);
        let ours = rate(budget, || round_trip(&mut oa, &mut ob, &text));
        let lib = rate(budget, || round_trip(&mut la, &mut lb, &text));
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
        let (mut la, mut lb) = lib_pair();
        for _ in 0..n {
            round_trip(&mut la, &mut lb, &text);
        }
    } else {
        let (mut oa, mut ob) = our_pair();
        for _ in 0..n {
            round_trip(&mut oa, &mut ob, &text);
        }
    }
}

/// `OTR_AKES=n`: one pair of our engines and `n` key exchanges between them, no timing (as
/// `OTR_ROUND_TRIPS`: run it with `n` and with 0 under `perf stat -e instructions:u` or
/// callgrind; the difference divided by `n` is one exchange, both sides, robust on a
/// loaded machine).
fn akes_only(n: usize) {
    let (mut oa, mut ob) = our_pair();
    for _ in 0..n {
        ake(&mut oa, &mut ob);
    }
    assert_eq!(oa.engine.state("bob"), ConversationState::Encrypted);
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
