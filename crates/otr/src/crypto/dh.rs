//! Diffie-Hellman in the 1536-bit MODP group of RFC 3526 with generator 2
//! (Protocol-v3.html, "Encoded messages").
//!
//! Private exponents are 320 bits (40 random bytes, as libotr draws them). Key generation
//! uses a precomputed fixed-base table for g = 2; shared secrets use a constant-time
//! windowed exponentiation. Every received public value is checked to lie in `[2, p-2]`.

use std::sync::OnceLock;

use rand_core::CryptoRngCore;
use zeroize::{Zeroize, Zeroizing};

use super::bigint::{FixedBaseTable, MontyParams, Uint};
use super::CryptoError;

/// Bytes of the 1536-bit modulus.
pub const MODULUS_BYTES: usize = 192;

/// Bytes of a freshly generated secret exponent (320 bits, as libotr).
pub const SECRET_BYTES: usize = 40;

/// Limbs of the modulus.
const LIMBS: usize = 24;

/// The RFC 3526 1536-bit MODP prime, least significant limb first.
pub(crate) const P: Uint<LIMBS> = Uint([
    0xffffffffffffffff,
    0xf1746c08ca237327,
    0x670c354e4abc9804,
    0x9ed529077096966d,
    0x1c62f356208552bb,
    0x83655d23dca3ad96,
    0x69163fa8fd24cf5f,
    0x98da48361c55d39a,
    0xc2007cb8a163bf05,
    0x49286651ece45b3d,
    0xae9f24117c4b1fe6,
    0xee386bfb5a899fa5,
    0x0bff5cb6f406b7ed,
    0xf44c42e9a637ed6b,
    0xe485b576625e7ec6,
    0x4fe1356d6d51c245,
    0x302b0a6df25f1437,
    0xef9519b3cd3a431b,
    0x514a08798e3404dd,
    0x020bbea63b139b22,
    0x29024e088a67cc74,
    0xc4c6628b80dc1cd1,
    0xc90fdaa22168c234,
    0xffffffffffffffff,
]);

/// The group's Montgomery parameters and fixed-base table for g = 2.
struct Group {
    params: MontyParams<LIMBS>,
    table: FixedBaseTable<LIMBS>,
}

/// The lazily built group (the table takes about a millisecond to build, once).
fn group() -> &'static Group {
    static GROUP: OnceLock<Group> = OnceLock::new();
    GROUP.get_or_init(|| {
        let params = MontyParams::new_unchecked(P);
        let table = FixedBaseTable::new(params, &Uint::from_u64(2), 8 * SECRET_BYTES);
        Group { params, table }
    })
}

/// The group's Montgomery parameters (for code that works in the DH group, e.g. SMP).
#[allow(dead_code)]
pub(crate) fn group_params() -> &'static MontyParams<LIMBS> {
    &group().params
}

/// A validated Diffie-Hellman public value `g^x mod p`, `2 <= g^x <= p-2`.
///
/// Ordered numerically: OTR's "high"/"low" end of a data message compares public values.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DhPublicKey {
    /// Minimal big-endian bytes (no leading zero), at most [`MODULUS_BYTES`].
    bytes: Vec<u8>,
}

impl DhPublicKey {
    /// Validates big-endian bytes (leading zeros allowed) as a public value in `[2, p-2]`.
    pub fn from_bytes(be: &[u8]) -> Result<Self, CryptoError> {
        let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
        let bytes = be.get(start..).unwrap_or(&[]);
        if bytes.len() > MODULUS_BYTES {
            return Err(CryptoError::DhValueOutOfRange);
        }
        let v = Uint::<LIMBS>::from_be_bytes(bytes).ok_or(CryptoError::DhValueOutOfRange)?;
        let p_minus_2 = P.wrapping_sub_u64(2);
        if v.cmp_vartime(&Uint::from_u64(2)).is_lt() || v.cmp_vartime(&p_minus_2).is_gt() {
            return Err(CryptoError::DhValueOutOfRange);
        }
        Ok(DhPublicKey {
            bytes: bytes.to_vec(),
        })
    }

    /// The value as minimal big-endian bytes: the body of its MPI encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The value as a number (it was validated, so it fits).
    pub(crate) fn to_uint(&self) -> Uint<LIMBS> {
        Uint::from_be_bytes(&self.bytes).unwrap_or(Uint::ZERO)
    }
}

impl PartialOrd for DhPublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DhPublicKey {
    /// Numeric order: minimal encodings compare by length first, then bytewise.
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.bytes
            .len()
            .cmp(&other.bytes.len())
            .then_with(|| self.bytes.cmp(&other.bytes))
    }
}

impl core::fmt::Debug for DhPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DhPublicKey(")?;
        for b in self.bytes.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        if self.bytes.len() > 8 {
            f.write_str("…")?;
        }
        f.write_str(")")
    }
}

