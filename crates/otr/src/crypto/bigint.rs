//! Fixed-width constant-time Montgomery arithmetic (crypto helper).
//!
//! * [`Uint<N>`]: an unsigned integer of `N` 64-bit limbs, little-endian limb order.
//! * [`MontyParams<N>`]: an odd modulus `m < 2^(64N)` with its Montgomery constants; all
//!   modular operations are methods on it. Values in the *Montgomery domain* are
//!   `a·R mod m` with `R = 2^(64N)`; [`MontyParams::to_mont`] / [`MontyParams::from_mont`]
//!   convert. Addition, subtraction and negation work the same in either domain.
//! * [`FixedBaseTable<N>`]: comb-style table for a fixed base, for fast key generation.
//!
//! Everything whose name does not end in `_vartime` runs in time independent of the
//! *values* of its arguments (it may depend on public sizes: `N`, a declared exponent
//! bit length, the length of a byte string). `_vartime` functions are for public data only.
//!
//! Sizes in use: `N = 24` (1536-bit DH group and SMP's q = (p-1)/2), `N = 16` (1024-bit
//! DSA p), `N = 3` (160-bit DSA q). `N` must be at most [`MAX_LIMBS`] (checked at compile
//! time when a function needing scratch space is instantiated).

// Some helpers exist for the SMP code being written against this module.
#![allow(dead_code)]
// `to_mont`/`from_mont` are conversions performed *by* the parameters, and `to_be_bytes`
// on a 192-byte `Copy` value is better by reference.
#![allow(clippy::wrong_self_convention)]

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

/// Largest supported limb count (1536 bits).
pub(crate) const MAX_LIMBS: usize = 24;

/// `a + b + carry`, returning (sum, carry out). `carry` must be 0 or 1.
#[inline(always)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// `a - b - borrow`, returning (difference, borrow out). `borrow` is 0 or `u64::MAX`.
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = (a as u128).wrapping_sub((b as u128) + ((borrow >> 63) as u128));
    (t as u64, (t >> 64) as u64)
}

/// `a + b * c + carry`, returning (low, high). Never overflows 128 bits.
#[inline(always)]
fn mac(a: u64, b: u64, c: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) * (c as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// All-ones if `bit` (0 or 1) is 1, else zero.
#[inline(always)]
fn mask(bit: u64) -> u64 {
    0u64.wrapping_sub(bit)
}

/// An `N`-limb unsigned integer, least significant limb first.
///
/// `PartialEq` is derived and variable-time: use [`Uint::ct_eq`] for secrets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Uint<const N: usize>(pub(crate) [u64; N]);

/// Redacted outside tests: a `Uint` may hold a secret exponent, and a derived `Debug` on a
/// struct holding one must not print it. Tests print the value, for failure messages.
impl<const N: usize> core::fmt::Debug for Uint<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if !cfg!(test) {
            return f.write_str("Uint(<redacted>)");
        }
        f.write_str("Uint(0x")?;
        for l in self.0.iter().rev() {
            write!(f, "{l:016x}")?;
        }
        f.write_str(")")
    }
}

impl<const N: usize> Zeroize for Uint<N> {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl<const N: usize> Default for Uint<N> {
    fn default() -> Self {
        Self::ZERO
    }
}

impl<const N: usize> ConditionallySelectable for Uint<N> {
    #[inline(always)]
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        let m = mask(choice.unwrap_u8() as u64);
        let mut out = [0u64; N];
        for ((o, x), y) in out.iter_mut().zip(a.0.iter()).zip(b.0.iter()) {
            *o = x ^ (m & (x ^ y));
        }
        Uint(out)
    }
}

impl<const N: usize> ConstantTimeEq for Uint<N> {
    fn ct_eq(&self, other: &Self) -> Choice {
        let mut acc = 0u64;
        for (x, y) in self.0.iter().zip(other.0.iter()) {
            acc |= x ^ y;
        }
        acc.ct_eq(&0)
    }
}

impl<const N: usize> Uint<N> {
    /// Zero.
    pub(crate) const ZERO: Self = Uint([0; N]);
    /// One.
    pub(crate) const ONE: Self = Self::from_u64(1);

