//! The Socialist Millionaires' Protocol (Protocol-v3.html, "Socialist Millionaires'
//! Protocol (SMP)" and "The SMP state machine"), sans-IO, byte-compatible with libotr 4.1.1.
//!
//! [`Smp`] is one conversation's SMP state. The engine feeds it the user's actions
//! ([`Smp::start`], [`Smp::respond`], [`Smp::abort`]) and every received SMP TLV
//! ([`Smp::receive`], types 2 to 7); it gets back the TLVs to send (inside an encrypted
//! data message) and at most one [`SmpEvent`] for the user. The secret compared is
//! [`smp_secret`] of the user's input. The machine is public so that it can be driven
//! directly (tests, benchmarks); applications normally let the engine drive it.
//!
//! # States and transitions
//!
//! Each state holds only what is valid in it; secrets are zeroized when a state is left.
//!
//! | state | holds | event | next state, sent TLV(s), user event |
//! |---|---|---|---|
//! | `Expect1` | a pending request or nothing | user `start` | `Expect2`; (type 6 if a request was pending), type 2 or 7 |
//! | `Expect1` | | recv type 2/7, proofs valid | `Expect1` with request (`g2a`, `g3a`); nothing; `Request` |
//! | `Expect1` + request | `g2a`, `g3a` | user `respond` | `Expect3`; type 3 |
//! | `Expect2` | `x`, `a2`, `a3` | recv type 3, proofs valid | `Expect4`; type 4 |
//! | `Expect3` | `g3a`, `g2`, `g3`, `b3`, `Pb`, `Qb` | recv type 4, proofs valid | `Expect1`; type 5; `Success` or `Failure` |
//! | `Expect4` | `g3b`, `Pa/Pb`, `Qa/Qb`, `a3` | recv type 5, proof valid | `Expect1`; nothing; `Success` or `Failure` |
//! | `Expect2..4` | | user `start` | `Expect2`; type 6 then type 2 or 7 (restart, as the spec allows) |
//! | any | | user `abort` | `Expect1`; type 6 |
//! | any | | recv type 6 | `Expect1`; nothing; `Aborted` |
//! | any | | recv type 2..5/7 in another state, malformed, or a failed check | `Expect1`; type 6; `Aborted` |
//!
//! Checks on every received message (as libotr's `sm.c`): the MPI count equals the
//! message's (6, 11, 8, 3) and no byte follows the last MPI; every MPI is at most 192
//! bytes; group elements lie in `[2, p-2]`; the `D` values lie in `[1, q-1]`; every
//! zero-knowledge proof hash is recomputed and compared in constant time.
//!
//! Unlike libotr, Bob picks `b2`, `b3` when the user answers rather than when SMP message
//! 1 arrives (the messages are identical in distribution), and random exponents are 1536
//! random bits reduced mod q.
//!
//! When [`Smp::start`] restarts an SMP in progress it returns an abort TLV before the SMP
//! message 1. libotr handles the SMP TLVs of one data message in a fixed order (1Q, 1, 2,
//! 3, 4, then abort), so the engine should send the abort in its own data message, before
//! the one carrying SMP message 1.

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::group::{smp_group, BaseTable, Num, SmpGroup, EXP_BITS, MODULUS_BYTES};
use crate::wire::codec::{put_mpi, put_u32, Reader};
use crate::wire::tlv::{Tlv, TlvType, MAX_TLV_VALUE};

/// Bits of the secret compared (a SHA-256 digest).
const SECRET_BITS: usize = 256;

/// The secret SMP compares: SHA-256 of the version byte 1, the initiator's and the
/// responder's fingerprints, the secure session id and the user's input (libotr's
/// `init_respond_smp`).
pub fn smp_secret(
    initiator_fp: &[u8; 20],
    responder_fp: &[u8; 20],
    ssid: &[u8; 8],
    user_secret: &[u8],
) -> Zeroizing<[u8; 32]> {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(initiator_fp);
    h.update(responder_fp);
    h.update(ssid);
    h.update(user_secret);
    Zeroizing::new(h.finalize().into())
}

/// What SMP tells the user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmpEvent {
    /// The peer started SMP: ask the user for the secret (and show the question, if any),
    /// then call `respond`.
    Request {
        /// The peer's question (type 7), lossily decoded as UTF-8.
        question: Option<String>,
    },
    /// The secrets matched.
    Success,
    /// The secrets differed.
    Failure,
    /// The SMP was aborted: by the peer (type 6), or because a message was unexpected,
    /// malformed or failed a check (a cheating peer or a protocol error).
    Aborted,
}

