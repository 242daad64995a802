#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use num_bigint::BigUint;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

const S1: [u8; 32] = [1; 32];
const S2: [u8; 32] = [2; 32];

/// A full run; returns (initiator's event, responder's event, the four messages).
fn run(
    x: &[u8; 32],
    y: &[u8; 32],
    question: Option<&str>,
    seed: u64,
) -> (Option<SmpEvent>, Option<SmpEvent>, Vec<Tlv>) {
    let r = &mut rng(seed);
    let (mut a, mut b) = (Smp::default(), Smp::default());
    let m1 = a.start(x, question, r);
    assert_eq!(m1.len(), 1);
    assert!(a.in_progress());
    let s = b.receive(&m1[0], r);
    assert!(s.send.is_empty());
    assert_eq!(
        s.event,
        Some(SmpEvent::Request {
            question: question.map(str::to_owned)
        })
    );
    assert!(b.request_pending() && b.in_progress());
    let m2 = b.respond(y, r).unwrap();
    assert_eq!(b.answered_question(), question.is_some());
    let s = a.receive(&m2[0], r);
    assert_eq!(s.event, None);
    let m3 = s.send;
    let s = b.receive(&m3[0], r);
    let eb = s.event;
    let m4 = s.send;
    assert!(!b.in_progress());
    let s = a.receive(&m4[0], r);
    assert!(s.send.is_empty());
    assert!(!a.in_progress());
    let msgs = vec![m1[0].clone(), m2[0].clone(), m3[0].clone(), m4[0].clone()];
    (s.event, eb, msgs)
}

#[test]
fn success_and_failure() {
    for (seed, q) in [(1, None), (2, Some("What is the answer?")), (3, Some(""))] {
        let (ea, eb, _) = run(&S1, &S1, q, seed);
        assert_eq!((ea, eb), (Some(SmpEvent::Success), Some(SmpEvent::Success)));
        let (ea, eb, _) = run(&S1, &S2, q, seed + 10);
        assert_eq!((ea, eb), (Some(SmpEvent::Failure), Some(SmpEvent::Failure)));
    }
}

#[test]
fn either_side_starts_on_the_same_machines() {
    let r = &mut rng(5);
    let (mut a, mut b) = (Smp::default(), Smp::default());
    for round in 0..2 {
        let (init, resp) = if round == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        let m1 = init.start(&S1, None, r);
        resp.receive(&m1[0], r);
        let m2 = resp.respond(&S1, r).unwrap();
        let m3 = init.receive(&m2[0], r).send;
        let s = resp.receive(&m3[0], r);
        assert_eq!(s.event, Some(SmpEvent::Success));
        assert_eq!(init.receive(&s.send[0], r).event, Some(SmpEvent::Success));
    }
}

#[test]
fn smp_secret_layout() {
    let got = smp_secret(&[0xaa; 20], &[0xbb; 20], &[0xcc; 8], b"secret");
    let mut input = vec![1u8];
    input.extend_from_slice(&[0xaa; 20]);
    input.extend_from_slice(&[0xbb; 20]);
    input.extend_from_slice(&[0xcc; 8]);
    input.extend_from_slice(b"secret");
    let want: [u8; 32] = Sha256::digest(&input).into();
    assert_eq!(*got, want);
}

/// Splits a value into its MPI bodies' (offset, len), checking the count and layout.
fn layout(value: &[u8]) -> Vec<(usize, usize)> {
    let count = u32::from_be_bytes(value[..4].try_into().unwrap()) as usize;
    let mut pos = 4;
    let mut out = Vec::new();
    for _ in 0..count {
        let len = u32::from_be_bytes(value[pos..pos + 4].try_into().unwrap()) as usize;
        out.push((pos + 4, len));
        // minimal encoding, as libotr writes
        assert_ne!(value[pos + 4], 0);
        pos += 4 + len;
    }
    assert_eq!(pos, value.len());
    out
}

fn big(b: &[u8]) -> BigUint {
    BigUint::from_bytes_be(b)
}

fn sha_mpis(version: u8, vals: &[&BigUint]) -> BigUint {
    let mut input = vec![version];
    for v in vals {
        let b = v.to_bytes_be();
        input.extend_from_slice(&(b.len() as u32).to_be_bytes());
        input.extend_from_slice(&b);
    }
    big(&Sha256::digest(&input))
}