    /// A small value.
    pub(crate) const fn from_u64(v: u64) -> Self {
        let mut l = [0u64; N];
        if N > 0 {
            l[0] = v;
        }
        Uint(l)
    }

    /// Parses big-endian bytes of any length (leading zeros allowed). Returns `None` when
    /// the value does not fit in `N` limbs. Runs in time depending only on `be.len()`.
    pub(crate) fn from_be_bytes(be: &[u8]) -> Option<Self> {
        let mut l = [0u64; N];
        let mut overflow = 0u8;
        for (i, &b) in be.iter().rev().enumerate() {
            match l.get_mut(i / 8) {
                Some(limb) => *limb |= (b as u64) << (8 * (i % 8)),
                None => overflow |= b,
            }
        }
        if overflow != 0 {
            None
        } else {
            Some(Uint(l))
        }
    }

    /// Parses a big-endian hex string (whitespace ignored); `None` on bad digits or overflow.
    /// For constants and tests.
    pub(crate) fn from_hex_vartime(s: &str) -> Option<Self> {
        let digits: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        let mut l = [0u64; N];
        for (i, &c) in digits.iter().rev().enumerate() {
            let v = (c as char).to_digit(16)? as u64;
            match l.get_mut(i / 16) {
                Some(limb) => *limb |= v << (4 * (i % 16)),
                None if v == 0 => {}
                None => return None,
            }
        }
        Some(Uint(l))
    }