/// Why a user action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmpError {
    /// `respond` without a pending request from the peer.
    NoRequest,
}

impl core::fmt::Display for SmpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NoRequest => "no SMP request to answer",
        })
    }
}

impl std::error::Error for SmpError {}

/// The outcome of a received SMP TLV.
#[derive(Debug, Default)]
pub struct SmpStep {
    /// TLVs to send to the peer, in order.
    pub send: Vec<Tlv>,
    /// What to tell the user.
    pub event: Option<SmpEvent>,
}

/// Bob's view of a verified SMP message 1, waiting for the user's secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct Request {
    g2a: Num,
    g3a: Num,
    /// Whether it came with a question (type 7).
    question: bool,
}

/// Alice after sending SMP message 1.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct Alice1 {
    x: Num,
    a2: Num,
    a3: Num,
}

/// Bob after sending SMP message 2 (`g2`, `g3` as their comb tables).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct Bob2 {
    g3a: Num,
    g2: BaseTable,
    g3: BaseTable,
    b3: Num,
    pb: Num,
    qb: Num,
}

/// Alice after sending SMP message 3 (`Qa/Qb` as its comb table).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct Alice3 {
    g3b: Num,
    pab: Num,
    qab: BaseTable,
    a3: Num,
}

/// The SMP state (`smpstate`) with the values valid in it.
#[derive(Clone)]
enum State {
    /// `SMPSTATE_EXPECT1`, possibly with a verified request waiting for the user.
    Expect1(Option<Box<Request>>),
    /// `SMPSTATE_EXPECT2` (we started).
    Expect2(Box<Alice1>),
    /// `SMPSTATE_EXPECT3` (we answered).
    Expect3(Box<Bob2>),
    /// `SMPSTATE_EXPECT4` (we started and sent message 3).
    Expect4(Box<Alice3>),
}

impl Default for State {
    fn default() -> Self {
        State::Expect1(None)
    }
}

/// One conversation's SMP state machine. `Default` is `SMPSTATE_EXPECT1` with nothing
/// pending. `Debug` shows the state's name only.
#[derive(Clone, Default)]
pub struct Smp {
    state: State,
    /// Whether the last `respond` answered a question (type 7). libotr does not mark the
    /// fingerprint trusted on the responder's side in that case.
    answered_question: bool,
}

impl core::fmt::Debug for Smp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match &self.state {
            State::Expect1(None) => "Expect1",
            State::Expect1(Some(_)) => "Expect1(request pending)",
            State::Expect2(_) => "Expect2",
            State::Expect3(_) => "Expect3",
            State::Expect4(_) => "Expect4",
        };
        f.debug_struct("Smp").field("state", &name).finish()
    }
}

/// The abort TLV (type 6, empty).
fn abort_tlv() -> Tlv {
    Tlv::new(TlvType::SMP_ABORT, Vec::new())
}

/// A secret digest as a number.
fn secret_num(secret: &[u8; 32]) -> Num {
    Num::from_be_bytes(secret).unwrap_or_default()
}

/// The SMP hash: SHA-256 of the version byte, then one or two minimal MPIs.
fn hash(version: u8, a: &Num, b: Option<&Num>) -> Num {
    let mut buf = Zeroizing::new(Vec::with_capacity(1 + 2 * (4 + MODULUS_BYTES)));
    buf.push(version);
    put_mpi(&mut buf, &a.to_be_bytes());
    if let Some(b) = b {
        put_mpi(&mut buf, &b.to_be_bytes());
    }
    let digest: [u8; 32] = Sha256::digest(&buf[..]).into();
    Num::from_be_bytes(&digest).unwrap_or_default()
}

/// Constant-time `hash == c` for a received `c`.
fn hash_matches(expected: &Num, c: &Num) -> bool {
    bool::from(expected.ct_eq(c))
}

/// Serializes an SMP TLV value: optional prefix (question + NUL), the MPI count, the MPIs.
fn encode(kind: TlvType, prefix: &[u8], mpis: &[&Num]) -> Tlv {
    let mut v = Vec::with_capacity(prefix.len() + 4 + mpis.len() * (4 + MODULUS_BYTES));
    v.extend_from_slice(prefix);
    put_u32(&mut v, u32::try_from(mpis.len()).unwrap_or(u32::MAX));
    let mut tmp = Zeroizing::new(Vec::new());
    for m in mpis {
        *tmp = m.to_be_bytes();
        put_mpi(&mut v, &tmp);
    }
    Tlv::new(kind, v)
}

