//! DSA long-term identity keys as OTR uses them (Protocol-v3.html, "Public keys, signatures,
//! and fingerprints"): 1024-bit p, 160-bit q; the signed value is the 32-byte HMAC taken
//! mod q (not truncated as FIPS 186 says, not hashed again), as libotr does.
//!
//! Every [`DsaPublicKey`] has been validated ([`DsaPublicKey::from_components`]): p of
//! exactly 1024 bits, q a 160-bit prime dividing p - 1, g and y of order q. A key that
//! fails gives [`CryptoError::WeakDsaKey`] with the [`DsaKeyDefect`]; components that do
//! not even parse (too long, even moduli, g or y not below p) give
//! [`CryptoError::InvalidDsaKey`].
//!
//! Nonces are hedged: RFC 6979's deterministic generator keyed by x and the signed value,
//! with fresh randomness mixed in (module `nonce`), so a repeated or broken random
//! generator cannot make two signatures of different values share a nonce.
//!
//! Secret-dependent operations (signing, the `y = g^x` check) run in constant time;
//! verification, validation and parameter generation work on public data and use faster
//! variable-time code.

use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::bigint::{MontyParams, Uint};
use super::sym::{sha1, sha256};
use super::CryptoError;

mod nonce;
mod params;
#[cfg(test)]
mod tests;
mod validated;

use nonce::{int2octets, HmacDrbg};
pub(crate) use validated::ValidatedKeys;

/// Limbs for p (1024 bits).
const PL: usize = 16;
/// Limbs for q (160 bits fit in 192).
const QL: usize = 3;
/// Maximum bit length of p.
pub const MAX_P_BITS: usize = 1024;
/// Maximum bit length of q.
pub const MAX_Q_BITS: usize = 160;
/// Bytes of fresh randomness mixed into each nonce (RFC 6979's k').
const NONCE_EXTRA: usize = 32;

/// What is wrong with a DSA public key that parses but fails validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DsaKeyDefect {
    /// p is not exactly [`MAX_P_BITS`] bits long.
    PSize,
    /// q is not exactly [`MAX_Q_BITS`] bits long.
    QSize,
    /// q is not prime.
    QComposite,
    /// q does not divide p - 1.
    QDoesNotDivide,
    /// g is not in `(1, p)`.
    GOutOfRange,
    /// g^q is not 1 mod p: g does not generate the subgroup of order q.
    GOrder,
    /// y is not in `(1, p)`.
    YOutOfRange,
    /// y^q is not 1 mod p: y is outside the subgroup of order q.
    YOrder,
}

