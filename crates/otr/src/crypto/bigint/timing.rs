use super::*;

/// Minimum over many short batches (robust against a loaded machine).
fn min_time(batches: usize, per: u32, mut f: impl FnMut()) -> std::time::Duration {
    let mut best = std::time::Duration::MAX;
    for _ in 0..batches {
        let t = std::time::Instant::now();
        for _ in 0..per {
            f();
        }
        best = best.min(t.elapsed() / per);
    }
    best
}

/// For `perf stat`: 100k squarings and 100k multiplications mod the 1536-bit prime.
#[test]
#[ignore]
fn kernel_loop() {
    let p = MontyParams::new(crate::crypto::dh::P).unwrap();
    let mut a = p.to_mont(&Uint::from_u64(12345));
    let b = p.to_mont(&Uint::from_u64(67891));
    let kind = std::env::var("KERNEL").unwrap_or_default();
    let iters: u32 = std::env::var("ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    for _ in 0..iters {
        if kind == "mul" {
            a = p.mul(&a, &b);
        } else {
            a = p.square(&a);
        }
    }
    std::hint::black_box(a);
}

/// `cargo test -p otr --release --lib bigint::timing -- --ignored --nocapture`
#[test]
#[ignore]
fn op_timings() {
    let m = crate::crypto::dh::P;
    let p = MontyParams::new(m).unwrap();
    let mut a = p.to_mont(&Uint::from_u64(12345));
    let b = p.to_mont(&Uint::from_u64(67891));
    eprintln!("mul24: {:?}", min_time(300, 50, || a = p.mul(&a, &b)));
    eprintln!("sqr24: {:?}", min_time(300, 50, || a = p.square(&a)));
    let e = Uint::<5>([u64::MAX / 3; 5]);
    eprintln!(
        "pow24/320: {:?}",
        min_time(100, 1, || a = p.pow(&a, &e, 320))
    );
    let mut a2 = a;
    eprintln!(
        "pow_pair24/320: {:?}",
        min_time(100, 1, || (a, a2) = p.pow_pair(&a2, &e, &e, 320))
    );
    let t = FixedBaseTable::new(p, &Uint::from_u64(2), 320);
    eprintln!("fixed24/320: {:?}", min_time(100, 1, || a = t.pow(&e)));
    let m16: Uint<16> = m.resize();
    let p16 = MontyParams::new(m16).unwrap();
    let mut c = p16.to_mont(&Uint::from_u64(12345));
    let e3 = Uint::<3>([u64::MAX / 3; 3]);
    eprintln!(
        "pow16/160: {:?}",
        min_time(100, 1, || c = p16.pow(&c, &e3, 160))
    );
    eprintln!(
        "powvt16/160: {:?}",
        min_time(100, 1, || c = p16.pow_vartime(&c, &e3))
    );
    std::hint::black_box((a, c));
}