/// Parses exactly `K` MPIs (count field `K`, each at most 192 bytes, nothing after).
fn parse<const K: usize>(value: &[u8]) -> Option<[Num; K]> {
    let mut r = Reader::new(value);
    let count = r.u32("SMP MPI count").ok()?;
    if usize::try_from(count).ok()? != K {
        return None;
    }
    let mut out = [Num::ZERO; K];
    for o in out.iter_mut() {
        *o = Num::from_be_bytes(r.mpi(MODULUS_BYTES, "SMP MPI").ok()?)?;
    }
    r.finish().ok()?;
    Some(out)
}

/// The question prefix for a type 7 TLV: the question cut at any NUL and shortened (at a
/// character boundary) so that the TLV fits its 16-bit length, then a NUL.
fn question_prefix(question: &str, payload_len: usize) -> Vec<u8> {
    let q = question.split('\0').next().unwrap_or_default();
    let room = MAX_TLV_VALUE.saturating_sub(payload_len + 1);
    let mut end = q.len().min(room);
    while !q.is_char_boundary(end) {
        end -= 1;
    }
    let mut v = q.as_bytes().get(..end).unwrap_or_default().to_vec();
    v.push(0);
    v
}

/// Checks a proof of knowledge of `log_g1(x)`: `c = H(v, g1^d · x^c)`.
fn know_log(g: &SmpGroup, v: u8, x: &Num, c: &Num, d: &Num) -> Option<()> {
    let t = g.comb_multi_vartime(Some(d), &[], &[(x, c)])?;
    hash_matches(&hash(v, &t, None), c).then_some(())
}

/// Checks that `P = g3^r`, `Q = g1^r · g2^s` for some `r`, `s`:
/// `c = H(v, g3^d5 · P^c, g1^d5 · g2^d6 · Q^c)` (libotr's `check_equal_coords`).
#[allow(clippy::too_many_arguments)]
fn equal_coords(
    g: &SmpGroup,
    v: u8,
    g2: &BaseTable,
    g3: &BaseTable,
    p: &Num,
    q: &Num,
    c: &Num,
    d5: &Num,
    d6: &Num,
) -> Option<()> {
    let t1 = g.comb_multi_vartime(None, &[(g3, d5)], &[(p, c)])?;
    let t2 = g.comb_multi_vartime(Some(d5), &[(g2, d6)], &[(q, c)])?;
    hash_matches(&hash(v, &t1, Some(&t2)), c).then_some(())
}

/// Checks that `R = (Qa/Qb)^x` where `g3o = g1^x`: `c = H(v, g1^d · g3o^c, qab^d · R^c)`
/// (libotr's `check_equal_logs`).
fn equal_logs(
    g: &SmpGroup,
    v: u8,
    g3o: &Num,
    qab: &BaseTable,
    r: &Num,
    c: &Num,
    d: &Num,
) -> Option<()> {
    let t1 = g.comb_multi_vartime(Some(d), &[], &[(g3o, c)])?;
    let t2 = g.comb_multi_vartime(None, &[(qab, d)], &[(r, c)])?;
    hash_matches(&hash(v, &t1, Some(&t2)), c).then_some(())
}

/// Secret random exponents, zeroized on drop.
fn rand_exp(g: &SmpGroup, rng: &mut dyn CryptoRngCore) -> Zeroizing<Num> {
    Zeroizing::new(g.random_exponent(rng))
}

impl Smp {
    /// Whether an SMP is under way: we are waiting for a message, or a request from the
    /// peer waits for the user's answer.
    pub fn in_progress(&self) -> bool {
        !matches!(self.state, State::Expect1(None))
    }

    /// Whether a request from the peer waits for the user's answer ([`Smp::respond`]).
    pub fn request_pending(&self) -> bool {
        matches!(self.state, State::Expect1(Some(_)))
    }

    /// Whether the last [`Smp::respond`] answered a question (type 7 request). libotr marks
    /// the fingerprint trusted after a successful SMP on the responding side only when no
    /// question was asked.
    pub fn answered_question(&self) -> bool {
        self.answered_question
    }

