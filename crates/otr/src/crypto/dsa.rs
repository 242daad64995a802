//! DSA long-term identity keys as OTR uses them (Protocol-v3.html, "Public keys, signatures,
//! and fingerprints"): 1024-bit p, 160-bit q; the signed value is the 32-byte HMAC taken
//! mod q (not truncated as FIPS 186 says, not hashed again), as libotr does.
//!
//! Size limits: p at most 1024 bits, q at most 160 bits (libotr's keys are exactly
//! 1024/160); both must be odd. Larger or malformed components give
//! [`CryptoError::InvalidDsaKey`]. Secret-dependent operations (signing, the `y = g^x`
//! check) run in constant time; verification and parameter generation work on public
//! data and use faster variable-time code.

use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::bigint::{MontyParams, Uint};
use super::sym::sha1;
use super::CryptoError;

/// Limbs for p (1024 bits).
const PL: usize = 16;
/// Limbs for q (160 bits fit in 192).
const QL: usize = 3;
/// Maximum bit length of p.
pub const MAX_P_BITS: usize = 1024;
/// Maximum bit length of q.
pub const MAX_Q_BITS: usize = 160;
/// Miller-Rabin rounds used when generating domain parameters.
const MR_ROUNDS: usize = 40;

/// A DSA public key (p, q, g, y).
#[derive(Clone, PartialEq, Eq)]
pub struct DsaPublicKey {
    p_bytes: Vec<u8>,
    q_bytes: Vec<u8>,
    g_bytes: Vec<u8>,
    y_bytes: Vec<u8>,
    p_params: MontyParams<PL>,
    q_params: MontyParams<QL>,
    /// g in p's Montgomery domain.
    g_m: Uint<PL>,
    /// y in p's Montgomery domain.
    y_m: Uint<PL>,
}

/// Strips leading zero bytes.
fn strip(be: &[u8]) -> &[u8] {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    be.get(start..).unwrap_or(&[])
}