/// The wire format, and the proofs checked with an independent BigUint computation
/// written from the spec.
#[test]
fn wire_format_and_independent_proof_check() {
    let (_, _, msgs) = run(&S1, &S1, Some("Q?"), 7);
    assert_eq!(msgs[0].kind, TlvType::SMP1Q);
    assert!(msgs[0].value.starts_with(b"Q?\0"));
    let m1 = &msgs[0].value[3..];
    let kinds = [TlvType::SMP2, TlvType::SMP3, TlvType::SMP4];
    for (m, k) in msgs[1..].iter().zip(kinds) {
        assert_eq!(m.kind, k);
    }
    let counts = [6, 11, 8, 3];
    let values: Vec<&[u8]> = vec![m1, &msgs[1].value, &msgs[2].value, &msgs[3].value];
    let mut mpis: Vec<Vec<BigUint>> = Vec::new();
    for (v, n) in values.iter().zip(counts) {
        let l = layout(v);
        assert_eq!(l.len(), n);
        mpis.push(l.iter().map(|&(o, len)| big(&v[o..o + len])).collect());
    }
    let p = big(&crate::crypto::dh::P.to_be_bytes());
    let g1 = BigUint::from(2u8);
    let pw = |b: &BigUint, e: &BigUint| b.modpow(e, &p);
    let m = &mpis[0];
    // c2 = H(1, g1^D2 g2a^c2), c3 = H(2, g1^D3 g3a^c3)
    assert_eq!(
        m[1],
        sha_mpis(1, &[&(pw(&g1, &m[2]) * pw(&m[0], &m[1]) % &p)])
    );
    assert_eq!(
        m[4],
        sha_mpis(2, &[&(pw(&g1, &m[5]) * pw(&m[3], &m[4]) % &p)])
    );
    let m = &mpis[1];
    assert_eq!(
        m[1],
        sha_mpis(3, &[&(pw(&g1, &m[2]) * pw(&m[0], &m[1]) % &p)])
    );
    assert_eq!(
        m[4],
        sha_mpis(4, &[&(pw(&g1, &m[5]) * pw(&m[3], &m[4]) % &p)])
    );
}

fn abort_step() -> (Vec<TlvType>, Option<SmpEvent>) {
    (vec![TlvType::SMP_ABORT], Some(SmpEvent::Aborted))
}

fn summary(s: SmpStep) -> (Vec<TlvType>, Option<SmpEvent>) {
    for t in &s.send {
        if t.kind == TlvType::SMP_ABORT {
            assert!(t.value.is_empty());
        }
    }
    (s.send.iter().map(|t| t.kind).collect(), s.event)
}

/// Machines in every state of one honest run, with the messages.
struct Snapshot {
    /// fresh, Bob with request, Alice Expect2, Bob Expect3, Alice Expect4
    states: Vec<Smp>,
    msgs: Vec<Tlv>,
}

fn snapshot(seed: u64) -> Snapshot {
    let r = &mut rng(seed);
    let mut a = Smp::default();
    let mut b = Smp::default();
    let m1 = a.start(&S1, None, r).pop().unwrap();
    let a2 = a.clone();
    b.receive(&m1, r);
    let b1 = b.clone();
    let m2 = b.respond(&S1, r).unwrap().pop().unwrap();
    let b3 = b.clone();
    let m3 = a.receive(&m2, r).send.pop().unwrap();
    let a4 = a.clone();
    let m4 = b.receive(&m3, r).send.pop().unwrap();
    Snapshot {
        states: vec![Smp::default(), b1, a2, b3, a4],
        msgs: vec![m1, m2, m3, m4],
    }
}

#[test]
fn abort_in_every_state() {
    let snap = snapshot(11);
    let r = &mut rng(12);
    for st in &snap.states {
        let mut s = st.clone();
        let out = s.abort();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, TlvType::SMP_ABORT);
        assert!(out[0].value.is_empty());
        assert!(!s.in_progress());
        // and receiving an abort in every state
        let mut s = st.clone();
        let step = s.receive(&abort_tlv(), r);
        assert_eq!(summary(step), (vec![], Some(SmpEvent::Aborted)));
        assert!(!s.in_progress());
        assert_eq!(s.respond(&S1, r).unwrap_err(), SmpError::NoRequest);
    }
}

