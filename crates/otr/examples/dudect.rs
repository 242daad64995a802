//! Constant time, measured (the method of dudect: Reparaz, Balasch and Verbauwhede, "Dude,
//! is my code constant time?", 2017; this is our own program).
//!
//! ```sh
//! cargo run --release -p otr --example dudect -- dh-shared 1000000
//! cargo run --release -p otr --example dudect -- all            # the four primitives
//! cargo run --release -p otr --example dudect -- controls       # detector sanity check
//! cargo run --release -p otr --example dudect -- --null dsa-sign # the noise floor
//! cargo run --release -p otr --example dudect -- --verbose dh-pair # t of every 10th crop
//! ```
//!
//! For each secret-dependent primitive, every measurement draws a class at random: A, a
//! fixed secret of low Hamming weight, or B, a uniformly random secret. Inputs are prepared
//! before the clock starts, one fresh object per measurement in both classes (so both
//! classes touch memory alike); the primitive is timed with `std::time::Instant`
//! (nanoseconds; the workspace forbids `unsafe`, so no `rdtsc`, and the primitives take
//! 50-400 µs, far above the clock's resolution). Welch's t-test then compares the two
//! classes' times: on all measurements, on the measurements under each of 100 percentile
//! thresholds (dudect's crops, which drop the long tail of preemptions and interrupts), and
//! to second order (squared distances to the class mean). The implementation leaks nothing
//! detectable if every |t| stays under 4.5. The largest of these 102 correlated values is
//! reported; `--null` draws class A's secrets like class B's, so that the same statistic
//! shows what noise alone gives on the machine at hand (2 to 3.5 on a busy one). A crop
//! tests whether the two classes' times have the same distribution below a threshold; the
//! sign of its t is not the direction of a leak (a leak that slows A by 100 ns can give A
//! the lower mean in the fastest 7 % when the fast tail is a spike).
//!
//! Primitives, all through the crate's public API:
//!
//! * `dh-shared`: `DhKeyPair::shared_secret`, the general 1536-bit exponentiation (5-bit
//!   fixed windows) with a secret 320-bit exponent; A: x = 2^11;
//! * `dh-pair`: `DhKeyPair::shared_secrets_pair`, two secret exponents on one base (Lim-Lee
//!   comb); A: both 2^11;
//! * `dh-keygen`: `DhKeyPair::from_secret_bytes` with 40 bytes, the fixed-base table for
//!   g = 2; A: x = 2^11 (not 1: its public value 2 would be one byte long, and the public
//!   value's length, which is no secret, would be timed too);
//! * `dsa-sign`: `DsaPrivateKey::sign` with the nonce k fed by a replaying generator;
//!   A: x = 1 and k = 1; B: x from 64 random keys, k uniform in `[1, q-1]` (drawn below q
//!   beforehand, so that the signer's rejection sampling, which leaks nothing about the k
//!   it accepts, never runs a second round).
//!
//! Controls, deliberately variable time, which must give |t| above 4.5 with far fewer
//! measurements: `control-memcmp` (early-exit comparison of 4 KiB; A: equal, B: random;
//! 20,000), `control-sqmul` (square-and-multiply with a branch per exponent bit,
//! num-bigint, same group and exponents as `dh-shared`; 20,000) and `control-subtle`
//! (`dh-shared` followed by an early-exit comparison of the 196-byte secret with class
//! A's: a leak of about 100 ns on top of 250 µs, the size of a real slip; 200,000).

use std::error::Error;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use num_bigint::BigUint;
use otr::crypto::{DhKeyPair, DsaPrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, OsRng, RngCore, SeedableRng};

/// The pass threshold on |t| (dudect's).
const THRESHOLD: f64 = 4.5;
/// Percentile crops (dudect's count).
const CROPS: usize = 100;
/// Measurements prepared, then timed, at a time.
const BATCH: usize = 1000;
/// Default measurements for a primitive and for a control.
const DEFAULT_PRIMITIVE: usize = 1_000_000;
const DEFAULT_CONTROL: usize = 20_000;
/// `control-subtle`'s leak is some 100 ns in 250 µs: it needs more.
const DEFAULT_SUBTLE: usize = 200_000;
/// The value signed in `dsa-sign` (public).
const SIGNED: [u8; 32] = [0x5a; 32];
/// The RFC 3526 1536-bit MODP prime, for the square-and-multiply control.
const P1536_HEX: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245\
E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE6\
49286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD96\
1C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF";