impl DsaPublicKey {
    /// Builds a key from big-endian components (leading zeros allowed). Rejects p over
    /// 1024 bits or q over 160 bits, even p or q, q < 3, g outside `(1, p)` and y outside
    /// `(0, p)` with [`CryptoError::InvalidDsaKey`].
    pub fn from_components(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<Self, CryptoError> {
        let (p, q, g, y) = (strip(p), strip(q), strip(g), strip(y));
        let bad = CryptoError::InvalidDsaKey;
        let pu = Uint::<PL>::from_be_bytes(p).ok_or(bad)?;
        let qu = Uint::<QL>::from_be_bytes(q).ok_or(bad)?;
        let gu = Uint::<PL>::from_be_bytes(g).ok_or(bad)?;
        let yu = Uint::<PL>::from_be_bytes(y).ok_or(bad)?;
        if pu.bits_vartime() > MAX_P_BITS || qu.bits_vartime() > MAX_Q_BITS {
            return Err(bad);
        }
        let p_params = MontyParams::new(pu).ok_or(bad)?;
        let q_params = MontyParams::new(qu).ok_or(bad)?;
        if gu.cmp_vartime(&Uint::ONE).is_le()
            || gu.cmp_vartime(&pu).is_ge()
            || yu.cmp_vartime(&Uint::ZERO).is_le()
            || yu.cmp_vartime(&pu).is_ge()
        {
            return Err(bad);
        }
        Ok(DsaPublicKey {
            p_bytes: p.to_vec(),
            q_bytes: q.to_vec(),
            g_bytes: g.to_vec(),
            y_bytes: y.to_vec(),
            g_m: p_params.to_mont(&gu),
            y_m: p_params.to_mont(&yu),
            p_params,
            q_params,
        })
    }

    /// p as minimal big-endian bytes.
    pub fn p(&self) -> &[u8] {
        &self.p_bytes
    }

    /// q as minimal big-endian bytes.
    pub fn q(&self) -> &[u8] {
        &self.q_bytes
    }

    /// g as minimal big-endian bytes.
    pub fn g(&self) -> &[u8] {
        &self.g_bytes
    }

    /// y as minimal big-endian bytes.
    pub fn y(&self) -> &[u8] {
        &self.y_bytes
    }

    /// SHA-1 of MPI(p) || MPI(q) || MPI(g) || MPI(y) (the PUBKEY encoding without its type).
    pub fn fingerprint(&self) -> Fingerprint {
        let lens = [
            (self.p_bytes.len() as u32).to_be_bytes(),
            (self.q_bytes.len() as u32).to_be_bytes(),
            (self.g_bytes.len() as u32).to_be_bytes(),
            (self.y_bytes.len() as u32).to_be_bytes(),
        ];
        Fingerprint(sha1(&[
            &lens[0],
            &self.p_bytes,
            &lens[1],
            &self.q_bytes,
            &lens[2],
            &self.g_bytes,
            &lens[3],
            &self.y_bytes,
        ]))
    }

    /// Checks `sig` over `value` (taken mod q).
    pub fn verify(&self, value: &[u8; 32], sig: &DsaSignature) -> bool {
        let (qp, pp) = (&self.q_params, &self.p_params);
        let (Some(r), Some(s)) = (
            Uint::<QL>::from_be_bytes(&sig.r),
            Uint::<QL>::from_be_bytes(&sig.s),
        ) else {
            return false;
        };
        let q = qp.modulus();
        if bool::from(r.ct_is_zero())
            || bool::from(s.ct_is_zero())
            || r.cmp_vartime(q).is_ge()
            || s.cmp_vartime(q).is_ge()
        {
            return false;
        }
        let m = qp.reduce_be_bytes(value);
        let w = qp.inv_prime(&qp.to_mont(&s));
        let u1 = qp.from_mont(&qp.mul(&qp.to_mont(&m), &w));
        let u2 = qp.from_mont(&qp.mul(&qp.to_mont(&r), &w));
        let v = pp.mul(
            &pp.pow_vartime(&self.g_m, &u1),
            &pp.pow_vartime(&self.y_m, &u2),
        );
        let v = qp.reduce_be_bytes(&pp.from_mont(&v).to_be_bytes());
        v == r
    }
}

impl core::fmt::Debug for DsaPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "DsaPublicKey({})", self.fingerprint())
    }
}

/// A DSA private key. Zeroized on drop, redacted in `Debug`.
pub struct DsaPrivateKey {
    public: DsaPublicKey,
    /// The secret exponent, `0 < x < q`.
    x: Uint<QL>,
}

impl Drop for DsaPrivateKey {
    fn drop(&mut self) {
        self.x.zeroize();
    }
}

impl core::fmt::Debug for DsaPrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DsaPrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// Uniform value in `[1, q-1]` by rejection sampling (the number of rejections leaks
/// nothing about the accepted value).
fn random_below(q: &Uint<QL>, rng: &mut dyn CryptoRngCore) -> Uint<QL> {
    let bits = q.bits_vartime();
    let nbytes = bits.div_ceil(8);
    let mut buf = Zeroizing::new([0u8; 8 * QL]);
    loop {
        let tail = buf.get_mut(8 * QL - nbytes..).unwrap_or(&mut []);
        rng.fill_bytes(tail);
        let mut k = Uint::<QL>::from_be_bytes(&buf[..]).unwrap_or(Uint::ZERO);
        // Keep only `bits` bits.
        k = k.shl(64 * QL - bits).shr(64 * QL - bits);
        let ok = !k.ct_is_zero() & k.ct_lt(q);
        if bool::from(ok) {
            return k;
        }
        k.zeroize();
    }
}

impl DsaPrivateKey {
    /// Generates fresh 1024/160-bit domain parameters and a key pair.
    ///
    /// q is a random 160-bit prime (top two bits set), p = k·q + 1 a 1024-bit prime for a
    /// random even k, both tested with trial division and 40 Miller-Rabin rounds;
    /// g = h^k mod p for the smallest h >= 2 giving g != 1; x uniform in `[1, q-1]`.
    pub fn generate(rng: &mut dyn CryptoRngCore) -> Self {
        let small = small_primes(2000);
        loop {
            let q = gen_q(rng, &small);
            let (p, k) = gen_p(&q, rng, &small);
            if let Some(key) = Self::finish_generate(&p, &q, &k, rng) {
                return key;
            }
        }
    }

