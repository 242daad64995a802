//! The binary OTR messages (Protocol-v3.html, "D-H Commit Message" .. "Data Message").
//!
//! ```text
//! header:  version (SHORT) | type (BYTE) | [v3: sender instance (INT) | receiver instance (INT)]
//! ```

use super::codec::{Codec, InvalidMessage, Reader};

/// A protocol version number as it appears in headers. Only 2 and 3 decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion(pub u16);

impl ProtocolVersion {
    /// OTR version 2: no instance tags.
    pub const V2: Self = Self(2);
    /// OTR version 3.
    pub const V3: Self = Self(3);
}

/// An instance tag (Protocol-v3.html, "Instance Tags"). 0 means "unknown"; 1..=0xFF are invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct InstanceTag(pub u32);

impl InstanceTag {
    /// The "not known yet" tag.
    pub const UNKNOWN: Self = Self(0);
    /// The smallest valid tag.
    pub const MIN_VALID: u32 = 0x100;
    /// True for tags >= 0x100.
    pub fn is_valid(self) -> bool { self.0 >= Self::MIN_VALID }
}

/// The message type byte. A newtype so unknown values survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

impl MessageType {
    /// D-H Commit.
    pub const DH_COMMIT: Self = Self(0x02);
    /// Data.
    pub const DATA: Self = Self(0x03);
    /// D-H Key.
    pub const DH_KEY: Self = Self(0x0a);
    /// Reveal Signature.
    pub const REVEAL_SIGNATURE: Self = Self(0x11);
    /// Signature.
    pub const SIGNATURE: Self = Self(0x12);
}

/// Caps on length fields, each with its reason.
pub mod limits {
    /// An MPI holding a value mod the 1536-bit DH modulus never needs more than 192 bytes;
    /// we allow a leading zero byte or so of slack from sloppy encoders.
    pub const DH_MPI: usize = 200;
    /// The encrypted g^x of a D-H Commit is an encrypted MPI: 4 + 192 bytes.
    pub const ENCRYPTED_GX: usize = 4 + 200;
    /// The hashed g^x is SHA-256: 32 bytes (a DATA field so we allow up to 64).
    pub const HASHED_GX: usize = 64;
    /// The revealed AES key r: 16 bytes (DATA, up to 64).
    pub const REVEALED_KEY: usize = 64;
    /// An encrypted signature holds PUBKEY (4 MPIs of a DSA key up to 3072 bits) + INT + SIG.
    pub const ENCRYPTED_SIGNATURE: usize = 4096;
    /// A data message's ciphertext: libotr has no limit; 1 MiB is far above any IM network.
    pub const ENCRYPTED_DATA: usize = 1 << 20;
    /// Old MAC keys: 20 bytes each; a few hundred keys at most even after a long burst.
    pub const OLD_MAC_KEYS: usize = 20 * 1024;
}

/// A decoded binary OTR message: header fields and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedMessage {
    /// 2 or 3.
    pub version: ProtocolVersion,
    /// Sender instance tag (always 0 for version 2, and not encoded).
    pub sender_instance: InstanceTag,
    /// Receiver instance tag (always 0 for version 2, and not encoded).
    pub receiver_instance: InstanceTag,
    /// The message itself.
    pub body: MessageBody,
}

impl EncodedMessage {
    /// The message type byte of the body.
    pub fn message_type(&self) -> MessageType { unimplemented!() }
    /// For a data message, the bytes the MAC covers: from the protocol version to the end of
    /// the encrypted message. `None` for other messages.
    pub fn data_mac_input(&self) -> Option<Vec<u8>> { unimplemented!() }
}

impl Codec for EncodedMessage {
    fn encode(&self, out: &mut Vec<u8>) { unimplemented!() }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> { unimplemented!() }
}

/// The body of an encoded message, one variant per message type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageBody {
    /// Type 0x02.
    DhCommit(DhCommit),
    /// Type 0x0a.
    DhKey(DhKey),
    /// Type 0x11.
    RevealSignature(RevealSignature),
    /// Type 0x12.
    Signature(SignatureMessage),
    /// Type 0x03.
    Data(DataMessage),
}

/// D-H Commit: encrypted g^x (DATA), hashed g^x (DATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhCommit {
    /// AES-CTR(r, MPI(g^x)).
    pub encrypted_gx: Vec<u8>,
    /// SHA-256(MPI(g^x)).
    pub hashed_gx: Vec<u8>,
}

/// D-H Key: g^y (MPI), bytes as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhKey {
    /// The MPI body exactly as received (validated by the AKE).
    pub gy: Vec<u8>,
}

/// Reveal Signature: revealed key (DATA), encrypted signature (DATA), MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealSignature {
    /// r.
    pub revealed_key: Vec<u8>,
    /// AES-CTR(c, X_B).
    pub encrypted_signature: Vec<u8>,
    /// HMAC-SHA256-160(m2, DATA(encrypted_signature)).
    pub mac: [u8; 20],
}

/// Signature: encrypted signature (DATA), MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureMessage {
    /// AES-CTR(c', X_A).
    pub encrypted_signature: Vec<u8>,
    /// HMAC-SHA256-160(m2', DATA(encrypted_signature)).
    pub mac: [u8; 20],
}

/// Flags of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataFlags(pub u8);

impl DataFlags {
    /// IGNORE_UNREADABLE.
    pub const IGNORE_UNREADABLE: u8 = 0x01;
    /// True if IGNORE_UNREADABLE is set.
    pub fn ignore_unreadable(self) -> bool { self.0 & Self::IGNORE_UNREADABLE != 0 }
}

/// A data message as parsed: unverified, nothing in it is trusted until its MAC checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMessage {
    /// Flags (BYTE).
    pub flags: DataFlags,
    /// Sender keyid (INT).
    pub sender_keyid: u32,
    /// Recipient keyid (INT).
    pub recipient_keyid: u32,
    /// The sender's next DH public value (MPI body as on the wire).
    pub next_dh: Vec<u8>,
    /// Top half of the counter (CTR).
    pub ctr: [u8; 8],
    /// The ciphertext (DATA).
    pub encrypted: Vec<u8>,
    /// HMAC-SHA1 over header .. ciphertext.
    pub mac: [u8; 20],
    /// Old MAC keys revealed (DATA), concatenated 20-byte keys.
    pub old_mac_keys: Vec<u8>,
}