    /// The full `8N`-byte big-endian encoding.
    pub(crate) fn to_be_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * N);
        for l in self.0.iter().rev() {
            out.extend_from_slice(&l.to_be_bytes());
        }
        out
    }

    /// Writes the low `out.len()` bytes big-endian into `out` (left-padded with zeros when
    /// `out` is longer than `8N`; higher bytes are dropped when shorter).
    pub(crate) fn write_be_padded(&self, out: &mut [u8]) {
        let len = out.len();
        for (i, o) in out.iter_mut().enumerate() {
            let pos = len - 1 - i; // byte index from the least significant end
            *o = match self.0.get(pos / 8) {
                Some(l) => (l >> (8 * (pos % 8))) as u8,
                None => 0,
            };
        }
    }

    /// Minimal big-endian bytes (no leading zero; empty for zero). Leaks the length only.
    pub(crate) fn to_be_bytes_minimal(&self) -> Vec<u8> {
        let mut full = self.to_be_bytes();
        let nz = full.iter().position(|&b| b != 0).unwrap_or(full.len());
        full.drain(..nz);
        full
    }

    /// Number of significant bits (variable time).
    pub(crate) fn bits_vartime(&self) -> usize {
        for (i, &l) in self.0.iter().enumerate().rev() {
            if l != 0 {
                return 64 * i + 64 - l.leading_zeros() as usize;
            }
        }
        0
    }

    /// Bit `i` (0 or 1); 0 beyond the width. `i` is public.
    #[inline(always)]
    pub(crate) fn bit(&self, i: usize) -> u64 {
        match self.0.get(i / 64) {
            Some(l) => (l >> (i % 64)) & 1,
            None => 0,
        }
    }

    /// `w <= 63` bits starting at bit `pos` (public position), as a number.
    #[inline(always)]
    fn window(&self, pos: usize, w: usize) -> u64 {
        let lo = match self.0.get(pos / 64) {
            Some(l) => l >> (pos % 64),
            None => 0,
        };
        let off = pos % 64;
        let hi = if off == 0 {
            0
        } else {
            match self.0.get(pos / 64 + 1) {
                Some(l) => l << (64 - off),
                None => 0,
            }
        };
        (lo | hi) & ((1u64 << w) - 1)
    }

    /// `self + rhs`, returning (sum mod 2^(64N), carry 0/1).
    #[inline(always)]
    pub(crate) fn adc(&self, rhs: &Self) -> (Self, u64) {
        let mut out = [0u64; N];
        let mut c = 0;
        for ((o, a), b) in out.iter_mut().zip(self.0.iter()).zip(rhs.0.iter()) {
            let (s, c2) = adc(*a, *b, c);
            *o = s;
            c = c2;
        }
        (Uint(out), c)
    }

    /// `self - rhs`, returning (difference mod 2^(64N), borrow 0 or `u64::MAX`).
    #[inline(always)]
    pub(crate) fn sbb(&self, rhs: &Self) -> (Self, u64) {
        let mut out = [0u64; N];
        let mut b = 0;
        for ((o, x), y) in out.iter_mut().zip(self.0.iter()).zip(rhs.0.iter()) {
            let (s, b2) = sbb(*x, *y, b);
            *o = s;
            b = b2;
        }
        (Uint(out), b)
    }

    /// Wrapping addition of a small value.
    pub(crate) fn wrapping_add_u64(&self, v: u64) -> Self {
        self.adc(&Self::from_u64(v)).0
    }

    /// Wrapping subtraction of a small value.
    pub(crate) fn wrapping_sub_u64(&self, v: u64) -> Self {
        self.sbb(&Self::from_u64(v)).0
    }

    /// Constant-time `self < rhs`.
    pub(crate) fn ct_lt(&self, rhs: &Self) -> Choice {
        let (_, b) = self.sbb(rhs);
        Choice::from((b & 1) as u8)
    }

    /// Constant-time `self == 0`.
    pub(crate) fn ct_is_zero(&self) -> Choice {
        self.ct_eq(&Self::ZERO)
    }

    /// Numeric comparison (variable time).
    pub(crate) fn cmp_vartime(&self, rhs: &Self) -> core::cmp::Ordering {
        for (a, b) in self.0.iter().rev().zip(rhs.0.iter().rev()) {
            match a.cmp(b) {
                core::cmp::Ordering::Equal => {}
                o => return o,
            }
        }
        core::cmp::Ordering::Equal
    }

    /// Zero-extends or truncates to `M` limbs.
    pub(crate) fn resize<const M: usize>(&self) -> Uint<M> {
        let mut out = [0u64; M];
        for (o, a) in out.iter_mut().zip(self.0.iter()) {
            *o = *a;
        }
        Uint(out)
    }

    /// Right shift by `s` bits (public `s`).
    pub(crate) fn shr(&self, s: usize) -> Self {
        let mut out = [0u64; N];
        let (ls, bs) = (s / 64, s % 64);
        for (i, o) in out.iter_mut().enumerate() {
            let lo = self.0.get(i + ls).copied().unwrap_or(0);
            let hi = self.0.get(i + ls + 1).copied().unwrap_or(0);
            *o = if bs == 0 {
                lo
            } else {
                (lo >> bs) | (hi << (64 - bs))
            };
        }
        Uint(out)
    }

    /// Left shift by `s` bits (public `s`), dropping bits beyond the width.
    pub(crate) fn shl(&self, s: usize) -> Self {
        let mut out = [0u64; N];
        let (ls, bs) = (s / 64, s % 64);
        for (i, o) in out.iter_mut().enumerate() {
            let lo = i
                .checked_sub(ls)
                .and_then(|j| self.0.get(j))
                .copied()
                .unwrap_or(0);
            let lo2 = i
                .checked_sub(ls + 1)
                .and_then(|j| self.0.get(j))
                .copied()
                .unwrap_or(0);
            *o = if bs == 0 {
                lo
            } else {
                (lo << bs) | (lo2 >> (64 - bs))
            };
        }
        Uint(out)
    }

    /// Product truncated to `N` limbs, and whether it overflowed (variable time).
    pub(crate) fn mul_vartime<const M: usize>(&self, rhs: &Uint<M>) -> (Self, bool) {
        let mut out = [0u64; N];
        let mut overflow = false;
        for (j, &b) in rhs.0.iter().enumerate() {
            let mut c = 0u64;
            for (i, &a) in self.0.iter().enumerate() {
                match out.get_mut(i + j) {
                    Some(o) => {
                        let (s, c2) = mac(*o, a, b, c);
                        *o = s;
                        c = c2;
                    }
                    None => {
                        overflow |= (a != 0 && b != 0) || c != 0;
                        c = 0;
                    }
                }
            }
            overflow |= c != 0;
        }
        (Uint(out), overflow)
    }

    /// `self mod d` for a small nonzero divisor (variable time; returns 0 for `d == 0`).
    pub(crate) fn rem_u32_vartime(&self, d: u32) -> u32 {
        if d == 0 {
            return 0;
        }
        let d = d as u64;
        let mut r = 0u64;
        for &l in self.0.iter().rev() {
            r = ((r << 32) | (l >> 32)) % d;
            r = ((r << 32) | (l & 0xffff_ffff)) % d;
        }
        r as u32
    }
}

