//! The codec trait, the reader, and OTR's primitive data types.

use crate::crypto::DsaKeyDefect;

/// A wire value that can be encoded and read back.
///
/// Invariant tested for every implementor: `decode(encode(x)) == x` and, for every
/// `b` that decodes, `encode(decode(b)) == b`.
pub trait Codec: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads one value from `r`, leaving the reader after it.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage>;
    /// Decodes a whole buffer, rejecting trailing bytes.
    fn decode(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.finish()?;
        Ok(v)
    }
    /// The encoding as a fresh vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
}

/// A bounds-checked cursor over a byte slice. Never panics.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    /// Takes the next `n` bytes; `what` names the field for the error.
    ///
    /// On failure ([`InvalidMessage::Truncated`]) the reader does not move.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(InvalidMessage::Truncated(what))?;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or(InvalidMessage::Truncated(what))?;
        self.pos = end;
        Ok(bytes)
    }
    /// Reads a BYTE.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, InvalidMessage> {
        let [b] = self.array::<1>(what)?;
        Ok(b)
    }
    /// Reads a big-endian SHORT.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, InvalidMessage> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    /// Reads a big-endian INT.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, InvalidMessage> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], InvalidMessage> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
    /// Reads an MPI body (length-prefixed big-endian integer) of at most `max` bytes.
    ///
    /// The body is returned exactly as on the wire, leading zero bytes included. A length
    /// over `max` is [`InvalidMessage::TooLong`] (checked before the body, so a length of
    /// 0xFFFFFFFF never allocates or reads); a body running past the end is
    /// [`InvalidMessage::Truncated`].
    pub fn mpi(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        self.data(max, what)
    }
    /// Reads a DATA body (length-prefixed bytes) of at most `max` bytes.
    ///
    /// Errors as for [`Reader::mpi`]. On error the reader may have consumed the length.
    pub fn data(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        let len = self.u32(what)?;
        match usize::try_from(len) {
            Ok(n) if n <= max => self.take(n, what),
            _ => Err(InvalidMessage::TooLong {
                what,
                len: u64::from(len),
                max,
            }),
        }
    }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.rest().is_empty()
    }
    /// Fails with [`InvalidMessage::TrailingBytes`] unless every byte has been read.
    pub fn finish(&self) -> Result<(), InvalidMessage> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(InvalidMessage::TrailingBytes)
        }
    }
}

/// Appends a BYTE.
pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}
/// Appends a SHORT (big-endian).
pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}
/// Appends an INT.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}
/// Appends an MPI: the 4-byte length, then `be` with its leading zero bytes removed.
///
/// Zero is encoded as a length of 0 with no body, as libotr (gcry_mpi_print) does.
pub fn put_mpi(out: &mut Vec<u8>, be: &[u8]) {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    put_data(out, be.get(start..).unwrap_or(&[]));
}
/// Appends DATA: the 4-byte length, then the bytes.
///
/// Every length this crate writes comes from a field capped far below 4 GiB; a slice of
/// 4 GiB or more is a caller bug, and its length field saturates at 0xFFFFFFFF (the bytes
/// are still all written, so such an encoding will not decode).
pub fn put_data(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(bytes);
}

/// Why bytes or text could not be decoded. Malformed input, never our bug.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The input ended inside the named field.
    Truncated(&'static str),
    /// A length field exceeded its cap.
    TooLong {
        /// The field.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The cap.
        max: usize,
    },
    /// Bytes left over after a complete value.
    TrailingBytes,
    /// A protocol version we do not speak inside an encoded message.
    UnknownVersion(u16),
    /// An unknown message type byte.
    UnknownMessageType(u8),
    /// An instance tag in the reserved range 1..=0xFF, or a zero sender tag.
    BadInstanceTag(u32),
    /// The base64 inside `?OTR:` armour did not decode.
    BadBase64,
    /// Armour without its closing `.`.
    Unterminated,
    /// A malformed fragment header.
    BadFragment,
    /// A message reassembled from fragments that is itself a fragment.
    NestedFragment,
    /// A malformed TLV record.
    BadTlv,
    /// A malformed public key or signature.
    BadPublicKey,
    /// An MPI of a received public key with a leading zero byte. A key's bytes are its
    /// fingerprint (libotr hashes them as received), and libotr always writes the minimal
    /// form, so only one encoding of a key is accepted.
    NonMinimalMpi(&'static str),
    /// A public key that parses but fails validation (weak or degenerate parameters).
    WeakPublicKey(DsaKeyDefect),
}
