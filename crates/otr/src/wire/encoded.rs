//! The binary OTR messages (Protocol-v3.html, "D-H Commit Message" .. "Data Message").
//!
//! ```text
//! header:  version (SHORT) | type (BYTE) | [v3: sender instance (INT) | receiver instance (INT)]
//! ```

use super::codec::{put_data, put_u16, put_u32, put_u8, Codec, InvalidMessage, Reader};

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
    pub fn is_valid(self) -> bool {
        self.0 >= Self::MIN_VALID
    }
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
///
/// Protocol-v3.html, "Data types" / "OTR Messages" (header), and Protocol-v2.html for v2:
///
/// ```text
/// v3: version=0x0003 (SHORT) | type (BYTE) | sender instance (INT, >= 0x100)
///     | receiver instance (INT, 0 or >= 0x100) | body
/// v2: version=0x0002 (SHORT) | type (BYTE) | body
/// ```
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
    pub fn message_type(&self) -> MessageType {
        self.body.message_type()
    }
    /// For a data message, the bytes the MAC covers: from the protocol version to the end of
    /// the encrypted message. `None` for other messages.
    ///
    /// This is exactly the prefix of [`Codec::encode`]'s output that ends with the DATA
    /// holding the ciphertext (the header, flags, key ids, next DH MPI as stored, CTR and
    /// DATA(encrypted)), so it is also the prefix of the bytes as received.
    pub fn data_mac_input(&self) -> Option<Vec<u8>> {
        match &self.body {
            MessageBody::Data(d) => {
                let mut out = Vec::with_capacity(64 + d.next_dh.len() + d.encrypted.len());
                self.put_header(&mut out);
                d.put_authenticated(&mut out);
                Some(out)
            }
            _ => None,
        }
    }

    /// A message with both instance tags, for building outgoing messages.
    pub fn new(
        version: ProtocolVersion,
        sender_instance: InstanceTag,
        receiver_instance: InstanceTag,
        body: MessageBody,
    ) -> Self {
        Self {
            version,
            sender_instance,
            receiver_instance,
            body,
        }
    }

    /// Writes the header: version, type, and for v3 (anything but v2) both instance tags.
    fn put_header(&self, out: &mut Vec<u8>) {
        put_u16(out, self.version.0);
        put_u8(out, self.message_type().0);
        if self.version != ProtocolVersion::V2 {
            put_u32(out, self.sender_instance.0);
            put_u32(out, self.receiver_instance.0);
        }
    }
}

impl Codec for EncodedMessage {
    /// Writes header and body.
    ///
    /// For version 2 the instance tags are not part of the encoding, so they do not survive
    /// a round trip unless they are 0. No field is validated here: an `EncodedMessage`
    /// built with a bad version or tag encodes as given (and will not decode).
    fn encode(&self, out: &mut Vec<u8>) {
        self.put_header(out);
        match &self.body {
            MessageBody::DhCommit(m) => {
                put_data(out, &m.encrypted_gx);
                put_data(out, &m.hashed_gx);
            }
            MessageBody::DhKey(m) => put_raw_mpi(out, &m.gy),
            MessageBody::RevealSignature(m) => {
                put_data(out, &m.revealed_key);
                put_data(out, &m.encrypted_signature);
                out.extend_from_slice(&m.mac);
            }
            MessageBody::Signature(m) => {
                put_data(out, &m.encrypted_signature);
                out.extend_from_slice(&m.mac);
            }
            MessageBody::Data(m) => {
                m.put_authenticated(out);
                out.extend_from_slice(&m.mac);
                put_data(out, &m.old_mac_keys);
            }
        }
    }