    /// Picks g and x for domain parameters p = k·q + 1.
    fn finish_generate(
        p: &Uint<PL>,
        q: &Uint<QL>,
        k: &Uint<PL>,
        rng: &mut dyn CryptoRngCore,
    ) -> Option<Self> {
        let pp = MontyParams::new(*p)?;
        let mut g = Uint::<PL>::ONE;
        for h in 2..1000u64 {
            let gm = pp.pow_vartime(&pp.to_mont(&Uint::from_u64(h)), k);
            g = pp.from_mont(&gm);
            if g != Uint::ONE {
                break;
            }
        }
        if g == Uint::ONE {
            return None;
        }
        let mut x = random_below(q, rng);
        let y = pp.from_mont(&pp.pow(&pp.to_mont(&g), &x, MAX_Q_BITS));
        let public = DsaPublicKey::from_components(
            &p.to_be_bytes(),
            &q.to_be_bytes(),
            &g.to_be_bytes(),
            &y.to_be_bytes(),
        )
        .ok();
        match public {
            Some(public) => Some(DsaPrivateKey { public, x }),
            None => {
                x.zeroize();
                None
            }
        }
    }

    /// Builds a key from big-endian components, checking y = g^x mod p and `0 < x < q`.
    pub fn from_components(
        p: &[u8],
        q: &[u8],
        g: &[u8],
        y: &[u8],
        x: &[u8],
    ) -> Result<Self, CryptoError> {
        let public = DsaPublicKey::from_components(p, q, g, y)?;
        let bad = CryptoError::InvalidDsaKey;
        let mut x = Uint::<QL>::from_be_bytes(x).ok_or(bad)?;
        let pp = &public.p_params;
        let in_range = !x.ct_is_zero() & x.ct_lt(public.q_params.modulus());
        let y_check = pp.pow(&public.g_m, &x, MAX_Q_BITS);
        if !bool::from(in_range & y_check.ct_eq(&public.y_m)) {
            x.zeroize();
            return Err(bad);
        }
        Ok(DsaPrivateKey { public, x })
    }

    /// The public half.
    pub fn public(&self) -> &DsaPublicKey {
        &self.public
    }

    /// x as minimal big-endian bytes, for persistence.
    pub fn x_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.x.to_be_bytes_minimal())
    }

    /// Signs `value` (taken mod q) with a fresh nonce from `rng`.
    pub fn sign(&self, value: &[u8; 32], rng: &mut dyn CryptoRngCore) -> DsaSignature {
        let (qp, pp) = (&self.public.q_params, &self.public.p_params);
        let q = *qp.modulus();
        let mut m_m = qp.to_mont(&qp.reduce_be_bytes(value));
        let mut x_m = qp.to_mont(&self.x);
        loop {
            let mut k = random_below(&q, rng);
            let gk = pp.from_mont(&pp.pow(&self.public.g_m, &k, MAX_Q_BITS));
            let r = qp.reduce_be_bytes(&gk.to_be_bytes());
            let mut k_inv = qp.inv_prime(&qp.to_mont(&k));
            let xr = qp.mul(&x_m, &qp.to_mont(&r));
            let s = qp.from_mont(&qp.mul(&k_inv, &qp.add(&m_m, &xr)));
            k.zeroize();
            k_inv.zeroize();
            if bool::from(r.ct_is_zero() | s.ct_is_zero()) {
                continue;
            }
            let mut sig = DsaSignature {
                r: [0; 20],
                s: [0; 20],
            };
            r.write_be_padded(&mut sig.r);
            s.write_be_padded(&mut sig.s);
            m_m.zeroize();
            x_m.zeroize();
            return sig;
        }
    }
}