type Res<T> = Result<T, Box<dyn Error>>;

/// The measurements of one run: each one's class (`true` for B) and time in nanoseconds.
struct Samples {
    class_b: Vec<bool>,
    ns: Vec<u64>,
}

/// Times `run` on `n` inputs made by `prepare` for classes drawn at random, in batches:
/// a batch's classes and inputs are all prepared, then each is timed alone. A first
/// batch warms caches and branch predictors and is not recorded. `report` is called after
/// each tenth.
fn measure<I, O>(
    n: usize,
    rng: &mut ChaCha20Rng,
    mut prepare: impl FnMut(bool, &mut ChaCha20Rng) -> Res<I>,
    mut run: impl FnMut(&mut I) -> O,
    mut report: impl FnMut(&Samples),
) -> Res<Samples> {
    let mut samples = Samples {
        class_b: Vec::with_capacity(n),
        ns: Vec::with_capacity(n),
    };
    let mut warm_up = BATCH.min(n);
    let mut next_report = n / 10;
    while samples.ns.len() < n {
        let size = if warm_up > 0 {
            warm_up
        } else {
            BATCH.min(n - samples.ns.len())
        };
        let classes: Vec<bool> = (0..size).map(|_| rng.next_u32() & 1 == 1).collect();
        let mut inputs = classes
            .iter()
            .map(|&b| prepare(b, rng))
            .collect::<Res<Vec<I>>>()?;
        let mut times = Vec::with_capacity(size);
        for input in inputs.iter_mut() {
            let start = Instant::now();
            let out = black_box(run(black_box(input)));
            let elapsed = start.elapsed();
            drop(out);
            times.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        }
        if warm_up > 0 {
            warm_up = 0;
            continue;
        }
        samples.class_b.extend_from_slice(&classes);
        samples.ns.extend_from_slice(&times);
        if samples.ns.len() >= next_report && samples.ns.len() < n {
            report(&samples);
            next_report += n / 10;
        }
    }
    Ok(samples)
}

/// Welch's t-test accumulated online (Welford), per class.
#[derive(Clone, Copy, Default)]
struct Welch {
    n: [f64; 2],
    mean: [f64; 2],
    m2: [f64; 2],
}

impl Welch {
    fn push(&mut self, class_b: bool, x: f64) {
        let c = usize::from(class_b);
        self.n[c] += 1.0;
        let delta = x - self.mean[c];
        self.mean[c] += delta / self.n[c];
        self.m2[c] += delta * (x - self.mean[c]);
    }

    /// t, or 0 while a class has fewer than two measurements.
    fn t(&self) -> f64 {
        if self.n[0] < 2.0 || self.n[1] < 2.0 {
            return 0.0;
        }
        let var = |c: usize| self.m2[c] / (self.n[c] - 1.0);
        let se = (var(0) / self.n[0] + var(1) / self.n[1]).sqrt();
        if se == 0.0 {
            return 0.0;
        }
        (self.mean[0] - self.mean[1]) / se
    }
}

/// The t statistics of a set of measurements.
struct Verdict {
    n: [usize; 2],
    mean_us: [f64; 2],
    raw: f64,
    /// The crop with the largest |t|: t, the share of measurements it keeps, and its
    /// difference of means (A - B) in nanoseconds.
    crop: (f64, f64, f64),
    /// Every crop: the share of measurements it keeps, t, and A - B in nanoseconds.
    crops: Vec<(f64, f64, f64)>,
    second_order: f64,
}