/// An odd modulus `m > 1` with its Montgomery constants (`R = 2^(64N)`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct MontyParams<const N: usize> {
    /// The modulus.
    modulus: Uint<N>,
    /// `-m^-1 mod 2^64`.
    m_inv: u64,
    /// `R mod m`, i.e. one in the Montgomery domain.
    r: Uint<N>,
    /// `R^2 mod m`.
    r2: Uint<N>,
    /// Bit length of the modulus.
    bits: usize,
    /// Whether the unrolled kernels of [`super::mont24`] apply: `N = 24` and
    /// `m ≡ -1 (mod 2^64)` (the DH prime p and SMP's q = (p-1)/2). Public.
    unrolled24: bool,
}

impl<const N: usize> MontyParams<N> {
    /// Precomputes the constants for `modulus` (public). `None` unless it is odd and > 1.
    pub(crate) fn new(modulus: Uint<N>) -> Option<Self> {
        if N == 0 || modulus.0[0] & 1 == 0 || modulus.bits_vartime() < 2 {
            return None;
        }
        Some(Self::new_unchecked(modulus))
    }

    /// Like [`MontyParams::new`] without the checks, for known-good constants. The
    /// modulus must be odd and > 1 (otherwise results are meaningless, but nothing panics).
    pub(crate) fn new_unchecked(modulus: Uint<N>) -> Self {
        crate::crypto::fuzz_memo::memoize!(
            crate::crypto::fuzz_memo::Key::new(10).limbs(&modulus.0),
            3,
            {
                let m0 = modulus.0.first().copied().unwrap_or(1);
                // Newton iteration: inv = m0^-1 mod 2^64 (each step doubles the correct bits).
                let mut inv: u64 = 1;
                for _ in 0..7 {
                    inv = inv.wrapping_mul(2u64.wrapping_sub(m0.wrapping_mul(inv)));
                }
                let mut p = MontyParams {
                    modulus,
                    m_inv: inv.wrapping_neg(),
                    r: Uint::ZERO,
                    r2: Uint::ZERO,
                    bits: modulus.bits_vartime(),
                    unrolled24: N == 24 && m0 == u64::MAX,
                };
                // R mod m by doubling 1 (< m) 64N times, then R^2 mod m by doubling 64N more.
                let mut x = Uint::<N>::ONE;
                for _ in 0..64 * N {
                    x = p.add(&x, &x);
                }
                p.r = x;
                for _ in 0..64 * N {
                    x = p.add(&x, &x);
                }
                p.r2 = x;
                p
            }
        )
    }

    /// The modulus.
    pub(crate) fn modulus(&self) -> &Uint<N> {
        &self.modulus
    }

    /// Bit length of the modulus.
    pub(crate) fn bits(&self) -> usize {
        self.bits
    }

    /// One in the Montgomery domain (`R mod m`).
    pub(crate) fn one(&self) -> Uint<N> {
        self.r
    }

    /// `a + b mod m` for `a, b < m` (either domain).
    #[inline(always)]
    pub(crate) fn add(&self, a: &Uint<N>, b: &Uint<N>) -> Uint<N> {
        let (s, c) = a.adc(b);
        let (d, bo) = s.sbb(&self.modulus);
        // Keep s only if s < m, i.e. no carry out and the subtraction borrowed.
        let keep_s = (!c & 1) & (bo & 1);
        Uint::conditional_select(&d, &s, Choice::from(keep_s as u8))
    }

    /// `a - b mod m` for `a, b < m` (either domain).
    #[inline(always)]
    pub(crate) fn sub(&self, a: &Uint<N>, b: &Uint<N>) -> Uint<N> {
        let (d, bo) = a.sbb(b);
        let mut out = [0u64; N];
        let mut c = 0;
        for ((o, x), y) in out.iter_mut().zip(d.0.iter()).zip(self.modulus.0.iter()) {
            let (s, c2) = adc(*x, y & bo, c);
            *o = s;
            c = c2;
        }
        Uint(out)
    }