    /// Forgets any SMP in progress (e.g. when the conversation leaves the encrypted state),
    /// without sending anything.
    pub fn reset(&mut self) {
        self.state = State::default();
    }

    /// The user starts SMP with `secret` (from [`smp_secret`], with us as the initiator):
    /// returns SMP message 1 (type 2, or type 7 with the question first). If an SMP was in
    /// progress (including an unanswered request) it is restarted, and an abort TLV comes
    /// first (see the module doc for how to send the two).
    pub fn start(
        &mut self,
        secret: &[u8; 32],
        question: Option<&str>,
        rng: &mut dyn CryptoRngCore,
    ) -> Vec<Tlv> {
        let mut out = Vec::with_capacity(2);
        if self.in_progress() {
            out.push(abort_tlv());
        }
        let g = smp_group();
        let a2 = rand_exp(g, rng);
        let a3 = rand_exp(g, rng);
        let r2 = rand_exp(g, rng);
        let r3 = rand_exp(g, rng);
        let g2a = g.g1_pow(&a2);
        let g3a = g.g1_pow(&a3);
        let c2 = hash(1, &g.g1_pow(&r2), None);
        let d2 = g.sub_mul_q(&r2, &a2, &c2);
        let c3 = hash(2, &g.g1_pow(&r3), None);
        let d3 = g.sub_mul_q(&r3, &a3, &c3);
        let mut tlv = encode(TlvType::SMP1, &[], &[&g2a, &c2, &d2, &g3a, &c3, &d3]);
        if let Some(q) = question {
            let mut v = question_prefix(q, tlv.value.len());
            v.extend_from_slice(&tlv.value);
            tlv = Tlv::new(TlvType::SMP1Q, v);
        }
        self.state = State::Expect2(Box::new(Alice1 {
            x: secret_num(secret),
            a2: *a2,
            a3: *a3,
        }));
        self.answered_question = false;
        out.push(tlv);
        out
    }

