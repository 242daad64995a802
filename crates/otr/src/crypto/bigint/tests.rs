use super::*;
use num_bigint::BigUint;
use proptest::prelude::*;

fn to_big<const N: usize>(a: &Uint<N>) -> BigUint {
    BigUint::from_bytes_be(&a.to_be_bytes())
}

fn from_big<const N: usize>(b: &BigUint) -> Uint<N> {
    Uint::from_be_bytes(&b.to_bytes_be()).unwrap()
}

const P1536: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF";

fn moduli24() -> Vec<Uint<24>> {
    let p = Uint::<24>::from_hex_vartime(P1536).unwrap();
    let q = p.shr(1);
    vec![p, q]
}

fn arb<const N: usize>() -> impl Strategy<Value = Uint<N>> {
    proptest::collection::vec(any::<u64>(), N).prop_map(|v| {
        let mut l = [0u64; N];
        l.copy_from_slice(&v);
        Uint(l)
    })
}

/// Random odd moduli of various sizes, including tiny and full-width ones.
fn arb_modulus<const N: usize>() -> impl Strategy<Value = Uint<N>> {
    (arb::<N>(), 1usize..=64 * N).prop_map(|(a, bits)| {
        let mut m = if bits == 64 * N {
            a
        } else {
            a.shl(64 * N - bits).shr(64 * N - bits)
        };
        m.0[0] |= 1;
        if m.bits_vartime() < 2 {
            m.0[0] = 3;
        }
        m
    })
}

fn check_ops<const N: usize>(m: Uint<N>, a: Uint<N>, b: Uint<N>, e: Uint<N>) {
    let p = MontyParams::new(m).unwrap();
    let mb = to_big(&m);
    let (ab, bb, eb) = (to_big(&a) % &mb, to_big(&b) % &mb, to_big(&e));
    let a = p.reduce(&a);
    let b = p.reduce(&b);
    assert_eq!(to_big(&a), ab);
    assert_eq!(to_big(&p.add(&a, &b)), (&ab + &bb) % &mb);
    assert_eq!(to_big(&p.sub(&a, &b)), (&ab + &mb - &bb) % &mb);
    let (am, bm) = (p.to_mont(&a), p.to_mont(&b));
    assert_eq!(to_big(&p.from_mont(&p.mul(&am, &bm))), (&ab * &bb) % &mb);
    assert_eq!(to_big(&p.from_mont(&p.square(&am))), (&ab * &ab) % &mb);
    let expect = ab.modpow(&eb, &mb);
    assert_eq!(to_big(&p.from_mont(&p.pow(&am, &e, 64 * N))), expect);
    assert_eq!(to_big(&p.from_mont(&p.pow_vartime(&am, &e))), expect);
    let bits = e.bits_vartime();
    assert_eq!(to_big(&p.from_mont(&p.pow(&am, &e, bits))), expect);
    // Exponent of 3 limbs (the 160-bit case).
    let e3: Uint<3> = e.resize();
    let expect3 = ab.modpow(&to_big(&e3), &mb);
    assert_eq!(to_big(&p.from_mont(&p.pow(&am, &e3, 192))), expect3);
    assert_eq!(to_big(&p.from_mont(&p.pow_vartime(&am, &e3))), expect3);
    // Byte-string reduction of a value of 2N + 3 limbs.
    let mut bytes = a.to_be_bytes();
    bytes.extend_from_slice(&b.to_be_bytes());
    bytes.extend_from_slice(&e.to_be_bytes()[..8 * N.min(3)]);
    assert_eq!(
        to_big(&p.reduce_be_bytes(&bytes)),
        BigUint::from_bytes_be(&bytes) % &mb
    );
    assert_eq!(to_big(&p.reduce_be_bytes(&[])), BigUint::from(0u8));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn ops_n3(m in arb_modulus::<3>(), a in arb::<3>(), b in arb::<3>(), e in arb::<3>()) {
        check_ops(m, a, b, e);
    }
    #[test]
    fn ops_n16(m in arb_modulus::<16>(), a in arb::<16>(), b in arb::<16>(), e in arb::<16>()) {
        check_ops(m, a, b, e);
    }
    #[test]
    fn ops_n24(a in arb::<24>(), b in arb::<24>(), e in arb::<24>(), which in 0usize..2) {
        check_ops(moduli24()[which], a, b, e);
    }
    #[test]
    fn ops_n24_random(m in arb_modulus::<24>(), a in arb::<24>(), b in arb::<24>(), e in arb::<24>()) {
        check_ops(m, a, b, e);
    }
    #[test]
    fn pow_pair_matches(a in arb::<24>(), e1 in arb::<5>(), e2 in arb::<5>(), bits in 0usize..=320, which in 0usize..2) {
        let m = moduli24()[which];
        let p = MontyParams::new(m).unwrap();
        let am = p.to_mont(&p.reduce(&a));
        let (r1, r2) = p.pow_pair(&am, &e1, &e2, bits);
        prop_assert_eq!(r1, p.pow(&am, &e1, bits));
        prop_assert_eq!(r2, p.pow(&am, &e2, bits));
        let (f1, _) = p.pow_pair(&am, &e1, &e2, 320);
        let mb = to_big(&m);
        prop_assert_eq!(to_big(&p.from_mont(&f1)), (to_big(&a) % &mb).modpow(&to_big(&e1), &mb));
    }
    #[test]
    fn pow_pair_small_moduli(m in arb_modulus::<3>(), a in arb::<3>(), e1 in arb::<3>(), e2 in arb::<3>(), bits in 0usize..=200) {
        let p = MontyParams::new(m).unwrap();
        let am = p.to_mont(&p.reduce(&a));
        let (r1, r2) = p.pow_pair(&am, &e1, &e2, bits);
        prop_assert_eq!(r1, p.pow(&am, &e1, bits));
        prop_assert_eq!(r2, p.pow(&am, &e2, bits));
    }
    #[test]
    fn fixed_base(e in arb::<5>()) {
        let m = moduli24()[0];
        let p = MontyParams::new(m).unwrap();
        let t = FixedBaseTable::new(p, &Uint::from_u64(2), 320);
        let got = to_big(&p.from_mont(&t.pow(&e)));
        prop_assert_eq!(got, BigUint::from(2u8).modpow(&to_big(&e), &to_big(&m)));
    }
    #[test]
    fn inverse_mod_prime(a in arb::<24>()) {
        let m = moduli24()[0];
        let p = MontyParams::new(m).unwrap();
        let a = p.reduce(&a);
        let inv = p.from_mont(&p.inv_prime(&p.to_mont(&a)));
        let mb = to_big(&m);
        if to_big(&a) == BigUint::from(0u8) {
            prop_assert_eq!(to_big(&inv), BigUint::from(0u8));
        } else {
            prop_assert_eq!((to_big(&a) * to_big(&inv)) % mb, BigUint::from(1u8));
        }
    }
    #[test]
    fn bytes_round_trip(a in arb::<3>(), n in 0usize..40) {
        let be = a.to_be_bytes_minimal();
        prop_assert_eq!(Uint::<3>::from_be_bytes(&be).unwrap(), a);
        let mut out = vec![0u8; n];
        a.write_be_padded(&mut out);
        let mut padded = vec![0u8; 64];
        a.write_be_padded(&mut padded);
        prop_assert_eq!(&out[..], &padded[64 - n..]);
        prop_assert_eq!(Uint::<3>::from_be_bytes(&padded).unwrap(), a);
    }
    #[test]
    fn mul_vartime_matches(a in arb::<16>(), b in arb::<3>()) {
        let (prod, of) = a.mul_vartime(&b);
        let full = to_big(&a) * to_big(&b);
        let trunc = &full % (BigUint::from(1u8) << 1024);
        prop_assert_eq!(to_big(&prod), trunc);
        prop_assert_eq!(of, full.bits() > 1024);
    }
}