    /// `-a mod m` for `a < m` (either domain).
    pub(crate) fn neg(&self, a: &Uint<N>) -> Uint<N> {
        self.sub(&Uint::ZERO, a)
    }

    /// Subtracts m from `(t, hi)` (a value < 2m with `hi` the bit above the limbs) when
    /// the result is nonnegative.
    #[inline(always)]
    fn final_sub(&self, t: &Uint<N>, hi: u64) -> Uint<N> {
        let (d, bo) = t.sbb(&self.modulus);
        // (hi:t) - m borrowed overall iff hi == 0 and the limb subtraction borrowed.
        let keep_t = (!hi & 1) & (bo & 1);
        Uint::conditional_select(&d, t, Choice::from(keep_t as u8))
    }

    /// Montgomery product `a·b·R^-1 mod m` for `a·b < m·R` (e.g. `a < R`, `b < m`);
    /// the result is fully reduced. Schoolbook product, then a separate reduction.
    #[inline(always)]
    pub(crate) fn mul(&self, a: &Uint<N>, b: &Uint<N>) -> Uint<N> {
        if self.unrolled24 {
            if let (Ok(a24), Ok(b24), Ok(n24)) = (
                <&[u64; 24]>::try_from(&a.0[..]),
                <&[u64; 24]>::try_from(&b.0[..]),
                <&[u64; 24]>::try_from(&self.modulus.0[..]),
            ) {
                let (t, hi) = super::mont24::mul(a24, b24, n24);
                return self.final_sub(&Self::from_24(&t), hi);
            }
        }
        self.mul_generic(a, b)
    }

    /// `[u64; 24]` as `Uint<N>` (only called when `N = 24`).
    #[inline(always)]
    fn from_24(t: &[u64; 24]) -> Uint<N> {
        let mut out = [0u64; N];
        for (o, v) in out.iter_mut().zip(t.iter()) {
            *o = *v;
        }
        Uint(out)
    }

    /// [`MontyParams::mul`] by rows for any `N` and modulus (the unrolled kernel's reference).
    #[inline(always)]
    fn mul_generic(&self, a: &Uint<N>, b: &Uint<N>) -> Uint<N> {
        let () = AssertLimbs::<N>::OK;
        let mut t = [0u64; 2 * MAX_LIMBS];
        for (i, &bi) in b.0.iter().enumerate() {
            let c = row_mac(&mut t[i..i + N], &a.0, bi);
            t[i + N] = c;
        }
        self.reduce_rows(&mut t)
    }

    /// Montgomery square `a^2·R^-1 mod m` for `a < m`: cross products once, doubled, plus
    /// the squares; then the reduction.
    #[inline(always)]
    pub(crate) fn square(&self, a: &Uint<N>) -> Uint<N> {
        if self.unrolled24 {
            if let (Ok(a24), Ok(n24)) = (
                <&[u64; 24]>::try_from(&a.0[..]),
                <&[u64; 24]>::try_from(&self.modulus.0[..]),
            ) {
                let (t, hi) = super::mont24::square(a24, n24);
                return self.final_sub(&Self::from_24(&t), hi);
            }
        }
        self.square_generic(a)
    }

    /// [`MontyParams::square`] by rows for any `N` and modulus (the unrolled kernel's
    /// reference).
    #[inline(always)]
    fn square_generic(&self, a: &Uint<N>) -> Uint<N> {
        let () = AssertLimbs::<N>::OK;
        let a = &a.0;
        let mut t = [0u64; 2 * MAX_LIMBS];
        for i in 0..N {
            let c = row_mac(&mut t[2 * i + 1..i + N], &a[i + 1..], a[i]);
            t[i + N] = c;
        }
        let mut top = 0u64;
        for v in t.iter_mut().take(2 * N) {
            let x = *v;
            *v = (x << 1) | top;
            top = x >> 63;
        }
        let mut c = 0u64;
        for (i, &ai) in a.iter().enumerate() {
            let sq = (ai as u128) * (ai as u128);
            let (s, c2) = adc(t[2 * i], sq as u64, c);
            t[2 * i] = s;
            let (s, c3) = adc(t[2 * i + 1], (sq >> 64) as u64, c2);
            t[2 * i + 1] = s;
            c = c3;
        }
        self.reduce_rows(&mut t)
    }

