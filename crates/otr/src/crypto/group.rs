//! The arithmetic the Socialist Millionaires' Protocol needs in the 1536-bit MODP group of
//! RFC 3526 (`p`, generator `g1 = 2` of the subgroup of prime order `q = (p-1)/2`), built
//! on [`super::bigint`].
//!
//! All values here are in the *normal* domain (plain residues `< p` or `< q`); the
//! Montgomery conversions happen inside, at the cost of one multiplication each.
//!
//! * Secret exponents: [`SmpGroup::g1_pow`] (a fixed-base table for `g1` with 1536-bit
//!   exponents, 4-bit windows, built once), [`SmpGroup::pow`] (windowed, variable base),
//!   and [`BaseTable`] + [`SmpGroup::comb_pow`] (a Lim-Lee comb for a variable base that
//!   is raised to several exponents: its table is built once and each power then costs
//!   256 squarings instead of 1536). All constant time in the exponent.
//! * Public exponents (proof verification): [`SmpGroup::comb_multi_vartime`]: a product of
//!   comb-table powers and short (<= 256-bit) powers of plain bases sharing one chain of
//!   256 squarings, with a `g1` power from a 12-row comb riding its last 128 columns; and
//!   [`SmpGroup::inv_vartime`] (binary extended Euclid).
//! * Mod-q arithmetic: [`SmpGroup::sub_mul_q`] (`r - x·c mod q`, constant time), and
//!   [`SmpGroup::random_exponent`].

use std::sync::OnceLock;

use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::bigint::{MontyParams, Uint};
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

/// Window width of the `g1` table (384 rows of 16 entries, 1.2 MB).
const G1_W: usize = 4;

/// Rows of a [`BaseTable`] comb.
const COMB_H: usize = 6;

/// Columns of a [`BaseTable`] comb: exponents of 1536 bits in `COMB_H` rows of this many.
/// Public exponents of at most this many bits ride along its chain of squarings.
pub(crate) const COMB_D: usize = EXP_BITS / COMB_H;

/// Rows of the variable-time `g1` comb (4096 entries, 768 KB): a public `g1^e` costs
/// `EXP_BITS / G1_VT_H` = 128 multiplications riding the last columns of a
/// [`SmpGroup::comb_multi_vartime`] chain.
const G1_VT_H: usize = 12;
/// Columns of the variable-time `g1` comb.
const G1_VT_D: usize = EXP_BITS / G1_VT_H;

/// Bits of the short public exponents (the proofs' hash values `c`).
pub(crate) const SHORT_BITS: usize = 256;

const _: () = assert!(
    COMB_D * COMB_H == EXP_BITS
        && SHORT_BITS <= COMB_D
        && G1_VT_D * G1_VT_H == EXP_BITS
        && G1_VT_D <= COMB_D
);

/// A Lim-Lee comb for one variable base `b`: `t[k] = Π_{bit r of k set} b^(2^(r·COMB_D))`
/// (Montgomery domain), so `b^e` costs `COMB_D` squarings and multiplications, and the
/// table (`(COMB_H - 1)·COMB_D` squarings to build) is shared by every power of `b`.
/// Bases such as SMP's `g2`, `g3` are secret, so the table is zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct BaseTable {
    t: Box<[Num; 1 << COMB_H]>,
}

impl core::fmt::Debug for BaseTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BaseTable(..)")
    }
}

/// The comb index of column `col` of `e` for a comb of `h` rows of `d` bits.
#[inline(always)]
fn comb_index_hd(e: &Num, col: usize, h: usize, d: usize) -> u64 {
    let mut idx = 0u64;
    for r in 0..h {
        idx |= e.bit(r * d + col) << r;
    }
    idx
}

/// The comb index of column `col` of `e` in a [`BaseTable`].
#[inline(always)]
fn comb_index(e: &Num, col: usize) -> u64 {
    comb_index_hd(e, col, COMB_H, COMB_D)
}

/// Reads `table[idx]` touching every entry (constant time in `idx`).
#[inline(always)]
fn ct_select(table: &[Num], idx: u64) -> Num {
    let mut out = [0u64; LIMBS];
    for (j, entry) in table.iter().enumerate() {
        let m = 0u64.wrapping_sub(u64::from((j as u64).ct_eq(&idx).unwrap_u8()));
        for (o, v) in out.iter_mut().zip(entry.0.iter()) {
            *o |= v & m;
        }
    }
    Uint(out)
}