/// Random 24-limb moduli `≡ -1 (mod 2^64)` (the unrolled kernels' domain), of any size.
fn arb_modulus_minus1() -> impl Strategy<Value = Uint<24>> {
    (arb::<24>(), 64usize..=1536).prop_map(|(a, bits)| {
        let mut m = a.shl(1536 - bits).shr(1536 - bits);
        m.0[0] = u64::MAX;
        m
    })
}

/// The unrolled kernels against the generic rows and against num-bigint.
fn check_unrolled(m: Uint<24>, a: Uint<24>, b: Uint<24>) {
    let p = MontyParams::new(m).unwrap();
    assert!(p.unrolled24);
    let b = p.reduce(&b);
    let mb = to_big(&m);
    let r = BigUint::from(1u8) << 1536;
    let prod = p.mul(&a, &b);
    assert_eq!(prod, p.mul_generic(&a, &b));
    assert_eq!((to_big(&prod) * &r) % &mb, (to_big(&a) * to_big(&b)) % &mb);
    let sq = p.square(&b);
    assert_eq!(sq, p.square_generic(&b));
    assert_eq!((to_big(&sq) * &r) % &mb, (to_big(&b) * to_big(&b)) % &mb);
    assert!(to_big(&prod) < mb && to_big(&sq) < mb);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn unrolled_matches(a in arb::<24>(), b in arb::<24>(), which in 0usize..2) {
        check_unrolled(moduli24()[which], a, b);
    }
    #[test]
    fn unrolled_matches_random_moduli(m in arb_modulus_minus1(), a in arb::<24>(), b in arb::<24>()) {
        check_unrolled(m, a, b);
    }
}

#[test]
fn unrolled_edges() {
    let all = Uint([u64::MAX; 24]);
    let mut small = Uint::<24>::ZERO;
    small.0[0] = u64::MAX;
    for m in [moduli24()[0], moduli24()[1], all, small] {
        let mm1 = m.wrapping_sub_u64(1);
        for (a, b) in [(mm1, mm1), (all, mm1), (Uint::ZERO, mm1), (all, Uint::ONE)] {
            check_unrolled(m, a, b);
        }
    }
    // Other moduli keep the generic rows.
    assert!(
        !MontyParams::new(moduli24()[0].wrapping_sub_u64(2))
            .unwrap()
            .unrolled24
    );
    assert!(
        !MontyParams::new(Uint::<16>([u64::MAX; 16]))
            .unwrap()
            .unrolled24
    );
}

#[test]
fn edge_values() {
    let m = moduli24()[0];
    let p = MontyParams::new(m).unwrap();
    let mm1 = m.wrapping_sub_u64(1);
    check_ops(m, mm1, mm1, mm1);
    check_ops(m, Uint::ZERO, Uint::ZERO, Uint::ZERO);
    check_ops(
        m,
        Uint([u64::MAX; 24]),
        Uint([u64::MAX; 24]),
        Uint([u64::MAX; 24]),
    );
    assert!(Uint::<3>::from_be_bytes(&[1u8; 25]).is_none());
    assert!(Uint::<3>::from_be_bytes(&[0u8; 40]).is_some());
    assert!(MontyParams::new(Uint::<3>::from_u64(4)).is_none());
    assert!(MontyParams::new(Uint::<3>::from_u64(1)).is_none());
    assert_eq!(p.from_mont(&p.one()), Uint::ONE);
    let max3 = Uint::<3>([u64::MAX; 3]);
    check_ops(max3, max3, max3, max3);
}