    /// Montgomery reduction of `t` (2N limbs, `< m·R`) using unrolled rows.
    #[inline(always)]
    fn reduce_rows(&self, t: &mut [u64; 2 * MAX_LIMBS]) -> Uint<N> {
        let mut hi = 0u64;
        for i in 0..N {
            let q = t[i].wrapping_mul(self.m_inv);
            let c = row_mac(&mut t[i..i + N], &self.modulus.0, q);
            let (s, c2) = adc(t[i + N], c, hi);
            t[i + N] = s;
            hi = c2;
        }
        let mut out = [0u64; N];
        for (o, v) in out.iter_mut().zip(t[N..].iter()) {
            *o = *v;
        }
        self.final_sub(&Uint(out), hi)
    }

    /// Converts `a < R` into the Montgomery domain (result reduced mod m).
    pub(crate) fn to_mont(&self, a: &Uint<N>) -> Uint<N> {
        self.mul(a, &self.r2)
    }

    /// Converts out of the Montgomery domain.
    pub(crate) fn from_mont(&self, a: &Uint<N>) -> Uint<N> {
        self.mul(a, &Uint::ONE)
    }

    /// `a mod m` for any `a < R`, in the normal domain.
    pub(crate) fn reduce(&self, a: &Uint<N>) -> Uint<N> {
        self.from_mont(&self.to_mont(a))
    }

    /// Reduces a big-endian byte string of any length mod m, in time depending only on
    /// its length. The result is in the normal domain.
    pub(crate) fn reduce_be_bytes(&self, be: &[u8]) -> Uint<N> {
        let chunk = 8 * N;
        let head = be.len() % chunk;
        let (first, rest) = be.split_at(head);
        // Horner in the Montgomery domain: acc_m = acc·R; acc' = acc·R + c.
        let mut acc = self.to_mont(&Self::chunk(first));
        for c in rest.chunks(chunk) {
            // acc·R in the Montgomery domain is mul(acc_m, R^2).
            let shifted = self.mul(&acc, &self.r2);
            acc = self.add(&shifted, &self.to_mont(&Self::chunk(c)));
        }
        self.from_mont(&acc)
    }

    /// At most `8N` big-endian bytes as a number.
    fn chunk(be: &[u8]) -> Uint<N> {
        let mut l = [0u64; N];
        for (i, &b) in be.iter().rev().enumerate() {
            if let Some(limb) = l.get_mut(i / 8) {
                *limb |= (b as u64) << (8 * (i % 8));
            }
        }
        Uint(l)
    }

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

    /// `a^-1 mod m` for a prime modulus, in constant time by Fermat (`a^(m-2)`); gives 0
    /// for `a = 0`. Montgomery domain in and out.
    pub(crate) fn inv_prime(&self, a: &Uint<N>) -> Uint<N> {
        let e = self.modulus.wrapping_sub_u64(2);
        self.pow(a, &e, self.bits)
    }

    /// Whether `a` (normal domain, `< m`) is zero, in constant time.
    pub(crate) fn ct_is_zero(&self, a: &Uint<N>) -> Choice {
        a.ct_is_zero()
    }
}

/// Selects `table[idx]` reading every entry (constant time in `idx`); zero if out of range.
///
/// The masks are computed arithmetically for all entries first and passed through one
/// `black_box` (an optimisation barrier, so the compiler cannot turn them back into a
/// branch or an indexed load); the scan is then plain vector code. Calling `subtle`'s
/// `ct_eq` per entry cost a function call and register spills for each of the entries.
#[inline(always)]
fn ct_lookup<const N: usize, const T: usize>(table: &[Uint<N>; T], idx: u64) -> Uint<N> {
    let mut masks = [0u64; T];
    for (j, m) in masks.iter_mut().enumerate() {
        let x = (j as u64) ^ idx;
        // (x | -x) has its top bit set iff x != 0: all-ones iff j == idx, else zero.
        *m = ((x | x.wrapping_neg()) >> 63).wrapping_sub(1);
    }
    let masks = core::hint::black_box(masks);
    let mut out = [0u64; N];
    for (entry, m) in table.iter().zip(masks.iter()) {
        for (o, v) in out.iter_mut().zip(entry.0.iter()) {
            *o |= v & m;
        }
    }
    Uint(out)
}