impl Verdict {
    fn of(s: &Samples) -> Self {
        let mut sorted = s.ns.clone();
        sorted.sort_unstable();
        let len = sorted.len();
        // dudect's thresholds: percentiles 1 - 0.5^(10 (k + 1) / CROPS), from 6.7 % to 99.9 %.
        let thresholds: Vec<u64> = (0..CROPS)
            .map(|k| {
                let p = 1.0 - 0.5f64.powf(10.0 * (k as f64 + 1.0) / CROPS as f64);
                let at = ((p * len as f64) as usize).min(len.saturating_sub(1));
                sorted.get(at).copied().unwrap_or(0)
            })
            .collect();
        let mut raw = Welch::default();
        let mut crops = vec![Welch::default(); CROPS];
        for (&b, &ns) in s.class_b.iter().zip(&s.ns) {
            let x = ns as f64;
            raw.push(b, x);
            for (w, &limit) in crops.iter_mut().zip(&thresholds) {
                if ns <= limit {
                    w.push(b, x);
                }
            }
        }
        let mut second = Welch::default();
        for (&b, &ns) in s.class_b.iter().zip(&s.ns) {
            let d = ns as f64 - raw.mean[usize::from(b)];
            second.push(b, d * d);
        }
        let crops: Vec<(f64, f64, f64)> = crops
            .iter()
            .map(|w| {
                let kept = (w.n[0] + w.n[1]) / len.max(1) as f64;
                (kept, w.t(), w.mean[0] - w.mean[1])
            })
            .collect();
        let crop = crops.iter().map(|&(kept, t, diff)| (t, kept, diff)).fold(
            (0.0f64, 0.0f64, 0.0f64),
            |best, c| {
                if c.0.abs() > best.0.abs() {
                    c
                } else {
                    best
                }
            },
        );
        Self {
            n: [raw.n[0] as usize, raw.n[1] as usize],
            mean_us: [raw.mean[0] / 1e3, raw.mean[1] / 1e3],
            raw: raw.t(),
            crop,
            crops,
            second_order: second.t(),
        }
    }

    /// The largest |t| of all the tests.
    fn max_abs_t(&self) -> f64 {
        self.raw
            .abs()
            .max(self.crop.0.abs())
            .max(self.second_order.abs())
    }
}

/// A generator that hands out prepared bytes (a DSA nonce), then a fixed non-zero filler.
#[derive(Clone)]
struct Replay {
    bytes: [u8; 20],
    used: usize,
}

impl RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_be_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_be_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest.iter_mut() {
            *d = self.bytes.get(self.used).copied().unwrap_or(0xa5);
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Replay {}

/// 40 big-endian bytes of the fixed DH secret of class A: 2^11.
fn fixed_dh_secret() -> [u8; 40] {
    let mut x = [0u8; 40];
    x[38] = 0x08;
    x
}

/// A uniformly random 40-byte DH secret (redrawn in the negligible case that it is
/// refused).
fn random_dh_key(rng: &mut ChaCha20Rng) -> DhKeyPair {
    loop {
        let mut x = [0u8; 40];
        rng.fill_bytes(&mut x);
        if let Ok(kp) = DhKeyPair::from_secret_bytes(&x) {
            return kp;
        }
    }
}

fn dh_key(class_b: bool, rng: &mut ChaCha20Rng) -> Res<DhKeyPair> {
    if class_b {
        Ok(random_dh_key(rng))
    } else {
        Ok(DhKeyPair::from_secret_bytes(&fixed_dh_secret())?)
    }
}

/// Big-endian `a < b` for equal lengths.
fn below(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a < b
}

/// A key with the same domain parameters as `model` and secret `x` (big-endian).
fn dsa_key_with(model: &DsaPrivateKey, x: &[u8]) -> Res<DsaPrivateKey> {
    let public = model.public();
    let (p, g) = (
        BigUint::from_bytes_be(public.p()),
        BigUint::from_bytes_be(public.g()),
    );
    let y = g.modpow(&BigUint::from_bytes_be(x), &p).to_bytes_be();
    Ok(DsaPrivateKey::from_components(
        public.p(),
        public.q(),
        public.g(),
        &y,
        x,
    )?)
}

/// Uniform in `[1, q-1]` as 20 big-endian bytes (q has 160 bits).
fn below_q(q: &[u8], rng: &mut ChaCha20Rng) -> [u8; 20] {
    loop {
        let mut k = [0u8; 20];
        rng.fill_bytes(&mut k);
        if k.iter().any(|&b| b != 0) && below(&k, q) {
            return k;
        }
    }
}

/// Early-exit equality: the deliberately leaky control.
fn leaky_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return false;
        }
    }
    true
}