/// Odd primes below `bound`.
fn small_primes(bound: usize) -> Vec<u32> {
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

/// Miller-Rabin with `rounds` random bases; `n` odd and > 3 (public, variable time).
fn miller_rabin<const N: usize>(n: &Uint<N>, rounds: usize, rng: &mut dyn CryptoRngCore) -> bool {
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

/// A random 160-bit prime with its top two bits set.
fn gen_q(rng: &mut dyn CryptoRngCore, small: &[u32]) -> Uint<QL> {
    loop {
        let q: Uint<QL> = random_bits(MAX_Q_BITS, true, rng);
        if trial_division(&q, small) && miller_rabin(&q, MR_ROUNDS, rng) {
            return q;
        }
    }
}

/// A 1024-bit prime p = k·q + 1; returns (p, k).
fn gen_p(q: &Uint<QL>, rng: &mut dyn CryptoRngCore, small: &[u32]) -> (Uint<PL>, Uint<PL>) {
    loop {
        // k has 864 bits with the top two set, q has 160 with the top two set, so
        // 2^1023 < 2.25·2^1022 <= k·q < 2^1024.
        let k: Uint<PL> = random_bits(MAX_P_BITS - MAX_Q_BITS, false, rng);
        let (kq, overflow) = k.mul_vartime(q);
        let p = kq.wrapping_add_u64(1);
        if overflow || p.bits_vartime() != MAX_P_BITS {
            continue;
        }
        if trial_division(&p, small) && miller_rabin(&p, MR_ROUNDS, rng) {
            return (p, k);
        }
    }
}

/// A DSA signature: r and s, each 20 big-endian bytes on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DsaSignature {
    /// r, big-endian, left-padded to 20 bytes.
    pub r: [u8; 20],
    /// s, big-endian, left-padded to 20 bytes.
    pub s: [u8; 20],
}

/// A public key fingerprint: SHA-1 of the encoded key.
///
/// `Display` gives libotr's human form: five groups of eight uppercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 20]);

impl Fingerprint {
    /// Lowercase 40-digit hex, as in libotr's fingerprints file.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 40 hex digits (either case); spaces are ignored, so both [`Fingerprint::to_hex`]
    /// and the `Display` form are accepted.
    pub fn from_hex(s: &str) -> Option<Self> {
        let digits: Vec<u32> = s
            .chars()
            .filter(|c| *c != ' ')
            .map(|c| c.to_digit(16))
            .collect::<Option<Vec<u32>>>()?;
        if digits.len() != 40 {
            return None;
        }
        let mut out = [0u8; 20];
        for (o, pair) in out.iter_mut().zip(digits.chunks(2)) {
            let (hi, lo) = (pair.first().copied()?, pair.get(1).copied()?);
            *o = (hi * 16 + lo) as u8;
        }
        Some(Fingerprint(out))
    }
}

impl core::fmt::Display for Fingerprint {
    /// Five space-separated groups of eight uppercase hex digits (libotr's human form).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, chunk) in self.0.chunks(4).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            for b in chunk {
                write!(f, "{b:02X}")?;
            }
        }
        Ok(())
    }
}