#[test]
fn wrong_state_messages_abort() {
    let snap = snapshot(13);
    let r = &mut rng(14);
    // expected message index per state: 0 (SMP1) for the first two
    let expected = [0usize, 0, 1, 2, 3];
    for (si, st) in snap.states.iter().enumerate() {
        for (mi, m) in snap.msgs.iter().enumerate() {
            if mi == expected[si] {
                continue;
            }
            let mut s = st.clone();
            assert_eq!(
                summary(s.receive(m, r)),
                abort_step(),
                "state {si} msg {mi}"
            );
            assert!(!s.in_progress());
        }
    }
}

#[test]
fn respond_without_request_and_restart() {
    let r = &mut rng(15);
    let mut s = Smp::default();
    assert_eq!(s.respond(&S1, r).unwrap_err(), SmpError::NoRequest);
    let out = s.start(&S1, None, r);
    assert_eq!(out.len(), 1);
    assert_eq!(s.respond(&S1, r).unwrap_err(), SmpError::NoRequest);
    // restart while in progress: abort first, then SMP1Q
    let out = s.start(&S1, Some("q"), r);
    let kinds: Vec<_> = out.iter().map(|t| t.kind).collect();
    assert_eq!(kinds, vec![TlvType::SMP_ABORT, TlvType::SMP1Q]);
    // a pending request also counts as in progress
    let snap = snapshot(16);
    let mut b = snap.states[1].clone();
    let out = b.start(&S1, None, r);
    assert_eq!(out[0].kind, TlvType::SMP_ABORT);
    assert!(format!("{b:?}").contains("Expect2"));
    assert!(!format!("{b:?}").contains("Uint"));
}

/// Offsets of each MPI body in each honest message.
#[test]
fn tampered_mpis_abort() {
    let snap = snapshot(17);
    let r = &mut rng(18);
    let expected_state = [0usize, 2, 3, 4];
    for (mi, m) in snap.msgs.iter().enumerate() {
        let st = &snap.states[expected_state[mi]];
        // the honest message is accepted
        let mut s = st.clone();
        assert_ne!(s.receive(m, r).event, Some(SmpEvent::Aborted));
        for (k, (off, len)) in layout(&m.value).into_iter().enumerate() {
            for pos in [off, off + len - 1] {
                let mut t = m.clone();
                t.value[pos] ^= 0x01;
                let mut s = st.clone();
                assert_eq!(summary(s.receive(&t, r)), abort_step(), "msg {mi} mpi {k}");
            }
        }
    }
}

/// Rewrites MPI `k` of a value.
fn replace_mpi(value: &[u8], k: usize, new: &[u8]) -> Vec<u8> {
    let l = layout(value);
    let (off, len) = l[k];
    let mut v = value[..off - 4].to_vec();
    put_mpi(&mut v, new);
    v.extend_from_slice(&value[off + len..]);
    v
}

#[test]
fn out_of_range_values_abort() {
    let snap = snapshot(19);
    let r = &mut rng(20);
    let g = smp_group();
    let p = *g.modulus();
    let q = *g.order();
    let elems: Vec<Vec<u8>> = vec![
        vec![],
        vec![1],
        p.wrapping_sub_u64(1).to_be_bytes(),
        p.to_be_bytes(),
        p.wrapping_add_u64(2).to_be_bytes(),
    ];
    let exps: Vec<Vec<u8>> = vec![vec![], q.to_be_bytes(), q.wrapping_add_u64(1).to_be_bytes()];
    // (message, state, group element positions, D positions)
    let cases: [(usize, usize, &[usize], &[usize]); 4] = [
        (0, 0, &[0, 3], &[2, 5]),
        (1, 2, &[0, 3, 6, 7], &[2, 5, 9, 10]),
        (2, 3, &[0, 1, 5], &[3, 4, 7]),
        (3, 4, &[0], &[2]),
    ];
    for (mi, si, el, ds) in cases {
        let m = &snap.msgs[mi];
        for (&k, vals) in el
            .iter()
            .map(|k| (k, &elems))
            .chain(ds.iter().map(|k| (k, &exps)))
        {
            for v in vals {
                let t = Tlv::new(m.kind, replace_mpi(&m.value, k, v));
                let mut s = snap.states[si].clone();
                assert_eq!(summary(s.receive(&t, r)), abort_step(), "msg {mi} mpi {k}");
            }
        }
    }
}