/// Square-and-multiply that multiplies only for set bits: the other leaky control.
fn leaky_pow(base: &BigUint, exp: &BigUint, p: &BigUint, bits: u64) -> BigUint {
    let mut acc = BigUint::from(1u8);
    for i in (0..bits).rev() {
        acc = &acc * &acc % p;
        if exp.bit(i) {
            acc = acc * base % p;
        }
    }
    acc
}

/// Runs one primitive or control for `n` measurements and prints its verdict; returns
/// whether it is as expected (no leak for a primitive, a leak for a control).
fn check(name: &str, n: usize, flags: Flags, rng: &mut ChaCha20Rng) -> Res<bool> {
    let null = flags.null;
    let started = Instant::now();
    let report = |s: &Samples| {
        let v = Verdict::of(s);
        eprintln!(
            "  {name}: {} measurements, {:.0} s: max |t| so far {:.2}",
            s.ns.len(),
            started.elapsed().as_secs_f64(),
            v.max_abs_t()
        );
    };
    let theirs = random_dh_key(rng).public().clone();
    // The class each input is made for (B for both under `null`); the label stays.
    let as_b = |b: bool| b || null;
    let samples = match name {
        "dh-shared" => measure(
            n,
            rng,
            |b, rng| dh_key(as_b(b), rng),
            |kp| kp.shared_secret(&theirs),
            report,
        )?,
        "dh-pair" => measure(
            n,
            rng,
            |b, rng| Ok((dh_key(as_b(b), rng)?, dh_key(as_b(b), rng)?)),
            |(a, b)| DhKeyPair::shared_secrets_pair(a, b, &theirs),
            report,
        )?,
        "dh-keygen" => {
            let fixed = DhKeyPair::from_secret_bytes(&fixed_dh_secret())?;
            eprintln!(
                "  class A's public value has {} bytes",
                fixed.public().as_bytes().len()
            );
            measure(
                n,
                rng,
                |b, rng| {
                    let mut x = fixed_dh_secret();
                    if as_b(b) {
                        rng.fill_bytes(&mut x);
                    }
                    Ok(x)
                },
                |x| DhKeyPair::from_secret_bytes(&x[..]),
                report,
            )?
        }
        "dsa-sign" => {
            eprintln!("  generating DSA domain parameters...");
            let model = DsaPrivateKey::generate(rng);
            let q = model.public().q().to_vec();
            let mut one = [0u8; 20];
            one[19] = 1;
            // Allocated in turns, so that neither class's keys sit apart in memory.
            let (mut fixed, mut random) = (Vec::new(), Vec::new());
            for _ in 0..64 {
                fixed.push(dsa_key_with(&model, &one)?);
                random.push(dsa_key_with(&model, &below_q(&q, rng))?);
            }
            measure(
                n,
                rng,
                |b, rng| {
                    let pick = rng.next_u32() as usize % 64;
                    let (keys, k) = if as_b(b) {
                        (&random, below_q(&q, rng))
                    } else {
                        (&fixed, one)
                    };
                    let key = keys.get(pick).ok_or("no key")?;
                    Ok((key, Replay { bytes: k, used: 0 }))
                },
                |(key, nonce)| key.sign(&SIGNED, nonce),
                report,
            )?
        }
        "control-subtle" => {
            let fixed = DhKeyPair::from_secret_bytes(&fixed_dh_secret())?;
            let reference = fixed.shared_secret(&theirs).secbytes();
            measure(
                n,
                rng,
                |b, rng| dh_key(as_b(b), rng),
                |kp| leaky_eq(&kp.shared_secret(&theirs).secbytes(), &reference),
                report,
            )?
        }
        "control-memcmp" => {
            let mut reference = vec![0u8; 4096];
            rng.fill_bytes(&mut reference);
            measure(
                n,
                rng,
                |b, rng| {
                    let mut v = reference.clone();
                    if as_b(b) {
                        rng.fill_bytes(&mut v);
                    }
                    Ok(v)
                },
                |v| leaky_eq(&reference, v),
                report,
            )?
        }
        "control-sqmul" => {
            let p = BigUint::parse_bytes(P1536_HEX.as_bytes(), 16).ok_or("bad prime")?;
            let base = BigUint::from_bytes_be(theirs.as_bytes());
            measure(
                n,
                rng,
                |b, rng| {
                    let mut x = fixed_dh_secret();
                    if as_b(b) {
                        rng.fill_bytes(&mut x);
                    }
                    Ok(BigUint::from_bytes_be(&x))
                },
                |x| leaky_pow(&base, x, &p, 320),
                report,
            )?
        }
        other => return Err(format!("unknown primitive {other:?}\n{USAGE}").into()),
    };
    let v = Verdict::of(&samples);
    let control = name.starts_with("control") && !null;
    let leaks = v.max_abs_t() >= THRESHOLD;
    println!(
        "{name}{}: {} measurements (A {}, B {}) in {:.0} s; mean A {:.2} µs, B {:.2} µs\n  \
         t: raw {:.2}, max over {CROPS} crops {:.2} (keeping {:.1} %, A - B = {:.1} ns), \
         second order {:.2}; \
         max |t| = {:.2} {} {THRESHOLD}: {}",
        if null {
            " (null: both classes random)"
        } else {
            ""
        },
        samples.ns.len(),
        v.n[0],
        v.n[1],
        started.elapsed().as_secs_f64(),
        v.mean_us[0],
        v.mean_us[1],
        v.raw,
        v.crop.0,
        100.0 * v.crop.1,
        v.crop.2,
        v.second_order,
        v.max_abs_t(),
        if leaks { ">=" } else { "<" },
        match (control, leaks) {
            (false, false) => "no leak detected",
            (false, true) => "LEAK DETECTED",
            (true, true) => "leak detected, as it must be",
            (true, false) => "CONTROL NOT DETECTED",
        }
    );
    if flags.verbose {
        for (kept, t, diff) in v.crops.iter().step_by(10) {
            println!(
                "  crop keeping {:5.1} %: t {t:6.2}, A - B = {diff:8.1} ns",
                100.0 * kept
            );
        }
    }
    Ok(leaks == control)
}

