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

mod pow;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod timing;