/// A Diffie-Hellman key pair: a 320-bit secret exponent and its public value.
///
/// `Clone` copies the secret; every copy is zeroized when dropped.
#[derive(Clone)]
pub struct DhKeyPair {
    public: DhPublicKey,
    /// Secret exponent; zeroized on drop, never printed.
    secret: Uint<LIMBS>,
    /// Declared bit length of `secret` (320 for generated keys): public.
    secret_bits: usize,
}

impl DhKeyPair {
    /// Draws a 320-bit secret exponent from `rng` and computes `2^x mod p`.
    ///
    /// Like libotr, the secret is exactly 40 random bytes taken as a big-endian number.
    pub fn generate(rng: &mut dyn CryptoRngCore) -> Self {
        loop {
            let mut buf = Zeroizing::new([0u8; SECRET_BYTES]);
            rng.fill_bytes(&mut buf[..]);
            // Succeeds except with negligible probability (a public value of 1 or p-1).
            if let Ok(kp) = Self::from_secret_bytes(&buf[..]) {
                return kp;
            }
        }
    }

    /// Builds a key pair from a given secret exponent (big-endian, at most
    /// [`MODULUS_BYTES`] bytes), e.g. for deterministic tests or known-answer vectors.
    ///
    /// Exponents of up to [`SECRET_BYTES`] bytes use the fast fixed-base table; longer ones
    /// the generic constant-time exponentiation. Fails with
    /// [`CryptoError::DhValueOutOfRange`] if the exponent is too long or the public value
    /// would fall outside `[2, p-2]` (e.g. `x = 0`).
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Self, CryptoError> {
        let secret_u =
            Uint::<LIMBS>::from_be_bytes(secret).ok_or(CryptoError::DhValueOutOfRange)?;
        let g = group();
        let pub_m = if secret.len() <= SECRET_BYTES {
            g.table.pow(&secret_u)
        } else {
            let two = g.params.to_mont(&Uint::from_u64(2));
            g.params.pow(&two, &secret_u, 8 * secret.len())
        };
        let pub_u = g.params.from_mont(&pub_m);
        let mut kp = DhKeyPair {
            public: DhPublicKey { bytes: Vec::new() },
            secret: secret_u,
            secret_bits: (8 * secret.len()).clamp(8 * SECRET_BYTES, 64 * LIMBS),
        };
        kp.public = DhPublicKey::from_bytes(&pub_u.to_be_bytes_minimal())?;
        Ok(kp)
    }

    /// Our public value.
    pub fn public(&self) -> &DhPublicKey {
        &self.public
    }

    /// The shared secret `theirs^x mod p`, computed in constant time.
    pub fn shared_secret(&self, theirs: &DhPublicKey) -> SharedSecret {
        let params = &group().params;
        let base = params.to_mont(&theirs.to_uint());
        let s_m = params.pow(&base, &self.secret, self.secret_bits);
        SharedSecret::from_mont(params, s_m)
    }

    /// The shared secrets `theirs^a mod p` and `theirs^b mod p` of two of our key pairs with
    /// the same public value of the peer, computed together in constant time (one comb
    /// table for the common base serves both exponents: about 0.65 times the cost of two
    /// [`DhKeyPair::shared_secret`] calls). Equal to calling it for `a` and for `b`.
    pub fn shared_secrets_pair(
        a: &DhKeyPair,
        b: &DhKeyPair,
        theirs: &DhPublicKey,
    ) -> (SharedSecret, SharedSecret) {
        let params = &group().params;
        let base = params.to_mont(&theirs.to_uint());
        let bits = a.secret_bits.max(b.secret_bits);
        let (sa, sb) = params.pow_pair(&base, &a.secret, &b.secret, bits);
        (
            SharedSecret::from_mont(params, sa),
            SharedSecret::from_mont(params, sb),
        )
    }
}

impl Drop for DhKeyPair {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl core::fmt::Debug for DhKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DhKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A Diffie-Hellman shared secret `g^xy`. Zeroized on drop, redacted in `Debug`.
pub struct SharedSecret {
    /// Minimal big-endian bytes of the secret.
    bytes: Zeroizing<Vec<u8>>,
}

impl SharedSecret {
    /// Converts a secret out of the Montgomery domain, zeroizing the intermediates.
    fn from_mont(params: &MontyParams<LIMBS>, mut s_m: Uint<LIMBS>) -> Self {
        let mut s = params.from_mont(&s_m);
        let bytes = Zeroizing::new(s.to_be_bytes_minimal());
        s_m.zeroize();
        s.zeroize();
        SharedSecret { bytes }
    }

