//! The arithmetic the Socialist Millionaires' Protocol needs in the 1536-bit MODP group of
//! RFC 3526 (`p`, generator `g1 = 2` of the subgroup of prime order `q = (p-1)/2`), built
//! on [`super::bigint`].
//!
//! All values here are in the *normal* domain (plain residues `< p` or `< q`); the
//! Montgomery conversions happen inside, at the cost of one multiplication each.
//!
//! * Secret exponents: [`SmpGroup::g1_pow`] (a fixed-base table for `g1` with 1536-bit
//!   exponents, built once), [`SmpGroup::pow`] and [`SmpGroup::pow_pair`] (windowed and
//!   comb exponentiation of a variable base). All constant time in the exponent.
//! * Public exponents (proof verification): [`SmpGroup::multi_pow_vartime`], an interleaved
//!   sliding-window multi-exponentiation (Shamir's trick), and
//!   [`SmpGroup::inv_vartime`].
//! * Mod-q arithmetic: [`SmpGroup::sub_mul_q`] (`r - x·c mod q`, constant time), and
//!   [`SmpGroup::random_exponent`].

use std::sync::OnceLock;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::bigint::{FixedBaseTable, MontyParams, Uint};
use super::dh::P;

/// Limbs of the group's numbers.
pub(crate) const LIMBS: usize = 24;

/// A number of the group's size (an element mod p, or an exponent mod q).
pub(crate) type Num = Uint<LIMBS>;

/// Bits of a random exponent (SMP draws 1536-bit exponents; we reduce them mod q).
pub(crate) const EXP_BITS: usize = 1536;

/// Bytes of a modulus-sized value (the cap on SMP MPIs).
pub(crate) const MODULUS_BYTES: usize = 192;

/// Window width of the variable-time multi-exponentiation.
const VT_W: usize = 5;

/// The group, its subgroup order, and the fixed-base table for `g1 = 2`.
pub(crate) struct SmpGroup {
    p: MontyParams<LIMBS>,
    q: MontyParams<LIMBS>,
    p_minus_2: Num,
    g1: FixedBaseTable<LIMBS>,
}

/// The lazily built group (the `g1` table, about 2 MB, takes a few milliseconds to build).
pub(crate) fn smp_group() -> &'static SmpGroup {
    static GROUP: OnceLock<SmpGroup> = OnceLock::new();
    GROUP.get_or_init(|| {
        let p = MontyParams::new_unchecked(P);
        let q = MontyParams::new_unchecked(P.shr(1));
        let g1 = FixedBaseTable::new(p, &Uint::from_u64(2), EXP_BITS);
        SmpGroup {
            p,
            q,
            p_minus_2: P.wrapping_sub_u64(2),
            g1,
        }
    })
}

