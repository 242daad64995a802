//! Group relay benchmarks (`cargo bench -p group --bench relay`): host CPU per relayed
//! message against room size (2 to 64 members), and lines on the wire per group message
//! with private delivery (O(N)) and the paper's channel broadcast (O(N²) deliveries).
//!
//! Only the host's handling of one member's line is timed (decrypting it, numbering it,
//! re-encrypting it for every member); delivering the results to the members and their
//! digests runs untimed in between, so the host's sessions rotate keys as in a real room.
//! Speakers take turns. After criterion's own report, a summary table gives the figures.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use group::{Delivery, Output, Target};
use support::Net;

const SIZES: [usize; 7] = [2, 4, 8, 16, 32, 50, 64];

/// Rooms up to this size derive pairwise MAC keys between all members (each line to the
/// host then carries N-2 MACs); larger rooms rely on digests, to keep setup short.
const MESH_LIMIT: usize = 16;

fn room(n: usize, delivery: Delivery) -> (Net, Vec<String>) {
    let (mut net, names) = Net::room(n, delivery, |c| c.pairwise_macs = n <= MESH_LIMIT);
    for name in &names {
        net.say(name, "warm-up");
    }
    net.advance(6);
    assert!(net.all_alerts().is_empty());
    (net, names)
}

/// CPU time this thread has run, in ns (Linux `schedstat`), so that figures do not depend
/// on how loaded the machine is; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// One group message from `speaker`; returns the host's wall time and CPU time (ns).
fn relay_timed(net: &mut Net, names: &[String], speaker: &str, text: &str) -> (Duration, u64) {
    let outs = net.node(speaker).say(text).unwrap();
    let lines: Vec<String> = outs
        .into_iter()
        .filter_map(|o| match o {
            Output::Send {
                to: Target::Private(to),
                line,
            } if to == names[0] => Some(line),
            Output::Send {
                to: Target::Channel(_),
                line,
            } => Some(line),
            _ => None,
        })
        .collect();
    let mut spent = Duration::ZERO;
    let mut cpu = 0;
    let mut host_out = Vec::new();
    for line in lines {
        let host = net.node(&names[0]);
        let c0 = thread_cpu_ns().unwrap_or(0);
        let t = Instant::now();
        let outs = match group::envelope::untag(&line) {
            Some(_) => host.receive_channel(support::CHANNEL, speaker, &line),
            None => host.receive_private(speaker, &line),
        };
        spent += t.elapsed();
        cpu += thread_cpu_ns().unwrap_or(0).saturating_sub(c0);
        host_out.extend(outs);
    }
    let host = names[0].clone();
    net.absorb(&host, host_out);
    net.run();
    (spent, cpu)
}

fn relay_once(net: &mut Net, names: &[String], speaker: &str, text: &str) -> Duration {
    relay_timed(net, names, speaker, text).0
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("host_relay");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(200));
    for n in [2, 8, 50] {
        let (mut net, names) = room(n, Delivery::Private);
        let mut i = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    i += 1;
                    let speaker = names[1 + i % (n - 1)].clone();
                    total += relay_once(
                        &mut net,
                        &names,
                        &speaker,
                        "a line of about forty bytes of text..",
                    );
                }
                total
            })
        });
    }
    g.finish();
}

/// Lines the host puts on the wire and deliveries to members for one group message.
fn wire_cost(n: usize, delivery: Delivery) -> (u64, u64) {
    let (mut net, names) = Net::room(n, delivery, |c| {
        c.pairwise_macs = false;
        c.checkpoint_every = u64::MAX;
        c.checkpoint_secs = f64::INFINITY;
    });
    net.say(&names[1], "warm-up");
    let (l0, d0) = (net.lines, net.deliveries);
    net.say(&names[1], "one group message");
    (net.lines - l0, net.deliveries - d0)
}

fn summary() {
    println!();
    println!("host time per relayed message (speakers take turns; 300 messages). CPU time is");
    println!("the thread's own (schedstat); wall time also counts waiting on a loaded machine.");
    println!("| members | pairwise MACs | CPU µs per message | messages / s of CPU | wall µs |");
    println!("|---|---|---|---|---|");
    for n in SIZES {
        let (mut net, names) = room(n, Delivery::Private);
        let count = 300;
        let mut total = Duration::ZERO;
        let mut cpu = 0u64;
        for i in 0..count {
            let speaker = names[1 + i % (n - 1)].clone();
            let (w, c) = relay_timed(
                &mut net,
                &names,
                &speaker,
                "a line of about forty bytes of text..",
            );
            total += w;
            cpu += c;
        }
        let per = total.as_secs_f64() / count as f64;
        let per_cpu = cpu as f64 / 1e9 / count as f64;
        println!(
            "| {n} | {} | {:.0} | {:.0} | {:.0} |",
            if n <= MESH_LIMIT { "yes" } else { "no" },
            per_cpu * 1e6,
            1.0 / per_cpu,
            per * 1e6,
        );
    }
    println!();
    println!("lines per group message (the sender's line to the host included)");
    println!(
        "| members | private: lines | private: deliveries | channel: lines | channel: deliveries |"
    );
    println!("|---|---|---|---|---|");
    for n in [2, 3, 10, 50, 64] {
        let (pl, pd) = wire_cost(n, Delivery::Private);
        let (cl, cd) = wire_cost(n, Delivery::Channel(support::CHANNEL.into()));
        println!("| {n} | {pl} | {pd} | {cl} | {cd} |");
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    // `cargo bench -- --test` (CI) only checks that the benchmarks run.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        summary();
    }
}