impl core::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;
    use rand_chacha::rand_core::SeedableRng;

    fn big(b: &[u8]) -> BigUint {
        BigUint::from_bytes_be(b)
    }

    #[test]
    fn generate_sign_verify() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let t = std::time::Instant::now();
        let key = DsaPrivateKey::generate(&mut rng);
        eprintln!("keygen: {:?}", t.elapsed());
        let pk = key.public();
        let (p, q, g, y) = (big(pk.p()), big(pk.q()), big(pk.g()), big(pk.y()));
        assert_eq!(p.bits(), 1024);
        assert_eq!(q.bits(), 160);
        assert_eq!((&p - 1u8) % &q, BigUint::from(0u8));
        assert_eq!(g.modpow(&q, &p), BigUint::from(1u8));
        assert_eq!(g.modpow(&big(&key.x_bytes()), &p), y);
        for i in 0..20u8 {
            let value = [i.wrapping_mul(37) ^ 0xa5; 32];
            let sig = key.sign(&value, &mut rng);
            assert!(pk.verify(&value, &sig));
            // Check s against the formula with m = value mod q.
            let (r, s) = (big(&sig.r), big(&sig.s));
            let m = big(&value) % &q;
            let w = s.modpow(&(&q - 2u8), &q);
            let u1 = (&m * &w) % &q;
            let u2 = (&r * &w) % &q;
            let v = (g.modpow(&u1, &p) * y.modpow(&u2, &p)) % &p % &q;
            assert_eq!(v, r);
            let mut bad = value;
            bad[31] ^= 1;
            assert!(!pk.verify(&bad, &sig));
            let mut bad_sig = sig;
            bad_sig.s[19] ^= 1;
            assert!(!pk.verify(&value, &bad_sig));
        }
        // Range checks on r, s.
        let value = [1u8; 32];
        let sig = key.sign(&value, &mut rng);
        assert!(!pk.verify(
            &value,
            &DsaSignature {
                r: [0; 20],
                s: sig.s
            }
        ));
        assert!(!pk.verify(
            &value,
            &DsaSignature {
                r: sig.r,
                s: [0; 20]
            }
        ));
        let mut q20 = [0u8; 20];
        q20.copy_from_slice(pk.q());
        assert!(!pk.verify(&value, &DsaSignature { r: q20, s: sig.s }));
        // Round trip through components.
        let k2 =
            DsaPrivateKey::from_components(pk.p(), pk.q(), pk.g(), pk.y(), &key.x_bytes()).unwrap();
        assert_eq!(k2.public(), pk);
        assert_eq!(k2.public().fingerprint(), pk.fingerprint());
        let mut x = key.x_bytes().to_vec();
        let last = x.len() - 1;
        x[last] ^= 1;
        assert!(DsaPrivateKey::from_components(pk.p(), pk.q(), pk.g(), pk.y(), &x).is_err());
        let dbg = format!("{key:?}");
        let x_hex: String = key.x_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!dbg.to_lowercase().contains(&x_hex[..16]));
        assert!(dbg.contains(&pk.fingerprint().to_string()));
    }

    #[test]
    fn component_checks() {
        let p = [0xffu8; 128];
        let q = [0xffu8; 20];
        assert!(DsaPublicKey::from_components(&p, &q, &[2], &[3]).is_ok());
        let mut p129 = vec![1u8];
        p129.extend_from_slice(&p);
        assert!(DsaPublicKey::from_components(&p129, &q, &[2], &[3]).is_err());
        assert!(DsaPublicKey::from_components(&p, &[1u8; 21], &[2], &[3]).is_err());
        assert!(DsaPublicKey::from_components(&p, &q, &[1], &[3]).is_err());
        assert!(DsaPublicKey::from_components(&p, &q, &[2], &[0]).is_err());
        assert!(DsaPublicKey::from_components(&p, &q, &p, &[3]).is_err());
        assert!(DsaPublicKey::from_components(&p, &q, &[2], &p).is_err());
        let mut pe = p;
        pe[127] = 0xfe;
        assert!(DsaPublicKey::from_components(&pe, &q, &[2], &[3]).is_err());
        let k = DsaPublicKey::from_components(&[0, 0, 0xff], &[0, 7], &[0, 2], &[3]).unwrap();
        assert_eq!(k.p(), &[0xff]);
        assert_eq!(k.q(), &[7]);
    }

    #[test]
    fn fingerprint_format() {
        let mut b = [0u8; 20];
        for (i, x) in b.iter_mut().enumerate() {
            *x = (i as u8) * 13;
        }
        let f = Fingerprint(b);
        let disp = f.to_string();
        assert_eq!(disp.len(), 44);
        assert_eq!(disp, "000D1A27 34414E5B 6875828F 9CA9B6C3 D0DDEAF7");
        assert_eq!(f.to_hex(), "000d1a2734414e5b6875828f9ca9b6c3d0ddeaf7");
        assert_eq!(Fingerprint::from_hex(&disp), Some(f));
        assert_eq!(Fingerprint::from_hex(&f.to_hex()), Some(f));
        assert_eq!(Fingerprint::from_hex("00"), None);
        assert_eq!(
            format!("{f:?}"),
            "Fingerprint(000d1a2734414e5b6875828f9ca9b6c3d0ddeaf7)"
        );
    }
}