impl core::fmt::Display for DsaKeyDefect {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::PSize => "p is not 1024 bits long",
            Self::QSize => "q is not 160 bits long",
            Self::QComposite => "q is not prime",
            Self::QDoesNotDivide => "q does not divide p - 1",
            Self::GOutOfRange => "g is not between 1 and p",
            Self::GOrder => "g is not of order q",
            Self::YOutOfRange => "y is not between 1 and p",
            Self::YOrder => "y is not in the subgroup of order q",
        })
    }
}

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
    /// Builds and validates a key from big-endian components (leading zeros allowed).
    ///
    /// This is the check for every key received from a peer: p of exactly 1024 bits, q a
    /// 160-bit prime dividing p - 1, `1 < g < p` with `g^q = 1`, `1 < y < p` with `y^q = 1`
    /// (two 1024-bit exponentiations with 160-bit exponents and a primality test on q).
    /// Components that do not parse give [`CryptoError::InvalidDsaKey`], a key that parses
    /// but fails a check [`CryptoError::WeakDsaKey`].
    pub fn from_components(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<Self, CryptoError> {
        let key = Self::parse(p, q, g, y)?;
        key.validate()?;
        Ok(key)
    }

    /// Parses components without validating the key: rejects p over 1024 bits or q over
    /// 160 bits, even p or q, q < 3, and g or y not below p with
    /// [`CryptoError::InvalidDsaKey`] (what the arithmetic needs, nothing more).
    pub(crate) fn parse(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<Self, CryptoError> {
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
        if gu.cmp_vartime(&pu).is_ge() || yu.cmp_vartime(&pu).is_ge() {
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

    /// The checks of [`DsaPublicKey::from_components`] on a parsed key, cheapest first
    /// (public data, variable time).
    pub(crate) fn validate(&self) -> Result<(), CryptoError> {
        let weak = |d| Err(CryptoError::WeakDsaKey(d));
        let (pp, qp) = (&self.p_params, &self.q_params);
        if pp.bits() != MAX_P_BITS {
            return weak(DsaKeyDefect::PSize);
        }
        if qp.bits() != MAX_Q_BITS {
            return weak(DsaKeyDefect::QSize);
        }
        // The parsed g and y are below p; 1 < g and 1 < y remain.
        let above_one = |b: &[u8]| b.len() > 1 || b.first().is_some_and(|&v| v > 1);
        if !above_one(&self.g_bytes) {
            return weak(DsaKeyDefect::GOutOfRange);
        }
        if !above_one(&self.y_bytes) {
            return weak(DsaKeyDefect::YOutOfRange);
        }
        if qp.reduce_be_bytes(&self.p_bytes) != Uint::ONE {
            return weak(DsaKeyDefect::QDoesNotDivide);
        }
        if !params::q_is_prime(qp.modulus()) {
            return weak(DsaKeyDefect::QComposite);
        }
        let one = pp.one();
        if pp.pow_vartime(&self.g_m, qp.modulus()) != one {
            return weak(DsaKeyDefect::GOrder);
        }
        if pp.pow_vartime(&self.y_m, qp.modulus()) != one {
            return weak(DsaKeyDefect::YOrder);
        }
        Ok(())
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
        Fingerprint(self.with_encoding(sha1))
    }

    /// SHA-256 of the same encoding: names the key in [`ValidatedKeys`].
    pub(crate) fn digest(&self) -> [u8; 32] {
        self.with_encoding(sha256)
    }

    /// Calls `f` on the parts of MPI(p) || MPI(q) || MPI(g) || MPI(y).
    fn with_encoding<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        let lens = [
            (self.p_bytes.len() as u32).to_be_bytes(),
            (self.q_bytes.len() as u32).to_be_bytes(),
            (self.g_bytes.len() as u32).to_be_bytes(),
            (self.y_bytes.len() as u32).to_be_bytes(),
        ];
        f(&[
            &lens[0],
            &self.p_bytes,
            &lens[1],
            &self.q_bytes,
            &lens[2],
            &self.g_bytes,
            &lens[3],
            &self.y_bytes,
        ])
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

/// A copy for another engine or thread (no re-validation): each copy is zeroized on drop.
impl Clone for DsaPrivateKey {
    fn clone(&self) -> Self {
        Self {
            public: self.public.clone(),
            x: self.x,
        }
    }
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
        loop {
            let q = params::gen_q(rng);
            let (p, k) = params::gen_p(&q, rng);
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

    /// Signs `value` (taken mod q) with a hedged nonce: RFC 6979's generator keyed by x and
    /// the value, with 32 fresh bytes from `rng` as additional data. Two signatures of
    /// different values never share a nonce, even when `rng` repeats itself.
    pub fn sign(&self, value: &[u8; 32], rng: &mut dyn CryptoRngCore) -> DsaSignature {
        let mut extra = Zeroizing::new([0u8; NONCE_EXTRA]);
        rng.fill_bytes(&mut extra[..]);
        self.sign_with_extra(value, &extra[..])
    }

    /// Signs `value` with the nonce of RFC 6979 section 3.2 (HMAC-SHA256), seeded with
    /// int2octets(x) || int2octets(value mod q) || `extra` (the additional data k' of section
    /// 3.6). With empty `extra` this is RFC 6979's deterministic DSA for a message whose
    /// bits2int(H(m)) is `value`. Constant time in x and k.
    pub(crate) fn sign_with_extra(&self, value: &[u8; 32], extra: &[u8]) -> DsaSignature {
        let (qp, pp) = (&self.public.q_params, &self.public.p_params);
        let q = *qp.modulus();
        let qbits = qp.bits();
        let m = qp.reduce_be_bytes(value);
        let mut drbg = {
            let x_octets = int2octets(&self.x, qbits.div_ceil(8));
            let m_octets = int2octets(&m, qbits.div_ceil(8));
            HmacDrbg::new(&[&x_octets, &m_octets, extra])
        };
        let mut m_m = qp.to_mont(&m);
        let mut x_m = qp.to_mont(&self.x);
        loop {
            let mut k: Uint<QL> = drbg.candidate(qbits);
            if !bool::from(!k.ct_is_zero() & k.ct_lt(&q)) {
                // Step h.3: the candidate is out of range (probability below 2^-159 for
                // OTR's q); rejecting it says nothing about the next one.
                k.zeroize();
                drbg.reject();
                continue;
            }
            let gk = pp.from_mont(&pp.pow(&self.public.g_m, &k, MAX_Q_BITS));
            let r = qp.reduce_be_bytes(&gk.to_be_bytes());
            let mut k_inv = qp.inv_prime(&qp.to_mont(&k));
            let xr = qp.mul(&x_m, &qp.to_mont(&r));
            let s = qp.from_mont(&qp.mul(&k_inv, &qp.add(&m_m, &xr)));
            k.zeroize();
            k_inv.zeroize();
            if bool::from(r.ct_is_zero() | s.ct_is_zero()) {
                drbg.reject();
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