/// A proof of knowledge of `log_g1(x)` for `x = -g1^a`, which is not in the order-q
/// subgroup: the cheater draws nonces until the challenge is even, so that
/// `x^c = g1^(a·c)` and the proof verifies under range checks alone.
fn cheating_proof(g: &SmpGroup, v: u8, a: &Num, r: &mut ChaCha20Rng) -> (Num, Num, Num) {
    let x = g.neg(&g.g1_pow(a));
    loop {
        let nonce = g.random_exponent(r);
        let c = hash(v, &g.g1_pow(&nonce), None);
        if c.bit(0) == 0 {
            let d = g.sub_mul_q(&nonce, a, &c);
            return (x, c, d);
        }
    }
}

/// Item 4 of the security issue: a cheater's SMP message 1 with `g2a = p - g1^a2` (of
/// order 2q) and a valid proof. Before the subgroup check it was accepted, and the
/// run's outcome then leaked the parity of the hashed secret to the cheater.
#[test]
fn an_element_outside_the_subgroup_aborts_the_run() {
    let g = smp_group();
    let r = &mut rng(31);
    let a2 = g.random_exponent(r);
    let (g2a, c2, d2) = cheating_proof(g, 1, &a2, r);
    assert!(
        g.is_element(&g2a),
        "in range: only the subgroup check catches it"
    );
    assert!(
        know_log(g, 1, &g2a, &c2, &d2).is_some(),
        "the forged proof verifies"
    );
    let a3 = g.random_exponent(r);
    let g3a = g.g1_pow(&a3);
    let n3 = g.random_exponent(r);
    let c3 = hash(2, &g.g1_pow(&n3), None);
    let d3 = g.sub_mul_q(&n3, &a3, &c3);
    let tlv = encode(TlvType::SMP1, &[], &[&g2a, &c2, &d2, &g3a, &c3, &d3]);
    let mut bob = Smp::default();
    assert_eq!(summary(bob.receive(&tlv, r)), abort_step());
    // The same message with honest g2a = g1^a2 and its proof is accepted.
    let g2a = g.g1_pow(&a2);
    let n2 = g.random_exponent(r);
    let c2 = hash(1, &g.g1_pow(&n2), None);
    let d2 = g.sub_mul_q(&n2, &a2, &c2);
    let tlv = encode(TlvType::SMP1, &[], &[&g2a, &c2, &d2, &g3a, &c3, &d3]);
    let mut bob = Smp::default();
    assert!(matches!(
        bob.receive(&tlv, r).event,
        Some(SmpEvent::Request { .. })
    ));
}

/// Every group element of every SMP message, negated (so outside the subgroup), aborts.
#[test]
fn negated_elements_abort() {
    let snap = snapshot(23);
    let r = &mut rng(24);
    let g = smp_group();
    let cases: [(usize, usize, &[usize]); 4] = [
        (0, 0, &[0, 3]),
        (1, 2, &[0, 3, 6, 7]),
        (2, 3, &[0, 1, 5]),
        (3, 4, &[0]),
    ];
    for (mi, si, elements) in cases {
        let m = &snap.msgs[mi];
        let mpis = layout(&m.value);
        for &k in elements {
            let (off, len) = mpis[k];
            let x = Num::from_be_bytes(&m.value[off..off + len]).unwrap();
            let t = Tlv::new(m.kind, replace_mpi(&m.value, k, &g.neg(&x).to_be_bytes()));
            let mut s = snap.states[si].clone();
            assert_eq!(summary(s.receive(&t, r)), abort_step(), "msg {mi} mpi {k}");
        }
    }
}