    /// The user answers the pending request with `secret` (from [`smp_secret`], with the
    /// peer as the initiator): returns SMP message 2 (type 3).
    pub fn respond(
        &mut self,
        secret: &[u8; 32],
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<Tlv>, SmpError> {
        if !self.request_pending() {
            return Err(SmpError::NoRequest);
        }
        let State::Expect1(Some(req)) = core::mem::take(&mut self.state) else {
            return Err(SmpError::NoRequest);
        };
        let g = smp_group();
        let y = Zeroizing::new(secret_num(secret));
        let b2 = rand_exp(g, rng);
        let b3 = rand_exp(g, rng);
        let r2 = rand_exp(g, rng);
        let r3 = rand_exp(g, rng);
        let r4 = rand_exp(g, rng);
        let r5 = rand_exp(g, rng);
        let r6 = rand_exp(g, rng);
        let g2b = g.g1_pow(&b2);
        let g3b = g.g1_pow(&b3);
        let c2 = hash(3, &g.g1_pow(&r2), None);
        let d2 = g.sub_mul_q(&r2, &b2, &c2);
        let c3 = hash(4, &g.g1_pow(&r3), None);
        let d3 = g.sub_mul_q(&r3, &b3, &c3);
        let g2 = Zeroizing::new(g.pow(&req.g2a, &b2, EXP_BITS));
        let g3 = Zeroizing::new(g.pow(&req.g3a, &b3, EXP_BITS));
        let t3 = g.base_table(&g3);
        let t2 = g.base_table(&g2);
        let pb = g.comb_pow(&t3, &r4);
        let qb = g.mul(&g.g1_pow(&r4), &g.pow(&g2, &y, SECRET_BITS));
        let cp = hash(
            5,
            &g.comb_pow(&t3, &r5),
            Some(&g.mul(&g.g1_pow(&r5), &g.comb_pow(&t2, &r6))),
        );
        let d5 = g.sub_mul_q(&r5, &r4, &cp);
        let d6 = g.sub_mul_q(&r6, &y, &cp);
        let tlv = encode(
            TlvType::SMP2,
            &[],
            &[&g2b, &c2, &d2, &g3b, &c3, &d3, &pb, &qb, &cp, &d5, &d6],
        );
        self.answered_question = req.question;
        self.state = State::Expect3(Box::new(Bob2 {
            g3a: req.g3a,
            g2: t2,
            g3: t3,
            b3: *b3,
            pb,
            qb,
        }));
        Ok(vec![tlv])
    }

    /// The user aborts: returns the abort TLV (type 6); the state returns to `Expect1`.
    pub fn abort(&mut self) -> Vec<Tlv> {
        self.state = State::default();
        vec![abort_tlv()]
    }

    /// A received TLV. SMP types (2 to 7) advance the state machine; any other type is
    /// ignored (empty step).
    pub fn receive(&mut self, tlv: &Tlv, rng: &mut dyn CryptoRngCore) -> SmpStep {
        let kind = tlv.kind;
        if kind == TlvType::SMP_ABORT {
            self.state = State::default();
            return SmpStep {
                send: Vec::new(),
                event: Some(SmpEvent::Aborted),
            };
        }
        if ![
            TlvType::SMP1,
            TlvType::SMP1Q,
            TlvType::SMP2,
            TlvType::SMP3,
            TlvType::SMP4,
        ]
        .contains(&kind)
        {
            return SmpStep::default();
        }
        let state = core::mem::take(&mut self.state);
        let step = match (kind, state) {
            (TlvType::SMP1, State::Expect1(_)) => self.on_msg1(&tlv.value, None),
            (TlvType::SMP1Q, State::Expect1(_)) => {
                // The question runs to the first NUL, which must be there.
                match tlv.value.iter().position(|&b| b == 0) {
                    Some(nul) => {
                        let (q, rest) = tlv.value.split_at(nul);
                        let question = String::from_utf8_lossy(q).into_owned();
                        self.on_msg1(rest.get(1..).unwrap_or_default(), Some(question))
                    }
                    None => None,
                }
            }
            (TlvType::SMP2, State::Expect2(a)) => self.on_msg2(&a, &tlv.value, rng),
            (TlvType::SMP3, State::Expect3(b)) => self.on_msg3(&b, &tlv.value, rng),
            (TlvType::SMP4, State::Expect4(a)) => self.on_msg4(&a, &tlv.value),
            _ => None,
        };
        step.unwrap_or_else(|| {
            self.state = State::default();
            SmpStep {
                send: vec![abort_tlv()],
                event: Some(SmpEvent::Aborted),
            }
        })
    }

    /// SMP message 1 (in `Expect1`): verify, remember, ask the user.
    fn on_msg1(&mut self, value: &[u8], question: Option<String>) -> Option<SmpStep> {
        let g = smp_group();
        let [g2a, c2, d2, g3a, c3, d3] = parse::<6>(value)?;
        if !(g.is_subgroup_element(&g2a)
            && g.is_exponent(&d2)
            && g.is_subgroup_element(&g3a)
            && g.is_exponent(&d3))
        {
            return None;
        }
        know_log(g, 1, &g2a, &c2, &d2)?;
        know_log(g, 2, &g3a, &c3, &d3)?;
        self.state = State::Expect1(Some(Box::new(Request {
            g2a,
            g3a,
            question: question.is_some(),
        })));
        Some(SmpStep {
            send: Vec::new(),
            event: Some(SmpEvent::Request { question }),
        })
    }

    /// SMP message 2 (in `Expect2`): verify, send message 3.
    fn on_msg2(
        &mut self,
        a: &Alice1,
        value: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Option<SmpStep> {
        let g = smp_group();
        let [g2b, c2, d2, g3b, c3, d3, pb, qb, cp, d5, d6] = parse::<11>(value)?;
        if !([&g2b, &g3b, &pb, &qb]
            .iter()
            .all(|v| g.is_subgroup_element(v))
            && [&d2, &d3, &d5, &d6].iter().all(|v| g.is_exponent(v)))
        {
            return None;
        }
        know_log(g, 3, &g2b, &c2, &d2)?;
        know_log(g, 4, &g3b, &c3, &d3)?;
        let g2 = Zeroizing::new(g.pow(&g2b, &a.a2, EXP_BITS));
        let g3 = Zeroizing::new(g.pow(&g3b, &a.a3, EXP_BITS));
        let t2 = g.base_table(&g2);
        let t3 = g.base_table(&g3);
        equal_coords(g, 5, &t2, &t3, &pb, &qb, &cp, &d5, &d6)?;
        let r4 = rand_exp(g, rng);
        let r5 = rand_exp(g, rng);
        let r6 = rand_exp(g, rng);
        let r7 = rand_exp(g, rng);
        let pa = g.comb_pow(&t3, &r4);
        let qa = g.mul(&g.g1_pow(&r4), &g.pow(&g2, &a.x, SECRET_BITS));
        let cpa = hash(
            6,
            &g.comb_pow(&t3, &r5),
            Some(&g.mul(&g.g1_pow(&r5), &g.comb_pow(&t2, &r6))),
        );
        let d5a = g.sub_mul_q(&r5, &r4, &cpa);
        let d6a = g.sub_mul_q(&r6, &a.x, &cpa);
        // One inversion for both divisions: 1/Pb = Qb/(Pb·Qb), 1/Qb = Pb/(Pb·Qb).
        let inv = g.inv_vartime(&g.mul(&pb, &qb));
        let pab = g.mul(&pa, &g.mul(&qb, &inv));
        let qab = g.mul(&qa, &g.mul(&pb, &inv));
        let tq = g.base_table(&qab);
        let ra = g.comb_pow(&tq, &a.a3);
        let cr = hash(7, &g.g1_pow(&r7), Some(&g.comb_pow(&tq, &r7)));
        let d7 = g.sub_mul_q(&r7, &a.a3, &cr);
        let tlv = encode(
            TlvType::SMP3,
            &[],
            &[&pa, &qa, &cpa, &d5a, &d6a, &ra, &cr, &d7],
        );
        self.state = State::Expect4(Box::new(Alice3 {
            g3b,
            pab,
            qab: tq,
            a3: a.a3,
        }));
        Some(SmpStep {
            send: vec![tlv],
            event: None,
        })
    }

    /// SMP message 3 (in `Expect3`): verify, send message 4, compare.
    fn on_msg3(&mut self, b: &Bob2, value: &[u8], rng: &mut dyn CryptoRngCore) -> Option<SmpStep> {
        let g = smp_group();
        let [pa, qa, cp, d5, d6, ra, cr, d7] = parse::<8>(value)?;
        if !([&pa, &qa, &ra].iter().all(|v| g.is_subgroup_element(v))
            && [&d5, &d6, &d7].iter().all(|v| g.is_exponent(v)))
        {
            return None;
        }
        equal_coords(g, 6, &b.g2, &b.g3, &pa, &qa, &cp, &d5, &d6)?;
        let inv = g.inv_vartime(&g.mul(&b.pb, &b.qb));
        let pab = g.mul(&pa, &g.mul(&b.qb, &inv));
        let qab = g.mul(&qa, &g.mul(&b.pb, &inv));
        let tq = g.base_table(&qab);
        equal_logs(g, 7, &b.g3a, &tq, &ra, &cr, &d7)?;
        let r7 = rand_exp(g, rng);
        let rb = g.comb_pow(&tq, &b.b3);
        let crb = hash(8, &g.g1_pow(&r7), Some(&g.comb_pow(&tq, &r7)));
        let d7b = g.sub_mul_q(&r7, &b.b3, &crb);
        let rab = Zeroizing::new(g.pow(&ra, &b.b3, EXP_BITS));
        let same = bool::from(rab.ct_eq(&pab));
        // self.state is already Expect1 (taken by `receive`).
        Some(SmpStep {
            send: vec![encode(TlvType::SMP4, &[], &[&rb, &crb, &d7b])],
            event: Some(if same {
                SmpEvent::Success
            } else {
                SmpEvent::Failure
            }),
        })
    }

    /// SMP message 4 (in `Expect4`): verify, compare.
    fn on_msg4(&mut self, a: &Alice3, value: &[u8]) -> Option<SmpStep> {
        let g = smp_group();
        let [rb, cr, d7] = parse::<3>(value)?;
        if !(g.is_subgroup_element(&rb) && g.is_exponent(&d7)) {
            return None;
        }
        equal_logs(g, 8, &a.g3b, &a.qab, &rb, &cr, &d7)?;
        let rab = Zeroizing::new(g.pow(&rb, &a.a3, EXP_BITS));
        let same = bool::from(rab.ct_eq(&a.pab));
        Some(SmpStep {
            send: Vec::new(),
            event: Some(if same {
                SmpEvent::Success
            } else {
                SmpEvent::Failure
            }),
        })
    }
}

#[cfg(any(fuzzing, test, feature = "fuzz-hooks"))]
mod fuzz_hook;
#[cfg(any(fuzzing, test, feature = "fuzz-hooks"))]
pub use fuzz_hook::__fuzz_smp_receive;
#[cfg(test)]
use fuzz_hook::fuzz_fixture;

#[cfg(test)]
mod tests;
