//! Modular exponentiation of [`MontyParams`]: constant time for secret exponents
//! ([`MontyParams::pow`], and the shared comb of [`MontyParams::pow_pair`]), variable time
//! for public ones ([`MontyParams::pow_vartime`]).

use super::*;

impl<const N: usize> MontyParams<N> {
    /// Constant-time exponentiation `base^exp` (Montgomery domain in and out) with a secret
    /// exponent of declared length `exp_bits` (bits above it are ignored). Fixed 5-bit
    /// windows; every table entry is read for every lookup.
    pub(crate) fn pow<const E: usize>(
        &self,
        base: &Uint<N>,
        exp: &Uint<E>,
        exp_bits: usize,
    ) -> Uint<N> {
        crate::crypto::fuzz_memo::memoize!(
            crate::crypto::fuzz_memo::Key::new(1)
                .limbs(&self.modulus.0)
                .limbs(&base.0)
                .limbs(&exp.0)
                .num(exp_bits),
            1,
            {
                const W: usize = 5;
                let exp_bits = exp_bits.min(64 * E);
                let mut table = [self.r; 1 << W];
                table[1] = *base;
                for i in 2..(1 << W) {
                    table[i] = if i % 2 == 0 {
                        self.square(&table[i / 2])
                    } else {
                        self.mul(&table[i - 1], base)
                    };
                }
                let windows = exp_bits.div_ceil(W);
                let mut acc = self.r;
                for wi in (0..windows).rev() {
                    let pos = wi * W;
                    let width = W.min(exp_bits - pos);
                    if wi + 1 != windows {
                        for _ in 0..width {
                            acc = self.square(&acc);
                        }
                    }
                    let idx = exp.window(pos, width);
                    let sel = ct_lookup(&table, idx);
                    acc = if wi + 1 == windows {
                        sel
                    } else {
                        self.mul(&acc, &sel)
                    };
                }
                table.zeroize();
                acc
            }
        )
    }

    /// Constant-time `(base^e1, base^e2)` for one base and two secret exponents of declared
    /// length `exp_bits` (bits above it are ignored), Montgomery domain in and out.
    ///
    /// Lim-Lee comb with [`COMB_H`] rows: each exponent is cut into `COMB_H` rows of
    /// `d = ceil(exp_bits / COMB_H)` bits; `base^(2^(r·d))` for every row and the
    /// `2^COMB_H`-entry table of their products are computed once and shared, after which
    /// each exponent costs `d - 1` squarings and `d` multiplications. Every table entry is
    /// read for every lookup, so the time depends on `exp_bits` only.
    pub(crate) fn pow_pair<const E: usize>(
        &self,
        base: &Uint<N>,
        e1: &Uint<E>,
        e2: &Uint<E>,
        exp_bits: usize,
    ) -> (Uint<N>, Uint<N>) {
        crate::crypto::fuzz_memo::memoize!(
            crate::crypto::fuzz_memo::Key::new(2)
                .limbs(&self.modulus.0)
                .limbs(&base.0)
                .limbs(&e1.0)
                .limbs(&e2.0)
                .num(exp_bits),
            2,
            {
                let exp_bits = exp_bits.min(64 * E);
                if exp_bits == 0 {
                    return (self.r, self.r);
                }
                let d = exp_bits.div_ceil(COMB_H);
                // table[k] = prod over rows r with bit r of k set of base^(2^(r·d)).
                let mut table = [self.r; 1 << COMB_H];
                let mut row_base = *base;
                for r in 0..COMB_H {
                    if r > 0 {
                        for _ in 0..d {
                            row_base = self.square(&row_base);
                        }
                    }
                    let bit = 1usize << r;
                    table[bit] = row_base;
                    for k in 1..bit {
                        table[bit | k] = self.mul(&table[k], &row_base);
                    }
                }
                row_base.zeroize();
                // Comb column c of an exponent: bit c of each row.
                let column = |e: &Uint<E>, c: usize| {
                    let mut idx = 0u64;
                    for r in 0..COMB_H {
                        let pos = r * d + c;
                        if pos < exp_bits {
                            idx |= e.bit(pos) << r;
                        }
                    }
                    idx
                };
                // Both exponents advance together, so that the two squarings and the two
                // multiplications of a step run back to back (the kernel's code stays in cache).
                let mut acc1 = ct_lookup(&table, column(e1, d - 1));
                let mut acc2 = ct_lookup(&table, column(e2, d - 1));
                for c in (0..d - 1).rev() {
                    let sel1 = ct_lookup(&table, column(e1, c));
                    let sel2 = ct_lookup(&table, column(e2, c));
                    acc1 = self.square(&acc1);
                    acc2 = self.square(&acc2);
                    acc1 = self.mul(&acc1, &sel1);
                    acc2 = self.mul(&acc2, &sel2);
                }
                table.zeroize();
                (acc1, acc2)
            }
        )
    }

    /// Variable-time exponentiation for public exponents (and public or secret bases: the
    /// timing depends on the exponent only). Montgomery domain in and out.
    pub(crate) fn pow_vartime<const E: usize>(&self, base: &Uint<N>, exp: &Uint<E>) -> Uint<N> {
        crate::crypto::fuzz_memo::memoize!(
            crate::crypto::fuzz_memo::Key::new(3)
                .limbs(&self.modulus.0)
                .limbs(&base.0)
                .limbs(&exp.0),
            1,
            {
                const W: usize = 5;
                let bits = exp.bits_vartime();
                if bits == 0 {
                    return self.r;
                }
                // Odd powers base^1, base^3, ..., base^(2^W - 1).
                let b2 = self.square(base);
                let mut odd = [*base; 1 << (W - 1)];
                for i in 1..odd.len() {
                    odd[i] = self.mul(&odd[i - 1], &b2);
                }
                // Left-to-right sliding window.
                let mut acc = self.r;
                let mut started = false;
                let mut i = bits as isize - 1;
                while i >= 0 {
                    if exp.bit(i as usize) == 0 {
                        if started {
                            acc = self.square(&acc);
                        }
                        i -= 1;
                        continue;
                    }
                    // Longest window [j, i] of width <= W ending in a set bit.
                    let mut j = (i - W as isize + 1).max(0);
                    while exp.bit(j as usize) == 0 {
                        j += 1;
                    }
                    let width = (i - j + 1) as usize;
                    let val = exp.window(j as usize, width);
                    if started {
                        for _ in 0..width {
                            acc = self.square(&acc);
                        }
                        acc = self.mul(&acc, &odd[(val >> 1) as usize]);
                    } else {
                        acc = odd[(val >> 1) as usize];
                        started = true;
                    }
                    i = j - 1;
                }
                acc
            }
        )
    }
}