/// `t += a · b` over equal-length slices, returning the carry word; unrolled by four.
#[inline(always)]
fn row_mac(t: &mut [u64], a: &[u64], b: u64) -> u64 {
    let mut c = 0u64;
    let mut ti = t.chunks_exact_mut(4);
    let mut ai = a.chunks_exact(4);
    for (tc, ac) in (&mut ti).zip(&mut ai) {
        if let ([t0, t1, t2, t3], &[a0, a1, a2, a3]) = (tc, ac) {
            (*t0, c) = mac(*t0, a0, b, c);
            (*t1, c) = mac(*t1, a1, b, c);
            (*t2, c) = mac(*t2, a2, b, c);
            (*t3, c) = mac(*t3, a3, b, c);
        }
    }
    for (tj, aj) in ti.into_remainder().iter_mut().zip(ai.remainder()) {
        (*tj, c) = mac(*tj, *aj, b, c);
    }
    c
}

/// Compile-time check that scratch arrays of `2 * MAX_LIMBS` suffice for `N`.
struct AssertLimbs<const N: usize>;
impl<const N: usize> AssertLimbs<N> {
    const OK: () = assert!(N >= 1 && N <= MAX_LIMBS, "limb count out of range");
}

/// Rows of the comb in [`MontyParams::pow_pair`] (table of `2^COMB_H` entries).
const COMB_H: usize = 5;

/// Window width of [`FixedBaseTable`].
const FB_W: usize = 5;

/// Precomputed powers of a fixed base: `rows[i][j] = base^(j · 2^(FB_W·i))` (Montgomery domain),
/// so `base^e` for an `e` of at most `FB_W · rows` bits costs one multiplication per row.
pub(crate) struct FixedBaseTable<const N: usize> {
    params: MontyParams<N>,
    rows: Vec<[Uint<N>; 1 << FB_W]>,
}

impl<const N: usize> FixedBaseTable<N> {
    /// Builds the table for `base` (normal domain, `< m`) and exponents up to `exp_bits`.
    pub(crate) fn new(params: MontyParams<N>, base: &Uint<N>, exp_bits: usize) -> Self {
        let nrows = exp_bits.div_ceil(FB_W);
        let mut rows = Vec::with_capacity(nrows);
        let mut b = params.to_mont(base);
        for _ in 0..nrows {
            let mut row = [params.r; 1 << FB_W];
            for j in 1..(1 << FB_W) {
                row[j] = params.mul(&row[j - 1], &b);
            }
            b = params.mul(&row[(1 << FB_W) - 1], &b);
            rows.push(row);
        }
        FixedBaseTable { params, rows }
    }

    /// The parameters the table was built for.
    pub(crate) fn params(&self) -> &MontyParams<N> {
        &self.params
    }

    /// `base^exp` in the Montgomery domain, constant time in `exp`; bits of `exp` beyond
    /// the table's exponent size are ignored.
    pub(crate) fn pow<const E: usize>(&self, exp: &Uint<E>) -> Uint<N> {
        crate::crypto::fuzz_memo::memoize!(
            crate::crypto::fuzz_memo::Key::new(4)
                .limbs(&self.params.modulus.0)
                .limbs(self.rows.first().map_or(&[][..], |r| &r[1].0[..]))
                .num(self.rows.len())
                .limbs(&exp.0),
            1,
            {
                let mut acc = self.params.r;
                for (i, row) in self.rows.iter().enumerate() {
                    let sel = ct_lookup(row, exp.window(i * FB_W, FB_W));
                    acc = if i == 0 {
                        sel
                    } else {
                        self.params.mul(&acc, &sel)
                    };
                }
                acc
            }
        )
    }
}

#[cfg(test)]
mod tests {
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
}

#[cfg(test)]
mod timing {
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
}
