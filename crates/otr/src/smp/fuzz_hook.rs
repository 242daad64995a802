//! The SMP fuzz hook (`__fuzz_smp_receive`, used by the `smp_receive` fuzz target and its
//! corpus replay): compiled only for fuzzing, for tests and with the feature `fuzz-hooks`,
//! never into a normal build.

use super::*;

/// A deterministic counter-mode SHA-256 generator for the fuzz hook (not for real use).
pub(super) struct FuzzRng(u64);

impl rand_core::RngCore for FuzzRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            self.0 = self.0.wrapping_add(1);
            let block: [u8; 32] = Sha256::digest(self.0.to_be_bytes()).into();
            chunk.copy_from_slice(block.get(..chunk.len()).unwrap_or_default());
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for FuzzRng {}

/// One honest run, frozen at every state, with the message each state expects next.
pub(super) struct FuzzFixture {
    /// `[fresh Expect1, Expect1 + request, Alice Expect2, Bob Expect3, Alice Expect4]`.
    pub(super) states: [Smp; 5],
    /// The honest next message for each state: SMP1, SMP1Q, SMP2, SMP3, SMP4.
    pub(super) next: [Tlv; 5],
}

pub(super) fn fuzz_fixture() -> Option<&'static FuzzFixture> {
    static FIXTURE: std::sync::OnceLock<Option<FuzzFixture>> = std::sync::OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let rng = &mut FuzzRng(0);
            let secret = [7u8; 32];
            let mut alice = Smp::default();
            let smp1q = alice.start(&secret, Some("question?"), rng).pop()?;
            let alice2 = alice.clone();
            let mut alice_plain = Smp::default();
            let smp1 = alice_plain.start(&secret, None, rng).pop()?;
            let mut bob = Smp::default();
            bob.receive(&smp1q, rng);
            let bob1 = bob.clone();
            let smp2 = bob.respond(&secret, rng).ok()?.pop()?;
            let bob3 = bob.clone();
            let smp3 = alice.receive(&smp2, rng).send.pop()?;
            let alice4 = alice.clone();
            let smp4 = bob.receive(&smp3, rng).send.pop()?;
            Some(FuzzFixture {
                states: [Smp::default(), bob1, alice2, bob3, alice4],
                next: [smp1, smp1q, smp2, smp3, smp4],
            })
        })
        .as_ref()
}

/// Fuzzing hook (not an API): delivers a TLV built from `data` to an SMP state machine in
/// one of its states, and asserts the receive path's invariants (panics on a violation).
///
/// `data[0] % 5` picks the state (fresh `Expect1`, `Expect1` with a request, `Expect2`,
/// `Expect3`, `Expect4`, each from one honest run). If `data[0] & 0x80` is clear, the TLV
/// is type `2 + data[1] % 6` with value `data[2..]`; if set, it is the honest next message
/// for that state with `data[1..]` XORed into its value. Invariants: nothing panics; an
/// `Aborted` event (for a type other than 6) comes with exactly one abort TLV to send and
/// leaves no SMP in progress; the honest message is accepted, also with only its question
/// text changed (the question is not authenticated, as in libotr); a message whose SMP
/// payload was modified is rejected.
#[doc(hidden)]
pub fn __fuzz_smp_receive(data: &[u8]) {
    let Some(fx) = fuzz_fixture() else {
        return;
    };
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let idx = usize::from(sel % 5);
    let (Some(state), Some(honest)) = (fx.states.get(idx), fx.next.get(idx)) else {
        return;
    };
    let mut smp = state.clone();
    let rng = &mut FuzzRng(u64::from(sel) << 32);
    let (tlv, tampered) = if sel & 0x80 == 0 {
        let Some((&k, value)) = rest.split_first() else {
            return;
        };
        (
            Tlv::new(TlvType(2 + u16::from(k % 6)), value.to_vec()),
            None,
        )
    } else {
        let mut value = honest.value.clone();
        for (v, d) in value.iter_mut().zip(rest) {
            *v ^= d;
        }
        // The question of a type 7 is not authenticated (as in libotr): what must be
        // rejected is a change to the SMP payload after the question's NUL.
        let payload = |v: &[u8]| -> Vec<u8> {
            if honest.kind == TlvType::SMP1Q {
                let nul = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                v.get(nul..).unwrap_or_default().to_vec()
            } else {
                v.to_vec()
            }
        };
        let tampered = payload(&value) != payload(&honest.value);
        (Tlv::new(honest.kind, value), Some(tampered))
    };
    let step = smp.receive(&tlv, rng);
    if tlv.kind == TlvType::SMP_ABORT {
        assert!(step.send.is_empty() && step.event == Some(SmpEvent::Aborted));
    }
    if step.event == Some(SmpEvent::Aborted) {
        assert!(!smp.in_progress(), "aborted but still in progress");
        assert!(
            tlv.kind == TlvType::SMP_ABORT
                || (step.send.len() == 1
                    && step
                        .send
                        .iter()
                        .all(|t| t.kind == TlvType::SMP_ABORT && t.value.is_empty())),
            "abort without exactly one abort TLV"
        );
    }
    match tampered {
        Some(true) => assert_eq!(
            step.event,
            Some(SmpEvent::Aborted),
            "tampered message accepted"
        ),
        Some(false) => assert_ne!(
            step.event,
            Some(SmpEvent::Aborted),
            "honest message rejected"
        ),
        None => {}
    }
}