/// The group, its subgroup order, and the fixed-base tables for `g1 = 2` (constant-time
/// windows; variable-time comb).
pub(crate) struct SmpGroup {
    p: MontyParams<LIMBS>,
    q: MontyParams<LIMBS>,
    p_minus_2: Num,
    /// `g1[i][j] = g1^(j · 2^(G1_W·i))`, Montgomery domain.
    g1: Vec<[Num; 1 << G1_W]>,
    /// The variable-time comb of `g1` (`G1_VT_H` rows of `G1_VT_D` bits), Montgomery domain.
    g1_vt: Vec<Num>,
}

/// The lazily built group (the `g1` table, about 2 MB, takes a few milliseconds to build).
pub(crate) fn smp_group() -> &'static SmpGroup {
    static GROUP: OnceLock<SmpGroup> = OnceLock::new();
    GROUP.get_or_init(|| {
        let p = MontyParams::new_unchecked(P);
        let q = MontyParams::new_unchecked(P.shr(1));
        let mut g1 = Vec::with_capacity(EXP_BITS / G1_W);
        let mut b = p.to_mont(&Uint::from_u64(2));
        for _ in 0..EXP_BITS / G1_W {
            let mut row = [p.one(); 1 << G1_W];
            for j in 1..(1 << G1_W) {
                row[j] = p.mul(&row[j - 1], &b);
            }
            b = p.mul(&row[(1 << G1_W) - 1], &b);
            g1.push(row);
        }
        let mut g1_vt = vec![p.one(); 1 << G1_VT_H];
        let mut row_base = p.to_mont(&Uint::from_u64(2));
        for r in 0..G1_VT_H {
            if r > 0 {
                for _ in 0..G1_VT_D {
                    row_base = p.square(&row_base);
                }
            }
            let bit = 1usize << r;
            if let Some(slot) = g1_vt.get_mut(bit) {
                *slot = row_base;
            }
            for k in 1..bit {
                let v = g1_vt.get(k).map(|t| p.mul(t, &row_base));
                if let (Some(v), Some(slot)) = (v, g1_vt.get_mut(bit | k)) {
                    *slot = v;
                }
            }
        }
        SmpGroup {
            g1_vt,
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

    /// Whether `x` is a usable group element of the prime-order subgroup: `2 <= x <= p-2`
    /// and `x^q = 1`. Range checks alone let a cheater send an element of order `2q`
    /// (such as `p - g1^a`) whose proofs still verify for even challenges, and learn a bit
    /// of the secret per run. p is a safe prime, so the order-q subgroup is exactly the
    /// quadratic residues, and the Jacobi symbol decides membership without an
    /// exponentiation (public values, variable time).
    pub(crate) fn is_subgroup_element(&self, x: &Num) -> bool {
        crate::crypto::fuzz_memo::memoize!(crate::crypto::fuzz_memo::Key::new(9).limbs(&x.0), 1, {
            self.is_element(x) && jacobi_vartime(x, self.modulus()) == 1
        })
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
        crate::crypto::fuzz_memo::memoize!(crate::crypto::fuzz_memo::Key::new(5).limbs(&e.0), 1, {
            self.p.from_mont(&self.g1_pow_mont(e))
        })
    }

    fn g1_pow_mont(&self, e: &Num) -> Num {
        let mut acc = self.p.one();
        for (i, row) in self.g1.iter().enumerate() {
            let mut idx = 0u64;
            for k in 0..G1_W {
                idx |= e.bit(i * G1_W + k) << k;
            }
            let sel = ct_select(row, idx);
            acc = if i == 0 { sel } else { self.p.mul(&acc, &sel) };
        }
        acc
    }

    /// The comb table of `base` (see [`BaseTable`]); constant time.
    pub(crate) fn base_table(&self, base: &Num) -> BaseTable {
        crate::crypto::fuzz_memo::memoize!(
            crate::crypto::fuzz_memo::Key::new(6).limbs(&base.0),
            64,
            {
                let p = &self.p;
                let mut t = Box::new([p.one(); 1 << COMB_H]);
                let mut row_base = Zeroizing::new(p.to_mont(base));
                for r in 0..COMB_H {
                    if r > 0 {
                        for _ in 0..COMB_D {
                            *row_base = p.square(&row_base);
                        }
                    }
                    let bit = 1usize << r;
                    t[bit] = *row_base;
                    for k in 1..bit {
                        t[bit | k] = p.mul(&t[k], &row_base);
                    }
                }
                BaseTable { t }
            }
        )
    }

    /// `base^e mod p` from the base's comb table, for a secret `e < 2^1536`; constant time.
    pub(crate) fn comb_pow(&self, table: &BaseTable, e: &Num) -> Num {
        crate::crypto::fuzz_memo::memoize!(
            crate::crypto::fuzz_memo::Key::new(7)
                .limbs(&table.t[1].0)
                .limbs(&e.0),
            1,
            {
                let p = &self.p;
                let mut acc = p.one();
                for col in (0..COMB_D).rev() {
                    let sel = ct_select(&table.t[..], comb_index(e, col));
                    acc = if col + 1 == COMB_D {
                        sel
                    } else {
                        p.mul(&p.square(&acc), &sel)
                    };
                }
                p.from_mont(&acc)
            }
        )
    }

    /// For PUBLIC exponents (variable time in them): `[g1^e0 ·] Π tᵢ^eᵢ · Π sⱼ^fⱼ mod p`
    /// with comb tables `tᵢ` (`eᵢ < 2^1536`) and plain bases `sⱼ` whose exponents `fⱼ` have
    /// at most [`COMB_D`] bits (`None` otherwise): all share one chain of `COMB_D`
    /// squarings; `g1^e0` comes from the variable-time `g1` comb on the chain's last
    /// 128 columns.
    pub(crate) fn comb_multi_vartime(
        &self,
        g1_exp: Option<&Num>,
        combs: &[(&BaseTable, &Num)],
        shorts: &[(&Num, &Num)],
    ) -> Option<Num> {
        crate::crypto::fuzz_memo::memoize!(
            {
                let mut k = crate::crypto::fuzz_memo::Key::new(8)
                    .num(combs.len())
                    .num(shorts.len())
                    .limbs(g1_exp.map_or(&[][..], |e| &e.0[..]));
                for (t, e) in combs {
                    k = k.limbs(&t.t[1].0).limbs(&e.0);
                }
                for (s, f) in shorts {
                    k = k.limbs(&s.0).limbs(&f.0);
                }
                k
            },
            1,
            {
                let p = &self.p;
                if shorts.iter().any(|(_, f)| f.bits_vartime() > COMB_D) {
                    return None;
                }
                let (tables, digits) = self.recode_vartime(shorts);
                let mut acc: Option<Num> = None;
                let mul = |acc: Option<Num>, x: &Num| -> Option<Num> {
                    Some(match acc {
                        Some(a) => p.mul(&a, x),
                        None => *x,
                    })
                };
                for col in (0..COMB_D).rev() {
                    acc = acc.map(|a| p.square(&a));
                    for (t, e) in combs {
                        let idx = comb_index(e, col) as usize;
                        if idx != 0 {
                            if let Some(x) = t.t.get(idx) {
                                acc = mul(acc, x);
                            }
                        }
                    }
                    for (odd, d) in tables.iter().zip(digits.iter()) {
                        let v = d.get(col).copied().unwrap_or(0);
                        if v != 0 {
                            if let Some(x) = odd.get(usize::from(v >> 1)) {
                                acc = mul(acc, x);
                            }
                        }
                    }
                    if let (Some(e0), true) = (g1_exp, col < G1_VT_D) {
                        let idx = comb_index_hd(e0, col, G1_VT_H, G1_VT_D) as usize;
                        if idx != 0 {
                            if let Some(x) = self.g1_vt.get(idx) {
                                acc = mul(acc, x);
                            }
                        }
                    }
                }
                Some(p.from_mont(&acc.unwrap_or(p.one())))
            }
        )
    }

    /// Odd-power tables and right-to-left sliding-window digits (odd, `< 2^VT_W`, at the
    /// position where each window ends) for public exponents.
    #[allow(clippy::type_complexity)]
    fn recode_vartime(
        &self,
        terms: &[(&Num, &Num)],
    ) -> (Vec<[Num; 1 << (VT_W - 1)]>, Vec<Vec<u8>>) {
        let p = &self.p;
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
        (tables, digits)
    }

    /// `base^e mod p` for a secret `e` of declared length `bits`, constant time.
    pub(crate) fn pow(&self, base: &Num, e: &Num, bits: usize) -> Num {
        let b = self.p.to_mont(base);
        self.p.from_mont(&self.p.pow(&b, e, bits))
    }

    /// `-a mod p` (constant time).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn neg(&self, a: &Num) -> Num {
        self.p.neg(a)
    }

    /// `a·b mod p` (constant time).
    pub(crate) fn mul(&self, a: &Num, b: &Num) -> Num {
        // mul(a·R, b)·R^-1 = a·b.
        self.p.mul(&self.p.to_mont(a), b)
    }

    /// `r - x·c mod q` for secret `r, x < q` and public `c < 2^256` (constant time).
    pub(crate) fn sub_mul_q(&self, r: &Num, x: &Num, c: &Num) -> Num {
        let xm = Zeroizing::new(self.q.to_mont(x));
        // mul(x·R, c)·R^-1 = x·c mod q (needs x·R·c < q·R: c < q holds for c < 2^256).
        let xc = Zeroizing::new(self.q.mul(&xm, c));
        self.q.sub(r, &xc)
    }

    /// `a^-1 mod p` for a PUBLIC `a` in `[1, p-1]` by the binary extended Euclidean
    /// algorithm (variable time); 0 for `a = 0`.
    pub(crate) fn inv_vartime(&self, a: &Num) -> Num {
        let p = self.modulus();
        let half = |x: &Num| -> Num {
            // x/2 mod p for x < p: x even -> x >> 1, else (x + p) >> 1 (p odd).
            if x.bit(0) == 0 {
                x.shr(1)
            } else {
                let (s, c) = x.adc(p);
                let mut h = s.shr(1);
                if let Some(top) = h.0.last_mut() {
                    *top |= c << 63;
                }
                h
            }
        };
        let mut u = self.p.reduce(a);
        if u.ct_is_zero().into() {
            return Uint::ZERO;
        }
        let mut v = *p;
        let (mut x1, mut x2) = (Uint::ONE, Uint::ZERO);
        while u != Uint::ONE && v != Uint::ONE {
            while u.bit(0) == 0 {
                u = u.shr(1);
                x1 = half(&x1);
            }
            while v.bit(0) == 0 {
                v = v.shr(1);
                x2 = half(&x2);
            }
            if u.cmp_vartime(&v).is_ge() {
                u = u.sbb(&v).0;
                x1 = self.p.sub(&x1, &x2);
            } else {
                v = v.sbb(&u).0;
                x2 = self.p.sub(&x2, &x1);
            }
        }
        if u == Uint::ONE {
            x1
        } else {
            x2
        }
    }
}

/// The Jacobi symbol `(a/n)` for odd `n > a >= 0`: 1, -1, or 0 when they share a factor.
/// Binary algorithm (shifts and subtractions, no division); variable time, for public
/// values only.
fn jacobi_vartime(a: &Num, n: &Num) -> i8 {
    let (mut a, mut n) = (*a, *n);
    let mut t = 1i8;
    let low = |x: &Num| x.0.first().copied().unwrap_or(0);
    while a != Uint::ZERO {
        while a.bit(0) == 0 {
            a = a.shr(1);
            // (2/n) = -1 exactly when n = 3 or 5 (mod 8).
            if matches!(low(&n) & 7, 3 | 5) {
                t = -t;
            }
        }
        if a.cmp_vartime(&n).is_lt() {
            core::mem::swap(&mut a, &mut n);
            // Quadratic reciprocity for odd a, n: the sign flips when both are 3 (mod 4).
            if low(&a) & 3 == 3 && low(&n) & 3 == 3 {
                t = -t;
            }
        }
        // Both odd and a >= n: (a/n) = ((a - n)/n), and a - n is even.
        a = a.sbb(&n).0;
    }
    if n == Uint::ONE {
        t
    } else {
        0
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
            prop_assert_eq!(big(&g.mul(&a, &b)), big(&a) * big(&b) % &pb);
            if big(&a) != BigUint::from(0u8) {
                prop_assert_eq!(big(&g.inv_vartime(&a)) * big(&a) % &pb, BigUint::from(1u8));
            }
            let ta = g.base_table(&a);
            prop_assert_eq!(big(&g.comb_pow(&ta, &e)), big(&a).modpow(&big(&e), &pb));
            let mut c256 = Num::ZERO;
            c256.0[..4].copy_from_slice(&small);
            let tb = g.base_table(&b);
            let got = g.comb_multi_vartime(Some(&f), &[(&ta, &e), (&tb, &f)], &[(&a, &c256), (&b, &c256)]).unwrap();
            let expect = two.modpow(&big(&f), &pb) * big(&a).modpow(&big(&e), &pb) % &pb
                * big(&b).modpow(&big(&f), &pb) % &pb * big(&a).modpow(&big(&c256), &pb) % &pb
                * big(&b).modpow(&big(&c256), &pb) % &pb;
            prop_assert_eq!(big(&got), expect);
            prop_assert!(g.comb_multi_vartime(None, &[], &[(&a, &e)]).is_none() || e.bits_vartime() <= COMB_D);
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
        assert_eq!(g.inv_vartime(&Uint::ZERO), Uint::ZERO);
        assert_eq!(g.inv_vartime(&Uint::ONE), Uint::ONE);
        let pm1 = p.wrapping_sub_u64(1);
        assert_eq!(g.inv_vartime(&pm1), pm1);
        assert_eq!(
            g.mul(&g.inv_vartime(&Uint::from_u64(2)), &Uint::from_u64(2)),
            Uint::ONE
        );
        let t = g.base_table(&Uint::from_u64(3));
        assert_eq!(g.comb_pow(&t, &Uint::ZERO), Uint::ONE);
        assert_eq!(
            g.comb_multi_vartime(None, &[(&t, &Uint::ZERO)], &[]),
            Some(Uint::ONE)
        );
        assert_eq!(g.comb_multi_vartime(None, &[], &[(&t.t[1], &p)]), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Subgroup membership by Jacobi symbol agrees with `x^q = 1`, for random elements
        /// and for their negations (which are never in the subgroup: -1 is a non-residue
        /// modulo a prime `= 3 (mod 4)`).
        #[test]
        fn subgroup_membership_matches_the_order_check(a in arb()) {
            let g = smp_group();
            let pb = big(g.modulus());
            let qb = big(g.order());
            let x = g.p.reduce(&a);
            let in_subgroup = |v: &Num| big(v).modpow(&qb, &pb) == BigUint::from(1u8);
            if g.is_element(&x) {
                prop_assert_eq!(g.is_subgroup_element(&x), in_subgroup(&x));
                let neg = g.p.neg(&x);
                prop_assert_eq!(g.is_subgroup_element(&neg), in_subgroup(&neg));
                prop_assert!(!(g.is_subgroup_element(&x) && g.is_subgroup_element(&neg)));
            }
            let square = g.mul(&x, &x);
            prop_assert!(!g.is_element(&square) || g.is_subgroup_element(&square));
        }
    }

    #[test]
    fn subgroup_edge_cases() {
        let g = smp_group();
        let p = *g.modulus();
        assert!(
            g.is_subgroup_element(&Uint::from_u64(2)),
            "g1 = 2 generates the subgroup"
        );
        assert!(g.is_subgroup_element(&Uint::from_u64(4)));
        assert!(
            !g.is_subgroup_element(&p.wrapping_sub_u64(2)),
            "-2 has order 2q"
        );
        assert!(
            !g.is_subgroup_element(&p.wrapping_sub_u64(1)),
            "-1 is out of range"
        );
        assert!(!g.is_subgroup_element(&Uint::ONE));
        assert_eq!(jacobi_vartime(&Uint::ZERO, &p), 0);
        assert_eq!(jacobi_vartime(&Uint::from_u64(2), &Uint::from_u64(15)), 1);
        assert_eq!(jacobi_vartime(&Uint::from_u64(7), &Uint::from_u64(15)), -1);
        assert_eq!(jacobi_vartime(&Uint::from_u64(6), &Uint::from_u64(15)), 0);
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    fn time(n: u32, mut f: impl FnMut()) -> std::time::Duration {
        let mut best = std::time::Duration::MAX;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            best = best.min(t.elapsed() / n);
        }
        best
    }

    /// `cargo test -p otr --lib group::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn op_timings() {
        let g = smp_group();
        let mut rng = rand_core::OsRng;
        let e = g.random_exponent(&mut rng);
        let f = g.random_exponent(&mut rng);
        let mut a = g.g1_pow(&e);
        let b = g.g1_pow(&f);
        let am = g.p.to_mont(&a);
        let mut x = am;
        eprintln!("mul: {:?}", time(2000, || x = g.p.mul(&x, &am)));
        eprintln!("sqr: {:?}", time(2000, || x = g.p.square(&x)));
        eprintln!("g1_pow: {:?}", time(20, || a = g.g1_pow(&e)));
        eprintln!("pow1536: {:?}", time(10, || a = g.pow(&b, &e, EXP_BITS)));
        eprintln!("pow256: {:?}", time(10, || a = g.pow(&b, &e, 256)));
        let t = g.base_table(&b);
        eprintln!(
            "base_table: {:?}",
            time(10, || {
                std::hint::black_box(g.base_table(&b));
            })
        );
        eprintln!("comb_pow: {:?}", time(10, || a = g.comb_pow(&t, &e)));
        let c = Uint::<LIMBS>::from_u64(u64::MAX).shl(190);
        eprintln!(
            "comb_multi(1536; 256): {:?}",
            time(10, || a = g
                .comb_multi_vartime(None, &[(&t, &e)], &[(&b, &c)])
                .unwrap_or_default())
        );
        eprintln!("inv_vartime: {:?}", time(10, || a = g.inv_vartime(&b)));
        std::hint::black_box((a, x));
    }
}