    /// Reads header and body. Errors, in the order checked: a version other than 2 or 3
    /// ([`InvalidMessage::UnknownVersion`]); an unknown type byte
    /// ([`InvalidMessage::UnknownMessageType`]); for v3 a sender tag below 0x100 or a
    /// receiver tag in 1..=0xFF ([`InvalidMessage::BadInstanceTag`]); then field by field
    /// [`InvalidMessage::Truncated`] / [`InvalidMessage::TooLong`] (caps in [`limits`]).
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let version = ProtocolVersion(r.u16("protocol version")?);
        if version != ProtocolVersion::V2 && version != ProtocolVersion::V3 {
            return Err(InvalidMessage::UnknownVersion(version.0));
        }
        let kind = MessageType(r.u8("message type")?);
        if ![
            MessageType::DH_COMMIT,
            MessageType::DH_KEY,
            MessageType::REVEAL_SIGNATURE,
            MessageType::SIGNATURE,
            MessageType::DATA,
        ]
        .contains(&kind)
        {
            return Err(InvalidMessage::UnknownMessageType(kind.0));
        }
        let (sender_instance, receiver_instance) = if version == ProtocolVersion::V3 {
            let sender = InstanceTag(r.u32("sender instance tag")?);
            if !sender.is_valid() {
                return Err(InvalidMessage::BadInstanceTag(sender.0));
            }
            let receiver = InstanceTag(r.u32("receiver instance tag")?);
            if receiver != InstanceTag::UNKNOWN && !receiver.is_valid() {
                return Err(InvalidMessage::BadInstanceTag(receiver.0));
            }
            (sender, receiver)
        } else {
            (InstanceTag::UNKNOWN, InstanceTag::UNKNOWN)
        };
        let body = match kind {
            MessageType::DH_COMMIT => MessageBody::DhCommit(DhCommit {
                encrypted_gx: r.data(limits::ENCRYPTED_GX, "encrypted g^x")?.to_vec(),
                hashed_gx: r.data(limits::HASHED_GX, "hashed g^x")?.to_vec(),
            }),
            MessageType::DH_KEY => MessageBody::DhKey(DhKey {
                gy: r.mpi(limits::DH_MPI, "g^y")?.to_vec(),
            }),
            MessageType::REVEAL_SIGNATURE => MessageBody::RevealSignature(RevealSignature {
                revealed_key: r.data(limits::REVEALED_KEY, "revealed key")?.to_vec(),
                encrypted_signature: r
                    .data(limits::ENCRYPTED_SIGNATURE, "encrypted signature")?
                    .to_vec(),
                mac: r.array("signature MAC")?,
            }),
            MessageType::SIGNATURE => MessageBody::Signature(SignatureMessage {
                encrypted_signature: r
                    .data(limits::ENCRYPTED_SIGNATURE, "encrypted signature")?
                    .to_vec(),
                mac: r.array("signature MAC")?,
            }),
            _ => MessageBody::Data(DataMessage {
                flags: DataFlags(r.u8("flags")?),
                sender_keyid: r.u32("sender keyid")?,
                recipient_keyid: r.u32("recipient keyid")?,
                next_dh: r.mpi(limits::DH_MPI, "next DH key")?.to_vec(),
                ctr: r.array("counter")?,
                encrypted: r
                    .data(limits::ENCRYPTED_DATA, "encrypted message")?
                    .to_vec(),
                mac: r.array("authenticator")?,
                old_mac_keys: r.data(limits::OLD_MAC_KEYS, "old MAC keys")?.to_vec(),
            }),
        };
        Ok(Self {
            version,
            sender_instance,
            receiver_instance,
            body,
        })
    }
}

/// Writes an MPI whose body is stored exactly as received: the length of `raw`, then `raw`
/// with any leading zero bytes kept, so that re-encoding reproduces the received bytes.
/// (Use [`super::codec::put_mpi`] to write a fresh value in minimal form.)
fn put_raw_mpi(out: &mut Vec<u8>, raw: &[u8]) {
    put_data(out, raw);
}

impl MessageBody {
    /// The message type byte of this body.
    pub fn message_type(&self) -> MessageType {
        match self {
            MessageBody::DhCommit(_) => MessageType::DH_COMMIT,
            MessageBody::DhKey(_) => MessageType::DH_KEY,
            MessageBody::RevealSignature(_) => MessageType::REVEAL_SIGNATURE,
            MessageBody::Signature(_) => MessageType::SIGNATURE,
            MessageBody::Data(_) => MessageType::DATA,
        }
    }
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
///
/// Protocol-v3.html, "D-H Commit Message" (type 0x02):
///
/// ```text
/// header | DATA encrypted_gx (<= limits::ENCRYPTED_GX) | DATA hashed_gx (<= limits::HASHED_GX)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhCommit {
    /// AES-CTR(r, MPI(g^x)).
    pub encrypted_gx: Vec<u8>,
    /// SHA-256(MPI(g^x)).
    pub hashed_gx: Vec<u8>,
}

/// D-H Key: g^y (MPI), bytes as on the wire.
///
/// Protocol-v3.html, "D-H Key Message" (type 0x0a):
///
/// ```text
/// header | MPI gy (<= limits::DH_MPI bytes, leading zeros kept as received)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhKey {
    /// The MPI body exactly as received (validated by the AKE).
    pub gy: Vec<u8>,
}

/// Reveal Signature: revealed key (DATA), encrypted signature (DATA), MAC.
///
/// Protocol-v3.html, "Reveal Signature Message" (type 0x11):
///
/// ```text
/// header | DATA revealed_key (<= limits::REVEALED_KEY)
///        | DATA encrypted_signature (<= limits::ENCRYPTED_SIGNATURE) | MAC (20 bytes)
/// ```
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
///
/// Protocol-v3.html, "Signature Message" (type 0x12):
///
/// ```text
/// header | DATA encrypted_signature (<= limits::ENCRYPTED_SIGNATURE) | MAC (20 bytes)
/// ```
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
    pub fn ignore_unreadable(self) -> bool {
        self.0 & Self::IGNORE_UNREADABLE != 0
    }
}

/// A data message as parsed: unverified, nothing in it is trusted until its MAC checks.
///
/// Protocol-v3.html, "Data Message" (type 0x03; the same body in v2):
///
/// ```text
/// header | flags (BYTE) | sender_keyid (INT) | recipient_keyid (INT)
///        | MPI next_dh (<= limits::DH_MPI, as received) | ctr (8 bytes)
///        | DATA encrypted (<= limits::ENCRYPTED_DATA)      <- the MAC covers header .. here
///        | mac (20 bytes) | DATA old_mac_keys (<= limits::OLD_MAC_KEYS)
/// ```
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

impl DataMessage {
    /// Writes the part of the body the MAC covers: flags .. DATA(encrypted).
    fn put_authenticated(&self, out: &mut Vec<u8>) {
        put_u8(out, self.flags.0);
        put_u32(out, self.sender_keyid);
        put_u32(out, self.recipient_keyid);
        put_raw_mpi(out, &self.next_dh);
        out.extend_from_slice(&self.ctr);
        put_data(out, &self.encrypted);
    }
}