impl SmpGroup {
    /// The prime `p`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn modulus(&self) -> &Num {
        self.p.modulus()
    }

    /// The subgroup order `q = (p-1)/2`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn order(&self) -> &Num {
        self.q.modulus()
    }

    /// Whether `x` is a usable group element: `2 <= x <= p-2` (public values; variable time).
    pub(crate) fn is_element(&self, x: &Num) -> bool {
        x.cmp_vartime(&Uint::from_u64(2)).is_ge() && x.cmp_vartime(&self.p_minus_2).is_le()
    }

    /// Whether `x` is a usable proof exponent: `1 <= x < q` (libotr's `check_expon`;
    /// public values, variable time).
    pub(crate) fn is_exponent(&self, x: &Num) -> bool {
        x.cmp_vartime(&Uint::ONE).is_ge() && x.cmp_vartime(self.q.modulus()).is_lt()
    }

    /// A uniformly random exponent: 1536 random bits reduced mod q (constant time).
    pub(crate) fn random_exponent(&self, rng: &mut dyn CryptoRngCore) -> Num {
        let mut buf = Zeroizing::new([0u8; MODULUS_BYTES]);
        rng.fill_bytes(&mut buf[..]);
        self.q.reduce_be_bytes(&buf[..])
    }

    /// `g1^e mod p` for a secret `e < 2^1536`, constant time (fixed-base table).
    pub(crate) fn g1_pow(&self, e: &Num) -> Num {
        self.p.from_mont(&self.g1.pow(e))
    }

    /// `base^e mod p` for a secret `e` of declared length `bits`, constant time.
    pub(crate) fn pow(&self, base: &Num, e: &Num, bits: usize) -> Num {
        let b = self.p.to_mont(base);
        self.p.from_mont(&self.p.pow(&b, e, bits))
    }

    /// `(base^e1, base^e2) mod p` for secret exponents of at most 1536 bits, constant time
    /// (one comb table shared by both).
    pub(crate) fn pow_pair(&self, base: &Num, e1: &Num, e2: &Num) -> (Num, Num) {
        let b = self.p.to_mont(base);
        let (x, y) = self.p.pow_pair(&b, e1, e2, EXP_BITS);
        (self.p.from_mont(&x), self.p.from_mont(&y))
    }

    /// `a·b mod p` (constant time).
    pub(crate) fn mul(&self, a: &Num, b: &Num) -> Num {
        // mul(a·R, b)·R^-1 = a·b.
        self.p.mul(&self.p.to_mont(a), b)
    }

    /// `a^-1 mod p` for a public `a` in `[1, p-1]` (Fermat, variable time in nothing secret:
    /// the exponent `p-2` is public).
    pub(crate) fn inv_vartime(&self, a: &Num) -> Num {
        let am = self.p.to_mont(a);
        self.p.from_mont(&self.p.pow_vartime(&am, &self.p_minus_2))
    }

    /// `r - x·c mod q` for secret `r, x < q` and public `c < 2^256` (constant time).
    pub(crate) fn sub_mul_q(&self, r: &Num, x: &Num, c: &Num) -> Num {
        let xm = Zeroizing::new(self.q.to_mont(x));
        // mul(x·R, c)·R^-1 = x·c mod q (needs x·R·c < q·R: c < q holds for c < 2^256).
        let xc = Zeroizing::new(self.q.mul(&xm, c));
        self.q.sub(r, &xc)
    }

    /// `g1^e0 · Π bases[i]^exps[i] mod p` for PUBLIC exponents (variable time in the
    /// exponents only). `g1^e0` uses the fixed-base table; the other terms share one
    /// chain of squarings (interleaved sliding windows).
    pub(crate) fn g1_multi_pow_vartime(&self, e0: &Num, terms: &[(&Num, &Num)]) -> Num {
        let rest = self.multi_pow_mont_vartime(terms);
        let g = self.g1.pow(e0);
        self.p.from_mont(&self.p.mul(&g, &rest))
    }

    /// `Π bases[i]^exps[i] mod p` for PUBLIC exponents (variable time in the exponents).
    pub(crate) fn multi_pow_vartime(&self, terms: &[(&Num, &Num)]) -> Num {
        self.p.from_mont(&self.multi_pow_mont_vartime(terms))
    }

    /// Interleaved right-to-left sliding windows: every exponent is recoded into odd digits
    /// `< 2^VT_W` at the positions where its windows end, then one left-to-right pass of
    /// squarings multiplies in each base's digit. Result in the Montgomery domain.
    fn multi_pow_mont_vartime(&self, terms: &[(&Num, &Num)]) -> Uint<LIMBS> {
        let p = &self.p;
        let max_bits = terms
            .iter()
            .map(|(_, e)| e.bits_vartime())
            .max()
            .unwrap_or(0);
        let mut acc = p.one();
        if max_bits == 0 {
            return acc;
        }
        // Odd powers base^1, base^3, ..., base^(2^VT_W - 1) and digit strings.
        let mut tables = Vec::with_capacity(terms.len());
        let mut digits = Vec::with_capacity(terms.len());
        for (base, e) in terms {
            let b = p.to_mont(base);
            let b2 = p.square(&b);
            let mut odd = [b; 1 << (VT_W - 1)];
            for i in 1..odd.len() {
                odd[i] = p.mul(&odd[i - 1], &b2);
            }
            tables.push(odd);
            let bits = e.bits_vartime();
            let mut d = vec![0u8; bits];
            let mut i = 0;
            while i < bits {
                if e.bit(i) == 0 {
                    i += 1;
                    continue;
                }
                let mut v = 0u8;
                for k in 0..VT_W {
                    v |= (e.bit(i + k) as u8) << k;
                }
                if let Some(slot) = d.get_mut(i) {
                    *slot = v;
                }
                i += VT_W;
            }
            digits.push(d);
        }
        let mut started = false;
        for i in (0..max_bits).rev() {
            if started {
                acc = p.square(&acc);
            }
            for (odd, d) in tables.iter().zip(digits.iter()) {
                let v = d.get(i).copied().unwrap_or(0);
                if v != 0 {
                    if let Some(t) = odd.get(usize::from(v >> 1)) {
                        acc = if started { p.mul(&acc, t) } else { *t };
                        started = true;
                    }
                }
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;
    use proptest::prelude::*;

    fn big(a: &Num) -> BigUint {
        BigUint::from_bytes_be(&a.to_be_bytes())
    }

    fn arb() -> impl Strategy<Value = Num> {
        proptest::collection::vec(any::<u64>(), LIMBS).prop_map(|v| {
            let mut l = [0u64; LIMBS];
            l.copy_from_slice(&v);
            Uint(l)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn ops_match_biguint(a in arb(), b in arb(), e in arb(), f in arb(), small in any::<[u64; 4]>()) {
            let g = smp_group();
            let pb = big(g.modulus());
            let qb = big(g.order());
            let a = g.p.reduce(&a);
            let b = g.p.reduce(&b);
            let two = BigUint::from(2u8);
            prop_assert_eq!(big(&g.g1_pow(&e)), two.modpow(&big(&e), &pb));
            prop_assert_eq!(big(&g.pow(&a, &e, 1536)), big(&a).modpow(&big(&e), &pb));
            let (x, y) = g.pow_pair(&a, &e, &f);
            prop_assert_eq!(big(&x), big(&a).modpow(&big(&e), &pb));
            prop_assert_eq!(big(&y), big(&a).modpow(&big(&f), &pb));
            prop_assert_eq!(big(&g.mul(&a, &b)), big(&a) * big(&b) % &pb);
            if big(&a) != BigUint::from(0u8) {
                prop_assert_eq!(big(&g.inv_vartime(&a)) * big(&a) % &pb, BigUint::from(1u8));
            }
            let m = g.g1_multi_pow_vartime(&e, &[(&a, &f), (&b, &e)]);
            let expect = two.modpow(&big(&e), &pb) * big(&a).modpow(&big(&f), &pb) % &pb
                * big(&b).modpow(&big(&e), &pb) % &pb;
            prop_assert_eq!(big(&m), expect);
            let mut c = Num::ZERO;
            c.0[..4].copy_from_slice(&small);
            let r = g.q.reduce(&e);
            let x = g.q.reduce(&f);
            let d = g.sub_mul_q(&r, &x, &c);
            let expect = (big(&r) + &qb * &qb - big(&x) * big(&c)) % &qb;
            prop_assert_eq!(big(&d), expect);
            let re = g.random_exponent(&mut rand_core::OsRng);
            prop_assert!(big(&re) < qb);
        }
    }

    #[test]
    fn checks() {
        let g = smp_group();
        let p = *g.modulus();
        assert!(!g.is_element(&Uint::ZERO));
        assert!(!g.is_element(&Uint::ONE));
        assert!(g.is_element(&Uint::from_u64(2)));
        assert!(g.is_element(&p.wrapping_sub_u64(2)));
        assert!(!g.is_element(&p.wrapping_sub_u64(1)));
        assert!(!g.is_element(&p));
        assert!(!g.is_exponent(&Uint::ZERO));
        assert!(g.is_exponent(&Uint::ONE));
        assert!(g.is_exponent(&g.order().wrapping_sub_u64(1)));
        assert!(!g.is_exponent(g.order()));
        assert_eq!(g.multi_pow_vartime(&[]), Uint::ONE);
        assert_eq!(
            g.multi_pow_vartime(&[(&Uint::from_u64(3), &Uint::ZERO)]),
            Uint::ONE
        );
    }
}
