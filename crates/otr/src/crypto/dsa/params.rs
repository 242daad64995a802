//! Domain parameters: generating 1024/160-bit (p, q) and testing q for primality when a
//! peer's key is validated. Everything here works on public values in variable time.

use std::sync::OnceLock;

use rand_core::{CryptoRngCore, RngCore};

use super::nonce::HmacDrbg;
use super::{MAX_P_BITS, MAX_Q_BITS, PL, QL};
use crate::crypto::bigint::{MontyParams, Uint};

/// Miller-Rabin rounds used when generating domain parameters.
const MR_ROUNDS_GENERATE: usize = 40;

/// Miller-Rabin rounds when testing a q chosen by someone else. The bases come from a
/// generator seeded with q itself, so a composite q chosen to fool known bases gains
/// nothing: any odd composite passes one round with probability at most 1/4, so one
/// candidate passes all rounds with probability at most 2^-128.
const MR_ROUNDS_VALIDATE: usize = 64;

/// Odd primes below 2000, for trial division.
pub(super) fn small_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| sieve(2000))
}

/// Odd primes below `bound`.
fn sieve(bound: usize) -> Vec<u32> {
    let mut sieve = vec![true; bound];
    let mut out = Vec::new();
    for i in 2..bound {
        if sieve.get(i).copied().unwrap_or(false) {
            if i > 2 {
                out.push(i as u32);
            }
            let mut j = i * i;
            while j < bound {
                if let Some(s) = sieve.get_mut(j) {
                    *s = false;
                }
                j += i;
            }
        }
    }
    out
}

/// A random `bits`-bit number (`2 <= bits <= 64N`) with its two top bits set, odd or even
/// as asked (public values only).
fn random_bits<const N: usize>(bits: usize, odd: bool, rng: &mut dyn CryptoRngCore) -> Uint<N> {
    let mut l = [0u64; N];
    for limb in l.iter_mut() {
        *limb = rng.next_u64();
    }
    let drop = (64 * N).saturating_sub(bits);
    let v = Uint(l).shl(drop).shr(drop);
    let top = Uint::<N>::from_u64(3).shl(bits.saturating_sub(2));
    let mut l = v.0;
    for (limb, t) in l.iter_mut().zip(top.0.iter()) {
        *limb |= t;
    }
    if let Some(low) = l.first_mut() {
        if odd {
            *low |= 1;
        } else {
            *low &= !1;
        }
    }
    Uint(l)
}

/// Passes trial division by `small` (for `n` larger than all of them).
fn trial_division<const N: usize>(n: &Uint<N>, small: &[u32]) -> bool {
    small.iter().all(|&d| n.rem_u32_vartime(d) != 0)
}

/// Miller-Rabin with `rounds` bases drawn from `rng`; `n` odd and > 3 (public, variable
/// time).
fn miller_rabin<const N: usize, R: RngCore + ?Sized>(
    n: &Uint<N>,
    rounds: usize,
    rng: &mut R,
) -> bool {
    let Some(params) = MontyParams::new(*n) else {
        return false;
    };
    let n_minus_1 = n.wrapping_sub_u64(1);
    let mut s = 0;
    while n_minus_1.bit(s) == 0 && s < 64 * N {
        s += 1;
    }
    let d = n_minus_1.shr(s);
    let one = params.one();
    let minus_one = params.neg(&one);
    let nbytes = 8 * N;
    let mut buf = vec![0u8; nbytes + 8];
    'rounds: for _ in 0..rounds {
        // a uniform-ish in [2, n-2]: reduce extra-long random bytes, retry if < 2.
        let a = loop {
            rng.fill_bytes(&mut buf);
            let a = params.reduce_be_bytes(&buf);
            if a.cmp_vartime(&Uint::from_u64(2)).is_ge() && a.cmp_vartime(&n_minus_1).is_lt() {
                break a;
            }
        };
        let mut x = params.pow_vartime(&params.to_mont(&a), &d);
        if x == one || x == minus_one {
            continue;
        }
        for _ in 1..s {
            x = params.square(&x);
            if x == minus_one {
                continue 'rounds;
            }
            if x == one {
                return false;
            }
        }
        return false;
    }
    true
}

/// Whether a q received from someone else is prime: trial division, then
/// [`MR_ROUNDS_VALIDATE`] Miller-Rabin rounds with bases derived from q by HMAC-DRBG.
/// Deterministic: the same q always gets the same answer. `q` odd and larger than the
/// trial divisors (the caller checks its bit length first).
pub(super) fn q_is_prime(q: &Uint<QL>) -> bool {
    if !trial_division(q, small_primes()) {
        return false;
    }
    let mut bases = HmacDrbg::new(&[b"offrecord DSA q primality bases", &q.to_be_bytes()]);
    miller_rabin(q, MR_ROUNDS_VALIDATE, &mut bases)
}

/// A random 160-bit prime with its top two bits set.
pub(super) fn gen_q(rng: &mut dyn CryptoRngCore) -> Uint<QL> {
    let small = small_primes();
    loop {
        let q: Uint<QL> = random_bits(MAX_Q_BITS, true, rng);
        if trial_division(&q, small) && miller_rabin(&q, MR_ROUNDS_GENERATE, rng) {
            return q;
        }
    }
}

/// A 1024-bit prime p = k·q + 1; returns (p, k).
pub(super) fn gen_p(q: &Uint<QL>, rng: &mut dyn CryptoRngCore) -> (Uint<PL>, Uint<PL>) {
    let small = small_primes();
    loop {
        // k has 864 bits with the top two set, q has 160 with the top two set, so
        // 2^1023 < 2.25·2^1022 <= k·q < 2^1024.
        let k: Uint<PL> = random_bits(MAX_P_BITS - MAX_Q_BITS, false, rng);
        let (kq, overflow) = k.mul_vartime(q);
        let p = kq.wrapping_add_u64(1);
        if overflow || p.bits_vartime() != MAX_P_BITS {
            continue;
        }
        if trial_division(&p, small) && miller_rabin(&p, MR_ROUNDS_GENERATE, rng) {
            return (p, k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q_of(hex: &str) -> Uint<QL> {
        Uint::from_hex_vartime(hex).unwrap_or(Uint::ZERO)
    }

    #[test]
    fn primality_of_known_values() {
        // RFC 6979 A.2.1's q and libotr's test key q are prime.
        assert!(q_is_prime(&q_of(
            "996F967F6C8E388D9E28D01E205FBA957A5698B1"
        )));
        assert!(q_is_prime(&q_of(
            "FE10FB0EFCE8300B6557713D59384C47F0B0A0C7"
        )));
        // 2^160 - 47 is the largest 160-bit prime; 2^160 - 1 is composite.
        assert!(q_is_prime(&q_of(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD1"
        )));
        assert!(!q_is_prime(&q_of(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        )));
        // A product of two 80-bit primes (no small factor: trial division does not see it).
        let a = q_of("FFFFFFFFFFFFFFFFFFBF"); // 2^80 - 65, prime
        let b = q_of("FFFFFFFFFFFFFFFFFFA3"); // 2^80 - 93, prime
        let (ab, overflow) = a.mul_vartime(&b);
        assert!(!overflow);
        assert!(q_is_prime(&a) && q_is_prime(&b));
        assert!(!q_is_prime(&ab));
    }
}