    /// OTR's `secbytes`: the secret as a minimum-length MPI (4-byte big-endian length, then
    /// the value), the input of the h1/h2 key derivations.
    pub fn secbytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(4 + self.bytes.len()));
        out.extend_from_slice(&(self.bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.bytes);
        out
    }
}

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;
    use rand_chacha::rand_core::SeedableRng;

    fn p_big() -> BigUint {
        BigUint::from_bytes_be(&P.to_be_bytes())
    }

    #[test]
    fn modulus_matches_spec() {
        let hex = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF";
        assert_eq!(Uint::<24>::from_hex_vartime(hex).unwrap(), P);
    }

    #[test]
    fn agreement_and_values() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let a = DhKeyPair::generate(&mut rng);
        let b = DhKeyPair::generate(&mut rng);
        let s1 = a.shared_secret(b.public());
        let s2 = b.shared_secret(a.public());
        assert_eq!(&*s1.secbytes(), &*s2.secbytes());
        // Check against num-bigint.
        let xa = BigUint::from_bytes_be(&a.secret.to_be_bytes());
        let ya = BigUint::from(2u8).modpow(&xa, &p_big());
        assert_eq!(ya.to_bytes_be(), a.public().as_bytes());
        let yb = BigUint::from_bytes_be(b.public().as_bytes());
        let s = yb.modpow(&xa, &p_big()).to_bytes_be();
        let sb = s1.secbytes();
        assert_eq!(&sb[..4], &(s.len() as u32).to_be_bytes());
        assert_eq!(&sb[4..], &s[..]);
        assert!(xa.bits() <= 320);
        assert_eq!(format!("{:?}", s1), "SharedSecret(<redacted>)");
        assert!(!format!("{a:?}").contains("secret"));
    }

    #[test]
    fn shared_secrets_pair_matches() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        for round in 0..8 {
            let a = DhKeyPair::generate(&mut rng);
            let b = if round % 2 == 0 {
                DhKeyPair::generate(&mut rng)
            } else {
                // A long secret on one side: the longer declared length applies to both.
                DhKeyPair::from_secret_bytes(&[0x3cu8 + round as u8; 100]).unwrap()
            };
            let theirs = DhKeyPair::generate(&mut rng);
            let (sa, sb) = DhKeyPair::shared_secrets_pair(&a, &b, theirs.public());
            assert_eq!(
                &*sa.secbytes(),
                &*a.shared_secret(theirs.public()).secbytes()
            );
            assert_eq!(
                &*sb.secbytes(),
                &*b.shared_secret(theirs.public()).secbytes()
            );
            let (sb2, sa2) = DhKeyPair::shared_secrets_pair(&b, &a, theirs.public());
            assert_eq!(&*sa.secbytes(), &*sa2.secbytes());
            assert_eq!(&*sb.secbytes(), &*sb2.secbytes());
            assert_eq!(
                &*sa.secbytes(),
                &*theirs.shared_secret(a.public()).secbytes()
            );
        }
    }

    #[test]
    fn long_secret_and_deterministic() {
        let x = [0x5au8; 100];
        let kp = DhKeyPair::from_secret_bytes(&x).unwrap();
        let expect = BigUint::from(2u8).modpow(&BigUint::from_bytes_be(&x), &p_big());
        assert_eq!(kp.public().as_bytes(), expect.to_bytes_be());
        assert!(DhKeyPair::from_secret_bytes(&[]).is_err());
        assert!(DhKeyPair::from_secret_bytes(&[0u8; 10]).is_err());
        assert!(DhKeyPair::from_secret_bytes(&[1u8; 193]).is_err());
        let one = DhKeyPair::from_secret_bytes(&[1]).unwrap();
        assert_eq!(one.public().as_bytes(), &[2]);
    }

    #[test]
    fn range_checks_and_order() {
        let p = P.to_be_bytes();
        let pm1 = P.wrapping_sub_u64(1).to_be_bytes();
        let pm2 = P.wrapping_sub_u64(2).to_be_bytes();
        assert_eq!(
            DhPublicKey::from_bytes(&[]),
            Err(CryptoError::DhValueOutOfRange)
        );
        assert_eq!(
            DhPublicKey::from_bytes(&[0, 1]),
            Err(CryptoError::DhValueOutOfRange)
        );
        assert!(DhPublicKey::from_bytes(&[0, 0, 2]).is_ok());
        assert_eq!(
            DhPublicKey::from_bytes(&[0, 0, 2]).unwrap().as_bytes(),
            &[2]
        );
        assert!(DhPublicKey::from_bytes(&pm2).is_ok());
        assert!(DhPublicKey::from_bytes(&pm1).is_err());
        assert!(DhPublicKey::from_bytes(&p).is_err());
        assert!(DhPublicKey::from_bytes(&[0xff; 193]).is_err());
        let mut padded = vec![0u8; 300];
        padded[299] = 5;
        assert!(DhPublicKey::from_bytes(&padded).is_ok());
        let a = DhPublicKey::from_bytes(&[0xff]).unwrap();
        let b = DhPublicKey::from_bytes(&[1, 0]).unwrap();
        let c = DhPublicKey::from_bytes(&[1, 1]).unwrap();
        assert!(a < b && b < c);
        assert_eq!(format!("{a:?}"), "DhPublicKey(ff)");
    }
}