#[test]
fn malformed_framing_aborts() {
    let snap = snapshot(21);
    let r = &mut rng(22);
    let expected_state = [0usize, 2, 3, 4];
    for (mi, m) in snap.msgs.iter().enumerate() {
        let st = &snap.states[expected_state[mi]];
        let check = |value: Vec<u8>, what: &str| {
            let mut s = st.clone();
            let t = Tlv::new(m.kind, value);
            assert_eq!(
                summary(s.receive(&t, &mut rng(23))),
                abort_step(),
                "msg {mi}: {what}"
            );
        };
        // every truncation
        for n in 0..m.value.len() {
            check(m.value[..n].to_vec(), "truncated");
        }
        // trailing byte
        let mut v = m.value.clone();
        v.push(0);
        check(v, "trailing");
        // wrong counts
        let n = u32::from_be_bytes(m.value[..4].try_into().unwrap());
        for c in [0, n - 1, n + 1, u32::MAX] {
            let mut v = m.value.clone();
            v[..4].copy_from_slice(&c.to_be_bytes());
            check(v, "count");
        }
        // an oversized MPI (193 bytes)
        let v = replace_mpi(&m.value, 0, &[1u8; 193]);
        check(v, "oversized");
    }
    // SMP1Q without a NUL, or with nothing after it
    let s0 = &snap.states[0];
    for v in [b"question".to_vec(), b"q\0".to_vec(), vec![]] {
        let mut s = s0.clone();
        let t = Tlv::new(TlvType::SMP1Q, v);
        assert_eq!(summary(s.receive(&t, r)), abort_step());
    }
    // non-SMP TLVs are ignored
    let mut s = snap.states[2].clone();
    let step = s.receive(&Tlv::new(TlvType::PADDING, vec![1, 2]), r);
    assert!(step.send.is_empty() && step.event.is_none() && s.in_progress());
}

#[test]
fn fuzz_hook_honest_and_tampered() {
    for sel in 0x80u8..0x85 {
        __fuzz_smp_receive(&[sel]);
        __fuzz_smp_receive(&[sel, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        __fuzz_smp_receive(&[sel, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    }
    __fuzz_smp_receive(&[0, 4]);
    __fuzz_smp_receive(&[3, 2, 0, 0, 0, 3]);
    // a changed question (no new NUL) is still accepted
    __fuzz_smp_receive(&[0x83, 0xe8, 0]);
}

/// Writes fuzz seeds: `SMP_SEED_DIR=... cargo test -p otr --lib write_fuzz_seeds -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let dir = std::path::PathBuf::from(std::env::var("SMP_SEED_DIR").unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    let fx = fuzz_fixture().unwrap();
    let mut n = 0;
    let mut put = |bytes: Vec<u8>| {
        std::fs::write(dir.join(format!("seed-{n:02}")), bytes).unwrap();
        n += 1;
    };
    for sel in 0u8..5 {
        // honest message, unmodified and with one flipped byte
        put(vec![0x80 | sel]);
        put(vec![
            0x80 | sel,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0x40,
        ]);
        // raw: each honest message delivered in this state
        for m in &fx.next {
            let mut v = vec![sel, (m.kind.0 - 2) as u8];
            v.extend_from_slice(&m.value);
            put(v);
        }
        // abort, empty and short values
        put(vec![sel, 4]);
        put(vec![sel, 0, 0, 0, 0, 6]);
    }
    assert!(n <= 50);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_tlvs_never_panic(state in 0usize..5, kind in 0u16..10, value in proptest::collection::vec(any::<u8>(), 0..400)) {
        let snap = fixture();
        let mut s = snap.states[state].clone();
        let step = s.receive(&Tlv::new(TlvType(kind), value), &mut rng(1));
        if step.event == Some(SmpEvent::Aborted) {
            prop_assert!(!s.in_progress());
        }
    }

    #[test]
    fn arbitrary_mpi_lists_never_panic(state in 0usize..5, kind in 2u16..8, mpis in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..12)) {
        let snap = fixture();
        let mut v = Vec::new();
        put_u32(&mut v, mpis.len() as u32);
        for m in &mpis {
            put_mpi(&mut v, m);
        }
        let mut s = snap.states[state].clone();
        let step = s.receive(&Tlv::new(TlvType(kind), v), &mut rng(2));
        prop_assert_eq!(step.event, Some(SmpEvent::Aborted));
    }
}

fn fixture() -> &'static Snapshot {
    static F: std::sync::OnceLock<Snapshot> = std::sync::OnceLock::new();
    F.get_or_init(|| snapshot(99))
}