/// Command-line switches.
#[derive(Clone, Copy)]
struct Flags {
    /// `--null`: class A's inputs are drawn like class B's (labels kept), so the t values
    /// show the noise floor.
    null: bool,
    /// `--verbose`: t and A - B for every tenth crop.
    verbose: bool,
}

const USAGE: &str =
    "usage: dudect [--null] [--verbose] PRIMITIVE|all|controls [MEASUREMENTS]\n  primitives: \
                     dh-shared dh-pair dh-keygen dsa-sign; controls: control-memcmp \
                     control-sqmul control-subtle";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("dudect: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Res<bool> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let flags = Flags {
        null: args.iter().any(|a| a == "--null"),
        verbose: args.iter().any(|a| a == "--verbose"),
    };
    args.retain(|a| !a.starts_with("--"));
    let mut args = args.into_iter();
    let which = args.next().ok_or(USAGE)?;
    let count = args.next().map(|a| a.replace('_', "").parse::<usize>());
    let names: Vec<&str> = match which.as_str() {
        "all" => vec!["dh-shared", "dh-pair", "dh-keygen", "dsa-sign"],
        "controls" => vec!["control-memcmp", "control-sqmul", "control-subtle"],
        one => vec![one],
    };
    let mut seed = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|e| format!("no system randomness: {e}"))?;
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut all_ok = true;
    for name in names {
        let n = match &count {
            Some(c) => c.clone()?,
            None if name == "control-subtle" => DEFAULT_SUBTLE,
            None if name.starts_with("control") => DEFAULT_CONTROL,
            None => DEFAULT_PRIMITIVE,
        };
        all_ok &= check(name, n, flags, &mut rng)?;
    }
    Ok(all_ok)
}
