//! The plaintext of a data message: text, a NUL, and TLV records (Protocol-v3.html, "Data Message").

use super::codec::{put_u16, InvalidMessage, Reader};
use zeroize::{Zeroize, Zeroizing};

/// A TLV type. A newtype so unknown types survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlvType(pub u16);

impl TlvType {
    /// Type 0: padding.
    pub const PADDING: Self = Self(0);
    /// Type 1: disconnected.
    pub const DISCONNECTED: Self = Self(1);
    /// Type 2: SMP message 1.
    pub const SMP1: Self = Self(2);
    /// Type 3: SMP message 2.
    pub const SMP2: Self = Self(3);
    /// Type 4: SMP message 3.
    pub const SMP3: Self = Self(4);
    /// Type 5: SMP message 4.
    pub const SMP4: Self = Self(5);
    /// Type 6: SMP abort.
    pub const SMP_ABORT: Self = Self(6);
    /// Type 7: SMP message 1 with question.
    pub const SMP1Q: Self = Self(7);
    /// Type 8: extra symmetric key.
    pub const EXTRA_SYMMETRIC_KEY: Self = Self(8);
}

/// One TLV record. Values may hold secrets (SMP), so they are zeroized on drop.
///
/// ```text
/// type (SHORT) | length (SHORT) | value (length bytes)
/// ```
///
/// Because of the `Drop` impl the value cannot be moved out of a `Tlv`; use
/// `std::mem::take(&mut tlv.value)` (the emptied `Tlv` is then dropped harmlessly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// The type.
    pub kind: TlvType,
    /// The value (at most 65535 bytes).
    pub value: Vec<u8>,
}

impl Tlv {
    /// A TLV of type `kind` holding `value`.
    pub fn new(kind: TlvType, value: Vec<u8>) -> Self {
        Self { kind, value }
    }
}

impl Drop for Tlv {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

/// A data message's decrypted plaintext split into its parts.
///
/// ```text
/// text (no NUL) | [NUL | TLV*]
/// ```
///
/// The text is not zeroized on drop (the caller hands it to the user anyway); the TLVs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plaintext {
    /// The human-readable part (bytes before the first NUL).
    pub text: Vec<u8>,
    /// The TLV records after the NUL.
    pub tlvs: Vec<Tlv>,
}

/// Encodes text, NUL, then each TLV, exactly as libotr does (the NUL is always written).
/// Text containing a NUL is cut at it.
///
/// A TLV value longer than 65535 bytes is a caller bug (no OTR TLV comes near it): its
/// value is truncated to its first 65535 bytes, so the output is still a well-formed
/// plaintext that the peer parses record by record (libotr would instead write the
/// length mod 65536 followed by the whole value, desynchronising every later record).
pub fn encode_plaintext(text: &[u8], tlvs: &[Tlv]) -> Zeroizing<Vec<u8>> {
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    let tlv_len: usize = tlvs
        .iter()
        .map(|t| 4 + t.value.len().min(MAX_TLV_VALUE))
        .sum();
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() + 1 + tlv_len));
    out.extend_from_slice(text);
    out.push(0);
    for tlv in tlvs {
        let value = tlv.value.get(..MAX_TLV_VALUE).unwrap_or(&tlv.value);
        put_u16(&mut out, tlv.kind.0);
        put_u16(&mut out, u16::try_from(value.len()).unwrap_or(u16::MAX));
        out.extend_from_slice(value);
    }
    out
}

/// The largest TLV value a SHORT length can describe.
pub const MAX_TLV_VALUE: usize = u16::MAX as usize;

/// Splits decrypted bytes into text and TLVs; a truncated TLV is [`InvalidMessage::BadTlv`].
///
/// Without a NUL everything is text and there are no TLVs. After the first NUL the rest
/// must be a sequence of whole records (nothing after the NUL is an empty list). libotr
/// silently drops a truncated final record; we reject the whole plaintext instead, which
/// only differs for peers that send malformed TLVs.
pub fn decode_plaintext(bytes: &[u8]) -> Result<Plaintext, InvalidMessage> {
    let Some(nul) = bytes.iter().position(|&b| b == 0) else {
        return Ok(Plaintext {
            text: bytes.to_vec(),
            tlvs: Vec::new(),
        });
    };
    let text = bytes.get(..nul).unwrap_or_default().to_vec();
    let mut r = Reader::new(bytes.get(nul + 1..).unwrap_or_default());
    let mut tlvs = Vec::new();
    while !r.is_empty() {
        let kind = TlvType(r.u16("TLV type").map_err(|_| InvalidMessage::BadTlv)?);
        let len = r.u16("TLV length").map_err(|_| InvalidMessage::BadTlv)?;
        let value = r
            .take(usize::from(len), "TLV value")
            .map_err(|_| InvalidMessage::BadTlv)?;
        tlvs.push(Tlv {
            kind,
            value: value.to_vec(),
        });
    }
    Ok(Plaintext { text, tlvs })
}
