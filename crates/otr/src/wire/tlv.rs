//! The plaintext of a data message: text, a NUL, and TLV records (Protocol-v3.html, "Data Message").

use super::codec::InvalidMessage;
use zeroize::Zeroizing;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// The type.
    pub kind: TlvType,
    /// The value (at most 65535 bytes).
    pub value: Vec<u8>,
}

/// A data message's decrypted plaintext split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plaintext {
    /// The human-readable part (bytes before the first NUL).
    pub text: Vec<u8>,
    /// The TLV records after the NUL.
    pub tlvs: Vec<Tlv>,
}

/// Encodes text, NUL, then each TLV, exactly as libotr does (the NUL is always written).
/// Text containing a NUL is cut at it. A TLV longer than 65535 bytes is a caller bug and
/// is truncated... (helper: decide, document).
pub fn encode_plaintext(text: &[u8], tlvs: &[Tlv]) -> Zeroizing<Vec<u8>> { unimplemented!() }
/// Splits decrypted bytes into text and TLVs; a truncated TLV is [`InvalidMessage::BadTlv`].
pub fn decode_plaintext(bytes: &[u8]) -> Result<Plaintext, InvalidMessage> { unimplemented!() }
